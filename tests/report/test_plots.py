"""The ground-track figure: a real PNG, with the tracks broken at the antimeridian."""

from __future__ import annotations

import numpy as np
import pytest

from orbemu import GroundNodes, UsageError

pytest.importorskip("matplotlib")

from orbemu.report.plots import _break_at_antimeridian, plot_ground_track
from tests.io.conftest import TLES, elements_from_tle_text


def test_png_is_written(tmp_path):
    from orbemu import Time, propagate

    eph = propagate(elements_from_tle_text(TLES), Time.range("2026-05-30T12:00:00Z", "3h", "60s"))
    ground = GroundNodes.from_arrays(["Svalbard"], [78.23], [15.39])
    path = plot_ground_track(eph, tmp_path / "g.png", ground=ground, title="test")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (12.5 * 120, 5.8 * 120)
    assert len(data) > 20_000  # a drawn map, not an empty canvas


def test_tracks_break_where_longitude_wraps():
    lon = np.array([170.0, 179.0, -179.0, -170.0])
    lat = np.array([0.0, 1.0, 2.0, 3.0])
    x, y = _break_at_antimeridian(lon, lat)
    assert np.isnan(x[2]) and np.isnan(y[2])
    assert x[~np.isnan(x)].tolist() == lon.tolist()


def test_empty_ephemeris_is_refused(tmp_path):
    from orbemu import Time, propagate

    eph = propagate(elements_from_tle_text(TLES), Time.range("2026-05-30T12:00:00Z", "1h", "60s"))
    with pytest.raises(UsageError):
        plot_ground_track(eph.select(sats=[]), tmp_path / "x.png")
