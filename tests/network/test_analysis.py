"""Latency series and summaries: path-change counting, chunking, bounds, metric properties."""

from __future__ import annotations

import numpy as np
import pytest

from orbemu.constants import NS_PER_S, WGS84_A_M
from orbemu.io.elements import load_elements
from orbemu.io.ground import load_ground_nodes
from orbemu.network.analysis import (
    SeriesBuilder,
    geodesic_distance_m,
    latency_series,
    summarize,
)
from orbemu.network.routing import PathSet, shortest_paths
from orbemu.network.simulation import NetworkConfig, NetworkSimulation
from orbemu.time import Time
from tests.conftest import ONE_METRE

T0 = "2026-05-30T12:00:00Z"


def pathset(paths: list[list[int]]) -> PathSet:
    """A PathSet of given node sequences (empty = unreachable); delay 1 ms per hop."""
    n = len(paths)
    ptr = np.zeros(n + 1, np.int64)
    ptr[1:] = np.cumsum([len(p) for p in paths])
    hops = np.array([len(p) - 1 if p else -1 for p in paths], np.int64)
    reach = hops >= 0
    nodes = np.array([x for p in paths for x in p], np.int32)
    aptr = np.zeros(n + 1, np.int64)
    aptr[1:] = np.cumsum(np.maximum(hops, 0))
    return PathSet(np.zeros(n, np.int64), np.ones(n, np.int64), reach,
                   np.where(reach, hops * 1e-3, np.inf), hops, np.where(reach, 1e9, 0.0),
                   ptr, nodes, aptr, np.zeros(int(aptr[-1]), np.int32))


def test_path_changes_and_handovers_on_a_constructed_case():
    # ground nodes A = 10, B = 11 (n_sats = 10); one pair
    seq = [[10, 1, 2, 11],   # start
           [10, 1, 2, 11],   # same
           [10, 1, 3, 11],   # change, handover at the destination end
           [],               # unreachable: a change, no handover
           [10, 4, 3, 11],   # back: a change, no handover (was unreachable)
           [10, 5, 3, 11],   # change, handover at the source end
           [10, 5, 6, 7, 3, 11]]  # change (longer path), same end satellites
    builder = SeriesBuilder([[0, 1]], n_sats=10)
    for p in seq:
        builder.add(pathset([p]))
    times = Time(np.arange(len(seq), dtype=np.int64) * NS_PER_S)
    series = builder.finish(times)
    assert series.path_changed.tolist() == [False, False, True, True, True, True, True]
    assert series.src_handover.tolist() == [False] * 5 + [True, False]
    assert series.dst_handover.tolist() == [False, False, True] + [False] * 4
    assert series.reachable.tolist() == [True, True, True, False, True, True, True]
    np.testing.assert_allclose(series.rtt_ms[[0, 6]], [6.0, 10.0])
    assert np.isnan(series.rtt_ms[3]) and series.hops[3] == -1
    ground = load_ground_nodes("cities-top100").select([0, 1])
    summary = summarize(series, ground)
    assert summary.path_changes.tolist() == [5]
    assert summary.handovers.tolist() == [2]
    assert summary.availability[0] == pytest.approx(6 / 7)
    assert series.path_labels(["A", "B"], slice(2, 4)) == ["A>1>3>B", ""]
    # a warm-up step only seeds the comparison
    warm = SeriesBuilder([[0, 1]], n_sats=10)
    warm.add(pathset([seq[1]]), record=False)
    warm.add(pathset([seq[2]]))
    assert warm.finish(times[:1]).path_changed.tolist() == [True]


def test_geodesic_against_exact_values():
    quarter_equator = geodesic_distance_m(0.0, 0.0, 0.0, 90.0)
    assert abs(quarter_equator - WGS84_A_M * np.pi / 2) < 0.01 * ONE_METRE
    # WGS84 meridian quadrant (equator to pole): 10,001,965.729 m
    assert abs(geodesic_distance_m(0.0, 0.0, 90.0, 0.0) - 10_001_965.729) < 20 * ONE_METRE
    a = geodesic_distance_m(48.85341, 2.3488, -8.83682, 13.23432)
    b = geodesic_distance_m(-8.83682, 13.23432, 48.85341, 2.3488)
    assert a == pytest.approx(b, abs=1e-6) and 6.3e6 < a < 6.6e6
    assert geodesic_distance_m(10.0, 20.0, 10.0, 20.0) == 0.0
    near_antipode = geodesic_distance_m(0.0, 0.0, 0.0, 179.95)
    assert 2.0e7 - 1e5 < near_antipode < 2.0038e7


@pytest.fixture(scope="module")
def starlink_sim():
    cities = load_ground_nodes("cities-top100")
    return NetworkSimulation(load_elements("starlink"), cities), cities


def test_rtt_never_below_the_straight_line_and_summary_bounds(starlink_sim):
    sim, cities = starlink_sim
    rng = np.random.default_rng(3)
    pairs = rng.choice(len(cities), size=(12, 2), replace=True)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    times = Time.range(T0, "20s", "5s")
    series = latency_series(sim, times, pairs)
    summary = summarize(series, cities)
    ok = series.reachable
    bound = np.tile(summary.vacuum_rtt_ms, series.n_steps)
    assert np.all(series.rtt_ms[ok] >= bound[ok])
    assert np.all(summary.vacuum_rtt_ms < summary.fiber_rtt_ms)
    got = summary.availability > 0
    assert np.all(summary.rtt_min_ms[got] <= summary.rtt_p50_ms[got])
    assert np.all(summary.rtt_p50_ms[got] <= summary.rtt_p99_ms[got])
    assert np.all(summary.rtt_p99_ms[got] <= summary.rtt_max_ms[got])
    np.testing.assert_allclose(series.rtt_ms[ok], 2 * series.one_way_ms[ok])


def test_symmetry_and_triangle_inequality(starlink_sim):
    sim, _ = starlink_sim
    step = next(sim.steps(Time.parse(T0)))
    nodes = step.node(np.arange(0, 100, 4))
    d = shortest_paths(step.topology, nodes).dist[:, nodes]
    ok = np.isfinite(d)
    np.testing.assert_allclose(d[ok], d.T[ok], rtol=1e-12)  # symmetric links
    # with ground relays allowed the delays form a metric on the ground nodes
    r = shortest_paths(step.topology, nodes, relay=True).dist[:, nodes]
    via = np.min(r[:, :, None] + r[None, :, :], axis=1)
    fin = np.isfinite(r)
    assert np.all(r[fin] <= via[fin] * (1 + 1e-12))
    assert np.all(r[fin] <= d[fin] * (1 + 1e-12))  # relaying can only help


def test_chunked_series_equal_one_run(starlink_sim):
    sim, cities = starlink_sim
    pairs = np.array([[cities.index_of("Paris"), cities.index_of("Luanda")],
                      [cities.index_of("London"), cities.index_of("Sydney")]])
    times = Time.range(T0, "30s", "1s")
    step = NS_PER_S
    whole = latency_series(sim, times, pairs)
    parts = [latency_series(sim, times[0:11], pairs, nominal_step_ns=step),
             latency_series(sim, times[10:21], pairs, warmup=1, nominal_step_ns=step),
             latency_series(sim, times[20:], pairs, warmup=1, nominal_step_ns=step)]
    from orbemu.network.analysis import LatencySeries
    joined = LatencySeries.concat(parts)
    for name in ("rtt_ms", "hops", "bottleneck_bps", "reachable", "path_ptr", "path_nodes",
                 "path_changed", "src_handover", "dst_handover"):
        assert np.array_equal(getattr(joined, name), getattr(whole, name), equal_nan=True), name
    assert np.array_equal(joined.times.ns, whole.times.ns)
    assert whole.path_changed.sum() >= 1  # 30 s of Starlink: London–Sydney changes path


def test_bad_pairs_are_refused(starlink_sim):
    from orbemu.errors import UsageError

    sim, _ = starlink_sim
    with pytest.raises(UsageError, match="itself"):
        latency_series(sim, Time.parse(T0), [[3, 3]])
    with pytest.raises(UsageError, match="outside"):
        latency_series(sim, Time.parse(T0), [[3, 300]])


def test_hop_metric_config(starlink_sim):
    sim, cities = starlink_sim
    hop_sim = NetworkSimulation(sim.elements, cities, NetworkConfig(metric="hops"),
                                plan=sim.plan, plan_note=sim.plan_note)
    pairs = np.array([[0, 50]])
    a = latency_series(sim, Time.parse(T0), pairs)
    b = latency_series(hop_sim, Time.parse(T0), pairs)
    assert b.hops[0] <= a.hops[0] and b.rtt_ms[0] >= a.rtt_ms[0] - 1e-9
