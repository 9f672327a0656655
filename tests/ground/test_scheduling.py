"""Contact scheduling: constraints, greedy vs optimal, optimal vs brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orbemu.errors import UsageError
from orbemu.ground.scheduling import (
    ContactPlan,
    schedule_greedy,
    schedule_optimal,
    window_values,
)
from tests.ground.synthetic import NS, make_stations, make_windows


@st.composite
def instances(draw, max_windows=12, max_sats=4, max_stations=3):
    n_sats = draw(st.integers(1, max_sats))
    n_st = draw(st.integers(1, max_stations))
    w = draw(st.integers(1, max_windows))
    sat = draw(st.lists(st.integers(0, n_sats - 1), min_size=w, max_size=w))
    station = draw(st.lists(st.integers(0, n_st - 1), min_size=w, max_size=w))
    aos = draw(st.lists(st.integers(0, 3000), min_size=w, max_size=w))
    dur = draw(st.lists(st.integers(1, 900), min_size=w, max_size=w))
    rate = draw(st.lists(st.sampled_from([1e5, 2e5, 5e5, 1e6]), min_size=w, max_size=w))
    az0 = draw(st.lists(st.sampled_from([0.0, 90.0, 180.0, 270.0]), min_size=w, max_size=w))
    az1 = draw(st.lists(st.sampled_from([0.0, 90.0, 180.0, 270.0]), min_size=w, max_size=w))
    antennas = draw(st.lists(st.integers(0, 2), min_size=n_st, max_size=n_st))
    setup = draw(st.sampled_from([0.0, 30.0, 120.0]))
    slew_rate = draw(st.sampled_from([np.inf, 1.0, 3.0]))
    cap = draw(st.integers(1, 2))
    windows = make_windows(sat, station, aos, np.add(aos, dur), n_sats=n_sats,
                           n_stations=n_st, rate_bps=rate, aos_az_deg=az0, los_az_deg=az1)
    stations = make_stations(n_st, antennas=antennas, setup_s=setup, slew_rate_deg_s=slew_rate)
    prio = draw(st.lists(st.sampled_from([1.0, 2.0, 5.0]), min_size=n_sats, max_size=n_sats))
    return windows, stations, np.array(prio), cap


def _feasible(windows, stations, subset, cap) -> bool:
    """Independent check: can ``subset`` be served (satellite cap, some antenna assignment)?"""
    aos, los, sat, sta = windows.aos_ns, windows.los_ns, windows.sat, windows.station
    for t in {int(aos[i]) for i in subset}:
        for s in {int(sat[i]) for i in subset}:
            if sum(1 for i in subset if sat[i] == s and aos[i] <= t < los[i]) > cap:
                return False
    for k in {int(sta[i]) for i in subset}:
        mine = sorted((i for i in subset if sta[i] == k), key=lambda i: aos[i])
        n_ant = int(stations.antennas[k])

        def gap(p, q, k=k):
            g = stations.gap_s(k, windows.los_az_deg[p], windows.los_el_deg[p],
                               windows.aos_az_deg[q], windows.aos_el_deg[q])
            return int(np.ceil(float(g) * NS))

        def place(j, last, mine=mine, n_ant=n_ant, gap=gap):
            if j == len(mine):
                return True
            w = mine[j]
            for a in range(n_ant):
                p = last[a]
                if p is None or los[p] + gap(p, w) <= aos[w]:
                    if place(j + 1, (*last[:a], w, *last[a + 1:])):
                        return True
            return False

        if not place(0, (None,) * n_ant):
            return False
    return True


def _brute_force(windows, stations, values, cap) -> float:
    best = 0.0
    idx = range(len(windows))
    for r in range(len(windows) + 1):
        for subset in itertools.combinations(idx, r):
            v = float(values[list(subset)].sum())
            if v > best and _feasible(windows, stations, subset, cap):
                best = v
    return best


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_plans_never_violate_constraints_and_optimal_beats_greedy(inst):
    windows, stations, prio, cap = inst
    greedy = schedule_greedy(windows, stations, priority=prio, max_antennas_per_sat=cap)
    optimal = schedule_optimal(windows, stations, priority=prio, max_antennas_per_sat=cap)
    assert greedy.violations(stations, max_antennas_per_sat=cap) == []
    assert optimal.violations(stations, max_antennas_per_sat=cap) == []
    assert optimal.status == "optimal"
    assert optimal.total_value >= greedy.total_value * (1 - 1e-9)
    # The independent checker agrees with both plans.
    assert _feasible(windows, stations, list(greedy.window), cap)
    assert _feasible(windows, stations, list(optimal.window), cap)
    assert optimal.upper_bound >= optimal.total_value * (1 - 1e-6)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(max_windows=7))
def test_optimal_equals_brute_force_on_tiny_instances(inst):
    windows, stations, prio, cap = inst
    values = window_values(windows, prio)
    optimal = schedule_optimal(windows, stations, priority=prio, max_antennas_per_sat=cap)
    assert optimal.total_value == pytest.approx(_brute_force(windows, stations, values, cap),
                                                rel=1e-9)


def test_slew_gap_is_enforced_and_greedy_can_lose():
    # One antenna; window 0 is valuable and ends pointing north, window 1 starts 60 s later
    # pointing south: 180° at 1°/s needs 180 s, so they cannot both be taken.
    w = make_windows([0, 1], [0, 0], [0, 660], [600, 1200], n_sats=2, n_stations=1,
                     rate_bps=[2e6, 1e6], los_az_deg=[0.0, 0.0], aos_az_deg=[0.0, 180.0])
    s = make_stations(1, slew_rate_deg_s=1.0)
    plan = schedule_greedy(w, s)
    assert list(plan.sat) == [0]
    s_fast = make_stations(1, slew_rate_deg_s=10.0)  # 18 s: both fit
    assert list(schedule_greedy(w, s_fast).sat) == [0, 1]
    # Greedy takes the most valuable window first; the optimum takes the two others.
    w3 = make_windows([0, 1, 2], [0, 0, 0], [0, 0, 500], [1000, 490, 1000], n_sats=3,
                      n_stations=1, rate_bps=[0.9e6, 1e6, 1e6])
    s3 = make_stations(1)
    g, o = schedule_greedy(w3, s3), schedule_optimal(w3, s3)
    assert list(g.sat) == [0]
    assert sorted(o.sat) == [1, 2]
    assert o.total_value == pytest.approx(990e6)


def test_antennas_serve_concurrent_contacts_and_satellite_cap():
    w = make_windows([0, 1, 2], [0, 0, 0], [0, 0, 0], [100, 100, 100], n_sats=3, n_stations=1)
    plan = schedule_optimal(w, make_stations(1, antennas=2))
    assert len(plan) == 2 and sorted(plan.antenna) == [0, 1]
    # One satellite seen by two stations at once: one radio → one contact.
    w2 = make_windows([0, 0], [0, 1], [0, 50], [100, 150], n_sats=1, n_stations=2)
    for fn in (schedule_greedy, schedule_optimal):
        assert len(fn(w2, make_stations(2))) == 1
        assert len(fn(w2, make_stations(2), max_antennas_per_sat=2)) == 2


def test_active_matches_brute_force():
    rng = np.random.default_rng(1)
    aos = rng.uniform(0, 5000, 200)
    w = make_windows(np.arange(200) % 50, np.arange(200) % 7, aos, aos + rng.uniform(1, 600, 200),
                     n_sats=50, n_stations=7)
    plan = schedule_greedy(w, make_stations(7, antennas=3))
    for t0 in range(0, 6000, 37):
        t0_ns, t1_ns = t0 * NS, (t0 + 10) * NS
        want = np.flatnonzero((plan.start_ns < t1_ns) & (plan.end_ns > t0_ns))
        assert list(plan.active(t0_ns, t1_ns)) == list(want)


def test_priorities_and_values():
    w = make_windows([0, 1], [0, 0], [0, 0], [100, 100], n_sats=2, n_stations=1,
                     rate_bps=[1e6, 3e6])
    s = make_stations(1)
    assert list(schedule_greedy(w, s).sat) == [1]
    assert list(schedule_greedy(w, s, priority=[4.0, 1.0]).sat) == [0]
    assert list(schedule_greedy(w, s, priority=[4.0, 1.0], value="count").sat) == [0]
    assert list(schedule_optimal(w, s, value=np.array([5.0, 1.0])).sat) == [0]
    with pytest.raises(UsageError, match="priority"):
        schedule_greedy(w, s, priority=[1.0, 2.0, 3.0])
    with pytest.raises(UsageError, match="value"):
        schedule_greedy(w, s, value="bits")


def test_plan_violations_catch_bad_plans():
    w = make_windows([0, 1], [0, 0], [0, 50], [100, 150], n_sats=2, n_stations=1)
    s = make_stations(1)
    bad = ContactPlan.from_windows(w, [0, 1], [0, 0], window_values(w), method="manual",
                                   status="heuristic")
    assert any("starts before" in v for v in bad.violations(s))
    w2 = make_windows([0, 0], [0, 1], [0, 50], [100, 150], n_sats=1, n_stations=2)
    bad2 = ContactPlan.from_windows(w2, [0, 1], [0, 0], window_values(w2), method="manual",
                                    status="heuristic")
    assert any("contacts at once" in v for v in bad2.violations(make_stations(2)))
