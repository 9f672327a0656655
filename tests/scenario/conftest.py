"""Helpers for scenario tests: write YAML to a file, collect the problems it raises."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from orbemu.errors import ScenarioError
from orbemu.scenario import load_scenario

#: The smallest valid scenario: a name and one Walker shell.
MINIMAL = """\
name: t
constellations:
  - walker: {planes: 2, sats_per_plane: 3, altitude_km: 550, inclination_deg: 53}
"""


def problems_of(path: Path) -> list[ScenarioError]:
    """Every problem loading ``path`` raises (fails the test if it loads)."""
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    err = info.value
    return list(err.problems) or [err]


@pytest.fixture
def write(tmp_path: Path):
    def _write(text: str, name: str = "mission.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path
    return _write
