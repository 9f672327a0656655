"""``orbemu run`` end to end: a small scenario, bad input, and a run killed with SIGKILL then
resumed — its records equal an uninterrupted run's."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import orbemu_process

SMALL = """\
name: small
seed: 5
run:
  start: 2026-06-01T00:00:00Z
  duration: 30m
  step: 10s
  checkpoint_every: 5m
constellations:
  - name: eo
    walker: {planes: 2, sats_per_plane: 3, phasing: 1, altitude_km: 550, inclination_deg: 97.6,
             epoch: 2026-06-01T00:00:00Z}
    role: eo
    spacecraft: smallsat
  - name: net
    walker: {planes: 6, sats_per_plane: 8, phasing: 1, altitude_km: 550, inclination_deg: 53,
             epoch: 2026-06-01T00:00:00Z}
    role: relay
spacecraft:
  smallsat:
    battery: {capacity_wh: 100}
    radio: {housekeeping_interval_s: 30}
ground:
  stations:
    - {name: Svalbard, lat_deg: 78.23, lon_deg: 15.39, min_elevation_deg: 5}
    - {name: Troll, lat_deg: -72.01, lon_deg: 2.53, min_elevation_deg: 5}
  sites:
    - {name: mine, lat_deg: -24.27, lon_deg: -69.07}
  destinations:
    - {name: cloud, lat_deg: -23.55, lon_deg: -46.63}
targets:
  - {name: atacama, lat_deg: -23.5, lon_deg: -68.2}
network:
  isl: {max_range_km: null}
  gsl: {policy: all, max_per_node: null}
  monitor:
    - site:mine -> cloud:cloud
schedules:
  - {at: 2m, target: constellation:eo, command: set_mode, args: {attitude: sun}}
faults:
  - sat:EO-P0-S1 down at 7m for 10m
  - station:Svalbard down at 3m30s for 5m
  - seu:EO-P1-S0 reboot at 12m for 2m
outputs:
  housekeeping_every: 1m
  network_every: 1m
  commit_every: 1m
"""


@pytest.fixture
def small(tmp_path: Path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    return path


def _tables(db: Path) -> dict[str, list[tuple]]:
    con = sqlite3.connect(db)
    out = {}
    for table in ("satellites", "ground_nodes", "housekeeping", "events", "contact_plan",
                  "contacts", "packets", "network", "faults"):
        rows = con.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()
        if table == "events":
            rows = [r for r in rows if r[1] != "run_resumed"]
        out[table] = rows
    con.close()
    return out


def test_run_a_small_scenario(run, small, tmp_path):
    out = tmp_path / "runs" / "a"
    result = run("run", small, "--out", out, "--until", "20m")
    assert result.exit_code == 0, result.stderr
    assert "run small: completed" in result.stdout
    assert "120 of 120" in result.stdout and "satellites" in result.stdout
    assert "contacts" in result.stdout and "run folder" in result.stdout
    t = _tables(out / "telemetry.sqlite")
    assert len(t["satellites"]) == 54 and len(t["ground_nodes"]) == 4
    assert len(t["housekeeping"]) == 6 * 20          # 6 modelled satellites, every minute
    assert len(t["network"]) == 20 and len(t["faults"]) == 3
    kinds = {r[1] for r in t["events"]}
    assert {"run_start", "fault_start", "command", "run_end"} <= kinds
    # the run is named in the database: its scenario as run (with the --until override)
    con = sqlite3.connect(out / "telemetry.sqlite")
    text, status = con.execute("SELECT scenario_text, status FROM runs").fetchone()
    assert "duration: 20m" in text and status == "completed"
    # a second run into the same folder is refused, with the way out
    again = run("run", small, "--out", out)
    assert again.exit_code == 2 and "already holds a run" in again.stderr
    assert "--resume" in again.stderr
    done = run("run", "--resume", out)
    assert done.exit_code == 2 and "nothing to resume" in done.stderr
    lone = run("run", small, "--resume", out)
    assert lone.exit_code == 2 and "--resume RUN_DIR alone" in lone.stderr


def test_bad_input_exits_2_with_a_clear_message(run, small, tmp_path):
    missing = run("run", tmp_path / "nope.yaml", "--out", tmp_path / "x")
    assert missing.exit_code == 2 and "error:" in missing.stderr
    typo = tmp_path / "typo.yaml"
    typo.write_text(SMALL.replace("duration: 30m", "duraton: 30m"))
    bad = run("run", typo, "--out", tmp_path / "y")
    assert bad.exit_code == 2 and "did you mean 'duration'" in bad.stderr
    fault = run("run", small, "--out", tmp_path / "z", "--fault", "sat:NOPE-1 down at 5m")
    assert fault.exit_code == 2 and "NOPE-1" in fault.stderr
    grammar = run("run", small, "--out", tmp_path / "w", "--fault", "everything breaks")
    assert grammar.exit_code == 2 and "KIND:TARGET" in grammar.stderr
    assert not (tmp_path / "z" / "telemetry.sqlite").exists()


def test_command_line_fault_shows_in_the_records(run, small, tmp_path):
    out = tmp_path / "f"
    result = run("run", small, "--out", out, "--until", "10m",
                 "--fault", "sat:NET-P0-S0 down at 2m for 3m")
    assert result.exit_code == 0, result.stderr
    con = sqlite3.connect(out / "telemetry.sqlite")
    rows = con.execute("SELECT kind, target, origin, start_ns - (SELECT start_ns FROM runs) "
                       "FROM faults WHERE target = 'NET-P0-S0'").fetchall()
    assert rows == [("sat", "NET-P0-S0", "scripted", 120 * 10**9)]


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")
def test_killed_run_resumes_to_the_same_records(small, tmp_path):
    straight = tmp_path / "straight"
    done = orbemu_process("run", small, "--out", straight)
    assert done.returncode == 0, done.stderr

    killed = tmp_path / "killed"
    exe = Path(sys.executable).with_name("orbemu")
    # paced so that it is surely mid-run when killed: 30 simulated minutes in ~6 s
    with subprocess.Popen([str(exe), "run", str(small), "--out", str(killed), "--speed", "300x"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env=os.environ.copy()) as proc:
        db = killed / "telemetry.sqlite"
        deadline = time.monotonic() + 120
        progressed = False
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
            if not db.exists():
                continue
            try:
                con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
                cp = con.execute("SELECT max(step) FROM checkpoints").fetchone()[0]
                prog = con.execute("SELECT step FROM progress").fetchone()
                con.close()
            except sqlite3.Error:
                continue
            if cp is not None and prog is not None and prog[0] > cp + 3:
                progressed = True
                break
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert progressed, "the run never got past a checkpoint before finishing"
    assert proc.returncode == -signal.SIGKILL
    con = sqlite3.connect(killed / "telemetry.sqlite")
    assert con.execute("SELECT status FROM runs").fetchone()[0] == "running"
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()

    resumed = orbemu_process("run", "--resume", killed)
    assert resumed.returncode == 0, resumed.stderr
    assert "completed" in resumed.stdout
    a, b = _tables(straight / "telemetry.sqlite"), _tables(killed / "telemetry.sqlite")
    for table in a:
        assert a[table] == b[table], table
    con = sqlite3.connect(killed / "telemetry.sqlite")
    assert con.execute("SELECT status, resumed FROM runs").fetchone() == ("completed", 1)
    assert con.execute("SELECT count(*) FROM events WHERE kind = 'run_resumed'").fetchone() == (1,)


def test_run_serve_writes_the_report_when_the_run_completes(small, tmp_path):
    """``orbemu run --serve``: the run completes behind the console, its report is written while
    the console keeps serving, and Ctrl-C (SIGINT) then stops the server and prints the run's
    summary."""
    import socket
    import urllib.request

    with socket.socket() as s:  # a free port on the loopback
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run_dir = tmp_path / "served"
    exe = Path(sys.executable).with_name("orbemu")
    with subprocess.Popen([str(exe), "run", str(small), "--serve", "--speed", "max", "--port",
                           str(port), "--out", str(run_dir)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env=os.environ.copy()) as proc:
        page = run_dir / "report.html"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None and not page.exists():
            time.sleep(0.2)
        time.sleep(0.5)  # the page is written in one go; give the write a moment to finish
        alive = proc.poll() is None
        served = None
        if alive:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/runs", timeout=30) as r:
                served = r.status
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert page.exists(), err
    assert alive and served == 200, "the console stopped serving when the run completed"
    assert "<html" in page.read_text(encoding="utf-8").lower()
    assert "report:" in err, err
    assert proc.returncode == 0, err
    assert "completed" in out, out
    con = sqlite3.connect(run_dir / "telemetry.sqlite")
    assert con.execute("SELECT status FROM runs").fetchone()[0] == "completed"
    con.close()
