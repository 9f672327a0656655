"""Latency analysis between ground endpoints over a window: time series and per-pair summaries.

:func:`latency_series` runs a :class:`~orbemu.network.simulation.NetworkSimulation` over a
window and records, for every instant and every requested ``(src, dst)`` pair of ground nodes,
the route's round-trip and one-way propagation time, hop count, bottleneck capacity, whether it
exists, and its node sequence — as columnar arrays (:class:`LatencySeries`, one row per instant
and pair, ``row = step · n_pairs + pair``). Each row also says whether the path differs from the
pair's path at the previous instant (``path_changed``) and whether the first or last satellite
changed (``src_handover`` / ``dst_handover``: a handover at either end while the pair stays
connected).

:func:`summarize` turns a series into one :class:`LatencySummary` row per pair: availability,
RTT percentiles, path changes, handovers, and the comparison with terrestrial fiber along the
great circle at 2/3 c (the WGS84 geodesic by Lambert's formula, within ~10 m of the exact
geodesic for the distances concerned) and with the straight line through the Earth at c (no
route can beat it).

Per step the routes come from one search per distinct source restricted to the requested
destinations (:func:`~orbemu.network.routing.shortest_paths` with ``targets=``) and the paths of
all pairs are read in one vectorized call; the comparison with the previous step is a numba pass
over the flat node arrays. Path text (``Paris>1234>…>Luanda``) is built only on output
(:meth:`LatencySeries.path_labels`).

Pure: no file I/O, no printing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numba
import numpy as np
import numpy.typing as npt

from orbemu.constants import C_M_S, DEG, WGS84_A_M, WGS84_F
from orbemu.errors import UsageError
from orbemu.network.routing import PathSet
from orbemu.orbits.ground_nodes import GroundNodes
from orbemu.time import Time

__all__ = [
    "FIBER_SPEED_M_S",
    "LatencySeries",
    "LatencySummary",
    "SeriesBuilder",
    "geodesic_distance_m",
    "latency_series",
    "summarize",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Speed of light in optical fiber used for the terrestrial comparison (refractive index 1.5).
FIBER_SPEED_M_S = C_M_S * 2.0 / 3.0

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True, eq=False)
class LatencySeries:
    """Routes of ``n_pairs`` ground-node pairs at ``n_steps`` instants, one row per (instant,
    pair): ``row = step · n_pairs + pair``.

    Attributes
    ----------
    times: (n_steps,) the instants.
    src, dst: (n_pairs,) ground-node indices of each pair.
    n_sats: satellites in the network (node ``n_sats + g`` is ground node ``g``).
    rtt_ms: (n_rows,) round-trip propagation time over the route and back, ms; NaN when
        unreachable.
    one_way_ms: (n_rows,) one-way propagation delay, ms; NaN when unreachable.
    hops: (n_rows,) links on the route; -1 when unreachable.
    bottleneck_bps: (n_rows,) smallest link capacity on the route, bit/s; 0 when unreachable.
    reachable: (n_rows,) bool.
    path_ptr, path_nodes: row ``i``'s node sequence (src first, satellites as satellite
        indices, ground nodes as ``n_sats + g``) is ``path_nodes[path_ptr[i]:path_ptr[i+1]]``;
        empty when unreachable. Both empty (``path_ptr`` all 0) after :meth:`without_paths`.
    path_changed: (n_rows,) the node sequence differs from the pair's at the previous instant
        (reachability changes count); False on the first instant unless the series continued a
        previous one.
    src_handover, dst_handover: (n_rows,) reachable now and before, and the first (last)
        satellite differs.
    """

    times: Time
    src: IntArray
    dst: IntArray
    n_sats: int
    rtt_ms: FloatArray
    one_way_ms: FloatArray
    hops: IntArray
    bottleneck_bps: FloatArray
    reachable: BoolArray
    path_ptr: IntArray
    path_nodes: npt.NDArray[np.int32]
    path_changed: BoolArray
    src_handover: BoolArray
    dst_handover: BoolArray

    @property
    def n_steps(self) -> int:
        return int(self.times.size)

    @property
    def n_pairs(self) -> int:
        return int(self.src.size)

    def __len__(self) -> int:
        return self.n_steps * self.n_pairs

    def __repr__(self) -> str:
        return (f"LatencySeries(<{self.n_steps} instants × {self.n_pairs} pairs, "
                f"{int(self.reachable.sum())} reachable rows>)")

    @property
    def has_paths(self) -> bool:
        return bool(self.path_ptr.size == len(self) + 1)

    def row_time_ns(self) -> IntArray:
        """(n_rows,) the instant of each row, int ns."""
        return np.repeat(self.times.ns, self.n_pairs)

    def row_src(self) -> IntArray:
        return np.tile(self.src, self.n_steps)

    def row_dst(self) -> IntArray:
        return np.tile(self.dst, self.n_steps)

    def path(self, row: int) -> npt.NDArray[np.int32]:
        """Node sequence of ``row`` (see the class notes)."""
        if not self.has_paths:
            raise UsageError("this series was stripped of its paths (without_paths)")
        return self.path_nodes[self.path_ptr[row]:self.path_ptr[row + 1]]

    def path_labels(self, ground_names: Sequence[str] | npt.NDArray[Any],
                    rows: slice | None = None) -> list[str]:
        """``src>sat>…>dst`` per row (ground nodes by name, satellites by index); ``""`` when
        unreachable. Built here, at output time only."""
        if not self.has_paths:
            raise UsageError("this series was stripped of its paths (without_paths)")
        sl = rows if rows is not None else slice(0, len(self))
        lo, hi, _ = sl.indices(len(self))
        names = np.asarray(ground_names, dtype=object)
        a, b = int(self.path_ptr[lo]), int(self.path_ptr[hi])
        nodes = self.path_nodes[a:b].astype(np.int64)
        text = np.empty(nodes.size, dtype=object)
        is_sat = nodes < self.n_sats
        text[is_sat] = nodes[is_sat].astype(str)
        text[~is_sat] = names[nodes[~is_sat] - self.n_sats]
        ptr = self.path_ptr[lo:hi + 1] - a
        items = text.tolist()
        return [">".join(items[ptr[i]:ptr[i + 1]]) for i in range(hi - lo)]

    def without_paths(self) -> LatencySeries:
        """The same series without node sequences (what a summary needs; much smaller)."""
        return replace(self, path_ptr=np.zeros(0, np.int64),
                       path_nodes=np.zeros(0, np.int32))

    def columns(self) -> dict[str, Any]:
        """Flat columns, one entry per row: ``time_ns, src, dst, rtt_ms, one_way_ms, hops,
        bottleneck_bps, reachable, path_changed``."""
        return {"time_ns": self.row_time_ns(), "src": self.row_src(), "dst": self.row_dst(),
                "rtt_ms": self.rtt_ms, "one_way_ms": self.one_way_ms, "hops": self.hops,
                "bottleneck_bps": self.bottleneck_bps, "reachable": self.reachable,
                "path_changed": self.path_changed}

    @classmethod
    def concat(cls, parts: Sequence[LatencySeries]) -> LatencySeries:
        """Successive windows of the same pairs, in time order."""
        if not parts:
            raise UsageError("LatencySeries.concat needs at least one series")
        first = parts[0]
        for p in parts[1:]:
            if not (np.array_equal(p.src, first.src) and np.array_equal(p.dst, first.dst)
                    and p.n_sats == first.n_sats):
                raise UsageError("only series of the same pairs and network concatenate")
        with_paths = all(p.has_paths for p in parts)
        if with_paths:
            offsets = np.cumsum([0] + [int(p.path_ptr[-1]) for p in parts[:-1]])
            ptr = np.concatenate([parts[0].path_ptr[:1]] + [
                p.path_ptr[1:] + off for p, off in zip(parts, offsets, strict=True)])
            nodes = np.concatenate([p.path_nodes for p in parts])
        else:
            ptr, nodes = np.zeros(0, np.int64), np.zeros(0, np.int32)

        def cat(name: str) -> Any:
            return np.concatenate([getattr(p, name) for p in parts])

        return cls(Time(np.concatenate([p.times.ns for p in parts])), first.src, first.dst,
                   first.n_sats, cat("rtt_ms"), cat("one_way_ms"), cat("hops"),
                   cat("bottleneck_bps"), cat("reachable"), ptr, nodes, cat("path_changed"),
                   cat("src_handover"), cat("dst_handover"))


@numba.njit(cache=True, nogil=True)
def _compare(ptr_a: Any, nodes_a: Any, ptr_b: Any, nodes_b: Any, changed: Any, src_ho: Any,
             dst_ho: Any) -> None:  # pragma: no cover - numba
    """Per pair: path ``b`` differs from ``a``; first/last satellite differ (both reachable)."""
    for i in range(changed.shape[0]):
        a0, a1 = ptr_a[i], ptr_a[i + 1]
        b0, b1 = ptr_b[i], ptr_b[i + 1]
        la, lb = a1 - a0, b1 - b0
        diff = la != lb
        if not diff:
            for k in range(la):
                if nodes_a[a0 + k] != nodes_b[b0 + k]:
                    diff = True
                    break
        changed[i] = diff
        if la >= 3 and lb >= 3:
            src_ho[i] = nodes_a[a0 + 1] != nodes_b[b0 + 1]
            dst_ho[i] = nodes_a[a1 - 2] != nodes_b[b1 - 2]
        else:
            src_ho[i] = False
            dst_ho[i] = False


def _compare_paths(prev: PathSet | None, cur: PathSet) -> tuple[BoolArray, BoolArray, BoolArray]:
    n = len(cur)
    changed = np.zeros(n, dtype=np.bool_)
    src_ho = np.zeros(n, dtype=np.bool_)
    dst_ho = np.zeros(n, dtype=np.bool_)
    if prev is not None:
        _compare(prev.node_ptr, prev.nodes, cur.node_ptr, cur.nodes, changed, src_ho, dst_ho)
    return changed, src_ho, dst_ho


def _check_pairs(pairs: npt.ArrayLike, n_ground: int) -> IntArray:
    p = np.asarray(pairs)
    if p.ndim != 2 or p.shape[1] != 2 or (p.size and p.dtype.kind not in "iu"):
        raise UsageError(f"pairs must be an integer array (n_pairs, 2) of ground-node indices, "
                         f"got {p.dtype} {p.shape}")
    p = p.astype(np.int64)
    if p.size and (p.min() < 0 or p.max() >= n_ground):
        raise UsageError(f"pairs hold ground-node indices outside 0..{n_ground - 1}")
    if np.any(p[:, 0] == p[:, 1]):
        raise UsageError("a pair joins a ground node to itself")
    return p


def latency_series(
    simulation: Any,
    times: Time,
    pairs: npt.ArrayLike,
    *,
    warmup: int = 0,
    nominal_step_ns: int | None = None,
    progress: ProgressCallback | None = None,
) -> LatencySeries:
    """Run ``simulation`` (a :class:`~orbemu.network.simulation.NetworkSimulation`) over
    ``times`` and record the routes of ``pairs`` ((n_pairs, 2) ground-node indices, src → dst).

    ``warmup``: the first ``warmup`` instants are computed only to seed the comparison with the
    previous instant (a chunk of a longer window starts one instant early so path changes and
    handovers at its first instant are counted as in one long run); they are not recorded.
    ``nominal_step_ns``: the spacing of the whole window when ``times`` is a chunk of it.
    ``progress(done, total)`` is called after each recorded instant.
    """
    times = times[np.newaxis] if times.ndim == 0 else times
    p = _check_pairs(pairs, simulation.n_ground)
    if not 0 <= warmup <= times.size:
        raise UsageError(f"warmup must be within 0..{times.size}, got {warmup}")
    n_sats = simulation.n_sats
    src_nodes, dst_nodes = p[:, 0] + n_sats, p[:, 1] + n_sats
    total = times.size - warmup
    builder = SeriesBuilder(p, n_sats)
    for step in simulation.steps(times, np.unique(p[:, 0]), targets=np.unique(p[:, 1]),
                                 nominal_step_ns=nominal_step_ns):
        builder.add(step.routes.paths(src_nodes, dst_nodes), record=step.index >= warmup)
        if progress is not None and step.index >= warmup:
            progress(step.index - warmup + 1, total)
    return builder.finish(times[warmup:])


class SeriesBuilder:
    """Collects one :class:`~orbemu.network.routing.PathSet` per instant (the pairs' routes, in
    pair order) into a :class:`LatencySeries`, comparing each with the previous one.

    ``add(paths, record=False)`` only remembers the paths as "previous" (a warm-up instant).
    """

    def __init__(self, pairs: npt.ArrayLike, n_sats: int) -> None:
        self.pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        self.n_sats = int(n_sats)
        self._prev: PathSet | None = None
        self._parts: list[tuple[Any, ...]] = []

    def add(self, paths: PathSet, *, record: bool = True) -> None:
        if len(paths) != len(self.pairs):
            raise UsageError(f"{len(paths)} paths for {len(self.pairs)} pairs")
        changed, src_ho, dst_ho = _compare_paths(self._prev, paths)
        self._prev = paths
        if not record:
            return
        one_way = np.where(paths.reachable, paths.delay_s * 1e3, np.nan)
        self._parts.append((one_way, paths.hops, paths.bottleneck_bps, paths.reachable,
                            paths.node_ptr, paths.nodes, changed, src_ho, dst_ho))

    def finish(self, times: Time) -> LatencySeries:
        """The series of the recorded instants ``times`` (one per recorded ``add``)."""
        parts = self._parts
        if times.size != len(parts):
            raise UsageError(f"{times.size} instants for {len(parts)} recorded steps")
        p = self.pairs
        if not parts:
            z = np.zeros(0)
            f = np.zeros(0, bool)
            return LatencySeries(times, p[:, 0], p[:, 1], self.n_sats, z, z.copy(),
                                 np.zeros(0, np.int64), z.copy(), f, np.zeros(1, np.int64),
                                 np.zeros(0, np.int32), f.copy(), f.copy(), f.copy())
        one_way = np.concatenate([q[0] for q in parts])
        sizes = np.array([int(q[4][-1]) for q in parts], np.int64)
        offsets = np.concatenate(([0], np.cumsum(sizes)[:-1]))
        ptr = np.concatenate([np.zeros(1, np.int64)] + [
            q[4][1:] + off for q, off in zip(parts, offsets, strict=True)])
        return LatencySeries(
            times, p[:, 0], p[:, 1], self.n_sats,
            rtt_ms=2.0 * one_way, one_way_ms=one_way,
            hops=np.concatenate([q[1] for q in parts]).astype(np.int64),
            bottleneck_bps=np.concatenate([q[2] for q in parts]),
            reachable=np.concatenate([q[3] for q in parts]),
            path_ptr=ptr, path_nodes=np.concatenate([q[5] for q in parts]).astype(np.int32),
            path_changed=np.concatenate([q[6] for q in parts]),
            src_handover=np.concatenate([q[7] for q in parts]),
            dst_handover=np.concatenate([q[8] for q in parts]),
        )


# ---- summaries ---------------------------------------------------------------------------------


def geodesic_distance_m(lat1_deg: npt.ArrayLike, lon1_deg: npt.ArrayLike,
                        lat2_deg: npt.ArrayLike, lon2_deg: npt.ArrayLike) -> FloatArray:
    """Distance along the WGS84 ellipsoid between points (degrees), metres.

    Lambert's formula for long lines (reduced latitudes, the spherical central angle and a
    first-order flattening correction): exact along the equator, within a few metres along
    meridians and about 10 m of the exact geodesic over intercontinental distances — far below
    what matters for a fiber-delay comparison. Nearly antipodal points (within ~0.1° of it)
    fall back to the spherical distance on the equatorial radius.
    """
    f = WGS84_F
    p1, p2 = np.asarray(lat1_deg, np.float64) * DEG, np.asarray(lat2_deg, np.float64) * DEG
    dl = (np.asarray(lon2_deg, np.float64) - np.asarray(lon1_deg, np.float64)) * DEG
    b1 = np.arctan((1.0 - f) * np.tan(p1))
    b2 = np.arctan((1.0 - f) * np.tan(p2))
    # central angle between the reduced points, robust at all separations (Vincenty's form)
    sb1, cb1, sb2, cb2 = np.sin(b1), np.cos(b1), np.sin(b2), np.cos(b2)
    num = np.hypot(cb2 * np.sin(dl), cb1 * sb2 - sb1 * cb2 * np.cos(dl))
    den = sb1 * sb2 + cb1 * cb2 * np.cos(dl)
    sigma = np.arctan2(num, den)
    pp = 0.5 * (b1 + b2)
    qq = 0.5 * (b2 - b1)
    s_half2 = np.sin(0.5 * sigma) ** 2
    c_half2 = np.cos(0.5 * sigma) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        x = (sigma - np.sin(sigma)) * np.sin(pp) ** 2 * np.cos(qq) ** 2 / c_half2
        y = (sigma + np.sin(sigma)) * np.cos(pp) ** 2 * np.sin(qq) ** 2 / s_half2
        d = WGS84_A_M * (sigma - 0.5 * f * (x + y))
    d = np.where(sigma < 1e-9, WGS84_A_M * sigma, d)
    d = np.where(np.pi - sigma < 2e-3, WGS84_A_M * sigma, d)
    return np.asarray(d, dtype=np.float64)


@dataclass(frozen=True, eq=False)
class LatencySummary:
    """One entry per pair of a :class:`LatencySeries` (arrays of length n_pairs).

    ``availability``: fraction of instants with a route. RTT statistics over the reachable
    instants, ms (NaN when never reachable): ``rtt_min_ms``, ``rtt_p50_ms``, ``rtt_p95_ms``,
    ``rtt_p99_ms``, ``rtt_max_ms``, ``rtt_mean_ms``. ``path_changes``: instants at which the
    node sequence changed (reachability changes included). ``handovers``: first- plus
    last-satellite changes while connected. ``great_circle_km``: WGS84 geodesic between the
    endpoints; ``fiber_rtt_ms``: its round trip at 2/3 c; ``vacuum_rtt_ms``: the straight line
    through the Earth and back at c (a lower bound no route beats); ``stretch``: median RTT /
    fiber RTT.
    """

    src: IntArray
    dst: IntArray
    n_steps: int
    availability: FloatArray
    rtt_min_ms: FloatArray
    rtt_p50_ms: FloatArray
    rtt_p95_ms: FloatArray
    rtt_p99_ms: FloatArray
    rtt_max_ms: FloatArray
    rtt_mean_ms: FloatArray
    hops_p50: FloatArray
    path_changes: IntArray
    handovers: IntArray
    great_circle_km: FloatArray
    fiber_rtt_ms: FloatArray
    vacuum_rtt_ms: FloatArray

    @property
    def stretch(self) -> FloatArray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.rtt_p50_ms / self.fiber_rtt_ms

    def __len__(self) -> int:
        return int(self.src.size)


def summarize(series: LatencySeries, ground: GroundNodes) -> LatencySummary:
    """Per-pair statistics of ``series`` (``ground``: the nodes its indices refer to)."""
    n_steps, n_pairs = series.n_steps, series.n_pairs
    rtt = series.rtt_ms.reshape(n_steps, n_pairs)
    reach = series.reachable.reshape(n_steps, n_pairs)
    hops = np.where(reach, series.hops.reshape(n_steps, n_pairs), np.nan)
    any_reach = reach.any(axis=0)

    def stat(fn: Callable[..., FloatArray], data: FloatArray, *args: Any) -> FloatArray:
        out = np.full(n_pairs, np.nan)
        if any_reach.any():
            out[any_reach] = fn(data[:, any_reach], *args, axis=0)
        return out

    p50 = stat(np.nanpercentile, rtt, 50.0)
    p95 = stat(np.nanpercentile, rtt, 95.0)
    p99 = stat(np.nanpercentile, rtt, 99.0)
    a, b = series.src, series.dst
    gc = geodesic_distance_m(ground.lat_deg[a], ground.lon_deg[a], ground.lat_deg[b],
                             ground.lon_deg[b])
    chord = np.linalg.norm(ground.itrf_m[a] - ground.itrf_m[b], axis=1)
    steps = max(n_steps, 1)
    return LatencySummary(
        src=a, dst=b, n_steps=n_steps,
        availability=reach.sum(axis=0) / steps,
        rtt_min_ms=stat(np.nanmin, rtt), rtt_p50_ms=p50, rtt_p95_ms=p95, rtt_p99_ms=p99,
        rtt_max_ms=stat(np.nanmax, rtt), rtt_mean_ms=stat(np.nanmean, rtt),
        hops_p50=stat(np.nanmedian, hops),
        path_changes=series.path_changed.reshape(n_steps, n_pairs).sum(axis=0).astype(np.int64),
        handovers=(series.src_handover.reshape(n_steps, n_pairs).sum(axis=0)
                   + series.dst_handover.reshape(n_steps, n_pairs).sum(axis=0)).astype(np.int64),
        great_circle_km=gc / 1e3,
        fiber_rtt_ms=2.0 * gc / FIBER_SPEED_M_S * 1e3,
        vacuum_rtt_ms=2.0 * chord / C_M_S * 1e3,
    )
