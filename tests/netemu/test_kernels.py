"""Bottlenecks over whole trees: numba kernel == numpy reference == path walks of Routes."""

from __future__ import annotations

import numpy as np
import pytest

from orbemu.netemu._kernels import tree_bottleneck_bps, tree_bottleneck_reference
from orbemu.network.routing import shortest_paths
from orbemu.network.simulation import NetworkConfig, NetworkSimulation
from tests.netemu.conftest import START


@pytest.fixture(scope="module")
def step(shell, sites):
    rng = np.random.default_rng(7)
    sim = NetworkSimulation(shell, sites, NetworkConfig(gsl_capacity=20e6))
    st = next(iter(sim.steps(START)))
    # varied capacities, so the bottleneck is not the same link everywhere
    topo = st.topology
    cap = rng.uniform(1e6, 1e9, topo.n_arcs)
    cap = np.minimum(cap, cap[topo.twin])  # both directions of a link alike
    object.__setattr__(topo, "capacity_bps", cap)
    return st


@pytest.mark.parametrize("which", ["ground", "mixed"])
def test_kernel_equals_reference_and_path_walks(step, which):
    topo = step.topology
    nodes = (np.arange(topo.n_sats, topo.n_nodes) if which == "ground"
             else np.concatenate([np.arange(0, topo.n_sats, 37),
                                  np.arange(topo.n_sats, topo.n_nodes)]))
    targets = nodes if which == "ground" else None
    routes = shortest_paths(topo, nodes, targets=targets)
    fast = tree_bottleneck_bps(routes.pred_arc, routes.sources, topo.tail, topo.capacity_bps)
    ref = tree_bottleneck_reference(routes.pred_arc, routes.sources, topo.tail,
                                    topo.capacity_bps)
    walked = routes.bottleneck_bps(nodes[:, None], nodes[None, :])
    np.testing.assert_array_equal(fast[:, nodes], walked)
    if targets is None:  # full trees: every node's entry is final
        np.testing.assert_array_equal(fast, ref)
    else:
        np.testing.assert_array_equal(fast[:, nodes], ref[:, nodes])
    assert np.all(np.isinf(fast[np.arange(nodes.size), nodes]))  # source: no limit


def test_unreachable_nodes_get_zero():
    # two arcs 0->1, 1->2; node 3 unreachable; source 0
    parc = np.array([[-1, 0, 1, -1]], dtype=np.int32)
    tail = np.array([0, 1])
    cap = np.array([5.0, 3.0])
    for fn in (tree_bottleneck_bps, tree_bottleneck_reference):
        np.testing.assert_array_equal(fn(parc, [0], tail, cap), [[np.inf, 5.0, 3.0, 0.0]])
