"""Reading a run's database: read-only SQL, and export of tables or queries to Parquet and CSV.

``query(run_dir, sql)`` opens the database with ``mode=ro`` (and ``PRAGMA query_only``), so a
query can never change a run — including while the run is still writing (WAL lets readers and
the writer work at once). ``orbemu query RUN "SQL"`` is this function.
"""

from __future__ import annotations

import csv
import re
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from orbemu.errors import InputError, UnavailableError
from orbemu.store.sqlite import database_path

__all__ = ["connect_readonly", "export", "iter_query", "list_tables", "query", "read_progress"]

ExportFormat = Literal["parquet", "csv"]

_WRITE_FIX = ("Queries are read-only (SELECT, WITH ... SELECT, PRAGMA table_info(...)); "
              "write a result elsewhere with orbemu query RUN SQL --output FILE.parquet|csv or "
              "orbemu export")


def connect_readonly(run_dir: str | Path) -> sqlite3.Connection:
    """A read-only connection to a run's database (:class:`InputError` if there is none)."""
    path = database_path(run_dir)
    if not path.is_file():
        raise InputError(f"no run database {path.name} in {str(run_dir)!r}",
                         source=str(run_dir),
                         fix="Give the folder of a run (orbemu run --out DIR creates one)")
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                         check_same_thread=False)
    db.execute("PRAGMA query_only = ON")
    db.set_authorizer(_read_only_authorizer)
    return db


_ALLOWED = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION,
            sqlite3.SQLITE_RECURSIVE}
#: Pragmas that take an argument and only read.
_READ_PRAGMAS = {"table_info", "table_xinfo", "index_list", "index_info", "index_xinfo",
                 "foreign_key_list", "integrity_check", "quick_check"}


def _read_only_authorizer(action: int, arg1: str | None, arg2: str | None, *_: Any) -> int:
    """Allow reading only. ``mode=ro`` protects the run's file; this also refuses ATTACH and
    ``VACUUM INTO`` (which would create other files) and pragmas that set something."""
    if action in _ALLOWED or (action == sqlite3.SQLITE_PRAGMA and (
            arg2 is None or (arg1 or "").lower() in _READ_PRAGMAS)):
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


def list_tables(run_dir: str | Path) -> list[str]:
    """Names of the tables and views of a run's database."""
    db = connect_readonly(run_dir)
    try:
        return [r[0] for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
            "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    finally:
        db.close()


def _sql_error(exc: sqlite3.Error, sql: str, run_dir: str | Path) -> InputError:
    text = str(exc)
    if any(word in text for word in ("readonly", "read-only", "query_only", "not authorized",
                                     "authorization denied")):
        return InputError(f"this query would change the run ({text})", source=str(run_dir),
                          text=sql, fix=_WRITE_FIX)
    try:
        tables = ", ".join(list_tables(run_dir))
    except InputError:  # pragma: no cover - the database vanished meanwhile
        tables = "?"
    return InputError(f"SQLite cannot run the query: {text}", source=str(run_dir), text=sql,
                      fix=f"Tables: {tables}; PRAGMA table_info(TABLE) lists a table's columns")


def _cursor(db: sqlite3.Connection, sql: str, params: Sequence[Any] | dict[str, Any],
            run_dir: str | Path) -> sqlite3.Cursor:
    try:
        return db.execute(sql, params)
    except sqlite3.Warning as exc:  # several statements
        raise InputError(f"one statement at a time ({exc})", source=str(run_dir), text=sql,
                         fix="Run the statements one by one") from None
    except sqlite3.Error as exc:
        raise _sql_error(exc, sql, run_dir) from None


def query(run_dir: str | Path, sql: str, params: Sequence[Any] | dict[str, Any] = (),
          *, max_rows: int | None = None) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run one read-only SQL statement on a run; returns ``(column names, rows)``.

    ``params`` fill ``?`` or ``:name`` placeholders. ``max_rows`` stops after that many rows.
    Writes are refused with an :class:`InputError` that says queries are read-only.
    """
    db = connect_readonly(run_dir)
    try:
        cur = _cursor(db, sql, params, run_dir)
        columns = [d[0] for d in cur.description or ()]
        try:
            rows = cur.fetchall() if max_rows is None else cur.fetchmany(max_rows)
        except sqlite3.Error as exc:
            raise _sql_error(exc, sql, run_dir) from None
        return columns, rows
    finally:
        db.close()


def iter_query(run_dir: str | Path, sql: str, params: Sequence[Any] | dict[str, Any] = (),
               *, batch_rows: int = 10_000
               ) -> tuple[list[str], Iterator[list[tuple[Any, ...]]]]:
    """Like :func:`query`, but the rows come in batches as they are read (memory bounded by
    one batch whatever the result size): ``(column names, iterator of row lists)``. The
    statement is checked before this returns (errors as :func:`query`'s); the connection
    closes when the iterator is exhausted or garbage-collected."""
    db = connect_readonly(run_dir)
    try:
        cur = _cursor(db, sql, params, run_dir)
    except BaseException:
        db.close()
        raise
    columns = [d[0] for d in cur.description or ()]

    def batches() -> Iterator[list[tuple[Any, ...]]]:
        try:
            yield from _batches(cur, batch_rows)
        except sqlite3.Error as exc:
            raise _sql_error(exc, sql, run_dir) from None
        finally:
            db.close()

    return columns, batches()


def read_progress(run_dir: str | Path) -> tuple[int, int] | None:
    """``(step, time_ns)`` of the last committed step of a run (None before the first)."""
    _, rows = query(run_dir, "SELECT step, time_ns FROM progress WHERE id = 0")
    return None if not rows else (int(rows[0][0]), int(rows[0][1]))


# ---- export ------------------------------------------------------------------------------------
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _as_sql(db: sqlite3.Connection, table_or_sql: str) -> tuple[str, str | None]:
    """``SELECT * FROM table`` for a table or view name, else the SQL itself."""
    name = table_or_sql.strip()
    if _IDENT.fullmatch(name):
        found = db.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
                           "AND name = ?", (name,)).fetchone()
        if found:
            return f'SELECT * FROM "{name}"', name
    return table_or_sql, None


def _batches(cur: sqlite3.Cursor, size: int) -> Iterator[list[tuple[Any, ...]]]:
    while True:
        rows = cur.fetchmany(size)
        if not rows:
            return
        yield rows


_ARROW_TYPES = {"INTEGER": "int64", "REAL": "float64", "TEXT": "string", "BLOB": "binary"}


def export(run_dir: str | Path, table_or_sql: str, out: str | Path, *,
           format: ExportFormat | None = None, batch_rows: int = 65_536) -> int:
    """Write a table, view or query result of a run to Parquet or CSV; returns the row count.

    ``format`` defaults to the file suffix (``.parquet``/``.pq`` or ``.csv``). Parquet keeps the
    column types (declared types for a table; inferred from the values for a query) and needs
    pyarrow (the ``formats`` extra). CSV writes a header and Python's shortest exact float
    text; NULL is an empty field.
    """
    out = Path(out)
    fmt = format or {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}.get(
        out.suffix.lower())
    if fmt not in ("parquet", "csv"):
        raise InputError(f"cannot tell the export format of {out.name!r}", source=str(out),
                         fix="Name the file .parquet or .csv, or pass format='parquet'|'csv'")
    db = connect_readonly(run_dir)
    try:
        sql, table = _as_sql(db, table_or_sql)
        cur = _cursor(db, sql, (), run_dir)
        columns = [d[0] for d in cur.description or ()]
        declared: dict[str, str] = {}
        if table is not None:
            declared = {r[1]: (r[2] or "").upper() for r in db.execute(
                f'PRAGMA table_info("{table}")')}
        out.parent.mkdir(parents=True, exist_ok=True)
        try:
            if fmt == "csv":
                return _write_csv(cur, columns, out, batch_rows)
            return _write_parquet(cur, columns, declared, out, batch_rows, sql, run_dir)
        except sqlite3.Error as exc:
            raise _sql_error(exc, sql, run_dir) from None
    finally:
        db.close()


def _write_csv(cur: sqlite3.Cursor, columns: list[str], out: Path, batch_rows: int) -> int:
    n = 0
    with out.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        for rows in _batches(cur, batch_rows):
            writer.writerows(rows)
            n += len(rows)
    return n


#: Rows held back while a query's column types are unknown (all NULL so far).
_MAX_UNTYPED_ROWS = 1_000_000


def _write_parquet(cur: sqlite3.Cursor, columns: list[str], declared: dict[str, str], out: Path,
                   batch_rows: int, sql: str, run_dir: str | Path) -> int:
    """Stream batches into a Parquet file. A query's column types come from its values: batches
    are held back while a column has shown only NULLs (up to ``_MAX_UNTYPED_ROWS`` rows; a
    column still untyped then is written as float64)."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise UnavailableError("Parquet export needs pyarrow: pip install 'orbemu[formats]'",
                               ) from None
    types: list[Any] = [None] * len(columns)
    for i, name in enumerate(columns):
        kind = _ARROW_TYPES.get(declared.get(name, ""))
        if kind is not None:
            types[i] = pa.type_for_alias(kind)

    def arrays_of(rows: list[tuple[Any, ...]]) -> list[Any]:
        out = []
        for i, values in enumerate(zip(*rows, strict=True)):
            try:
                arr = pa.array(values, type=types[i])
            except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
                raise InputError(f"column {columns[i]!r} mixes types ({exc})",
                                 source=str(run_dir), text=sql,
                                 fix="CAST the column in the query, or export CSV") from None
            if types[i] is None and not pa.types.is_null(arr.type):
                types[i] = arr.type
            out.append(arr)
        return out

    writer = None
    held: list[list[Any]] = []
    n_held = 0
    n = 0

    def open_writer() -> Any:
        schema = pa.schema([(name, t if t is not None else pa.float64())
                            for name, t in zip(columns, types, strict=True)])
        return pq.ParquetWriter(out, schema)

    def write(arrays: list[Any]) -> None:
        assert writer is not None
        writer.write_batch(pa.record_batch(
            [a.cast(f.type) if a.type != f.type else a
             for a, f in zip(arrays, writer.schema, strict=True)], schema=writer.schema))

    try:
        for rows in _batches(cur, batch_rows):
            arrays = arrays_of(rows)
            n += len(rows)
            if writer is None:
                held.append(arrays)
                n_held += len(rows)
                if any(t is None for t in types) and n_held < _MAX_UNTYPED_ROWS:
                    continue
                writer = open_writer()
                for arrs in held:
                    write(arrs)
                held = []
            else:
                write(arrays)
        if writer is None:  # few rows, or none: types as far as known
            writer = open_writer()
            for arrs in held:
                write(arrs)
    finally:
        if writer is not None:
            writer.close()
    return n
