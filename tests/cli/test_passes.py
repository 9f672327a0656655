"""``orbemu passes`` end to end: the CSV contract, and that its rows mean what they say."""

from __future__ import annotations

import numpy as np
import pytest

from orbemu import Time, propagate
from orbemu.constants import DEG
from orbemu.io.elements import load_elements
from orbemu.io.tables import PASSES_COLUMNS
from orbemu.orbits.frames import enu_matrix, geodetic_to_itrf, topocentric

from .conftest import read_csv
from .test_main import assert_clean_error

START = "2026-05-30T12:00:00Z"
WEILHEIM = "Weilheim:47.8801,11.0794,600"


def test_passes_csv_contract_and_geometry(run, iss_tle, tmp_path):
    out = tmp_path / "p.csv"
    result = run("passes", iss_tle, "--station", WEILHEIM, "--station",
                 "Hartebeesthoek:-25.8897,27.6853,1500",
                 "--start", START, "--duration", "24h", "-o", out)
    assert result.exit_code == 0, result.stderr
    assert "over 2 stations" in result.stderr and "duration 1d" in result.stderr
    header, rows = read_csv(out)
    assert tuple(header) == PASSES_COLUMNS
    assert len(rows) >= 8, "the ISS and Tianhe each rise over both stations several times a day"
    assert f"wrote {out} ({len(rows)} passes" in result.stdout
    aos = Time.parse([r[3] for r in rows]).ns
    tca = Time.parse([r[4] for r in rows]).ns
    los = Time.parse([r[5] for r in rows]).ns
    assert np.all(aos <= tca) and np.all(tca <= los)
    assert np.all(np.diff(aos) >= 0)  # ordered by AOS
    window = Time.parse(START).ns, Time.parse("2026-05-31T12:00:00Z").ns
    assert np.all(aos >= window[0]) and np.all(los <= window[1])
    assert {r[2] for r in rows} == {"Weilheim", "Hartebeesthoek"}
    assert {(r[0], r[1]) for r in rows} == {("25544", "ISS (ZARYA)"), ("48274", "CSS (TIANHE)")}
    assert all(r[7] in ("true", "false") for r in rows)
    # a pass's max elevation is the elevation seen from that station at TCA (independent check
    # with orbemu's frames; 0.05° allows for TCA being refined to a finite tolerance)
    es = load_elements(str(iss_tle))
    stations = {"Weilheim": (47.8801, 11.0794, 600.0),
                "Hartebeesthoek": (-25.8897, 27.6853, 1500.0)}
    for r in rows[:6]:
        sat = int(np.flatnonzero(es.norad_ids == int(r[0]))[0])
        eph = propagate(es.select([sat]), Time.parse([r[4]]), frame="ITRF")
        lat, lon, alt = stations[r[2]]
        site = geodetic_to_itrf(lat * DEG, lon * DEG, alt)
        _, el, _ = topocentric(eph.position_m[0, 0], site, enu_matrix(lat * DEG, lon * DEG))
        assert abs(np.degrees(el) - float(r[6])) < 0.05, r


def test_min_elevation_and_bundled_stations(run, tmp_path):
    out = tmp_path / "p.csv"
    result = run("passes", "stations", "--satellites", "25544", "--stations", "ksat",
                 "--start", START, "--duration", "12h", "--min-elevation", "30", "-o", out)
    assert result.exit_code == 0, result.stderr
    assert "min elevation 30°" in result.stderr
    _, rows = read_csv(out)
    assert rows
    assert all(float(r[6]) >= 30.0 for r in rows)


def test_passes_summary_on_screen(run, iss_tle):
    result = run("passes", iss_tle, "--station", WEILHEIM, "--start", START,
                 "--duration", "24h")
    assert result.exit_code == 0, result.stderr
    assert "Weilheim" in result.stdout and "ISS (ZARYA) (25544)" in result.stdout
    assert "passes in" in result.stdout


@pytest.mark.parametrize(("args", "needles"), [
    (("--station", "Svalbard:78.2,foo"), ("--station", "'foo' is not a number")),
    (("--station", "Nowhere:95,10"), ("95",)),
    ((), ("--station", "--stations")),
    (("--stations", "no-such-network"), ("no-such-network",)),
    (("--station", WEILHEIM, "--duration", "-3h"), ("--duration",)),
    (("--station", WEILHEIM, "--min-elevation", "95"), ("--min-elevation",)),
    (("--station", WEILHEIM, "--station", WEILHEIM), ("unique", "Weilheim")),
    (("--station", WEILHEIM, "-o", "p.parquet"), ("--output", ".csv")),
])
def test_bad_station_input_exits_2(run, iss_tle, tmp_path, args, needles):
    fixed = [str(tmp_path / a) if a == "p.parquet" else a for a in args]
    assert_clean_error(run("passes", iss_tle, *fixed), *needles)


def test_stations_file_and_skip_invalid(run, iss_tle, tmp_path):
    csv_path = tmp_path / "gs.csv"
    csv_path.write_text("name,lat_deg,lon_deg,alt_m\nWeilheim,47.8801,11.0794,600\n"
                        "Nowhere,123.0,10.0,0\n")
    assert_clean_error(run("passes", iss_tle, "--stations", csv_path, "--start", START),
                       "gs.csv line 3", "lat")
    out = tmp_path / "p.csv"
    result = run("passes", iss_tle, "--stations", csv_path, "--skip-invalid", "--start", START,
                 "-o", out)
    assert result.exit_code == 0, result.stderr
    assert "skipped 1 invalid ground-station rows" in result.stderr
    assert "gs.csv line 3" in result.stderr
    _, rows = read_csv(out)
    assert rows and {r[2] for r in rows} == {"Weilheim"}
