"""Network: per-instant topology, shortest paths, forwarding tables, flows and failures.

Pure numerics above :mod:`orbemu.links`: numpy arrays of link lengths in, graphs and routes out.
Node numbering everywhere: satellites ``0..n_sats-1``, then ground nodes ``n_sats..``; ground
node ``g`` is node ``n_sats + g``.

One step::

    builder = TopologyBuilder.from_plan(plan, n_ground)               # once (an IslPlan)
    topo = builder.build_links(isl_links(plan, r), ground_links(nodes, r),
                               failures=schedule.active_at(t))       # each step
    # or from plain arrays: TopologyBuilder(n_sats, n_ground, isl_pairs).build(
    #     isl_length_m, gsl_node, gsl_sat, gsl_length_m, failures=...)
    routes = shortest_paths(topo, topo.ground_node_index(gateways))   # delay-shortest trees
    pairs = routes.paths()                                            # all pairs of sources
    pairs.rtt_s, pairs.hops, pairs.bottleneck_bps
    alloc = max_min_fair(routes.paths(src, dst), demand_bps, topo.capacity_bps)

Over a window (``simulation.py``, ``analysis.py``)::

    sim = NetworkSimulation(elements, ground, NetworkConfig())      # resolves ISLs, defaults
    series = latency_series(sim, times, pairs)                       # (instant, pair) rows
    summary = summarize(series, ground)                              # per pair
"""

from orbemu.network.analysis import (
    LatencySeries,
    LatencySummary,
    geodesic_distance_m,
    latency_series,
    summarize,
)
from orbemu.network.flows import FlowAllocation, max_min_fair
from orbemu.network.routing import (
    ForwardingTable,
    PathSet,
    Routes,
    forwarding_changes,
    pair_paths,
    shortest_paths,
)
from orbemu.network.simulation import (
    Failure,
    NetworkConfig,
    NetworkSimulation,
    NetworkStep,
)
from orbemu.network.topology import (
    FailureMask,
    FailureSchedule,
    Topology,
    TopologyBuilder,
)

__all__ = [
    "Failure",
    "FailureMask",
    "FailureSchedule",
    "FlowAllocation",
    "ForwardingTable",
    "LatencySeries",
    "LatencySummary",
    "NetworkConfig",
    "NetworkSimulation",
    "NetworkStep",
    "PathSet",
    "Routes",
    "Topology",
    "TopologyBuilder",
    "forwarding_changes",
    "geodesic_distance_m",
    "latency_series",
    "max_min_fair",
    "pair_paths",
    "shortest_paths",
    "summarize",
]
