"""The telemetry store: a run's records in SQLite, read back with SQL, exported to Parquet/CSV.

An adapter. Standard library only (``sqlite3``); Parquet export needs pyarrow (``formats``).
::

    from orbemu.store import SQLiteSink, RunInfo, Event, query, export
    with SQLiteSink("runs/demo", commit_every_steps=60) as sink:
        sink.start_run(RunInfo(name="demo", seed=1, step_ns=10**10))
        sink.write_housekeeping(t_ns, np.arange(n), {"soc": soc, "storage_bits": bits})
        sink.end_step(step, t_ns)
    cols, rows = query("runs/demo", "SELECT sat, avg(soc) FROM housekeeping GROUP BY sat")
    export("runs/demo", "housekeeping", "hk.parquet")

:class:`Sink` is the interface an engine writes to; :class:`SQLiteSink` implements it (layout,
batching and crash safety are described in :mod:`orbemu.store.sqlite`).
"""

from orbemu.store.query import (
    connect_readonly,
    export,
    iter_query,
    list_tables,
    query,
    read_progress,
)
from orbemu.store.sink import Event, RunInfo, Sink
from orbemu.store.sqlite import DB_NAME, SQLiteSink, database_path

__all__ = [
    "DB_NAME",
    "Event",
    "RunInfo",
    "SQLiteSink",
    "Sink",
    "connect_readonly",
    "database_path",
    "export",
    "iter_query",
    "list_tables",
    "query",
    "read_progress",
]
