"""SGP4's secular model without its periodic terms: cheap positions with a bounded error.

SGP4 moves a satellite's mean elements secularly (J2/J4 rates of node, perigee and mean anomaly,
and the drag polynomial of semi-major axis and mean anomaly), then adds long-period (J3) and
short-period (J2) periodic terms. :func:`secular_positions` keeps the secular part — the rates
python-sgp4's initialisation computed (``mdot``, ``nodedot``, ``argpdot``), the leading drag
terms (``C1``: ``a = a₀(1 − C1·t)²``, ``M += 3/2·C1·n₀·t²``, ``Ω += 7/2·(1 − e²)·Ω̇_J2·C1·t²``)
— and solves Kepler's equation on the resulting ellipse. No periodic terms, no higher drag terms.

It costs a few tens of nanoseconds a state in a compiled loop (SGP4 ~0.4 µs) and differs from
SGP4 by the terms left out: the periodic ones are bounded whatever the time (a few km in LEO);
the higher drag terms grow as ``t³`` and are small unless drag is strong.
:func:`secular_error_bound_m` states a per-satellite bound over a window (≥ 1.9× the error
measured against SGP4 over 24 h for all 10,395 Starlink satellites of 2026-05-30, checked on a
sample including the 60 strongest-drag ones in ``tests/orbits/test_secular.py``); satellites
it does not cover (deep space, perigee below 220 km where SGP4 switches to its simplified drag,
eccentricity ≥ 0.05) get ``inf``.

Used by :mod:`.passes` to screen for candidate passes before evaluating SGP4 near them.
Frame: TEME, or ITRF by a GMST rotation (no polar motion: ≤ 20 m, inside the bound).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np
import numpy.typing as npt

from orbemu.orbits.elements import ElementSet

__all__ = [
    "MAX_BOUND_M",
    "SecularElements",
    "secular_elements",
    "secular_error_bound_m",
    "secular_positions",
    "secular_positions_reference",
]

FloatArray = npt.NDArray[np.float64]

#: SGP4's drag model constants (Hoots & Roehrich 1980): density reference altitudes, km.
_Q0_KM = 120.0
_S0_KM = 78.0
#: Largest error bound worth screening with (beyond it SGP4 itself is used), metres.
MAX_BOUND_M = 150_000.0


@dataclass(frozen=True)
class SecularElements:
    """Per-satellite constants of the secular model, each ``(n,)``.

    Lengths in metres, angles in radians, rates per second; ``epoch_ns`` the element epoch.
    ``usable`` is False where the model is not used (see module docstring).
    """

    epoch_ns: npt.NDArray[np.int64]
    a0_m: FloatArray
    e: FloatArray
    cos_i: FloatArray
    sin_i: FloatArray
    node0: FloatArray
    argp0: FloatArray
    m0: FloatArray
    node_rate: FloatArray
    argp_rate: FloatArray
    m_rate: FloatArray
    c1_per_s: FloatArray
    m_drag_per_s2: FloatArray
    node_drag_per_s2: FloatArray
    periodic_m: FloatArray
    drag_cubic_per_s3: FloatArray
    usable: npt.NDArray[np.bool_]

    def columns(self) -> tuple[npt.NDArray, ...]:
        return (self.epoch_ns, self.a0_m, self.e, self.cos_i, self.sin_i, self.node0,
                self.argp0, self.m0, self.node_rate, self.argp_rate, self.m_rate, self.c1_per_s,
                self.m_drag_per_s2, self.node_drag_per_s2)


def secular_elements(elements: ElementSet) -> SecularElements:
    """The secular model's constants of ``elements`` (cached on the set)."""
    cache = elements._cache
    if "secular_elements" in cache:
        return cache["secular_elements"]
    f = elements._field
    re_km = f("radiusearthkm")
    j2 = f("j2")
    xke = f("xke")
    ao = f("a")  # Brouwer semi-major axis from SGP4's initialisation, Earth radii
    e = f("ecco")
    inc = f("inclo")
    bstar = f("bstar")
    with np.errstate(invalid="ignore", divide="ignore"):
        no = xke / ao**1.5  # un-Kozai'd mean motion, rad/min
        cos_i = np.cos(inc)
        omeosq = 1.0 - e * e
        con41 = 3.0 * cos_i * cos_i - 1.0
        posq = (ao * omeosq) ** 2
        rp = ao * (1.0 - e)
        perigee_km = (rp - 1.0) * re_km
        # Density function parameters as SGP4's initialisation sets them (low perigees lower s).
        s_km = np.where(perigee_km < 156.0, np.where(perigee_km < 98.0, 20.0,
                                                     perigee_km - _S0_KM), _S0_KM)
        qoms24 = ((_Q0_KM - s_km) / re_km) ** 4
        sfour = s_km / re_km + 1.0
        tsi = 1.0 / (ao - sfour)
        eta = ao * e * tsi
        etasq = eta * eta
        eeta = e * eta
        psisq = np.abs(1.0 - etasq)
        coef1 = qoms24 * tsi**4 / psisq**3.5
        cc2 = coef1 * no * (ao * (1.0 + 1.5 * etasq + eeta * (4.0 + etasq))
                            + 0.375 * j2 * tsi / psisq * con41
                            * (8.0 + 3.0 * etasq * (8.0 + etasq)))
        cc1 = bstar * cc2  # per minute
        node_j2 = -1.5 * j2 / posq * no * cos_i  # rad/min
        nodecf = 3.5 * omeosq * node_j2 * cc1  # rad/min²
        # Bound of the periodic terms left out: J2 short-period (∝ J2 (R/p)²) and J3 long-period
        # (∝ |J3/J2| R/p) displacements with generous coefficients, the O(e³) rest of the
        # ellipse expansion, and 2 km for polar motion and rounding (measured maximum over all
        # Starlink satellites: ~17 km against ~31 km from this formula).
        rp_ratio = 1.0 / (ao * omeosq)
        periodic = ao * (2.5 * j2 * rp_ratio**2 + np.abs(f("j3oj2")) * rp_ratio
                         + 8.0 * e**3) * re_km * 1000.0 + 2000.0
        # The leading drag terms left out grow as t³: M gains n₀(D2 + 2C1²)t³ with
        # D2 = 4 a₀ ξ C1², ×2 for the others (D3, D4, C4, C5 and the perigee terms).
        drag_cubic = 2.0 * ao * re_km * 1000.0 * no * cc1 * cc1 * (4.0 * ao * tsi + 2.0)
    methods = np.array([s.method for s in elements.satrecs], dtype=object)
    usable = ((methods == "n") & (perigee_km >= 220.0) & (e < 0.05) & np.isfinite(cc1)
              & (ao > 0) & (f("error") == 0))
    out = SecularElements(
        epoch_ns=elements.epochs.ns.astype(np.int64),
        a0_m=ao * re_km * 1000.0,
        e=e,
        cos_i=cos_i,
        sin_i=np.sin(inc),
        node0=f("nodeo"),
        argp0=f("argpo"),
        m0=f("mo"),
        node_rate=f("nodedot") / 60.0,
        argp_rate=f("argpdot") / 60.0,
        m_rate=f("mdot") / 60.0,
        c1_per_s=cc1 / 60.0,
        m_drag_per_s2=1.5 * cc1 * no / 3600.0,
        node_drag_per_s2=nodecf / 3600.0,
        periodic_m=periodic,
        drag_cubic_per_s3=drag_cubic / 60.0**3,
        usable=usable,
    )
    cache["secular_elements"] = out
    return out


def secular_error_bound_m(elements: ElementSet, start_ns: int, end_ns: int) -> FloatArray:
    """(n,) bound (m) of the distance between SGP4 and the secular model during
    ``[start_ns, end_ns]``: the periodic terms' bound plus the cubic drag term at the largest
    time from epoch. ``inf`` where the model is not usable or the bound exceeds
    :data:`MAX_BOUND_M` (use SGP4 there)."""
    sec = secular_elements(elements)
    t_s = np.maximum(np.abs(start_ns - sec.epoch_ns), np.abs(end_ns - sec.epoch_ns)) * 1e-9
    with np.errstate(invalid="ignore", over="ignore"):
        bound = sec.periodic_m + sec.drag_cubic_per_s3 * t_s**3
    return np.where(sec.usable & (bound <= MAX_BOUND_M), bound, np.inf)


@numba.njit(cache=True, nogil=True, inline="always")
def secular_position(s, dt, lam0, a0, e, cos_i, sin_i, node0, argp0, m0, node_rate, argp_rate,
                     m_rate, c1, m_drag, node_drag):  # pragma: no cover - compiled
    """Position (m) of satellite ``s`` at ``dt`` seconds after its epoch, in the frame whose x
    axis is ``lam0`` behind TEME's (``lam0`` = the Greenwich sidereal angle: ITRF without polar
    motion; 0: TEME).

    The ellipse is expanded to second order in e (``ν = M + 2e sin M + 5/4 e² sin 2M``,
    ``r/a = 1 − e cos M + e² sin² M``; the O(e³a) rest is < 0.5 km for e < 0.05), written with
    the eccentricity vector so that only the mean argument of latitude and the node need a
    sine and cosine."""
    dt2 = dt * dt
    tempa = 1.0 - c1[s] * dt
    a = a0[s] * tempa * tempa
    argp = argp0[s] + argp_rate[s] * dt
    lat = argp + m0[s] + m_rate[s] * dt + m_drag[s] * dt2  # mean argument of latitude ω + M
    lam = node0[s] + node_rate[s] * dt + node_drag[s] * dt2 - lam0
    k = e[s] * math.cos(argp)
    h = e[s] * math.sin(argp)
    cl, sl = math.cos(lat), math.sin(lat)
    ecm = k * cl + h * sl  # e cos M
    esm = k * sl - h * cl  # e sin M
    d = 2.0 * esm + 2.5 * esm * ecm  # ν − M
    radius = a * (1.0 - ecm + esm * esm)
    cd = 1.0 - 0.5 * d * d
    sd = d - d * d * d / 6.0
    cu = cl * cd - sl * sd
    su = sl * cd + cl * sd
    cn, sn = math.cos(lam), math.sin(lam)
    ci = cos_i[s]
    return (radius * (cn * cu - sn * su * ci), radius * (sn * cu + cn * su * ci),
            radius * su * sin_i[s])


@numba.njit(cache=True, nogil=True)
def _positions_kernel(times_ns, theta, epoch_ns, a0, e, cos_i, sin_i, node0, argp0, m0,
                      node_rate, argp_rate, m_rate, c1, m_drag, node_drag,
                      out):  # pragma: no cover - compiled
    for s in range(out.shape[0]):
        for j in range(out.shape[1]):
            dt = (times_ns[j] - epoch_ns[s]) * 1e-9
            x, y, z = secular_position(s, dt, theta[j], a0, e, cos_i, sin_i, node0, argp0, m0,
                                       node_rate, argp_rate, m_rate, c1, m_drag, node_drag)
            out[s, j, 0], out[s, j, 1], out[s, j, 2] = x, y, z


def secular_positions(elements: ElementSet, times_ns: npt.NDArray[np.int64],
                      theta_rad: FloatArray | None = None) -> FloatArray:
    """(n, t, 3) positions (m) of the secular model at ``times_ns``: TEME, or rotated about z by
    the Greenwich sidereal angle ``theta_rad`` (t,) when given (ITRF without polar motion)."""
    sec = secular_elements(elements)
    times_ns = np.ascontiguousarray(times_ns, dtype=np.int64)
    out = np.empty((len(elements), times_ns.size, 3))
    theta = np.zeros(times_ns.size) if theta_rad is None else np.ascontiguousarray(
        theta_rad, dtype=np.float64)
    args = (times_ns, theta, *sec.columns(), out)
    _positions_kernel(*args)
    return out


def secular_positions_reference(elements: ElementSet,
                                times_ns: npt.NDArray[np.int64]) -> FloatArray:
    """Numpy twin of :func:`secular_positions` (TEME), for the tests."""
    sec = secular_elements(elements)
    col = lambda x: np.asarray(x)[:, None]  # noqa: E731
    dt = (np.asarray(times_ns)[None, :] - col(sec.epoch_ns)) * 1e-9
    a = col(sec.a0_m) * (1.0 - col(sec.c1_per_s) * dt) ** 2
    mean = col(sec.m0) + col(sec.m_rate) * dt + col(sec.m_drag_per_s2) * dt**2
    node = col(sec.node0) + col(sec.node_rate) * dt + col(sec.node_drag_per_s2) * dt**2
    argp = col(sec.argp0) + col(sec.argp_rate) * dt
    e = col(sec.e)
    ecc = mean.copy()
    for _ in range(20):
        ecc = ecc - (ecc - e * np.sin(ecc) - mean) / (1.0 - e * np.cos(ecc))
    nu = 2.0 * np.arctan2(np.sqrt(1.0 + e) * np.sin(ecc / 2), np.sqrt(1.0 - e) * np.cos(ecc / 2))
    radius = a * (1.0 - e * np.cos(ecc))
    u = argp + nu
    ci, si = col(sec.cos_i), col(sec.sin_i)
    return np.stack([radius * (np.cos(node) * np.cos(u) - np.sin(node) * np.sin(u) * ci),
                     radius * (np.sin(node) * np.cos(u) + np.cos(node) * np.sin(u) * ci),
                     radius * np.sin(u) * si], axis=-1)
