"""``orbemu netemu`` and ``orbemu run`` with a ``netemu:`` section: what needs no root."""

from __future__ import annotations

from tests.netemu.test_live import _SCENARIO


def test_run_with_netemu_needs_real_time(run, tmp_path):
    scenario = tmp_path / "live.yaml"
    scenario.write_text(_SCENARIO.replace("duration: 1h", "duration: 1m")
                        + "netemu: {}\noutputs: {report: false}\n")
    result = run("run", str(scenario), "--out", str(tmp_path / "r"))
    assert result.exit_code == 2
    assert "run.clock" in result.stderr and "realtime" in result.stderr


def test_exec_without_a_run_says_how_to_start_one(run, tmp_path, monkeypatch):
    monkeypatch.setenv("ORBEMU_NETEMU_DIR", str(tmp_path))
    result = run("netemu", "exec", "london", "--run", "zz", "--", "true")
    assert result.exit_code == 2
    assert "no emulation run 'zz' is up" in result.stderr and "netemu up" in result.stderr


def test_status_with_nothing_up(run, tmp_path, monkeypatch):
    monkeypatch.setenv("ORBEMU_NETEMU_DIR", str(tmp_path))
    result = run("netemu", "status", "--run", "zz")
    assert result.exit_code == 0
    assert "not up" in result.stdout


def test_help_lists_the_commands(run):
    result = run("netemu", "--help")
    assert result.exit_code == 0
    for cmd in ("up", "exec", "status", "fault", "down", "tool"):
        assert cmd in result.stdout
