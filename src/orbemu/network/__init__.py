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
"""

from orbemu.network.flows import FlowAllocation, max_min_fair
from orbemu.network.routing import (
    ForwardingTable,
    PathSet,
    Routes,
    forwarding_changes,
    shortest_paths,
)
from orbemu.network.topology import (
    FailureMask,
    FailureSchedule,
    Topology,
    TopologyBuilder,
)

__all__ = [
    "FailureMask",
    "FailureSchedule",
    "FlowAllocation",
    "ForwardingTable",
    "PathSet",
    "Routes",
    "Topology",
    "TopologyBuilder",
    "forwarding_changes",
    "max_min_fair",
    "shortest_paths",
]
