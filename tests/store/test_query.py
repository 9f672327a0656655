"""Read-only queries and export to Parquet and CSV."""

from __future__ import annotations

import csv
import math

import numpy as np
import pyarrow.parquet as pq
import pytest

from orbemu.errors import InputError
from orbemu.store import Event, SQLiteSink, database_path, export, list_tables, query

T0 = 1_780_000_000 * 10**9


@pytest.fixture
def run(tmp_path):
    """A small finished run: 20 satellites × 30 steps of housekeeping, events, network."""
    rng = np.random.default_rng(3)
    with SQLiteSink(tmp_path / "run", batch_rows=100) as sink:
        sink.write_satellites([f"S{i}" for i in range(20)])
        for step in range(30):
            t = T0 + step * 10**10
            sink.write_housekeeping(t, np.arange(20), {
                "mode": rng.integers(0, 4, 20), "soc": rng.random(20),
                "storage_bits": rng.random(20) * 1e12})
            sink.write_network([t], ["site:a"], ["cloud:b"],
                               [np.nan if step % 5 == 0 else 40 + step / 3], [4], [step % 5 != 0])
        sink.write_events([Event(T0, "fault", "S3", {"why": "seu"})])
    return tmp_path / "run"


def test_query_returns_columns_and_rows(run):
    cols, rows = query(run, "SELECT sat, count(*) AS n FROM housekeeping GROUP BY sat "
                            "HAVING sat < ? ORDER BY sat", (3,))
    assert cols == ["sat", "n"]
    assert rows == [(0, 30), (1, 30), (2, 30)]
    assert query(run, "SELECT name FROM satellites WHERE sat = :s", {"s": 4})[1] == [("S4",)]
    assert len(query(run, "SELECT * FROM housekeeping", max_rows=7)[1]) == 7


@pytest.mark.parametrize("sql", [
    "DELETE FROM housekeeping",
    "INSERT INTO events VALUES (1, 'x', 'y', NULL)",
    "UPDATE runs SET status = 'x'",
    "DROP TABLE events",
    "CREATE TABLE x(a)",
    "PRAGMA journal_mode = DELETE",
    "ATTACH DATABASE 'other.sqlite' AS other",
    "VACUUM INTO 'copy.sqlite'",
])
def test_writes_are_refused_clearly(run, sql):
    before = database_path(run).read_bytes()
    with pytest.raises(InputError) as info:
        query(run, sql)
    text = str(info.value)
    assert "would change the run" in text
    assert "read-only" in text
    assert sql in text
    assert database_path(run).read_bytes() == before
    assert not (run / "other.sqlite").exists() and not (run.parent / "copy.sqlite").exists()
    assert query(run, "SELECT count(*) FROM housekeeping")[1] == [(600,)]


def test_sql_errors_list_the_tables(run):
    with pytest.raises(InputError, match="syntax error") as info:
        query(run, "SELEC 1")
    assert "Tables: checkpoints, contact_plan, contacts, events, faults" in str(info.value)
    with pytest.raises(InputError, match="no such table: hk"):
        query(run, "SELECT * FROM hk")
    with pytest.raises(InputError, match="one statement at a time"):
        query(run, "SELECT 1; SELECT 2")


def test_no_database(tmp_path):
    with pytest.raises(InputError, match="no run database"):
        query(tmp_path, "SELECT 1")


def test_list_tables(run):
    assert {"runs", "housekeeping", "telemetry_named", "network"} <= set(list_tables(run))


def test_query_while_the_run_writes(tmp_path):
    sink = SQLiteSink(tmp_path, commit_every_steps=1)
    sink.write_housekeeping(T0, [0, 1], {"soc": [0.5, 0.6]})
    sink.end_step(0, T0)
    sink.write_housekeeping(T0 + 1, [0, 1], {"soc": [0.7, 0.8]})  # not committed yet
    assert query(tmp_path, "SELECT count(*) FROM housekeeping")[1] == [(2,)]
    sink.close()


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b


@pytest.mark.parametrize("batch_rows", [1, 64, 65_536])
def test_parquet_export_matches_the_query(run, tmp_path, batch_rows):
    out = tmp_path / "hk.parquet"
    n = export(run, "housekeeping", out, batch_rows=batch_rows)
    cols, rows = query(run, "SELECT * FROM housekeeping")
    assert n == len(rows) == 600
    table = pq.read_table(out)
    assert table.column_names == cols
    assert [str(t) for t in table.schema.types] == ["int64", "int64", "int64", "double",
                                                    "double"]
    assert [tuple(r.values()) for r in table.to_pylist()] == rows


def test_parquet_export_of_a_query_with_nulls_first(run, tmp_path):
    # The first values of rtt_ms are NULL: the type comes from a later batch.
    out = tmp_path / "net.parquet"
    sql = "SELECT time_ns, rtt_ms, reachable FROM network ORDER BY time_ns"
    n = export(run, sql, out, batch_rows=1)
    table = pq.read_table(out)
    assert n == 30 and str(table.schema.field("rtt_ms").type) == "double"
    assert [tuple(r.values()) for r in table.to_pylist()] == query(run, sql)[1]


def test_csv_export_matches_the_query(run, tmp_path):
    out = tmp_path / "net.csv"
    n = export(run, "network", out)
    cols, rows = query(run, "SELECT * FROM network")
    with out.open(newline="") as f:
        got = list(csv.reader(f))
    assert n == len(rows) == 30
    assert got[0] == cols
    for line, row in zip(got[1:], rows, strict=True):
        assert line == ["" if v is None else str(v) for v in row]
        # floats come back exactly
        assert all(_same(float(a), b) for a, b in zip(line, row, strict=True)
                   if isinstance(b, float))


def test_export_refuses_unknown_formats_and_writes(run, tmp_path):
    with pytest.raises(InputError, match=r"\.parquet or \.csv"):
        export(run, "housekeeping", tmp_path / "hk.xlsx")
    with pytest.raises(InputError, match="would change the run"):
        export(run, "DELETE FROM housekeeping", tmp_path / "x.csv")


def test_empty_export(run, tmp_path):
    assert export(run, "contacts", tmp_path / "c.parquet") == 0
    table = pq.read_table(tmp_path / "c.parquet")
    assert table.num_rows == 0 and "volume_bits" in table.column_names
