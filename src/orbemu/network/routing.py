"""Shortest paths over a :class:`~orbemu.network.topology.Topology`, and forwarding tables.

:func:`shortest_paths` computes one shortest-path tree per source node, by propagation delay
(default) or by hop count, with a bucket-queue Dijkstra in numba (a quarter to a third of a
millisecond per tree over a 10,000-satellite +Grid; see BENCHMARKS.md). The result is a
:class:`Routes`: distances and predecessors ``(n_sources, n_nodes)``, from which
paths, one-way delays, RTTs, hop counts and bottleneck capacities are read for single pairs or,
vectorized, for many pairs at once (:meth:`Routes.paths`).

Ground rule: ground nodes are end points, not transit — a path never goes up, down to a ground
node and up again — unless ``relay=True`` (ground relaying, "bent pipe" through a station). A
ground node that is the source of a tree still sends on its uplinks.

Because every link is two arcs of equal delay, the tree rooted at ``d`` also gives every node's
next hop *toward* ``d``: :meth:`Routes.forwarding_table` reads the forwarding tables from the
trees of the destination nodes, and :func:`forwarding_changes` counts how many entries changed
between two steps.

The plain scipy version (:func:`reference_shortest_paths`) is kept as the reference the tests
compare against.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import numba
import numpy as np
import numpy.typing as npt

from orbemu.errors import UsageError
from orbemu.network.topology import Topology

__all__ = [
    "ForwardingTable",
    "PathSet",
    "Routes",
    "forwarding_changes",
    "pair_paths",
    "reference_shortest_paths",
    "shortest_paths",
]

Metric = Literal["delay", "hops"]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Int32Array = npt.NDArray[np.int32]
BoolArray = npt.NDArray[np.bool_]

#: The bucket width is at least max weight / this (bounds the number of buckets; arcs lighter
#: than the width are handled by re-scanning, still exact).
_MAX_BUCKETS = 4096


# ------------------------------------------------------------------------------------------------
# kernels
# ------------------------------------------------------------------------------------------------
# The bucket-queue code (start, pop, push/relink) is written out in both _sssp_buckets and
# _sssp_targets on purpose: moved into shared njit helpers (plain or inline="always") the
# 100 trees took 3.3x as long (22 -> 73 ms, `python -m benchmarks.routing`, 2026-11-22).


@numba.njit(cache=True, nogil=True)
def _sssp_buckets(
    indptr: Any, row_end: Any, indices: Any, w: Any, src: int, inv_delta: float, nb: int,
    dist: Any, parc: Any, nxt: Any, prv: Any, slot_of: Any, head: Any,
) -> None:  # pragma: no cover - numba
    """One tree: Dijkstra with a circular bucket queue (Dial's algorithm, float weights).

    Distances are exact floats; only the queue order is quantised. Bucket ``b`` holds nodes with
    ``floor(dist / delta) == b``; when every arc weighs at least ``delta`` no node of the current
    bucket can improve another, so each is settled when popped. Lighter arcs may improve a node
    already popped from the current bucket: it is pushed again (label-correcting), which keeps
    the result exact. Node ``u`` relaxes arcs ``indptr[u]:row_end[u]`` only. ``nb`` is a power
    of two larger than ``max(w) * inv_delta + 2``, so the queue wraps around safely.
    """
    mask = nb - 1  # a mask instead of a (slow) modulo
    for b in range(nb):
        head[b] = -1
    dist[src] = 0.0
    head[0] = src
    nxt[src] = -1
    prv[src] = -1
    slot_of[src] = 0
    queued = 1
    cur = 0
    while queued > 0:
        b = cur & mask
        u = head[b]
        if u < 0:
            cur += 1
            continue
        # pop u
        h = nxt[u]
        head[b] = h
        if h >= 0:
            prv[h] = -1
        slot_of[u] = -1
        queued -= 1
        du = dist[u]
        for a in range(indptr[u], row_end[u]):
            v = indices[a]
            dv = du + w[a]
            if dv < dist[v]:
                dist[v] = dv
                parc[v] = a
                nbk = int(dv * inv_delta)
                if nbk < cur:
                    nbk = cur
                s = nbk & mask
                old = slot_of[v]
                if old == s:
                    continue
                if old >= 0:  # unlink from its old bucket
                    p = prv[v]
                    q = nxt[v]
                    if p >= 0:
                        nxt[p] = q
                    else:
                        head[old] = q
                    if q >= 0:
                        prv[q] = p
                else:
                    queued += 1
                q = head[s]
                nxt[v] = q
                prv[v] = -1
                if q >= 0:
                    prv[q] = v
                head[s] = v
                slot_of[v] = s


@numba.njit(cache=True, nogil=True)
def _sssp_heap(
    indptr: Any, row_end: Any, indices: Any, w: Any, src: int,
    dist: Any, parc: Any, heap: Any, pos: Any,
) -> None:  # pragma: no cover - numba
    """One tree: Dijkstra with an indexed binary heap (decrease-key). Kept for comparison."""
    dist[src] = 0.0
    heap[0] = src
    pos[src] = 0
    size = 1
    while size > 0:
        u = heap[0]
        pos[u] = -2  # settled
        size -= 1
        if size > 0:  # move last to root, sift down
            x = heap[size]
            dx = dist[x]
            i = 0
            while True:
                c = 2 * i + 1
                if c >= size:
                    break
                if c + 1 < size and dist[heap[c + 1]] < dist[heap[c]]:
                    c += 1
                if dist[heap[c]] < dx:
                    heap[i] = heap[c]
                    pos[heap[i]] = i
                    i = c
                else:
                    break
            heap[i] = x
            pos[x] = i
        du = dist[u]
        for a in range(indptr[u], row_end[u]):
            v = indices[a]
            dv = du + w[a]
            if dv < dist[v]:
                dist[v] = dv
                parc[v] = a
                i = pos[v]
                if i == -1:
                    i = size
                    size += 1
                while i > 0:  # sift up
                    p = (i - 1) >> 1
                    if dist[heap[p]] > dv:
                        heap[i] = heap[p]
                        pos[heap[i]] = i
                        i = p
                    else:
                        break
                heap[i] = v
                pos[v] = i


@numba.njit(cache=True, nogil=True)
def _all_trees(
    indptr: Any, row_end: Any, indices: Any, w: Any, twin: Any, n_sats: int, relay: bool,
    sources: Any, inv_delta: float, nb: int, use_heap: bool, dist: Any, parc: Any,
) -> None:  # pragma: no cover - numba
    """All trees. Without relay the search runs over the satellites only (``row_end`` stops
    each row before its arcs to ground nodes); the ground nodes are then labelled in one
    sequential pass over their uplinks, using the reverse (downlink) arc of equal weight."""
    n = dist.shape[1]
    nxt = np.empty(n, dtype=np.int32)
    prv = np.empty(n, dtype=np.int32)
    slot_of = np.full(n, -1, dtype=np.int32)  # every queued node is popped: stays -1
    head = np.empty(nb, dtype=np.int32)
    for k in range(sources.shape[0]):
        src = sources[k]
        d = dist[k]
        pa = parc[k]
        for i in range(n):
            d[i] = np.inf
            pa[i] = -1
        if use_heap:
            _sssp_heap(indptr, row_end, indices, w, src, d, pa, nxt, slot_of)
            for i in range(n):
                slot_of[i] = -1
        else:
            _sssp_buckets(indptr, row_end, indices, w, src, inv_delta, nb, d, pa, nxt, prv,
                          slot_of, head)
        if relay:
            continue
        for g in range(n_sats, n):
            if g == src:
                continue
            best = np.inf
            arc = -1
            for a in range(indptr[g], indptr[g + 1]):
                c = d[indices[a]] + w[a]
                if c < best:
                    best = c
                    arc = a
            if arc >= 0 and best < np.inf:
                d[g] = best
                pa[g] = twin[arc]


@numba.njit(cache=True, nogil=True)
def _sssp_targets(
    indptr: Any, indices: Any, w: Any, src: int, inv_delta: float, nb: int,
    dist: Any, parc: Any, nxt: Any, prv: Any, slot_of: Any, head: Any,
    tptr: Any, tlist: Any, trank: Any, lo: int,
) -> None:  # pragma: no cover - numba
    """:func:`_sssp_buckets` over the compact satellite graph (:func:`_compact_graph`) that
    also labels the target ground nodes and stops as soon as their distances are final.

    Node ``u``'s arcs are ``indptr[u]:indptr[u+1]``; its downlinks toward targets
    ``tptr[u]:tptr[u+1]`` (their heads never enter the queue: no relay). The targets that count
    for this tree are ``tlist[lo:]`` (``trank[t] >= lo``); offers to the others are still
    written. Every node still queued when the search reaches bucket ``cur`` has
    ``dist * inv_delta >= cur``, so once the largest target offer satisfies
    ``offer * inv_delta + 1 < cur`` (one bucket of margin against rounding) no target can
    improve and the search stops. Offers are taken only when strictly smaller, as in the full
    search, so the targets' distances and predecessor arcs equal the full search's.
    """
    mask = nb - 1
    for b in range(nb):
        head[b] = -1
    n_t = tlist.shape[0]
    inf = np.inf
    dist[src] = 0.0
    head[0] = src
    nxt[src] = -1
    prv[src] = -1
    slot_of[src] = 0
    queued = 1
    cur = 0
    need = n_t - lo
    reached = 1 if trank[src] >= lo else 0
    worst = inf  # largest offer among the counted targets once all have one
    if reached >= need:
        return
    while queued > 0:
        b = cur & mask
        u = head[b]
        if u < 0:
            cur += 1
            if reached == need and worst * inv_delta + 1.0 < cur:
                break
            continue
        h = nxt[u]
        head[b] = h
        if h >= 0:
            prv[h] = -1
        slot_of[u] = -1
        queued -= 1
        du = dist[u]
        for a in range(indptr[u], indptr[u + 1]):
            v = indices[a]
            dv = du + w[a]
            if dv < dist[v]:
                dist[v] = dv
                parc[v] = a
                nbk = int(dv * inv_delta)
                if nbk < cur:
                    nbk = cur
                s = nbk & mask
                old = slot_of[v]
                if old == s:
                    continue
                if old >= 0:
                    p = prv[v]
                    q = nxt[v]
                    if p >= 0:
                        nxt[p] = q
                    else:
                        head[old] = q
                    if q >= 0:
                        prv[q] = p
                else:
                    queued += 1
                q = head[s]
                nxt[v] = q
                prv[v] = -1
                if q >= 0:
                    prv[q] = v
                head[s] = v
                slot_of[v] = s
        for a in range(tptr[u], tptr[u + 1]):
            t = indices[a]
            c = du + w[a]
            old_t = dist[t]
            if c < old_t:
                dist[t] = c
                parc[t] = a
                if trank[t] < lo:
                    continue
                if old_t == inf:
                    reached += 1
                    if reached == need:
                        worst = 0.0
                        for k in range(lo, n_t):
                            if dist[tlist[k]] > worst:
                                worst = dist[tlist[k]]
                elif reached == need and old_t == worst:
                    worst = 0.0
                    for k in range(lo, n_t):
                        if dist[tlist[k]] > worst:
                            worst = dist[tlist[k]]


@numba.njit(cache=True, nogil=True)
def _compact_graph(
    indptr: Any, row_end: Any, indices: Any, w: Any, twin: Any, n_sats: int, sources: Any,
    tlist: Any,
) -> tuple[Any, Any, Any, Any, Any]:  # pragma: no cover - numba
    """The graph the targeted search walks, packed for the cache: per satellite its arcs to
    satellites, per source ground node its uplinks, then per satellite its downlinks toward the
    targets. Returns ``(cptr, tptr, cind, cw, cmap)``: rows ``cptr[u]:cptr[u+1]``, target
    downlinks ``tptr[u]:tptr[u+1]`` (absolute positions), heads, weights, and each packed
    arc's index in the topology."""
    n = indptr.shape[0] - 1
    is_src = np.zeros(n, dtype=np.bool_)
    for k in range(sources.shape[0]):
        is_src[sources[k]] = True
    cptr = np.zeros(n + 1, dtype=np.int32)
    for u in range(n):
        size = row_end[u] - indptr[u] if (u < n_sats or is_src[u]) else 0
        cptr[u + 1] = cptr[u] + size
    m = cptr[n]
    count = np.zeros(n + 1, dtype=np.int64)
    for k in range(tlist.shape[0]):
        t = tlist[k]
        for a in range(indptr[t], indptr[t + 1]):
            count[indices[a] + 1] += 1
    tptr = np.empty(n + 1, dtype=np.int32)
    tptr[0] = m
    for u in range(n):
        tptr[u + 1] = tptr[u] + count[u + 1]
    total = tptr[n]
    cind = np.empty(total, dtype=np.int32)
    cw = np.empty(total, dtype=np.float64)
    cmap = np.empty(total, dtype=np.int32)
    for u in range(n):
        j = cptr[u]
        if cptr[u + 1] == j:
            continue
        for a in range(indptr[u], row_end[u]):
            cind[j] = indices[a]
            cw[j] = w[a]
            cmap[j] = a
            j += 1
    fill = tptr[:n].copy()
    for k in range(tlist.shape[0]):
        t = tlist[k]
        for a in range(indptr[t], indptr[t + 1]):
            d = twin[a]  # the downlink sat -> t
            s = indices[a]
            j = fill[s]
            cind[j] = t
            cw[j] = w[d]
            cmap[j] = d
            fill[s] = j + 1
    return cptr, tptr, cind, cw, cmap


@numba.njit(cache=True, nogil=True)
def _all_trees_targets(
    cptr: Any, tptr: Any, cind: Any, cw: Any, cmap: Any, sources: Any, inv_delta: float,
    nb: int, tlist: Any, tlo: Any, dist: Any, parc: Any,
) -> None:  # pragma: no cover - numba
    """All trees with :func:`_sssp_targets` (no relay); tree ``k`` counts the targets
    ``tlist[tlo[k]:]``. Predecessor arcs are mapped back to the topology's arcs."""
    n = dist.shape[1]
    trank = np.full(n, -1, dtype=np.int64)
    for k in range(tlist.shape[0]):
        trank[tlist[k]] = k
    nxt = np.empty(n, dtype=np.int32)
    prv = np.empty(n, dtype=np.int32)
    slot_of = np.full(n, -1, dtype=np.int32)
    head = np.empty(nb, dtype=np.int32)
    for k in range(sources.shape[0]):
        d = dist[k]
        pa = parc[k]
        for i in range(n):
            d[i] = np.inf
            pa[i] = -1
        _sssp_targets(cptr, cind, cw, sources[k], inv_delta, nb, d, pa, nxt, prv, slot_of,
                      head, tptr, tlist, trank, tlo[k])
        for i in range(n):
            slot_of[i] = -1  # an early stop leaves nodes queued
            if pa[i] >= 0:
                pa[i] = cmap[pa[i]]


@numba.njit(cache=True, nogil=True)
def _walk(
    tail: Any, parc: Any, rows: Any, srcs: Any, dsts: Any, delay: Any, cap: Any,
    hops: Any, delay_sum: Any, bottleneck: Any,
) -> None:  # pragma: no cover - numba
    """Per pair: hop count, summed delay and min capacity along the tree path (-1/inf/0 when
    unreachable)."""
    for i in range(rows.shape[0]):
        r = rows[i]
        v = dsts[i]
        s = srcs[i]
        h = 0
        d = 0.0
        b = np.inf
        if v != s and parc[r, v] < 0:
            hops[i] = -1
            delay_sum[i] = np.inf
            bottleneck[i] = 0.0
            continue
        while v != s:
            a = parc[r, v]
            d += delay[a]
            if cap[a] < b:
                b = cap[a]
            v = tail[a]
            h += 1
        hops[i] = h
        delay_sum[i] = d
        bottleneck[i] = b


@numba.njit(cache=True, nogil=True)
def _extract(
    tail: Any, parc: Any, rows: Any, srcs: Any, dsts: Any, delay: Any, cap: Any,
) -> tuple[Any, Any, Any, Any, Any, Any, Any]:  # pragma: no cover - numba
    """Walk every pair's tree path once (dst back to src) and write, per pair: hops (-1 if
    unreachable), summed delay, min capacity, and the flat node and arc lists (src first).

    The walk writes arcs and nodes dst-first into scratch buffers; a sequential pass then
    reverses each pair into place (no second random walk)."""
    n = rows.shape[0]
    hops = np.empty(n, dtype=np.int64)
    delay_sum = np.empty(n, dtype=np.float64)
    bottleneck = np.empty(n, dtype=np.float64)
    arc_ptr = np.zeros(n + 1, dtype=np.int64)
    node_ptr = np.zeros(n + 1, dtype=np.int64)
    size = max(16, 24 * n)
    abuf = np.empty(size, dtype=np.int32)  # arcs, dst-first per pair; grows
    nbuf = np.empty(size, dtype=np.int32)  # node each arc leads to (its head)
    used = 0
    for i in range(n):
        r = rows[i]
        v = dsts[i]
        s = srcs[i]
        h = 0
        d = 0.0
        b = np.inf
        if v != s and parc[r, v] < 0:
            hops[i] = -1
            delay_sum[i] = np.inf
            bottleneck[i] = 0.0
            arc_ptr[i + 1] = arc_ptr[i]
            node_ptr[i + 1] = node_ptr[i]
            continue
        while v != s:
            a = parc[r, v]
            if used == abuf.shape[0]:
                bigger = np.empty(2 * used, dtype=np.int32)
                bigger[:used] = abuf[:used]
                abuf = bigger
                bigger = np.empty(2 * used, dtype=np.int32)
                bigger[:used] = nbuf[:used]
                nbuf = bigger
            abuf[used] = a
            nbuf[used] = v
            used += 1
            d += delay[a]
            if cap[a] < b:
                b = cap[a]
            v = tail[a]
            h += 1
        hops[i] = h
        delay_sum[i] = d
        bottleneck[i] = b
        arc_ptr[i + 1] = arc_ptr[i] + h
        node_ptr[i + 1] = node_ptr[i] + h + 1
    arcs = np.empty(used, dtype=np.int32)
    nodes = np.empty(node_ptr[n], dtype=np.int32)
    for i in range(n):
        if hops[i] < 0:
            continue
        lo = arc_ptr[i]
        h = arc_ptr[i + 1] - lo
        k = node_ptr[i]
        nodes[k] = srcs[i]
        for j in range(h):
            arcs[lo + j] = abuf[lo + h - 1 - j]
            nodes[k + 1 + j] = nbuf[lo + h - 1 - j]
    return hops, delay_sum, bottleneck, node_ptr, nodes, arc_ptr, arcs


@numba.njit(cache=True, nogil=True)
def _tails(tail: Any, parc: Any, out: Any) -> None:  # pragma: no cover - numba
    """``out = tail[parc]`` where ``parc >= 0``, else -1 (2-D)."""
    for k in range(parc.shape[0]):
        for v in range(parc.shape[1]):
            a = parc[k, v]
            out[k, v] = tail[a] if a >= 0 else -1


# ------------------------------------------------------------------------------------------------
# public API
# ------------------------------------------------------------------------------------------------
def _weights(topology: Topology, metric: Metric) -> FloatArray:
    if metric == "delay":
        return topology.delay_s
    if metric == "hops":
        return np.where(np.isfinite(topology.delay_s), 1.0, np.inf)
    raise UsageError(f"metric must be 'delay' or 'hops', got {metric!r}")


def _bucket_width(w: FloatArray) -> tuple[float, int]:
    """Bucket width and (power-of-two) number of buckets for weights ``w``.

    The width is the 5th percentile of the arc weights (estimated on a sample): wide enough
    that few buckets are scanned empty, narrow enough that few arcs (those lighter than the
    width) cause re-scans. Never below the lightest arc nor below max/_MAX_BUCKETS.
    """
    finite = w[np.isfinite(w)]
    if not finite.size:
        return 1.0, 4
    wmax = float(finite.max())
    sample = finite[:: max(1, finite.size // 4096)]
    low = float(np.partition(sample, sample.size // 20)[sample.size // 20])
    delta = max(low, float(finite.min()), wmax / _MAX_BUCKETS)
    return delta, 1 << (int(wmax / delta) + 2).bit_length()


def _check_sources(topology: Topology, sources: npt.ArrayLike) -> IntArray:
    src = np.atleast_1d(np.asarray(sources))
    if src.ndim != 1 or (src.size and src.dtype.kind not in "iu"):
        raise UsageError(f"sources must be a 1-D array of node indices, got {src.dtype} "
                         f"{src.shape}")
    src = src.astype(np.int64)
    if src.size and (src.min() < 0 or src.max() >= topology.n_nodes):
        raise UsageError(f"sources hold node indices outside 0..{topology.n_nodes - 1} "
                         f"(ground node g is node n_sats + g = {topology.n_sats} + g)")
    if np.unique(src).size != src.size:
        raise UsageError("sources must not repeat a node")
    return src


def shortest_paths(
    topology: Topology,
    sources: npt.ArrayLike,
    *,
    metric: Metric = "delay",
    relay: bool = False,
    targets: npt.ArrayLike | None = None,
    _method: Literal["buckets", "heap"] = "buckets",
) -> Routes:
    """Shortest-path trees from ``sources`` (node indices, see :mod:`orbemu.network.topology`).

    Parameters
    ----------
    topology: the instant's graph.
    sources: (n_sources,) distinct node indices (ground node ``g`` is ``n_sats + g``).
    metric: ``"delay"`` (sum of propagation delays, seconds) or ``"hops"`` (number of links).
    relay: allow paths to transit ground nodes (ground relaying). Default False: ground nodes
        are end points only.
    targets: ground nodes (node indices) the routes are wanted to; None: every node. Without
        relay, each tree then labels only these ground nodes and stops as soon as their
        distances are final (the satellites beyond are not searched): far cheaper for a few
        pairs or when there are many more ground nodes than destinations. Distances to the
        targets are identical to the full search, and so are the routes wherever the shortest
        one is unique (by delay; with hop counts ties are common and another equally short
        route may come back). Other nodes' entries are not final and :class:`Routes` refuses
        them as destinations. Ignored with ``relay=True``.
    """
    src = _check_sources(topology, sources)
    w = _weights(topology, metric)
    n = topology.n_nodes
    delta, nb = _bucket_width(w)
    dist = np.empty((src.size, n), dtype=np.float64)
    parc = np.empty((src.size, n), dtype=np.int32)
    # int32 row bounds keep the kernel's working set (~1 MB at 10k satellites) in L2
    indptr = topology.indptr.astype(np.int32)
    row_end = indptr[1:] if relay else topology.sat_arcs_end.astype(np.int32)
    tgt = None
    if targets is not None and not relay:
        tgt = np.unique(np.atleast_1d(np.asarray(targets, dtype=np.int64)))
        if tgt.size and (tgt.min() < topology.n_sats or tgt.max() >= n):
            raise UsageError(f"targets must be ground nodes (node indices {topology.n_sats}.."
                             f"{n - 1})")
        _targeted_trees(topology, w, src, tgt, np.zeros(src.size, np.int64), delta, nb,
                        dist, parc)
    else:
        _all_trees(indptr, row_end, topology.indices, w, topology.twin, topology.n_sats,
                   relay, src, 1.0 / delta, nb, _method == "heap", dist, parc)
    for arr in (dist, parc):
        arr.setflags(write=False)
    return Routes(topology, src, dist, parc, metric, relay, tgt)


def _targeted_trees(topology: Topology, w: FloatArray, src: IntArray, tlist: IntArray,
                    tlo: IntArray, delta: float, nb: int, dist: FloatArray,
                    parc: Int32Array) -> None:
    cptr, tptr, cind, cw, cmap = _compact_graph(
        topology.indptr, topology.sat_arcs_end, topology.indices, w, topology.twin,
        topology.n_sats, src, tlist)
    _all_trees_targets(cptr, tptr, cind, cw, cmap, src, 1.0 / delta, nb, tlist, tlo, dist,
                       parc)


@dataclass(frozen=True, eq=False)
class PathSet:
    """Paths of many (src, dst) pairs, flattened.

    Attributes
    ----------
    src, dst: (n_pairs,) node indices.
    reachable: (n_pairs,) bool.
    delay_s: (n_pairs,) one-way propagation delay along the path, seconds (inf if unreachable).
    hops: (n_pairs,) number of links (-1 if unreachable, 0 when src == dst).
    bottleneck_bps: (n_pairs,) smallest arc capacity along the path, bit/s (inf for an empty
        path, 0 if unreachable).
    node_ptr: (n_pairs+1,) pair ``i``'s nodes are ``nodes[node_ptr[i]:node_ptr[i+1]]`` (src
        first, dst last; empty when unreachable).
    nodes: (total,) int32 node indices.
    arc_ptr: (n_pairs+1,) pair ``i``'s arcs are ``arcs[arc_ptr[i]:arc_ptr[i+1]]``.
    arcs: (total_arcs,) int32 arc indices of the topology, in path order.
    """

    src: IntArray
    dst: IntArray
    reachable: BoolArray
    delay_s: FloatArray
    hops: IntArray
    bottleneck_bps: FloatArray
    node_ptr: IntArray
    nodes: Int32Array
    arc_ptr: IntArray
    arcs: Int32Array

    def __len__(self) -> int:
        return int(self.src.shape[0])

    @property
    def rtt_s(self) -> FloatArray:
        """(n_pairs,) round-trip propagation time over the same path both ways, seconds."""
        return 2.0 * self.delay_s

    def path(self, i: int) -> Int32Array:
        """Nodes of pair ``i``, src first."""
        return self.nodes[self.node_ptr[i]:self.node_ptr[i + 1]]

    def path_arcs(self, i: int) -> Int32Array:
        return self.arcs[self.arc_ptr[i]:self.arc_ptr[i + 1]]


@dataclass(frozen=True, eq=False)
class Routes:
    """Shortest-path trees from a set of source nodes at one instant.

    Attributes
    ----------
    topology: the graph they were computed on.
    sources: (n_sources,) node indices; row ``k`` of the arrays below is the tree of
        ``sources[k]``.
    dist: (n_sources, n_nodes) path length in the metric: seconds for ``"delay"``, links for
        ``"hops"``; inf where unreachable.
    pred_arc: (n_sources, n_nodes) int32 arc used to reach each node (-1 at the source and
        where unreachable); its tail is the previous node (:attr:`pred`).
    metric, relay: how they were computed.
    targets: the ground nodes the trees were restricted to (``shortest_paths(...,
        targets=)``), or None. When set, only the targets (and a tree's own source) are valid
        destinations.

    ``src`` arguments of the methods must be among ``sources``; ``dst`` may be any node. Scalars
    give scalars, arrays broadcast.
    """

    topology: Topology
    sources: IntArray
    dist: FloatArray
    pred_arc: Int32Array
    metric: Metric
    relay: bool
    targets: IntArray | None = None

    @cached_property
    def pred(self) -> Int32Array:
        """(n_sources, n_nodes) int32 previous node on the path from the source (-1 at the
        source and where unreachable)."""
        pred = np.empty_like(self.pred_arc)
        _tails(self.topology.tail, self.pred_arc, pred)
        pred.setflags(write=False)
        return pred

    @cached_property
    def _row_of(self) -> IntArray:
        row_of = np.full(self.topology.n_nodes, -1, dtype=np.int64)
        row_of[self.sources] = np.arange(self.sources.size)
        return row_of

    def _rows(self, src: npt.ArrayLike) -> IntArray:
        row_of = self._row_of
        s = np.asarray(src, dtype=np.int64)
        if s.size and (s.min() < 0 or s.max() >= self.topology.n_nodes):
            raise UsageError(f"node index out of range 0..{self.topology.n_nodes - 1}")
        rows: IntArray = row_of[s]
        if np.any(rows < 0):
            bad = np.atleast_1d(s)[np.atleast_1d(rows) < 0][0]
            raise UsageError(f"node {bad} is not a source of these routes; pass it in "
                             "sources= to shortest_paths")
        return rows

    def _dsts(self, dst: npt.ArrayLike) -> IntArray:
        d = np.asarray(dst, dtype=np.int64)
        if d.size and (d.min() < 0 or d.max() >= self.topology.n_nodes):
            raise UsageError(f"node index out of range 0..{self.topology.n_nodes - 1}")
        if self.targets is not None and d.size:
            ok = np.isin(d, self.targets) | np.isin(d, self.sources)
            if not np.all(ok):
                bad = int(np.atleast_1d(d)[~np.atleast_1d(ok)][0])
                raise UsageError(f"node {bad} is not among the targets these routes were "
                                 "restricted to; pass it in targets= to shortest_paths")
        return d

    def reachable(self, src: npt.ArrayLike, dst: npt.ArrayLike) -> Any:
        """Whether ``dst`` can be reached from ``src``."""
        return np.isfinite(self.dist[self._rows(src), self._dsts(dst)])

    def delay_s(self, src: npt.ArrayLike, dst: npt.ArrayLike) -> Any:
        """One-way propagation delay src -> dst along the route, seconds (inf if unreachable)."""
        if self.metric == "delay":
            return self.dist[self._rows(src), self._dsts(dst)]
        return self._along(src, dst)[1]

    def rtt_s(self, src: npt.ArrayLike, dst: npt.ArrayLike) -> Any:
        """Round-trip propagation time over the route and back, seconds (links are
        symmetric, so this is twice the one-way delay)."""
        return 2.0 * self.delay_s(src, dst)

    def hops(self, src: npt.ArrayLike, dst: npt.ArrayLike) -> Any:
        """Number of links on the route (-1 if unreachable)."""
        return self._along(src, dst)[0]

    def bottleneck_bps(self, src: npt.ArrayLike, dst: npt.ArrayLike) -> Any:
        """Smallest arc capacity along the route, bit/s (0 if unreachable)."""
        return self._along(src, dst)[2]

    def _along(self, src: npt.ArrayLike, dst: npt.ArrayLike) -> tuple[Any, Any, Any]:
        rows = self._rows(src)
        d = self._dsts(dst)
        rows_b, d_b = np.broadcast_arrays(rows, d)
        shape = rows_b.shape
        rows_f = np.ascontiguousarray(rows_b.reshape(-1))
        d_f = np.ascontiguousarray(d_b.reshape(-1))
        hops = np.empty(rows_f.size, dtype=np.int64)
        delay = np.empty(rows_f.size, dtype=np.float64)
        bneck = np.empty(rows_f.size, dtype=np.float64)
        _walk(self.topology.tail, self.pred_arc, rows_f, self.sources[rows_f], d_f,
              self.topology.delay_s, self.topology.capacity_bps, hops, delay, bneck)
        if not shape:
            return int(hops[0]), float(delay[0]), float(bneck[0])
        return hops.reshape(shape), delay.reshape(shape), bneck.reshape(shape)

    def path(self, src: int, dst: int) -> Int32Array:
        """Nodes of the route src -> dst (src first, dst last); empty if unreachable."""
        return self.paths(np.array([src]), np.array([dst])).path(0)

    def paths(self, src: npt.ArrayLike | None = None, dst: npt.ArrayLike | None = None) -> PathSet:
        """Routes of many pairs at once (vectorized).

        ``src`` and ``dst`` are equal-length 1-D node arrays. With neither given: every ordered
        pair of distinct sources (the ``n × (n-1)`` matrix between them), row-major.
        """
        if src is None and dst is None:
            n = self.sources.size
            i, j = np.nonzero(~np.eye(n, dtype=bool))
            s, d = self.sources[i], self.sources[j]
        elif src is None or dst is None:
            raise UsageError("give both src and dst, or neither (all pairs of sources)")
        else:
            s = np.atleast_1d(np.asarray(src, dtype=np.int64))
            d = np.atleast_1d(np.asarray(dst, dtype=np.int64))
            if s.shape != d.shape or s.ndim != 1:
                raise UsageError(f"src and dst must be 1-D of one length, got {s.shape}, "
                                 f"{d.shape}")
        rows = self._rows(s)
        d = self._dsts(d)
        topo = self.topology
        hops, delay, bneck, node_ptr, nodes, arc_ptr, arcs = _extract(
            topo.tail, self.pred_arc, rows, s, d, topo.delay_s, topo.capacity_bps)
        reach = hops >= 0
        if self.metric == "delay":  # the exact tree distance (same value, summed src first)
            delay = self.dist[rows, d]
        return PathSet(s, d, reach, delay, hops, bneck, node_ptr, nodes, arc_ptr, arcs)

    def forwarding_table(self) -> ForwardingTable:
        """Next hops toward each source, read from its tree (links are symmetric, so the tree
        rooted at ``d`` holds every node's shortest route to ``d``)."""
        if self.targets is not None:
            raise UsageError("forwarding tables need full trees: compute the routes without "
                             "targets=")
        return ForwardingTable(self.sources, self.pred.T)


def pair_paths(topology: Topology, nodes: npt.ArrayLike, *, metric: Metric = "delay",
               relay: bool = False) -> PathSet:
    """Paths between every ordered pair of distinct ``nodes`` (ground node indices), row-major
    as :meth:`Routes.paths` lays them out (``nodes[i] -> nodes[j]`` for ``j != i``).

    Links are symmetric (both arcs of a link have one length and capacity), so the route
    ``j -> i`` is the route ``i -> j`` reversed: without relay the tree of ``nodes[i]`` is
    searched only until ``nodes[i+1:]`` are settled (:func:`shortest_paths` with targets), which
    roughly halves the work of the all-pairs matrix. Delays, hop counts and bottlenecks equal
    those of full trees; where several routes tie, the reverse direction reports the mirror of
    the forward one.
    """
    g = np.atleast_1d(np.asarray(nodes, dtype=np.int64))
    src = _check_sources(topology, g)
    n = src.size
    if relay or n < 2:
        return shortest_paths(topology, src, metric=metric, relay=relay).paths()
    if src.min() < topology.n_sats:
        raise UsageError("pair_paths takes ground nodes (node indices n_sats + g)")
    w = _weights(topology, metric)
    delta, nb = _bucket_width(w)
    tlist = src.copy()  # tree i counts the targets after it: tlist[i+1:]
    dist = np.empty((n, topology.n_nodes), dtype=np.float64)
    parc = np.empty((n, topology.n_nodes), dtype=np.int32)
    _targeted_trees(topology, w, src, tlist, np.arange(1, n + 1, dtype=np.int64), delta, nb,
                    dist, parc)
    i, j = np.nonzero(np.triu(np.ones((n, n), dtype=bool), k=1))
    hops, delay, bneck, node_ptr, nodes_f, arc_ptr, arcs_f = _extract(
        topology.tail, parc, i, src[i], src[j], topology.delay_s, topology.capacity_bps)
    if metric == "delay":
        delay = dist[i, src[j]]
    out = _mirror(n, node_ptr, nodes_f, arc_ptr, arcs_f, topology.twin)
    fwd = out[0]
    full_hops = hops[fwd]
    rows, cols = np.nonzero(~np.eye(n, dtype=bool))
    return PathSet(src[rows], src[cols], full_hops >= 0, delay[fwd], full_hops, bneck[fwd],
                   out[1], out[2], out[3], out[4])


@numba.njit(cache=True, nogil=True)
def _mirror(n: int, node_ptr: Any, nodes: Any, arc_ptr: Any, arcs: Any,
            twin: Any) -> tuple[Any, Any, Any, Any, Any]:  # pragma: no cover - numba
    """From the upper-triangle paths (i < j, row-major) to all ordered pairs (i != j,
    row-major): ``(forward index per pair, node_ptr, nodes, arc_ptr, arcs)``; pairs below the
    diagonal are their mirror's nodes reversed and arcs reversed and twinned."""
    m = n * (n - 1)
    fwd = np.empty(m, dtype=np.int64)
    out_np = np.zeros(m + 1, dtype=np.int64)
    out_ap = np.zeros(m + 1, dtype=np.int64)
    p = 0
    for a in range(n):
        for b in range(n):
            if a == b:
                continue
            lo, hi = (a, b) if a < b else (b, a)
            # index of (lo, hi) in the row-major upper triangle
            f = lo * n - lo * (lo + 1) // 2 + (hi - lo - 1)
            fwd[p] = f
            out_np[p + 1] = out_np[p] + node_ptr[f + 1] - node_ptr[f]
            out_ap[p + 1] = out_ap[p] + arc_ptr[f + 1] - arc_ptr[f]
            p += 1
    out_nodes = np.empty(out_np[m], dtype=np.int32)
    out_arcs = np.empty(out_ap[m], dtype=np.int32)
    p = 0
    for a in range(n):
        for b in range(n):
            if a == b:
                continue
            f = fwd[p]
            k0, k1 = node_ptr[f], node_ptr[f + 1]
            j0, j1 = arc_ptr[f], arc_ptr[f + 1]
            o = out_np[p]
            q = out_ap[p]
            if a < b:
                for k in range(k0, k1):
                    out_nodes[o + k - k0] = nodes[k]
                for k in range(j0, j1):
                    out_arcs[q + k - j0] = arcs[k]
            else:
                for k in range(k0, k1):
                    out_nodes[o + k1 - 1 - k] = nodes[k]
                for k in range(j0, j1):
                    out_arcs[q + j1 - 1 - k] = twin[arcs[k]]
            p += 1
    return fwd, out_np, out_nodes, out_ap, out_arcs


@dataclass(frozen=True, eq=False)
class ForwardingTable:
    """Per node, the next hop toward each destination.

    Attributes
    ----------
    destinations: (n_dest,) node indices.
    next_hop: (n_nodes, n_dest) int32: the node to forward to from node ``u`` toward
        ``destinations[j]``; -1 at the destination itself and where it is unreachable.
    """

    destinations: IntArray
    next_hop: Int32Array

    @property
    def n_entries(self) -> int:
        return int(self.next_hop.size)


def forwarding_changes(prev: ForwardingTable, cur: ForwardingTable) -> int:
    """Number of (node, destination) entries whose next hop differs between two tables."""
    if (prev.next_hop.shape != cur.next_hop.shape
            or not np.array_equal(prev.destinations, cur.destinations)):
        raise UsageError("forwarding tables compare only for the same nodes and destinations")
    # tables read from Routes are transposed views: compare in memory order
    return int(np.count_nonzero(prev.next_hop.T != cur.next_hop.T))


def reference_shortest_paths(
    topology: Topology,
    sources: npt.ArrayLike,
    *,
    metric: Metric = "delay",
    relay: bool = False,
) -> tuple[FloatArray, Int32Array]:
    """``scipy.sparse.csgraph.dijkstra`` on the same graph: (dist, pred), each (n_sources,
    n_nodes), pred -1 at the source and where unreachable. The reference for the tests.

    Without ``relay`` the ground rule is built into the graph: ground nodes keep their incoming
    arcs but lose their outgoing ones, and each ground source gets a copy (an extra node) that
    holds its outgoing arcs and is where its tree starts.
    """
    from scipy import sparse
    from scipy.sparse.csgraph import dijkstra

    src = _check_sources(topology, sources)
    n = topology.n_nodes
    g = topology.to_scipy("delay_s").tocoo()
    rows, cols = g.row.astype(np.int64), g.col.astype(np.int64)
    vals = g.data if metric == "delay" else np.ones_like(g.data)
    if metric not in ("delay", "hops"):
        raise UsageError(f"metric must be 'delay' or 'hops', got {metric!r}")
    start = src.copy()
    n_total = n
    ground_src = src[:0]
    if not relay:
        keep = rows < topology.n_sats
        ground_src = src[src >= topology.n_sats]
        copy_of = np.full(n, -1, dtype=np.int64)
        copy_of[ground_src] = n + np.arange(ground_src.size)
        extra = np.isin(rows, ground_src)
        rows = np.concatenate((rows[keep], copy_of[rows[extra]]))
        cols = np.concatenate((cols[keep], cols[extra]))
        vals = np.concatenate((vals[keep], vals[extra]))
        start = np.where(src >= topology.n_sats, copy_of[src], src)
        n_total = n + ground_src.size
    graph = sparse.csr_array((vals, (rows, cols)), shape=(n_total, n_total))
    dist, pred = dijkstra(graph, directed=True, indices=start, return_predecessors=True)
    dist = dist[:, :n].copy()
    pred = pred[:, :n].astype(np.int64)
    if not relay:  # a predecessor that is a source's copy is that source
        copies = pred >= n
        pred[copies] = ground_src[pred[copies] - n]
    pred[pred < 0] = -1
    k = np.arange(src.size)
    dist[k, src] = 0.0
    pred[k, src] = -1
    return dist, pred.astype(np.int32)
