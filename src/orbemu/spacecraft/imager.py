"""Earth-observation imager: which target each satellite captures, and how big the image is.

Visibility of target ``j`` from satellite ``i`` (ITRF, ``d = p_j − r_i``):

- *elevation*: the satellite's elevation above the target's local horizontal plane (WGS84
  geodetic normal ``up_j``) is at least ``min_elevation_deg``: ``−up_j·d ≥ sin(ε_min)·|d|``;
- *footprint*: the off-nadir angle at the satellite (between −r̂_i and d) is at most the
  footprint half-angle: ``swath_half_angle_deg`` in NADIR mode, ``max_off_nadir_deg`` (field of
  regard) in TARGET mode: ``−r_i·d ≥ cos(η)·|r_i|·|d|``;
- *daylight* (optical): the Sun's elevation at the target (Sun at infinity, ``up_j·ŝ``) is at
  least ``min_sun_elevation_deg`` (−90 disables it);
- *revisit*: the target was not captured (by any satellite) in the last ``revisit_s``.

Capture rule, per step, satellites in index order (so a target captured by a lower-index
satellite is unavailable to the others in the same step — deterministic):

- a satellite captures only when its payload is *active* (imager present, payload on, capture
  enabled, not in safe mode, room in storage for a whole image, valid state) and its attitude is
  *settled* (not slewing);
- NADIR mode: the best visible target in the swath, if any;
- TARGET mode: the pointed target, if it is still visible; the satellite then asks to point at
  the best visible target in the field of regard (a new slew), or back to nadir (``-1``) when
  there is none. A commanded target overrides the choice.
- *best* = highest ``priority``, then the shortest slant range, then the lowest target index.

One capture per satellite per step produces ``bits_per_image`` bits
(:attr:`~orbemu.spacecraft.classes.ImagerSpec.bits_per_image`: pixels × bands × bit depth ÷
compression).

Candidate search: target unit vectors sit in a uniform 3-D grid (:meth:`Targets.grid`); each
satellite tests only the targets within the Earth-central angle its footprint can reach (computed
on a sphere of the smallest target radius, with the 0.2° geodetic/geocentric vertical difference
and a margin — conservative, so no candidate is missed). Compiled (numba); ``method="reference"``
tests every satellite against every target in numpy with the same formulas and gives the same
captures (tested).

Switching function: :func:`target_view_margin_rad` — positive while a (satellite, target) pair is
in view, the smallest of the elevation, off-nadir and Sun-elevation margins in radians.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numba
import numpy as np
import numpy.typing as npt

from orbemu.constants import DEG
from orbemu.errors import UsageError
from orbemu.spacecraft.attitude import AttitudeMode
from orbemu.spacecraft.classes import SpacecraftClass, check_class_index
from orbemu.spacecraft.targets import Targets

__all__ = [
    "CaptureDecision",
    "ImagerParams",
    "ImagerState",
    "footprint_chord",
    "select_captures",
    "target_view_margin_rad",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: "Never captured": far enough in the past that ``t − never ≥ revisit`` for any t, no overflow.
NEVER_NS = -(2**62)
#: Largest angle between the geodetic normal and the geocentric radial (rounded up).
_VERTICAL_DEFLECTION_RAD = 0.2 * DEG
#: Margin added to the candidate search angle (rad).
_SEARCH_SLACK_RAD = 0.1 * DEG
_NADIR_MODE = int(AttitudeMode.NADIR)
_TARGET_MODE = int(AttitudeMode.TARGET)


@dataclass(frozen=True, eq=False)
class ImagerParams:
    """Per-satellite imager parameters, ``(n_sats,)`` each (degrees as the classes give them).

    has_imager: False for satellites of a class without one (they never capture).
    """

    has_imager: BoolArray
    swath_half_angle_deg: FloatArray
    max_off_nadir_deg: FloatArray
    min_elevation_deg: FloatArray
    min_sun_elevation_deg: FloatArray
    bits_per_image: FloatArray
    # Derived once (radians, cosines and sines the kernel compares with).
    swath_half_angle_rad: FloatArray = field(init=False, repr=False)
    max_off_nadir_rad: FloatArray = field(init=False, repr=False)
    min_elevation_rad: FloatArray = field(init=False, repr=False)
    cos_swath: FloatArray = field(init=False, repr=False)
    cos_max_off_nadir: FloatArray = field(init=False, repr=False)
    sin_min_elevation: FloatArray = field(init=False, repr=False)
    sin_min_sun_elevation: FloatArray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        derived = {
            "swath_half_angle_rad": self.swath_half_angle_deg * DEG,
            "max_off_nadir_rad": self.max_off_nadir_deg * DEG,
            "min_elevation_rad": self.min_elevation_deg * DEG,
        }
        derived["cos_swath"] = np.cos(derived["swath_half_angle_rad"])
        derived["cos_max_off_nadir"] = np.cos(derived["max_off_nadir_rad"])
        derived["sin_min_elevation"] = np.sin(derived["min_elevation_rad"])
        derived["sin_min_sun_elevation"] = np.sin(self.min_sun_elevation_deg * DEG)
        for name, value in derived.items():
            object.__setattr__(self, name, np.ascontiguousarray(value, dtype=np.float64))

    @classmethod
    def from_classes(cls, classes: Sequence[SpacecraftClass],
                     class_index: npt.ArrayLike) -> ImagerParams:
        idx = check_class_index(class_index, len(classes))

        def col(name: str, absent: float) -> FloatArray:
            return np.array([absent if c.imager is None else float(getattr(c.imager, name))
                             for c in classes], dtype=np.float64)[idx]

        return cls(
            has_imager=np.array([c.imager is not None for c in classes], dtype=bool)[idx],
            swath_half_angle_deg=col("swath_half_angle_deg", 0.0),
            max_off_nadir_deg=col("max_off_nadir_deg", 0.0),
            min_elevation_deg=col("min_elevation_deg", 90.0),
            min_sun_elevation_deg=col("min_sun_elevation_deg", 90.0),
            bits_per_image=col("bits_per_image", 0.0),
        )

    @property
    def n_sats(self) -> int:
        return int(self.has_imager.size)


@dataclass(frozen=True, eq=False)
class ImagerState:
    """Per-target capture history, ``(m,)`` each.

    last_capture_ns: int64 UTC ns of the last capture (:data:`NEVER_NS` if none).
    captures: int64 number of captures so far.
    """

    last_capture_ns: npt.NDArray[np.int64]
    captures: npt.NDArray[np.int64]

    @classmethod
    def initial(cls, targets: Targets) -> ImagerState:
        m = len(targets)
        return cls(last_capture_ns=np.full(m, NEVER_NS, np.int64),
                   captures=np.zeros(m, np.int64))


@dataclass(frozen=True, eq=False)
class CaptureDecision:
    """One step's imager outcome, ``(n_sats,)`` int64 each.

    capture: target row captured at the step's instant, −1 none.
    want_target: for TARGET-mode satellites, the target to point at next (−1: nadir);
        the current pointed target for all others (no request).
    """

    capture: IntArray
    want_target: IntArray


def footprint_chord(r_norm_m: FloatArray, half_angle_rad: FloatArray,
                    min_elevation_rad: FloatArray, min_target_radius_m: float) -> FloatArray:
    """Chord on the unit sphere enclosing every target a satellite can see (conservative).

    The Earth-central angle from the sub-satellite point is the smaller of the footprint's
    (``asin(r sin η / R) − η``; unlimited when the cone misses the sphere) and the elevation
    limit's (``acos(R cos ε / r) − ε``, which includes the horizon since ε ≥ 0), on a sphere of
    radius ``R`` = the smallest target radius (a smaller sphere only widens both), with ε
    lowered by 0.2° for the geodetic vertical and 0.1° added.
    """
    r = np.asarray(r_norm_m, np.float64)
    big_r = min_target_radius_m
    eta = np.asarray(half_angle_rad, np.float64)
    with np.errstate(invalid="ignore"):
        s = r * np.sin(eta) / big_r
        lam_fov = np.where(s < 1.0, np.arcsin(np.minimum(s, 1.0)) - eta, np.pi)
        eps = np.asarray(min_elevation_rad, np.float64) - _VERTICAL_DEFLECTION_RAD
        lam_el = np.arccos(np.clip(big_r * np.cos(eps) / r, -1.0, 1.0)) - eps
        lam = np.clip(np.minimum(lam_fov, np.maximum(lam_el, 0.0)) + _SEARCH_SLACK_RAD,
                      0.0, np.pi)
    return 2.0 * np.sin(lam / 2.0)


# ---- the compiled kernel ----------------------------------------------------------------------


@numba.njit(cache=True, nogil=True)
def _chords(r, mode, swath_rad, for_rad, min_el_rad, active, big_r, out):  # pragma: no cover
    """Scalar :func:`footprint_chord` per satellite (0 where inactive or NaN); returns the max."""
    top = 0.0
    for i in range(r.shape[0]):
        out[i] = 0.0
        if not active[i]:
            continue
        rn = math.sqrt(r[i, 0] * r[i, 0] + r[i, 1] * r[i, 1] + r[i, 2] * r[i, 2])
        if not rn > 0.0:
            continue
        eta = for_rad[i] if mode[i] == 2 else swath_rad[i]
        s = rn * math.sin(eta) / big_r
        # A cone that misses the sphere does not limit the footprint: the horizon does, and
        # the elevation bound below (ε ≥ 0, less 0.2°) covers it.
        lam_fov = math.asin(s) - eta if s < 1.0 else math.pi
        eps = min_el_rad[i] - _VERTICAL_DEFLECTION_RAD
        lam_el = math.acos(min(max(big_r * math.cos(eps) / rn, -1.0), 1.0)) - eps
        lam = min(max(min(lam_fov, max(lam_el, 0.0)) + _SEARCH_SLACK_RAD, 0.0), math.pi)
        out[i] = 2.0 * math.sin(lam / 2.0)
        top = max(top, out[i])
    return top


@numba.njit(cache=True, nogil=True)
def _in_view(rx, ry, rz, rn, px, py, pz, ux, uy, uz, cos_lim, sin_el):  # pragma: no cover
    """(visible, slant range) of a target at p (geodetic up u) from a satellite at r, |r| = rn.

    Scalars only: passing arrays to a compiled call costs reference counting (~100 ns).
    """
    dx = px - rx
    dy = py - ry
    dz = pz - rz
    dist = math.sqrt(dx * dx + dy * dy + dz * dz)
    if -(ux * dx + uy * dy + uz * dz) < sin_el * dist:
        return False, dist
    if -(rx * dx + ry * dy + rz * dz) < cos_lim * rn * dist:
        return False, dist
    return True, dist


@numba.njit(cache=True, nogil=True)
def _cell_span(u, chord, cell, dims):  # pragma: no cover - numba
    """First and last grid cell along one axis covering ``[u - chord, u + chord]``."""
    lo = np.int64(np.floor((u - chord + 1.0) / cell))
    hi = np.int64(np.floor((u + chord + 1.0) / cell))
    return min(max(lo, 0), dims - 1), min(max(hi, 0), dims - 1)


@numba.njit(cache=True, nogil=True)
def _capture_kernel(r, t_ns, p, up, sun_sin, priority, revisit_ns, last_ns, mode, pointed,
                    settled, active, commanded, cos_swath, cos_for, sin_el, sin_sun, chord,
                    dims, cell, start, items, capture, want):  # pragma: no cover - numba
    nadir = 0
    target_mode = 2
    for i in range(r.shape[0]):
        capture[i] = -1
        want[i] = pointed[i]
        m = mode[i]
        if m != nadir and m != target_mode:
            continue
        rx, ry, rz = r[i, 0], r[i, 1], r[i, 2]
        rn = math.sqrt(rx * rx + ry * ry + rz * rz)
        if not rn > 0.0:  # NaN state: nothing to do, hold
            continue
        cos_lim = cos_swath[i]
        if m == nadir:
            if not (active[i] and settled[i]):
                continue
        else:
            cos_lim = cos_for[i]
            pt = pointed[i]
            pt_ok = False
            if pt >= 0:
                pt_ok, _ = _in_view(rx, ry, rz, rn, p[pt, 0], p[pt, 1], p[pt, 2], up[pt, 0],
                                    up[pt, 1], up[pt, 2], cos_lim, sin_el[i])
                pt_ok = pt_ok and sun_sin[pt] >= sin_sun[i]
            if commanded[i] >= 0:
                want[i] = commanded[i]
                if (active[i] and settled[i] and pt == commanded[i] and pt_ok
                        and t_ns - last_ns[pt] >= revisit_ns[pt]):
                    capture[i] = pt
                    last_ns[pt] = t_ns
                continue
            available = pt_ok and t_ns - last_ns[pt] >= revisit_ns[pt]
            if active[i] and settled[i] and available:
                capture[i] = pt
                last_ns[pt] = t_ns
                available = False
            if not active[i]:
                want[i] = pt if pt_ok else -1
                continue
            if available:  # keep pointing, still slewing or settling
                continue
        # The best available visible target in the grid box around the satellite.
        ch = chord[i]
        lo0, hi0 = _cell_span(rx / rn, ch, cell, dims)
        lo1, hi1 = _cell_span(ry / rn, ch, cell, dims)
        lo2, hi2 = _cell_span(rz / rn, ch, cell, dims)
        s_el = sin_el[i]
        s_sun = sin_sun[i]
        best = -1
        best_pri = 0.0
        best_dist = 0.0
        for ix in range(lo0, hi0 + 1):
            for iy in range(lo1, hi1 + 1):
                base = (ix * dims + iy) * dims
                # Cells (ix, iy, lo2..hi2) are consecutive: one run of items.
                for k in range(start[base + lo2], start[base + hi2 + 1]):
                    j = items[k]
                    if sun_sin[j] < s_sun:
                        continue
                    if t_ns - last_ns[j] < revisit_ns[j]:
                        continue
                    ok, dist = _in_view(rx, ry, rz, rn, p[j, 0], p[j, 1], p[j, 2], up[j, 0],
                                        up[j, 1], up[j, 2], cos_lim, s_el)
                    if not ok:
                        continue
                    pj = priority[j]
                    if (best < 0 or pj > best_pri
                            or (pj == best_pri and (dist < best_dist
                                                    or (dist == best_dist and j < best)))):
                        best, best_pri, best_dist = j, pj, dist
        if m == nadir:
            if best >= 0:
                capture[i] = best
                last_ns[best] = t_ns
        else:
            want[i] = best


# ---- the numpy reference ----------------------------------------------------------------------


def _visible_reference(r_i: FloatArray, rn: float, p: FloatArray, up: FloatArray,
                       cos_lim: float, sin_el: float) -> tuple[BoolArray, FloatArray]:
    d = p - r_i
    dist = np.sqrt(d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1] + d[:, 2] * d[:, 2])
    el_ok = ~(-(up[:, 0] * d[:, 0] + up[:, 1] * d[:, 1] + up[:, 2] * d[:, 2]) < sin_el * dist)
    fov_ok = ~(-(r_i[0] * d[:, 0] + r_i[1] * d[:, 1] + r_i[2] * d[:, 2]) < cos_lim * rn * dist)
    return el_ok & fov_ok, dist


def _capture_reference(r, t_ns, p, up, sun_sin, priority, revisit_ns, last_ns, mode,
                       pointed, settled, active, commanded, cos_swath, cos_for, sin_el,
                       sin_sun, capture, want):
    """Every satellite against every target, in numpy; the same rules as the kernel."""
    def best(i: int, rn: float, cos_lim: float) -> int:
        ok, dist = _visible_reference(r[i], rn, p, up, cos_lim, sin_el[i])
        ok &= ~(sun_sin < sin_sun[i]) & ~(t_ns - last_ns < revisit_ns)
        cand = np.flatnonzero(ok)
        if cand.size == 0:
            return -1
        order = np.lexsort((cand, dist[cand], -priority[cand]))
        return int(cand[order[0]])

    for i in range(r.shape[0]):
        capture[i] = -1
        want[i] = pointed[i]
        m = mode[i]
        if m not in (AttitudeMode.NADIR, AttitudeMode.TARGET):
            continue
        rn = math.sqrt(r[i, 0] * r[i, 0] + r[i, 1] * r[i, 1] + r[i, 2] * r[i, 2])
        if not rn > 0.0:
            continue
        if m == AttitudeMode.NADIR:
            if active[i] and settled[i]:
                j = best(i, rn, cos_swath[i])
                if j >= 0:
                    capture[i] = j
                    last_ns[j] = t_ns
            continue
        pt = int(pointed[i])
        pt_ok = False
        if pt >= 0:
            ok, _ = _visible_reference(r[i], rn, p[pt:pt + 1], up[pt:pt + 1], cos_for[i],
                                       sin_el[i])
            pt_ok = bool(ok[0]) and sun_sin[pt] >= sin_sun[i]
        if commanded[i] >= 0:
            want[i] = commanded[i]
            if (active[i] and settled[i] and pt == commanded[i] and pt_ok
                    and t_ns - last_ns[pt] >= revisit_ns[pt]):
                capture[i] = pt
                last_ns[pt] = t_ns
            continue
        available = pt_ok and t_ns - last_ns[pt] >= revisit_ns[pt]
        if active[i] and settled[i] and available:
            capture[i] = pt
            last_ns[pt] = t_ns
            available = False
        if not active[i]:
            want[i] = pt if pt_ok else -1
        elif not available:
            want[i] = best(i, rn, cos_for[i])


# ---- public ----------------------------------------------------------------------------------


def _vector(x: npt.ArrayLike, dtype: type, n: int) -> npt.NDArray[Any]:
    """``x`` as a contiguous ``(n,)`` array of ``dtype`` (no copy when it already is one)."""
    if (isinstance(x, np.ndarray) and x.shape == (n,) and x.dtype == dtype
            and x.flags.c_contiguous):
        return x
    return np.ascontiguousarray(np.broadcast_to(np.asarray(x, dtype), (n,)))


def select_captures(
    state: ImagerState,
    params: ImagerParams,
    targets: Targets,
    r_itrf_m: FloatArray,
    sun_itrf: FloatArray,
    t_ns: int,
    *,
    mode: npt.ArrayLike,
    pointed: npt.ArrayLike,
    settled: npt.ArrayLike,
    active: npt.ArrayLike,
    commanded_target: npt.ArrayLike | None = None,
    method: Literal["grid", "reference"] = "grid",
) -> tuple[ImagerState, CaptureDecision]:
    """Decide this step's captures (module docstring for the rules).

    Parameters
    ----------
    r_itrf_m: ``(n, 3)`` satellite positions, ITRF metres (NaN: no capture).
    sun_itrf: ``(3,)`` geocentric Sun direction, ITRF.
    t_ns: the step's instant, UTC ns.
    mode: ``(n,)`` :class:`AttitudeMode` of each satellite (the attitude being held or slewed to).
    pointed: ``(n,)`` target pointed at in TARGET mode (−1 none).
    settled: ``(n,)`` bool, attitude not slewing.
    active: ``(n,)`` bool, payload able to capture (on, enabled, not safe, room for an image).
    commanded_target: ``(n,)`` target commanded for TARGET mode, −1 to let the satellite choose.
    method: ``"grid"`` (compiled) or ``"reference"`` (numpy, all pairs).

    Returns the new state (captures recorded) and the :class:`CaptureDecision`.
    """
    n = params.n_sats
    r = np.ascontiguousarray(r_itrf_m, dtype=np.float64)
    if r.shape != (n, 3):
        raise UsageError(f"select_captures needs ({n}, 3) positions, got {r.shape}")

    def ints(x: npt.ArrayLike | None, default: int) -> IntArray:
        if x is None:
            return np.full(n, default, np.int64)
        return _vector(x, np.int64, n)

    def bools(x: npt.ArrayLike) -> BoolArray:
        return _vector(x, np.bool_, n)

    mode_a, pointed_a = ints(mode, 0), ints(pointed, -1)
    commanded = ints(commanded_target, -1)
    settled_a = bools(settled)
    active_a = bools(active) & params.has_imager
    m = len(targets)
    last = state.last_capture_ns.copy()
    capture = np.full(n, -1, np.int64)
    want = pointed_a.copy()
    if m == 0 or n == 0:
        want[mode_a == _TARGET_MODE] = -1
        return state, CaptureDecision(capture, want)
    if np.any((pointed_a >= m) | (commanded >= m)):
        raise UsageError(f"pointed/commanded target rows must be < {m}")
    sun = np.asarray(sun_itrf, np.float64).reshape(3)
    sun = sun / math.sqrt(float(sun @ sun))
    p, up = targets.itrf_m, targets.up
    sun_sin = up @ sun
    revisit_ns = targets.revisit_ns
    if method == "reference":
        _capture_reference(r, t_ns, p, up, sun_sin, targets.priority, revisit_ns, last, mode_a,
                           pointed_a, settled_a, active_a, commanded, params.cos_swath,
                           params.cos_max_off_nadir, params.sin_min_elevation,
                           params.sin_min_sun_elevation, capture, want)
    elif method == "grid":
        chord = np.empty(n)
        chord_max = _chords(r, mode_a, params.swath_half_angle_rad, params.max_off_nadir_rad,
                            params.min_elevation_rad, active_a,
                            targets.min_radius_m, chord)
        grid = targets.grid(chord_max if chord_max > 0 else 1.0)
        _capture_kernel(r, np.int64(t_ns), p, up, sun_sin, targets.priority,
                        revisit_ns, last, mode_a, pointed_a, settled_a, active_a, commanded,
                        params.cos_swath, params.cos_max_off_nadir, params.sin_min_elevation,
                        params.sin_min_sun_elevation, chord, grid.dims, grid.cell,
                        grid.cell_start, grid.items, capture, want)
    else:
        raise UsageError(f"method must be 'grid' or 'reference', got {method!r}")
    got = capture >= 0
    if not got.any():
        return state, CaptureDecision(capture, want)
    counts = state.captures + np.bincount(capture[got], minlength=m)
    return ImagerState(last_capture_ns=last, captures=counts), CaptureDecision(capture, want)


def target_view_margin_rad(
    r_itrf_m: FloatArray,
    target_itrf_m: FloatArray,
    target_up: FloatArray,
    sun_itrf: FloatArray,
    *,
    half_angle_rad: npt.ArrayLike,
    min_elevation_rad: npt.ArrayLike,
    min_sun_elevation_rad: npt.ArrayLike = -np.pi / 2,
) -> FloatArray:
    """Switching function of a (satellite, target) pair being in view, radians.

    ``min(elevation − ε_min, η_max − off-nadir, sun elevation − min)``: positive while in view,
    crossing zero at the instant the pair enters or leaves the footprint. All arrays broadcast
    (``(..., 3)`` vectors, ITRF); ``target_up`` is the geodetic up (:attr:`Targets.up`).
    """
    r = np.asarray(r_itrf_m, np.float64)
    d = np.asarray(target_itrf_m, np.float64) - r
    dist = np.sqrt(np.sum(d * d, axis=-1))
    rn = np.sqrt(np.sum(r * r, axis=-1))
    up = np.asarray(target_up, np.float64)
    sun = np.asarray(sun_itrf, np.float64)
    sun = sun / np.sqrt(np.sum(sun * sun, axis=-1, keepdims=True))
    elev = np.arcsin(np.clip(-np.sum(up * d, axis=-1) / dist, -1.0, 1.0))
    off_nadir = np.arccos(np.clip(-np.sum(r * d, axis=-1) / (rn * dist), -1.0, 1.0))
    sun_el = np.arcsin(np.clip(np.sum(up * sun, axis=-1), -1.0, 1.0))
    return np.minimum(np.minimum(elev - np.asarray(min_elevation_rad),
                                 np.asarray(half_angle_rad) - off_nadir),
                      sun_el - np.asarray(min_sun_elevation_rad))
