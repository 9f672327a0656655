"""``orbemu scenario list | show NAME | check FILE``: the built-in scenarios and validation.

- ``list`` — the scenarios shipped with orbemu, the default first;
- ``show NAME`` — a built-in scenario's YAML, comments included (a starting point to copy), or
  with ``--resolved`` any scenario (file or name) as validated, every default filled in;
- ``check FILE`` — validate a scenario file (or a built-in name) and load what it names
  (element sets, ground lists, target files, fault targets; ``--no-data`` skips that part).
  Every problem is printed (file, line, YAML path, value, expected, a close match for a
  misspelled key) and the exit code is 2; a valid scenario prints a short summary, exit 0.

Registered on the app of :mod:`orbemu.cli.main`.
"""

from __future__ import annotations

import time as _time
from typing import Annotated, Any

import typer
from rich.table import Table

from orbemu.cli.main import _friendly, _out, _plural, app
from orbemu.units import format_duration_ns

__all__ = ["scenario_app", "summarize_scenario"]

scenario_app = typer.Typer(help="Scenario files: the built-in ones, and validation.",
                           no_args_is_help=True)
app.add_typer(scenario_app, name="scenario")


@scenario_app.command("list")
@_friendly
def list_cmd() -> None:
    """List the built-in scenarios (the default first)."""
    from orbemu.scenario import list_scenarios

    table = Table(title="Built-in scenarios (orbemu scenario show NAME; orbemu run NAME)",
                  title_justify="left")
    table.add_column("name", no_wrap=True)
    table.add_column("description")
    for info in list_scenarios():
        table.add_row(info.name + (" (default)" if info.default else ""), info.description)
    _out().print(table)


@scenario_app.command("show")
@_friendly
def show_cmd(
    name: Annotated[str, typer.Argument(help="A built-in scenario (default, atacama-edge, ...) "
                                        "or, with --resolved, a file.")],
    resolved: Annotated[bool, typer.Option(
        "--resolved", help="Print the scenario as validated, every default filled in.")
    ] = False,
) -> None:
    """Print a built-in scenario's YAML (copy it to start your own)."""
    from orbemu.scenario import load_scenario, show_scenario

    text = load_scenario(name).to_yaml() if resolved else show_scenario(name)
    typer.echo(text, nl=not text.endswith("\n"))


def _constellation(c: Any, count: int | None) -> str:
    if c.dataset:
        what = f"dataset {c.dataset}"
    elif c.file:
        what = f"file {c.file}"
    elif c.walker is not None:
        w = c.walker
        alt = w.altitude_km
        what = (f"Walker {w.pattern} {w.planes * w.sats_per_plane}/{w.planes}/{w.phasing}"
                + (f" at {alt:g} km" if alt is not None else "")
                + f", {w.inclination_deg:g}°")
    else:
        what = f"preset {c.preset}"
    n = f", {count:,} satellites" if count is not None else ""
    return f"{c.name} ({what}{n}, {c.role})"


def summarize_scenario(sc: Any, world: Any = None) -> list[str]:
    """Lines describing a valid scenario (``world``: its :class:`ResolvedScenario`, for the
    counts of what the data holds)."""
    import numpy as np

    run = sc.run
    start = (world.start.iso("s") + (" (epoch of the elements)" if run.start_ns is None else "")
             if world is not None else ("epoch" if run.start_ns is None else "given"))
    lines = [f"run: start {start} · {format_duration_ns(run.duration_ns)} at "
             f"{format_duration_ns(run.step_ns)} steps ({run.n_steps:,} steps) · clock "
             f"{run.clock}" + (f" · checkpoint every {format_duration_ns(run.checkpoint_every_ns)}"
                               if run.checkpoint_every_ns else "")]
    counts: list[int | None] = [None] * len(sc.constellations)
    if world is not None:
        counts = [int(np.count_nonzero(world.constellation == i))
                  for i in range(len(sc.constellations))]
    lines.append("constellations: " + "; ".join(
        _constellation(c, n) for c, n in zip(sc.constellations, counts, strict=True)))
    if sc.spacecraft:
        lines.append("spacecraft classes: " + ", ".join(sc.spacecraft))
    if world is not None:
        roles = list(world.ground.roles)
        parts = [_plural(roles.count(r), label) for r, label in (
            ("station", "station"), ("gateway", "gateway"), ("pop", "PoP"), ("site", "site"),
            ("cloud", "destination")) if roles.count(r)]
        lines.append("ground: " + (", ".join(parts) or "none"))
        lines.append(f"targets: {len(world.targets)}")
    else:
        g = sc.ground
        lines.append("ground: " + ", ".join(f"{sec} {len(getattr(g, sec))} source(s)" for sec in (
            "stations", "gateways", "pops", "sites", "destinations") if getattr(g, sec)))
    lines.append(f"schedules: {_plural(len(sc.schedules), 'command')} · faults: "
                 f"{len(sc.faults.scripted)} scripted, {len(sc.faults.random)} random")
    if sc.network.monitor:
        lines.append("network monitor: " + ", ".join(str(p) for p in sc.network.monitor))
    out = sc.outputs
    lines.append(f"outputs: {', '.join(out.record)} · housekeeping every "
                 f"{format_duration_ns(out.housekeeping_every_ns)} · network every "
                 f"{format_duration_ns(out.network_every_ns)}"
                 + (" · report" if out.report else ""))
    return lines


@scenario_app.command("check")
@_friendly
def check_cmd(
    file: Annotated[str, typer.Argument(help="A scenario YAML file, or a built-in name.")],
    no_data: Annotated[bool, typer.Option(
        "--no-data", help="Only validate the file; do not load the data it names.")] = False,
) -> None:
    """Validate a scenario: print every problem (exit 2), or a short summary (exit 0)."""
    from orbemu.scenario import check_scenario, resolve_scenario

    clock = _time.perf_counter()
    sc = check_scenario(file)
    world = None if no_data else resolve_scenario(sc)
    took = _time.perf_counter() - clock
    out = _out()
    what = "valid" if no_data else "valid, and the data it names loads"
    desc = f" — {sc.description}" if sc.description else ""
    out.print(f"{sc.source_path or file}: {what} ({took:.1f} s)", markup=False)
    out.print(f"{sc.name}{desc}", markup=False)
    for line in summarize_scenario(sc, world):
        out.print(f"  {line}", markup=False)
