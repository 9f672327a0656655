"""Max-min fair flow rates: hand-computed cases and the defining property."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orbemu.errors import UsageError
from orbemu.network import max_min_fair, shortest_paths
from orbemu.network.flows import reference_max_min_fair
from orbemu.network.routing import PathSet

from ._graphs import torus

#: Rates are sums and differences of capacities: allow rounding only.
REL = 1e-9


def pathset(arc_lists, reachable=None):
    """A PathSet with the given arc lists (nodes are not needed by the flow model)."""
    n = len(arc_lists)
    reach = np.ones(n, bool) if reachable is None else np.asarray(reachable)
    counts = np.array([len(a) if r else 0 for a, r in zip(arc_lists, reach, strict=True)])
    arc_ptr = np.concatenate([[0], np.cumsum(counts)])
    arcs = np.array([a for lst, r in zip(arc_lists, reach, strict=True) if r for a in lst],
                    dtype=np.int32)
    node_ptr = arc_ptr + np.concatenate([[0], np.cumsum(reach)])
    return PathSet(np.zeros(n, np.int64), np.ones(n, np.int64), reach, np.zeros(n),
                   np.where(reach, counts, -1), np.zeros(n), node_ptr,
                   np.zeros(node_ptr[-1], np.int32), arc_ptr, arcs)


def test_shared_bottleneck_is_split_equally():
    a = max_min_fair(pathset([[0, 1], [0, 2], [0]]), np.inf, np.array([9.0, 100.0, 100.0]))
    np.testing.assert_allclose(a.rate_bps, [3, 3, 3], rtol=REL)
    np.testing.assert_array_equal(a.bottleneck_arc, [0, 0, 0])
    np.testing.assert_allclose(a.arc_load_bps, [9, 3, 3], rtol=REL)
    np.testing.assert_allclose(a.utilisation, [1, 0.03, 0.03], rtol=REL)


def test_demand_limited_flow_releases_capacity():
    a = max_min_fair(pathset([[0], [0], [0]]), np.array([2.0, np.inf, np.inf]), np.array([10.0]))
    np.testing.assert_allclose(a.rate_bps, [2, 4, 4], rtol=REL)
    np.testing.assert_array_equal(a.satisfied, [True, False, False])
    np.testing.assert_array_equal(a.bottleneck_arc, [-1, 0, 0])
    assert a.total_bps == pytest.approx(10.0, rel=REL)


def test_parking_lot_and_two_levels():
    # long flow over arcs 0 and 1, short flows on each: all get half
    a = max_min_fair(pathset([[0, 1], [0], [1]]), np.inf, np.array([1.0, 1.0]))
    np.testing.assert_allclose(a.rate_bps, [0.5, 0.5, 0.5], rtol=REL)
    # f0, f1 share arc 0 (cap 1); f1, f2 share arc 1 (cap 3): f2 takes what f1 leaves
    a = max_min_fair(pathset([[0], [0, 1], [1]]), np.inf, np.array([1.0, 3.0]))
    np.testing.assert_allclose(a.rate_bps, [0.5, 0.5, 2.5], rtol=REL)
    np.testing.assert_array_equal(a.bottleneck_arc, [0, 0, 1])


def test_unreachable_empty_and_zero_demand_flows():
    a = max_min_fair(pathset([[0], [], [0], [0]], reachable=[True, True, False, True]),
                     np.array([np.inf, 7.0, 5.0, 0.0]), np.array([4.0]))
    np.testing.assert_allclose(a.rate_bps, [4, 7, 0, 0], rtol=REL)
    np.testing.assert_array_equal(a.reachable, [True, True, False, True])
    np.testing.assert_array_equal(a.satisfied, [False, True, False, True])


def test_elastic_flows_over_infinite_capacity_get_infinity():
    a = max_min_fair(pathset([[0], [0]]), np.inf, np.array([np.inf]))
    assert np.all(np.isinf(a.rate_bps))


def test_bad_input():
    ps = pathset([[0], [1]])
    with pytest.raises(UsageError, match="demand_bps"):
        max_min_fair(ps, np.array([1.0, -1.0]), np.ones(2))
    with pytest.raises(UsageError, match="demand_bps"):
        max_min_fair(ps, np.ones(3), np.ones(2))
    with pytest.raises(UsageError, match="capacity_bps"):
        max_min_fair(ps, 1.0, np.ones(1))


def assert_max_min_fair(alloc, ps):
    """Feasible, and every flow satisfied or bottlenecked on a full arc where it is the
    largest."""
    cap, load, rate = alloc.capacity_bps, alloc.arc_load_bps, alloc.rate_bps
    assert np.all(load <= cap * (1 + REL) + 1e-12)
    assert np.all(rate <= alloc.demand_bps * (1 + REL))
    for f in range(len(ps)):
        if not ps.reachable[f]:
            assert rate[f] == 0
            continue
        arcs = ps.path_arcs(f)
        if rate[f] >= alloc.demand_bps[f] * (1 - REL):
            continue
        full = arcs[load[arcs] >= cap[arcs] * (1 - REL) - 1e-12]
        assert full.size, f"flow {f} neither satisfied nor bottlenecked"
        ok = False
        for a in full:
            on_a = [g for g in range(len(ps)) if ps.reachable[g] and a in ps.path_arcs(g)]
            ok |= rate[f] >= max(rate[on_a]) * (1 - REL)
        assert ok, f"flow {f} is not the largest on any of its full arcs"
        assert alloc.bottleneck_arc[f] in full


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_max_min_fair_property(data):
    n_arcs = data.draw(st.integers(1, 6))
    n_flows = data.draw(st.integers(1, 10))
    cap = np.array(data.draw(st.lists(st.sampled_from([0.0, 1.0, 2.5, 3.0, 10.0, 1e9]),
                                      min_size=n_arcs, max_size=n_arcs)))
    flows = [data.draw(st.lists(st.integers(0, n_arcs - 1), min_size=1, max_size=n_arcs,
                                unique=True)) for _ in range(n_flows)]
    demand = np.array(data.draw(st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.0, 7.0, np.inf]),
                                         min_size=n_flows, max_size=n_flows)))
    ps = pathset(flows)
    assert_max_min_fair(max_min_fair(ps, demand, cap), ps)


def test_flows_on_real_routes():
    inst = torus(planes=10, per_plane=10,
                 ground_latlon=[(la, lo) for la in (-30, 10, 45) for lo in (-90, 0, 90)])
    b = inst.builder(isl_capacity_bps=1e9, gsl_capacity_bps=2e8)
    topo = b.build(inst.isl_length_m, inst.gsl_node, inst.gsl_sat, inst.gsl_length_m)
    gs = topo.ground_node_index(np.arange(inst.n_ground))
    ps = shortest_paths(topo, gs).paths()
    alloc = max_min_fair(ps, 1e8, topo.capacity_bps)
    assert_max_min_fair(alloc, ps)
    # 8 flows of 1e8 leave each ground node over uplinks of 2e8: many are limited, at
    # several levels
    assert 0 < np.count_nonzero(alloc.satisfied) < len(ps)
    assert np.unique(np.round(alloc.rate_bps)).size > 3
    assert alloc.rate_bps.max() <= 1e8 * (1 + REL)
    assert np.all(alloc.arc_load_bps <= topo.capacity_bps * (1 + REL))


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_arcs=st.integers(1, 30), n_flows=st.integers(1, 60))
def test_numba_equals_numpy_reference(seed, n_arcs, n_flows):
    rng = np.random.default_rng(seed)
    cap = rng.choice([0.0, 1.0, 5.0], n_arcs) + rng.uniform(0, 10, n_arcs)
    flows = [list(rng.choice(n_arcs, rng.integers(1, min(n_arcs, 6) + 1), replace=False))
             for _ in range(n_flows)]
    demand = np.where(rng.random(n_flows) < 0.3, np.inf, rng.uniform(0, 5, n_flows))
    reach = rng.random(n_flows) < 0.9
    ps = pathset(flows, reach)
    alloc = max_min_fair(ps, demand, cap)
    np.testing.assert_allclose(alloc.rate_bps, reference_max_min_fair(ps, demand, cap),
                               rtol=REL, atol=1e-12)
    assert_max_min_fair(alloc, ps)


def test_numba_equals_numpy_reference_on_routes():
    inst = torus(planes=12, per_plane=12, ground_latlon=[(la, lo) for la in (-40, 0, 35, 50)
                                                          for lo in (-120, -30, 20, 100)])
    topo = inst.builder(gsl_capacity_bps=5e8).build(inst.isl_length_m, inst.gsl_node,
                                                     inst.gsl_sat, inst.gsl_length_m)
    ps = shortest_paths(topo, topo.ground_node_index(np.arange(inst.n_ground))).paths()
    demand = np.random.default_rng(2).uniform(1e7, 2e8, len(ps))
    alloc = max_min_fair(ps, demand, topo.capacity_bps)
    np.testing.assert_allclose(alloc.rate_bps,
                               reference_max_min_fair(ps, demand, topo.capacity_bps), rtol=REL)
    assert_max_min_fair(alloc, ps)
