"""``orbemu query RUN "SQL"`` and ``orbemu export RUN TABLE_OR_SQL OUT``: a run's records.

- ``query`` runs one read-only SQL statement on a run folder's database
  (:func:`orbemu.store.query`): a table on a terminal (the first ``--limit`` rows), CSV on
  stdout when piped or with ``--format csv`` (every row, streamed), or every row to
  ``--output FILE.csv|.parquet``. A statement that would write is refused; bad SQL gets
  SQLite's message and the run's tables (exit 2).
- ``export`` writes a table, view or query result to Parquet or CSV by the file's extension
  (:func:`orbemu.store.export`).

CSV conventions (both): a header row, Python's shortest exact float text, NULL as an empty
field. Registered on the app of :mod:`orbemu.cli.main`.
"""

from __future__ import annotations

import csv
import sys
import time as _time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from orbemu.cli.main import _command, _info, _out, _output_kind, _size
from orbemu.errors import InputError

__all__ = ["export_cmd", "query_cmd"]


class QueryFormat(StrEnum):
    auto = "auto"
    table = "table"
    csv = "csv"


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return str(value)


@_command("query")
def query_cmd(
    run: Annotated[Path, typer.Argument(help="A run folder (holds telemetry.sqlite).")],
    sql: Annotated[str, typer.Argument(help="One read-only SQL statement (SELECT, WITH, "
                                       "PRAGMA table_info(...)).")],
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write every row to FILE (.csv or .parquet).")] = None,
    format: Annotated[QueryFormat, typer.Option(
        "--format", help="auto (a table on a terminal, CSV when piped), table or csv.",
        case_sensitive=False)] = QueryFormat.auto,
    limit: Annotated[int, typer.Option(
        help="Rows shown in a table (CSV and --output have every row).")] = 50,
) -> None:
    """Run one read-only SQL query on a run's records."""
    from orbemu.store import export, iter_query

    if limit < 1:
        raise InputError(f"--limit must be at least 1, got {limit}", field="--limit")
    if output is not None:
        _output_kind(output, (".csv", ".parquet"))
        clock = _time.perf_counter()
        n = export(run, sql, output)
        _out().print(f"wrote {output} ({n:,} rows, {_size(output)}) in "
                     f"{_time.perf_counter() - clock:.2f} s", markup=False)
        return
    columns, batches = iter_query(run, sql)
    as_table = format == QueryFormat.table or (format == QueryFormat.auto
                                                and sys.stdout.isatty())
    if not as_table:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        for rows in batches:
            writer.writerows(rows)
        return
    table = Table(title_justify="left")
    for name in columns:
        table.add_column(name)
    shown = total = 0
    for rows in batches:
        total += len(rows)
        for row in rows:
            if shown < limit:
                table.add_row(*(_cell(v) for v in row))
                shown += 1
    out = _out()
    out.print(table)
    more = (f"; the first {shown} shown (--limit N for more, --output FILE.csv|.parquet for "
            "all)") if total > shown else ""
    out.print(f"{total:,} row{'s' if total != 1 else ''}{more}", markup=False)


@_command("export")
def export_cmd(
    run: Annotated[Path, typer.Argument(help="A run folder (holds telemetry.sqlite).")],
    table_or_sql: Annotated[str, typer.Argument(
        help="A table or view name (housekeeping, events, contacts, ...) or one SELECT.")],
    out_file: Annotated[Path, typer.Argument(
        metavar="OUT", help="The file to write: .parquet or .csv.")],
) -> None:
    """Export a table, view or query result of a run to Parquet or CSV."""
    from orbemu.store import export

    _output_kind(out_file, (".csv", ".parquet"))
    clock = _time.perf_counter()
    n = export(run, table_or_sql, out_file)
    took = _time.perf_counter() - clock
    _info(f"export: {table_or_sql} from {run}")
    _out().print(f"wrote {out_file} ({n:,} rows, {_size(out_file)}) in {took:.2f} s",
                 markup=False)
