"""Targeted searches (early stop over the packed graph) and pair_paths equal full trees."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from orbemu.network.routing import pair_paths, shortest_paths
from tests.network._graphs import random_instant, torus


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_sats=st.integers(2, 60),
    n_ground=st.integers(2, 10),
    p_edge=st.floats(0.02, 0.4),
    gsl=st.integers(1, 4),
    p_down=st.sampled_from([0.0, 0.2]),
    metric=st.sampled_from(["delay", "hops"]),
    short_arc=st.booleans(),
)
def test_targets_equal_full_trees_on_random_graphs(seed, n_sats, n_ground, p_edge, gsl,
                                                    p_down, metric, short_arc):
    inst = random_instant(seed, n_sats, n_ground, p_edge, gsl, p_down)
    if short_arc and inst.isl_length_m.size:
        inst.isl_length_m[0] = 1.0  # arcs lighter than the bucket width: re-scans
    topo = inst.topology()
    rng = np.random.default_rng(seed)
    ground = topo.ground_node_index(np.arange(n_ground))
    sources = np.unique(np.concatenate([rng.choice(ground, rng.integers(1, n_ground + 1)),
                                        rng.choice(n_sats, rng.integers(0, 3))]))
    targets = rng.choice(ground, rng.integers(1, n_ground + 1), replace=False)
    full = shortest_paths(topo, sources, metric=metric)
    part = shortest_paths(topo, sources, metric=metric, targets=targets)
    assert np.array_equal(part.dist[:, targets], full.dist[:, targets])
    if metric == "delay":  # continuous random lengths: unique routes, same predecessors
        assert np.array_equal(part.pred_arc[:, targets], full.pred_arc[:, targets])
    srcs = np.repeat(sources, targets.size)
    dsts = np.tile(targets, sources.size)
    ok = srcs != dsts
    a = part.paths(srcs[ok], dsts[ok])
    b = full.paths(srcs[ok], dsts[ok])
    assert np.array_equal(a.hops, b.hops)
    if metric == "delay":  # with hops, equally short routes may differ in delay
        np.testing.assert_allclose(a.delay_s, b.delay_s, rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_sats=st.integers(2, 50),
       n_ground=st.integers(2, 9), p_down=st.sampled_from([0.0, 0.2]))
def test_pair_paths_equal_full_trees(seed, n_sats, n_ground, p_down):
    inst = random_instant(seed, n_sats, n_ground, 0.15, 2, p_down)
    topo = inst.topology()
    nodes = topo.ground_node_index(np.random.default_rng(seed).permutation(n_ground))
    full = shortest_paths(topo, nodes).paths()
    mirrored = pair_paths(topo, nodes)
    assert np.array_equal(mirrored.src, full.src) and np.array_equal(mirrored.dst, full.dst)
    assert np.array_equal(mirrored.reachable, full.reachable)
    assert np.array_equal(mirrored.hops, full.hops)
    np.testing.assert_allclose(mirrored.delay_s, full.delay_s, rtol=1e-12)
    assert np.array_equal(mirrored.bottleneck_bps, full.bottleneck_bps)
    for i in range(len(full)):  # unique routes: the mirror is the same route
        assert np.array_equal(mirrored.path(i), full.path(i))
        arcs = mirrored.path_arcs(i)
        nodes_i = mirrored.path(i)
        assert np.array_equal(topo.tail[arcs], nodes_i[:-1])
        assert np.array_equal(topo.indices[arcs], nodes_i[1:])


def test_a_single_pair_searches_less_than_the_whole_graph():
    inst = torus(planes=24, per_plane=24, ground_latlon=((0.0, 0.0), (5.0, 5.0), (0.0, 180.0)))
    topo = inst.topology()
    g = topo.ground_node_index(np.arange(3))
    near = shortest_paths(topo, g[:1], targets=g[1:2])
    full = shortest_paths(topo, g[:1])
    assert near.dist[0, g[1]] == full.dist[0, g[1]]
    reached_near = np.count_nonzero(near.pred_arc[0, :topo.n_sats] >= 0)
    reached_full = np.count_nonzero(full.pred_arc[0, :topo.n_sats] >= 0)
    assert reached_near < reached_full / 3
