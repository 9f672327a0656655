"""Resolving a scenario: loading what it names, selections, settings, faults, and errors."""

from __future__ import annotations

import numpy as np
import pytest

from orbemu.constants import NS_PER_S
from orbemu.errors import ScenarioError
from orbemu.io.ground import load_ground_nodes
from orbemu.scenario import load_scenario, resolve_scenario
from tests.scenario.conftest import MINIMAL


def resolve(write, text: str):
    return resolve_scenario(load_scenario(write(text)))


def resolve_error(write, text: str) -> ScenarioError:
    path = write(text)
    with pytest.raises(ScenarioError) as info:
        resolve_scenario(load_scenario(path))
    assert info.value.source == str(path)
    return info.value


def test_walker_preset_and_selection(write):
    world = resolve(write, """\
name: t
run: {start: 2026-02-01T00:00:00Z}
constellations:
  - name: eo
    walker: {planes: 2, sats_per_plane: 3, altitude_km: 500, inclination_deg: 97.4}
    role: eo
  - name: iri
    preset: iridium
    select: {names: ["IRIDIUM-P0-*", "IRIDIUM-P1-S00"], count: 5}
""")
    assert list(world.elements.names[:2]) == ["EO-P0-S0", "EO-P0-S1"]
    assert list(world.elements.names[6:]) == [f"IRIDIUM-P0-S{i:02d}" for i in range(5)]
    assert list(world.roles) == ["eo"] * 6 + ["relay"] * 5
    assert list(world.constellation) == [0] * 6 + [1] * 5
    # catalog numbers run on after the first set
    assert list(world.elements.norad_ids) == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
    assert int(world.start) == 1_769_904_000 * NS_PER_S
    assert world.select_satellites("IRIDIUM-*").tolist() == list(range(6, 11))
    assert world.select_satellites("3").tolist() == [2]


def test_ground_settings_apply_per_source(write):
    world = resolve(write, MINIMAL + """\
ground:
  stations:
    - dataset: ksat
      select: {names: [Svalbard, Troll, "T*"]}
      antennas: 3
      mask_deg: [[0, 10], [180, 20]]
  sites:
    - {name: mine, lat_deg: -24.27, lon_deg: -69.07, alt_m: 3100}
network:
  gsl: {min_elevation_deg: 30, max_range_km: 2000}
""")
    g = world.ground
    ksat = [str(n) for n in load_ground_nodes("ksat").names]
    expected = [n for n in ksat if n in ("Svalbard", "Troll") or n.startswith("T")]
    assert len(expected) >= 3
    assert list(g.names) == [*expected, "mine"]
    mine = g.index_of("mine")
    assert g.roles[mine] == "site"
    assert g.min_elevation_deg[mine] == 30.0  # network.gsl default for sites
    assert g.max_range_m[mine] == 2_000e3
    assert g.alt_m[mine] == 3100.0
    stations = np.flatnonzero(g.roles == "station")
    assert np.all(g.min_elevation_deg[stations] == 5.0)  # station default
    assert np.all(np.isinf(g.max_range_m[stations]))
    assert np.all(world.antennas[stations] == 3) and world.antennas[mine] == 1
    assert g.mask_deg is not None
    assert g.mask_deg[stations[0], 0] == 10.0 and g.mask_deg[stations[0], 180] == 20.0
    assert g.mask_deg[stations[0], 90] == pytest.approx(15.0)
    assert np.all(g.mask_deg[mine] == -90.0)


def test_targets_inline_and_csv(write, tmp_path):
    (tmp_path / "t.csv").write_text("name,lat_deg,lon_deg,priority\nA,1,2,3\nB,-4,5,1\n")
    world = resolve(write, MINIMAL + """\
targets:
  - {name: C, lat_deg: 10, lon_deg: 20}
  - file: t.csv
""")
    t = world.targets
    assert list(t.names) == ["C", "A", "B"]
    assert t.lat_deg.tolist() == [10.0, 1.0, -4.0]
    assert t.priority.tolist() == [1.0, 3.0, 1.0]


def test_bad_target_csv_names_its_line(write, tmp_path):
    (tmp_path / "t.csv").write_text("name,lat_deg,lon_deg\nA,1,2\nB,95,5\n")
    with pytest.raises(ScenarioError) as info:
        resolve(write, MINIMAL + "targets:\n  - file: t.csv\n")
    assert info.value.line == 3
    assert info.value.field == "lat_deg"
    assert "t.csv line 3, lat_deg" in str(info.value)


def test_fault_naming_an_unknown_satellite(write):
    err = resolve_error(write, MINIMAL + """\
faults:
  - sat:WALKER-P0-S0 down at 10m
  - sat:WALKER-P9-S0 down at 10m
""")
    assert err.line == 6
    assert err.field == "faults[1]"  # as written (the shorthand list)
    assert "no satellite 'WALKER-P9-S0'" in str(err)


def test_fault_naming_an_unknown_station(write):
    err = resolve_error(write, MINIMAL + """\
ground:
  stations: [ksat]
faults:
  scripted:
    - station:Svalbrd down at 10m
""")
    assert err.line == 8
    assert "did you mean 'Svalbard'?" in str(err)


def test_command_naming_nothing(write):
    err = resolve_error(write, MINIMAL + """\
schedules:
  - {at: 1m, target: NOPE-1, command: reboot}
""")
    assert err.field == "schedules[0].target" and err.line == 5


def test_selection_keeping_nothing(write):
    err = resolve_error(write, """\
name: t
constellations:
  - dataset: iridium-next
    select: {ids: [1]}
""")
    assert err.field == "constellations[0].select" and err.line == 4


def test_bad_element_file_is_placed_at_its_entry(write, tmp_path):
    (tmp_path / "bad.tle").write_text("not a tle\n")
    err = resolve_error(write, MINIMAL + "  - file: bad.tle\n")
    assert err.field == "constellations[1].file" and err.line == 4
    assert "bad.tle" in str(err)


def test_random_faults_resolve_to_named_targets(write):
    world = resolve(write, """\
name: t
seed: 5
run: {duration: 24h, step: 60s}
constellations:
  - walker: {planes: 4, sats_per_plane: 10, altitude_km: 550, inclination_deg: 53}
ground:
  stations: [ksat]
faults:
  scripted: ["sat:WALKER-P0-S0 down at 23h"]
  random:
    - {kind: seu, rate_per_day: 1, targets: "WALKER-P1-*"}
    - {kind: station, rate_per_day: 0.5, duration: 1h}
    - {kind: isl, rate_per_day: 1}
""")
    kinds = {f.kind for f in world.faults}
    assert kinds == {"sat", "seu", "station"}
    seu = [f for f in world.faults if f.kind == "seu"]
    assert seu and all(f.target.startswith("WALKER-P1-") for f in seu)
    starts = [f.at.time_ns(int(world.start)) for f in world.faults]
    assert starts == sorted(starts)
    assert [k for k, _ in world.random_isl] == [2]
    again = resolve(write, world.scenario.source_text)
    assert again.faults == world.faults
