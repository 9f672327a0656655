"""Shared helpers of the benchmarks: where the real data is, and a minimal TLE loader."""

from __future__ import annotations

from pathlib import Path

from sgp4.api import Satrec

from orbemu.orbits.elements import ElementSet

REPO = Path(__file__).resolve().parents[1]


def shared_data() -> Path:
    """The project's shared data folder (next to the checkout or one of its parents)."""
    for base in REPO.parents:
        if (base / "shared" / "data").is_dir():
            return base / "shared" / "data"
    raise SystemExit("shared data folder not found (expected ../shared/data)")


def load_tle(name: str) -> ElementSet:
    """A 3-line TLE file of the shared data as an ElementSet (python-sgp4's parser)."""
    path = shared_data() / "tle" / name
    lines = [ln.rstrip() for ln in path.read_text().splitlines() if ln.strip()]
    names = [lines[i].removeprefix("0 ").strip() for i in range(0, len(lines) - 2, 3)]
    sats = [Satrec.twoline2rv(lines[i + 1], lines[i + 2]) for i in range(0, len(lines) - 2, 3)]
    return ElementSet.from_satrecs(sats, names=names, source=path.name)
