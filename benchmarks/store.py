"""Telemetry store: housekeeping of 1,000 satellites written to SQLite, against baselines.

Each step writes one housekeeping row per satellite with 8 quantities (mode, state of charge,
battery energy, stored bits, power, latitude, longitude, altitude). Measured in the same run:

- ``SQLiteSink``: the wide layout, multi-row ``INSERT`` batches, a commit every 60 steps, the
  indexes built at close (reported apart);
- the naive baseline: one ``INSERT`` and one ``COMMIT`` per row (same table, WAL +
  ``synchronous=NORMAL``), on ``--naive-rows`` rows;
- ``SQLiteSink`` with one-row ``INSERT`` statements (what the multi-row batches gain);
- the long layout (``time_ns, sat, key_id, value``: 8 rows per satellite-step) with
  ``executemany``, on ``--subset-steps`` steps;
- two queries on the finished database: one satellite's series, and every satellite at one
  instant.

    python -m benchmarks.store [--sats 1000] [--steps 1440] [--naive-rows 5000]
"""

from __future__ import annotations

import argparse
import itertools
import os
import sqlite3
import tempfile
import time
from pathlib import Path

import numpy as np

import orbemu.store.sqlite as sqlite_store
from orbemu.store import RunInfo, SQLiteSink, query

T0 = 1_780_000_000 * 10**9
STEP_NS = 60 * 10**9
KEYS = ("mode", "soc", "battery_wh", "storage_bits", "power_w", "lat_deg", "lon_deg", "alt_m")


def housekeeping(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {"mode": rng.integers(0, 5, n), "soc": rng.random(n),
            "battery_wh": rng.random(n) * 200, "storage_bits": rng.random(n) * 1e12,
            "power_w": rng.random(n) * 150, "lat_deg": rng.uniform(-90, 90, n),
            "lon_deg": rng.uniform(-180, 180, n), "alt_m": 550e3 + rng.random(n) * 1e4}


def connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    return db


WIDE = ("CREATE TABLE housekeeping(time_ns INTEGER NOT NULL, sat INTEGER NOT NULL, "
        "mode INTEGER, soc REAL, battery_wh REAL, storage_bits REAL, power_w REAL, "
        "lat_deg REAL, lon_deg REAL, alt_m REAL)")
ROW_SQL = "INSERT INTO housekeeping VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"


def rows_of(t: int, cols: dict[str, np.ndarray]) -> list[tuple[object, ...]]:
    n = len(cols["soc"])
    lists = [cols[k].tolist() for k in KEYS]
    return list(zip(itertools.repeat(t, n), range(n), *lists, strict=False))


def bench_sink(folder: Path, n: int, steps: int, cols: dict[str, np.ndarray],
               rows_per_statement: int = 100) -> tuple[float, float]:
    saved = sqlite_store._ROWS_PER_STATEMENT
    sqlite_store._ROWS_PER_STATEMENT = rows_per_statement
    try:
        return _bench_sink(folder, n, steps, cols)
    finally:
        sqlite_store._ROWS_PER_STATEMENT = saved


def _bench_sink(folder: Path, n: int, steps: int, cols: dict[str, np.ndarray]
                ) -> tuple[float, float]:
    sink = SQLiteSink(folder, commit_every_steps=60, commit_interval_s=None)
    sink.start_run(RunInfo(name="bench", step_ns=STEP_NS))
    sat = np.arange(n)
    t0 = time.perf_counter()
    for step in range(steps):
        t = T0 + step * STEP_NS
        sink.write_housekeeping(t, sat, cols)
        sink.end_step(step, t)
    sink.flush()
    t1 = time.perf_counter()
    sink.close()
    return t1 - t0, time.perf_counter() - t1


def bench_naive(path: Path, rows: list[tuple[object, ...]]) -> float:
    db = connect(path)
    db.execute(WIDE)
    t0 = time.perf_counter()
    for row in rows:
        db.execute("BEGIN")
        db.execute(ROW_SQL, row)
        db.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    db.close()
    return elapsed


def bench_long(path: Path, n: int, steps: int, cols: dict[str, np.ndarray]) -> float:
    db = connect(path)
    db.execute("CREATE TABLE telemetry(time_ns INTEGER NOT NULL, sat INTEGER NOT NULL, "
               "key_id INTEGER NOT NULL, value REAL)")
    t0 = time.perf_counter()
    db.execute("BEGIN")
    sats = np.repeat(np.arange(n), len(KEYS)).tolist()
    key_ids = list(range(len(KEYS))) * n
    values = np.column_stack([cols[k].astype(np.float64) for k in KEYS]).ravel()
    for step in range(steps):
        t = T0 + step * STEP_NS
        db.executemany("INSERT INTO telemetry VALUES (?, ?, ?, ?)",
                       zip(itertools.repeat(t), sats, key_ids, values.tolist(), strict=False))
    db.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    db.close()
    return elapsed


def best_ms(fn, repeat: int = 5) -> float:
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return min(runs) * 1e3


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sats", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=1440,
                        help="steps written through SQLiteSink (8640 = a day at 10 s)")
    parser.add_argument("--naive-rows", type=int, default=5000,
                        help="rows for the one-commit-per-row baseline")
    parser.add_argument("--subset-steps", type=int, default=100,
                        help="steps for the long-layout comparison")
    args = parser.parse_args(argv)
    n, steps = args.sats, args.steps
    cols = housekeeping(n, np.random.default_rng(0))
    rows_total = n * steps
    with tempfile.TemporaryDirectory(prefix="orbemu-bench-store-") as tmp:
        folder = Path(tmp)
        write_s, close_s = bench_sink(folder / "run", n, steps, cols)
        size_mb = os.path.getsize(folder / "run" / "telemetry.sqlite") / 1e6
        naive_rows = rows_of(T0, cols) * (args.naive_rows // n + 1)
        naive_rows = naive_rows[: args.naive_rows]
        naive_s = bench_naive(folder / "naive.sqlite", naive_rows)
        sub = min(args.subset_steps, steps)
        one_row_s, _ = bench_sink(folder / "onerow", n, steps, cols, rows_per_statement=1)
        long_s = bench_long(folder / "long.sqlite", n, sub, cols)
        series_ms = best_ms(lambda: query(folder / "run", "SELECT time_ns, soc, storage_bits "
                                          "FROM housekeeping WHERE sat = 17"))
        snap_ms = best_ms(lambda: query(folder / "run", "SELECT sat, soc FROM housekeeping "
                                        "WHERE time_ns = ?", (T0 + (steps // 2) * STEP_NS,)))
    sink_rate = rows_total / write_s
    naive_rate = len(naive_rows) / naive_s
    one_row_rate = rows_total / one_row_s
    long_rate = n * sub / long_s
    print(f"housekeeping: {n:,} satellites × {steps:,} steps = {rows_total:,} rows, "
          f"{len(KEYS)} quantities; database {size_mb:,.0f} MB")
    print(f"{'method':<52}{'sat-steps/s':>14}{'vs naive':>10}")
    for label, rate in (
            ("SQLiteSink (wide, 100-row INSERTs, commit/60 steps)", sink_rate),
            ("SQLiteSink with one-row INSERTs", one_row_rate),
            ("long (time, sat, key, value), executemany", long_rate),
            ("naive: one INSERT + COMMIT per row", naive_rate)):
        print(f"{label:<52}{rate:>14,.0f}{rate / naive_rate:>9.0f}x")
    print(f"SQLiteSink write {write_s:.2f} s + indexes at close {close_s:.2f} s "
          f"({rows_total / (write_s + close_s):,.0f} rows/s overall); "
          f"SQLiteSink vs one-row statements {sink_rate / one_row_rate:.2f}x, "
          f"vs long layout {sink_rate / long_rate:.1f}x")
    print(f"queries: one satellite's {steps:,}-step series {series_ms:.1f} ms; "
          f"all {n:,} satellites at one instant {snap_ms:.1f} ms")


if __name__ == "__main__":
    main()
