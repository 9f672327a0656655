"""Routing: the numba bucket-queue Dijkstra against scipy, paths, ground rule, failures,
forwarding tables."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orbemu.errors import UsageError
from orbemu.network import FailureSchedule, forwarding_changes, shortest_paths
from orbemu.network.routing import reference_shortest_paths
from orbemu.network.topology import TopologyBuilder

from ._graphs import random_instant, torus

#: Distances are sums of the same float delays; only the order of additions may differ.
RTOL = 1e-12
#: One nanosecond of delay: far below anything physical, far above rounding.
ONE_NS = 1e-9


def check_tree(topo, routes, relay):
    """Every labelled node is reached over an up arc from its predecessor, with
    dist = dist[pred] + w (a valid shortest-path tree), never through a ground node (unless
    relay)."""
    w = topo.delay_s if routes.metric == "delay" else np.where(topo.up, 1.0, np.inf)
    for k, s in enumerate(routes.sources):
        d, pa = routes.dist[k], routes.pred_arc[k]
        lab = np.flatnonzero(np.isfinite(d))
        lab = lab[lab != s]
        assert np.all(pa[lab] >= 0) and np.all(pa[np.isinf(d)] == -1) and pa[s] == -1
        arcs = pa[lab]
        np.testing.assert_array_equal(topo.indices[arcs], lab)
        u = topo.tail[arcs]
        np.testing.assert_allclose(d[u] + w[arcs], d[lab], rtol=RTOL)
        if not relay:
            assert np.all((u < topo.n_sats) | (u == s))


def compare_with_scipy(topo, sources, metric, relay, same_pred):
    r = shortest_paths(topo, sources, metric=metric, relay=relay)
    d_ref, p_ref = reference_shortest_paths(topo, sources, metric=metric, relay=relay)
    np.testing.assert_array_equal(np.isinf(r.dist), np.isinf(d_ref))
    fin = np.isfinite(d_ref)
    np.testing.assert_allclose(r.dist[fin], d_ref[fin], rtol=RTOL, atol=0)
    check_tree(topo, r, relay)
    if same_pred:
        np.testing.assert_array_equal(r.pred, p_ref)
    return r


@pytest.mark.parametrize("relay", [False, True])
@pytest.mark.parametrize("metric", ["delay", "hops"])
def test_torus_matches_scipy(metric, relay):
    inst = torus()
    topo = inst.topology()
    sources = np.concatenate([topo.ground_node_index(np.arange(inst.n_ground)), [0, 33]])
    compare_with_scipy(topo, sources, metric, relay, same_pred=False)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_sats=st.integers(2, 40),
    n_ground=st.integers(1, 8),
    p_edge=st.floats(0.02, 0.5),
    gsl=st.integers(1, 4),
    p_down=st.sampled_from([0.0, 0.2]),
    relay=st.booleans(),
)
def test_random_graphs_match_scipy(seed, n_sats, n_ground, p_edge, gsl, p_down, relay):
    inst = random_instant(seed, n_sats, n_ground, p_edge, gsl, p_down)
    topo = inst.topology()
    rng = np.random.default_rng(seed)
    n_src = rng.integers(1, topo.n_nodes + 1)
    sources = rng.choice(topo.n_nodes, n_src, replace=False)
    # lengths are continuous random numbers: shortest paths are unique, predecessors equal
    compare_with_scipy(topo, sources, "delay", relay, same_pred=True)
    compare_with_scipy(topo, sources, "hops", relay, same_pred=False)


def test_heap_and_buckets_agree():
    inst = random_instant(11, 300, 30, 0.02, 3)
    topo = inst.topology()
    src = np.arange(0, topo.n_nodes, 7)
    a = shortest_paths(topo, src)
    b = shortest_paths(topo, src, _method="heap")
    np.testing.assert_array_equal(a.dist, b.dist)
    np.testing.assert_array_equal(a.pred_arc, b.pred_arc)


def test_bucket_width_smaller_than_some_arcs_is_still_exact():
    # one very short ISL forces the bucket width to max/4096 and re-scans inside a bucket
    inst = random_instant(5, 60, 6, 0.1, 2)
    inst.isl_length_m[0] = 1.0  # 1 m
    inst.isl_length_m[1] = 4e7  # 40,000 km
    topo = inst.topology()
    src = topo.ground_node_index(np.arange(inst.n_ground))
    compare_with_scipy(topo, src, "delay", False, same_pred=True)


def test_hop_count_equals_bfs_depth():
    inst = torus()
    topo = inst.topology()
    g = nx.Graph()
    g.add_edges_from(zip(topo.tail[topo.up].tolist(), topo.indices[topo.up].tolist(),
                         strict=True))
    sources = [0, 17, int(topo.ground_node_index(2))]
    r = shortest_paths(topo, sources, metric="hops", relay=True)
    for k, s in enumerate(sources):
        depth = nx.single_source_shortest_path_length(g, s)
        expect = np.full(topo.n_nodes, np.inf)
        expect[list(depth)] = list(depth.values())
        np.testing.assert_array_equal(r.dist[k], expect)
        np.testing.assert_array_equal(r.hops(s, np.arange(topo.n_nodes)),
                                      np.where(np.isinf(expect), -1, expect))


def test_relay_true_equals_networkx_dijkstra():
    inst = random_instant(9, 50, 10, 0.08, 3, p_down=0.1)
    topo = inst.topology()
    g = nx.DiGraph()
    up = topo.up
    g.add_weighted_edges_from(zip(topo.tail[up].tolist(), topo.indices[up].tolist(),
                                  topo.delay_s[up].tolist(), strict=True))
    g.add_nodes_from(range(topo.n_nodes))
    src = 52
    r = shortest_paths(topo, [src], relay=True)
    ref = nx.single_source_dijkstra_path_length(g, src)
    for v in range(topo.n_nodes):
        if v in ref:
            assert r.dist[0, v] == pytest.approx(ref[v], rel=RTOL)
        else:
            assert np.isinf(r.dist[0, v])


def test_triangle_inequality_and_rtt_symmetry():
    inst = torus(planes=12, per_plane=12, ground_latlon=[(la, lo) for la in (-40, 0, 35, 50)
                                                          for lo in (-120, -30, 20, 100)])
    topo = inst.topology()
    gs = topo.ground_node_index(np.arange(inst.n_ground))
    r = shortest_paths(topo, gs)
    d = r.dist[:, gs]
    # symmetric links: one-way delay a->b equals b->a
    np.testing.assert_allclose(d, d.T, rtol=RTOL)
    np.testing.assert_allclose(r.rtt_s(gs[0], gs), 2 * d[0], rtol=RTOL)
    # through any satellite s: d(a, c) <= d(a, s) + d(s, c), and d(s, c) = d(c, s)
    sat = r.dist[:, : inst.n_sats]
    via = np.min(sat[:, None, :] + sat[None, :, :], axis=2)
    assert np.all(d <= via * (1 + RTOL))
    # and the minimum over satellites is attained (the route passes through one)
    np.fill_diagonal(via, 0.0)
    np.testing.assert_allclose(d, via, rtol=RTOL)
    # arc-wise: no arc out of a satellite can shorten a distance
    up = topo.up & (topo.tail < inst.n_sats)
    lhs = r.dist[:, topo.indices[up]]
    rhs = r.dist[:, topo.tail[up]] + topo.delay_s[up]
    assert np.all(lhs <= rhs * (1 + RTOL))


def relay_instant():
    """Two satellite rings joined only through ground node 2 (a station that sees both).

    ring A: sats 0-1-2-3, ring B: sats 4-5-6-7; ground 0 under ring A, ground 1 under ring B.
    """
    pairs = [[0, 1], [1, 2], [2, 3], [3, 0], [4, 5], [5, 6], [6, 7], [7, 4]]
    isl = np.array([2e6, 2e6, 3e6, 3e6, 2e6, 2e6, 3e6, 3e6])  # the 0-1-2 and 4-5-6 sides win
    gsl_node = np.array([0, 1, 2, 2])
    gsl_sat = np.array([0, 4, 2, 6])
    gsl_len = np.array([6e5, 6e5, 7e5, 7e5])
    b = TopologyBuilder(8, 3, pairs)
    return b, b.build(isl, gsl_node, gsl_sat, gsl_len), (isl, gsl_node, gsl_sat, gsl_len)


def test_ground_nodes_do_not_transit_unless_relay():
    _, topo, _ = relay_instant()
    g0, g1, g2 = 8, 9, 10
    r = shortest_paths(topo, [g0, g1])
    assert not r.reachable(g0, g1)
    assert r.path(g0, g1).size == 0 and r.hops(g0, g1) == -1
    assert r.reachable(g0, g2)  # the station itself is an end point
    r2 = shortest_paths(topo, [g0, g1], relay=True)
    assert r2.reachable(g0, g1)
    np.testing.assert_array_equal(r2.path(g0, g1), [g0, 0, 1, 2, g2, 6, 5, 4, g1])
    expect = (6e5 + 2e6 + 2e6 + 7e5 + 7e5 + 2e6 + 2e6 + 6e5) / 299_792_458.0
    assert r2.delay_s(g0, g1) == pytest.approx(expect, rel=RTOL)


def test_paths_are_consistent_with_distances():
    inst = torus()
    topo = inst.topology()
    gs = topo.ground_node_index(np.arange(inst.n_ground))
    r = shortest_paths(topo, np.concatenate([gs, [5]]))
    ps = r.paths()
    n = len(r.sources)
    assert len(ps) == n * (n - 1)
    for i in range(len(ps)):
        nodes, arcs = ps.path(i), ps.path_arcs(i)
        assert nodes[0] == ps.src[i] and nodes[-1] == ps.dst[i]
        assert len(arcs) == len(nodes) - 1 == ps.hops[i]
        np.testing.assert_array_equal(topo.tail[arcs], nodes[:-1])
        np.testing.assert_array_equal(topo.indices[arcs], nodes[1:])
        assert np.all(nodes[1:-1] < inst.n_sats)  # no ground transit
        assert ps.delay_s[i] == pytest.approx(topo.delay_s[arcs].sum(), rel=RTOL)
        assert ps.bottleneck_bps[i] == topo.capacity_bps[arcs].min()
    # vectorized accessors agree with the PathSet
    np.testing.assert_array_equal(r.hops(ps.src, ps.dst), ps.hops)
    np.testing.assert_allclose(r.delay_s(ps.src, ps.dst), ps.delay_s, rtol=RTOL)
    np.testing.assert_allclose(ps.rtt_s, 2 * ps.delay_s)
    np.testing.assert_array_equal(r.bottleneck_bps(ps.src, ps.dst), ps.bottleneck_bps)
    # a source to itself
    assert r.hops(gs[0], gs[0]) == 0 and r.delay_s(gs[0], gs[0]) == 0.0
    np.testing.assert_array_equal(r.path(gs[0], gs[0]), [gs[0]])


def test_hops_metric_reports_delay_along_its_route():
    inst = torus()
    topo = inst.topology()
    gs = topo.ground_node_index(np.arange(inst.n_ground))
    rh = shortest_paths(topo, gs, metric="hops")
    rd = shortest_paths(topo, gs)
    ph = rh.paths()
    assert np.all(ph.hops == rh.dist[ph.src - inst.n_sats, ph.dst])
    assert np.all(ph.delay_s >= rd.delay_s(ph.src, ph.dst) * (1 - RTOL))
    assert np.all(ph.hops <= rd.hops(ph.src, ph.dst))
    for i in range(len(ph)):
        assert ph.delay_s[i] == pytest.approx(topo.delay_s[ph.path_arcs(i)].sum(), rel=RTOL)


def test_failures_reroute_and_disconnect():
    inst = torus()
    sched = FailureSchedule(inst.n_sats, inst.n_ground, inst.isl_pairs)
    builder = inst.builder()

    def build(t):
        return builder.build(inst.isl_length_m, inst.gsl_node, inst.gsl_sat, inst.gsl_length_m,
                             failures=sched.active_at(t))

    topo = build(0)
    g0, g1 = topo.ground_node_index(0), topo.ground_node_index(1)
    r0 = shortest_paths(topo, [g0])
    path0 = r0.path(g0, g1)
    mid_sat = int(path0[len(path0) // 2])
    assert mid_sat < inst.n_sats
    sched.add_satellite(mid_sat, 100, 200)
    r1 = shortest_paths(build(150), [g0])
    path1 = r1.path(g0, g1)
    assert path1.size and mid_sat not in path1
    assert r1.delay_s(g0, g1) >= r0.delay_s(g0, g1)
    # the satellite itself is unreachable while down, and back afterwards
    assert not r1.reachable(g0, mid_sat)
    np.testing.assert_array_equal(shortest_paths(build(200), [g0]).path(g0, g1), path0)
    # an ISL on the path
    a, b = int(path1[2]), int(path1[3])
    sched.add_isl(a, b, 100, 200)
    path2 = shortest_paths(build(150), [g0]).path(g0, g1)
    assert not any({int(x), int(y)} == {a, b} for x, y in itertools.pairwise(path2))
    # every satellite ground node 1 sees: no route to it
    for s in inst.gsl_sat[inst.gsl_node == 1]:
        sched.add_satellite(int(s), 300, 400)
    r3 = shortest_paths(build(350), [g0])
    assert not r3.reachable(g0, g1) and r3.reachable(g0, topo.ground_node_index(2))
    # the ground node itself down
    sched.add_ground_node(1, 500)
    assert not shortest_paths(build(600), [g0]).reachable(g0, g1)


def ring():
    """Six satellites in a ring, short side 0-1-2-3 (1000 km hops), long side 3-4-5-0 (1500 km);
    ground A (node 6) under sat 0, ground B (node 7) under sat 3."""
    pairs = [[0, 1], [1, 2], [2, 3], [3, 4], [4, 5], [5, 0]]
    isl = np.array([1e6, 1e6, 1e6, 1.5e6, 1.5e6, 1.5e6])
    return TopologyBuilder(6, 2, pairs), isl, np.array([0, 1]), np.array([0, 3]), \
        np.array([5e5, 5e5])


def test_forwarding_tables_by_hand():
    b, isl, gn, gs, gl = ring()
    A, B = 6, 7
    cur = shortest_paths(b.build(isl, gn, gs, gl), [A, B]).forwarding_table()
    # columns: toward A, toward B
    expect = {0: (A, 1), 1: (0, 2), 2: (1, 3), 3: (2, B), 4: (5, 3), 5: (0, 4), A: (-1, 0),
              B: (3, -1)}
    for node, hops in expect.items():
        assert tuple(cur.next_hop[node]) == hops, node
    isl_down = isl.copy()
    isl_down[1] = np.nan  # link 1-2 down
    nxt = shortest_paths(b.build(isl_down, gn, gs, gl), [A, B]).forwarding_table()
    # toward B: 0 now goes 0->5, 1 goes 1->0; toward A: 2 goes 2->3, 3 goes 3->4
    assert forwarding_changes(cur, cur) == 0
    assert forwarding_changes(cur, nxt) == 4
    assert tuple(nxt.next_hop[0]) == (A, 5) and tuple(nxt.next_hop[3]) == (4, B)


def test_forwarding_tables_lead_to_the_destination():
    inst = torus()
    topo = inst.topology()
    dests = topo.ground_node_index(np.arange(inst.n_ground))
    r = shortest_paths(topo, dests)
    table = r.forwarding_table()
    for j, dst in enumerate(dests):
        for u in range(topo.n_nodes):
            if u == dst or np.isinf(r.dist[j, u]):
                assert table.next_hop[u, j] == -1
                continue
            v, total, steps = u, 0.0, 0
            while v != dst:
                nh = table.next_hop[v, j]
                total += topo.delay_s[topo.arc(v, nh)]
                v = nh
                steps += 1
                assert steps <= topo.n_nodes
            assert total == pytest.approx(r.dist[j, u], rel=RTOL, abs=ONE_NS)


def test_forwarding_changes_needs_matching_tables():
    b, isl, gn, gs, gl = ring()
    topo = b.build(isl, gn, gs, gl)
    t1 = shortest_paths(topo, [6, 7]).forwarding_table()
    t2 = shortest_paths(topo, [6]).forwarding_table()
    with pytest.raises(UsageError, match="same nodes and destinations"):
        forwarding_changes(t1, t2)


def test_bad_arguments():
    inst = torus()
    topo = inst.topology()
    with pytest.raises(UsageError, match="outside"):
        shortest_paths(topo, [topo.n_nodes])
    with pytest.raises(UsageError, match="repeat"):
        shortest_paths(topo, [1, 1])
    with pytest.raises(UsageError, match="metric"):
        shortest_paths(topo, [1], metric="km")
    r = shortest_paths(topo, [1])
    with pytest.raises(UsageError, match="not a source"):
        r.delay_s(2, 3)
    with pytest.raises(UsageError, match="both"):
        r.paths(np.array([1]))


def test_empty_sources_and_no_links():
    b = TopologyBuilder(3, 2, np.zeros((0, 2), dtype=np.int64))
    topo = b.build(np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64),
                   np.zeros(0))
    r = shortest_paths(topo, [3])
    assert np.isinf(r.dist[0, [0, 1, 2, 4]]).all() and r.dist[0, 3] == 0
    assert len(shortest_paths(topo, np.zeros(0, dtype=np.int64)).paths()) == 0


def test_pathset_with_unreachable_pairs_between_reachable_ones():
    _, topo, _ = relay_instant()
    r = shortest_paths(topo, [8, 9, 10, 1])
    ps = r.paths()
    assert len(ps) == 12
    expect_reach = {(8, 9): False, (9, 8): False, (8, 10): True, (10, 8): True,
                    (9, 10): True, (10, 9): True, (8, 1): True, (1, 8): True,
                    (9, 1): False, (1, 9): False, (10, 1): True, (1, 10): True}
    for i in range(len(ps)):
        key = (int(ps.src[i]), int(ps.dst[i]))
        assert ps.reachable[i] == expect_reach[key], key
        nodes, arcs = ps.path(i), ps.path_arcs(i)
        if not ps.reachable[i]:
            assert nodes.size == arcs.size == 0 and ps.hops[i] == -1
            assert np.isinf(ps.delay_s[i]) and ps.bottleneck_bps[i] == 0
            continue
        assert nodes[0] == ps.src[i] and nodes[-1] == ps.dst[i]
        np.testing.assert_array_equal(topo.tail[arcs], nodes[:-1])
        np.testing.assert_array_equal(topo.indices[arcs], nodes[1:])
    np.testing.assert_array_equal(r.path(10, 8), [10, 2, 1, 0, 8])
