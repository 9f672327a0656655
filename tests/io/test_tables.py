"""CSV and Parquet ephemeris tables: exact columns, row order, values, failed samples."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from orbemu import Time, UsageError
from orbemu.constants import DEG
from orbemu.io.tables import (
    CARTESIAN_COLUMNS,
    GEODETIC_COLUMNS,
    ephemeris_blocks,
    write_ephemeris_csv,
    write_ephemeris_parquet,
)
from tests.conftest import ONE_MILLIMETRE

from .conftest import with_failures


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        return header, list(reader)


def test_csv_columns_order_and_values(tmp_path, ephemeris):
    path = tmp_path / "eph.csv"
    rows = write_ephemeris_csv(ephemeris, path)
    header, body = read_csv(path)
    assert tuple(header) == CARTESIAN_COLUMNS
    assert rows == len(body) == ephemeris.n_sats * ephemeris.n_times
    # satellite-major: all instants of satellite 0, then satellite 1 ...
    ids = np.array([int(r[1]) for r in body]).reshape(ephemeris.n_sats, ephemeris.n_times)
    assert np.all(ids == ephemeris.norad_ids[:, None])
    stamps = [r[0] for r in body[: ephemeris.n_times]]
    assert stamps == list(ephemeris.times.iso("ms"))
    assert stamps[1] == "2026-05-30T12:01:00.000Z"
    assert Time.parse(stamps).ns.tolist() == ephemeris.times.ns.tolist()
    assert body[0][2] == "ISS (ZARYA)"
    values = np.array([[float(x) for x in r[3:]] for r in body]).reshape(
        ephemeris.n_sats, ephemeris.n_times, 6)
    assert np.max(np.abs(values[..., :3] - ephemeris.position_m)) <= 0.5 * ONE_MILLIMETRE + 1e-9
    assert np.max(np.abs(values[..., 3:] - ephemeris.velocity_m_s)) <= 0.5e-6 + 1e-12


def test_csv_itrf_and_geodetic_agree_with_frames(tmp_path, ephemeris):
    itrf = ephemeris.to_itrf()
    write_ephemeris_csv(ephemeris, tmp_path / "itrf.csv", frame="itrf")
    _, body = read_csv(tmp_path / "itrf.csv")
    xyz = np.array([[float(x) for x in r[3:6]] for r in body]).reshape(itrf.position_m.shape)
    assert np.max(np.abs(xyz - itrf.position_m)) <= 0.5 * ONE_MILLIMETRE + 1e-9
    # ITRF differs from TEME by the Earth's rotation: kilometres, not rounding
    assert np.max(np.abs(xyz - ephemeris.position_m)) > 1000.0

    write_ephemeris_csv(ephemeris, tmp_path / "geo.csv", frame="geodetic")
    header, body = read_csv(tmp_path / "geo.csv")
    assert tuple(header) == GEODETIC_COLUMNS
    lla = np.array([[float(x) for x in r[3:]] for r in body]).reshape(
        ephemeris.n_sats, ephemeris.n_times, 3)
    lat, lon, alt = itrf.geodetic()
    assert np.max(np.abs(lla[..., 0] - lat / DEG)) <= 0.5e-8 + 1e-12
    assert np.max(np.abs(lla[..., 1] - lon / DEG)) <= 0.5e-8 + 1e-12
    assert np.max(np.abs(lla[..., 2] - alt)) <= 0.5 * ONE_MILLIMETRE + 1e-9
    # the ISS flies at about 420 km, the GEO relay at about 35,800 km
    assert 380e3 < lla[0, 0, 2] < 450e3
    assert 35_000e3 < lla[2, 0, 2] < 36_500e3


def test_failed_samples_are_empty_fields_not_dropped(tmp_path, ephemeris):
    eph = with_failures(ephemeris, [(1, 0), (1, 5)])
    path = tmp_path / "eph.csv"
    write_ephemeris_csv(eph, path, frame="geodetic")
    _, body = read_csv(path)
    assert len(body) == eph.n_sats * eph.n_times
    row = body[eph.n_times + 5]
    assert row[:3] == [eph.times[5].iso("ms"), "48274", "CSS (TIANHE)"]
    assert row[3:] == ["", "", ""]
    assert all(x != "" for x in body[eph.n_times + 6][3:])


def test_blocks_stream_to_the_same_file_as_one_ephemeris(tmp_path, elements, times, ephemeris):
    write_ephemeris_csv(ephemeris, tmp_path / "one.csv")
    seen = []
    blocks = ephemeris_blocks(elements, times, block_sats=1,
                              progress=lambda done, total: seen.append((done, total)))
    write_ephemeris_csv(blocks, tmp_path / "blocks.csv")
    assert (tmp_path / "one.csv").read_bytes() == (tmp_path / "blocks.csv").read_bytes()
    assert seen == [(1, 3), (2, 3), (3, 3)]


def test_large_blocks_are_split_into_bounded_writes(tmp_path, elements):
    # 3 satellites × 30,000 instants = 90,000 rows: more than one 50,000-row write
    times = Time.range("2026-05-30T12:00:00Z", "30000s", "1s", endpoint=False)
    eph = ephemeris_blocks(elements, times)
    rows = write_ephemeris_csv(eph, tmp_path / "big.csv")
    assert rows == 90_000
    with open(tmp_path / "big.csv", encoding="utf-8") as fh:
        assert sum(1 for _ in fh) == 90_001


def test_writes_to_a_binary_stream(ephemeris):
    buf = io.BytesIO()
    write_ephemeris_csv(ephemeris.select(sats=[0], times=[0]), buf)
    lines = buf.getvalue().decode().splitlines()
    assert lines[0] == ",".join(CARTESIAN_COLUMNS)
    assert lines[1].startswith("2026-05-30T12:00:00.000Z,25544,ISS (ZARYA),")


def test_names_with_commas_are_quoted(tmp_path, ephemeris):
    names = ephemeris.names.copy()
    names[0] = 'SAT, "ONE"'
    from dataclasses import replace

    write_ephemeris_csv(replace(ephemeris, names=names), tmp_path / "q.csv")
    _, body = read_csv(tmp_path / "q.csv")
    assert body[0][2] == 'SAT, "ONE"'
    assert len(body[0]) == len(CARTESIAN_COLUMNS)


def test_itrf_cannot_be_written_as_teme(tmp_path, ephemeris):
    with pytest.raises(UsageError, match="TEME"):
        write_ephemeris_csv(ephemeris.to_itrf(), tmp_path / "x.csv", frame="teme")
    with pytest.raises(UsageError, match="frame must be"):
        write_ephemeris_csv(ephemeris, tmp_path / "x.csv", frame="gcrf")


def test_parquet_reads_back(tmp_path, ephemeris):
    pq = pytest.importorskip("pyarrow.parquet")
    eph = with_failures(ephemeris, [(0, 3)])
    path = tmp_path / "eph.parquet"
    rows = write_ephemeris_parquet(eph, path, frame="itrf")
    table = pq.read_table(path)
    assert tuple(table.column_names) == CARTESIAN_COLUMNS
    assert rows == table.num_rows == eph.n_sats * eph.n_times
    meta = table.schema.metadata
    assert meta[b"orbemu.frame"] == b"ITRF"
    ts = table.column("time_utc").to_numpy().astype("datetime64[ns]").astype(np.int64)
    assert np.array_equal(ts.reshape(eph.n_sats, -1), np.tile(eph.times.ns, (eph.n_sats, 1)))
    assert table.column("name").to_pylist()[eph.n_times] == "CSS (TIANHE)"
    x = table.column("x_m")
    assert x.null_count == 1 and x[3].as_py() is None
    itrf = eph.to_itrf()
    got = np.array(x.to_numpy(zero_copy_only=False), dtype=float).reshape(eph.n_sats, -1)
    ok = eph.status == 0
    assert np.max(np.abs(got[ok] - itrf.position_m[..., 0][ok])) == 0.0  # float64, lossless


def test_parquet_geodetic_columns(tmp_path, ephemeris):
    pq = pytest.importorskip("pyarrow.parquet")
    write_ephemeris_parquet(ephemeris, tmp_path / "g.parquet", frame="geodetic")
    table = pq.read_table(tmp_path / "g.parquet")
    assert tuple(table.column_names) == GEODETIC_COLUMNS
    assert table.schema.field("time_utc").type.tz == "UTC"
