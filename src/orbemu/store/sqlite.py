"""The telemetry store: one SQLite database per run folder (``RUN/telemetry.sqlite``).

Tables (units in the column names; ``sat``/``station`` are indices into ``satellites`` and
``ground_nodes``, which carry the names)::

    runs          run_id, name, created_utc, status, scenario_name, scenario_source,
                  scenario_text, seed, start_ns, step_ns, duration_ns, resumed,
                  orbemu_version, python_version, numpy_version, sqlite_version, platform,
                  metadata (JSON)
    progress      step, time_ns, committed_utc      (one row: the last committed step)
    satellites    sat, name, norad_id, constellation, role, class
    ground_nodes  station, name, role, lat_deg, lon_deg, alt_m
    housekeeping  time_ns, sat, <one column per housekeeping quantity>   (wide, see below)
    telemetry     time_ns, sat, key_id, value   + telemetry_keys(key_id, key)
                  + view telemetry_named(time_ns, sat, key, value)       (sparse points)
    events        time_ns, kind, subject, detail (JSON), step (the engine step that wrote it)
    contact_plan  contact, start_ns, end_ns, sat, station, antenna, max_elevation_deg,
                  planned_down_bits, planned_up_bits              (the schedule, written once)
    contacts      start_ns, end_ns, sat, station, max_elevation_deg, volume_bits, antenna,
                  contact, status, up_bits, planned_start_ns, planned_end_ns, planned_bits
                                                                   (executed, one per close)
    packets       time_ns, sat, apid, direction ('up'/'down'), size_bytes, latency_ms, count
    network       time_ns, src, dst, rtt_ms, hops, reachable, path
    faults        fault, kind, target, effect, start_ns, end_ns, fraction, origin, spec
    checkpoints   step, time_ns, path, data (BLOB), created_utc

What each record means is described in :mod:`orbemu.engine.recorder` (the engine writes them).

Layout of housekeeping (the bulk: 1,000 satellites × 8,640 steps a day): one *wide* row per
satellite per step, appended to a rowid table in time order, columns created from the first
step's names (more are added with ``ALTER TABLE`` when they appear). Against the long layout
(``time_ns, sat, key, value``) it writes one row where that writes one per quantity (8× fewer
rows for 8 quantities: the per-row cost of SQLite and of Python's ``executemany`` dominates, see
BENCHMARKS.md), stores ``time_ns``/``sat`` once, and a per-satellite time series is one index
range scan returning every quantity. No index is maintained while writing (appends to a rowid
B-tree are the cheapest insert SQLite has); the indexes are built once when the sink closes (a
sort, much cheaper than keeping them up during millions of inserts). A run that crashed has none
until it is resumed and closed; a resumed run drops them while it writes. Housekeeping gets one
index, on ``sat``: its entries are ``(sat, rowid)`` and rowids grow with time, so a satellite's
series is one range scan already in time order (``ORDER BY time_ns`` then sorts 8,640 rows:
20–30 ms for a day at 10 s); it builds in 2/3 of the time of a ``(sat, time_ns)`` index. An
instant across all satellites (``WHERE time_ns = ?``) scans the table (0.6 s for 8.6 million
rows); fleet aggregates (``GROUP BY time_ns``) scan anyway.

Durability: WAL journal with ``synchronous=NORMAL``: a commit is durable against a crash of the
process (``kill -9``) — the WAL is in the OS's hands — though not against a power cut between
checkpoints. Rows are buffered and written with ``executemany`` in batches of ``batch_rows``
inside an open transaction; only :meth:`SQLiteSink.flush` (and :meth:`~SQLiteSink.end_step` when
``commit_every_steps`` steps or ``commit_interval_s`` seconds have passed) commits, together
with the ``progress`` row. So after a crash the database holds every step up to the last commit,
whole, and ``progress`` says which: :meth:`SQLiteSink.resume` deletes whatever a resumed run
will write again — every timed record at or after the checkpoint's instant (the engine stamps
each record inside the step that wrote it, so that instant separates before from after).
"""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import itertools
import json
import platform
import re
import sqlite3
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from orbemu.engine.recorder import Event, RunInfo
from orbemu.errors import InputError, UsageError

__all__ = ["DB_NAME", "SQLiteSink", "database_path"]

#: File name of the database inside a run folder.
DB_NAME = "telemetry.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs(
    run_id INTEGER PRIMARY KEY, name TEXT NOT NULL, created_utc TEXT NOT NULL,
    status TEXT NOT NULL, scenario_name TEXT, scenario_source TEXT, scenario_text TEXT,
    seed INTEGER, start_ns INTEGER, step_ns INTEGER, duration_ns INTEGER,
    resumed INTEGER NOT NULL DEFAULT 0, orbemu_version TEXT, python_version TEXT,
    numpy_version TEXT, sqlite_version TEXT, platform TEXT, metadata TEXT);
CREATE TABLE IF NOT EXISTS progress(
    id INTEGER PRIMARY KEY CHECK (id = 0), step INTEGER NOT NULL, time_ns INTEGER NOT NULL,
    committed_utc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS satellites(
    sat INTEGER PRIMARY KEY, name TEXT NOT NULL, norad_id INTEGER, constellation TEXT,
    role TEXT, class TEXT);
CREATE TABLE IF NOT EXISTS ground_nodes(
    station INTEGER PRIMARY KEY, name TEXT NOT NULL, role TEXT, lat_deg REAL, lon_deg REAL,
    alt_m REAL);
CREATE TABLE IF NOT EXISTS housekeeping(time_ns INTEGER NOT NULL, sat INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS telemetry_keys(key_id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS telemetry(
    time_ns INTEGER NOT NULL, sat INTEGER NOT NULL, key_id INTEGER NOT NULL, value REAL);
CREATE VIEW IF NOT EXISTS telemetry_named AS
    SELECT t.time_ns, t.sat, k.key, t.value FROM telemetry t JOIN telemetry_keys k USING (key_id);
CREATE TABLE IF NOT EXISTS events(
    time_ns INTEGER NOT NULL, kind TEXT NOT NULL, subject TEXT, detail TEXT, step INTEGER);
CREATE TABLE IF NOT EXISTS contact_plan(
    contact INTEGER PRIMARY KEY, start_ns INTEGER NOT NULL, end_ns INTEGER NOT NULL,
    sat INTEGER NOT NULL, station INTEGER NOT NULL, antenna INTEGER, max_elevation_deg REAL,
    planned_down_bits REAL, planned_up_bits REAL);
CREATE TABLE IF NOT EXISTS contacts(
    start_ns INTEGER NOT NULL, end_ns INTEGER NOT NULL, sat INTEGER NOT NULL,
    station INTEGER NOT NULL, max_elevation_deg REAL, volume_bits REAL, antenna INTEGER,
    contact INTEGER, status TEXT, up_bits REAL, planned_start_ns INTEGER,
    planned_end_ns INTEGER, planned_bits REAL);
CREATE TABLE IF NOT EXISTS packets(
    time_ns INTEGER NOT NULL, sat INTEGER NOT NULL, apid INTEGER NOT NULL,
    direction TEXT NOT NULL, size_bytes INTEGER NOT NULL, latency_ms REAL, count INTEGER);
CREATE TABLE IF NOT EXISTS network(
    time_ns INTEGER NOT NULL, src TEXT NOT NULL, dst TEXT NOT NULL, rtt_ms REAL,
    hops INTEGER, reachable INTEGER NOT NULL, path TEXT);
CREATE TABLE IF NOT EXISTS faults(
    fault INTEGER PRIMARY KEY, kind TEXT NOT NULL, target TEXT NOT NULL, effect TEXT NOT NULL,
    start_ns INTEGER NOT NULL, end_ns INTEGER, fraction REAL, origin TEXT, spec TEXT);
CREATE TABLE IF NOT EXISTS checkpoints(
    step INTEGER PRIMARY KEY, time_ns INTEGER NOT NULL, path TEXT, data BLOB,
    created_utc TEXT NOT NULL);
"""

#: Indexes built at close (and on reopening a database without them).
_INDEXES = """
CREATE INDEX IF NOT EXISTS housekeeping_sat ON housekeeping(sat);
CREATE INDEX IF NOT EXISTS telemetry_sat_key_time ON telemetry(sat, key_id, time_ns);
CREATE INDEX IF NOT EXISTS events_time ON events(time_ns);
CREATE INDEX IF NOT EXISTS contacts_sat ON contacts(sat, start_ns);
CREATE INDEX IF NOT EXISTS contact_plan_sat ON contact_plan(sat, start_ns);
CREATE INDEX IF NOT EXISTS packets_sat_time ON packets(sat, time_ns);
CREATE INDEX IF NOT EXISTS network_pair_time ON network(src, dst, time_ns);
"""

#: Tables whose rows belong to one instant, and the column holding it (for resume): the instant
#: a row was written at (a contact is written when it closes). ``contact_plan`` and ``faults``
#: are written once at the start of a run; events go by the ``step`` that wrote them.
_TIMED = {"housekeeping": "time_ns", "telemetry": "time_ns", "contacts": "end_ns",
          "packets": "time_ns", "network": "time_ns"}

_INSERT = {
    "telemetry": "INSERT INTO telemetry VALUES (?, ?, ?, ?)",
    "events": "INSERT INTO events VALUES (?, ?, ?, ?, ?)",
    "contacts": "INSERT INTO contacts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "contact_plan": "INSERT OR REPLACE INTO contact_plan VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "packets": "INSERT INTO packets VALUES (?, ?, ?, ?, ?, ?, ?)",
    "network": "INSERT INTO network VALUES (?, ?, ?, ?, ?, ?, ?)",
    "faults": "INSERT OR REPLACE INTO faults VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
}

_COLUMN = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def database_path(run_dir: str | Path) -> Path:
    """The database file of a run folder."""
    return Path(run_dir) / DB_NAME


def _orbemu_version() -> str:
    try:
        return importlib.metadata.version("orbemu")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - not installed
        return "unknown"


def _utc_now() -> str:
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _col(values: Any, n: int, name: str, kind: str = "float") -> list[Any]:
    """A column as a Python list of length ``n`` (scalars broadcast; NaN floats → NULL)."""
    if values is None:
        return [None] * n
    arr = np.asarray(values)
    if arr.ndim == 0:
        arr = np.broadcast_to(arr, (n,))
    if arr.shape != (n,):
        raise UsageError(f"{name} has shape {arr.shape}, expected ({n},)")
    if kind == "int":
        if arr.dtype.kind not in "iub":
            raise UsageError(f"{name} must be integers, got dtype {arr.dtype}")
        return arr.astype(np.int64).tolist()
    if kind == "str":
        return [str(v) for v in arr.tolist()]
    return arr.astype(np.float64).tolist()


def _length(*values: Any) -> int:
    for v in values:
        arr = np.asarray(v)
        if arr.ndim:
            return int(arr.shape[0])
    return 1


#: Rows per multi-row INSERT (SQLite takes at most 32,766 parameters per statement).
_ROWS_PER_STATEMENT = 100


def _insert_many(db: sqlite3.Connection, sql: str, rows: list[tuple[Any, ...]]) -> None:
    """``executemany`` with ``_ROWS_PER_STATEMENT`` rows per statement (``VALUES (..),(..)``):
    1.7× faster than one row per statement for 10-column rows (fewer VM runs and Python
    round trips per row; see BENCHMARKS.md)."""
    head, sep, one = re.split(r"(\s+VALUES\s+)", sql, maxsplit=1, flags=re.IGNORECASE)
    width = one.count("?")
    per = max(1, min(_ROWS_PER_STATEMENT, 32_000 // max(width, 1)))
    full = len(rows) - len(rows) % per
    if full >= per:
        chain = itertools.chain.from_iterable
        many = f"{head}{sep}{','.join([one] * per)}"
        db.executemany(many, (list(chain(rows[i:i + per])) for i in range(0, full, per)))
    if full < len(rows):
        db.executemany(sql, rows[full:])


def _sql_type(arr: npt.NDArray[Any]) -> str:
    kind = arr.dtype.kind
    if kind in "iub":
        return "INTEGER"
    if kind == "f":
        return "REAL"
    return "TEXT"


class SQLiteSink:
    """The SQLite telemetry store of one run folder (see the module notes).

    Parameters
    ----------
    run_dir: the run folder (created if missing); the database is ``run_dir/telemetry.sqlite``.
    batch_rows: rows buffered before an ``executemany`` into the open transaction.
    commit_every_steps: :meth:`end_step` commits every this many steps (None: never on its
        own; call :meth:`flush`).
    commit_interval_s: :meth:`end_step` also commits when this many wall-clock seconds have
        passed since the last commit (None: no time-based commits).
    resume: open an existing database to continue its run (see :meth:`resume`); otherwise the
        folder must not hold a database yet.
    """

    def __init__(self, run_dir: str | Path, *, batch_rows: int = 50_000,
                 commit_every_steps: int | None = None, commit_interval_s: float | None = 5.0,
                 resume: bool = False) -> None:
        if batch_rows < 1:
            raise UsageError(f"batch_rows must be >= 1, got {batch_rows}")
        if commit_every_steps is not None and commit_every_steps < 1:
            raise UsageError(f"commit_every_steps must be >= 1 or None, got {commit_every_steps}")
        self.run_dir = Path(run_dir)
        self.path = database_path(run_dir)
        if self.path.exists() and not resume:
            raise InputError(f"{self.path} already holds a run", source=str(self.run_dir),
                             fix="Choose a new run folder (--out), or resume the run")
        if resume and not self.path.exists():
            raise InputError(f"no run database in {self.run_dir}", source=str(self.run_dir),
                             fix="Give the folder of an earlier run")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.batch_rows = batch_rows
        self.commit_every_steps = commit_every_steps
        self.commit_interval_s = commit_interval_s
        # Autocommit mode: transactions are opened and committed explicitly below.
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA temp_store=MEMORY")
        self._db.execute("PRAGMA cache_size=-65536")  # 64 MiB page cache
        self._db.executescript(_SCHEMA)
        self._pending: dict[str, list[tuple[Any, ...]]] = {}
        self._n_pending = 0
        self._hk_columns: list[str] = [r[1] for r in self._db.execute(
            "PRAGMA table_info(housekeeping)")][2:]
        self._hk_sql = self._housekeeping_sql()
        self._keys: dict[str, int] = dict(self._db.execute(
            "SELECT key, key_id FROM telemetry_keys"))
        self._progress: tuple[int, int] | None = None
        self._steps_since_commit = 0
        self._last_commit = time.monotonic()
        self._in_tx = False
        self._closed = False
        self.rows_written = 0
        if resume:  # writing again: drop the indexes, close() rebuilds them
            for (name,) in self._db.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
                    ).fetchall():
                self._db.execute(f'DROP INDEX "{name}"')

    # ---- run metadata -----------------------------------------------------------------------
    def start_run(self, info: RunInfo) -> None:
        """Record the run (versions are added here)."""
        self._begin()
        self._db.execute(
            "INSERT INTO runs(name, created_utc, status, scenario_name, scenario_source, "
            "scenario_text, seed, start_ns, step_ns, duration_ns, orbemu_version, "
            "python_version, numpy_version, sqlite_version, platform, metadata) "
            "VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (info.name, _utc_now(), info.name, info.scenario_source, info.scenario_text,
             int(info.seed), int(info.start_ns), int(info.step_ns), int(info.duration_ns),
             _orbemu_version(), sys.version.split()[0], np.__version__, sqlite3.sqlite_version,
             platform.platform(), json.dumps(dict(info.metadata), default=str)))
        self._commit()

    def write_satellites(self, names: Sequence[str], *, norad_ids: npt.ArrayLike | None = None,
                         constellation: Sequence[str] | None = None,
                         role: Sequence[str] | None = None,
                         spacecraft_class: Sequence[str] | None = None) -> None:
        n = len(names)
        rows = zip(range(n), _col(names, n, "names", "str"),
                   _col(norad_ids, n, "norad_ids", "int") if norad_ids is not None
                   else [None] * n,
                   *(_col(v, n, k, "str") if v is not None else [None] * n
                     for k, v in (("constellation", constellation), ("role", role),
                                  ("spacecraft_class", spacecraft_class))), strict=True)
        self._begin()
        self._db.executemany("INSERT OR REPLACE INTO satellites VALUES (?, ?, ?, ?, ?, ?)", rows)

    def write_ground_nodes(self, names: Sequence[str], *, roles: Sequence[str] | None = None,
                           lat_deg: npt.ArrayLike | None = None,
                           lon_deg: npt.ArrayLike | None = None,
                           alt_m: npt.ArrayLike | None = None) -> None:
        n = len(names)
        rows = zip(range(n), _col(names, n, "names", "str"),
                   _col(roles, n, "roles", "str") if roles is not None else [None] * n,
                   _col(lat_deg, n, "lat_deg"), _col(lon_deg, n, "lon_deg"),
                   _col(alt_m, n, "alt_m"), strict=True)
        self._begin()
        self._db.executemany("INSERT OR REPLACE INTO ground_nodes VALUES (?, ?, ?, ?, ?, ?)",
                             rows)

    # ---- records ----------------------------------------------------------------------------
    def write_housekeeping(self, time_ns: int, sat: npt.ArrayLike,
                           columns: Mapping[str, npt.ArrayLike]) -> None:
        """One step: ``sat`` (n,) and ``columns`` name → (n,) (ints, floats, bools or text;
        NaN is stored as NULL). Column names are lower-case identifiers."""
        sat_list = _col(sat, _length(sat), "sat", "int")
        n = len(sat_list)
        arrays = {}
        for name, values in columns.items():
            if name not in self._hk_columns:
                self._add_housekeeping_column(name, np.asarray(values))
            arrays[name] = values
        cols = []
        for name in self._hk_columns:
            values = arrays.get(name)
            if values is None:
                cols.append(itertools.repeat(None, n))
                continue
            arr = np.asarray(values)
            kind = arr.dtype.kind
            cols.append(_col(arr, n, name, "int" if kind in "iub" else
                             "float" if kind == "f" else "str"))
        rows = zip(itertools.repeat(int(time_ns), n), sat_list, *cols, strict=False)  # _col: n
        self._add("housekeeping", rows)

    def write_points(self, time_ns: npt.ArrayLike, sat: npt.ArrayLike, key: str | Sequence[str],
                     value: npt.ArrayLike) -> None:
        n = _length(time_ns, sat, value, key if not isinstance(key, str) else 0)
        keys = [key] * n if isinstance(key, str) else _col(key, n, "key", "str")
        ids = [self._key_id(k) for k in keys]
        self._add("telemetry", zip(_col(time_ns, n, "time_ns", "int"),
                                   _col(sat, n, "sat", "int"), ids,
                                   _col(value, n, "value"), strict=True))

    def write_events(self, events: Iterable[Event | tuple[Any, ...]], *,
                     step: int | None = None) -> None:
        """Events, written during engine step ``step`` (resume deletes by it)."""
        rows = []
        st = None if step is None else int(step)
        for e in events:
            ev = e if isinstance(e, Event) else Event(*e)
            detail = None if ev.detail is None else json.dumps(dict(ev.detail), default=str)
            rows.append((int(ev.time_ns), str(ev.kind), str(ev.subject), detail, st))
        self._add("events", rows)

    def write_contact_plan(self, contact: npt.ArrayLike, start_ns: npt.ArrayLike,
                           end_ns: npt.ArrayLike, sat: npt.ArrayLike, station: npt.ArrayLike, *,
                           antenna: npt.ArrayLike | None = None,
                           max_elevation_deg: npt.ArrayLike | None = None,
                           planned_down_bits: npt.ArrayLike | None = None,
                           planned_up_bits: npt.ArrayLike | None = None) -> None:
        n = _length(contact, start_ns, end_ns, sat, station)
        self._add("contact_plan", zip(
            _col(contact, n, "contact", "int"), _col(start_ns, n, "start_ns", "int"),
            _col(end_ns, n, "end_ns", "int"), _col(sat, n, "sat", "int"),
            _col(station, n, "station", "int"),
            _col(antenna, n, "antenna", "int") if antenna is not None else [None] * n,
            _col(max_elevation_deg, n, "max_elevation_deg"),
            _col(planned_down_bits, n, "planned_down_bits"),
            _col(planned_up_bits, n, "planned_up_bits"), strict=True))

    def write_contacts(self, start_ns: npt.ArrayLike, end_ns: npt.ArrayLike, sat: npt.ArrayLike,
                       station: npt.ArrayLike, *, max_elevation_deg: npt.ArrayLike | None = None,
                       volume_bits: npt.ArrayLike | None = None,
                       antenna: npt.ArrayLike | None = None, contact: npt.ArrayLike | None = None,
                       status: str | Sequence[str] | None = None,
                       up_bits: npt.ArrayLike | None = None,
                       planned_start_ns: npt.ArrayLike | None = None,
                       planned_end_ns: npt.ArrayLike | None = None,
                       planned_bits: npt.ArrayLike | None = None) -> None:
        n = _length(start_ns, end_ns, sat, station)

        def ints(values: Any, name: str) -> list[Any]:
            return _col(values, n, name, "int") if values is not None else [None] * n

        statuses = ([status] * n if isinstance(status, str) or status is None
                    else _col(status, n, "status", "str"))
        self._add("contacts", zip(
            _col(start_ns, n, "start_ns", "int"), _col(end_ns, n, "end_ns", "int"),
            _col(sat, n, "sat", "int"), _col(station, n, "station", "int"),
            _col(max_elevation_deg, n, "max_elevation_deg"), _col(volume_bits, n, "volume_bits"),
            ints(antenna, "antenna"), ints(contact, "contact"), statuses,
            _col(up_bits, n, "up_bits"), ints(planned_start_ns, "planned_start_ns"),
            ints(planned_end_ns, "planned_end_ns"), _col(planned_bits, n, "planned_bits"),
            strict=True))

    def write_packets(self, time_ns: npt.ArrayLike, sat: npt.ArrayLike, apid: npt.ArrayLike,
                      direction: str | Sequence[str], size_bytes: npt.ArrayLike,
                      latency_ms: npt.ArrayLike | None = None, *,
                      count: npt.ArrayLike | None = None) -> None:
        n = _length(time_ns, sat, apid, size_bytes)
        dirs = [direction] * n if isinstance(direction, str) else _col(direction, n,
                                                                        "direction", "str")
        bad = set(dirs) - {"up", "down"}
        if bad:
            raise UsageError(f"direction must be 'up' or 'down', got {sorted(bad)}")
        self._add("packets", zip(
            _col(time_ns, n, "time_ns", "int"), _col(sat, n, "sat", "int"),
            _col(apid, n, "apid", "int"), dirs, _col(size_bytes, n, "size_bytes", "int"),
            _col(latency_ms, n, "latency_ms"),
            _col(count, n, "count", "int") if count is not None else [1] * n, strict=True))

    def write_network(self, time_ns: npt.ArrayLike, src: Sequence[str], dst: Sequence[str],
                      rtt_ms: npt.ArrayLike, hops: npt.ArrayLike,
                      reachable: npt.ArrayLike, *, path: Sequence[str] | None = None) -> None:
        n = _length(time_ns, rtt_ms, hops, reachable, src)
        self._add("network", zip(
            _col(time_ns, n, "time_ns", "int"), _col(src, n, "src", "str"),
            _col(dst, n, "dst", "str"), _col(rtt_ms, n, "rtt_ms"),
            _col(hops, n, "hops", "int"), _col(reachable, n, "reachable", "int"),
            _col(path, n, "path", "str") if path is not None else [None] * n, strict=True))

    def write_faults(self, fault: npt.ArrayLike, kind: Sequence[str], target: Sequence[str],
                     effect: Sequence[str], start_ns: npt.ArrayLike, end_ns: npt.ArrayLike, *,
                     fraction: npt.ArrayLike | None = None,
                     origin: Sequence[str] | None = None,
                     spec: Sequence[str] | None = None) -> None:
        """The faults of the run; ``end_ns`` −1 (or NULL) means until the end."""
        n = _length(fault, start_ns)
        ends = [None if e is None or e < 0 else e for e in _col(end_ns, n, "end_ns", "int")]
        self._add("faults", zip(
            _col(fault, n, "fault", "int"), _col(kind, n, "kind", "str"),
            _col(target, n, "target", "str"), _col(effect, n, "effect", "str"),
            _col(start_ns, n, "start_ns", "int"), ends, _col(fraction, n, "fraction"),
            _col(origin, n, "origin", "str") if origin is not None else [None] * n,
            _col(spec, n, "spec", "str") if spec is not None else [None] * n, strict=True))

    def write_checkpoint(self, step: int, time_ns: int, *, data: bytes | None = None,
                         path: str | None = None) -> None:
        """Store a checkpoint and commit (with everything written before it)."""
        if (data is None) == (path is None):
            raise UsageError("give exactly one of data= and path=")
        self._write_pending()
        self._begin()
        self._db.execute("INSERT OR REPLACE INTO checkpoints VALUES (?, ?, ?, ?, ?)",
                         (int(step), int(time_ns), path, data, _utc_now()))
        self._commit()

    # ---- steps, commits ---------------------------------------------------------------------
    def end_step(self, step: int, time_ns: int) -> None:
        """Step ``step`` is complete; commit if the step count or the wall-clock interval says
        so."""
        self._progress = (int(step), int(time_ns))
        self._steps_since_commit += 1
        due = (self.commit_every_steps is not None
               and self._steps_since_commit >= self.commit_every_steps)
        if not due and self.commit_interval_s is not None:
            due = time.monotonic() - self._last_commit >= self.commit_interval_s
        if due:
            self.flush()

    def flush(self) -> None:
        """Write every buffered row and commit (with the progress of the last ended step)."""
        self._write_pending()
        self._commit()

    def close(self, status: str = "completed") -> None:
        """Flush, build the indexes, mark the run ``status`` and close the database."""
        if self._closed:
            return
        self.flush()
        self._db.executescript(_INDEXES)
        self._db.execute("UPDATE runs SET status = ? WHERE run_id = (SELECT max(run_id) "
                         "FROM runs)", (status,))
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._db.close()
        self._closed = True

    def abort(self) -> None:
        """Close without committing what was written since the last commit (for tests and
        for an engine that failed mid-step)."""
        if not self._closed:
            if self._in_tx:
                self._db.execute("ROLLBACK")
            self._db.close()
            self._closed = True

    def __enter__(self) -> SQLiteSink:
        return self

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        self.close("failed" if exc_type is not None else "completed")

    # ---- resume -----------------------------------------------------------------------------
    def last_committed(self) -> tuple[int, int] | None:
        """``(step, time_ns)`` of the last committed step, or None."""
        row = self._db.execute("SELECT step, time_ns FROM progress WHERE id = 0").fetchone()
        return None if row is None else (int(row[0]), int(row[1]))

    def last_checkpoint(self) -> tuple[int, int, bytes] | None:
        """``(step, time_ns, data)`` of the newest checkpoint (its file's bytes when it was
        stored by path), or None."""
        self._write_pending()
        row = self._db.execute("SELECT step, time_ns, data, path FROM checkpoints "
                               "ORDER BY step DESC LIMIT 1").fetchone()
        if row is None:
            return None
        data = row[2] if row[2] is not None else Path(row[3]).read_bytes()
        return int(row[0]), int(row[1]), bytes(data)

    def resume(self, checkpoint_time_ns: int, step: int) -> None:
        """Continue a run from its checkpoint at ``checkpoint_time_ns`` (taken before step
        ``step``): delete every timed record at or after that instant, the events written by
        step ``step`` or later (the resumed run writes them again) and every later checkpoint,
        and mark the run running."""
        self._write_pending()
        self._begin()
        t = int(checkpoint_time_ns)
        for table, column in _TIMED.items():
            self._db.execute(f"DELETE FROM {table} WHERE {column} >= ?", (t,))
        self._db.execute("DELETE FROM events WHERE step >= ? OR (step IS NULL AND time_ns >= ?)",
                         (int(step), t))
        self._db.execute("DELETE FROM checkpoints WHERE time_ns > ?", (t,))
        self._db.execute("UPDATE runs SET status = 'running', resumed = resumed + 1 "
                         "WHERE run_id = (SELECT max(run_id) FROM runs)")
        self._progress = (int(step), t)
        self._commit()

    # ---- internals --------------------------------------------------------------------------
    def _housekeeping_sql(self) -> str:
        marks = ", ".join("?" * (2 + len(self._hk_columns)))
        return f"INSERT INTO housekeeping VALUES ({marks})"

    def _add_housekeeping_column(self, name: str, values: npt.NDArray[Any]) -> None:
        if not _COLUMN.fullmatch(name) or name in ("time_ns", "sat"):
            raise UsageError(f"housekeeping column {name!r} must be a lower-case identifier "
                             "([a-z_][a-z0-9_]*) other than time_ns and sat")
        # Rows buffered with the old column count go first.
        self._flush_table("housekeeping")
        self._begin()
        self._db.execute(f"ALTER TABLE housekeeping ADD COLUMN {name} {_sql_type(values)}")
        self._hk_columns.append(name)
        self._hk_sql = self._housekeeping_sql()

    def _key_id(self, key: str) -> int:
        kid = self._keys.get(key)
        if kid is None:
            self._begin()
            cur = self._db.execute("INSERT INTO telemetry_keys(key) VALUES (?)", (key,))
            kid = int(cur.lastrowid or 0)
            self._keys[key] = kid
        return kid

    def _add(self, table: str, rows: Iterable[tuple[Any, ...]]) -> None:
        if self._closed:
            raise UsageError("the sink is closed")
        buf = self._pending.setdefault(table, [])
        before = len(buf)
        buf.extend(rows)
        self._n_pending += len(buf) - before
        if self._n_pending >= self.batch_rows:
            self._write_pending()

    def _flush_table(self, table: str) -> None:
        rows = self._pending.pop(table, None)
        if not rows:
            return
        self._begin()
        sql = self._hk_sql if table == "housekeeping" else _INSERT[table]
        _insert_many(self._db, sql, rows)
        self._n_pending -= len(rows)
        self.rows_written += len(rows)

    def _write_pending(self) -> None:
        for table in list(self._pending):
            self._flush_table(table)
        self._n_pending = 0

    def _begin(self) -> None:
        if not self._in_tx:
            self._db.execute("BEGIN")
            self._in_tx = True

    def _commit(self) -> None:
        self._begin()
        if self._progress is not None:
            self._db.execute("INSERT OR REPLACE INTO progress VALUES (0, ?, ?, ?)",
                             (*self._progress, _utc_now()))
        self._db.execute("COMMIT")
        self._in_tx = False
        self._steps_since_commit = 0
        self._last_commit = time.monotonic()
