"""Shared test helpers: physical tolerances and paths to reference data."""

from __future__ import annotations

from pathlib import Path

import pytest

#: Tolerances in physical units; assertions say what they mean.
ONE_METRE = 1.0
ONE_MILLIMETRE = 1e-3
ONE_SECOND_NS = 10**9

REPO = Path(__file__).resolve().parents[1]
#: Real data shared by the project (CelesTrak, cities, gateways). It sits beside the checkout or
#: beside the folder of worktrees (``wt/<name>``). Where it is absent (a clone elsewhere), the same
#: files are rebuilt from the package's bundled copies (byte-identical, gzip-compressed) plus the
#: few small originals kept in ``tests/data/real`` — so the reference tests run everywhere.
_FOUND = next((p / "shared" / "data" for p in REPO.parents if (p / "shared" / "data").is_dir()),
              None)

#: shared/data path -> bundled file in src/orbemu/data (same bytes, gzip-compressed).
_BUNDLED = {
    "tle/celestrak_starlink_2026-05-30.tle": "elements/starlink.tle.gz",
    "tle/celestrak_oneweb_2026-05-30.tle": "elements/oneweb.tle.gz",
    "tle/celestrak_stations_2026-05-30.tle": "elements/stations.tle.gz",
    "tle/celestrak_geo_2026-05-30.tle": "elements/geo.tle.gz",
    "tle/celestrak_iridium-NEXT_2026-09-07.tle": "elements/iridium-next.tle.gz",
    "tle/celestrak_gps-ops_2026-08-22.tle": "elements/gps.tle.gz",
    "tle/celestrak_galileo_2026-08-22.tle": "elements/galileo.tle.gz",
    "omm/celestrak_gp_starlink_2025-05-24.json": "elements/starlink-2025-omm.json.gz",
    "ground/hypatia_cities_top100.basic.txt": "ground/cities-top100.basic.txt.gz",
    "ground/hypatia_cities_top1000.basic.txt": "ground/cities-top1000.basic.txt.gz",
    "ground/geonames_cities_top1000_by_population.csv": "ground/geonames-top1000.csv.gz",
    "ground/hypatia_pr26_starlink_gateways.basic.txt": "ground/hypatia-gateways.basic.txt.gz",
    "ground/starperf_starlink_gateways.csv": "ground/starlink-gateways.csv.gz",
    "ground/starperf_starlink_pops.csv": "ground/starlink-pops.csv.gz",
    **{f"ground/brahe_groundstations/{n}.geojson": f"ground/{n}.geojson.gz"
       for n in ("atlas", "aws", "dsn", "ksat", "leaf", "nen", "ssc", "viasat")},
}


def _rebuild_real_data() -> Path:
    """Materialise the shared-data layout from bundled copies (idempotent, in .pytest_cache)."""
    import gzip
    import shutil

    root = REPO / ".pytest_cache" / "real-data"
    package_data = REPO / "src" / "orbemu" / "data"
    for rel, bundled in _BUNDLED.items():
        dest = root / rel
        if not dest.is_file():
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_suffix(dest.suffix + ".part")
            tmp.write_bytes(gzip.decompress((package_data / bundled).read_bytes()))
            tmp.replace(dest)
    shutil.copytree(REPO / "tests" / "data" / "real", root, dirs_exist_ok=True)
    return root


SHARED_DATA = _FOUND if _FOUND is not None else _rebuild_real_data()


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data folder {SHARED_DATA} not present")
    return SHARED_DATA
