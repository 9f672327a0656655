"""Topology: one instant's network graph of satellites and ground nodes, as CSR arrays.

Node numbering (used by every function of :mod:`orbemu.network`): satellites are nodes
``0 .. n_sats-1`` (the satellite order of the ephemeris), ground nodes are nodes
``n_sats .. n_sats+n_ground-1`` (ground node ``g`` is node ``n_sats + g``, the row order of
:class:`~orbemu.orbits.ground_nodes.GroundNodes`).

Every undirected link is two directed *arcs* with the same length and delay. The graph is stored
as CSR: the arcs leaving node ``u`` are ``indptr[u] .. indptr[u+1]-1``; ``indices[a]`` is the head
of arc ``a``. Per arc: ``length_m``, ``delay_s`` (``length_m / c``), ``capacity_bps``, ``kind``
(:class:`~orbemu.links.kinds.LinkKind`: ISL or GSL; a GSL arc is an uplink when its tail is a
ground node) and ``link`` (the row of the undirected link in the inputs it came from: the
ISL row of ``isl_pairs`` or the ground-link row of that step's arrays).

A link that is down (geometry says so — a NaN length —, or a failure of the link or of either end)
keeps its arcs, with ``delay_s = inf`` and ``capacity_bps = 0``: the structure of the ISL part is
fixed, only the weights change from step to step. Ground links change every step and are
appended per step.

Typical step (all arrays, no Python loop over satellites)::

    builder = TopologyBuilder(n_sats, n_ground, isl_pairs)          # once
    topo = builder.build(isl_length_m, gsl_node, gsl_sat, gsl_length_m,
                         failures=schedule.active_at(t))           # every step

or, straight from the links stage::

    builder = TopologyBuilder.from_plan(plan, n_ground)              # an IslPlan
    topo = builder.build_links(isl_links(plan, r), select_links(ground_links(nodes, r)),
                               failures=schedule.active_at(t))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numba
import numpy as np
import numpy.typing as npt

from orbemu.constants import C_M_S
from orbemu.errors import InputError, UsageError
from orbemu.links.kinds import LinkKind
from orbemu.time import Time

if TYPE_CHECKING:
    from orbemu.links.isl import IslLinks, IslPlan
    from orbemu.links.visibility import GroundLinks

__all__ = [
    "FailureMask",
    "FailureSchedule",
    "Topology",
    "TopologyBuilder",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Int32Array = npt.NDArray[np.int32]
BoolArray = npt.NDArray[np.bool_]

#: Nominal capacities used when none are given (placeholders: pass link-budget figures).
DEFAULT_ISL_CAPACITY_BPS = 10e9
DEFAULT_GSL_CAPACITY_BPS = 1e9


@dataclass(frozen=True, eq=False)
class Topology:
    """One instant's directed graph (two arcs per undirected link) in CSR form.

    Attributes
    ----------
    n_sats, n_ground: numbers of satellite and ground nodes; ``n_nodes = n_sats + n_ground``.
    indptr: (n_nodes+1,) int64; arcs leaving node ``u`` are ``indptr[u]:indptr[u+1]``.
    indices: (n_arcs,) int32 head node of each arc.
    tail: (n_arcs,) int32 tail node of each arc.
    length_m: (n_arcs,) link length, metres (NaN where the geometry gave none).
    delay_s: (n_arcs,) propagation delay ``length_m / c``, seconds; ``inf`` when the link is down.
    capacity_bps: (n_arcs,) capacity of the arc (one direction), bit/s; 0 when down.
    kind: (n_arcs,) int8 :class:`~orbemu.links.kinds.LinkKind` (ISL, GSL).
    link: (n_arcs,) int32 row of the undirected link: ISL row in ``isl_pairs`` for ISL arcs,
        ground-link row of this step's inputs for GSL arcs.
    twin: (n_arcs,) int32 the arc of the same link in the other direction.
    sat_arcs_end: (n_nodes,) int64; the arcs of row ``u`` toward satellites are
        ``indptr[u]:sat_arcs_end[u]``, those toward ground nodes ``sat_arcs_end[u]:indptr[u+1]``.
    """

    n_sats: int
    n_ground: int
    indptr: IntArray
    indices: Int32Array
    tail: Int32Array
    length_m: FloatArray
    delay_s: FloatArray
    capacity_bps: FloatArray
    kind: npt.NDArray[np.int8]
    link: Int32Array
    twin: Int32Array
    sat_arcs_end: IntArray

    @property
    def n_nodes(self) -> int:
        return self.n_sats + self.n_ground

    @property
    def n_arcs(self) -> int:
        return int(self.indices.shape[0])

    @property
    def up(self) -> BoolArray:
        """(n_arcs,) True where the arc is usable (finite delay)."""
        return np.isfinite(self.delay_s)

    def ground_node_index(self, ground: Any) -> Any:
        """Node index of ground node(s) ``ground`` (0-based among ground nodes)."""
        g = np.asarray(ground)
        if g.size and (g.min() < 0 or g.max() >= self.n_ground):
            raise UsageError(f"ground node index out of range 0..{self.n_ground - 1}: {ground!r}")
        return g + self.n_sats if g.ndim else int(g) + self.n_sats

    def arc(self, u: int, v: int) -> int:
        """Index of the arc ``u -> v`` (the first one if several), or -1 if there is none."""
        lo, hi = int(self.indptr[u]), int(self.indptr[u + 1])
        hit = np.flatnonzero(self.indices[lo:hi] == v)
        return lo + int(hit[0]) if hit.size else -1

    def to_scipy(self, weight: str = "delay_s") -> Any:
        """The usable arcs as a ``scipy.sparse.csr_array`` (n_nodes, n_nodes) of ``weight``.

        Parallel arcs keep the smallest weight (scipy would add them). Down arcs are left out.
        """
        from scipy import sparse

        w = np.asarray(getattr(self, weight), dtype=np.float64)
        ok = np.isfinite(self.delay_s)
        rows, cols, vals = self.tail[ok], self.indices[ok], w[ok]
        order = np.lexsort((vals, cols, rows))
        rows, cols, vals = rows[order], cols[order], vals[order]
        first = np.ones(rows.shape[0], dtype=bool)
        first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
        n = self.n_nodes
        return sparse.csr_array((vals[first], (rows[first], cols[first])), shape=(n, n))


@dataclass(frozen=True, eq=False)
class FailureMask:
    """What is down at one instant: (n_sats,), (n_isl,), (n_ground,) bool masks."""

    sat_down: BoolArray
    isl_down: BoolArray
    ground_down: BoolArray


class FailureSchedule:
    """Satellites, ISLs and ground nodes down for intervals ``[start, end)``.

    Build it once and add failures; :meth:`active_at` gives the masks for one instant, which
    :meth:`TopologyBuilder.build` applies (every arc touching a failed element is down, so routes
    avoid it)::

        sched = FailureSchedule(n_sats, n_ground, isl_pairs)
        sched.add_satellite(17, start=t0 + 60 * NS_PER_S, end=t0 + 600 * NS_PER_S)
        sched.add_isl(3, 4, start=t0)                      # down from t0 on
        mask = sched.active_at(t)
    """

    def __init__(self, n_sats: int, n_ground: int, isl_pairs: npt.ArrayLike) -> None:
        self.n_sats = int(n_sats)
        self.n_ground = int(n_ground)
        pairs = _check_pairs(isl_pairs, self.n_sats)
        self._isl_row = _pair_lookup(pairs)
        self.n_isl = int(pairs.shape[0])
        # per kind: lists of (index, start_ns, end_ns); turned into arrays lazily
        self._events: dict[str, list[tuple[int, int, int]]] = {"sat": [], "isl": [], "ground": []}
        self._arrays: dict[str, tuple[IntArray, IntArray, IntArray]] | None = None

    def add_satellite(self, sat: int, start: Time | int, end: Time | int | None = None) -> None:
        """Satellite ``sat`` (and every link it has) is down from ``start`` until ``end``."""
        self._add("sat", _check_index(sat, self.n_sats, "satellite"), start, end)

    def add_ground_node(self, node: int, start: Time | int, end: Time | int | None = None) -> None:
        """Ground node ``node`` (0-based among ground nodes) is down from ``start`` to ``end``."""
        self._add("ground", _check_index(node, self.n_ground, "ground node"), start, end)

    def add_isl(self, a: int, b: int, start: Time | int, end: Time | int | None = None) -> None:
        """The ISL between satellites ``a`` and ``b`` (either order) is down."""
        a = _check_index(a, self.n_sats, "satellite")
        b = _check_index(b, self.n_sats, "satellite")
        row = self._isl_row.get((min(a, b), max(a, b)), -1)
        if row < 0:
            raise InputError(
                f"there is no ISL between satellites {a} and {b}",
                field="isl",
                fix="name a pair of the ISL plan (isl_pairs)",
            )
        self._add("isl", row, start, end)

    def _add(self, kind: str, index: int, start: Time | int, end: Time | int | None) -> None:
        start_ns = int(start)
        end_ns = np.iinfo(np.int64).max if end is None else int(end)
        if end_ns <= start_ns:
            raise InputError(
                f"failure ends ({end_ns} ns) before it starts ({start_ns} ns)",
                field="end",
                fix="give an end after the start, or none for a permanent failure",
            )
        self._events[kind].append((index, start_ns, end_ns))
        self._arrays = None

    def _as_arrays(self) -> dict[str, tuple[IntArray, IntArray, IntArray]]:
        if self._arrays is None:
            out = {}
            for kind, ev in self._events.items():
                arr = np.array(ev, dtype=np.int64).reshape(-1, 3)
                out[kind] = (arr[:, 0], arr[:, 1], arr[:, 2])
            self._arrays = out
        return self._arrays

    def active_at(self, time: Time | int) -> FailureMask:
        """Masks of what is down at ``time`` (a scalar :class:`Time` or int ns)."""
        t = int(time)
        arrays = self._as_arrays()
        masks = []
        for kind, n in (("sat", self.n_sats), ("isl", self.n_isl), ("ground", self.n_ground)):
            index, start, end = arrays[kind]
            mask = np.zeros(n, dtype=bool)
            mask[index[(start <= t) & (t < end)]] = True
            masks.append(mask)
        return FailureMask(sat_down=masks[0], isl_down=masks[1], ground_down=masks[2])

    def __len__(self) -> int:
        return sum(len(v) for v in self._events.values())


def _check_index(i: int, n: int, what: str) -> int:
    i = int(i)
    if not 0 <= i < n:
        raise InputError(f"{what} index {i} is out of range 0..{n - 1}", field=what)
    return i


def _check_pairs(isl_pairs: npt.ArrayLike, n_sats: int) -> IntArray:
    pairs = np.asarray(isl_pairs)
    if pairs.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    if pairs.ndim != 2 or pairs.shape[1] != 2 or pairs.dtype.kind not in "iu":
        raise UsageError(f"isl_pairs must be an integer array (k, 2), got {pairs.dtype} "
                         f"{pairs.shape}")
    pairs = pairs.astype(np.int64)
    if pairs.min() < 0 or pairs.max() >= n_sats:
        raise UsageError(f"isl_pairs holds satellite indices outside 0..{n_sats - 1}")
    if np.any(pairs[:, 0] == pairs[:, 1]):
        i = int(np.flatnonzero(pairs[:, 0] == pairs[:, 1])[0])
        raise UsageError(f"isl_pairs row {i} links satellite {pairs[i, 0]} to itself")
    key = np.minimum(pairs[:, 0], pairs[:, 1]) * n_sats + np.maximum(pairs[:, 0], pairs[:, 1])
    uniq, counts = np.unique(key, return_counts=True)
    if np.any(counts > 1):
        k = int(uniq[counts > 1][0])
        raise UsageError(f"isl_pairs lists the ISL {k // n_sats}-{k % n_sats} more than once")
    return pairs


def _pair_lookup(pairs: IntArray) -> dict[tuple[int, int], int]:
    lo = np.minimum(pairs[:, 0], pairs[:, 1]).tolist()
    hi = np.maximum(pairs[:, 0], pairs[:, 1]).tolist()
    return {(a, b): i for i, (a, b) in enumerate(zip(lo, hi, strict=True))}


def _broadcast(value: npt.ArrayLike, n: int, name: str) -> FloatArray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        return np.full(n, float(arr))
    if arr.shape != (n,):
        raise UsageError(f"{name} must be a scalar or shape ({n},), got {arr.shape}")
    return arr


class TopologyBuilder:
    """Builds :class:`Topology` for a fixed ISL structure, refilled every step.

    Parameters
    ----------
    n_sats, n_ground: numbers of satellites and ground nodes.
    isl_pairs: (k, 2) int satellite indices of the ISL plan (each undirected link once).
    isl_capacity_bps: scalar or (k,) capacity of each ISL in each direction, bit/s.
    gsl_capacity_bps: default capacity of a ground link in each direction, bit/s.

    The CSR layout of the ISL arcs (which row, which slot) is computed here once; :meth:`build`
    only writes weights and appends the ground links of the step.
    """

    def __init__(
        self,
        n_sats: int,
        n_ground: int,
        isl_pairs: npt.ArrayLike,
        *,
        isl_capacity_bps: npt.ArrayLike = DEFAULT_ISL_CAPACITY_BPS,
        gsl_capacity_bps: float = DEFAULT_GSL_CAPACITY_BPS,
    ) -> None:
        if n_sats < 0 or n_ground < 0:
            raise UsageError(f"n_sats and n_ground must be >= 0, got {n_sats}, {n_ground}")
        self.n_sats = int(n_sats)
        self.n_ground = int(n_ground)
        self.isl_pairs = _check_pairs(isl_pairs, self.n_sats)
        self.isl_pairs.setflags(write=False)
        k = self.isl_pairs.shape[0]
        self.isl_capacity_bps = _broadcast(isl_capacity_bps, k, "isl_capacity_bps")
        self.gsl_capacity_bps = float(gsl_capacity_bps)
        # Fixed ISL structure: arc 2i is a->b, arc 2i+1 is b->a; its slot in the tail's row.
        tails = self.isl_pairs.reshape(-1)  # a0, b0, a1, b1, ...
        self._isl_deg = np.bincount(tails, minlength=self.n_sats).astype(np.int64)
        order = np.argsort(tails, kind="stable")
        starts = np.concatenate(([0], np.cumsum(self._isl_deg)[:-1]))
        slot = np.empty(tails.shape[0], dtype=np.int64)
        slot[order] = np.arange(tails.shape[0]) - starts[tails[order]]
        self._isl_slot = slot

    @classmethod
    def from_plan(
        cls, plan: IslPlan, n_ground: int, *,
        gsl_capacity_bps: float = DEFAULT_GSL_CAPACITY_BPS,
    ) -> TopologyBuilder:
        """A builder for an :class:`~orbemu.links.isl.IslPlan` (its pairs and capacities)."""
        return cls(plan.n_sats, n_ground, plan.pairs, isl_capacity_bps=plan.capacity_bps,
                   gsl_capacity_bps=gsl_capacity_bps)

    @property
    def n_isl(self) -> int:
        return int(self.isl_pairs.shape[0])

    def build_links(
        self, isl: IslLinks, gsl: GroundLinks, *, failures: FailureMask | None = None,
    ) -> Topology:
        """:meth:`build` from the links stage's outputs of one instant: the plan's
        :class:`~orbemu.links.isl.IslLinks` (same pairs, same order as this builder's) and a
        :class:`~orbemu.links.visibility.GroundLinks` (all visible pairs, or a selection)."""
        if len(isl) != self.n_isl or not (
                np.array_equal(isl.sat_a, self.isl_pairs[:, 0])
                and np.array_equal(isl.sat_b, self.isl_pairs[:, 1])):
            raise UsageError("these ISL links are not this builder's plan; build the builder "
                             "with TopologyBuilder.from_plan(plan, n_ground)")
        if gsl.n_nodes != self.n_ground or gsl.n_sats != self.n_sats:
            raise UsageError(f"ground links are for {gsl.n_nodes} nodes and {gsl.n_sats} "
                             f"satellites, the builder for {self.n_ground} and {self.n_sats}")
        return self.build(isl.length_m, gsl.node, gsl.sat, gsl.length_m, failures=failures,
                          gsl_capacity_bps=gsl.capacity_bps, isl_capacity_bps=isl.capacity_bps)

    def build(
        self,
        isl_length_m: npt.ArrayLike,
        gsl_node: npt.ArrayLike,
        gsl_sat: npt.ArrayLike,
        gsl_length_m: npt.ArrayLike,
        *,
        failures: FailureMask | None = None,
        gsl_capacity_bps: npt.ArrayLike | None = None,
        isl_capacity_bps: npt.ArrayLike | None = None,
    ) -> Topology:
        """The topology of one instant.

        Parameters
        ----------
        isl_length_m: (k,) length of each ISL, metres; NaN (or inf) when the link is down.
        gsl_node: (m,) int ground node of each ground link (0-based among ground nodes).
        gsl_sat: (m,) int satellite of each ground link.
        gsl_length_m: (m,) slant range of each ground link, metres; NaN when down.
        failures: what is down now (:meth:`FailureSchedule.active_at`), or None.
        gsl_capacity_bps: scalar or (m,) capacity per direction; default the builder's.
        isl_capacity_bps: scalar or (k,); default the builder's.
        """
        k = self.n_isl
        isl_len = np.asarray(isl_length_m, dtype=np.float64)
        if isl_len.shape != (k,):
            raise UsageError(f"isl_length_m must have shape ({k},), got {isl_len.shape}")
        g_node = np.asarray(gsl_node)
        g_sat = np.asarray(gsl_sat)
        g_len = np.asarray(gsl_length_m, dtype=np.float64)
        m = g_node.shape[0] if g_node.ndim == 1 else -1
        if g_node.ndim != 1 or g_sat.shape != (m,) or g_len.shape != (m,):
            raise UsageError(
                f"gsl_node, gsl_sat and gsl_length_m must be 1-D of one length, got "
                f"{g_node.shape}, {g_sat.shape}, {g_len.shape}"
            )
        if m and (g_node.dtype.kind not in "iu" or g_sat.dtype.kind not in "iu"):
            raise UsageError("gsl_node and gsl_sat must be integer arrays")
        g_node = g_node.astype(np.int64, copy=False)
        g_sat = g_sat.astype(np.int64, copy=False)
        if m and (g_node.min() < 0 or g_node.max() >= self.n_ground):
            raise UsageError(f"gsl_node holds indices outside 0..{self.n_ground - 1}")
        if m and (g_sat.min() < 0 or g_sat.max() >= self.n_sats):
            raise UsageError(f"gsl_sat holds indices outside 0..{self.n_sats - 1}")
        isl_cap = (self.isl_capacity_bps if isl_capacity_bps is None
                   else _broadcast(isl_capacity_bps, k, "isl_capacity_bps"))
        gsl_cap = _broadcast(self.gsl_capacity_bps if gsl_capacity_bps is None
                             else gsl_capacity_bps, m, "gsl_capacity_bps")
        if failures is None:
            sat_down = np.zeros(self.n_sats, dtype=bool)
            isl_down = np.zeros(k, dtype=bool)
            ground_down = np.zeros(self.n_ground, dtype=bool)
        else:
            sat_down, isl_down, ground_down = (failures.sat_down, failures.isl_down,
                                               failures.ground_down)
            if (sat_down.shape != (self.n_sats,) or isl_down.shape != (k,)
                    or ground_down.shape != (self.n_ground,)):
                raise UsageError("failure masks do not match this builder's satellites, ISLs "
                                 "and ground nodes")
        n_nodes = self.n_sats + self.n_ground
        n_arcs = 2 * k + 2 * m
        indptr = np.empty(n_nodes + 1, dtype=np.int64)
        indices = np.empty(n_arcs, dtype=np.int32)
        tail = np.empty(n_arcs, dtype=np.int32)
        length = np.empty(n_arcs, dtype=np.float64)
        delay = np.empty(n_arcs, dtype=np.float64)
        cap = np.empty(n_arcs, dtype=np.float64)
        kind = np.empty(n_arcs, dtype=np.int8)
        link = np.empty(n_arcs, dtype=np.int32)
        twin = np.empty(n_arcs, dtype=np.int32)
        sat_end = np.empty(n_nodes, dtype=np.int64)
        _assemble(
            self.n_sats, self.n_ground, self.isl_pairs, self._isl_deg, self._isl_slot,
            isl_len, isl_cap, isl_down, g_node, g_sat, g_len, gsl_cap, sat_down, ground_down,
            1.0 / C_M_S, indptr, indices, tail, length, delay, cap, kind, link, twin, sat_end,
            int(LinkKind.ISL), int(LinkKind.GSL),
        )
        return Topology(self.n_sats, self.n_ground, indptr, indices, tail, length, delay, cap,
                        kind, link, twin, sat_end)


@numba.njit(cache=True, nogil=True)
def _assemble(
    n_sats: int, n_ground: int, isl_pairs: Any, isl_deg: Any, isl_slot: Any,
    isl_len: Any, isl_cap: Any, isl_down: Any, g_node: Any, g_sat: Any, g_len: Any,
    g_cap: Any, sat_down: Any, ground_down: Any, inv_c: float,
    indptr: Any, indices: Any, tail: Any, length: Any, delay: Any, cap: Any, kind: Any,
    link: Any, twin: Any, sat_end: Any, isl_kind: int, gsl_kind: int,
) -> None:  # pragma: no cover - numba
    """Write the CSR of one step: per satellite row its ISL arcs (fixed slots), then downlinks;
    per ground row its uplinks, in input order."""
    n_nodes = n_sats + n_ground
    m = g_node.shape[0]
    deg = np.zeros(n_nodes, dtype=np.int64)
    for s in range(n_sats):
        deg[s] = isl_deg[s]
    for j in range(m):
        deg[g_sat[j]] += 1
        deg[n_sats + g_node[j]] += 1
    indptr[0] = 0
    for u in range(n_nodes):
        indptr[u + 1] = indptr[u] + deg[u]
    fill = np.empty(n_nodes, dtype=np.int64)  # next free slot after the ISL block
    for s in range(n_sats):
        fill[s] = indptr[s] + isl_deg[s]
        sat_end[s] = fill[s]
    for g in range(n_ground):
        fill[n_sats + g] = indptr[n_sats + g]
        sat_end[n_sats + g] = indptr[n_sats + g + 1]
    inf = np.inf
    for i in range(isl_pairs.shape[0]):
        a = isl_pairs[i, 0]
        b = isl_pairs[i, 1]
        L = isl_len[i]
        ok = (L == L) and L > 0.0 and L < inf and not isl_down[i] \
            and not sat_down[a] and not sat_down[b]
        d = L * inv_c if ok else inf
        c = isl_cap[i] if ok else 0.0
        arc_ab = indptr[a] + isl_slot[2 * i]
        arc_ba = indptr[b] + isl_slot[2 * i + 1]
        twin[arc_ab] = arc_ba
        twin[arc_ba] = arc_ab
        for side in range(2):
            u = a if side == 0 else b
            v = b if side == 0 else a
            arc = arc_ab if side == 0 else arc_ba
            indices[arc] = v
            tail[arc] = u
            length[arc] = L
            delay[arc] = d
            cap[arc] = c
            kind[arc] = isl_kind
            link[arc] = i
    for j in range(m):
        s = g_sat[j]
        g = n_sats + g_node[j]
        L = g_len[j]
        ok = (L == L) and L > 0.0 and L < inf and not sat_down[s] \
            and not ground_down[g_node[j]]
        d = L * inv_c if ok else inf
        c = g_cap[j] if ok else 0.0
        up = fill[g]
        down = fill[s]
        twin[up] = down
        twin[down] = up
        arc = up  # uplink g -> s
        fill[g] += 1
        indices[arc] = s
        tail[arc] = g
        length[arc] = L
        delay[arc] = d
        cap[arc] = c
        kind[arc] = gsl_kind
        link[arc] = j
        arc = down  # downlink s -> g
        fill[s] += 1
        indices[arc] = g
        tail[arc] = s
        length[arc] = L
        delay[arc] = d
        cap[arc] = c
        kind[arc] = gsl_kind
        link[arc] = j
