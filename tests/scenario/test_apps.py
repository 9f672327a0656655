"""The scenario's apps section: schema, cross-references, build into AppSpecs, a run."""

from __future__ import annotations

import pytest

from orbemu.engine import Emulation, MemorySink
from orbemu.errors import ScenarioError
from orbemu.scenario import load_scenario, resolve_scenario
from orbemu.scenario.build import emulation_setup

from .conftest import problems_of

BASE = """\
name: apps-test
run: {start: 2026-06-01T00:00:00Z, duration: 2m, step: 10s}
constellations:
  - name: eo
    walker: {planes: 2, sats_per_plane: 2, altitude_km: 550, inclination_deg: 97.6,
             epoch: 2026-06-01T00:00:00Z}
    role: eo
  - name: net
    walker: {planes: 2, sats_per_plane: 3, altitude_km: 550, inclination_deg: 53,
             epoch: 2026-06-01T00:00:00Z}
    role: relay
"""


def test_apps_become_app_specs_on_the_selected_satellites(write):
    path = write(BASE + """\
apps:
  entries:
    - app: orbemu.fsw.examples:Heartbeat
      satellites: constellation:eo
      rate_hz: 2
      cpu_budget_ms: 3
      params: {state_every: 2}
      restart: {policy: on-failure, max_restarts: 3, backoff: 5s, backoff_factor: 3}
      limits: {memory_mb: 256, cpu_s: 60}
      tick_timeout: 2s
    - app: orbemu.fsw.examples:CloudFilter
      satellites: EO*
      runner: process
      images: app
      bus: {port: 47100}
  compute_duty: measured
  tile_pixels: 32
""")
    sc = load_scenario(path)
    setup = emulation_setup(resolve_scenario(sc))
    apps = setup.apps
    assert apps is not None and apps.compute_duty == "measured" and apps.tile_pixels == 32
    beat, filt = apps.apps
    assert beat.sats == (0, 1, 2, 3) and beat.rate_hz == 2.0 and beat.cpu_budget_ms == 3.0
    assert beat.restart.max_restarts == 3 and beat.restart.backoff_s == 5.0
    assert beat.restart.backoff_factor == 3.0 and beat.tick_timeout_s == 2.0
    assert beat.limits.memory_mb == 256.0 and beat.limits.cpu_s == 60.0
    assert beat.params == {"state_every": 2}
    assert filt.runner == "process" and filt.images == "app" and filt.port == 47100
    # the scenario as run keeps the section (a resumed run rebuilds it)
    assert "apps:" in setup.scenario_text and "CloudFilter" in setup.scenario_text


def test_a_scenario_with_apps_runs(write):
    path = write(BASE + """\
apps:
  - {app: orbemu.fsw.examples:Heartbeat, satellites: all}
""")
    sink = MemorySink()
    summary = Emulation(emulation_setup(resolve_scenario(load_scenario(path))), sink).run()
    assert summary.fsw["ticks"] == 4 * 120
    beats = [r for r in sink.tables["telemetry"] if r["key"] == "beats"]
    assert len(beats) == 480


def test_an_app_in_a_file_next_to_the_scenario(write, tmp_path):
    (tmp_path / "mine.py").write_text(
        "from orbemu.fsw import App\n"
        "class Mine(App):\n"
        "    def on_tick(self, ctx):\n"
        "        ctx.telemetry('mine', 1.0)\n")
    path = write(BASE + "apps:\n  - {app: mine.py:Mine, satellites: EO-P1-S1}\n")
    sc = load_scenario(path)
    assert sc.apps.entries[0].app == f"{tmp_path / 'mine.py'}:Mine"
    sink = MemorySink()
    Emulation(emulation_setup(resolve_scenario(sc)), sink).run()
    assert {r["key"] for r in sink.tables["telemetry"]} == {"mine"}


def test_hil_implies_the_bus_runner(write):
    sc = load_scenario(write(BASE + "apps:\n  - {hil: true, satellites: EO-P0-S0}\n"))
    assert sc.apps.entries[0].runner == "bus"


@pytest.mark.parametrize(("entry", "message"), [
    ("{app: nocolon, satellites: all}", "is not module:Class"),
    ("{runner: process, satellites: all}", "needs app:"),
    ("{command: [./x], satellites: all}", "use runner: process"),
    ("{app: orbemu.fsw.examples:Heartbeat, satellites: constellation:nope}",
     "no constellation 'nope'"),
    ("{app: missing.py:App, satellites: all}", "not found"),
    ("{app: orbemu.fsw.examples:Heartbeat, rate_hz: 0}", "greater than 0"),
    ("{app: orbemu.fsw.examples:Heartbeat, runner: process, network: lan}", "network"),
])
def test_bad_entries_are_reported_with_their_line(write, entry, message):
    found = problems_of(write(BASE + f"apps:\n  - {entry}\n"))
    assert any(message in str(p) for p in found), [str(p) for p in found]
    assert any(p.line == BASE.count("\n") + 2 for p in found)


@pytest.mark.parametrize(("entry", "message"), [
    ("{app: orbemu.nothing:App, satellites: all}", "cannot import the app"),
    ("{app: orbemu.fsw.examples:Nope, satellites: all}", "has no 'Nope'"),
    ("{app: orbemu.fsw.examples:Heartbeat, satellites: constellation:net}",
     "not a modelled satellite"),
    ("{app: orbemu.fsw.examples:Heartbeat, satellites: all, network: isolated}",
     "is for apps in their own process"),
    ("{command: [./app, '{port}'], runner: process, satellites: all, network: isolated}",
     "cannot reach its bus endpoint"),
])
def test_apps_that_cannot_run_are_refused_at_build(write, entry, message):
    sc = load_scenario(write(BASE + f"apps:\n  - {entry}\n"))
    with pytest.raises(ScenarioError, match=message) as info:
        emulation_setup(resolve_scenario(sc))
    assert info.value.line == BASE.count("\n") + 2
