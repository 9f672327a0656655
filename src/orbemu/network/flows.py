"""Flow-level throughput: max-min fair rates of a traffic matrix over fixed routes.

Each flow follows its route (a list of arcs, from :meth:`Routes.paths`); each arc has a capacity
in one direction. The max-min fair allocation is the one where no flow can get more without
taking from a flow that has less or equal. It is computed by progressive filling (water-filling):
all unfrozen flows grow at the same rate; a flow freezes when it reaches its demand, or when an
arc on its path fills up (that arc is its *bottleneck*). Each round freezes at least one flow.

Characterisation used by the tests: an allocation is max-min fair exactly when it is feasible
(no arc over capacity) and every flow is either satisfied (rate = demand) or crosses a saturated
arc on which no flow has a higher rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
import numpy.typing as npt

from orbemu.errors import UsageError
from orbemu.network.routing import PathSet

__all__ = ["FlowAllocation", "max_min_fair"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: An arc counts as full when its remaining capacity is below this fraction of its capacity.
_FULL = 1e-9


@dataclass(frozen=True, eq=False)
class FlowAllocation:
    """Rates of ``n_flows`` flows.

    Attributes
    ----------
    rate_bps: (n_flows,) max-min fair rate, bit/s (0 for unreachable flows).
    demand_bps: (n_flows,) what each flow asked for (``inf`` for an elastic flow).
    reachable: (n_flows,) False where the flow has no route.
    bottleneck_arc: (n_flows,) arc that limits the flow (-1 when it is limited by its demand or
        unreachable).
    arc_load_bps: (n_arcs,) total rate over each arc.
    capacity_bps: (n_arcs,) the capacities used.
    """

    rate_bps: FloatArray
    demand_bps: FloatArray
    reachable: BoolArray
    bottleneck_arc: IntArray
    arc_load_bps: FloatArray
    capacity_bps: FloatArray

    @property
    def satisfied(self) -> BoolArray:
        """(n_flows,) True where the flow gets its whole demand."""
        return self.reachable & (self.bottleneck_arc < 0)

    @property
    def utilisation(self) -> FloatArray:
        """(n_arcs,) load / capacity (0 where the capacity is 0)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            u = self.arc_load_bps / self.capacity_bps
        return np.where(self.capacity_bps > 0, u, 0.0)

    @property
    def total_bps(self) -> float:
        return float(self.rate_bps.sum())


@numba.njit(cache=True, nogil=True)
def _water_fill(
    ptr: Any, arcs: Any, demand: Any, cap: Any, active: Any, rate: Any, bottleneck: Any,
) -> None:  # pragma: no cover - numba
    """Progressive filling. ``active`` (n_flows,) marks flows to fill (reachable, non-empty
    path, demand > 0); others keep the ``rate`` given. Writes ``rate`` and ``bottleneck``."""
    n_f = demand.shape[0]
    rem = cap.copy()
    nact = np.zeros(cap.shape[0], dtype=np.int64)
    n_active = 0
    for f in range(n_f):
        bottleneck[f] = -1
        if active[f]:
            n_active += 1
            for e in range(ptr[f], ptr[f + 1]):
                nact[arcs[e]] += 1
    used = np.flatnonzero(nact > 0)
    level = 0.0
    while n_active > 0:
        inc = np.inf
        arg_arc = -1
        for a in used:
            if nact[a] > 0:
                share = rem[a] / nact[a]
                if share < inc:
                    inc = share
                    arg_arc = int(a)
        arg_flow = -1
        for f in range(n_f):
            if active[f] and demand[f] - level < inc:
                inc = demand[f] - level
                arg_flow = f
                arg_arc = -1
        if inc == np.inf:  # elastic flows over infinite capacity
            for f in range(n_f):
                if active[f]:
                    rate[f] = np.inf
            return
        if inc < 0.0:
            inc = 0.0
        level += inc
        for a in used:
            if nact[a] > 0:
                rem[a] -= inc * nact[a]
        if arg_arc >= 0:
            rem[arg_arc] = 0.0  # exactly full, whatever the rounding
        for f in range(n_f):
            if not active[f]:
                continue
            frozen = False
            if f == arg_flow or level >= demand[f] * (1.0 - 1e-12):
                rate[f] = demand[f]
                frozen = True
            else:
                for e in range(ptr[f], ptr[f + 1]):
                    a = arcs[e]
                    if rem[a] <= _FULL * cap[a]:
                        rate[f] = level
                        bottleneck[f] = a
                        frozen = True
                        break
            if frozen:
                active[f] = False
                n_active -= 1
                for e in range(ptr[f], ptr[f + 1]):
                    nact[arcs[e]] -= 1


def max_min_fair(
    paths: PathSet,
    demand_bps: npt.ArrayLike,
    capacity_bps: npt.ArrayLike,
) -> FlowAllocation:
    """Max-min fair rates of the flows ``paths`` (one flow per pair) over arc capacities.

    Parameters
    ----------
    paths: the route of each flow, e.g. ``routes.paths(src, dst)`` for a traffic matrix given
        as arrays ``src, dst`` of node indices.
    demand_bps: scalar or (n_flows,) demand of each flow, bit/s, >= 0 (``inf``: take what the
        network gives).
    capacity_bps: (n_arcs,) capacity of each arc, bit/s (``topology.capacity_bps``).

    A flow whose source is its destination (empty path) gets its demand; an unreachable flow
    gets 0.
    """
    n = len(paths)
    demand = np.asarray(demand_bps, dtype=np.float64)
    demand = np.full(n, float(demand)) if demand.ndim == 0 else demand.copy()
    if demand.shape != (n,):
        raise UsageError(f"demand_bps must be a scalar or shape ({n},), got {demand.shape}")
    if np.any(np.isnan(demand)) or np.any(demand < 0):
        raise UsageError("demand_bps must be >= 0 (inf for elastic flows), without NaN")
    cap = np.ascontiguousarray(capacity_bps, dtype=np.float64)
    if cap.ndim != 1 or (paths.arcs.size and paths.arcs.max() >= cap.shape[0]):
        raise UsageError(f"capacity_bps must be (n_arcs,) for the paths' topology, got "
                         f"{cap.shape}")
    if np.any(np.isnan(cap)) or np.any(cap < 0):
        raise UsageError("capacity_bps must be >= 0, without NaN")
    reach = paths.reachable.copy()
    n_arcs_of = np.diff(paths.arc_ptr)
    rate = np.where(reach & (n_arcs_of == 0), demand, 0.0)  # empty path: demand
    active = reach & (n_arcs_of > 0) & (demand > 0)
    bottleneck = np.empty(n, dtype=np.int64)
    _water_fill(paths.arc_ptr, paths.arcs, demand, cap, active, rate, bottleneck)
    load = np.asarray(np.bincount(paths.arcs, weights=np.repeat(rate, n_arcs_of),
                                  minlength=cap.shape[0]), dtype=np.float64)
    return FlowAllocation(rate, demand, reach, bottleneck, load, cap)
