"""Helpers for the end-to-end CLI tests: run ``orbemu`` in-process (CliRunner) or as a process."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orbemu.cli.main import app

# Real CelesTrak GP elements (celestrak.org, derived from USSPACECOM/18 SDS GP data), from
# shared/data/tle/celestrak_stations_2026-05-30.tle.
ISS_TLE = """\
ISS (ZARYA)
1 25544U 98067A   26150.51748228  .00011776  00000+0  21767-3 0  9998
2 25544  51.6337  27.5746 0007245 114.7080 245.4664 15.49496548569014
CSS (TIANHE)
1 48274U 21035A   26150.44047304  .00029586  00000+0  35725-3 0  9990
2 48274  41.4693  69.9411 0010598 308.7458  51.2433 15.60022969290393
"""


@pytest.fixture
def run():
    """``run("propagate", ...)`` → click Result with .exit_code, .stdout, .stderr."""
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, [str(a) for a in args])

    return invoke


def orbemu_process(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The installed console script, as a user runs it (stdout/stderr are pipes, not a tty)."""
    exe = Path(sys.executable).with_name("orbemu")
    return subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300, check=False)


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        return next(reader), list(reader)


@pytest.fixture
def iss_tle(tmp_path: Path) -> Path:
    path = tmp_path / "two.tle"
    path.write_text(ISS_TLE)
    return path
