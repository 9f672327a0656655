"""NetworkSimulation: positions, defaults, chunking, targets/pair_paths equivalence, failures."""

from __future__ import annotations

import numpy as np
import pytest

from orbemu.constants import NS_PER_S
from orbemu.errors import InputError, UsageError
from orbemu.io.elements import load_elements
from orbemu.io.ground import load_ground_nodes
from orbemu.network.routing import pair_paths, reference_shortest_paths, shortest_paths
from orbemu.network.simulation import (
    Failure,
    NetworkConfig,
    NetworkSimulation,
    PositionStream,
)
from orbemu.orbits.presets import walker_preset
from orbemu.orbits.propagation import propagate
from orbemu.time import Time
from tests.conftest import ONE_METRE

T0 = "2026-05-30T12:00:00Z"


@pytest.fixture(scope="module")
def starlink():
    return load_elements("starlink")


@pytest.fixture(scope="module")
def cities():
    return load_ground_nodes("cities-top100")


@pytest.fixture(scope="module")
def real_step(starlink, cities):
    """One step of the real Starlink snapshot (10,395 satellites) over 100 cities."""
    sim = NetworkSimulation(starlink, cities)
    return sim, next(sim.steps(Time.parse(T0)))


def test_interpolated_positions_within_a_metre_of_sgp4(starlink):
    sats = starlink.select(np.arange(0, len(starlink), 25))
    times = Time.range(T0, "10m", "7s")
    stream = PositionStream(sats, "interpolated", nominal_step_ns=7 * NS_PER_S)
    (_sl, r, _), = list(stream.iter_chunks(times))
    ref = propagate(sats, times, frame="ITRF").position_m
    ok = np.isfinite(ref).all(axis=2)
    err = np.linalg.norm(r[ok] - ref[ok], axis=-1)
    assert err.max() < 1.0 * ONE_METRE


def test_positions_do_not_depend_on_chunking(starlink):
    sats = starlink.select(np.arange(0, len(starlink), 40))
    times = Time.range(T0, "5m", "1s")
    whole = PositionStream(sats, nominal_step_ns=NS_PER_S)
    (_, r_all, _v_all), = list(whole.iter_chunks(times))
    small = PositionStream(sats, chunk_bytes=len(sats) * 49 * 17, nominal_step_ns=NS_PER_S)
    assert small.instants_per_chunk() < times.size
    parts = [(sl, r.copy()) for sl, r, _ in small.iter_chunks(times)]
    assert len(parts) > 5
    for sl, r in parts:
        assert np.array_equal(r, r_all[:, sl], equal_nan=True)
    # and a chunk starting anywhere in the window: the same numbers
    (_, r_mid, _), = list(whole.iter_chunks(times[37:90]))
    assert np.array_equal(r_mid, r_all[:, 37:90], equal_nan=True)


def test_sparse_instants_use_sgp4_directly(starlink):
    sats = starlink.select(np.arange(10))
    times = Time.range(T0, "1h", "10m")
    stream = PositionStream(sats, nominal_step_ns=600 * NS_PER_S)
    (_, r, _), = list(stream.iter_chunks(times))
    ref = propagate(sats, times, frame="ITRF").position_m
    assert np.array_equal(r, ref)
    assert "every instant" in stream.describe


def test_defaults_are_printed(real_step, starlink):
    sim, _ = real_step
    text = "\n".join(sim.describe())
    assert "minimum elevation 25° (default)" in text
    assert "+Grid over" in text and "inferred from the elements" in text
    assert "grazing altitude 80 km" in text
    assert "end points only" in text
    assert np.all(sim.ground.min_elevation_deg == 25.0)


def test_designed_shell_uses_its_planes_and_bent_pipe_is_said(cities):
    shell = walker_preset("hypatia-starlink-550")
    sim = NetworkSimulation(shell, cities)
    assert "plane metadata" in sim.plan_note and len(sim.plan) == 2 * len(shell)
    few = load_elements("stations").select([0, 1])
    bent = NetworkSimulation(few, cities)
    assert len(bent.plan) == 0 and "bent pipe" in bent.plan_note
    with pytest.raises(InputError, match="planes"):
        NetworkSimulation(few, cities, NetworkConfig(isl="plus-grid"))


def test_range_only_rule_keeps_the_horizon(cities):
    cfg = NetworkConfig(max_gsl_range_m=1_000e3)
    sim = NetworkSimulation(walker_preset("hypatia-starlink-550"), cities, cfg)
    assert np.all(sim.ground.min_elevation_deg == 0.0)
    assert np.all(sim.ground.max_range_m == 1_000e3)
    step = next(sim.steps(Time.parse("2000-01-01T00:00:10Z")))
    assert step.gsl.length_m.max() <= 1_000e3
    with pytest.raises(InputError):
        NetworkConfig(min_elevation_deg=95.0)
    with pytest.raises(UsageError):
        NetworkConfig(isl="pairs")


def test_numba_routes_equal_scipy_on_a_real_step(real_step):
    _sim, step = real_step
    src = step.node(np.arange(0, 100, 7))
    routes = shortest_paths(step.topology, src)
    dist, _ = reference_shortest_paths(step.topology, src)
    assert np.array_equal(routes.dist, dist)


def test_targets_and_pair_paths_equal_full_trees_on_a_real_step(real_step):
    _sim, step = real_step
    topo = step.topology
    nodes = step.node(np.arange(0, 100, 3))
    full = shortest_paths(topo, nodes)
    some = shortest_paths(topo, nodes[:5], targets=nodes[10:20])
    assert np.array_equal(some.dist[:, nodes[10:20]], full.dist[:5][:, nodes[10:20]])
    assert np.array_equal(some.pred_arc[:, nodes[10:20]], full.pred_arc[:5][:, nodes[10:20]])
    with pytest.raises(UsageError, match="targets"):
        some.paths(nodes[:1], nodes[30:31])
    every = full.paths()
    mirrored = pair_paths(topo, nodes)
    assert np.array_equal(mirrored.src, every.src) and np.array_equal(mirrored.dst, every.dst)
    np.testing.assert_allclose(mirrored.delay_s, every.delay_s, rtol=1e-12)
    assert np.array_equal(mirrored.hops, every.hops)
    assert np.array_equal(mirrored.bottleneck_bps, every.bottleneck_bps)
    for i in range(0, len(every), 17):  # same route, or an equally short mirror of it
        a, b = mirrored.path(i), every.path(i)
        assert a[0] == b[0] and a[-1] == b[-1] and len(a) == len(b)


def test_failures_are_respected_over_time(cities):
    shell = walker_preset("hypatia-starlink-550")
    epoch = Time.parse("2000-01-01T00:00:00Z")
    times = epoch + np.arange(0, 40, 2) * NS_PER_S
    paris, luanda = cities.index_of("Paris"), cities.index_of("Luanda")
    base = NetworkSimulation(shell, cities)
    first = next(base.steps(times[:1], [paris], targets=[luanda]))
    on_path = first.routes.path(first.node(paris), first.node(luanda))
    victim = int(on_path[len(on_path) // 2])
    start, end = times[5], times[12]
    cfg = NetworkConfig(failures=(Failure("satellite", victim, start, end),
                                  Failure("ground", luanda, times[15], times[17])))
    sim = NetworkSimulation(shell, cities, cfg)
    for step in sim.steps(times, [paris], targets=[luanda]):
        path = step.routes.path(step.node(paris), step.node(luanda))
        t = int(step.time)
        if int(start) <= t < int(end):
            assert victim not in path
            assert not np.isfinite(step.topology.delay_s[step.topology.tail == victim]).any()
        if int(times[15]) <= t < int(times[17]):
            assert path.size == 0
        else:
            assert path.size > 0
    with pytest.raises(UsageError):
        Failure("isl", 1, 0)


@pytest.mark.parametrize("policy", ["nearest", "highest", "longest"])
def test_policies_caps_and_link_budget_capacities(cities, policy):
    from orbemu.links.budget import KU_USER_DOWNLINK

    shell = walker_preset("hypatia-starlink-550")
    cfg = NetworkConfig(gsl_policy=policy, gsl_per_node=1, gsl_capacity=KU_USER_DOWNLINK,
                        isl_capacity_bps=20e9)
    sim = NetworkSimulation(shell, cities, cfg)
    assert "first" in sim.describe()[1] and "≤ 1 per ground node" in sim.describe()[1]
    paris, luanda = cities.index_of("Paris"), cities.index_of("Luanda")
    step = next(sim.steps(Time.parse("2000-01-01T00:01:00Z"), [paris], targets=[luanda]))
    assert np.all(step.gsl.links_per_node() <= 1)
    if policy == "nearest":
        full = next(NetworkSimulation(shell, cities).steps(Time.parse("2000-01-01T00:01:00Z")))
        for node in np.unique(step.gsl.node):
            mine = full.gsl.node == node
            assert step.gsl.length_m[step.gsl.node == node][0] == full.gsl.length_m[mine].min()
    cap = step.gsl.capacity_bps
    assert np.all((cap > 1e6) & (cap < 2e9))  # a Ku-band budget, not the 1 Gbit/s default
    b = step.routes.bottleneck_bps(step.node(paris), step.node(luanda))
    assert 0 < b <= 20e9 and b in set(cap.tolist())


def test_relay_lets_routes_through_ground_nodes(cities):
    shell = walker_preset("hypatia-starlink-550")
    sim = NetworkSimulation(shell, cities, NetworkConfig(isl="none", relay=True))
    assert "may relay" in "\n".join(sim.describe())
    paris, luanda = cities.index_of("Paris"), cities.index_of("Luanda")
    step = next(sim.steps(Time.parse("2000-01-01T00:01:00Z"), [paris], targets=[luanda]))
    path = step.routes.path(step.node(paris), step.node(luanda))
    # bent pipe over 6,500 km needs ground hops in between (or no route at all)
    assert path.size == 0 or np.any(path[1:-1] >= sim.n_sats)
