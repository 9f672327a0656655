"""The SQLite sink: round trips of every record type, batch boundaries, commits, resume."""

from __future__ import annotations

import functools
import json
import sqlite3

import numpy as np
import pytest

from orbemu.errors import InputError, UsageError
from orbemu.store import Event, RunInfo, Sink, SQLiteSink, database_path, query, read_progress

T0 = 1_780_000_000 * 10**9
STEP = 10 * 10**9


def hk(n: int, step: int) -> dict[str, np.ndarray]:
    """Deterministic housekeeping of ``n`` satellites at ``step``."""
    sat = np.arange(n)
    return {"mode": (sat + step) % 4, "soc": (sat + 1.0) / (n + step + 1),
            "storage_bits": sat * 1e9 + step, "safe": (sat + step) % 7 == 0}


def test_is_a_sink(tmp_path):
    sink = SQLiteSink(tmp_path / "run")
    assert isinstance(sink, Sink)
    sink.close()


def test_run_metadata(tmp_path):
    with SQLiteSink(tmp_path) as sink:
        sink.start_run(RunInfo(name="demo", scenario_text="name: demo\n", seed=7, start_ns=T0,
                               step_ns=STEP, duration_ns=3600 * 10**9,
                               scenario_source="builtin:demo", metadata={"argv": ["run"]}))
    cols, rows = query(tmp_path, "SELECT * FROM runs")
    row = dict(zip(cols, rows[0], strict=True))
    assert row["name"] == "demo" and row["seed"] == 7 and row["status"] == "completed"
    assert row["scenario_text"] == "name: demo\n" and row["start_ns"] == T0
    assert row["step_ns"] == STEP and row["scenario_source"] == "builtin:demo"
    assert row["sqlite_version"] == sqlite3.sqlite_version
    assert row["orbemu_version"] and row["numpy_version"] == np.__version__
    assert json.loads(row["metadata"]) == {"argv": ["run"]}


@pytest.mark.parametrize("batch_rows", [1, 7, 250, 1000, 10**6])
def test_housekeeping_round_trip_at_any_batch_size(tmp_path, batch_rows):
    n, steps = 50, 9
    with SQLiteSink(tmp_path, batch_rows=batch_rows, commit_every_steps=4) as sink:
        for step in range(steps):
            sink.write_housekeeping(T0 + step * STEP, np.arange(n), hk(n, step))
            sink.end_step(step, T0 + step * STEP)
    cols, rows = query(tmp_path, "SELECT * FROM housekeeping ORDER BY time_ns, sat")
    assert cols == ["time_ns", "sat", "mode", "soc", "storage_bits", "safe"]
    assert len(rows) == n * steps
    for step in range(steps):
        expect = hk(n, step)
        got = rows[step * n:(step + 1) * n]
        assert all(r[0] == T0 + step * STEP for r in got)
        assert [r[1] for r in got] == list(range(n))
        assert [r[2] for r in got] == expect["mode"].tolist()
        assert [r[3] for r in got] == expect["soc"].tolist()  # exact doubles
        assert [r[4] for r in got] == expect["storage_bits"].tolist()
        assert [r[5] for r in got] == expect["safe"].astype(int).tolist()
    assert read_progress(tmp_path) == (steps - 1, T0 + (steps - 1) * STEP)


def test_housekeeping_columns_added_later_and_nan_is_null(tmp_path):
    with SQLiteSink(tmp_path, batch_rows=3) as sink:
        sink.write_housekeeping(T0, [0, 1], {"soc": [0.5, np.nan]})
        sink.write_housekeeping(T0 + STEP, [0, 1], {"soc": [0.4, 0.3], "temp_k": [290.0, 291.5],
                                                    "mode_name": ["safe", "idle"]})
    _, rows = query(tmp_path, "SELECT time_ns, sat, soc, temp_k, mode_name FROM housekeeping "
                              "ORDER BY rowid")
    assert rows == [(T0, 0, 0.5, None, None), (T0, 1, None, None, None),
                    (T0 + STEP, 0, 0.4, 290.0, "safe"), (T0 + STEP, 1, 0.3, 291.5, "idle")]


def test_bad_housekeeping_column_names_and_shapes(tmp_path):
    sink = SQLiteSink(tmp_path)
    with pytest.raises(UsageError, match="lower-case identifier"):
        sink.write_housekeeping(T0, [0], {"Soc; DROP TABLE runs": [1.0]})
    with pytest.raises(UsageError, match="identifier"):
        sink.write_housekeeping(T0, [0], {"sat": [1.0]})
    with pytest.raises(UsageError, match=r"shape \(3,\), expected \(2,\)"):
        sink.write_housekeeping(T0, [0, 1], {"soc": [1.0, 2.0, 3.0]})
    sink.close()


def test_every_record_type_round_trips(tmp_path):
    with SQLiteSink(tmp_path, batch_rows=2) as sink:
        sink.write_satellites(["A", "B"], norad_ids=[44714, 44718], constellation=["s", "s"],
                              role=["relay", "eo"], spacecraft_class=["", "eo-smallsat"])
        sink.write_ground_nodes(["Svalbard", "mine"], roles=["station", "site"],
                                lat_deg=[78.23, -24.27], lon_deg=[15.39, -69.07],
                                alt_m=[450.0, 3100.0])
        sink.write_points(T0, [0, 1, 1], ["temp_k", "temp_k", "rw_rpm"], [290.5, 291.0, 3000.0])
        sink.write_points([T0 + STEP], [0], "temp_k", [289.0])
        sink.write_events([Event(T0, "contact_start", "B/Svalbard", {"elevation_deg": 5.0}),
                           (T0 + STEP, "battery_low", "B", None)])
        sink.write_contacts([T0], [T0 + 600 * 10**9], [1], [0], max_elevation_deg=[42.5],
                            volume_bits=[1.2e11], antenna=[1])
        sink.write_packets([T0, T0 + 1], [1, 1], [100, 200], ["down", "up"], [256, 64],
                           latency_ms=[12.5, np.nan])
        sink.write_network([T0, T0], ["site:mine", "site:mine"], ["cloud:a", "cloud:b"],
                           [45.25, np.nan], [5, -1], [True, False])
    q = lambda sql: query(tmp_path, sql)[1]  # noqa: E731
    assert q("SELECT * FROM satellites") == [(0, "A", 44714, "s", "relay", ""),
                                             (1, "B", 44718, "s", "eo", "eo-smallsat")]
    assert q("SELECT * FROM ground_nodes")[1] == (1, "mine", "site", -24.27, -69.07, 3100.0)
    assert q("SELECT * FROM telemetry_named ORDER BY time_ns, sat, key") == [
        (T0, 0, "temp_k", 290.5), (T0, 1, "rw_rpm", 3000.0), (T0, 1, "temp_k", 291.0),
        (T0 + STEP, 0, "temp_k", 289.0)]
    events = q("SELECT * FROM events ORDER BY time_ns")
    assert events[0][:3] == (T0, "contact_start", "B/Svalbard")
    assert json.loads(events[0][3]) == {"elevation_deg": 5.0}
    assert events[1] == (T0 + STEP, "battery_low", "B", None, None)
    assert q("SELECT * FROM contacts") == [(T0, T0 + 600 * 10**9, 1, 0, 42.5, 1.2e11, 1)
                                           + (None,) * 6]
    assert q("SELECT * FROM packets ORDER BY time_ns") == [(T0, 1, 100, "down", 256, 12.5, 1),
                                                           (T0 + 1, 1, 200, "up", 64, None, 1)]
    assert q("SELECT * FROM network ORDER BY dst") == [
        (T0, "site:mine", "cloud:a", 45.25, 5, 1, None),
        (T0, "site:mine", "cloud:b", None, -1, 0, None)]


def test_packet_direction_is_checked(tmp_path):
    sink = SQLiteSink(tmp_path)
    with pytest.raises(UsageError, match="'up' or 'down'"):
        sink.write_packets([T0], [0], [1], "sideways", [10])
    sink.close()


def test_nothing_is_visible_before_a_commit(tmp_path):
    sink = SQLiteSink(tmp_path, batch_rows=1, commit_every_steps=3, commit_interval_s=None)
    for step in range(5):
        sink.write_housekeeping(T0 + step * STEP, [0], {"soc": [1.0]})
        sink.end_step(step, T0 + step * STEP)
        # rows were executed (batch_rows=1) but only every 3rd step commits
        count = query(tmp_path, "SELECT count(*) FROM housekeeping")[1][0][0]
        assert count == (3 if step >= 2 else 0)
    assert read_progress(tmp_path) == (2, T0 + 2 * STEP)
    sink.abort()  # closes without committing steps 3 and 4
    assert query(tmp_path, "SELECT max(time_ns) FROM housekeeping")[1] == [(T0 + 2 * STEP,)]


def test_checkpoints_and_resume(tmp_path):
    # The engine checkpoints at an instant before writing anything stamped with it.
    sink = SQLiteSink(tmp_path, commit_interval_s=None)
    sink.start_run(RunInfo(name="r"))
    for step in range(10):
        t = T0 + step * STEP
        if step in (5, 8):
            sink.write_checkpoint(step, t, data=f"state-{step}".encode())
        sink.write_housekeeping(t, [0, 1], {"soc": [step, step]})
        sink.write_events([Event(t, "tick", "x")])
        sink.end_step(step, t)
    sink.flush()
    sink.abort()
    again = SQLiteSink(tmp_path, resume=True)
    assert again.last_committed() == (9, T0 + 9 * STEP)
    assert again.last_checkpoint() == (8, T0 + 8 * STEP, b"state-8")
    again.resume(T0 + 5 * STEP, 5)
    assert again.last_checkpoint() == (5, T0 + 5 * STEP, b"state-5")
    assert query(tmp_path, "SELECT max(time_ns), count(*) FROM housekeeping")[1] == [
        (T0 + 4 * STEP, 10)]
    assert query(tmp_path, "SELECT count(*) FROM events")[1] == [(5,)]
    for step in range(5, 8):
        again.write_housekeeping(T0 + step * STEP, [0, 1], {"soc": [step, step]})
        again.end_step(step, T0 + step * STEP)
    again.close()
    assert query(tmp_path, "SELECT count(*), sum(soc) FROM housekeeping")[1] == [
        (16, 2 * sum(range(8)))]
    assert query(tmp_path, "SELECT status, resumed FROM runs")[1] == [("completed", 1)]


def test_engine_records_round_trip(tmp_path):
    """The records the engine adds: the contact plan, executed contacts, faults, paths."""
    with SQLiteSink(tmp_path) as sink:
        sink.write_contact_plan([0, 1], [T0, T0 + 10], [T0 + 600, T0 + 700], [1, 2], [0, 0],
                                antenna=[0, 1], max_elevation_deg=[40.0, 12.5],
                                planned_down_bits=[1e10, 2e10], planned_up_bits=[1e5, 2e5])
        sink.write_contacts([T0], [T0 + 300], [1], [0], contact=[0], status="cut",
                            volume_bits=[5e9], up_bits=[64.0], planned_start_ns=[T0],
                            planned_end_ns=[T0 + 600], planned_bits=[1e10])
        sink.write_faults([0, 1], ["sat", "station"], ["SAT-1", "Svalbard"], ["down", "down"],
                          [T0, T0 + 5], [T0 + 60, -1], origin=["scripted", "random"],
                          spec=["sat:SAT-1 down at 0s for 60ns", "station:Svalbard down"])
        sink.write_network([T0], ["site:a"], ["cloud:b"], [42.0], [3], [True],
                           path=["site:a > SAT-1 > cloud:b"])
        sink.write_packets([T0], [1], [0x20], "down", [1000], [5.0], count=[40])
    q = functools.partial(query, tmp_path)
    assert q("SELECT contact, antenna, planned_down_bits FROM contact_plan")[1] == [
        (0, 0, 1e10), (1, 1, 2e10)]
    assert q("SELECT status, volume_bits, up_bits, planned_end_ns FROM contacts")[1] == [
        ("cut", 5e9, 64.0, T0 + 600)]
    assert q("SELECT kind, end_ns, origin FROM faults ORDER BY fault")[1] == [
        ("sat", T0 + 60, "scripted"), ("station", None, "random")]
    assert q("SELECT path FROM network")[1] == [("site:a > SAT-1 > cloud:b",)]
    assert q("SELECT count FROM packets")[1] == [(40,)]


def test_folder_rules(tmp_path):
    SQLiteSink(tmp_path / "a").close()
    with pytest.raises(InputError, match="already holds a run"):
        SQLiteSink(tmp_path / "a")
    with pytest.raises(InputError, match="no run database"):
        SQLiteSink(tmp_path / "b", resume=True)
    with pytest.raises(UsageError):
        SQLiteSink(tmp_path / "c", batch_rows=0)


def test_wal_mode_and_indexes(tmp_path):
    sink = SQLiteSink(tmp_path)
    sink.write_housekeeping(T0, [0], {"soc": [1.0]})
    sink.close()
    db = sqlite3.connect(database_path(tmp_path))
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    indexes = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert "housekeeping_sat" in indexes
    plan = " ".join(str(r) for r in db.execute(
        "EXPLAIN QUERY PLAN SELECT soc FROM housekeeping WHERE sat = 3"))
    assert "housekeeping_sat" in plan
    db.close()
