"""CZML: a document CesiumJS can play, validated by parsing it back with czml3."""

from __future__ import annotations

import json

import numpy as np
import pytest

from orbemu import GroundNodes, Time
from orbemu.io.czml import write_czml
from orbemu.io.tables import ephemeris_blocks

from .conftest import with_failures

czml3 = pytest.importorskip("czml3")

GROUND = GroundNodes.from_arrays(["Svalbard", "Troll"], [78.23, -72.01], [15.39, 2.53],
                                 [500.0, 1270.0])


def test_document_parses_and_has_the_required_packets(tmp_path, ephemeris):
    path = tmp_path / "x.czml"
    counts = write_czml(ephemeris, path, ground=GROUND, name="test")
    assert counts == {"satellites": 3, "stations": 2, "samples": 3 * 96, "stride": 1}
    doc = czml3.Document.load(path)  # czml3's own validation of every packet
    packets = json.loads(path.read_text())
    assert [p["id"] for p in packets] == ["document", "sat/25544", "sat/48274", "sat/19548",
                                          "station/Svalbard", "station/Troll"]
    assert len(doc.packets) == 6
    pre = packets[0]
    assert pre["version"] == "1.0"
    assert pre["clock"]["interval"] == "2026-05-30T12:00:00.000Z/2026-05-30T13:35:00.000Z"
    assert pre["clock"]["currentTime"] == "2026-05-30T12:00:00.000Z"
    iss = packets[1]
    assert iss["name"] == "ISS (ZARYA)"
    pos = iss["position"]
    assert pos["referenceFrame"] == "FIXED"
    assert pos["epoch"] == "2026-05-30T12:00:00.000Z"
    assert pos["interpolationAlgorithm"] == "LAGRANGE"
    samples = np.array(pos["cartesian"]).reshape(-1, 4)
    assert samples[:, 0].tolist() == [60.0 * k for k in range(96)]
    itrf = ephemeris.to_itrf()
    assert np.max(np.abs(samples[:, 1:] - itrf.position_m[0])) <= 0.05 + 1e-6  # 0.1 m rounding
    assert "point" in iss and "label" in iss and "path" in iss
    sval = packets[4]
    assert sval["position"]["cartographicDegrees"] == [15.39, 78.23, 500.0]


def test_large_sets_are_decimated_and_unlabelled(tmp_path, elements):
    times = Time.range("2026-05-30T12:00:00Z", "95m", "60s")
    path = tmp_path / "big.czml"
    counts = write_czml(ephemeris_blocks(elements, times, block_sats=2), path, n_sats=3,
                        max_samples=100, labels_up_to=2, paths_up_to=1)
    # 3 × 96 samples > 100: keep every 3rd instant, and always the last
    assert counts["stride"] == 3
    packets = json.loads(path.read_text())
    samples = np.array(packets[1]["position"]["cartesian"]).reshape(-1, 4)
    assert samples[:, 0].tolist() == [180.0 * k for k in range(32)] + [5700.0]
    assert all("label" not in p and "path" not in p for p in packets[1:])
    czml3.Document.load(path)


def test_failed_samples_are_left_out(tmp_path, ephemeris):
    eph = with_failures(ephemeris, [(0, 95)] + [(1, j) for j in range(96)])
    path = tmp_path / "f.czml"
    counts = write_czml(eph, path)
    assert counts["satellites"] == 2
    packets = json.loads(path.read_text())
    assert "CSS (TIANHE) (48274)" in packets[0]["description"]
    iss = packets[1]
    assert iss["availability"] == "2026-05-30T12:00:00.000Z/2026-05-30T13:34:00.000Z"
    assert len(iss["position"]["cartesian"]) == 95 * 4
    czml3.Document.load(path)
