"""`orbemu scenario list | show | check` end to end."""

from __future__ import annotations

import pytest
import yaml

from tests.cli.conftest import orbemu_process

BAD = """\
name: typo-demo
run:
  duration: 2h
  stepp: 10s
constellations:
  - name: shell
    walker:
      planes: 4
      sats_per_plane: 4
      inclination_deg: 53
      altitude_km: 550
    role: relay
"""


def test_list_shows_the_default_first(run):
    res = run("scenario", "list")
    assert res.exit_code == 0, res.output
    lines = [ln for ln in res.stdout.splitlines() if "(default)" in ln]
    assert lines and "atacama-edge" in lines[0]
    for name in ("eo-mission", "iridium-bentpipe", "walker-network"):
        assert name in res.stdout


def test_show_prints_the_shipped_yaml_and_the_resolved_one(run):
    from orbemu.scenario import show_scenario

    res = run("scenario", "show", "default")
    assert res.exit_code == 0
    assert res.stdout == show_scenario("atacama-edge")
    assert "# The default scenario" in res.stdout  # comments kept: a file to copy
    full = run("scenario", "show", "eo-mission", "--resolved")
    data = yaml.safe_load(full.stdout)
    assert data["name"] == "eo-mission" and "outputs" in data and "clock" in data["run"]
    unknown = run("scenario", "show", "atacama")
    assert unknown.exit_code == 2 and "Did you mean 'atacama-edge'" in unknown.stderr


def test_check_a_valid_scenario_prints_a_summary(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text(BAD.replace("stepp", "step"))
    res = orbemu_process("scenario", "check", path)
    assert res.returncode == 0, res.stderr
    assert f"{path}: valid, and the data it names loads" in res.stdout
    assert "Walker delta 16/4/0 at 550 km, 53°, 16 satellites, relay" in res.stdout
    assert "2h at 10s steps (720 steps)" in res.stdout


def test_check_default_loads_its_data(run):
    res = run("scenario", "check", "default")
    assert res.exit_code == 0, res.output
    assert "10,395 satellites" in res.stdout and "261 gateways" in res.stdout
    quick = run("scenario", "check", "default", "--no-data")
    assert quick.exit_code == 0 and "valid (" in quick.stdout


def test_check_misspelled_key_gives_line_path_and_suggestion(tmp_path):
    path = tmp_path / "typo.yaml"
    path.write_text(BAD)
    res = orbemu_process("scenario", "check", path)
    assert res.returncode == 2
    assert "Traceback" not in res.stderr and res.stdout == ""
    assert f"{path} line 4, run.stepp: unknown key 'stepp'" in res.stderr
    assert "did you mean 'step'?" in res.stderr
    assert "'  stepp: 10s'" in res.stderr  # the line itself


def test_check_reports_every_problem(tmp_path):
    path = tmp_path / "many.yaml"
    path.write_text(BAD.replace("planes: 4\n", "planes: -4\n").replace("role: relay",
                                                                        "role: relai"))
    res = orbemu_process("scenario", "check", path)
    assert res.returncode == 2
    assert "3 problems" in res.stderr
    for where in ("line 4, run.stepp", "constellations[0].walker.planes",
                  "constellations[0].role"):
        assert where in res.stderr


@pytest.mark.parametrize(("text", "words"), [
    ("name: x\nconstellations:\n  - dataset: starlnk\n", "starlink"),
    ("- just\n- a list\n", "a YAML mapping of sections"),
])
def test_check_other_mistakes(tmp_path, text, words):
    path = tmp_path / "s.yaml"
    path.write_text(text)
    res = orbemu_process("scenario", "check", path)
    assert res.returncode == 2 and words in res.stderr


def test_check_missing_file(run, tmp_path):
    res = run("scenario", "check", str(tmp_path / "nope.yaml"))
    assert res.exit_code == 2 and "neither a scenario file nor a built-in" in res.stderr
