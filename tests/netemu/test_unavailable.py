"""Without root (or namespaces, or TUN) every entry point says what is missing."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from orbemu.cli.main import app
from orbemu.errors import UnavailableError
from orbemu.netemu import Emulator, _sys, select_nodes
from orbemu.network.simulation import NetworkConfig, NetworkSimulation
from tests.netemu.conftest import START


@pytest.fixture
def not_root(monkeypatch):
    monkeypatch.setattr(_sys.os, "geteuid", lambda: 1000)


def test_the_check_names_root(not_root):
    with pytest.raises(UnavailableError, match="root"):
        _sys.check_capabilities()


def test_missing_tun_and_ip_are_named(monkeypatch):
    monkeypatch.setattr(_sys.os.path, "exists",
                        lambda p: p != "/dev/net/tun" and p.startswith("/proc"))
    monkeypatch.setattr(_sys.shutil, "which", lambda name: None)
    with pytest.raises(UnavailableError) as info:
        _sys.check_capabilities()
    assert "/dev/net/tun" in str(info.value) and "iproute2" in str(info.value)


def test_up_refuses_before_creating_anything(not_root, shell, sites, state_dir):
    sim = NetworkSimulation(shell, sites, NetworkConfig())
    emu = Emulator(sim, select_nodes(shell, sites, ["site:*"], run="nr"), start=START,
                   run="nr")
    with pytest.raises(UnavailableError, match="root"):
        emu.up()
    assert not list(state_dir.iterdir())  # no state file, nothing to clean


def test_the_cli_says_what_is_missing(not_root, tmp_path, state_dir):
    from tests.netemu.test_live import _SCENARIO
    scenario = tmp_path / "s.yaml"
    scenario.write_text(_SCENARIO)
    result = CliRunner().invoke(app, ["netemu", "up", str(scenario), "--run", "nr"])
    assert result.exit_code == 2
    assert "root" in result.stderr and "Traceback" not in result.stderr
