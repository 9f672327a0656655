"""Helpers for the live-emulation tests: the capability check (skip with its reason), a
528-satellite Walker shell with London and New York, and per-test state folders."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from orbemu.errors import UnavailableError
from orbemu.orbits.ground_nodes import GroundNodes
from orbemu.orbits.walker import walker_delta
from orbemu.time import Time

#: The window the live tests emulate: London <-> New York over a 24 x 22 Walker shell at 550 km
#: (53°) with +Grid ISLs and one nearest satellite per site. In its first minute the model's
#: route changes several times (RTT 98.7 ms, then ~148 ms from 25 s, ~120 ms from 30 s: see
#: test_live.py), so the RTT series has path changes to follow.
START = Time.parse("2026-01-01T00:00:00Z")
SITES = (("london", 51.51, -0.13, 20.0), ("new-york", 40.71, -74.01, 10.0),
         ("paris", 48.86, 2.35, 35.0), ("chicago", 41.88, -87.63, 180.0))


def _capability_reason() -> str | None:
    from orbemu.netemu._sys import check_capabilities

    try:
        check_capabilities()
    except UnavailableError as exc:
        return str(exc)
    return None


@pytest.fixture(scope="session")
def netemu_capable() -> None:
    """Skip (with what is missing) where namespaces/TUN/root are not available."""
    reason = _capability_reason()
    if reason:
        pytest.skip(reason)


@pytest.fixture
def state_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private run-state folder on tmpfs (inherited by the processes the test starts)."""
    d = Path(tempfile.mkdtemp(prefix="orbemu-netemu-test-", dir="/dev/shm"))
    monkeypatch.setenv("ORBEMU_NETEMU_DIR", str(d))
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def run_name() -> str:
    """A fresh run name (namespaces of concurrent test runs never collide)."""
    return "t" + secrets.token_hex(3)


@pytest.fixture(scope="session")
def shell():
    return walker_delta(24, 22, 1, inclination_deg=53.0, altitude_m=550e3)


@pytest.fixture(scope="session")
def sites() -> GroundNodes:
    return GroundNodes.from_arrays([s[0] for s in SITES], [s[1] for s in SITES],
                                   [s[2] for s in SITES], [s[3] for s in SITES], roles="site")


def python_tool(*args: str) -> list[str]:
    """argv running a tool of :mod:`orbemu.netemu.tools` (as a script: a fast start)."""
    from orbemu.netemu.tools import tool_argv
    return tool_argv(*args)


def netns_names() -> set[str]:
    try:
        return set(os.listdir("/run/netns"))
    except OSError:
        return set()


def root_links() -> set[str]:
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True,
                         check=True).stdout
    return {line.split(":")[1].strip().split("@")[0] for line in out.splitlines() if line}
