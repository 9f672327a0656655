"""``orbemu demo``: the job ``make demo`` runs, end to end on the bundled data."""

from __future__ import annotations

import json

import pytest

from orbemu.io.tables import GEODETIC_COLUMNS, PASSES_COLUMNS

from .conftest import read_csv


@pytest.mark.slow
def test_demo_writes_every_file(run, tmp_path):
    out = tmp_path / "out"
    result = run("demo", "--out", out)
    assert result.exit_code == 0, result.stderr
    files = {p.name: p for p in out.iterdir()}
    assert set(files) == {"passes.csv", "starlink_geodetic.csv", "starlink.czml",
                          "ground_track.png"}
    header, passes = read_csv(files["passes.csv"])
    assert tuple(header) == PASSES_COLUMNS
    assert len(passes) > 100  # 25 objects in 41.5° and 51.6° orbits, 5 stations, 24 h
    assert all(float(r[6]) >= 10.0 for r in passes)
    assert {r[2] for r in passes} == {"Hawaii", "Weilheim", "Singapore", "Hartebeesthoek",
                                      "Awarua"}
    with open(files["starlink_geodetic.csv"], encoding="utf-8") as fh:
        assert fh.readline().strip() == ",".join(GEODETIC_COLUMNS)
        n_lines = 1 + sum(1 for _ in fh)
    assert n_lines == 1 + 10395 * 96
    packets = json.loads(files["starlink.czml"].read_text())
    assert packets[0]["id"] == "document" and "clock" in packets[0]
    assert sum(p["id"].startswith("sat/") for p in packets) == 10395
    assert sum(p["id"].startswith("station/") for p in packets) == 5
    assert files["ground_track.png"].read_bytes()[:4] == b"\x89PNG"
    assert files["ground_track.png"].stat().st_size > 50_000
    # the printed summary: counts, timings, sizes and the data's attribution
    assert "passes per station:" in result.stdout
    assert "timings:" in result.stdout and "total" in result.stdout
    assert "MB" in result.stdout
    assert "Orbital data: CelesTrak (celestrak.org)" in result.stdout
    assert "start 2026-05-30T15:35:23Z (newest element epoch)" in result.stderr
