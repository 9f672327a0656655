"""Loading scenario files: valid ones give models; bad ones name file, line, YAML path and fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from orbemu.constants import NS_PER_S
from orbemu.errors import DataError, ScenarioError
from orbemu.scenario import Scenario, load_scenario, parse_scenario_text
from tests.scenario.conftest import MINIMAL, problems_of


def the_problem(path: Path, field: str) -> ScenarioError:
    """The one problem reported for ``field`` (fails if there is none)."""
    found = [p for p in problems_of(path) if p.field == field]
    assert found, f"no problem at {field}; got {[p.field for p in problems_of(path)]}"
    return found[0]


def check(err: ScenarioError, path: Path, line: int, *needles: str) -> None:
    """The rendered message names the file, the line, the path and contains each needle."""
    text = str(err)
    assert err.source == str(path)
    assert err.line == line
    assert f"{path} line {line}, {err.field}:" in text
    for needle in needles:
        assert needle in text, f"{needle!r} not in {text!r}"


# ---- valid ---------------------------------------------------------------------------------
def test_minimal_scenario_fills_defaults(write):
    sc = load_scenario(write(MINIMAL))
    assert isinstance(sc, Scenario)
    assert sc.run.step_ns == 10 * NS_PER_S
    assert sc.run.duration_ns == 3 * 3600 * NS_PER_S
    assert sc.run.start_ns is None  # "epoch"
    assert sc.run.clock.mode == "max"
    assert sc.constellations[0].name == "walker"
    assert sc.constellations[0].walker is not None
    assert sc.constellations[0].walker.n_sats == 6
    assert sc.source_text.startswith("name: t")


def test_models_are_frozen(write):
    sc = load_scenario(write(MINIMAL))
    with pytest.raises(Exception, match="frozen"):
        sc.run.step_ns = 1  # type: ignore[misc]


def test_yaml_12_scalars(write):
    # 1:30 is 1 h 30 min (YAML 1.1 would read 5400 as a base-60 int); 'no' and dates stay text.
    sc = load_scenario(write(MINIMAL + """\
run: {start: 2026-05-30T18:00:00Z, duration: 1:30, step: 30s, clock: 10x}
ground:
  sites: [{name: "no", lat_deg: 60, lon_deg: 10}]
"""))
    assert sc.run.duration_ns == 5400 * NS_PER_S
    assert sc.run.start_ns == 1_780_164_000 * NS_PER_S
    assert sc.run.clock.mode == "paced" and sc.run.clock.speed == 10.0
    assert sc.ground.sites[0].name == "no"


def test_to_yaml_round_trips(write):
    sc = load_scenario("default")
    again = parse_scenario_text(sc.to_yaml(), "dumped.yaml")
    assert again.model_dump() == sc.model_dump()


def test_relative_file_paths_are_resolved(write, tmp_path):
    (tmp_path / "sats").mkdir()
    tle = tmp_path / "sats" / "one.tle"
    tle.write_text("ISS\n1 25544U 98067A   26150.52000000  .00010000  00000-0  18000-3 0  9990\n"
                   "2 25544  51.6400 100.0000 0004000  80.0000 280.0000 15.50000000    07\n")
    sc = load_scenario(write(MINIMAL + "  - sats/one.tle\n"))
    assert sc.constellations[1].file == str(tle.resolve())
    assert sc.constellations[1].name == "one"


# ---- every problem at once, in line order ------------------------------------------------
def test_several_problems_are_all_reported_in_line_order(write):
    path = write("""\
        name: t
        seed: -1
        run:
          stp: 10s
        constellations:
          - walker: {planes: 0, sats_per_plane: 3, altitude_km: 550, inclination_deg: 53}
        """)
    probs = problems_of(path)
    assert [p.field for p in probs] == ["seed", "run.stp", "constellations[0].walker.planes"]
    assert [p.line for p in probs] == [2, 4, 6]
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value).startswith(f"{path}: 3 problems")


# ---- per section: misspelled key, wrong type, missing, out of range, bad duration, name ------
def test_top_level_misspelled_key(write):
    path = write(MINIMAL + "outptus: {report: false}\n")
    check(the_problem(path, "outptus"), path, 4, "unknown key 'outptus'",
          "did you mean 'outputs'?", "Keys allowed here:")


def test_run_bad_duration(write):
    path = write(MINIMAL + "run:\n  duration: 3 hours\n")
    check(the_problem(path, "run.duration"), path, 5, "cannot read duration '3 hours'",
          "Write a number and a unit")


def test_run_bare_number_duration(write):
    path = write(MINIMAL + "run:\n  step: 10\n")
    check(the_problem(path, "run.step"), path, 5, "needs a unit", "bare number 10")


def test_run_bad_clock_and_start(write):
    path = write(MINIMAL + "run:\n  clock: fast\n  start: yesterday\n")
    check(the_problem(path, "run.clock"), path, 5, "'fast'", "realtime", "10x")
    check(the_problem(path, "run.start"), path, 6, "'yesterday'", "ISO 8601")


def test_run_step_longer_than_duration(write):
    path = write(MINIMAL + "run:\n  duration: 1m\n  step: 2m\n")
    check(the_problem(path, "run"), path, 4, "step is longer than the run", "shorter")


def test_constellation_misspelled_walker_key(write):
    path = write("""\
        name: t
        constellations:
          - starlink
          - name: shell
            walker:
              plannes: 4
              sats_per_plane: 4
              altitude_km: 550
              inclination_deg: 97.6
        """)
    check(the_problem(path, "constellations[1].walker.plannes"), path, 6,
          "unknown key 'plannes' — did you mean 'planes'?", "sats_per_plane")
    check(the_problem(path, "constellations[1].walker.planes"), path, 5,
          "missing required key 'planes'", "Add planes: under constellations[1].walker",
          "number of orbital planes")


def test_constellation_wrong_type_and_range(write):
    path = write("""\
        name: t
        constellations:
          - walker: {planes: four, sats_per_plane: 3, altitude_km: 550, inclination_deg: 190}
        """)
    check(the_problem(path, "constellations[0].walker.planes"), path, 3, "'four'",
          "valid integer")
    check(the_problem(path, "constellations[0].walker.inclination_deg"), path, 3,
          "less than or equal to 180", "inclination")


def test_constellation_unknown_dataset_and_preset(write):
    path = write("""\
        name: t
        constellations:
          - starlnk
          - preset: kuipr
        """)
    check(the_problem(path, "constellations[0]"), path, 3,
          "no bundled element set 'starlnk' — did you mean 'starlink'?", "Bundled sets:")
    check(the_problem(path, "constellations[1].preset"), path, 4,
          "no constellation preset 'kuipr' — did you mean 'kuiper'?", "Presets:")


def test_constellation_two_sources_and_bad_role(write):
    path = write("""\
        name: t
        constellations:
          - dataset: starlink
            preset: kuiper
          - dataset: starlink
            role: ralay
        """)
    check(the_problem(path, "constellations[0]"), path, 3,
          "exactly one of dataset, file, walker, preset", "dataset and preset")
    check(the_problem(path, "constellations[1].role"), path, 6, "'ralay' is not allowed",
          "did you mean 'relay'?")


def test_constellation_missing_file(write):
    path = write(MINIMAL + "  - file: nope.tle\n")
    check(the_problem(path, "constellations[1].file"), path, 4, "file 'nope.tle' not found",
          "relative to the scenario file")


def test_constellation_walker_altitude_xor_mean_motion(write):
    path = write("""\
        name: t
        constellations:
          - walker: {planes: 2, sats_per_plane: 3, inclination_deg: 53}
        """)
    check(the_problem(path, "constellations[0].walker"), path, 3,
          "exactly one of altitude_km and mean_motion_rev_day", "altitude_km: 550")


def test_ground_bad_values(write):
    path = write(MINIMAL + """\
ground:
  stations:
    - dataset: ksatt
  sites:
    - {name: mine, lat_deg: 95, lon_deg: 0}
    - {name: other, lat_deg: 10}
    - {nmae: x, lat_deg: 1, lon_deg: 2}
""")
    check(the_problem(path, "ground.stations[0].dataset"), path, 6,
          "no bundled ground list 'ksatt' — did you mean 'ksat'?", "Bundled lists:")
    check(the_problem(path, "ground.sites[0].lat_deg"), path, 8, "got 95",
          "less than or equal to 90")
    check(the_problem(path, "ground.sites[1]"), path, 9, "needs lat_deg and lon_deg")
    check(the_problem(path, "ground.sites[2].nmae"), path, 10, "did you mean 'name'?")


def test_spacecraft_bad_values(write):
    # The keys are those of orbemu.spacecraft.classes: one schema for the models and the files.
    path = write(MINIMAL + """\
spacecraft:
  eo:
    battery:
      capacity_wh: -5
      inital_soc: 0.5
    loads: {payload_w: 30}
    atitude: {slew_rate_deg_s: 1}
""")
    check(the_problem(path, "spacecraft.eo.battery.capacity_wh"), path, 7, "greater than 0")
    check(the_problem(path, "spacecraft.eo.battery.inital_soc"), path, 8,
          "did you mean 'initial_soc'?")
    check(the_problem(path, "spacecraft.eo.atitude"), path, 10, "did you mean 'attitude'?")


def test_spacecraft_rules_across_fields(write):
    path = write(MINIMAL + """\
spacecraft:
  eo:
    battery: {safe_enter_soc: 0.6, safe_exit_soc: 0.5}
""")
    check(the_problem(path, "spacecraft.eo"), path, 5,
          "battery: thresholds out of order", "min_soc < safe_enter_soc < safe_exit_soc")


def test_spacecraft_schema_mirrors_the_models():
    from dataclasses import fields

    from orbemu.scenario.model import SpacecraftClass as Section
    from orbemu.spacecraft.classes import SECTIONS, SpacecraftClass
    assert set(Section.model_fields) == set(SECTIONS)
    for name, spec in SECTIONS.items():
        sub = Section.model_fields[name].annotation
        sub = next(a for a in getattr(sub, "__args__", (sub,)) if a is not type(None))
        assert set(sub.model_fields) == {f.name for f in fields(spec)}, name
    # defaults build the models' defaults, field for field
    assert Section().build("default") == SpacecraftClass()


def test_unknown_spacecraft_class_reference(write):
    path = write(MINIMAL + """\
    spacecraft: eo-smalsat
spacecraft:
  eo-smallsat: {}
""")
    check(the_problem(path, "constellations[0].spacecraft"), path, 4,
          "no spacecraft class 'eo-smalsat' — did you mean 'eo-smallsat'?",
          "Define it under spacecraft:")


def test_targets_bad(write):
    path = write(MINIMAL + """\
targets:
  - {name: a, lat_deg: 10, lon_deg: 200}
  - {name: b, lat_deg: 10, lon_deg: 20, priority: 0}
  - {lat_deg: 1, lon_deg: 2}
""")
    check(the_problem(path, "targets[0].lon_deg"), path, 5, "less than or equal to 180")
    check(the_problem(path, "targets[1].priority"), path, 6, "greater than 0")
    check(the_problem(path, "targets[2]"), path, 7, "either a file or an inline point")


def test_network_bad(write):
    path = write(MINIMAL + """\
network:
  isl: {mode: grid, max_range_km: -1}
  gsl: {policy: nearst}
  monitor:
    - site:mine to cloud:aws
""")
    check(the_problem(path, "network.isl.mode"), path, 5, "'grid' is not allowed",
          "plus-grid")
    check(the_problem(path, "network.isl.max_range_km"), path, 5, "greater than 0")
    check(the_problem(path, "network.gsl.policy"), path, 6, "did you mean 'nearest'?")
    check(the_problem(path, "network.monitor[0]"), path, 8, "cannot read endpoint pair",
          "site:NAME -> cloud:NAME")


def test_network_monitor_names_must_exist(write):
    path = write(MINIMAL + """\
ground:
  sites: [{name: mine, lat_deg: -24, lon_deg: -69}]
  destinations: [{name: aws-us-east-1, lat_deg: 39, lon_deg: -77}]
network:
  monitor:
    - site:mine -> cloud:aws-us-east1
    - site:mine -> gateway:x
""")
    probs = [p for p in problems_of(path) if p.field and p.field.startswith("network.monitor")]
    assert [p.line for p in probs] == [9, 10]
    assert "did you mean 'aws-us-east-1'?" in str(probs[0])
    assert "ground.gateways is empty" in str(probs[1])


def test_schedules_bad(write):
    path = write(MINIMAL + """\
schedules:
  - {at: 10 minutes, target: all, command: set_mode}
  - {at: 10m, target: constellation:nope, command: launch}
""")
    check(the_problem(path, "schedules[0].at"), path, 5, "10 minutes", "offset from the run")
    check(the_problem(path, "schedules[1].command"), path, 6, "'launch' is not allowed",
          "set_mode")


def test_faults_bad(write):
    path = write(MINIMAL + """\
faults:
  scripted:
    - sat:X explode at 1h
    - {kind: battery, target: A, at: 1h}
  random:
    - {kind: seu, rate_per_day: 0}
""")
    check(the_problem(path, "faults.scripted[0]"), path, 6, "cannot be 'explode'",
          "KIND:TARGET EFFECT")
    check(the_problem(path, "faults.scripted[1]"), path, 7, "needs the capacity left",
          "fraction: 0.7")
    check(the_problem(path, "faults.random[0].rate_per_day"), path, 9, "greater than 0")


def test_outputs_bad(write):
    path = write(MINIMAL + """\
outputs:
  record: [housekeeping, evnts]
""")
    check(the_problem(path, "outputs.record[1]"), path, 5, "'evnts' is not allowed",
          "did you mean 'events'?")


def test_outputs_decimation_must_be_a_multiple_of_the_step(write):
    # Checked once the sections validate (it relates two sections).
    path = write(MINIMAL + """\
outputs:
  housekeeping_every: 15s
""")
    check(the_problem(path, "outputs.housekeeping_every"), path, 5,
          "not a multiple of the step (10s)", "Use a multiple of 10s")


def test_duplicate_keys(write):
    path = write(MINIMAL + "seed: 1\nseed: 2\n")
    check(the_problem(path, "seed"), path, 5, "appears twice (first on line 4)")


# ---- not YAML, not a mapping, not a file ---------------------------------------------------
def test_yaml_syntax_error_names_the_line(write):
    path = write("name: t\nconstellations:\n  - walker: {planes: 2\n")
    probs = problems_of(path)
    assert len(probs) == 1
    assert probs[0].line is not None and probs[0].line >= 3
    assert "not valid YAML" in str(probs[0])
    assert "indentation" in str(probs[0])


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "42\n", "null\n"])
def test_not_a_mapping(write, text):
    path = write(text)
    probs = problems_of(path)
    assert "a scenario is a YAML mapping" in str(probs[0])


def test_unknown_name_is_a_data_error():
    with pytest.raises(DataError, match=r"(?i)did you mean 'atacama-edge'"):
        load_scenario("atacama-egde")


def test_python_construction_checks_references():
    with pytest.raises(Exception, match="no spacecraft class 'x'"):
        Scenario.model_validate({"name": "t", "constellations": [
            {"walker": {"planes": 1, "sats_per_plane": 1, "altitude_km": 500,
                        "inclination_deg": 50}, "spacecraft": "x"}]})


# ---- command-line overrides ------------------------------------------------------------------
def test_overrides_from_the_command_line():
    from orbemu.scenario import with_overrides

    sc = load_scenario("default")
    out = with_overrides(sc, duration="6h", clock="10x", seed=9, out_dir="runs/x",
                         faults=["sat:STARLINK-1008 down at 01:00 for 30m"])
    assert out.run.duration_ns == 6 * 3600 * NS_PER_S
    assert str(out.run.clock) == "10x"
    assert out.seed == 9 and out.outputs.dir == "runs/x"
    assert out.faults.scripted[-1].to_spec() == "sat:STARLINK-1008 down at 1h for 30m"
    assert len(out.faults.scripted) == len(sc.faults.scripted) + 1
    assert out.source_text == sc.source_text and out.line_of(("run",)) == sc.line_of(("run",))
    assert with_overrides(sc).model_dump() == sc.model_dump()


@pytest.mark.parametrize(("kwargs", "needle"), [
    ({"duration": "soon"}, "--until, run.duration: cannot read duration 'soon'"),
    ({"duration": "5s"}, "step is longer than the run"),
    ({"clock": "fast"}, "--speed, run.clock: cannot read clock 'fast'"),
    ({"seed": -2}, "--seed, seed: got -2"),
    ({"faults": ["sat:X explode at 1h"]}, "--fault: a sat fault cannot be 'explode'"),
])
def test_bad_overrides_name_the_option(kwargs, needle):
    from orbemu.scenario import with_overrides

    with pytest.raises(ScenarioError) as info:
        with_overrides(load_scenario("default"), **kwargs)
    assert needle in str(info.value)


def test_json_schema_for_editors():
    schema = Scenario.model_json_schema(by_alias=True)
    assert schema["$defs"]["RunSettings"]["properties"]["duration"]["type"] == "string"
    assert "constellations" in schema["required"]
