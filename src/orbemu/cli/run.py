"""``orbemu run``: run a scenario (the default built-in one when none is named).

The scenario is loaded (a file or a built-in name), the command line's overrides applied
(``--until``, ``--speed``, ``--seed``, ``--fault``), resolved and built into an
:class:`~orbemu.engine.Emulation` writing to the run folder's SQLite store; ``--resume RUN_DIR``
continues an interrupted run from its last checkpoint instead. On a terminal a live Rich display
shows the simulated time, the speed achieved, satellites alive, active contacts and recent
events (stderr); the summary at the end goes to stdout.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from orbemu.constants import NS_PER_S
from orbemu.errors import InputError
from orbemu.time import Time
from orbemu.units import format_duration_ns

__all__ = ["run_command", "summary_table"]

#: Live display refreshes at most this often, seconds.
REFRESH_S = 0.25


def _run_dir(requested: Path | None, default: str | None, name: str) -> Path:
    """The run folder: ``--out`` as given (it must not hold a run), else the scenario's
    ``outputs.dir`` or ``runs/<name>``, numbered ``-2``, ``-3``... when taken."""
    from orbemu.store.sqlite import database_path

    if requested is not None:
        if database_path(requested).exists():
            raise InputError(f"{requested} already holds a run", source=str(requested),
                             fix="Choose another --out folder, or continue that run with "
                                 f"--resume {requested}")
        return requested
    base = Path(default) if default else Path("runs") / name
    path, k = base, 1
    while database_path(path).exists():
        k += 1
        path = base.with_name(f"{base.name}-{k}")
    return path


def _when(t_ns: int) -> str:
    return Time(t_ns).iso("s").replace("T", " ")


def _live(status: Any, name: str, start_ns: int) -> Group:
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    done = status.step / max(status.n_steps, 1)
    head.add_row("scenario", name)
    elapsed = format_duration_ns(status.time_ns - start_ns)
    head.add_row("sim time", f"{_when(status.time_ns)}  (+{elapsed}, step {status.step:,}/"
                             f"{status.n_steps:,}, {100 * done:.0f} %)")
    speed = status.speed
    head.add_row("speed", "—" if speed != speed else
                 ("∞" if speed == float("inf") else f"{speed:,.0f}× real time"))
    head.add_row("satellites", f"{status.sats_alive:,} alive of {status.n_sats:,}")
    head.add_row("contacts", f"{status.contacts_active} active")
    if status.overruns:
        head.add_row("overruns", str(status.overruns))
    events = Table(title="recent events", title_justify="left", box=None, padding=(0, 1))
    for col in ("time", "event", "subject"):
        events.add_column(col)
    for e in status.recent[-6:]:
        events.add_row(_when(e.time_ns)[11:], e.kind, e.subject[:60])
    return Group(head, events)


def _gb(bits: float) -> str:
    return f"{bits / 8e9:,.2f} GB"


def summary_table(summary: Any, run_dir: Path) -> Table:
    """The end-of-run summary as a two-column table."""
    t = Table(title=f"run {summary.name}: {summary.status}", title_justify="left",
              show_header=False, box=None, padding=(0, 2))
    t.add_column(style="bold")
    t.add_column()
    c = summary.clock
    sim_s = (summary.end_ns - summary.start_ns) / NS_PER_S
    t.add_row("steps", f"{summary.steps:,} of {summary.n_steps:,}  "
                       f"({format_duration_ns(summary.end_ns - summary.start_ns)} simulated, "
                       f"{_when(summary.start_ns)} → {_when(summary.end_ns)})")
    wall = c.wall_elapsed_ns / NS_PER_S
    speed = f"{c.speed:,.0f}× real time" if c.speed != float("inf") else "∞"
    t.add_row("speed", f"{speed} ({wall:,.1f} s wall for {sim_s:,.0f} s; clock {c.mode})")
    if c.mode != "max":
        t.add_row("pacing", f"{c.overruns} overruns; lateness p50 {c.lateness_p50_ms:.2f} ms, "
                            f"p99 {c.lateness_p99_ms:.2f} ms, max {c.lateness_max_ms:.2f} ms")
    t.add_row("satellites", f"{summary.n_sats:,} ({summary.n_modelled:,} modelled), "
                            f"{summary.sats_alive:,} alive at the end")
    if summary.contacts_planned:
        k = summary.contacts
        t.add_row("contacts", f"{summary.contacts_planned:,} planned: {k['completed']:,} "
                              f"completed, {k['cut']:,} cut, {k['cancelled']:,} cancelled")
        t.add_row("data delivered", f"{_gb(summary.down_bits)} down, "
                                    f"{summary.up_bits / 8e3:,.1f} kB up; "
                                    f"{summary.packets['down']:,} packets down, "
                                    f"{summary.packets['up']:,} up")
    if summary.n_modelled:
        t.add_row("images", f"{summary.images:,} captured")
    kinds = sorted(summary.events_by_kind.items(), key=lambda kv: (-kv[1], kv[0]))
    t.add_row("events", ", ".join(f"{k} {v:,}" for k, v in kinds) or "none")
    t.add_row("faults", f"{summary.faults}")
    fsw = getattr(summary, "fsw", None)
    if fsw:
        t.add_row("flight software",
                  f"{fsw['apps']:,} apps: {fsw['ticks']:,} ticks, {fsw['cpu_s']:,.2f} s CPU, "
                  f"{fsw['overruns']:,} overruns, {fsw['faults']} faults, "
                  f"{fsw['restarts']} restarts; {fsw['messages_sent']:,} messages sent")
        if fsw.get("payload") is not None:
            for label, value in fsw["payload"].table():
                t.add_row(f"  {label}", value)
    if summary.network:
        t.add_row("network", summary.network)
    t.add_row("run folder", f"{run_dir}  (telemetry.sqlite)")
    return t


def run_command(scenario: str | None, *, until: str | None, speed: str | None,
                seed: int | None, out_dir: Path | None, faults: list[str],
                resume: Path | None, out: Console, err: Console,
                info: Callable[[str], None]) -> None:
    """What ``orbemu run`` does (see the module notes)."""
    from orbemu.scenario import DEFAULT, load_scenario, resolve_scenario, with_overrides
    from orbemu.scenario.build import build_emulation, resume_emulation, run_sink

    t_build = time.perf_counter()
    if resume is not None:
        if scenario or until or speed or seed is not None or out_dir or faults:
            raise InputError("--resume continues a run as it was started",
                             fix="Give --resume RUN_DIR alone")
        info(f"resuming {resume} from its last checkpoint")
        emu = resume_emulation(resume)
        run_dir = resume
        net = None  # a live network is not resumed: `orbemu netemu up` it on its own
    else:
        sc: Any = load_scenario(scenario or DEFAULT)
        sc = with_overrides(sc, duration=until, clock=speed, seed=seed, faults=tuple(faults))
        run_dir = _run_dir(out_dir, sc.outputs.dir, sc.name)
        info(f"scenario {sc.name}: {sc.run.n_steps:,} steps of "
             f"{format_duration_ns(sc.run.step_ns)}, clock {sc.run.clock}; run folder {run_dir}")
        world = resolve_scenario(sc)
        info(f"building: {len(world.elements):,} satellites, {len(world.ground):,} ground nodes "
             "(contact plan, ISL plan)...")
        sink = run_sink(run_dir, sc)
        from orbemu.cli.netemu import RunNetwork
        try:
            emu = build_emulation(world, sink)
            net = RunNetwork.attach(sc, world, info, out)  # a netemu: section: live network
        except BaseException:
            sink.close("failed")
            raise
    for note in emu.notes:
        info(f"  {note}")
    info(f"built in {time.perf_counter() - t_build:.1f} s")
    start_ns = emu.setup.start_ns
    summary = None
    try:
        if err.is_terminal:
            with Live(console=err, refresh_per_second=4, transient=True) as live:
                last = [0.0]

                def show(status: Any) -> None:
                    now = time.perf_counter()
                    if now - last[0] >= REFRESH_S or status.step == status.n_steps:
                        last[0] = now
                        live.update(_live(status, emu.setup.name, start_ns))

                summary = emu.run(progress=net.progress(emu, show) if net else show)
        else:
            summary = emu.run(progress=net.progress(emu) if net else None)
    except KeyboardInterrupt:
        err.print(Text(f"interrupted at step {emu.step_index:,}; continue with: "
                       f"orbemu run --resume {run_dir}"))
        raise
    finally:
        if net is not None:
            net.close()
    out.print(summary_table(summary, run_dir))
    if _wants_report(sc if resume is None else None, emu):
        from orbemu.report.run_report import write_run_report

        clock = time.perf_counter()
        page = write_run_report(run_dir)
        out.print(f"report: {page} ({time.perf_counter() - clock:.1f} s)", markup=False)


def _wants_report(sc: Any, emu: Any) -> bool:
    """The scenario's ``outputs.report`` (a resumed run: the scenario text it was started
    with)."""
    if sc is not None:
        return bool(sc.outputs.report)
    text = getattr(getattr(emu, "setup", None), "scenario_text", "")
    if not text:
        return True
    try:
        import yaml

        data = yaml.safe_load(text) or {}
        return bool((data.get("outputs") or {}).get("report", True))
    except Exception:  # the report is a convenience: never fail a finished run over it
        return True
