"""The in-node tools without a network (no root needed): names, fast start."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from orbemu.netemu import tools
from orbemu.netemu.namespaces import state_root


def test_names_resolve_from_the_run_state(tmp_path, monkeypatch):
    (tmp_path / "r1").mkdir()
    (tmp_path / "r1" / "state.json").write_text(json.dumps(
        {"nodes": [{"name": "london", "address": "10.64.0.1"}]}))
    monkeypatch.setenv("ORBEMU_NETEMU_DIR", str(tmp_path))
    monkeypatch.setenv("ORBEMU_NETEMU_RUN", "r1")
    assert tools.resolve("london") == "10.64.0.1"
    assert tools.resolve("10.64.0.9") == "10.64.0.9"
    with pytest.raises(SystemExit, match="not an address, nor a node of run 'r1'"):
        tools.resolve("no-such-node.invalid")


def test_the_default_state_folder_is_the_emulators(monkeypatch):
    monkeypatch.delenv("ORBEMU_NETEMU_DIR", raising=False)
    assert tools.DEFAULT_STATE_ROOT == state_root()


def test_the_script_needs_only_the_standard_library():
    code = (f"import runpy, sys; sys.argv = ['x', '--help']\n"
            f"try:\n    runpy.run_path({tools.SCRIPT!r}, run_name='__main__')\n"
            "except SystemExit:\n    pass\n"
            "print('orbemu' in sys.modules, 'numpy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip().splitlines()[-1] == "False False"
