"""The scenario's ``netemu`` section and the live emulation built from it (no root needed:
nothing is brought up here)."""

from __future__ import annotations

import numpy as np
import pytest

from orbemu.scenario import load_scenario, resolve_scenario
from orbemu.scenario.emulation import live_emulation
from tests.scenario.conftest import problems_of

SCENARIO = """\
name: live
run: {start: 2026-01-01T00:00:00Z, duration: 1h, step: 10s}
constellations:
  - name: shell
    walker: {planes: 6, sats_per_plane: 8, phasing: 1, altitude_km: 550, inclination_deg: 53}
    role: relay
  - name: eo
    walker: {planes: 1, sats_per_plane: 2, altitude_km: 500, inclination_deg: 97.4}
    role: eo
ground:
  stations:
    - {name: svalbard, lat_deg: 78.23, lon_deg: 15.39}
  sites:
    - {name: london, lat_deg: 51.51, lon_deg: -0.13, alt_m: 20}
    - {name: paris, lat_deg: 48.86, lon_deg: 2.35}
  destinations:
    - {name: frankfurt, lat_deg: 50.11, lon_deg: 8.68}
network:
  gsl: {policy: nearest, max_per_node: 1, min_elevation_deg: 20}
  monitor: [site:paris -> cloud:frankfurt]
faults:
  - station:frankfurt down at 30s for 10s
  - sat:EO-P0-S0 down at 1m
"""


def test_no_section_means_none_and_defaults_come_from_the_model(write):
    sc = load_scenario(write(SCENARIO))
    assert sc.netemu is None
    sc2 = load_scenario(write(SCENARIO + "netemu: {}\n"))
    assert sc2.netemu is not None
    assert sc2.netemu.mode == "path" and sc2.netemu.update_interval_ns == 100_000_000
    assert sc2.netemu.outage == "icmp" and sc2.netemu.queue_ms == 100.0


def test_the_section_reads_units_and_choices(write):
    sc = load_scenario(write(SCENARIO + """\
netemu:
  nodes: [site:london, sat:SHELL*]
  mode: hop
  update_interval: 50ms
  loss: 0.01
  outage: silence
  gsl_capacity_mbps: 20
"""))
    n = sc.netemu
    assert n.nodes == ("site:london", "sat:SHELL*")
    assert n.update_interval_ns == 50_000_000 and n.gsl_capacity_mbps == 20.0
    assert n.loss == 0.01 and n.outage == "silence" and n.mode == "hop"


@pytest.mark.parametrize("bad", ["mode: tunnel", "loss: 2", "outage: loud",
                                 "update_interval: 100", "mtu: 100", "queue: 5"])
def test_bad_values_are_reported_with_their_line(write, bad):
    found = problems_of(write(SCENARIO + f"netemu:\n  {bad}\n"))
    assert found and any("netemu" in str(p) for p in found)


def test_live_emulation_follows_the_scenario(write):
    world = resolve_scenario(load_scenario(write(SCENARIO + "netemu: {gsl_capacity_mbps: 20}\n")))
    built = live_emulation(world, run="lv")
    names = [n.name for n in built.nodes]
    assert names == ["paris", "frankfurt"]  # the monitored endpoints by default
    # addresses are the scenario's ground indices (svalbard 0, london 1, paris 2, frankfurt 3)
    assert [n.address for n in built.nodes] == ["10.64.0.3", "10.64.0.4"]
    sim = built.simulation
    assert len(sim.elements) == 48  # the relay constellation only
    assert list(sim.ground.names) == ["paris", "frankfurt"]
    cfg = sim.config
    assert cfg.gsl_capacity == 20e6 and cfg.gsl_policy == "nearest" and cfg.gsl_per_node == 1
    assert cfg.min_elevation_deg == 20.0
    # the station fault on frankfurt is a ground failure from 30 s to 40 s after the start
    (fail,) = [f for f in cfg.failures]
    assert fail.kind == "ground" and fail.a == 1
    assert int(fail.start) - int(built.start.ns) == 30 * 10**9
    assert any("outside the emulated network" in n for n in built.notes)  # the EO satellite
    assert built.emulator.settings.plane.mode == "path"


def test_nodes_and_mode_from_arguments(write):
    world = resolve_scenario(load_scenario(write(SCENARIO)))
    built = live_emulation(world, run="lv", nodes=["site:*"], mode="hop",
                           update_interval_ns=10**9)
    kinds = [n.kind for n in built.nodes]
    assert kinds.count("ground") == 2 and kinds.count("sat") == 48
    assert built.emulator.settings.mode == "hop"
    assert built.emulator.interval_ns == 10**9
    sats = [n for n in built.nodes if n.kind == "sat"]
    assert sats[0].address == "10.96.0.1" and sats[0].netns == "oe-lv-s0"


def test_emulator_tables_are_the_model_routes(write):
    from orbemu.network.routing import shortest_paths
    from orbemu.time import Time
    world = resolve_scenario(load_scenario(write(SCENARIO)))
    built = live_emulation(world, run="lv", nodes=["site:*", "cloud:*"])
    times = Time(int(built.start.ns) + np.arange(3, dtype=np.int64) * 10**9)
    steps = list(built.simulation.steps(times))
    for (t, delay, rate), step in zip(built.emulator.tables_at(times), steps, strict=True):
        nodes = built.emulator.topo_nodes
        routes = shortest_paths(step.topology, nodes)
        for i, a in enumerate(nodes):
            for j, b in enumerate(nodes):
                want = 0.0 if i == j else routes.delay_s(a, b)
                assert delay[i, j] == pytest.approx(want, rel=1e-12)
                if i != j and np.isfinite(want):
                    assert rate[i, j] == routes.bottleneck_bps(a, b)
        assert int(t.ns) == int(step.time.ns)
