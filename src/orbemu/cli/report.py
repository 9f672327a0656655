"""``orbemu report RUN_DIR``: (re)write a run's report — ``RUN_DIR/report.html`` and its
figures in ``RUN_DIR/report/`` — from the run's database, read-only
(:func:`orbemu.report.run_report.write_run_report`). ``orbemu run`` writes it at the end when
the scenario's ``outputs.report`` is on. Registered on the app of :mod:`orbemu.cli.main`.
"""

from __future__ import annotations

import time as _time
from pathlib import Path
from typing import Annotated

import typer

from orbemu.cli.main import _command, _out

__all__ = ["report_cmd"]


@_command("report")
def report_cmd(
    run_dir: Annotated[Path, typer.Argument(help="A run folder (holds telemetry.sqlite).")],
    out: Annotated[Path | None, typer.Option(
        "--out", help="Write the report here instead of into the run folder.")] = None,
    link: Annotated[bool, typer.Option(
        "--link", help="Link the figures from the page instead of embedding them.")] = False,
) -> None:
    """Write the HTML report of a run: power, storage, contacts, data, events, network, faults."""
    from orbemu.report.run_report import write_run_report

    clock = _time.perf_counter()
    page = write_run_report(run_dir, out_dir=out, embed=not link)
    _out().print(f"wrote {page} in {_time.perf_counter() - clock:.1f} s", markup=False)
