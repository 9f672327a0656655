"""Ground–satellite visibility at one instant: which satellites each ground node sees.

The rule is the one :class:`~orbemu.orbits.ground_nodes.GroundNodes` documents. Satellite ``j`` is
visible from node ``i`` when, with ``d = r_sat[j] - r_node[i]`` in ITRF,

- ``|d| <= max_range_m[i]`` (``inf`` means no limit), and
- ``elevation >= min_elevation_deg[i]``, and, where the nodes carry an azimuth mask,
  ``elevation >= mask_deg[i]`` interpolated linearly at the satellite's azimuth.

Elevation is measured from the node's local horizontal plane (the WGS84 geodetic normal, as in
:func:`~orbemu.orbits.frames.topocentric`); azimuth from north through east in ``[0, 2π)``. Both
thresholds apply together: to use only a range limit, set ``min_elevation_deg`` to -90 (the link
may then pass below the horizon; orbemu does what the nodes say). Satellites whose position is NaN
(an SGP4 failure) are never visible.

Two implementations give the same link set:

- ``method="grid"`` (default): satellites are counting-sorted into a uniform 3-D grid of cells in
  ITRF; each node tests only the satellites in the cells that can hold a visible one, found from a
  conservative search radius (the slant range to the highest gridded satellite at the node's
  minimum elevation less the 0.2° that separates the geodetic from the geocentric vertical).
  Satellites far above the rest (MEO/GEO mixed into a LEO set) are kept out of the grid and tested
  against every node, so they never blow up the grid. numba, one core.
- ``method="reference"``: every node against every satellite in numpy, in chunks of nodes. Slow;
  the definition the grid is tested against (identical link sets on real Starlink data).

Both evaluate the same floating-point expressions in the same order, so they agree exactly
except, in principle, for a satellite within one rounding error of a threshold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Literal

import numba
import numpy as np
import numpy.typing as npt

from orbemu.constants import C_M_S, DEG
from orbemu.errors import UsageError
from orbemu.links.kinds import LinkKind
from orbemu.orbits.ground_nodes import MASK_BINS, GroundNodes

__all__ = ["GroundLinks", "ground_links"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int32]

#: Largest angle between the WGS84 geodetic normal and the geocentric radial (at 45° latitude),
#: rounded up: elevations seen from the ellipsoid differ from geocentric ones by at most this.
_VERTICAL_DEFLECTION_RAD = 0.2 * DEG
#: Slack added to search radii so that rounding can never drop a candidate (metres).
_SEARCH_SLACK_M = 1_000.0
#: Satellites above ``_HIGH_FACTOR`` × the 99th-percentile orbit radius are tested brute force.
_HIGH_FACTOR = 1.1
#: At most this many cells along each axis of the grid (memory and cache bound).
_MAX_CELLS_PER_AXIS = 96
#: Default cell edge as a fraction of the median search radius (measured best on Starlink).
_DEFAULT_CELL_FRACTION = 0.5


@dataclass(frozen=True, eq=False)
class GroundLinks:
    """Ground–satellite links at one instant, sorted by ``(node, sat)``.

    Attributes
    ----------
    node: (g,) int32 ground-node index (row of the :class:`GroundNodes`).
    sat: (g,) int32 satellite index (row of the ephemeris / element set).
    length_m: (g,) slant range, metres.
    elevation_rad: (g,) elevation of the satellite seen from the node, radians.
    azimuth_rad: (g,) azimuth from north through east, radians in ``[0, 2π)``.
    capacity_bps: (g,) capacity, bits/s; ``inf`` until a link budget fills it
        (:func:`orbemu.links.budget.ground_link_capacity`).
    n_nodes, n_sats: sizes of the node and satellite sets the indices refer to.
    """

    node: IntArray
    sat: IntArray
    length_m: FloatArray
    elevation_rad: FloatArray
    azimuth_rad: FloatArray
    capacity_bps: FloatArray
    n_nodes: int
    n_sats: int
    kind: ClassVar[LinkKind] = LinkKind.GSL

    def __post_init__(self) -> None:
        g = len(self.node)
        for name in ("sat", "length_m", "elevation_rad", "azimuth_rad", "capacity_bps"):
            if len(getattr(self, name)) != g:
                raise UsageError(f"GroundLinks.{name} has {len(getattr(self, name))} entries "
                                 f"for {g} links")

    def __len__(self) -> int:
        return len(self.node)

    def __repr__(self) -> str:
        return f"GroundLinks(<{len(self)} links, {self.n_nodes} nodes × {self.n_sats} sats>)"

    @property
    def delay_s(self) -> FloatArray:
        """(g,) one-way propagation delay in vacuum, seconds."""
        return self.length_m / C_M_S

    @classmethod
    def empty(cls, n_nodes: int, n_sats: int) -> GroundLinks:
        z = np.zeros(0)
        return cls(np.zeros(0, np.int32), np.zeros(0, np.int32), z, z.copy(), z.copy(), z.copy(),
                   n_nodes, n_sats)

    def select(self, index: Any) -> GroundLinks:
        """A subset by boolean mask or integer indices (keep them sorted to keep the order)."""
        return replace(self, node=self.node[index], sat=self.sat[index],
                       length_m=self.length_m[index], elevation_rad=self.elevation_rad[index],
                       azimuth_rad=self.azimuth_rad[index], capacity_bps=self.capacity_bps[index])

    def with_capacity(self, capacity_bps: npt.ArrayLike) -> GroundLinks:
        """The same links with capacities (scalar or (g,), bits/s)."""
        cap = np.broadcast_to(np.asarray(capacity_bps, np.float64), (len(self),)).copy()
        return replace(self, capacity_bps=cap)

    def links_per_node(self) -> npt.NDArray[np.int64]:
        """(n_nodes,) number of links of each node."""
        return np.bincount(self.node, minlength=self.n_nodes)

    def links_per_sat(self) -> npt.NDArray[np.int64]:
        """(n_sats,) number of links of each satellite."""
        return np.bincount(self.sat, minlength=self.n_sats)

    def node_offsets(self) -> npt.NDArray[np.int64]:
        """(n_nodes + 1,) CSR offsets: node ``i``'s links are ``[off[i], off[i+1])``."""
        off = np.zeros(self.n_nodes + 1, np.int64)
        np.cumsum(self.links_per_node(), out=off[1:])
        return off


# ---- node-side constants ------------------------------------------------------------------------
@dataclass(frozen=True)
class _NodeArrays:
    r: FloatArray        # (m, 3) ITRF position
    east: FloatArray     # (m, 3) unit vectors in ITRF
    north: FloatArray
    up: FloatArray
    sin_min: FloatArray  # (m,) sin(min_elevation)
    min_el_rad: FloatArray
    max_range: FloatArray
    has_mask: bool
    mask: FloatArray     # (m, 360) or (0, 360)


def _node_arrays(nodes: GroundNodes) -> _NodeArrays:
    enu = nodes.enu
    mask = nodes.mask_deg
    return _NodeArrays(
        r=np.ascontiguousarray(nodes.itrf_m),
        east=np.ascontiguousarray(enu[:, 0, :]),
        north=np.ascontiguousarray(enu[:, 1, :]),
        up=np.ascontiguousarray(enu[:, 2, :]),
        sin_min=np.sin(nodes.min_elevation_deg * DEG),
        min_el_rad=nodes.min_elevation_deg * DEG,
        max_range=np.ascontiguousarray(nodes.max_range_m, dtype=np.float64),
        has_mask=mask is not None,
        mask=(np.ascontiguousarray(mask, dtype=np.float64) if mask is not None
              else np.zeros((0, MASK_BINS))),
    )


def _as_positions(r_sat_itrf_m: npt.ArrayLike) -> FloatArray:
    r = np.ascontiguousarray(r_sat_itrf_m, dtype=np.float64)
    if r.ndim != 2 or r.shape[1] != 3:
        raise UsageError(f"satellite positions must be shaped (n_sats, 3) at one instant, got "
                         f"{r.shape}; for an Ephemeris use eph.position_m[:, t, :]")
    return r


# ---- public entry point ---------------------------------------------------------------------
def ground_links(
    nodes: GroundNodes,
    r_sat_itrf_m: npt.ArrayLike,
    *,
    method: Literal["grid", "reference"] = "grid",
    cell_m: float | None = None,
) -> GroundLinks:
    """Every visible (node, satellite) pair at one instant.

    Parameters
    ----------
    nodes: the ground nodes (their thresholds: ``min_elevation_deg``, ``mask_deg``,
        ``max_range_m``).
    r_sat_itrf_m: (n_sats, 3) satellite positions in ITRF, metres, at one instant (NaN rows are
        never visible). For an :class:`~orbemu.orbits.ephemeris.Ephemeris` in ITRF, pass
        ``eph.position_m[:, t, :]``.
    method: ``"grid"`` (numba spatial grid, fast) or ``"reference"`` (numpy all pairs).
    cell_m: grid cell size, metres; default half the median search radius of the nodes.

    Returns :class:`GroundLinks` sorted by ``(node, sat)``, ``capacity_bps`` = ``inf``.
    """
    r = _as_positions(r_sat_itrf_m)
    na = _node_arrays(nodes)
    m, n = len(nodes), r.shape[0]
    if m == 0 or n == 0:
        return GroundLinks.empty(m, n)
    if method == "reference":
        cols = _reference(na, r)
    elif method == "grid":
        cols = _grid(na, r, cell_m)
    else:
        raise UsageError(f"method must be 'grid' or 'reference', got {method!r}")
    node, sat, length, el, az = cols
    return GroundLinks(node=node, sat=sat, length_m=length, elevation_rad=el, azimuth_rad=az,
                       capacity_bps=np.full(len(node), np.inf), n_nodes=m, n_sats=n)


# ---- shared finish: angles and the azimuth mask, in numpy for both methods ------------------
def _finish(na: _NodeArrays, node: npt.NDArray[np.int64], sat: npt.NDArray[np.int64],
            rng: FloatArray, s: FloatArray, ee: FloatArray,
            nn: FloatArray) -> tuple[IntArray, IntArray, FloatArray, FloatArray, FloatArray]:
    """Elevation and azimuth of the candidate links, then the azimuth-mask test.

    Both methods hand over the same candidates (range and minimum-elevation tests passed) with
    the same components, so this one function makes their outputs bit-identical. numpy's
    vectorized ``arcsin``/``arctan2`` are an order of magnitude faster than scalar libm calls.
    """
    el = np.arcsin(np.minimum(s, 1.0))
    az = np.arctan2(ee, nn)
    az = np.where(az < 0.0, az + 2.0 * math.pi, az)
    if na.has_mask and len(node):
        az_deg = az * (180.0 / math.pi)
        fl = np.floor(az_deg)
        lo = fl.astype(np.int64) % MASK_BINS
        w = az_deg - fl
        thr = na.mask[node, lo] * (1.0 - w) + na.mask[node, (lo + 1) % MASK_BINS] * w
        keep = el >= thr * (math.pi / 180.0)
        node, sat, rng, el, az = node[keep], sat[keep], rng[keep], el[keep], az[keep]
    return node.astype(np.int32), sat.astype(np.int32), rng, el, az


# ---- reference: all pairs in numpy ------------------------------------------------------------
def _reference(na: _NodeArrays, r: FloatArray,
               chunk: int = 64) -> tuple[IntArray, IntArray, FloatArray, FloatArray, FloatArray]:
    parts = []
    sx, sy, sz = r[:, 0], r[:, 1], r[:, 2]
    for a in range(0, len(na.r), chunk):
        b = min(a + chunk, len(na.r))
        g = na.r[a:b, :, None]
        dx, dy, dz = sx - g[:, 0], sy - g[:, 1], sz - g[:, 2]
        rng = np.sqrt(dx * dx + dy * dy + dz * dz)
        u = na.up[a:b, :, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            s = (dx * u[:, 0] + dy * u[:, 1] + dz * u[:, 2]) / rng
            ok = (rng <= na.max_range[a:b, None]) & (s >= na.sin_min[a:b, None])
        ii, jj = np.nonzero(ok)
        dx, dy, dz = dx[ii, jj], dy[ii, jj], dz[ii, jj]
        e_, n_ = na.east[a + ii], na.north[a + ii]
        parts.append((a + ii, jj, rng[ii, jj], s[ii, jj],
                      dx * e_[:, 0] + dy * e_[:, 1] + dz * e_[:, 2],
                      dx * n_[:, 0] + dy * n_[:, 1] + dz * n_[:, 2]))
    cols = [np.concatenate([p[k] for p in parts]) for k in range(6)]
    return _finish(na, *cols)


# ---- grid: numba ----------------------------------------------------------------------------
def _search_radius_m(na: _NodeArrays, r_top_m: float) -> FloatArray:
    """Per node, a slant range no visible satellite below radius ``r_top_m`` can exceed."""
    rg = np.sqrt(np.einsum("ij,ij->i", na.r, na.r))
    e = np.maximum(na.min_el_rad - _VERTICAL_DEFLECTION_RAD, -0.5 * math.pi)
    ce, se = np.cos(e), np.sin(e)
    disc = r_top_m * r_top_m - (rg * ce) ** 2
    far = rg + r_top_m  # the whole ball: always enough
    with np.errstate(invalid="ignore"):
        d = np.where((disc >= 0.0) & (rg <= r_top_m), -rg * se + np.sqrt(np.abs(disc)), far)
    d = np.minimum(d + _SEARCH_SLACK_M, far)
    return np.minimum(d, na.max_range)


def _grid(na: _NodeArrays, r: FloatArray,
          cell_m: float | None) -> tuple[IntArray, IntArray, FloatArray, FloatArray, FloatArray]:
    radius = np.sqrt(np.einsum("ij,ij->i", r, r))
    good = np.isfinite(radius)
    if not good.any():
        return _finish(na, *(np.zeros(0, np.int64),) * 2, *(np.zeros(0),) * 4)
    rad_good = radius[good]
    k = min(len(rad_good) - 1, int(0.99 * len(rad_good)))
    r_cut = float(np.partition(rad_good, k)[k]) * _HIGH_FACTOR
    in_grid = good & (radius <= r_cut)
    high = np.flatnonzero(good & (radius > r_cut))
    grid_idx = np.flatnonzero(in_grid)
    pos = r[grid_idx]
    r_top = float(radius[grid_idx].max())
    search = _search_radius_m(na, r_top)
    lo = pos.min(axis=0)
    span = float((pos.max(axis=0) - lo).max())
    if cell_m is None:
        cell_m = _DEFAULT_CELL_FRACTION * float(np.median(search))
    cell_m = max(float(cell_m), span / _MAX_CELLS_PER_AXIS, 1.0)
    cols = _grid_kernel(r, pos, grid_idx, high, lo, cell_m, na.r, na.east, na.north, na.up,
                        na.sin_min, na.max_range, search)
    return _finish(na, *cols)


@numba.njit(cache=True, nogil=True)
def _grow(a, size):  # pragma: no cover - numba
    out = np.empty(size, a.dtype)
    out[: a.size] = a
    return out


@numba.njit(cache=True, nogil=True)
def _grid_kernel(r, pos, grid_idx, high, origin, cell, node_r, node_e, node_n, node_u, sin_min,
                 max_range, search):  # pragma: no cover - numba
    """Candidates passing the range and minimum-elevation tests, sorted by (node, sat).

    ``pos`` (q, 3) are the gridded satellites ``r[grid_idx]``; ``high`` the ones tested against
    every node. Returns ``node, sat, range, sin(elevation), east, north`` components.
    """
    # Counting sort of the gridded satellites into cells; cell-ordered copies of their
    # coordinates keep the inner loop on contiguous memory.
    nq = grid_idx.size
    nx = int((pos[:, 0].max() - origin[0]) / cell) + 1
    ny = int((pos[:, 1].max() - origin[1]) / cell) + 1
    nz = int((pos[:, 2].max() - origin[2]) / cell) + 1
    start = np.zeros(nx * ny * nz + 1, np.int64)
    cell_of = np.empty(nq, np.int64)
    for q in range(nq):
        cx = min(int((pos[q, 0] - origin[0]) / cell), nx - 1)
        cy = min(int((pos[q, 1] - origin[1]) / cell), ny - 1)
        cz = min(int((pos[q, 2] - origin[2]) / cell), nz - 1)
        c = (cx * ny + cy) * nz + cz
        cell_of[q] = c
        start[c + 1] += 1
    for c in range(nx * ny * nz):
        start[c + 1] += start[c]
    fill = start[:-1].copy()
    cs_idx = np.empty(nq, np.int64)
    cs_x = np.empty(nq)
    cs_y = np.empty(nq)
    cs_z = np.empty(nq)
    for q in range(nq):
        c = cell_of[q]
        k = fill[c]
        cs_idx[k] = grid_idx[q]
        cs_x[k] = pos[q, 0]
        cs_y[k] = pos[q, 1]
        cs_z[k] = pos[q, 2]
        fill[c] = k + 1

    m = node_r.shape[0]
    cap = 16 * m + 1024
    o_node = np.empty(cap, np.int64)
    o_sat = np.empty(cap, np.int64)
    o_rng = np.empty(cap)
    o_s = np.empty(cap)
    o_e = np.empty(cap)
    o_n = np.empty(cap)
    g = 0
    hits = np.empty(r.shape[0], np.int64)
    for i in range(m):
        gx, gy, gz = node_r[i, 0], node_r[i, 1], node_r[i, 2]
        ux, uy, uz = node_u[i, 0], node_u[i, 1], node_u[i, 2]
        smin, rmax, d = sin_min[i], max_range[i], search[i]
        d2 = d * d
        h = 0
        x0 = max(math.floor((gx - d - origin[0]) / cell), 0)
        x1 = min(math.floor((gx + d - origin[0]) / cell), nx - 1)
        y0 = max(math.floor((gy - d - origin[1]) / cell), 0)
        y1 = min(math.floor((gy + d - origin[1]) / cell), ny - 1)
        z0 = max(math.floor((gz - d - origin[2]) / cell), 0)
        z1 = min(math.floor((gz + d - origin[2]) / cell), nz - 1)
        for cx in range(x0, x1 + 1):
            # distance from the node to the cell box, axis by axis (ball-box culling)
            bx = origin[0] + cx * cell
            ddx = max(bx - gx, 0.0, gx - bx - cell)
            for cy in range(y0, y1 + 1):
                by = origin[1] + cy * cell
                ddy = max(by - gy, 0.0, gy - by - cell)
                dxy = ddx * ddx + ddy * ddy
                if dxy > d2:
                    continue
                base = (cx * ny + cy) * nz
                for cz in range(z0, z1 + 1):
                    bz = origin[2] + cz * cell
                    ddz = max(bz - gz, 0.0, gz - bz - cell)
                    if dxy + ddz * ddz > d2:
                        continue
                    c = base + cz
                    for q in range(start[c], start[c + 1]):
                        dx, dy, dz = cs_x[q] - gx, cs_y[q] - gy, cs_z[q] - gz
                        rng = math.sqrt(dx * dx + dy * dy + dz * dz)
                        if rng <= rmax and (dx * ux + dy * uy + dz * uz) / rng >= smin:
                            hits[h] = cs_idx[q]
                            h += 1
        for q in range(high.size):
            j = high[q]
            dx, dy, dz = r[j, 0] - gx, r[j, 1] - gy, r[j, 2] - gz
            rng = math.sqrt(dx * dx + dy * dy + dz * dz)
            if rng <= rmax and (dx * ux + dy * uy + dz * uz) / rng >= smin:
                hits[h] = j
                h += 1
        if h == 0:
            continue
        # insertion sort of this node's hits by satellite index (tens of entries)
        for a in range(1, h):
            v = hits[a]
            b = a - 1
            while b >= 0 and hits[b] > v:
                hits[b + 1] = hits[b]
                b -= 1
            hits[b + 1] = v
        if g + h > cap:
            cap = max(2 * cap, g + h)
            o_node = _grow(o_node, cap)
            o_sat = _grow(o_sat, cap)
            o_rng = _grow(o_rng, cap)
            o_s = _grow(o_s, cap)
            o_e = _grow(o_e, cap)
            o_n = _grow(o_n, cap)
        ex, ey, ez = node_e[i, 0], node_e[i, 1], node_e[i, 2]
        nxx, nxy, nxz = node_n[i, 0], node_n[i, 1], node_n[i, 2]
        for q in range(h):
            j = hits[q]
            dx, dy, dz = r[j, 0] - gx, r[j, 1] - gy, r[j, 2] - gz
            rng = math.sqrt(dx * dx + dy * dy + dz * dz)
            o_node[g] = i
            o_sat[g] = j
            o_rng[g] = rng
            o_s[g] = (dx * ux + dy * uy + dz * uz) / rng
            o_e[g] = dx * ex + dy * ey + dz * ez
            o_n[g] = dx * nxx + dy * nxy + dz * nxz
            g += 1
    return o_node[:g], o_sat[:g], o_rng[:g], o_s[:g], o_e[:g], o_n[:g]
