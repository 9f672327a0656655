"""Remote-site paths: the exit choice against an independent per-gateway computation, the fiber
model, geometry against a separate propagation, outages against scheduled failures, chunking."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orbemu.constants import C_M_S, NS_PER_S
from orbemu.errors import InputError, UsageError
from orbemu.io.ground import load_ground_nodes
from orbemu.links.budget import KA_GATEWAY_UPLINK, KU_USER_DOWNLINK, radio_budget
from orbemu.network.analysis import FIBER_SPEED_M_S, geodesic_distance_m, latency_series
from orbemu.network.simulation import Failure, NetworkConfig, NetworkSimulation
from orbemu.network.site import (
    SiteLinkBudgets,
    SitePlan,
    SiteSeries,
    gateway_usage,
    outage_windows,
    path_capacity,
    site_series,
    summarize_site,
)
from orbemu.orbits.frames import teme_to_itrf
from orbemu.orbits.ground_nodes import GroundNodes
from orbemu.orbits.presets import walker_preset
from orbemu.orbits.propagation import propagate
from orbemu.time import Time

from ..conftest import ONE_METRE

START = "2000-01-01T00:00:00Z"


@pytest.fixture(scope="module")
def world():
    """Hypatia's synthetic Starlink shell, a site in the Atacama, the real Starlink gateways of
    the Americas, two AWS regions and the real PoPs."""
    elements = walker_preset("hypatia-starlink-550")
    gateways = load_ground_nodes("starlink-gateways")
    americas = np.flatnonzero((gateways.lon_deg < -30) & (gateways.lon_deg > -130))
    site = GroundNodes.from_arrays(["escondida"], [-24.27], [-69.07], [3100.0], roles="site")
    ground = GroundNodes.concat([site, gateways.select(americas)])
    clouds = load_ground_nodes("cloud-regions")
    dest = clouds.select([clouds.index_of("aws-us-east-1"), clouds.index_of("aws-sa-east-1")])
    pops = load_ground_nodes("starlink-pops")
    times = Time.range(START, "4m", "10s")
    return elements, ground, dest, pops, times


def plan_for(world, policy, **kw):
    _, ground, dest, pops, _ = world
    return SitePlan.build(ground, [0], np.arange(1, len(ground)), dest, pops=pops,
                          policy=policy, **kw)


@pytest.fixture(scope="module")
def runs(world):
    elements, ground, _, _, times = world
    sim = NetworkSimulation(elements, ground, NetworkConfig())
    out = {}
    for policy in ("home-pop", "gateway-pop", "any-gateway"):
        plan = plan_for(world, policy)
        out[policy] = (plan, site_series(sim, times, plan))
    # the independent reference: every (site, gateway) pair's route, by the latency module
    pairs = np.stack([np.zeros(len(ground) - 1, np.int64), np.arange(1, len(ground))], 1)
    out["pairs"] = latency_series(sim, times, pairs)
    return out


@pytest.mark.parametrize("policy", ["home-pop", "gateway-pop", "any-gateway"])
def test_exit_is_the_gateway_of_least_total_rtt(world, runs, policy):
    plan, series = runs[policy]
    ref = runs["pairs"]
    n_steps, n_gw = ref.n_steps, ref.n_pairs
    space = ref.rtt_ms.reshape(n_steps, n_gw)                     # NaN when unreachable
    fiber = plan.fiber_rtt_ms[0]                                  # (n_gw, n_dest)
    assert series.reachable.all()  # a sunny day in the Atacama: always connected
    for d in range(plan.n_dest):
        total = np.where(np.isnan(space), np.inf, space) + fiber[:, d][None, :]
        rtt = series.column("rtt_ms", d)
        np.testing.assert_allclose(rtt, total.min(axis=1), rtol=0, atol=1e-9)
        gw = series.column("gateway", d)
        # the chosen gateway attains the minimum (ties: the first one)
        assert np.array_equal(gw, np.argmin(total, axis=1))
        np.testing.assert_allclose(series.column("space_rtt_ms", d),
                                   space[np.arange(n_steps), gw], atol=1e-9)
        np.testing.assert_allclose(series.column("ground_rtt_ms", d), fiber[gw, d], atol=1e-12)
        np.testing.assert_allclose(series.column("rtt_ms", d),
                                   series.column("space_rtt_ms", d)
                                   + series.column("ground_rtt_ms", d), atol=1e-9)
        for k in range(n_steps):
            row = k * series.n_flows + d
            assert np.array_equal(series.path(row), ref.path(k * n_gw + gw[k]))
            path = series.path(row)
            assert path[0] == series.n_sats + plan.sites[0]
            assert path[-1] == series.n_sats + plan.gateways[gw[k]]
            assert series.first_sat[row] == path[1] and series.last_sat[row] == path[-2]
            assert series.hops[row] == len(path) - 1


def test_change_flags_follow_the_stored_paths(runs):
    _plan, s = runs["any-gateway"]
    nf = s.n_flows
    for f in range(nf):
        for k in range(1, s.n_steps):
            a, b = (k - 1) * nf + f, k * nf + f
            changed = not np.array_equal(s.path(a), s.path(b))
            assert s.path_changed[b] == changed
            assert s.handover[b] == (s.first_sat[a] != s.first_sat[b])
            assert s.gateway_changed[b] == (s.gateway[a] != s.gateway[b])
        assert not s.path_changed[f] and not s.handover[f]  # nothing before the first instant
    assert s.handover.any() and s.path_changed.any()


def test_fiber_model_by_hand(world, runs):
    _, ground, dest, pops, _ = world
    plan, _ = runs["home-pop"]
    scl = list(pops.names).index(plan.pop_names[plan.home_pop[0]])
    assert str(pops.names[scl]).startswith("SCL")  # Santiago is the PoP nearest the Atacama
    g = 5
    glat, glon = plan.gateway_lat_deg[g], plan.gateway_lon_deg[g]
    for d in range(2):
        legs = (geodesic_distance_m(glat, glon, pops.lat_deg[scl], pops.lon_deg[scl])
                + geodesic_distance_m(pops.lat_deg[scl], pops.lon_deg[scl], dest.lat_deg[d],
                                      dest.lon_deg[d]))
        assert plan.fiber_m[0, g, d] == pytest.approx(1.5 * legs, abs=ONE_METRE)
        assert plan.fiber_rtt_ms[0, g, d] == pytest.approx(2 * 1.5 * legs / FIBER_SPEED_M_S
                                                           * 1e3, rel=1e-12)
    direct, _ = runs["any-gateway"]
    d_m = geodesic_distance_m(glat, glon, dest.lat_deg[0], dest.lon_deg[0])
    assert direct.fiber_m[0, g, 0] == pytest.approx(1.5 * d_m, abs=ONE_METRE)
    via, _ = runs["gateway-pop"]
    p = via.exit_pop[0, g]
    near = geodesic_distance_m(glat, glon, pops.lat_deg, pops.lon_deg)
    assert p == int(np.argmin(near))
    unit = SitePlan.build(ground, [0], np.arange(1, len(ground)), dest, detour_factor=1.0)
    assert unit.policy == "any-gateway"  # no PoPs given
    assert unit.fiber_m[0, g, 0] == pytest.approx(d_m, abs=ONE_METRE)
    # 2/3 c: 1000 km of fiber is 10 ms there and back
    assert 2 * 1e6 / FIBER_SPEED_M_S * 1e3 == pytest.approx(10.0, rel=1e-3)
    assert FIBER_SPEED_M_S == pytest.approx(2 / 3 * C_M_S)


def test_link_geometry_matches_a_separate_propagation(world, runs):
    elements, ground, _, _, times = world
    plan, s = runs["gateway-pop"]
    eph = propagate(elements, times)
    r, _ = teme_to_itrf(eph.position_m, eph.velocity_m_s, times)
    site = ground.itrf_m[0]
    for k in (0, 7, s.n_steps - 1):
        for f in range(s.n_flows):
            row = k * s.n_flows + f
            rng = np.linalg.norm(r[s.first_sat[row], k] - site)
            assert s.site_range_m[row] == pytest.approx(rng, abs=5 * ONE_METRE)
            gw = ground.itrf_m[plan.gateways[s.gateway[row]]]
            assert s.gateway_range_m[row] == pytest.approx(
                np.linalg.norm(r[s.last_sat[row], k] - gw), abs=5 * ONE_METRE)
    assert np.all(s.site_elevation_deg >= 25.0 - 1e-9)
    assert np.all(s.gateway_elevation_deg >= 25.0 - 1e-9)


def test_capacity_is_the_smallest_budget_on_the_path(runs):
    plan, s = runs["any-gateway"]
    to_site, _from_site = path_capacity(s, plan)
    assert np.all(np.isfinite(to_site)) and np.all(to_site > 0)
    row = 5
    gw = s.gateway[row]
    site_down = radio_budget(KU_USER_DOWNLINK, s.site_range_m[row],
                             np.radians(s.site_elevation_deg[row]),
                             lat_rad=np.radians(plan.site_lat_deg[0]),
                             lon_rad=np.radians(plan.site_lon_deg[0]),
                             station_alt_m=plan.site_alt_m[0]).rate_bps
    gw_up = radio_budget(KA_GATEWAY_UPLINK, s.gateway_range_m[row],
                         np.radians(s.gateway_elevation_deg[row]),
                         lat_rad=np.radians(plan.gateway_lat_deg[gw]),
                         lon_rad=np.radians(plan.gateway_lon_deg[gw]),
                         station_alt_m=plan.gateway_alt_m[gw]).rate_bps
    assert to_site[row] == pytest.approx(min(float(site_down), float(gw_up),
                                             s.isl_capacity_bps[row]))
    # without budgets only the ISLs limit the path (10 Gbit/s by default)
    bare = SitePlan.build(GroundNodes.from_arrays(["a", "b"], [0, 1], [0, 1]), [0], [1],
                          GroundNodes.from_arrays(["c"], [2], [2]),
                          budgets=SiteLinkBudgets(None, None, None, None))
    assert not bare.budgets.configured
    summary = summarize_site(s, plan)
    assert np.all(summary.to_site_min_bps <= summary.to_site_p50_bps)
    assert summary.to_site_p50_bps[0] == pytest.approx(np.median(to_site[0::2]))


def test_summary_equals_the_series(runs):
    plan, s = runs["home-pop"]
    summ = summarize_site(s, plan)
    for f in range(s.n_flows):
        rtt = s.column("rtt_ms", f)
        assert summ.availability[f] == 1.0
        assert summ.rtt_p50_ms[f] == pytest.approx(np.percentile(rtt, 50))
        assert summ.rtt_p99_ms[f] == pytest.approx(np.percentile(rtt, 99))
        assert summ.rtt_max_ms[f] == rtt.max()
        assert summ.handovers[f] == s.column("handover", f).sum()
        assert summ.outages[f] == 0 and summ.outage_s[f] == 0.0
        ids, shares = gateway_usage(s, f)
        assert shares.sum() == pytest.approx(1.0) and np.all(np.diff(shares) <= 0)
        assert ids[0] == np.bincount(s.column("gateway", f)).argmax()
    assert summ.window_s == s.n_steps * 10.0
    assert summ.handovers_per_h[0] == pytest.approx(summ.handovers[0] / (summ.window_s / 3600))
    # home-pop: every destination sees the same space path (the one to the home PoP)
    assert np.array_equal(s.column("gateway", 0), s.column("gateway", 1))
    assert np.all(summ.rtt_min_ms >= summ.direct_fiber_rtt_ms * 0.5)


def test_site_failure_gives_exactly_its_outage_window(world):
    elements, ground, _dest, _pops, times = world
    t0 = times.ns[0]
    down_from, down_to = t0 + 60 * NS_PER_S, t0 + 125 * NS_PER_S
    config = NetworkConfig(isl="none", failures=(Failure("ground", 0, down_from, down_to),))
    sim = NetworkSimulation(elements, ground, config)
    plan = plan_for(world, "any-gateway")
    s = site_series(sim, times, plan)
    reach = s.column("reachable", 0)
    inside = (times.ns >= down_from) & (times.ns < down_to)
    assert not reach[inside].any()
    starts, ends = outage_windows(times.ns, reach, 10 * NS_PER_S)
    # the failure's window, sampled at 10 s: 60 s .. 130 s (the first instant after 125 s)
    assert (t0 + 60 * NS_PER_S) in starts
    k = int(np.flatnonzero(starts == t0 + 60 * NS_PER_S)[0])
    assert ends[k] == t0 + 130 * NS_PER_S
    summ = summarize_site(s, plan)
    assert summ.outages[0] == starts.size and summ.outage_s[0] >= 70.0
    assert summ.availability[0] == pytest.approx(reach.mean())
    assert np.isnan(s.column("rtt_ms", 0)[inside]).all()
    assert (s.column("gateway", 0)[inside] == -1).all()
    assert (s.column("hops", 0)[~reach] == -1).all()
    # bent pipe: one satellite between the site and its gateway
    assert set(s.hops[s.reachable]) == {2}
    assert np.all(np.isinf(s.isl_capacity_bps[s.reachable]))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.booleans(), min_size=1, max_size=60), st.integers(1, 10**10))
def test_outage_windows_cover_exactly_the_unreachable_instants(flags, step):
    reach = np.array(flags)
    t = np.arange(reach.size, dtype=np.int64) * step + 12345
    starts, ends = outage_windows(t, reach, step)
    covered = np.zeros(reach.size, bool)
    for a, b in zip(starts, ends, strict=True):
        assert a < b
        inside = (t >= a) & (t < b)
        assert not reach[inside].any()
        covered |= inside
        assert b == t[-1] + step or reach[np.flatnonzero(t == b)[0]]
    assert np.array_equal(covered, ~reach)
    assert np.all(starts[1:] > ends[:-1])  # separate runs are apart
    assert ((ends - starts).sum() // step) == (~reach).sum()


def test_chunked_run_equals_one_run(world, runs):
    from orbemu.distributed import run_site

    elements, ground, _, _, times = world
    plan, whole = runs["gateway-pop"]
    got = run_site(elements, ground, NetworkConfig(), times, plan, chunk_steps=7)
    assert_same(got, whole)


def assert_same(a: SiteSeries, b: SiteSeries) -> None:
    assert np.array_equal(a.times.ns, b.times.ns)
    for name in (*SiteSeries._ROW_FIELDS, "path_ptr", "path_nodes"):
        assert np.array_equal(getattr(a, name), getattr(b, name), equal_nan=True), name


def test_bad_plans_are_refused(world):
    _, ground, dest, pops, _ = world
    gws = np.arange(1, len(ground))
    with pytest.raises(InputError, match="needs points of presence"):
        SitePlan.build(ground, [0], gws, dest, policy="home-pop")
    with pytest.raises(InputError, match="unknown exit policy"):
        SitePlan.build(ground, [0], gws, dest, pops=pops, policy="cheapest")
    with pytest.raises(InputError, match="detour factor"):
        SitePlan.build(ground, [0], gws, dest, detour_factor=0.5)
    with pytest.raises(UsageError, match="both a site and a gateway"):
        SitePlan.build(ground, [0, 1], gws, dest)
    with pytest.raises(InputError, match="no PoP named 'Atlantis'"):
        SitePlan.build(ground, [0], gws, dest, pops=pops, home_pop=["Atlantis"])
    lima = SitePlan.build(ground, [0], gws, dest, pops=pops, home_pop=["lim - limaper1"])
    assert str(lima.pop_names[lima.home_pop[0]]).startswith("LIM")
