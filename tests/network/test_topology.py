"""Topology: CSR built from ISL plans and ground links, refilled per step, with failures."""

from __future__ import annotations

import numpy as np
import pytest

from orbemu.constants import C_M_S, NS_PER_S
from orbemu.errors import InputError, UsageError
from orbemu.links import LinkKind
from orbemu.network import FailureSchedule, TopologyBuilder
from orbemu.time import Time
from tests.conftest import ONE_MILLIMETRE

from ._graphs import random_instant, torus


def arcs_as_set(topo):
    up = topo.up
    return {(int(t), int(h), round(float(L), 3)) for t, h, L in
            zip(topo.tail[up], topo.indices[up], topo.length_m[up], strict=True)}


def test_csr_holds_every_link_in_both_directions():
    inst = torus()
    topo = inst.topology()
    k, m = len(inst.isl_pairs), len(inst.gsl_node)
    assert topo.n_nodes == inst.n_sats + inst.n_ground
    assert topo.n_arcs == 2 * k + 2 * m
    assert topo.indptr[0] == 0 and topo.indptr[-1] == topo.n_arcs
    # tail agrees with indptr
    np.testing.assert_array_equal(topo.tail, np.repeat(np.arange(topo.n_nodes),
                                                       np.diff(topo.indptr)))
    expected = set()
    for (a, b), L in zip(inst.isl_pairs, inst.isl_length_m, strict=True):
        expected |= {(a, b, round(L, 3)), (b, a, round(L, 3))}
    for g, s, L in zip(inst.gsl_node, inst.gsl_sat, inst.gsl_length_m, strict=True):
        expected |= {(inst.n_sats + g, s, round(L, 3)), (s, inst.n_sats + g, round(L, 3))}
    assert arcs_as_set(topo) == expected
    np.testing.assert_allclose(topo.delay_s * C_M_S, topo.length_m, atol=ONE_MILLIMETRE)


def test_kinds_twins_links_and_row_split():
    inst = torus()
    topo = inst.topology()
    n_sats = inst.n_sats
    tail_sat, head_sat = topo.tail < n_sats, topo.indices < n_sats
    assert np.all((topo.kind == LinkKind.ISL) == (tail_sat & head_sat))
    assert np.all((topo.kind == LinkKind.GSL) == (tail_sat ^ head_sat))
    # twin is the reverse arc of the same link
    np.testing.assert_array_equal(topo.tail[topo.twin], topo.indices)
    np.testing.assert_array_equal(topo.indices[topo.twin], topo.tail)
    np.testing.assert_array_equal(topo.twin[topo.twin], np.arange(topo.n_arcs))
    np.testing.assert_array_equal(topo.delay_s[topo.twin], topo.delay_s)
    # link row points back into the inputs
    isl = topo.kind == LinkKind.ISL
    np.testing.assert_array_equal(np.sort(inst.isl_pairs[topo.link[isl]], axis=1),
                                  np.sort(np.stack([topo.tail[isl], topo.indices[isl]], 1), 1))
    up = (topo.kind == LinkKind.GSL) & ~tail_sat  # uplinks: ground node -> satellite
    np.testing.assert_array_equal(inst.gsl_node[topo.link[up]] + n_sats, topo.tail[up])
    np.testing.assert_array_equal(inst.gsl_sat[topo.link[up]], topo.indices[up])
    # arcs toward satellites come first in every row
    for u in range(topo.n_nodes):
        lo, mid, hi = topo.indptr[u], topo.sat_arcs_end[u], topo.indptr[u + 1]
        assert np.all(topo.indices[lo:mid] < n_sats)
        assert np.all(topo.indices[mid:hi] >= n_sats)


def test_refill_changes_weights_and_ground_links_only():
    inst = torus()
    builder = inst.builder()
    t1 = builder.build(inst.isl_length_m, inst.gsl_node, inst.gsl_sat, inst.gsl_length_m)
    lengths = inst.isl_length_m * 1.01
    t2 = builder.build(lengths, inst.gsl_node[:5], inst.gsl_sat[:5], inst.gsl_length_m[:5])
    isl1, isl2 = t1.kind == LinkKind.ISL, t2.kind == LinkKind.ISL
    np.testing.assert_array_equal(t1.tail[isl1], t2.tail[isl2])
    np.testing.assert_array_equal(t1.indices[isl1], t2.indices[isl2])
    np.testing.assert_allclose(t2.length_m[isl2], 1.01 * t1.length_m[isl1])
    assert np.count_nonzero(t2.kind == LinkKind.GSL) == 2 * 5
    # the first topology is not touched by the second build
    np.testing.assert_allclose(t1.length_m[isl1], inst.isl_length_m[t1.link[isl1]])


def test_down_links_keep_their_arcs_with_infinite_delay():
    inst = torus()
    lengths = inst.isl_length_m.copy()
    lengths[3] = np.nan
    gl = inst.gsl_length_m.copy()
    gl[0] = np.nan
    topo = inst.builder().build(lengths, inst.gsl_node, inst.gsl_sat, gl)
    down = ~topo.up
    assert np.count_nonzero(down) == 4
    assert np.all(topo.capacity_bps[down] == 0)
    isl_down = down & (topo.kind == LinkKind.ISL)
    assert set(topo.link[isl_down]) == {3}
    assert set(topo.link[down & (topo.kind != LinkKind.ISL)]) == {0}
    # scipy view leaves them out
    assert topo.to_scipy().nnz == topo.n_arcs - 4


def test_failures_mask_every_arc_of_failed_elements():
    inst = torus()
    t0 = Time(1_780_000_000 * NS_PER_S)
    sched = FailureSchedule(inst.n_sats, inst.n_ground, inst.isl_pairs)
    sched.add_satellite(7, t0, t0 + 60 * NS_PER_S)
    a, b = inst.isl_pairs[20]
    sched.add_isl(int(b), int(a), t0 + 30 * NS_PER_S)  # either order, permanent
    sched.add_ground_node(1, t0 + 10 * NS_PER_S, t0 + 20 * NS_PER_S)
    assert len(sched) == 3
    before = sched.active_at(t0 - 1)
    assert not before.sat_down.any() and not before.isl_down.any()
    m = sched.active_at(t0 + 15 * NS_PER_S)
    assert np.flatnonzero(m.sat_down).tolist() == [7]
    assert np.flatnonzero(m.ground_down).tolist() == [1]
    assert not m.isl_down.any()
    m_end = sched.active_at(t0 + 60 * NS_PER_S)  # [start, end): sat 7 is back
    assert not m_end.sat_down.any()
    assert np.flatnonzero(m_end.isl_down).tolist() == [20]

    topo = inst.topology(failures=m)
    down = ~topo.up
    touches_7 = (topo.tail == 7) | (topo.indices == 7)
    g1 = inst.n_sats + 1
    touches_g1 = (topo.tail == g1) | (topo.indices == g1)
    np.testing.assert_array_equal(down, touches_7 | touches_g1)
    topo2 = inst.topology(failures=m_end)
    assert set(topo2.link[~topo2.up & (topo2.kind == LinkKind.ISL)]) == {20}


def test_failure_schedule_rejects_bad_input():
    inst = torus()
    sched = FailureSchedule(inst.n_sats, inst.n_ground, inst.isl_pairs)
    with pytest.raises(InputError, match="no ISL between satellites 0 and 55"):
        sched.add_isl(0, 55, 0)
    with pytest.raises(InputError, match="out of range"):
        sched.add_satellite(inst.n_sats, 0)
    with pytest.raises(InputError, match="ends"):
        sched.add_ground_node(0, 100, 100)


def test_builder_rejects_bad_shapes_and_indices():
    inst = torus()
    with pytest.raises(UsageError, match="itself"):
        TopologyBuilder(3, 1, [[0, 0]])
    with pytest.raises(UsageError, match="more than once"):
        TopologyBuilder(3, 1, [[0, 1], [1, 0]])
    with pytest.raises(UsageError, match="outside"):
        TopologyBuilder(3, 1, [[0, 3]])
    b = inst.builder()
    with pytest.raises(UsageError, match="isl_length_m"):
        b.build(inst.isl_length_m[:-1], inst.gsl_node, inst.gsl_sat, inst.gsl_length_m)
    with pytest.raises(UsageError, match="gsl_node holds"):
        b.build(inst.isl_length_m, inst.gsl_node + inst.n_ground, inst.gsl_sat,
                inst.gsl_length_m)
    with pytest.raises(UsageError, match="one length"):
        b.build(inst.isl_length_m, inst.gsl_node, inst.gsl_sat[:-1], inst.gsl_length_m)


def test_capacities_per_link():
    inst = random_instant(3, 12, 3, 0.3, 2)
    k, m = len(inst.isl_pairs), len(inst.gsl_node)
    isl_cap = np.arange(1, k + 1) * 1e6
    b = inst.builder(isl_capacity_bps=isl_cap, gsl_capacity_bps=5e6)
    topo = b.build(inst.isl_length_m, inst.gsl_node, inst.gsl_sat, inst.gsl_length_m)
    isl = topo.kind == LinkKind.ISL
    np.testing.assert_array_equal(topo.capacity_bps[isl], isl_cap[topo.link[isl]])
    assert np.all(topo.capacity_bps[~isl] == 5e6)
    gcap = np.arange(m) + 1.0
    topo = b.build(inst.isl_length_m, inst.gsl_node, inst.gsl_sat, inst.gsl_length_m,
                   gsl_capacity_bps=gcap)
    np.testing.assert_array_equal(topo.capacity_bps[~isl], gcap[topo.link[~isl]])


def test_ground_node_index_and_arc_lookup():
    inst = torus()
    topo = inst.topology()
    assert topo.ground_node_index(2) == inst.n_sats + 2
    np.testing.assert_array_equal(topo.ground_node_index(np.array([0, 3])),
                                  [inst.n_sats, inst.n_sats + 3])
    with pytest.raises(UsageError):
        topo.ground_node_index(inst.n_ground)
    a, b = inst.isl_pairs[0]
    arc = topo.arc(int(a), int(b))
    assert topo.tail[arc] == a and topo.indices[arc] == b
    assert topo.arc(0, 0) == -1  # no self loops
    assert topo.arc(0, topo.n_nodes - 1) == -1  # satellite 0 is not linked to the last node


def test_build_from_the_links_stage_equals_build_from_arrays():
    from orbemu.links import IslPlan, ground_links, isl_links
    from orbemu.orbits.ground_nodes import GroundNodes

    inst = torus(planes=12, per_plane=16)
    plan = IslPlan.from_pairs(inst.isl_pairs, inst.n_sats, capacity_bps=2e10)
    lat, lon = [0.0, 40.0, -30.0], [0.0, 60.0, -100.0]
    nodes = GroundNodes.from_arrays(["a", "b", "c"], lat, lon, min_elevation_deg=10.0)
    gl = ground_links(nodes, inst.sat_pos_m)
    assert len(gl) >= 3
    isl = isl_links(plan, inst.sat_pos_m)
    builder = TopologyBuilder.from_plan(plan, len(nodes))
    topo = builder.build_links(isl, gl)
    ref = TopologyBuilder(inst.n_sats, len(nodes), plan.pairs, isl_capacity_bps=2e10).build(
        isl.length_m, gl.node, gl.sat, gl.length_m, gsl_capacity_bps=np.inf)
    for name in ("indptr", "indices", "length_m", "delay_s", "capacity_bps", "kind", "link"):
        np.testing.assert_array_equal(getattr(topo, name), getattr(ref, name), err_msg=name)
    assert topo.n_arcs == 2 * len(plan) + 2 * len(gl)
    other = IslPlan.from_pairs(plan.pairs[:-1], inst.n_sats)
    with pytest.raises(UsageError, match="not this builder's plan"):
        builder.build_links(isl_links(other, inst.sat_pos_m), gl)
