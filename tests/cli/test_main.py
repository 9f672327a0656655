"""End-to-end tests of the ``orbemu`` command line: outputs, columns, exit codes, messages."""

from __future__ import annotations

import json

import numpy as np
import pytest

from orbemu import Time
from orbemu.io.elements import load_elements
from orbemu.io.oem import read_oem
from orbemu.io.tables import CARTESIAN_COLUMNS, GEODETIC_COLUMNS
from tests.conftest import ONE_MILLIMETRE

from .conftest import ISS_TLE, orbemu_process, read_csv

START = "2026-05-30T12:00:00Z"


def assert_clean_error(result, *needles: str) -> None:
    """Exit code 2, one message on stderr naming the problem, no traceback."""
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    assert result.stderr.startswith("error: ")
    for needle in needles:
        assert needle in result.stderr, result.stderr


# ---- propagate -----------------------------------------------------------------------------------


def test_propagate_csv_columns_rows_and_defaults_line(run, iss_tle, tmp_path):
    out = tmp_path / "e.csv"
    result = run("propagate", iss_tle, "--start", START, "--duration", "10m", "--step", "1m",
                 "--output", out)
    assert result.exit_code == 0, result.stderr
    assert "duration 10m · step 1m (11 instants) · frame teme" in result.stderr
    assert f"wrote {out} (22 rows" in result.stdout
    header, rows = read_csv(out)
    assert tuple(header) == CARTESIAN_COLUMNS
    assert len(rows) == 22
    assert [r[1] for r in rows] == ["25544"] * 11 + ["48274"] * 11
    assert rows[0][0] == "2026-05-30T12:00:00.000Z" and rows[10][0] == "2026-05-30T12:10:00.000Z"
    # the ISS is ~6,800 km from the Earth's centre
    r = np.linalg.norm([float(x) for x in rows[0][3:6]])
    assert 6.70e6 < r < 6.85e6


def test_propagate_start_defaults_to_newest_epoch(run, iss_tle, tmp_path):
    out = tmp_path / "e.csv"
    result = run("propagate", iss_tle, "--duration", "0s", "--output", out)
    assert result.exit_code == 0, result.stderr
    newest = Time.parse("2026-05-30T12:25:10Z")  # day 150.51748228 of 2026, to the second
    assert f"start {newest.iso('s')} (default: the newest element epoch)" in result.stderr
    _, rows = read_csv(out)
    assert [r[0] for r in rows] == ["2026-05-30T12:25:10.000Z"] * 2


def test_propagate_geodetic_and_satellite_selection(run, iss_tle, tmp_path):
    out = tmp_path / "g.csv"
    result = run("propagate", iss_tle, "--start", START, "--duration", "2m", "--frame",
                 "geodetic", "--satellites", "CSS (TIANHE)", "-o", out)
    assert result.exit_code == 0, result.stderr
    header, rows = read_csv(out)
    assert tuple(header) == GEODETIC_COLUMNS
    assert [r[1:3] for r in rows] == [["48274", "CSS (TIANHE)"]] * 3
    lat = [float(r[3]) for r in rows]
    assert all(abs(x) <= 41.5 for x in lat)  # inclination 41.47°
    alt = float(rows[0][5])
    assert 340e3 < alt < 420e3


def test_propagate_parquet_oem_czml(run, iss_tle, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    czml3 = pytest.importorskip("czml3")
    common = ("--start", START, "--duration", "30m", "--step", "5m")
    assert run("propagate", iss_tle, *common, "--frame", "itrf", "-o",
               tmp_path / "e.parquet").exit_code == 0
    table = pq.read_table(tmp_path / "e.parquet")
    assert tuple(table.column_names) == CARTESIAN_COLUMNS
    assert table.num_rows == 14
    assert table.schema.metadata[b"orbemu.frame"] == b"ITRF"

    assert run("propagate", iss_tle, *common, "-o", tmp_path / "e.oem").exit_code == 0
    oem = read_oem(tmp_path / "e.oem")
    assert [s.object_id for s in oem.segments] == ["1998-067A", "2021-035A"]
    eph = oem.to_ephemeris()
    from orbemu import propagate

    ref = propagate(load_elements(str(tmp_path / "two.tle")),
                    Time.range(START, "30m", "5m"))
    assert np.max(np.abs(eph.position_m - ref.position_m)) < ONE_MILLIMETRE

    assert run("propagate", iss_tle, *common, "-o", tmp_path / "e.czml").exit_code == 0
    doc = czml3.Document.load(tmp_path / "e.czml")
    assert [p.id for p in doc.packets] == ["document", "sat/25544", "sat/48274"]


def test_propagate_without_output_prints_a_summary(run, iss_tle):
    result = run("propagate", iss_tle, "--start", START, "--duration", "1m")
    assert result.exit_code == 0, result.stderr
    assert "ISS (ZARYA)" in result.stdout and "25544" in result.stdout
    assert "2 satellites × 2 instants = 4 states" in result.stdout


@pytest.mark.parametrize(("args", "needles"), [
    (("--duration", "5x"), ("--duration", "cannot read duration '5x'")),
    (("--step", "0s"), ("--step", "positive")),
    (("--start", "2026-13-01"), ("--start", "2026-13-01")),
    (("--satellites", "99999"), ("--satellites", "99999")),
    (("-o", "out.txt"), ("--output", ".txt", ".csv, .parquet, .oem, .czml")),
    (("--frame", "geodetic", "-o", "x.oem"), ("--frame", "OEM")),
])
def test_propagate_bad_arguments_exit_2(run, iss_tle, tmp_path, args, needles):
    fixed = [str(tmp_path / a) if a.startswith(("out.", "x.")) else a for a in args]
    assert_clean_error(run("propagate", iss_tle, *fixed), *needles)


def test_unknown_dataset_exits_2(run):
    assert_clean_error(run("propagate", "starlonk"), "starlonk", "starlink")


def test_corrupt_tle_exits_2_and_skip_invalid_reports(run, tmp_path):
    bad = tmp_path / "bad.tle"
    lines = ISS_TLE.splitlines()
    lines[5] = lines[5][:-1] + "0"  # break the checksum of CSS (TIANHE) line 2
    bad.write_text("\n".join(lines) + "\n")
    assert_clean_error(run("propagate", bad), "bad.tle line 6", "checksum", "--skip-invalid")
    out = tmp_path / "e.csv"
    result = run("propagate", bad, "--skip-invalid", "--duration", "1m", "-o", out)
    assert result.exit_code == 0, result.stderr
    assert "skipped 1 invalid element records" in result.stderr
    assert "bad.tle line 6" in result.stderr
    _, rows = read_csv(out)
    assert {r[1] for r in rows} == {"25544"}


def test_unexpected_errors_exit_1_with_a_hint(run, iss_tle, tmp_path, monkeypatch):
    import orbemu.io.tables

    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(orbemu.io.tables, "write_ephemeris_csv", boom)
    result = run("propagate", iss_tle, "-o", tmp_path / "x.csv")
    assert result.exit_code == 1
    assert "unexpected RuntimeError: disk on fire" in result.stderr
    assert "--debug" in result.stderr
    assert "Traceback" not in result.stderr
    debug = run("--debug", "propagate", iss_tle, "-o", tmp_path / "x.csv")
    assert isinstance(debug.exception, RuntimeError)  # not swallowed: the traceback shows


# ---- elements ------------------------------------------------------------------------------------


def test_elements_summary(run, iss_tle):
    result = run("elements", iss_tle)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "two.tle: 2 satellites" in out
    assert "2026-05-30T10:34:16Z .. 2026-05-30T12:25:10Z" in out
    assert "300–400 km" in out and "400–500 km" in out  # CSS ~380 km, ISS ~415 km mean
    assert "40–50°" in out and "50–60°" in out


def test_elements_lists_rejections_and_duplicates(run, tmp_path):
    lines = ISS_TLE.splitlines()
    text = "\n".join(lines + lines[:3]) + "\nJUNK\n1 2\n2 3\n"
    path = tmp_path / "mixed.tle"
    path.write_text(text)
    assert_clean_error(run("elements", path), "mixed.tle line")
    result = run("elements", path, "--skip-invalid")
    assert result.exit_code == 0, result.stderr
    assert "2 satellites, 1 records rejected" in result.stdout
    assert "rejected records (1):" in result.stdout
    assert "mixed.tle line 1" in result.stdout
    assert "note:" in result.stdout and "25544" in result.stdout  # the duplicate is reported


def test_bundled_set_summary(run):
    result = run("elements", "stations")
    assert result.exit_code == 0, result.stderr
    assert "stations: 25 satellites" in result.stdout


# ---- walker --------------------------------------------------------------------------------------


def test_walker_preset_to_tle_reads_back(run, tmp_path):
    out = tmp_path / "shell.tle"
    result = run("walker", "--preset", "starlink-550", "--epoch", START, "-o", out)
    assert result.exit_code == 0, result.stderr
    es = load_elements(str(out))
    assert len(es) == 72 * 22
    assert np.allclose(np.degrees(es.inclination_rad), 53.0)
    assert es.epoch_span()[0] == Time.parse(START)


def test_walker_explicit_to_omm(run, tmp_path):
    out = tmp_path / "iridium.xml"
    result = run("walker", "--planes", "6", "--sats-per-plane", "11", "--inclination", "86.4",
                 "--altitude", "780km", "--star", "-o", out)
    assert result.exit_code == 0, result.stderr
    assert "66 satellites" in result.stdout
    es = load_elements(str(out))
    assert len(es) == 66
    assert np.allclose(np.degrees(es.inclination_rad), 86.4)
    assert np.all(np.abs(es.mean_altitude_m - 780e3) < 1e3)


@pytest.mark.parametrize(("args", "needles"), [
    (("--planes", "6"), ("--sats-per-plane", "--preset")),
    (("--preset", "nope"), ("nope", "starlink-550")),
    (("--preset", "kuiper", "--planes", "3"), ("--preset",)),
    (("--planes", "6", "--sats-per-plane", "11", "--inclination", "86", "--altitude", "780"),
     ("--altitude", "780")),
])
def test_walker_bad_arguments(run, tmp_path, args, needles):
    assert_clean_error(run("walker", *args, "-o", tmp_path / "w.tle"), *needles)


# ---- data ----------------------------------------------------------------------------------------


def test_data_lists_bundled_sets(run):
    result = run("data")
    assert result.exit_code == 0, result.stderr
    for name in ("starlink", "stations", "ksat", "CelesTrak"):
        assert name in result.stdout
    assert run("data", "list").stdout == result.stdout


# ---- a real process ---------------------------------------------------------------------------


def test_real_process_writes_csv_and_fails_cleanly(tmp_path):
    out = tmp_path / "e.csv"
    ok = orbemu_process("propagate", "stations", "--satellites", "25544", "--duration", "5m",
                        "-o", out)
    assert ok.returncode == 0, ok.stderr
    header, rows = read_csv(out)
    assert tuple(header) == CARTESIAN_COLUMNS and len(rows) == 6
    # piped stderr: no progress bar drawn
    assert "━" not in ok.stderr and "\x1b[" not in ok.stderr

    bad = orbemu_process("propagate", "stations", "--duration", "five minutes")
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: --duration")
    assert "Traceback" not in bad.stderr
    assert bad.stderr.count("\n") == 1  # one message

    debug = orbemu_process("propagate", "stations", "--duration", "five minutes", "--debug")
    assert debug.returncode == 1
    assert "Traceback" in debug.stderr and "InputError" in debug.stderr


def test_czml_is_json_array_with_document_first(run, iss_tle, tmp_path):
    out = tmp_path / "x.czml"
    assert run("propagate", iss_tle, "--duration", "10m", "-o", out).exit_code == 0
    packets = json.loads(out.read_text())
    assert packets[0]["id"] == "document"
