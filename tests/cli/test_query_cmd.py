"""`orbemu query` and `orbemu export` end to end: tables, CSV, files, and refusals."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from orbemu.store import Event, SQLiteSink, database_path
from tests.cli.conftest import orbemu_process

T0 = 1_780_000_000 * 10**9


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A finished run: 12 satellites × 80 steps of housekeeping, network rows, events."""
    rng = np.random.default_rng(11)
    folder = tmp_path_factory.mktemp("q") / "run"
    with SQLiteSink(folder, batch_rows=64) as sink:
        sink.write_satellites([f"SAT-{i}" for i in range(12)])
        for step in range(80):
            t = T0 + step * 10**10
            sink.write_housekeeping(t, np.arange(12), {"soc": rng.random(12),
                                                       "storage_bits": rng.random(12) * 1e11})
            sink.write_network([t], ["site:mine"], ["cloud:aws"],
                               [np.nan if step % 7 == 0 else 50.0 + step / 8], [5],
                               [step % 7 != 0])
        sink.write_events([Event(T0 + 5, "battery_low", "SAT-3", {"soc": 0.19})])
    return folder


def test_piped_query_is_csv_of_every_row(run_dir):
    res = orbemu_process("query", run_dir, "SELECT time_ns, sat, soc FROM housekeeping "
                         "WHERE sat = 3 ORDER BY time_ns")
    assert res.returncode == 0, res.stderr
    rows = list(csv.reader(io.StringIO(res.stdout)))
    assert rows[0] == ["time_ns", "sat", "soc"] and len(rows) == 81
    assert rows[1][0] == str(T0) and rows[1][1] == "3" and 0 <= float(rows[1][2]) <= 1
    nulls = orbemu_process("query", run_dir, "SELECT rtt_ms FROM network ORDER BY time_ns")
    values = [r[0] for r in csv.reader(io.StringIO(nulls.stdout))][1:]
    assert values[0] == "" and values[1] == repr(50.0 + 1 / 8)  # NULL empty, exact floats


def test_table_format_shows_the_first_rows(run, run_dir):
    res = run("query", str(run_dir), "SELECT sat, name FROM satellites ORDER BY sat",
              "--format", "table", "--limit", "5")
    assert res.exit_code == 0, res.output
    assert "SAT-4" in res.stdout and "SAT-5" not in res.stdout
    assert "12 rows; the first 5 shown" in res.stdout
    res = run("query", str(run_dir), "SELECT kind, subject, detail FROM events",
              "--format", "table")
    assert "battery_low" in res.stdout and "1 row" in res.stdout


def test_output_file_and_export(run, run_dir, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    out = tmp_path / "low.parquet"
    res = run("query", str(run_dir), "SELECT sat, avg(soc) AS soc FROM housekeeping "
              "GROUP BY sat", "--output", str(out))
    assert res.exit_code == 0, res.output
    assert "wrote" in res.stdout and "12 rows" in res.stdout
    assert pq.read_table(out).num_rows == 12
    res = orbemu_process("export", run_dir, "housekeeping", tmp_path / "hk.csv")
    assert res.returncode == 0, res.stderr
    assert "960 rows" in res.stdout
    with open(tmp_path / "hk.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["time_ns", "sat", "soc", "storage_bits"] and len(rows) == 961
    res = orbemu_process("export", run_dir, "SELECT * FROM network WHERE reachable = 0",
                         tmp_path / "gaps.parquet")
    assert res.returncode == 0 and pq.read_table(tmp_path / "gaps.parquet").num_rows == 12


def test_bad_sql_is_one_clear_message(run_dir):
    res = orbemu_process("query", run_dir, "SELEC * FROM housekeeping")
    assert res.returncode == 2
    assert "SQLite cannot run the query" in res.stderr and "syntax error" in res.stderr
    assert "Tables:" in res.stderr and "housekeeping" in res.stderr
    assert "Traceback" not in res.stderr and res.stdout == ""
    res = orbemu_process("query", run_dir, "SELECT nope FROM housekeeping")
    assert res.returncode == 2 and "no such column: nope" in res.stderr


@pytest.mark.parametrize("sql", ["DELETE FROM housekeeping", "DROP TABLE events",
                                 "UPDATE runs SET status = 'hacked'",
                                 "INSERT INTO events VALUES (1, 'x', 'y', NULL)"])
def test_writes_are_refused_and_nothing_changes(run_dir, sql):
    before = database_path(run_dir).read_bytes()
    res = orbemu_process("query", run_dir, sql)
    assert res.returncode == 2
    assert "would change the run" in res.stderr and "read-only" in res.stderr
    assert database_path(run_dir).read_bytes() == before
    res = orbemu_process("export", run_dir, sql, run_dir.parent / "x.csv")
    assert res.returncode == 2 and "would change the run" in res.stderr


def test_not_a_run_folder(run, tmp_path):
    res = run("query", str(tmp_path), "SELECT 1")
    assert res.exit_code == 2 and "no run database" in res.stderr
    res = run("export", str(tmp_path), "events", str(tmp_path / "e.txt"))
    assert res.exit_code == 2 and "unknown output format" in res.stderr
