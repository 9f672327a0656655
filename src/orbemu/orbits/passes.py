"""Passes: when each satellite is above each ground node's horizon mask, for many of both at once.

:func:`find_passes` returns :class:`Passes`, a columnar table (one row per pass) sorted by AOS.

Definitions
-----------
A satellite is *visible* from node ``k`` when its elevation (geometric, WGS84 geodetic "up", no
refraction) is at least the node's threshold toward its azimuth —
``GroundNodes.min_elevation_at_deg(k, azimuth)``, i.e. ``max(min_elevation_deg, mask)`` — and,
when ``max_range_m[k]`` is finite, its slant range is at most that. A *pass* is a maximal interval
of visibility: AOS (acquisition of signal) and LOS (loss of signal) are its ends, TCA the instant
of maximum elevation inside it and ``max_elevation_deg`` that elevation. A pass under way at the
window start or still going at its end is clipped to the window and flagged ``partial``.

Method (vectorized; no Python loop over satellites, nodes or time steps)
-------------------------------------------------------------------------
The fine grid has step ``H`` (:func:`.events.default_coarse_step_ns`: 119 s for Starlink), on
which cubic Hermite interpolation of SGP4 states is good to ≲ 7 m in LEO.

1. **Screening.** ITRF states on a grid ``sub`` times coarser (an arc of ≤ 1.4 rad of the
   fastest orbit, ``sub`` ≤ 10: 20 min for Starlink) are streamed in time chunks. Two facts bound
   where a satellite can be between two samples: it moves at most ``v_max`` (a per-satellite
   bound of its Earth-fixed speed from its elements, :func:`motion_bounds`), and it stays within
   ``err`` of the cubic Hermite interpolant of the two samples (the Hermite remainder with
   ``|r⁗| ≤ ω⁴ r``). Every instant of an interval of length ``h`` is within ``v_max·h/2`` of one
   of its ends, so if neither end is within ``v_max·h/2 + err`` (+1 km) of the *visibility cone*
   (apex at the node, axis the local vertical, half-angle set by the node's lowest threshold over
   all azimuths; plus the range limit), the interval holds no visible instant. A compiled kernel
   applies this to each screening interval, then to its fine sub-intervals on the interpolant.
   Sampling therefore cannot miss a pass, however short; the steps only set the cost.
   Satellites covered by :mod:`.secular` (SGP4's secular model without its periodic terms,
   within a per-satellite bound ``b`` of SGP4 over the window: tens of km) skip SGP4 here: in
   TEME their secular track between two instants ``h`` apart lies within ``|Ω̇|·h`` of the
   great-circle arc through its ends and the station within ``ω_E·h/2`` of its mid-interval
   direction, and visibility needs the satellite within the cap ``acos(R_s cos(lo)/r) − lo``
   of the station (``r`` ≤ apogee + ``b``); an interval whose arc is farther than the cap plus
   those slacks and ``b/r`` holds no visible instant. Tested on screening intervals, then on
   the fine intervals of those kept (:func:`_secular_screen_kernel`).
2. **Exact states.** Only the satellites kept are propagated on the fine grid, a few fine
   intervals at a time (one SGP4 call per block for all satellites kept in it), and the same
   test is repeated on the exact end states at ≤ 20 s sub-steps (error bound now metres).
3. **Refinement.** The switching function ``f = elevation − threshold(azimuth)`` (or its minimum
   with the range margin) is evaluated at the grid points of the kept intervals — and every
   ≤ 20 s for nodes with an azimuth mask, whose corners can make ``f`` multimodal; without a
   mask ``f`` is unimodal over a pass. Sign changes are refined by vectorized bisection
   (AOS/LOS to 1 ms, then linear interpolation: microseconds); local maxima of ``f`` below zero
   are searched by golden section for passes shorter than the spacing; TCA is a golden-section
   maximum of the elevation around the highest point of each pass.

Memory: one time chunk of screening states, one block of exact states, and the kept intervals
(proportional to the passes found) — never ``(n, m, n_times)`` arrays. Cost: screening is
``O(n·m·T/H_screen)``; everything else grows with the number of passes.

Accuracy: against Skyfield's ``find_events`` (tested) AOS/TCA/LOS agree within 1 s and maximum
elevation within 0.01°; the interpolation itself contributes milliseconds and millidegrees.
Samples where propagation failed (NaN states) count as not visible.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numba
import numpy as np
import numpy.typing as npt

from orbemu.constants import DEG, EARTH_ROTATION_RAD_S, NS_PER_S, TAU, WGS72_MU_M3_S2
from orbemu.errors import UsageError
from orbemu.orbits.elements import ElementSet
from orbemu.orbits.events import (
    CoarseGrid,
    IntervalCollector,
    IntervalTable,
    bisect_roots,
    default_coarse_step_ns,
    golden_maximum,
    hermite_position_reference,
    iter_grid_states,
    make_grid,
)
from orbemu.orbits.frames import gmst82_rad
from orbemu.orbits.ground_nodes import GroundNodes
from orbemu.orbits.propagation import ProgressCallback, Propagator, SGP4Propagator, propagate
from orbemu.orbits.secular import secular_elements, secular_error_bound_m, secular_position
from orbemu.time import Time

__all__ = ["FINE_STEP_S", "Pass", "Passes", "find_passes"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Longest spacing of the fine scan inside kept intervals, seconds.
FINE_STEP_S = 20.0
#: Absolute margin of the visibility bounds (see module docstring), metres.
_BOUND_MARGIN_M = 1000.0
#: Screening grid: at most this arc (rad) of the fastest orbit, and this many fine steps.
SCREEN_ARC_RAD = 1.4
SCREEN_MAX_FACTOR = 10
#: Fine intervals per level-2 propagation block.
L2_BLOCK_FINE_STEPS = 5


# ---- result types ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Pass:
    """One pass of one satellite over one ground node (a row of :class:`Passes`)."""

    sat_index: int
    node_index: int
    norad_id: int
    satellite_name: str
    node_name: str
    aos: Time
    tca: Time
    los: Time
    max_elevation_deg: float
    partial: bool

    @property
    def duration_s(self) -> float:
        return float(int(self.los) - int(self.aos)) / NS_PER_S


@dataclass(frozen=True, eq=False)
class Passes:
    """Passes of many satellites over many ground nodes, columnar, sorted by AOS.

    Attributes
    ----------
    sat_index, node_index: (p,) rows of the satellite in the searched :class:`ElementSet` and of
        the node in the searched :class:`GroundNodes`.
    aos, tca, los: (p,) ``Time`` of acquisition, maximum elevation and loss (clipped to the
        window for partial passes).
    max_elevation_deg: (p,) elevation at TCA, degrees.
    partial: (p,) True where the pass was under way at the window start or still is at its end.
    window_start, window_end: the searched window.
    set_norad_ids, set_names: identity of every satellite of the searched set.
    set_node_names: names of every node of the searched set.
    """

    sat_index: IntArray
    node_index: IntArray
    aos: Time
    tca: Time
    los: Time
    max_elevation_deg: FloatArray
    partial: npt.NDArray[np.bool_]
    window_start: Time
    window_end: Time
    set_norad_ids: IntArray
    set_names: npt.NDArray[np.object_]
    set_node_names: npt.NDArray[np.object_]

    def __len__(self) -> int:
        return int(self.sat_index.size)

    def __repr__(self) -> str:
        return (f"Passes(<{len(self)} passes of {np.unique(self.sat_index).size} satellites over "
                f"{np.unique(self.node_index).size} nodes, {self.window_start.iso()} .. "
                f"{self.window_end.iso()}>)")

    @property
    def duration_s(self) -> FloatArray:
        """(p,) LOS − AOS, seconds."""
        return (self.los.ns - self.aos.ns) / NS_PER_S

    @property
    def norad_ids(self) -> IntArray:
        """(p,) catalog number of each pass's satellite."""
        return self.set_norad_ids[self.sat_index]

    @property
    def satellite_names(self) -> npt.NDArray[np.object_]:
        """(p,) name of each pass's satellite."""
        return self.set_names[self.sat_index]

    @property
    def node_names(self) -> npt.NDArray[np.object_]:
        """(p,) name of each pass's ground node."""
        return self.set_node_names[self.node_index]

    def select(self, mask: npt.ArrayLike) -> Passes:
        """The passes where ``mask`` (boolean or indices) selects, order kept."""
        idx = np.sort(np.atleast_1d(np.arange(len(self))[np.asarray(mask)]))
        return Passes(self.sat_index[idx], self.node_index[idx], self.aos[idx], self.tca[idx],
                      self.los[idx], self.max_elevation_deg[idx], self.partial[idx],
                      self.window_start, self.window_end, self.set_norad_ids, self.set_names,
                      self.set_node_names)

    def rows(self) -> Iterator[Pass]:
        """The passes one by one, in AOS order."""
        for i in range(len(self)):
            s, k = int(self.sat_index[i]), int(self.node_index[i])
            yield Pass(s, k, int(self.set_norad_ids[s]), str(self.set_names[s]),
                       str(self.set_node_names[k]), self.aos[i], self.tca[i], self.los[i],
                       float(self.max_elevation_deg[i]), bool(self.partial[i]))

    __iter__ = rows


# ---- compiled kernels and their numpy references ------------------------------------------------


@numba.njit(cache=True, nogil=True, inline="always")
def _cone_distance(x, y, z, sx, sy, sz, ux, uy, uz, sin_lo, cos_lo):  # pragma: no cover
    """Distance (m) from a point to the cone of elevation ≥ lo at a site, and the slant range."""
    dx, dy, dz = x - sx, y - sy, z - sz
    rng = math.sqrt(dx * dx + dy * dy + dz * dz)
    sin_el = (dx * ux + dy * uy + dz * uz) / rng
    cos_el = math.sqrt(max(1.0 - sin_el * sin_el, 0.0))
    s = sin_lo * cos_el - cos_lo * sin_el  # sin(lo − el)
    if s <= 0.0:
        return 0.0, rng
    if cos_lo * cos_el + sin_lo * sin_el < 0.0:  # more than 90° below the cone: nearest is apex
        return rng, rng
    return rng * s, rng


@numba.njit(cache=True, nogil=True)
def _screen_kernel(r, v, t1, first_pair, j1_base, sub, step2_s, duration_s, n2, site, up, sin_lo,
                   cos_lo, max_range, v_max, err, out_sat, out_node,
                   out_j2):  # pragma: no cover - compiled
    """List the fine intervals ``(satellite, node, j2)`` that may hold visibility, from
    screening states ``r, v`` (n, c, 3) at screening grid points ``t1`` (s). Writes as many as
    the output arrays hold and returns how many there are (call again with larger arrays if
    that is more).

    Screening interval ``col`` spans fine intervals ``j2 = (j1_base + col)·sub + q``. Between
    its ends the trajectory is within ``err[i]`` of the cubic Hermite interpolant, and moves at
    most ``v_max[i]``: an interval (or sub-interval) whose end points are all farther than
    ``v_max·h/2 + err`` (+1 km) from the visibility cone cannot hold a visible instant. Level A
    tests the whole screening interval; level B its fine sub-intervals. Returns the count.
    """
    n_sats, n_cols = r.shape[0], r.shape[1]
    m = site.shape[0]
    count = 0
    flag = np.zeros(m, dtype=np.bool_)
    pos = np.empty((sub + 1, 3))
    tq = np.empty(sub + 1)
    dq = np.empty(sub + 1)
    gq = np.empty(sub + 1)
    for i in range(n_sats):
        for col in range(first_pair, n_cols - 1):
            h1 = t1[col + 1] - t1[col]
            reach = 0.5 * v_max[i] * h1 + err[i] + _BOUND_MARGIN_M
            any_flag = False
            for k in range(m):
                d0, g0 = _cone_distance(r[i, col, 0], r[i, col, 1], r[i, col, 2], site[k, 0],
                                        site[k, 1], site[k, 2], up[k, 0], up[k, 1], up[k, 2],
                                        sin_lo[k], cos_lo[k])
                d1, g1 = _cone_distance(r[i, col + 1, 0], r[i, col + 1, 1], r[i, col + 1, 2],
                                        site[k, 0], site[k, 1], site[k, 2], up[k, 0], up[k, 1],
                                        up[k, 2], sin_lo[k], cos_lo[k])
                near = d0 <= reach or d1 <= reach
                ranged = g0 - reach <= max_range[k] or g1 - reach <= max_range[k]
                flag[k] = near and ranged
                any_flag = any_flag or flag[k]
            if not any_flag:
                continue
            j1 = j1_base + col
            nq = min(sub, n2 - j1 * sub)
            for q in range(nq + 1):
                tq[q] = min((j1 * sub + q) * step2_s, duration_s)
                u = min(max((tq[q] - t1[col]) / h1, 0.0), 1.0)
                u2 = u * u
                u3 = u2 * u
                a0 = 2.0 * u3 - 3.0 * u2 + 1.0
                b0 = (u3 - 2.0 * u2 + u) * h1
                a1 = 3.0 * u2 - 2.0 * u3
                b1 = (u3 - u2) * h1
                for c in range(3):
                    pos[q, c] = (a0 * r[i, col, c] + b0 * v[i, col, c] + a1 * r[i, col + 1, c]
                                 + b1 * v[i, col + 1, c])
            for k in range(m):
                if not flag[k]:
                    continue
                for q in range(nq + 1):
                    dq[q], gq[q] = _cone_distance(pos[q, 0], pos[q, 1], pos[q, 2], site[k, 0],
                                                  site[k, 1], site[k, 2], up[k, 0], up[k, 1],
                                                  up[k, 2], sin_lo[k], cos_lo[k])
                for q in range(nq):
                    reach_q = 0.5 * v_max[i] * (tq[q + 1] - tq[q]) + err[i] + _BOUND_MARGIN_M
                    near = dq[q] <= reach_q or dq[q + 1] <= reach_q
                    ranged = gq[q] - reach_q <= max_range[k] or gq[q + 1] - reach_q <= max_range[k]
                    if near and ranged:
                        if count < out_sat.size:
                            out_sat[count] = i
                            out_node[count] = k
                            out_j2[count] = j1 * sub + q
                        count += 1
    return count


@numba.njit(cache=True, nogil=True, inline="always")
def _arc_near(xa, ya, za, ra, xb, yb, zb, rb, sx, sy, sz, cos_cap,
              sin_cap):  # pragma: no cover - compiled
    """Is the unit vector ``s`` within the angle ``cap`` (cosine, sine given; < 90°) of the
    great-circle arc from ``a`` to ``b`` (shorter than π)?"""
    if (sx * xa + sy * ya + sz * za) >= cos_cap * ra:
        return True
    if (sx * xb + sy * yb + sz * zb) >= cos_cap * rb:
        return True
    nx, ny, nz = ya * zb - za * yb, za * xb - xa * zb, xa * yb - ya * xb
    nn = math.sqrt(nx * nx + ny * ny + nz * nz)
    if nn <= 1e-9 * ra * rb:
        return True  # degenerate arc: keep
    if abs(sx * nx + sy * ny + sz * nz) > sin_cap * nn:
        return False
    # The nearest point of the great circle is inside the arc: (a × s)·n ≥ 0 and (s × b)·n ≥ 0.
    qa = (ya * sz - za * sy) * nx + (za * sx - xa * sz) * ny + (xa * sy - ya * sx) * nz
    qb = (sy * zb - sz * yb) * nx + (sz * xb - sx * zb) * ny + (sx * yb - sy * xb) * nz
    return qa >= 0.0 and qb >= 0.0


@numba.njit(cache=True, nogil=True)
def _secular_screen_kernel(idx, start_ns, theta_dot, sub, step2_s, duration_s, n2, c_mid1,
                           s_mid1, c_mid2, s_mid2, shat, r_site, lo_a, cos_lo_a, bound, epoch_ns,
                           a0, e, cos_i, sin_i, node0, argp0, m0, node_rate, argp_rate, m_rate,
                           c1, m_drag, node_drag, out_sat, out_node,
                           out_j2):  # pragma: no cover - compiled
    """List the fine intervals ``(satellite, node, j2)`` that may hold visibility, for the
    satellites ``idx`` whose SGP4 positions are within ``bound[i]`` (m) of the secular model's
    (:mod:`.secular`). Works in TEME, where the secular track between two instants ``h`` apart
    lies within ``|Ω̇|·h`` of the great-circle arc through its ends (the node's drift; the
    arc is < π) and the station within ``ω_E·h/2`` of its direction at mid-interval
    (``c_mid, s_mid``: cos, sin of the sidereal angle there). A satellite at radius ``r`` can
    be visible only within the cap ``γ = acos(R_s cos(lo)/r) − lo`` of the station's
    geocentric direction ``shat`` (``lo_a``: the lowest threshold less 0.2° for the geodetic
    vertical; ``r`` at most the secular apogee over the window plus the bound). Level A tests
    screening intervals of ``sub`` fine steps, level B the fine intervals of those kept.
    Writes as many as the output arrays hold and returns how many there are."""
    m = shat.shape[0]
    count = 0
    flag = np.zeros(m, dtype=np.bool_)
    n1 = (n2 + sub - 1) // sub
    pos = np.empty((sub + 1, 4))
    cap = np.empty((2, m, 3))  # level, node: usable, cos, sin
    h_level = (sub * step2_s, step2_s)
    for ii in range(idx.size):
        i = idx[ii]
        off = (start_ns - epoch_ns[i]) * 1e-9
        b = bound[i] + _BOUND_MARGIN_M
        ta2 = (1.0 - c1[i] * off) ** 2
        tb2 = (1.0 - c1[i] * (off + duration_s)) ** 2
        r_hi = a0[i] * max(ta2, tb2) * (1.0 + e[i]) + b
        r_lo = max(a0[i] * min(ta2, tb2) * (1.0 - e[i]) - b, 1.0)
        for lv in range(2):
            h = h_level[lv]
            slack = theta_dot * 0.5 * h + abs(node_rate[i]) * h + b / r_lo + 1e-4
            for k in range(m):
                cg = r_site[k] * cos_lo_a[k] / r_hi
                gamma = (math.acos(cg) - lo_a[k] + slack) if cg < 1.0 else -1.0
                cap[lv, k, 0] = 0.0 if gamma < 0.0 else (2.0 if gamma >= 0.5 * math.pi else 1.0)
                cap[lv, k, 1] = math.cos(gamma)
                cap[lv, k, 2] = math.sin(gamma)
        xa, ya, za = secular_position(i, off, 0.0, a0, e, cos_i, sin_i, node0, argp0, m0,
                                      node_rate, argp_rate, m_rate, c1, m_drag, node_drag)
        ra = math.sqrt(xa * xa + ya * ya + za * za)
        for col in range(n1):
            ja = col * sub
            nq = min(sub, n2 - ja)
            tb = min((ja + nq) * step2_s, duration_s)
            xb, yb, zb = secular_position(i, off + tb, 0.0, a0, e, cos_i, sin_i, node0, argp0,
                                          m0, node_rate, argp_rate, m_rate, c1, m_drag,
                                          node_drag)
            rb = math.sqrt(xb * xb + yb * yb + zb * zb)
            any_flag = False
            for k in range(m):
                if cap[0, k, 0] == 0.0:
                    flag[k] = False
                elif cap[0, k, 0] == 2.0:
                    flag[k] = True
                else:
                    sx = c_mid1[col] * shat[k, 0] - s_mid1[col] * shat[k, 1]
                    sy = s_mid1[col] * shat[k, 0] + c_mid1[col] * shat[k, 1]
                    flag[k] = _arc_near(xa, ya, za, ra, xb, yb, zb, rb, sx, sy, shat[k, 2],
                                        cap[0, k, 1], cap[0, k, 2])
                any_flag = any_flag or flag[k]
            if any_flag:
                pos[0, 0], pos[0, 1], pos[0, 2], pos[0, 3] = xa, ya, za, ra
                pos[nq, 0], pos[nq, 1], pos[nq, 2], pos[nq, 3] = xb, yb, zb, rb
                for q in range(1, nq):
                    tq = min((ja + q) * step2_s, duration_s)
                    x, y, z = secular_position(i, off + tq, 0.0, a0, e, cos_i, sin_i, node0,
                                               argp0, m0, node_rate, argp_rate, m_rate, c1,
                                               m_drag, node_drag)
                    pos[q, 0], pos[q, 1], pos[q, 2] = x, y, z
                    pos[q, 3] = math.sqrt(x * x + y * y + z * z)
                for k in range(m):
                    if not flag[k]:
                        continue
                    for q in range(nq):
                        j2 = ja + q
                        if cap[1, k, 0] == 2.0:
                            keep = True
                        else:
                            sx = c_mid2[j2] * shat[k, 0] - s_mid2[j2] * shat[k, 1]
                            sy = s_mid2[j2] * shat[k, 0] + c_mid2[j2] * shat[k, 1]
                            keep = _arc_near(pos[q, 0], pos[q, 1], pos[q, 2], pos[q, 3],
                                             pos[q + 1, 0], pos[q + 1, 1], pos[q + 1, 2],
                                             pos[q + 1, 3], sx, sy, shat[k, 2], cap[1, k, 1],
                                             cap[1, k, 2])
                        if keep:
                            if count < out_sat.size:
                                out_sat[count] = i
                                out_node[count] = k
                                out_j2[count] = j2
                            count += 1
            xa, ya, za, ra = xb, yb, zb, rb
    return count


@numba.njit(cache=True, nogil=True)
def _fine_keep_kernel(x, h, node, site, up, sin_lo, cos_lo, max_range, v_max, err, n_sub,
                      keep):  # pragma: no cover - compiled
    """For fine intervals with exact end states ``x`` (q, 12) = ``r0, v0, r1, v1`` and lengths
    ``h`` (s): may the satellite be visible from ``node`` inside? Tested at ``n_sub`` Hermite
    sub-intervals with reach ``v_max·h/(2·n_sub) + err`` (+1 km), as the screening does."""
    for q in range(h.size):
        k = node[q]
        hq = h[q]
        reach = 0.5 * v_max[q] * hq / n_sub + err[q] + _BOUND_MARGIN_M
        keep[q] = False
        d_prev, g_prev = 0.0, 0.0
        for p in range(n_sub + 1):
            u = p / n_sub
            u2 = u * u
            u3 = u2 * u
            a0 = 2.0 * u3 - 3.0 * u2 + 1.0
            b0 = (u3 - 2.0 * u2 + u) * hq
            a1 = 3.0 * u2 - 2.0 * u3
            b1 = (u3 - u2) * hq
            px = a0 * x[q, 0] + b0 * x[q, 3] + a1 * x[q, 6] + b1 * x[q, 9]
            py = a0 * x[q, 1] + b0 * x[q, 4] + a1 * x[q, 7] + b1 * x[q, 10]
            pz = a0 * x[q, 2] + b0 * x[q, 5] + a1 * x[q, 8] + b1 * x[q, 11]
            d, g = _cone_distance(px, py, pz, site[k, 0], site[k, 1], site[k, 2], up[k, 0],
                                  up[k, 1], up[k, 2], sin_lo[k], cos_lo[k])
            if p > 0:
                near = d_prev <= reach or d <= reach
                ranged = g_prev - reach <= max_range[k] or g - reach <= max_range[k]
                if near and ranged:
                    keep[q] = True
                    break
            d_prev, g_prev = d, g


def fine_keep_reference(x: FloatArray, h: FloatArray, node: IntArray, site: FloatArray,
                        up: FloatArray, lo_rad: FloatArray, max_range: FloatArray,
                        v_max: FloatArray, err: FloatArray, n_sub: int) -> npt.NDArray[np.bool_]:
    """Numpy twin of :func:`_fine_keep_kernel`."""
    u = np.arange(n_sub + 1) / n_sub
    q = h.size
    pts = hermite_position_reference(
        np.repeat(x[:, 0:3], n_sub + 1, 0), np.repeat(x[:, 3:6], n_sub + 1, 0),
        np.repeat(x[:, 6:9], n_sub + 1, 0), np.repeat(x[:, 9:12], n_sub + 1, 0),
        np.repeat(h, n_sub + 1), np.tile(u, q)).reshape(q, n_sub + 1, 3)
    k = node[:, None]
    d, g = _cone_distance_reference(pts, site[k], up[k], lo_rad[k])
    reach = (0.5 * v_max * h / n_sub + err + _BOUND_MARGIN_M)[:, None]  # (q, 1)
    mr = max_range[k]
    near = (d[:, :-1] <= reach) | (d[:, 1:] <= reach)
    ranged = (g[:, :-1] - reach <= mr) | (g[:, 1:] - reach <= mr)
    return np.any(near & ranged, axis=1)


def _cone_distance_reference(p: FloatArray, site: FloatArray, up: FloatArray,
                             lo_rad: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Numpy cone distance and range: ``p`` (..., 3) against sites broadcast on axis −2."""
    d = p - site
    rng = np.sqrt(np.sum(d * d, axis=-1))
    with np.errstate(invalid="ignore"):
        el = np.arcsin(np.clip(np.sum(d * up, axis=-1) / rng, -1.0, 1.0))
    gap = lo_rad - el
    dist = np.where(gap <= 0, 0.0, np.where(gap > np.pi / 2, rng, rng * np.sin(gap)))
    return np.where(np.isnan(rng), np.nan, dist), rng


def screen_reference(r: FloatArray, v: FloatArray, t1: FloatArray, j1_base: int, sub: int,
                     step2_s: float, duration_s: float, n2: int, site: FloatArray,
                     up: FloatArray, lo_rad: FloatArray, max_range: FloatArray,
                     v_max: FloatArray, err: FloatArray) -> set[tuple[int, int, int]]:
    """Numpy twin of the screening kernel: the set of kept ``(satellite, node, j2)``."""
    kept: set[tuple[int, int, int]] = set()
    n, c = r.shape[:2]
    h1 = np.diff(t1)  # (c-1,)
    d_end, g_end = _cone_distance_reference(r[:, None], site[None, :, None], up[None, :, None],
                                            lo_rad[None, :, None])  # (n, m, c)
    reach = (0.5 * v_max[:, None] * h1[None, :] + err[:, None] + _BOUND_MARGIN_M)[:, None, :]
    mr = max_range[None, :, None]
    level_a = (((d_end[..., :-1] <= reach) | (d_end[..., 1:] <= reach))
               & ((g_end[..., :-1] - reach <= mr) | (g_end[..., 1:] - reach <= mr)))
    for col in range(c - 1):
        j1 = j1_base + col
        nq = min(sub, n2 - j1 * sub)
        tq = np.minimum((j1 * sub + np.arange(nq + 1)) * step2_s, duration_s)
        u = np.clip((tq - t1[col]) / h1[col], 0.0, 1.0)
        for i in range(n):
            pos = hermite_position_reference(
                np.repeat(r[i, col][None], nq + 1, 0), np.repeat(v[i, col][None], nq + 1, 0),
                np.repeat(r[i, col + 1][None], nq + 1, 0),
                np.repeat(v[i, col + 1][None], nq + 1, 0), np.full(nq + 1, h1[col]), u)
            dq, gq = _cone_distance_reference(pos[None], site[:, None], up[:, None],
                                              lo_rad[:, None])  # (m, nq+1)
            reach_q = 0.5 * v_max[i] * np.diff(tq) + err[i] + _BOUND_MARGIN_M
            keep = (((dq[:, :-1] <= reach_q) | (dq[:, 1:] <= reach_q))
                    & ((gq[:, :-1] - reach_q <= max_range[:, None])
                       | (gq[:, 1:] - reach_q <= max_range[:, None])))
            keep &= level_a[i, :, col][:, None]
            for k, q in zip(*np.nonzero(keep), strict=True):
                kept.add((i, int(k), int(j1 * sub + q)))
    return kept


@numba.njit(cache=True, nogil=True)
def _topo_kernel(x, t0, h, j, row_node, seg_first, seg_last, step_s, n_intervals,
                 site, enu, seg, t, el, az, rng):  # pragma: no cover - compiled
    """Hermite position of segment ``seg[q]`` at ``t[q]`` (s) → elevation, azimuth (rad) and
    range (m) from the segment's node. The table row is the segment's interval holding ``t``;
    ``x`` (rows, 12) holds each row's ``r0, v0, r1, v1`` side by side (one cache line or two
    per evaluation instead of four scattered ones)."""
    for q in range(t.size):
        first, last = seg_first[seg[q]], seg_last[seg[q]]
        jt = math.floor(t[q] / step_s)
        jt = min(max(jt, 0), n_intervals - 1)
        i = min(max(first + jt - j[first], first), last)
        u = min(max((t[q] - t0[i]) / h[i], 0.0), 1.0)
        u2 = u * u
        u3 = u2 * u
        a0 = 2.0 * u3 - 3.0 * u2 + 1.0
        b0 = (u3 - 2.0 * u2 + u) * h[i]
        a1 = 3.0 * u2 - 2.0 * u3
        b1 = (u3 - u2) * h[i]
        k = row_node[i]
        dx = a0 * x[i, 0] + b0 * x[i, 3] + a1 * x[i, 6] + b1 * x[i, 9] - site[k, 0]
        dy = a0 * x[i, 1] + b0 * x[i, 4] + a1 * x[i, 7] + b1 * x[i, 10] - site[k, 1]
        dz = a0 * x[i, 2] + b0 * x[i, 5] + a1 * x[i, 8] + b1 * x[i, 11] - site[k, 2]
        e = enu[k, 0, 0] * dx + enu[k, 0, 1] * dy + enu[k, 0, 2] * dz
        n = enu[k, 1, 0] * dx + enu[k, 1, 1] * dy + enu[k, 1, 2] * dz
        up = enu[k, 2, 0] * dx + enu[k, 2, 1] * dy + enu[k, 2, 2] * dz
        d = math.sqrt(e * e + n * n + up * up)
        rng[q] = d
        el[q] = math.asin(min(max(up / d, -1.0), 1.0))
        a = math.atan2(e, n)
        az[q] = a + TAU if a < 0.0 else a


@numba.njit(cache=True, nogil=True)
def _topo_pair_kernel(x, t0, h, node, site, enu, t, el, az, rng):  # pragma: no cover - compiled
    """Like :func:`_topo_kernel` for brackets spanning at most two grid intervals, with each
    bracket's two rows gathered beforehand: ``x`` (q, 2, 12), ``t0``/``h`` (q, 2), ``node``
    (q,). Iterative refinement evaluates the same rows again and again; gathered, they stay in
    cache instead of being fetched from all over the table."""
    for q in range(t.size):
        p = 1 if t[q] >= t0[q, 1] else 0
        u = min(max((t[q] - t0[q, p]) / h[q, p], 0.0), 1.0)
        u2 = u * u
        u3 = u2 * u
        a0 = 2.0 * u3 - 3.0 * u2 + 1.0
        b0 = (u3 - 2.0 * u2 + u) * h[q, p]
        a1 = 3.0 * u2 - 2.0 * u3
        b1 = (u3 - u2) * h[q, p]
        k = node[q]
        dx = a0 * x[q, p, 0] + b0 * x[q, p, 3] + a1 * x[q, p, 6] + b1 * x[q, p, 9] - site[k, 0]
        dy = a0 * x[q, p, 1] + b0 * x[q, p, 4] + a1 * x[q, p, 7] + b1 * x[q, p, 10] - site[k, 1]
        dz = a0 * x[q, p, 2] + b0 * x[q, p, 5] + a1 * x[q, p, 8] + b1 * x[q, p, 11] - site[k, 2]
        e = enu[k, 0, 0] * dx + enu[k, 0, 1] * dy + enu[k, 0, 2] * dz
        n = enu[k, 1, 0] * dx + enu[k, 1, 1] * dy + enu[k, 1, 2] * dz
        up = enu[k, 2, 0] * dx + enu[k, 2, 1] * dy + enu[k, 2, 2] * dz
        d = math.sqrt(e * e + n * n + up * up)
        rng[q] = d
        el[q] = math.asin(min(max(up / d, -1.0), 1.0))
        a = math.atan2(e, n)
        az[q] = a + TAU if a < 0.0 else a


def topo_reference(table: IntervalTable, row_node: IntArray, site: FloatArray, enu: FloatArray,
                   seg: IntArray, t_s: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Numpy twin of the fine-evaluation kernel: (elevation rad, azimuth rad, range m)."""
    row = table.row_at(seg, t_s)
    s, h = table.fraction(row, t_s)
    r = hermite_position_reference(table.r0[row], table.v0[row], table.r1[row], table.v1[row],
                                   h, s)
    k = row_node[row]
    d = r - site[k]
    local = np.einsum("qij,qj->qi", enu[k], d)
    rng = np.linalg.norm(local, axis=-1)
    el = np.arcsin(np.clip(local[:, 2] / rng, -1.0, 1.0))
    az = np.arctan2(local[:, 0], local[:, 1]) % TAU
    return el, az, rng


# ---- the search ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Visibility:
    """Thresholds of the nodes searched and the switching function built from them."""

    ground: GroundNodes
    override_deg: float | None

    @property
    def lowest_deg(self) -> FloatArray:
        """(m,) the lowest threshold of each node over all azimuths."""
        if self.override_deg is not None:
            return np.full(len(self.ground), self.override_deg)
        base = self.ground.min_elevation_deg
        if self.ground.mask_deg is None:
            return base.copy()
        return np.maximum(base, self.ground.mask_deg.min(axis=1))

    @property
    def structured(self) -> npt.NDArray[np.bool_]:
        """(m,) True where the threshold varies with azimuth (an effective mask)."""
        if self.override_deg is not None or self.ground.mask_deg is None:
            return np.zeros(len(self.ground), dtype=bool)
        return self.ground.mask_deg.max(axis=1) > self.ground.min_elevation_deg

    def threshold_deg(self, node: IntArray, az_rad: FloatArray) -> FloatArray:
        if self.override_deg is not None:
            return np.full(np.shape(az_rad), self.override_deg)
        return self.ground.min_elevation_at_deg(node, az_rad)

    def switching(self, node: IntArray, el: FloatArray, az: FloatArray,
                  rng: FloatArray) -> FloatArray:
        """≥ 0 exactly when visible: elevation margin in degrees, or the (scaled) range margin
        where that is smaller. NaN where the state is unknown."""
        f = np.degrees(el) - self.threshold_deg(node, az)
        max_range = self.ground.max_range_m[node]
        finite = np.isfinite(max_range)
        if finite.any():
            with np.errstate(invalid="ignore", divide="ignore"):
                range_margin = np.where(finite, (max_range - rng) / (max_range / 90.0), np.inf)
            f = np.minimum(f, range_margin)
        return f


def find_passes(
    elements: ElementSet,
    ground: GroundNodes,
    start: Time,
    duration_ns: int,
    *,
    min_elevation_deg: float | None = None,
    coarse_step_ns: int | None = None,
    propagator: Propagator | None = None,
    progress: ProgressCallback | None = None,
) -> Passes:
    """All passes of every satellite over every ground node in ``[start, start + duration_ns]``.

    Parameters
    ----------
    elements: the satellites (n).
    ground: the ground nodes (m); their ``min_elevation_deg``, azimuth ``mask_deg`` and
        ``max_range_m`` define visibility (see module docstring).
    start, duration_ns: the window (scalar ``Time``, integer nanoseconds > 0).
    min_elevation_deg: if given, one elevation threshold for every node, replacing both
        ``GroundNodes.min_elevation_deg`` and the azimuth masks.
    coarse_step_ns: the fine grid step ``H``; default from the fastest orbit
        (:func:`.events.default_coarse_step_ns`). No pass is missed at any step; larger steps only
        loosen the interpolation (cubic Hermite error ∝ step⁴).
    propagator: default SGP4 (:class:`~orbemu.orbits.propagation.SGP4Propagator`, streamed in
        time chunks of bounded memory); any ``Propagator`` works.
    progress: ``callback(done, total)``: screening then exact states, in units of fine grid
        instants (``total`` = twice their number); the last call has ``done == total``.

    Returns :class:`Passes` sorted by AOS (see the module docstring for the method, the
    guarantee that no pass is missed, memory and accuracy).
    """
    if not isinstance(ground, GroundNodes):
        raise UsageError(f"ground must be GroundNodes, got {type(ground).__name__}")
    if min_elevation_deg is not None and not -90.0 <= float(min_elevation_deg) <= 90.0:
        raise UsageError(f"min_elevation_deg must be within [-90, 90], got {min_elevation_deg}")
    step_ns = coarse_step_ns if coarse_step_ns is not None else default_coarse_step_ns(elements)
    grid = make_grid(start, duration_ns, step_ns)
    vis = _Visibility(ground, None if min_elevation_deg is None else float(min_elevation_deg))
    m = len(ground)
    table = _coarse_scan(elements, ground, vis, grid, propagator, progress)
    return _assemble(elements, ground, grid, *_refine(table, ground, vis, grid, m))


def motion_bounds(elements: ElementSet, step_s: float) -> tuple[FloatArray, FloatArray]:
    """Per satellite: an upper bound of the Earth-fixed speed (m/s) and of the distance between
    the trajectory and its cubic Hermite interpolant over ``step_s`` (m).

    Speed: in the Earth-fixed frame ``|v − ω×r|² = v² − 2ω h_z + ω²(x² + y²)``, with ``h_z =
    |h| cos i`` constant on a Keplerian orbit, ``v`` at most the perigee speed and ``x² + y²``
    at most the apogee radius squared; 1 % margins on each for SGP4's perturbations.
    Interpolation: the cubic Hermite remainder ``h⁴ max|r⁗| / 384`` with ``|r⁗| ≤ ω⁴ r_apogee``,
    ω the perigee angular rate plus the Earth's rotation, ×1.5. Both are checked against SGP4 in
    the tests. Unusable elements get 11 km/s and 1000 km (they are then always screened in).
    """
    n = elements.mean_motion_rad_s
    e = np.clip(elements.eccentricity, 0.0, 0.99)
    a = elements.semi_major_axis_m
    w = EARTH_ROTATION_RAD_S
    with np.errstate(invalid="ignore", divide="ignore"):
        r_apo = a * (1.0 + e)
        v_peri = 1.01 * np.sqrt(WGS72_MU_M3_S2 * (1.0 + e) / (a * (1.0 - e)))
        cos_i = np.cos(elements.inclination_rad)
        h_z = np.sqrt(WGS72_MU_M3_S2 * a * (1.0 - e * e)) * cos_i * np.where(cos_i > 0, 0.99,
                                                                              1.01)
        speed = 1.01 * np.sqrt(np.maximum(v_peri**2 - 2.0 * w * h_z + (w * r_apo) ** 2, 0.0))
        rate = n * (1.0 + e) ** 2 / (1.0 - e * e) ** 1.5 + w
        err = 1.5 * (rate * step_s) ** 4 / 384.0 * r_apo
    ok = np.isfinite(speed) & np.isfinite(err) & (n > 0)
    return np.where(ok, speed, 11.0e3), np.where(ok, err, 1.0e6)


def screening_factor(elements: ElementSet, step_ns: int) -> int:
    """How many fine steps one screening step spans: an arc of ≤ 1.4 rad of the fastest orbit
    (at most 10 steps; 1 when the fine step alone is that long)."""
    if len(elements) == 0:
        return 1
    n = elements.mean_motion_rad_s
    e = np.clip(elements.eccentricity, 0.0, 0.99)
    rate = n * (1.0 + e) ** 2 / (1.0 - e * e) ** 1.5 + EARTH_ROTATION_RAD_S
    fastest = float(np.nanmax(rate)) if np.isfinite(rate).any() else EARTH_ROTATION_RAD_S
    return int(max(1, min(SCREEN_MAX_FACTOR,
                          math.floor(SCREEN_ARC_RAD / (fastest * step_ns / NS_PER_S)))))


def _coarse_scan(elements: ElementSet, ground: GroundNodes, vis: _Visibility, grid: CoarseGrid,
                 propagator: Propagator | None,
                 progress: ProgressCallback | None) -> IntervalTable:
    """Find the fine-grid intervals that may hold visibility and their exact end states.

    Level 1 streams states on a screening grid ``sub`` times coarser than ``grid`` and screens
    them with :func:`_screen_kernel` (Hermite interpolation with a rigorous error bound). Level 2
    propagates only the satellites kept, one screening interval at a time, on the fine grid, and
    keeps the intervals that pass the same test on exact states (error bound 0). Rows are keyed
    ``satellite·m + node``.
    """
    m = len(ground)
    collector = IntervalCollector()
    if m == 0 or len(elements) == 0:
        return collector.table(grid)
    n2 = grid.n_intervals
    sub = screening_factor(elements, grid.step_ns)
    screen = make_grid(grid.start, grid.duration_ns, grid.step_ns * sub)
    site = np.ascontiguousarray(ground.itrf_m)
    up = np.ascontiguousarray(ground.enu[:, 2, :])
    lo = vis.lowest_deg * DEG
    sin_lo, cos_lo = np.sin(lo), np.cos(lo)
    max_range = np.ascontiguousarray(ground.max_range_m, dtype=np.float64)
    v_max, err = motion_bounds(elements, screen.step_s)
    # Level 2 tests exact end states at sub-intervals of ≤ FINE_STEP_S; their interpolation
    # error bound (metres in LEO) is the fine step's.
    n_sub = max(1, math.ceil(grid.step_s / FINE_STEP_S))
    fine_err = motion_bounds(elements, grid.step_s)[1]
    total = 2 * (n2 + 1)

    def report(done: int) -> None:
        if progress is not None:
            progress(min(done, total), total)

    # ---- level 1: screening -------------------------------------------------------------------
    found: list[tuple[IntArray, IntArray, IntArray]] = []
    # Output room of one kernel call: ~2 % of the fine intervals it covers, grown on demand.
    capacity_hint = [max(4096, len(elements) * m * sub * 4)]

    def scan(r: FloatArray, v: FloatArray, j1_base: int) -> None:
        r = np.ascontiguousarray(r)
        v = np.ascontiguousarray(v)
        t1 = screen.point_s(j1_base + np.arange(r.shape[1]))
        args = (r, v, t1, 0, j1_base, sub, grid.step_s, grid.duration_s, n2, site, up, sin_lo,
                cos_lo, max_range, v_max, err)
        capacity = capacity_hint[0]
        out = [np.empty(capacity, np.int64) for _ in range(3)]
        count = _screen_kernel(*args, *out)
        if count > capacity:  # rare: rerun with room for all
            capacity_hint[0] = 2 * count
            out = [np.empty(count, np.int64) for _ in range(3)]
            _screen_kernel(*args, *out)
        if count:
            found.append((out[0][:count].copy(), out[1][:count].copy(), out[2][:count].copy()))

    # Satellites the secular model covers (SGP4 elements, error bounded) are screened with it;
    # the others with SGP4 states on the screening grid.
    if propagator is None or isinstance(propagator, SGP4Propagator):
        bound = secular_error_bound_m(elements, int(grid.start),
                                      int(grid.start) + grid.duration_ns)
    else:
        bound = np.full(len(elements), np.inf)
    covered = np.isfinite(bound)
    if covered.any():
        sec = secular_elements(elements)
        theta0, theta_dot = gmst82_rad(grid.start)
        idx = np.flatnonzero(covered).astype(np.int64)
        n1 = -(-n2 // sub)
        t_mid1 = 0.5 * (np.minimum(np.arange(n1) * sub * grid.step_s, grid.duration_s)
                        + np.minimum(np.arange(1, n1 + 1) * sub * grid.step_s, grid.duration_s))
        t_mid2 = 0.5 * (grid.point_s(np.arange(n2)) + grid.point_s(np.arange(1, n2 + 1)))
        th1 = float(theta0) + float(theta_dot) * t_mid1
        th2 = float(theta0) + float(theta_dot) * t_mid2
        r_site = np.linalg.norm(site, axis=1)
        lo_a = np.maximum(lo - 0.2 * DEG, -0.5 * np.pi + 1e-6)  # geodetic vs geocentric up
        args = (idx, int(grid.start), float(theta_dot), sub, grid.step_s, grid.duration_s, n2,
                np.cos(th1), np.sin(th1), np.cos(th2), np.sin(th2),
                np.ascontiguousarray(site / r_site[:, None]), r_site, lo_a, np.cos(lo_a),
                np.ascontiguousarray(np.where(covered, bound, 0.0)), *sec.columns()[:14])
        capacity = max(4096, idx.size * m * 32)
        out = [np.empty(capacity, np.int64) for _ in range(3)]
        count = _secular_screen_kernel(*args, *out)
        if count > capacity:  # rare: rerun with room for all
            out = [np.empty(count, np.int64) for _ in range(3)]
            _secular_screen_kernel(*args, *out)
        if count:
            found.append((out[0][:count].copy(), out[1][:count].copy(), out[2][:count].copy()))
    rest = np.flatnonzero(~covered)
    screened = elements if rest.size == len(elements) else elements.select(rest)
    v_max_all, err_all = v_max, err
    v_max, err = np.ascontiguousarray(v_max_all[rest]), np.ascontiguousarray(err_all[rest])
    n_found_secular = len(found)

    last: tuple[FloatArray, FloatArray] | None = None
    for j0, r, v in iter_grid_states(screened, screen, frame="ITRF",
                                     propagator=propagator) if rest.size else ():
        if last is not None:  # the screening interval across the seam between two chunks
            scan(np.concatenate([last[0], r[:, :1]], axis=1),
                 np.concatenate([last[1], v[:, :1]], axis=1), j0 - 1)
        if r.shape[1] > 1:
            scan(r, v, j0)
        last = (r[:, -1:].copy(), v[:, -1:].copy())
        report((j0 + r.shape[1] - 1) * sub)
    for f_i in range(n_found_secular, len(found)):  # back to indices of the whole set
        found[f_i] = (rest[found[f_i][0]], found[f_i][1], found[f_i][2])
    v_max, err = v_max_all, err_all
    if not found:
        report(total)
        return collector.table(grid)
    sat, node, j2 = (np.concatenate([f[i] for f in found]) for i in range(3))

    # ---- level 2: exact states of the kept satellites, one screening interval at a time ------
    # Blocks of L2_BLOCK_FINE_STEPS fine intervals: every kept satellite of a block is
    # propagated at all the block's grid points, so short blocks waste fewer states.
    span = max(1, min(sub, L2_BLOCK_FINE_STEPS))
    block = j2 // span
    order = np.argsort(block, kind="stable")
    sat, node, j2, block = sat[order], node[order], j2[order], block[order]
    bounds = np.flatnonzero(np.diff(block)) + 1
    starts = np.concatenate([[0], bounds])
    stops = np.concatenate([bounds, [block.size]])
    all_times = grid.times()
    for a, b in zip(starts, stops, strict=True):
        blk = int(block[a])
        sats_b = np.unique(sat[a:b])
        first_j2 = blk * span
        times_b = all_times[first_j2:min(first_j2 + span, n2) + 1]
        eph = propagate(elements.select(sats_b), times_b, frame="ITRF", propagator=propagator)
        local = np.searchsorted(sats_b, sat[a:b])
        q = j2[a:b] - first_j2
        x = np.concatenate([eph.position_m[local, q], eph.velocity_m_s[local, q],
                            eph.position_m[local, q + 1], eph.velocity_m_s[local, q + 1]], axis=1)
        k = np.ascontiguousarray(node[a:b])
        h = grid.point_s(j2[a:b] + 1) - grid.point_s(j2[a:b])
        keep = np.empty(h.size, dtype=bool)
        _fine_keep_kernel(x, h, k, site, up, sin_lo, cos_lo, max_range,
                          np.ascontiguousarray(v_max[sat[a:b]]),
                          np.ascontiguousarray(fine_err[sat[a:b]]), n_sub, keep)
        collector.add(sat[a:b][keep] * m + k[keep], j2[a:b][keep], x[keep, 0:3], x[keep, 3:6],
                      x[keep, 6:9], x[keep, 9:12])
        report(n2 + 1 + min(first_j2 + span, n2) + 1)
    report(total)
    return collector.table(grid)


def _refine(table: IntervalTable, ground: GroundNodes, vis: _Visibility, grid: CoarseGrid,
            m: int) -> tuple[IntArray, FloatArray, FloatArray, FloatArray, FloatArray,
                             npt.NDArray[np.bool_]]:
    """Fine scan and refinement: ``(key, aos_s, tca_s, los_s, max_el_rad, partial)``."""
    if table.n_rows == 0:
        z = np.zeros(0)
        return np.zeros(0, np.int64), z, z, z, z, np.zeros(0, bool)
    site = np.ascontiguousarray(ground.itrf_m)
    enu = np.ascontiguousarray(ground.enu)
    row_node = np.ascontiguousarray(table.key % m)
    t0 = grid.point_s(table.j)
    h = grid.point_s(table.j + 1) - t0
    seg_node = row_node[table.seg_first]
    states = table.states

    def topo(seg: IntArray, t_s: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        t_s = np.ascontiguousarray(t_s, dtype=np.float64)
        el, az, rng = np.empty(t_s.size), np.empty(t_s.size), np.empty(t_s.size)
        _topo_kernel(states, t0, h, table.j, row_node, table.seg_first, table.seg_last,
                     grid.step_s, grid.n_intervals, site, enu, np.ascontiguousarray(seg), t_s,
                     el, az, rng)
        return el, az, rng

    def evaluator(seg: IntArray, lo: FloatArray,
                  hi: FloatArray) -> Callable[[FloatArray], tuple[FloatArray, FloatArray,
                                                                   FloatArray]]:
        """Evaluator of brackets ``[lo, hi]`` of segments ``seg`` (each within ≤ 2 rows)."""
        r_lo = table.row_at(seg, lo)
        r_hi = table.row_at(seg, hi)
        # ``hi`` on a grid point belongs to the interval ending there, not the one starting.
        r_hi = np.where((t0[r_hi] >= hi) & (r_hi > r_lo), r_hi - 1, r_hi)
        if np.any(r_hi - r_lo > 1):
            raise AssertionError("pass refinement bracket spans more than two grid intervals")
        x = np.ascontiguousarray(np.stack([states[r_lo], states[r_hi]], axis=1))
        t0_pair = np.ascontiguousarray(np.stack([t0[r_lo], t0[r_hi]], axis=1))
        h_pair = np.ascontiguousarray(np.stack([h[r_lo], h[r_hi]], axis=1))
        node = np.ascontiguousarray(row_node[r_lo])

        def evaluate(t_s: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
            t_s = np.ascontiguousarray(t_s, dtype=np.float64)
            el, az, rng = np.empty(t_s.size), np.empty(t_s.size), np.empty(t_s.size)
            _topo_pair_kernel(x, t0_pair, h_pair, node, site, enu, t_s, el, az, rng)
            return el, az, rng
        return evaluate

    def f_of(seg: IntArray, lo: FloatArray, hi: FloatArray) -> Callable[[FloatArray], FloatArray]:
        node = seg_node[seg]
        evaluate = evaluator(seg, lo, hi)

        def f(t_s: FloatArray) -> FloatArray:
            return vis.switching(node, *evaluate(t_s))
        return f

    def el_of(seg: IntArray, lo: FloatArray,
              hi: FloatArray) -> Callable[[FloatArray], FloatArray]:
        evaluate = evaluator(seg, lo, hi)
        return lambda t_s: evaluate(t_s)[0]

    # Scan points: the grid points of each kept interval (plus the end of each segment), and
    # for nodes with an azimuth mask K points per interval (≤ FINE_STEP_S apart): without a mask
    # the switching function (elevation margin, or its minimum with the range margin) is
    # unimodal over a pass, so grid points and golden section cannot miss a peak; a mask's
    # corners can make it multimodal, hence the finer scan there.
    k_fine = max(1, math.ceil(grid.step_s / FINE_STEP_S))
    k_row = np.where(vis.structured[row_node], k_fine, 1)
    rows = np.arange(table.n_rows)
    is_last = rows == table.seg_last[table.row_segment]
    per_row = k_row + is_last.astype(np.int64)
    pt_row = np.repeat(rows, per_row)
    first_pt_of_row = np.cumsum(per_row) - per_row
    pt_k = np.arange(pt_row.size) - np.repeat(first_pt_of_row, per_row)
    pt_t = t0[pt_row] + h[pt_row] * (pt_k / k_row[pt_row])
    pt_seg = table.row_segment[pt_row]
    el, az, rng = topo(pt_seg, pt_t)
    f = vis.switching(seg_node[pt_seg], el, az, rng)

    n_pts = pt_t.size
    seg_start = np.ones(n_pts, bool)
    seg_start[1:] = pt_seg[1:] != pt_seg[:-1]
    seg_end = np.ones(n_pts, bool)
    seg_end[:-1] = seg_start[1:]
    above = f >= 0  # NaN → not visible
    prev_above = np.zeros(n_pts, bool)
    prev_above[1:] = above[:-1]
    prev_above &= ~seg_start
    next_above = np.zeros(n_pts, bool)
    next_above[:-1] = above[1:]
    next_above &= ~seg_end
    run_a = np.flatnonzero(above & ~prev_above)
    run_b = np.flatnonzero(above & ~next_above)
    seg_r = pt_seg[run_a]

    # AOS: bisect between the last point below and the first above, unless the run starts a
    # segment (only possible at the window start: then the pass is partial).
    aos = pt_t[run_a].copy()
    bracketed = ~seg_start[run_a]
    i = np.flatnonzero(bracketed)
    lo_i, hi_i = pt_t[run_a[i] - 1], pt_t[run_a[i]]
    aos[i] = bisect_roots(f_of(seg_r[i], lo_i, hi_i), lo_i, hi_i)
    los = pt_t[run_b].copy()
    bracketed_end = ~seg_end[run_b]
    i = np.flatnonzero(bracketed_end)
    lo_i, hi_i = pt_t[run_b[i]], pt_t[run_b[i] + 1]
    los[i] = bisect_roots(f_of(seg_r[i], lo_i, hi_i), lo_i, hi_i)
    partial = (~bracketed & (pt_t[run_a] <= 0.0)) | (~bracketed_end
                                                     & (pt_t[run_b] >= grid.duration_s))

    # TCA of runs: golden section around the highest fine point of each run.
    run_id = np.cumsum(above & ~prev_above) - 1
    in_run = np.flatnonzero(above)
    order = np.lexsort((-el[in_run], run_id[in_run]))
    first = np.ones(order.size, bool)
    first[1:] = run_id[in_run][order][1:] != run_id[in_run][order][:-1]
    top = in_run[order[first]]  # one per run, in run order
    lo_t = np.where(seg_start[top], pt_t[top], pt_t[np.maximum(top - 1, 0)])
    hi_t = np.where(seg_end[top], pt_t[top], pt_t[np.minimum(top + 1, n_pts - 1)])
    lo_t = np.maximum(lo_t, aos)
    hi_t = np.minimum(hi_t, los)

    # Short passes: local maxima of f below zero on the fine points, searched by golden section.
    finite = np.isfinite(f)
    rises = np.ones(n_pts, bool)  # f[p] ≥ f[p-1] (or p starts its segment)
    rises[1:] = f[1:] >= f[:-1]
    rises |= seg_start
    falls = np.ones(n_pts, bool)  # f[p] ≥ f[p+1] (or p ends its segment)
    falls[:-1] = f[:-1] >= f[1:]
    falls |= seg_end
    peak = np.flatnonzero(finite & ~above & rises & falls & ~(seg_start & seg_end))
    short_seg = pt_seg[peak]
    p_lo = np.where(seg_start[peak], pt_t[peak], pt_t[np.maximum(peak - 1, 0)])
    p_hi = np.where(seg_end[peak], pt_t[peak], pt_t[np.minimum(peak + 1, n_pts - 1)])
    t_peak, f_peak = golden_maximum(f_of(short_seg, p_lo, p_hi), p_lo, p_hi)
    hit = np.flatnonzero((f_peak >= 0) & (t_peak > p_lo) & (t_peak < p_hi))
    short_seg, p_lo, p_hi, t_peak = short_seg[hit], p_lo[hit], p_hi[hit], t_peak[hit]
    s_aos = bisect_roots(f_of(short_seg, p_lo, t_peak), p_lo, t_peak)
    s_los = bisect_roots(f_of(short_seg, t_peak, p_hi), t_peak, p_hi)

    seg = np.concatenate([seg_r, short_seg])
    aos = np.concatenate([aos, s_aos])
    los = np.concatenate([los, s_los])
    partial = np.concatenate([partial, np.zeros(short_seg.size, bool)])
    lo_t = np.concatenate([lo_t, s_aos])
    hi_t = np.concatenate([hi_t, s_los])
    tca, max_el = golden_maximum(el_of(seg, lo_t, hi_t), lo_t, hi_t)
    return table.key[table.seg_first[seg]], aos, tca, los, max_el, partial


def _assemble(elements: ElementSet, ground: GroundNodes, grid: CoarseGrid, key: IntArray,
              aos: FloatArray, tca: FloatArray, los: FloatArray, max_el: FloatArray,
              partial: npt.NDArray[np.bool_]) -> Passes:
    m = max(len(ground), 1)
    sat, node = key // m, key % m
    order = np.lexsort((node, sat, aos))
    return Passes(
        sat_index=sat[order].astype(np.int64),
        node_index=node[order].astype(np.int64),
        aos=grid.to_time(aos[order]),
        tca=grid.to_time(tca[order]),
        los=grid.to_time(los[order]),
        max_elevation_deg=np.degrees(max_el[order]),
        partial=partial[order],
        window_start=grid.start,
        window_end=grid.start + grid.duration_ns,
        set_norad_ids=elements.norad_ids.copy(),
        set_names=elements.names.copy(),
        set_node_names=ground.names.copy(),
    )
