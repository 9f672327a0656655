"""From a scenario to the engine's setup: what is modelled, contacts, network, faults, commands."""

from __future__ import annotations

import numpy as np
import pytest

from orbemu.engine import Emulation, MemorySink
from orbemu.errors import ScenarioError
from orbemu.scenario import parse_scenario_text, resolve_scenario, with_overrides
from orbemu.scenario.build import emulation_setup

TEXT = """\
name: build-test
seed: 11
run: {start: 2026-06-01T00:00:00Z, duration: 1h, step: 10s, checkpoint_every: 10m}
constellations:
  - name: eo
    walker: {planes: 2, sats_per_plane: 3, phasing: 1, altitude_km: 550, inclination_deg: 97.6,
             epoch: 2026-06-01T00:00:00Z}
    role: eo
    spacecraft: imager
  - name: net
    walker: {planes: 6, sats_per_plane: 8, phasing: 1, altitude_km: 550, inclination_deg: 53,
             epoch: 2026-06-01T00:00:00Z}
    role: relay
  - name: tracked
    walker: {planes: 1, sats_per_plane: 2, altitude_km: 800, inclination_deg: 60,
             epoch: 2026-06-01T00:00:00Z}
    role: tracked
spacecraft:
  imager:
    battery: {capacity_wh: 90}
    radio: {downlink_rate_bps: 2.0e8, housekeeping_interval_s: 20}
ground:
  stations:
    - {name: Svalbard, lat_deg: 78.23, lon_deg: 15.39, antennas: 2, setup_s: 30}
  sites:
    - {name: mine, lat_deg: -24.27, lon_deg: -69.07}
  destinations:
    - {name: cloud, lat_deg: -23.55, lon_deg: -46.63}
targets:
  - {name: atacama, lat_deg: -23.5, lon_deg: -68.2, revisit_s: 600}
network:
  monitor: [site:mine -> cloud:cloud]
schedules:
  - {at: 5m, target: EO-P0-S1, command: capture, args: {target: atacama}, every: 20m}
faults:
  scripted:
    - isl:NET-P0-S0,NET-P0-S1 down at 10m for 5m
    - battery:EO-P1-S0 degrade to 80% at 3m
  random:
    - {kind: isl, rate_per_day: 40, duration: 5m}
outputs:
  network_every: 30s
  housekeeping_every: 2m
"""


def setup_of(text: str = TEXT, **overrides):
    sc = parse_scenario_text(text, "build-test.yaml")
    if overrides:
        sc = with_overrides(sc, **overrides)
    return emulation_setup(resolve_scenario(sc))


def test_parts_of_the_setup():
    s = setup_of()
    assert len(s.elements) == 6 + 48 + 2
    assert s.fleet is not None and s.fleet.sats.tolist() == list(range(6))
    (cls,) = s.fleet.classes
    assert cls.battery.capacity_wh == 90 and cls.radio.downlink_rate_bps == 2.0e8
    assert cls.imager is not None                       # the models' default imager
    assert s.fleet.targets.revisit_s.tolist() == [600.0]
    assert s.contacts is not None and s.contacts.antennas.tolist() == [2]
    assert s.contacts.setup_s.tolist() == [30.0]
    net = s.network
    assert net is not None and net.relay.tolist() == list(range(6, 54))
    assert [str(s.ground.names[i]) for i in net.nodes] == ["mine", "cloud"]
    assert net.monitor_labels == (("site:mine", "cloud:cloud"),)
    assert net.interval_ns == 30 * 10**9 and net.isl_plan is not None
    assert s.records.checkpoint_every_ns == 600 * 10**9
    assert s.records.housekeeping_every_ns == 120 * 10**9
    (cmd,) = s.commands
    assert cmd.command == "capture" and cmd.args["target"] == 0 and cmd.sats == (1,)
    assert cmd.time_ns == s.start_ns + 300 * 10**9 and cmd.every_ns == 1200 * 10**9
    assert "name: build-test" in s.scenario_text


def test_faults_resolved_and_random_ones_drawn_over_the_isl_plan():
    s = setup_of()
    kinds = [(f.kind, f.origin) for f in s.faults]
    assert ("isl", "scripted") in kinds and ("battery", "scripted") in kinds
    random = [f for f in s.faults if f.origin == "random"]
    assert random and all(f.kind == "isl" for f in random)
    assert [f.start_ns for f in s.faults] == sorted(f.start_ns for f in s.faults)
    plan = {tuple(sorted(p)) for p in s.network.relay[s.network.isl_plan.pairs].tolist()}
    assert all(tuple(sorted((f.sat, f.sat_b))) in plan for f in random)
    battery = next(f for f in s.faults if f.kind == "battery")
    assert battery.sat == 3 and battery.fraction == 0.8
    # the same seed draws the same faults; another seed others
    again = setup_of()
    assert [f.spec for f in again.faults] == [f.spec for f in s.faults]
    other = setup_of(seed=12)
    assert [f.spec for f in other.faults if f.origin == "random"] != [f.spec for f in random]


def test_the_setup_runs():
    s = setup_of(duration="20m")
    sink = MemorySink()
    summary = Emulation(s, sink).run()
    assert summary.status == "completed" and summary.n_modelled == 6
    hk = sink.tables["housekeeping"]
    # modelled satellites and the tracked ones (position only) every 2 minutes
    assert {r["sat"] for r in hk} == set(range(6)) | {54, 55}
    tracked = [r for r in hk if r["sat"] == 54]
    assert len(tracked) == 10 and all(r["alt_m"] > 700e3 for r in tracked)


def test_a_relay_constellation_with_a_class_is_modelled():
    text = TEXT.replace("    role: relay\n", "    role: relay\n    spacecraft: imager\n")
    s = setup_of(text)
    assert s.fleet is not None and s.fleet.sats.size == 54


def test_unknown_capture_target():
    text = TEXT.replace("args: {target: atacama}", "args: {target: atacma}")
    with pytest.raises(ScenarioError, match="did you mean 'atacama'"):
        setup_of(text)


def test_set_param_paths_are_checked():
    text = TEXT.replace(
        "  - {at: 5m, target: EO-P0-S1, command: capture, args: {target: atacama}, every: 20m}",
        "  - {at: 5m, target: all, command: set_param, args: {path: run.step, value: 1}}")
    with pytest.raises(ScenarioError, match=r"set_param cannot change 'run\.step'"):
        setup_of(text)


def test_monitored_path_uses_network_nodes_only():
    s = setup_of()
    assert np.all(s.ground.roles[s.network.nodes] != "station")
