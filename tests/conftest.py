"""Shared test helpers: physical tolerances and paths to reference data."""

from __future__ import annotations

from pathlib import Path

import pytest

#: Tolerances in physical units; assertions say what they mean.
ONE_METRE = 1.0
ONE_MILLIMETRE = 1e-3
ONE_SECOND_NS = 10**9

REPO = Path(__file__).resolve().parents[1]


def _find_shared_data() -> Path:
    # Next to the checkout, or next to one of its parents (git worktrees live one level deeper).
    for base in REPO.parents:
        if (base / "shared" / "data").is_dir():
            return base / "shared" / "data"
    return REPO.parent / "shared" / "data"


#: Real data shared by the project (CelesTrak, cities, gateways); tests using it skip cleanly.
SHARED_DATA = _find_shared_data()


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data folder {SHARED_DATA} not present")
    return SHARED_DATA
