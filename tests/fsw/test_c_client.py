"""The C reference client (examples/c_client) against the engine: built with its Makefile, run as
the app process of two satellites, in lockstep, its telemetry in the store."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from orbemu.fsw import AppSpec

from .apps import Recorder
from .conftest import START, S, events, points, run_apps, world

C_CLIENT = Path(__file__).resolve().parents[2] / "examples" / "c_client"

pytestmark = pytest.mark.skipif(
    shutil.which("make") is None or shutil.which("cc") is None
    or not sys.platform.startswith("linux"), reason="needs make and a C compiler (Linux)")


@pytest.fixture(scope="module")
def binary(tmp_path_factory):
    build = tmp_path_factory.mktemp("c_client")
    subprocess.run(["make", "-s", "-C", str(C_CLIENT), f"BUILD={build}"], check=True,
                   capture_output=True)
    return build / "bus_client"


def test_the_c_client_runs_in_lockstep_and_its_telemetry_is_recorded(binary):
    setup = world(minutes=0.5, step_s=1)
    # the same CPU budget as the Recorder below: the same compute power, the same battery
    spec = AppSpec(sats=(0, 4), runner="process", cpu_budget_ms=Recorder.cpu_budget_ms,
                   command=(str(binary), "{host}", "{port}", "c-app"))
    sink, summary, _ = run_apps(setup, spec)
    assert summary.status == "completed"
    assert {e["subject"] for e in events(sink, "app_start")} == {"EO-P0-S0/c-app",
                                                                "EO-P1-S0/c-app"}
    for sat in (0, 4):
        tick = points(sink, "c.tick", sat)
        step = points(sink, "c.step", sat)
        # one tick per step, stamped with the tick's time, in the step the engine announced
        assert [t for t, _ in tick] == [START + j * S for j in range(30)]
        assert [v for _, v in tick] == [float(j) for j in range(30)]
        assert [v for _, v in step] == [float(j) for j in range(30)]
    assert summary.fsw["ticks"] == 60 and summary.fsw["faults"] == 0
    # what it read from bus-state is the state the in-process app sees
    local, _, _ = run_apps(setup, AppSpec(Recorder, sats=(0, 4)))
    for key, ref in (("c.lat_deg", "lat_deg"), ("c.soc", "soc")):
        assert points(sink, key, 4) == points(local, ref, 4)
    # it stops on bus-stop (exit 0): no fault at the end
    stops = events(sink, "app_stop")
    assert [e["detail"]["status"] for e in stops] == ["stopped", "stopped"]


def test_a_c_client_that_fails_to_start_is_restarted(binary, tmp_path):
    # the first start exits at once (5); the restart runs the client
    setup = world(minutes=0.1, step_s=1)
    script = tmp_path / "flaky.sh"
    marker = tmp_path / "ran-once"
    script.write_text(f"""#!/bin/sh
if [ ! -e {marker} ]; then touch {marker}; exit 5; fi
exec {binary} "$@"
""")
    script.chmod(0o755)
    spec = AppSpec(sats=(0,), runner="process", command=(str(script), "{host}", "{port}"),
                   start_timeout_s=5.0)
    sink, _summary, _ = run_apps(setup, spec)
    fault = events(sink, "app_fault")
    assert fault[0]["detail"]["cause"] == "start" and fault[0]["detail"]["exit_code"] == 5
    # it failed before the first tick: restarted for it, nothing missed
    assert [e["time_ns"] for e in events(sink, "app_restart")] == [START]
    assert [v for _, v in points(sink, "c.tick")] == [float(j) for j in range(6)]


def test_the_raw_python_client_speaks_the_protocol_too():
    script = C_CLIENT.parent / "bus_client.py"
    setup = world(minutes=0.25, step_s=1)
    spec = AppSpec(sats=(3,), runner="process",
                   command=(sys.executable, str(script), "{host}", "{port}", "--name", "raw"))
    sink, summary, _ = run_apps(setup, spec)
    assert summary.fsw["faults"] == 0 and summary.fsw["ticks"] == 15
    assert [t for t, _ in points(sink, "bench.soc", 3)] == [START + j * S for j in range(15)]
    local, _, _ = run_apps(setup, AppSpec(Recorder, sats=(3,), cpu_budget_ms=10.0))
    assert points(sink, "bench.lat_deg", 3) == points(local, "lat_deg", 3)
