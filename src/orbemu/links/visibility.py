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

Both decide with the same test written on squared quantities (``|d|² <= max_range²``,
``up >= 0 and up² >= sin²(min_elevation)·|d|²``; no square root or division) and compute the
geometry of the kept pairs with one shared pass, so their outputs are identical bit for bit.
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
#: Satellites above ``_HIGH_FACTOR`` × min(99th-percentile radius, 1.5 × median radius) are
#: tested against every node instead of being gridded (GEO/MEO mixed into a LEO set).
_HIGH_FACTOR = 1.1
#: At most this many cells along each axis of the grid (memory and cache bound).
_MAX_CELLS_PER_AXIS = 64
#: Default cell edge as a fraction of the median search radius (measured best on Starlink).
_DEFAULT_CELL_FRACTION = 1.25


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
    cell_m: grid cell size, metres; default 1.25 × the median search radius of the nodes.

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
def _finish(na: _NodeArrays, r: FloatArray, node: IntArray,
            sat: IntArray) -> tuple[IntArray, IntArray, FloatArray, FloatArray, FloatArray]:
    """Geometry of the links that passed the range and minimum-elevation tests, then the
    azimuth-mask test.

    Both methods hand over the same (node, sat) pairs, and this one function computes their
    range, elevation and azimuth, so their outputs are bit-identical. numpy's vectorized
    ``arcsin``/``arctan2`` are an order of magnitude faster than scalar libm calls; they work in
    place because every fresh large array costs page faults.
    """
    rng, el, az, nn = _components(r, node, sat, na.r, na.east, na.north, na.up)
    np.minimum(el, 1.0, out=el)
    np.arcsin(el, out=el)
    np.arctan2(az, nn, out=az)
    np.add(az, 2.0 * math.pi, out=az, where=az < 0.0)
    if na.has_mask and len(node):
        az_deg = az * (180.0 / math.pi)
        fl = np.floor(az_deg)
        lo = fl.astype(np.int64) % MASK_BINS
        w = az_deg - fl
        thr = na.mask[node, lo] * (1.0 - w) + na.mask[node, (lo + 1) % MASK_BINS] * w
        keep = el >= thr * (math.pi / 180.0)
        node, sat, rng, el, az = node[keep], sat[keep], rng[keep], el[keep], az[keep]
    return node, sat, rng, el, az


# ---- reference: all pairs in numpy ------------------------------------------------------------
def _passes_np(rr: FloatArray, up: FloatArray, rmax2: FloatArray, smin: FloatArray,
               smin2: FloatArray) -> npt.NDArray[np.bool_]:
    """The visibility test on squared quantities: ``|d|² <= max_range²`` and
    ``up/|d| >= sin(min_elevation)``, i.e. ``up >= 0 and up² >= sin²·|d|²`` for a non-negative
    minimum elevation, ``up >= 0 or up² <= sin²·|d|²`` for a negative one. NaN fails."""
    with np.errstate(invalid="ignore"):
        ok = np.where(smin >= 0.0, (up >= 0.0) & (up * up >= smin2 * rr),
                      (up >= 0.0) | (up * up <= smin2 * rr))
        return (rr <= rmax2) & ok


def _reference(na: _NodeArrays, r: FloatArray,
               chunk: int = 64) -> tuple[IntArray, IntArray, FloatArray, FloatArray, FloatArray]:
    parts = []
    sx, sy, sz = r[:, 0], r[:, 1], r[:, 2]
    for a in range(0, len(na.r), chunk):
        b = min(a + chunk, len(na.r))
        g = na.r[a:b, :, None]
        dx, dy, dz = sx - g[:, 0], sy - g[:, 1], sz - g[:, 2]
        rr = dx * dx + dy * dy + dz * dz
        u = na.up[a:b, :, None]
        up = dx * u[:, 0] + dy * u[:, 1] + dz * u[:, 2]
        smin = na.sin_min[a:b, None]
        ok = _passes_np(rr, up, na.max_range[a:b, None] ** 2, smin, smin * smin)
        ii, jj = np.nonzero(ok)
        parts.append(((a + ii).astype(np.int32), jj.astype(np.int32)))
    node = np.concatenate([p[0] for p in parts])
    sat = np.concatenate([p[1] for p in parts])
    return _finish(na, r, node, sat)


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
        return _finish(na, r, np.zeros(0, np.int32), np.zeros(0, np.int32))
    rad_good = radius[good] if not good.all() else radius
    k_med, k_99 = len(rad_good) // 2, min(len(rad_good) - 1, int(0.99 * len(rad_good)))
    part = np.partition(rad_good, [k_med, k_99])
    r_cut = _HIGH_FACTOR * min(float(part[k_99]), 1.5 * float(part[k_med]))
    in_grid = good & (radius <= r_cut)
    if in_grid.all():  # the usual case: no failed or far satellites, no copies
        grid_idx, high, pos = np.arange(len(r)), np.zeros(0, np.int64), r
    else:
        grid_idx = np.flatnonzero(in_grid)
        high = np.flatnonzero(good & (radius > r_cut))
        pos = r[grid_idx]
    search = _search_radius_m(na, float(radius[in_grid].max()))
    cell = _DEFAULT_CELL_FRACTION * float(np.median(search)) if cell_m is None else cell_m
    node, sat = _grid_kernel(r, pos, grid_idx, high, float(cell), na.r, na.up, na.sin_min,
                             na.max_range, search)
    return _finish(na, r, node, sat)


@numba.njit(cache=True, nogil=True, inline="always")
def _passes(rr, up, rmax2, smin, smin2):  # pragma: no cover - numba
    """The visibility test without square root or division (see :func:`_passes_np`)."""
    if smin >= 0.0:
        ok = (up >= 0.0) & (up * up >= smin2 * rr)
    else:
        ok = (up >= 0.0) | (up * up <= smin2 * rr)
    return (rr <= rmax2) & ok


@numba.njit(cache=True, nogil=True)
def _grow(a, size):  # pragma: no cover - numba
    out = np.empty(size, a.dtype)
    out[: a.size] = a
    return out


@numba.njit(cache=True, nogil=True)
def _grid_kernel(r, pos, grid_idx, high, cell, node_r, node_u, sin_min, max_range,
                 search):  # pragma: no cover - numba
    """The (node, sat) pairs passing the range and minimum-elevation tests, sorted.

    ``pos`` (q, 3) are the gridded satellites ``r[grid_idx]``; ``high`` the ones tested against
    every node. ``cell`` is the requested cell edge (metres), enlarged if the grid would exceed
    ``_MAX_CELLS_PER_AXIS`` cells per axis. Returns int32 ``node, sat``.
    """
    nq = grid_idx.size
    origin = np.empty(3)
    top = np.empty(3)
    for a in range(3):
        origin[a] = pos[0, a]
        top[a] = pos[0, a]
    for q in range(1, nq):
        for a in range(3):
            v = pos[q, a]
            origin[a] = min(origin[a], v)
            top[a] = max(top[a], v)
    span = max(top[0] - origin[0], top[1] - origin[1], top[2] - origin[2])
    cell = max(cell, span / _MAX_CELLS_PER_AXIS, 1.0)
    # Counting sort of the gridded satellites into cells; cell-ordered copies of their
    # coordinates keep the inner loop on contiguous memory.
    nx = int((top[0] - origin[0]) / cell) + 1
    ny = int((top[1] - origin[1]) / cell) + 1
    nz = int((top[2] - origin[2]) / cell) + 1
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
    o_node = np.empty(cap, np.int32)
    o_sat = np.empty(cap, np.int32)
    g = 0
    hits = np.empty(r.shape[0], np.int64)
    for i in range(m):
        gx, gy, gz = node_r[i, 0], node_r[i, 1], node_r[i, 2]
        ux, uy, uz = node_u[i, 0], node_u[i, 1], node_u[i, 2]
        smin, rmax, d = sin_min[i], max_range[i], search[i]
        smin2, rmax2 = smin * smin, rmax * rmax
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
                        rr = dx * dx + dy * dy + dz * dz
                        up = dx * ux + dy * uy + dz * uz
                        # branch-free append: write, then advance only if visible
                        hits[h] = cs_idx[q]
                        h += _passes(rr, up, rmax2, smin, smin2)
        for q in range(high.size):
            j = high[q]
            dx, dy, dz = r[j, 0] - gx, r[j, 1] - gy, r[j, 2] - gz
            hits[h] = j
            h += _passes(dx * dx + dy * dy + dz * dz, dx * ux + dy * uy + dz * uz, rmax2, smin,
                         smin2)
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
        for q in range(h):
            o_node[g] = i
            o_sat[g] = hits[q]
            g += 1
    return o_node[:g], o_sat[:g]


@numba.njit(cache=True, nogil=True)
def _components(r, node, sat, node_r, node_e, node_n, node_u):  # pragma: no cover - numba
    """Range, sin(elevation) and east/north components of the given (node, sat) links."""
    k = node.size
    rng, s, ee, nn = np.empty(k), np.empty(k), np.empty(k), np.empty(k)
    for q in range(k):
        i, j = node[q], sat[q]
        dx, dy, dz = r[j, 0] - node_r[i, 0], r[j, 1] - node_r[i, 1], r[j, 2] - node_r[i, 2]
        d = math.sqrt(dx * dx + dy * dy + dz * dz)
        rng[q] = d
        s[q] = (dx * node_u[i, 0] + dy * node_u[i, 1] + dz * node_u[i, 2]) / d
        ee[q] = dx * node_e[i, 0] + dy * node_e[i, 1] + dz * node_e[i, 2]
        nn[q] = dx * node_n[i, 0] + dy * node_n[i, 1] + dz * node_n[i, 2]
    return rng, s, ee, nn

