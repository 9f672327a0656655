"""The Sun: where it is, the Earth's shadow, and when satellites enter and leave it.

Sun position
------------
:func:`sun_direction` / :func:`sun_position_m` use the low-precision solar coordinates of
J. Meeus, *Astronomical Algorithms* (2nd ed., 1998), chapter 25 ("low accuracy": geometric mean
longitude, mean anomaly, equation of the centre, radius vector), with the nutation of chapter 22
(the four largest terms in longitude and obliquity) and the IAU 1980 mean obliquity. The result is
the *geometric* geocentric Sun (no light time, no aberration unless ``aberration=True``), in

- ``"TOD"``: true equator and true equinox of date;
- ``"TEME"``: true equator, mean equinox — SGP4's frame (TOD turned by the equation of the
  equinoxes, Δψ cos ε);
- ``"ITRF"``: TEME → ITRF exactly as satellite states (:func:`orbemu.orbits.frames.teme_to_itrf`).

Accuracy against JPL DE421 (tested, 1990–2050): direction within 0.01° (median 0.003°; the
series ignores the Moon's pull on the Earth, ±6″, and planetary perturbations), distance within
1e-4 au. Time argument: TT.

Shadow models
-------------
The Earth is a sphere of radius :data:`~orbemu.constants.EARTH_RADIUS_M`; no atmosphere, no
oblateness (which moves LEO shadow crossings by up to a few seconds at high latitude). Seen from
the satellite, let θ be the angle between the Sun's centre and the Earth's centre, θ_E = asin(R/r)
the Earth's apparent radius and θ_S the Sun's (~0.27°).

- ``"cylindrical"``: shadow is the half-cylinder of radius R behind the Earth (Sun at infinity).
- ``"point"``: the line of sight to the Sun's *centre* is blocked, θ < θ_E — Skyfield's
  ``is_sunlit`` model, and the usual "in eclipse" of operations tools.
- ``"penumbra"``: any part of the solar disk is hidden, θ < θ_E + θ_S (outer conical boundary).
- ``"umbra"``: all of it is hidden, θ < θ_E − θ_S (inner conical boundary).

:func:`illuminated_fraction` gives the visible fraction of the solar disk (0..1) with the
conical model (overlap of two flat disks, Montenbruck & Gill, *Satellite Orbits*, 2000, §3.4.2).
:func:`find_eclipses` finds entry/exit times for many satellites over a window (coarse sampling +
root refinement, see :mod:`orbemu.orbits.events`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

import numba
import numpy as np
import numpy.typing as npt

from orbemu.constants import (
    ARCSEC,
    AU_M,
    DEG,
    EARTH_RADIUS_M,
    JD_J2000,
    NS_PER_S,
    SUN_RADIUS_M,
)
from orbemu.errors import UsageError
from orbemu.orbits.elements import ElementSet
from orbemu.orbits.events import (
    CoarseGrid,
    IntervalCollector,
    IntervalTable,
    bisect_roots,
    default_coarse_step_ns,
    golden_maximum,
    iter_grid_states,
    make_grid,
)
from orbemu.orbits.frames import teme_to_itrf
from orbemu.orbits.propagation import ProgressCallback, Propagator
from orbemu.time import Time

__all__ = [
    "Eclipse",
    "Eclipses",
    "ShadowModel",
    "SunFrame",
    "find_eclipses",
    "illuminated_fraction",
    "shadow_function",
    "shadow_function_reference",
    "sun_direction",
    "sun_position_m",
]

FloatArray = npt.NDArray[np.float64]
SunFrame = Literal["TEME", "TOD", "ITRF"]
ShadowModel = Literal["cylindrical", "point", "penumbra", "umbra"]
_MODELS = ("cylindrical", "point", "penumbra", "umbra")

#: Constant of aberration (Meeus ch. 25: 20.4898″ / R in au).
_ABERRATION_RAD_AU = 20.4898 * ARCSEC


# ---- Sun position --------------------------------------------------------------------------


def _sun_true_of_date(times: Time, aberration: bool) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Unit vectors in TOD, distances (m) and the equation of the equinoxes (rad)."""
    whole, frac = times.tt_jd()
    t = ((whole - JD_J2000) + frac) / 36525.0  # Julian centuries of TT since J2000
    # Meeus (25.2)–(25.5): geometric mean longitude, mean anomaly, eccentricity (degrees).
    l0 = 280.46646 + (36000.76983 + 0.0003032 * t) * t
    m = (357.52911 + (35999.05029 - 0.0001537 * t) * t) * DEG
    e = 0.016708634 - (0.000042037 + 0.0000001267 * t) * t
    # Equation of the centre and true longitude / anomaly.
    c = ((1.914602 - (0.004817 + 0.000014 * t) * t) * np.sin(m)
         + (0.019993 - 0.000101 * t) * np.sin(2 * m) + 0.000289 * np.sin(3 * m))
    true_lon = (l0 + c) * DEG  # referred to the mean equinox of date
    nu = m + c * DEG
    r_au = 1.000001018 * (1.0 - e * e) / (1.0 + e * np.cos(nu))  # (25.5)
    # Nutation, Meeus ch. 22 (accuracy 0.5″ in Δψ, 0.1″ in Δε): Ω, L, L' in degrees.
    omega = (125.04452 - 1934.136261 * t) * DEG
    l_sun = (280.4665 + 36000.7698 * t) * DEG
    l_moon = (218.3165 + 481267.8813 * t) * DEG
    d_psi = (-17.20 * np.sin(omega) - 1.32 * np.sin(2 * l_sun) - 0.23 * np.sin(2 * l_moon)
             + 0.21 * np.sin(2 * omega)) * ARCSEC
    d_eps = (9.20 * np.cos(omega) + 0.57 * np.cos(2 * l_sun) + 0.10 * np.cos(2 * l_moon)
             - 0.09 * np.cos(2 * omega)) * ARCSEC
    eps0 = (84381.448 - (46.8150 + (0.00059 - 0.001813 * t) * t) * t) * ARCSEC  # (22.2)
    eps = eps0 + d_eps
    lam = true_lon + d_psi  # referred to the true equinox
    if aberration:
        lam = lam - _ABERRATION_RAD_AU / r_au
    cos_l, sin_l = np.cos(lam), np.sin(lam)
    unit = np.stack([cos_l, np.cos(eps) * sin_l, np.sin(eps) * sin_l], axis=-1)
    return unit, r_au * AU_M, d_psi * np.cos(eps)


def sun_direction(
    times: Time, *, frame: SunFrame = "TEME", aberration: bool = False
) -> tuple[FloatArray, FloatArray]:
    """Geocentric direction and distance of the Sun at ``times``.

    Returns ``(unit, distance_m)`` shaped ``times.shape + (3,)`` and ``times.shape``. ``frame``
    is ``"TEME"`` (default; matches SGP4 states), ``"TOD"`` or ``"ITRF"``. ``aberration=True``
    gives the apparent direction (annual aberration, 20.5″), which is the direction sunlight
    arrives from in the Earth's frame; the default is the geometric direction, as Skyfield's
    ``is_sunlit`` uses. The two move LEO shadow crossings by ≲ 0.3 s.
    """
    if frame not in ("TEME", "TOD", "ITRF"):
        raise UsageError(f"frame must be 'TEME', 'TOD' or 'ITRF', got {frame!r}")
    unit, dist, eqeq = _sun_true_of_date(times, aberration)
    if frame == "TOD":
        return unit, dist
    # TOD → TEME: the mean equinox lies at right ascension −EqEq on the true equator.
    c, s = np.cos(eqeq), np.sin(eqeq)
    x, y = unit[..., 0], unit[..., 1]
    unit = np.stack([c * x + s * y, -s * x + c * y, unit[..., 2]], axis=-1)
    if frame == "TEME":
        return unit, dist
    flat = unit.reshape(1, -1, 3)
    t = times if times.ndim == 1 else Time(times.ns.reshape(-1))
    r_itrf, _ = teme_to_itrf(flat, np.zeros_like(flat), t)
    return r_itrf.reshape(unit.shape), dist


def sun_position_m(
    times: Time, *, frame: SunFrame = "TEME", aberration: bool = False
) -> FloatArray:
    """Geocentric Sun positions (metres), ``times.shape + (3,)``; see :func:`sun_direction`."""
    unit, dist = sun_direction(times, frame=frame, aberration=aberration)
    return unit * dist[..., None]


# ---- shadow geometry -------------------------------------------------------------------------


def _angles(r_sat_m: FloatArray, r_sun_m: FloatArray) -> tuple[FloatArray, FloatArray,
                                                               FloatArray]:
    """θ (Sun centre ↔ Earth centre), θ_E and θ_S seen from the satellite, radians."""
    r = np.asarray(r_sat_m, dtype=np.float64)
    s = np.asarray(r_sun_m, dtype=np.float64)
    u = s - r  # satellite → Sun
    w = -r  # satellite → Earth centre
    cross = np.cross(u, w)
    theta = np.arctan2(np.sqrt(np.sum(cross * cross, axis=-1)), np.sum(u * w, axis=-1))
    r_norm = np.sqrt(np.sum(r * r, axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        theta_e = np.arcsin(np.minimum(EARTH_RADIUS_M / r_norm, 1.0))
        theta_s = np.arcsin(np.minimum(SUN_RADIUS_M / np.sqrt(np.sum(u * u, axis=-1)), 1.0))
    return theta, theta_e, theta_s


_MODEL_CODES = {"cylindrical": 0, "point": 1, "penumbra": 2, "umbra": 3}


@numba.njit(cache=True, nogil=True)
def _shadow_kernel(r, sun, code, out):  # pragma: no cover - compiled
    """``g`` of :func:`shadow_function_reference` for ``r`` (n, c, 3) against ``sun`` (c, 3)."""
    big_r = EARTH_RADIUS_M
    for j in range(r.shape[1]):
        sx, sy, sz = sun[j, 0], sun[j, 1], sun[j, 2]
        s_norm = math.sqrt(sx * sx + sy * sy + sz * sz)
        for i in range(r.shape[0]):
            x, y, z = r[i, j, 0], r[i, j, 1], r[i, j, 2]
            rn = math.sqrt(x * x + y * y + z * z)
            if not (rn == rn):  # NaN state
                out[i, j] = math.nan
                continue
            if code == 0:
                along = (x * sx + y * sy + z * sz) / s_norm
                if along < 0.0:
                    px = x - along * sx / s_norm
                    py = y - along * sy / s_norm
                    pz = z - along * sz / s_norm
                    out[i, j] = math.sqrt(px * px + py * py + pz * pz) - big_r
                else:
                    out[i, j] = rn - big_r
                continue
            ux, uy, uz = sx - x, sy - y, sz - z  # satellite → Sun; satellite → Earth is −r
            cx = -(uy * z - uz * y)
            cy = -(uz * x - ux * z)
            cz = -(ux * y - uy * x)
            theta = math.atan2(math.sqrt(cx * cx + cy * cy + cz * cz),
                               -(ux * x + uy * y + uz * z))
            theta_e = math.asin(min(big_r / rn, 1.0))
            if code == 1:
                out[i, j] = theta - theta_e
                continue
            theta_s = math.asin(min(SUN_RADIUS_M / math.sqrt(ux * ux + uy * uy + uz * uz), 1.0))
            out[i, j] = theta - theta_e - theta_s if code == 2 else theta - theta_e + theta_s


def shadow_function(r_sat_m: FloatArray, r_sun_m: FloatArray,
                    model: ShadowModel = "point") -> FloatArray:
    """Switching function of a shadow boundary: positive outside the shadow, negative inside.

    ``r_sat_m`` ``(..., 3)`` and ``r_sun_m`` (broadcastable, e.g. ``(n_times, 3)`` against
    ``(n_sats, n_times, 3)``) are geocentric positions in one frame, metres. Returns radians
    (θ − θ_E, θ − θ_E − θ_S, θ − θ_E + θ_S for ``point``, ``penumbra``, ``umbra``) or, for
    ``cylindrical``, metres (distance from the shadow cylinder's axis minus R; |r| − R on the
    day side). NaN in, NaN out. Compiled; :func:`shadow_function_reference` is the numpy twin.
    """
    if model not in _MODELS:
        raise UsageError(f"shadow model must be one of {_MODELS}, got {model!r}")
    r = np.asarray(r_sat_m, dtype=np.float64)
    s = np.asarray(r_sun_m, dtype=np.float64)
    shape = np.broadcast_shapes(r.shape, s.shape)[:-1]
    if len(shape) >= 1 and r.shape[:-1] == shape and s.shape == (*shape[-1:], 3):
        # The usual case, (..., n_times, 3) against (n_times, 3): no copy of the Sun.
        r3 = np.ascontiguousarray(r.reshape(-1, shape[-1], 3))
        s2 = np.ascontiguousarray(s)
    else:
        r3 = np.ascontiguousarray(np.broadcast_to(r, (*shape, 3)).reshape(1, -1, 3))
        s2 = np.ascontiguousarray(np.broadcast_to(s, (*shape, 3)).reshape(-1, 3))
    out = np.empty(r3.shape[:2])
    _shadow_kernel(r3, s2, _MODEL_CODES[model], out)
    return out.reshape(shape)


def shadow_function_reference(r_sat_m: FloatArray, r_sun_m: FloatArray,
                              model: ShadowModel = "point") -> FloatArray:
    """Plain numpy :func:`shadow_function` (the reference its compiled kernel is tested with)."""
    if model not in _MODELS:
        raise UsageError(f"shadow model must be one of {_MODELS}, got {model!r}")
    if model == "cylindrical":
        r = np.asarray(r_sat_m, dtype=np.float64)
        s = np.asarray(r_sun_m, dtype=np.float64)
        s_hat = s / np.sqrt(np.sum(s * s, axis=-1))[..., None]
        along = np.sum(r * s_hat, axis=-1)
        perp = r - along[..., None] * s_hat
        dist = np.where(along < 0, np.sqrt(np.sum(perp * perp, axis=-1)),
                        np.sqrt(np.sum(r * r, axis=-1)))
        return dist - EARTH_RADIUS_M
    theta, theta_e, theta_s = _angles(r_sat_m, r_sun_m)
    if model == "point":
        return theta - theta_e
    if model == "penumbra":
        return theta - theta_e - theta_s
    return theta - theta_e + theta_s


def illuminated_fraction(r_sat_m: FloatArray, r_sun_m: FloatArray,
                         model: Literal["conical", "cylindrical", "point"] = "conical"
                         ) -> FloatArray:
    """Fraction of the solar disk visible from the satellite, 0 (umbra) .. 1 (full sunlight).

    Shapes as :func:`shadow_function`. ``conical`` accounts for the Sun's angular size (umbra,
    penumbra, and an annular phase beyond ~1.4 million km); ``cylindrical`` and ``point`` give 0 or
    1. NaN in, NaN out.
    """
    if model in ("cylindrical", "point"):
        g = shadow_function(r_sat_m, r_sun_m, model)
        return np.where(np.isnan(g), np.nan, (g > 0).astype(np.float64))
    if model != "conical":
        raise UsageError(f"model must be 'conical', 'cylindrical' or 'point', got {model!r}")
    c, b, a = _angles(r_sat_m, r_sun_m)  # separation, Earth radius, Sun radius (angles)
    with np.errstate(invalid="ignore", divide="ignore"):
        x = (c * c + a * a - b * b) / (2.0 * c)
        y = np.sqrt(np.maximum(a * a - x * x, 0.0))
        overlap = (a * a * np.arccos(np.clip(x / a, -1.0, 1.0))
                   + b * b * np.arccos(np.clip((c - x) / b, -1.0, 1.0)) - c * y)
        partial = 1.0 - overlap / (np.pi * a * a)
    out = np.where(c >= a + b, 1.0,
                   np.where(c <= b - a, 0.0,
                            np.where(c <= a - b, 1.0 - (b * b) / (a * a), partial)))
    out = np.clip(out, 0.0, 1.0)
    return np.where(np.isnan(c) | np.isnan(b), np.nan, out)


# ---- eclipse search --------------------------------------------------------------------------


@dataclass(frozen=True)
class Eclipse:
    """One eclipse of one satellite (a row of :class:`Eclipses`)."""

    sat_index: int
    norad_id: int
    satellite_name: str
    entry: Time
    exit: Time
    partial: bool

    @property
    def duration_s(self) -> float:
        return float(int(self.exit) - int(self.entry)) / NS_PER_S


@dataclass(frozen=True, eq=False)
class Eclipses:
    """Eclipse intervals of many satellites over a window, columnar, sorted by entry time.

    Attributes
    ----------
    sat_index: (k,) row of the satellite in the searched :class:`ElementSet`.
    entry, exit: (k,) ``Time`` of shadow entry and exit (clipped to the window).
    partial: (k,) True where the eclipse was already under way at the window start or still is at
        its end (then ``entry``/``exit`` is the window edge), or where the satellite's propagation
        failed during it (``exit`` is then the first failed grid instant).
    model: the shadow model searched (see module docstring).
    window_start, window_end: the searched window.
    set_norad_ids, set_names: identity of every satellite of the searched set.
    """

    sat_index: npt.NDArray[np.int64]
    entry: Time
    exit: Time
    partial: npt.NDArray[np.bool_]
    model: str
    window_start: Time
    window_end: Time
    set_norad_ids: npt.NDArray[np.int64]
    set_names: npt.NDArray[np.object_]

    def __len__(self) -> int:
        return int(self.sat_index.size)

    def __repr__(self) -> str:
        return (f"Eclipses(<{len(self)} {self.model} eclipses of "
                f"{np.unique(self.sat_index).size} satellites, {self.window_start.iso()} .. "
                f"{self.window_end.iso()}>)")

    @property
    def duration_s(self) -> FloatArray:
        return (self.exit.ns - self.entry.ns) / NS_PER_S

    @property
    def norad_ids(self) -> npt.NDArray[np.int64]:
        """(k,) catalog number of each eclipse's satellite."""
        return self.set_norad_ids[self.sat_index]

    @property
    def satellite_names(self) -> npt.NDArray[np.object_]:
        return self.set_names[self.sat_index]

    def __iter__(self) -> Iterator[Eclipse]:
        for i in range(len(self)):
            s = int(self.sat_index[i])
            yield Eclipse(s, int(self.set_norad_ids[s]), str(self.set_names[s]),
                          self.entry[i], self.exit[i], bool(self.partial[i]))


class _SunTable:
    """Sun positions on the coarse grid, linearly interpolated in between.

    The Sun turns 0.0014° in 120 s as seen from the Earth, so the chord error of linear
    interpolation is ~1e-10 rad — far below the series' own 1e-4 rad — and it costs nothing.
    """

    def __init__(self, grid: CoarseGrid) -> None:
        self.grid = grid
        self.points = sun_position_m(grid.times(), frame="TEME")

    def at(self, t_s: FloatArray) -> FloatArray:
        j = self.grid.interval_of(t_s)
        t0 = self.grid.point_s(j)
        w = np.clip((t_s - t0) / (self.grid.point_s(j + 1) - t0), 0.0, 1.0)[..., None]
        return self.points[j] * (1.0 - w) + self.points[j + 1] * w


def _max_rate(r: FloatArray, v: FloatArray, r_sun: FloatArray, model: str) -> FloatArray:
    """Upper bound of |dg/dt| near a state (rad/s, or m/s for cylindrical), with 25% margin.

    The angle between two directions changes no faster than the sum of their rotation rates
    (|v|/|sun − r| + |v|/|r|, the Sun's own motion adds < 1e-6 rad/s); θ_E = asin(R/r) changes at
    most R|v| / (r √(r² − R²)); θ_S is constant to 1e-9 rad/s.
    """
    speed = np.sqrt(np.sum(v * v, axis=-1))
    if model == "cylindrical":
        return 1.25 * speed
    rn = np.sqrt(np.sum(r * r, axis=-1))
    to_sun = np.sqrt(np.sum((r_sun - r) ** 2, axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        limb = EARTH_RADIUS_M * speed / (rn * np.sqrt(np.maximum(rn * rn - EARTH_RADIUS_M ** 2,
                                                                 1.0)))
    return 1.25 * (speed / rn + speed / to_sun + limb + 1e-6)


def find_eclipses(
    elements: ElementSet,
    start: Time,
    duration_ns: int,
    *,
    model: ShadowModel = "point",
    coarse_step_ns: int | None = None,
    propagator: Propagator | None = None,
    progress: ProgressCallback | None = None,
) -> Eclipses:
    """Shadow entry and exit times of every satellite in ``elements`` over a window.

    Parameters
    ----------
    elements: the satellites.
    start, duration_ns: the window (``Time`` scalar, integer nanoseconds).
    model: ``"point"`` (default: line of sight to the Sun's centre blocked), ``"cylindrical"``,
        ``"penumbra"`` (any sunlight lost) or ``"umbra"`` (all sunlight lost).
    coarse_step_ns: sampling step (default: :func:`.events.default_coarse_step_ns`).
    propagator: default SGP4; any :class:`~orbemu.orbits.propagation.Propagator` works.
    progress: ``callback(done, total)`` over the grid instants.

    Method: the switching function :func:`shadow_function` is sampled on the coarse grid
    (streamed in time chunks); a sign change brackets a crossing, and a local minimum whose
    sampled value is below the most the function can dip between samples (a bound on its rate)
    is searched by golden section for a short, grazing eclipse the samples straddle. Crossings
    are then refined by bisection on the Hermite-interpolated trajectory to well under a
    millisecond of the interpolant (which is itself within metres of SGP4).
    """
    if model not in _MODELS:
        raise UsageError(f"shadow model must be one of {_MODELS}, got {model!r}")
    step_ns = coarse_step_ns if coarse_step_ns is not None else default_coarse_step_ns(elements)
    grid = make_grid(start, duration_ns, step_ns)
    n = len(elements)
    sun = _SunTable(grid)
    collector = IntervalCollector()
    dip_candidates = IntervalCollector()
    first_failed = np.full(n, grid.n_intervals + 1, dtype=np.int64)
    g_start = np.full(n, np.nan)
    g_end = np.full(n, np.nan)

    def scan(g: FloatArray, r: FloatArray, v: FloatArray, base: int, first_pair: int,
             first_mid: int) -> None:
        """Keep intervals of samples ``g`` (columns = grid points ``base..``): sign changes of
        pairs from column ``first_pair`` on, and deep local minima from column ``first_mid``."""
        finite = np.isfinite(g)
        change = finite[:, :-1] & finite[:, 1:] & ((g[:, :-1] >= 0) != (g[:, 1:] >= 0))
        sat, col = np.nonzero(change[:, first_pair:])
        col += first_pair
        collector.add(sat, base + col, r[sat, col], v[sat, col], r[sat, col + 1],
                      v[sat, col + 1])
        if g.shape[1] < 3:
            return
        mid = g[:, 1:-1]
        is_min = (mid <= g[:, :-2]) & (mid < g[:, 2:]) & (mid > 0) & finite[:, 2:]
        sat, col = np.nonzero(is_min[:, max(first_mid - 1, 0):])
        col += max(first_mid - 1, 0) + 1
        if sat.size == 0:
            return
        # Only a minimum within reach of zero can hide a dip: g(t*) ≥ g_j − max|ġ|·h/2.
        rate = _max_rate(r[sat, col], v[sat, col], sun.points[base + col], model)
        deep = g[sat, col] < rate * grid.step_s
        sat, col = sat[deep], col[deep]
        for k in (-1, 0):  # the two intervals around the sample
            dip_candidates.add(sat, base + col + k, r[sat, col + k], v[sat, col + k],
                               r[sat, col + k + 1], v[sat, col + k + 1])

    # The last two samples of the previous chunk are carried over: a crossing or a dip may
    # straddle two chunks. Those seams are scanned on small stitched arrays, chunks in place.
    prev: tuple[FloatArray, FloatArray, FloatArray] | None = None
    for j0, r_chunk, v_chunk in iter_grid_states(elements, grid, frame="TEME",
                                                 propagator=propagator, progress=progress):
        c = r_chunk.shape[1]
        g_chunk = shadow_function(r_chunk, sun.points[j0:j0 + c], model)
        bad = ~np.isfinite(g_chunk)
        has_bad = bad.any(axis=1)
        first_failed[has_bad] = np.minimum(first_failed[has_bad],
                                           j0 + np.argmax(bad[has_bad], axis=1))
        if j0 == 0:
            g_start = g_chunk[:, 0].copy()
        if j0 + c == grid.n_intervals + 1:
            g_end = g_chunk[:, -1].copy()
        if prev is not None:
            k = prev[0].shape[1]
            head = min(2, c)
            seam = (np.concatenate([prev[0], g_chunk[:, :head]], axis=1),
                    np.concatenate([prev[1], r_chunk[:, :head]], axis=1),
                    np.concatenate([prev[2], v_chunk[:, :head]], axis=1))
            # New pairs: (last carried, first new); new middles: last carried, first new.
            scan(*seam, base=j0 - k, first_pair=k - 1, first_mid=k - 1)
        scan(g_chunk, r_chunk, v_chunk, base=j0, first_pair=0, first_mid=1)
        if c >= 2 or prev is None:
            prev = (g_chunk[:, -2:].copy(), r_chunk[:, -2:].copy(), v_chunk[:, -2:].copy())
        else:  # a one-sample chunk: carry the last old sample too
            prev = tuple(np.concatenate([p[:, -1:], x], axis=1)  # type: ignore[assignment]
                         for p, x in zip(prev, (g_chunk, r_chunk, v_chunk), strict=True))

    crossings = collector.table(grid)
    dips = dip_candidates.table(grid)

    def g_at(table: IntervalTable,
             seg: npt.NDArray[np.int64]) -> Callable[[FloatArray], FloatArray]:
        def fn(t_s: FloatArray) -> FloatArray:
            return shadow_function(table.position(seg, t_s), sun.at(t_s), model)
        return fn

    times_s: list[FloatArray] = []
    sats: list[npt.NDArray[np.int64]] = []
    entering: list[npt.NDArray[np.bool_]] = []
    # Crossings: one per kept interval (rows are single intervals or runs of them).
    if crossings.n_rows:
        rows = np.arange(crossings.n_rows)
        seg = crossings.row_segment
        lo = grid.point_s(crossings.j)
        hi = grid.point_s(crossings.j + 1)
        fn = g_at(crossings, seg)
        g_lo = fn(lo)
        root = bisect_roots(fn, lo, hi)
        times_s.append(root)
        sats.append(crossings.key[rows])
        entering.append(g_lo >= 0)
    # Dips: two-interval segments; minimise g (maximise −g), split when it goes below zero.
    if dips.n_segments:
        seg = np.arange(dips.n_segments)
        lo, hi = dips.segment_span_s(seg)
        fn = g_at(dips, seg)
        t_min, neg_g = golden_maximum(lambda t: -fn(t), lo, hi)
        hit = -neg_g < 0
        if hit.any():
            seg, lo, hi, t_min = seg[hit], lo[hit], hi[hit], t_min[hit]
            fn = g_at(dips, seg)
            times_s += [bisect_roots(fn, lo, t_min), bisect_roots(fn, t_min, hi)]
            key = dips.key[dips.seg_first[seg]]
            sats += [key, key]
            entering += [np.ones(seg.size, bool), np.zeros(seg.size, bool)]
    return _pair_events(elements, grid, model, times_s, sats, entering, g_start, g_end,
                        first_failed)


def _pair_events(elements: ElementSet, grid: CoarseGrid, model: str, times_s: list[FloatArray],
                 sats: list[npt.NDArray[np.int64]], entering: list[npt.NDArray[np.bool_]],
                 g_start: FloatArray, g_end: FloatArray,
                 first_failed: npt.NDArray[np.int64]) -> Eclipses:
    """Turn crossings into (entry, exit) intervals, adding the window edges and failures."""
    t_parts, s_parts, ent_parts, clip_parts = list(times_s), list(sats), list(entering), [
        np.zeros(x.size, bool) for x in times_s]

    def synthetic(sat: npt.NDArray[np.int64], t_s: npt.ArrayLike, is_entry: bool) -> None:
        t_parts.append(np.broadcast_to(np.asarray(t_s, np.float64), sat.shape))
        s_parts.append(sat)
        ent_parts.append(np.full(sat.size, is_entry))
        clip_parts.append(np.ones(sat.size, bool))

    # Under way at the window start: an entry at 0. Still going at the end: an exit at the end.
    synthetic(np.flatnonzero(g_start < 0), 0.0, True)
    ok_to_end = first_failed > grid.n_intervals
    synthetic(np.flatnonzero((g_end < 0) & ok_to_end), grid.duration_s, False)
    # Propagation failed: an exit at the first failed instant (pairs only if in shadow then).
    failed = np.flatnonzero(~ok_to_end)
    synthetic(failed, grid.point_s(first_failed[failed]), False)
    t = np.concatenate(t_parts)
    s = np.concatenate(s_parts).astype(np.int64)
    ent = np.concatenate(ent_parts)
    clipped = np.concatenate(clip_parts)
    # Order by satellite, then time; an entry sorts before an exit at the same time.
    order = np.lexsort((~ent, t, s))
    t, s, ent, clipped = t[order], s[order], ent[order], clipped[order]
    # An entry pairs with the next event when that is an exit of the same satellite.
    pair = np.zeros(t.size, dtype=bool)
    if t.size > 1:
        pair[:-1] = ent[:-1] & ~ent[1:] & (s[:-1] == s[1:])
    i = np.flatnonzero(pair)
    entry_s, exit_s, sat_index = t[i], t[i + 1], s[i]
    partial = clipped[i] | clipped[i + 1]
    order = np.lexsort((sat_index, entry_s))
    return Eclipses(
        sat_index=sat_index[order],
        entry=grid.to_time(entry_s[order]),
        exit=grid.to_time(exit_s[order]),
        partial=partial[order],
        model=model,
        window_start=grid.start,
        window_end=grid.start + grid.duration_ns,
        set_norad_ids=elements.norad_ids.copy(),
        set_names=elements.names.copy(),
    )
