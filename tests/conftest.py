"""Shared test helpers: physical tolerances and paths to reference data."""

from __future__ import annotations

from pathlib import Path

import pytest

#: Tolerances in physical units; assertions say what they mean.
ONE_METRE = 1.0
ONE_MILLIMETRE = 1e-3
ONE_SECOND_NS = 10**9

REPO = Path(__file__).resolve().parents[1]
#: Real data shared by the project (CelesTrak, cities, gateways); tests using it skip cleanly.
#: It sits beside the checkout (CI) or beside the folder of worktrees (``wt/<name>``).
SHARED_DATA = next((p / "shared" / "data" for p in REPO.parents
                    if (p / "shared" / "data").is_dir()), REPO.parent / "shared" / "data")


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data folder {SHARED_DATA} not present")
    return SHARED_DATA
