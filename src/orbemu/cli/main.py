"""The ``orbemu`` command line: a thin face over the library (Typer + Rich).

Commands and their output columns are a contract other tools script against:

- ``orbemu propagate ELEMENTS`` — states over a time grid, to CSV / Parquet / OEM / CZML by the
  ``--output`` extension (columns in :mod:`orbemu.io.tables`), or a short summary on screen;
- ``orbemu passes ELEMENTS`` — station passes (AOS/TCA/LOS), CSV columns
  ``norad_id,satellite,station,aos_utc,tca_utc,los_utc,max_elevation_deg,partial``;
- ``orbemu elements ELEMENTS`` — what a file holds: count, epochs, altitudes, inclinations,
  rejected records, notes;
- ``orbemu walker`` — a designed Walker shell (explicit or ``--preset``) written as TLE or OMM;
- ``orbemu data`` — the bundled datasets;
- ``orbemu run [SCENARIO]`` — run a scenario (the default built-in one by default) into a run
  folder, with a live display and a summary (:mod:`orbemu.cli.run`);
- ``orbemu demo`` — the passes/ephemeris tour (what ``make demo`` ran before ``orbemu run``);
- ``orbemu latency ELEMENTS --stations ... --pair A:B`` — RTT, hops and path between stations over
  time (:mod:`orbemu.cli.latency`), CSV columns ``time_utc,src,dst,rtt_ms,hops,path``;
- ``orbemu site --site NAME:LAT,LON --destination REGION --out DIR`` — remote-site connectivity
  to cloud regions: an HTML report with PNG figures and CSV tables (:mod:`orbemu.cli.site`);
- ``orbemu scenario list | show NAME | check FILE`` — built-in scenarios and validation
  (:mod:`orbemu.cli.scenario`);
- ``orbemu query RUN "SQL"`` and ``orbemu export RUN TABLE_OR_SQL OUT`` — a run's records,
  read-only (:mod:`orbemu.cli.query`);
- ``orbemu report RUN`` — the run's HTML report (:mod:`orbemu.cli.report`);
- ``orbemu serve`` — the control API and web console; ``orbemu run --serve`` runs a scenario
  with it (:mod:`orbemu.cli.serve`).

Conventions: results go to stdout; progress bars, the defaults a command used, warnings and errors
go to stderr. Progress bars show only when stderr is a terminal. Every
:class:`~orbemu.errors.OrbemuError` becomes one message on stderr and exit code 2 (no traceback);
anything unexpected exits 1 with a short message; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import time as _time
from collections.abc import Callable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import click
import numpy as np
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from orbemu.constants import NS_PER_S
from orbemu.errors import InputError, OrbemuError, Rejection
from orbemu.time import Time
from orbemu.units import format_duration_ns, parse_distance_m, parse_duration_ns

__all__ = ["app", "main"]

app = typer.Typer(
    name="orbemu",
    help="orbemu — an orbital emulator: real orbits, passes, ephemeris files and designed shells.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

_state: dict[str, Any] = {"debug": False}

#: Listing cap for rejected records and tables on screen (the files hold everything).
_LIST_LIMIT = 20

CELESTRAK_ATTRIBUTION = ("Orbital data: CelesTrak (celestrak.org), derived from USSPACECOM/18 SDS "
                         "GP data")


# ---- consoles, progress, errors ------------------------------------------------------------------


def _out() -> Console:
    """Console on the current stdout (looked up per call, so test runners' streams are used)."""
    return Console(file=sys.stdout, width=None if sys.stdout.isatty() else 120,
                   highlight=False, soft_wrap=True)


def _err() -> Console:
    return Console(file=sys.stderr, width=None if sys.stderr.isatty() else 120,
                   highlight=False, soft_wrap=True)


def _info(message: str) -> None:
    """A note about what the command is doing (stderr: stdout stays results only)."""
    _err().print(message, markup=False)


def _warn(message: str) -> None:
    _err().print(f"warning: {message}", markup=False, style="yellow")


@contextlib.contextmanager
def _progress(description: str, total: int) -> Iterator[Callable[[int, int], None]]:
    """A Rich progress bar on a terminal; silent when stderr is piped or redirected."""
    enabled = sys.stderr.isatty()
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=_err(),
        disable=not enabled,
        transient=False,
    ) as progress:
        task = progress.add_task(description, total=total)

        def update(done: int, total_now: int) -> None:
            progress.update(task, completed=done, total=total_now)

        yield update


F = TypeVar("F", bound=Callable[..., Any])


def _friendly(fn: F) -> F:
    """Turn orbemu's errors into one line and exit code 2; unexpected ones into exit code 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (click.exceptions.Exit, click.exceptions.ClickException, click.exceptions.Abort):
            raise
        except OrbemuError as exc:
            if _state["debug"]:
                raise
            _err().print(f"error: {exc}", markup=False, style="red")
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            _err().print("interrupted", markup=False)
            raise typer.Exit(130) from None
        except BrokenPipeError:  # `orbemu ... | head`: the reader left; not an error
            # Python would complain again when flushing stdout at exit: point it at devnull
            with contextlib.suppress(OSError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(0) from None
        except Exception as exc:
            if _state["debug"]:
                raise
            _err().print(f"error: unexpected {type(exc).__name__}: {exc}", markup=False,
                         style="red")
            _err().print("This looks like a bug in orbemu; rerun with --debug for the "
                         "traceback and report it.", markup=False)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def _command(*args: Any, **kwargs: Any) -> Callable[[F], F]:
    def register(fn: F) -> F:
        app.command(*args, **kwargs)(_friendly(fn))
        return fn

    return register


def _version(value: bool) -> None:
    if value:
        from orbemu import __version__

        typer.echo(f"orbemu {__version__}")
        raise typer.Exit()


@app.callback()
def _global(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks on errors.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """orbemu — an orbital emulator: real orbits, passes, ephemeris files and designed shells.

    Elements are a file (TLE/3LE, OMM XML/KVN/JSON/CSV, optionally .gz) or the name of a bundled
    set (see `orbemu data`). Times are ISO 8601 UTC; durations take units (90s, 95m, 24h, 7d).
    """
    _state["debug"] = debug


# ---- shared helpers ------------------------------------------------------------------------------


class FrameChoice(StrEnum):
    teme = "teme"
    itrf = "itrf"
    geodetic = "geodetic"


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _errors_mode(skip_invalid: bool) -> str:
    return "skip" if skip_invalid else "raise"


def _report_rejections(rejections: tuple[Rejection, ...], what: str) -> None:
    if not rejections:
        return
    _warn(f"skipped {len(rejections)} invalid {what} (--skip-invalid):")
    for rej in rejections[:_LIST_LIMIT]:
        _err().print(f"  {rej}", markup=False)
    if len(rejections) > _LIST_LIMIT:
        _err().print(f"  ... and {len(rejections) - _LIST_LIMIT} more "
                     "(`orbemu elements FILE --skip-invalid` lists them all)", markup=False)


def _load_elements(source: str, skip_invalid: bool) -> Any:
    from orbemu.io.elements import load_elements

    elements = load_elements(source, errors=_errors_mode(skip_invalid))  # type: ignore[arg-type]
    _report_rejections(elements.rejections, "element records")
    if len(elements) == 0:
        raise InputError("no satellites to work with", source=str(source),
                         fix="Check the file, or run `orbemu elements` on it")
    return elements


def _select(elements: Any, satellites: str | None) -> Any:
    if not satellites:
        return elements
    index = []
    for token in (t.strip() for t in satellites.split(",")):
        if not token:
            continue
        hits = (np.flatnonzero(elements.norad_ids == int(token)) if token.isdigit()
                else np.flatnonzero(elements.names == token))
        if hits.size == 0:
            raise InputError(f"no satellite {token!r} in {elements.source or 'the elements'}",
                             field="--satellites",
                             fix="Give NORAD catalog numbers or exact names, comma-separated; "
                             "`orbemu elements FILE` lists what the file holds")
        index.append(int(hits[0]))
    if not index:
        raise InputError("empty selection", field="--satellites",
                         fix="Give NORAD catalog numbers or exact names, comma-separated")
    return elements.select(np.array(index))


def _start_time(start: str | None, elements: Any) -> tuple[Time, str]:
    if start:
        return Time.parse(start, field="--start"), ""
    newest = Time(int(elements.epochs.ns.max()))
    # whole seconds: the grid then reads cleanly in files
    newest = Time(int(newest.ns) // NS_PER_S * NS_PER_S)
    return newest, " (default: the newest element epoch)"


def _size(path: Path) -> str:
    n = float(path.stat().st_size)
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"  # pragma: no cover


_EPHEMERIS_FORMATS = (".csv", ".parquet", ".oem", ".czml")


def _output_kind(output: Path, allowed: tuple[str, ...]) -> str:
    suffix = output.suffix.lower()
    if suffix not in allowed:
        raise InputError(f"unknown output format {output.suffix or '(no extension)'!r}",
                         field="--output",
                         fix=f"Name the file with one of: {', '.join(allowed)}")
    parent = output.parent
    if not parent.exists():
        raise InputError(f"folder {str(parent)!r} does not exist", field="--output",
                         fix="Create it first, or write elsewhere")
    return suffix


class _StatusTally:
    """Counts failed samples while blocks stream through a writer."""

    def __init__(self) -> None:
        self.failed_samples = 0
        self.by_reason: dict[str, int] = {}
        self.samples = 0

    def watch(self, blocks: Iterator[Any]) -> Iterator[Any]:
        for block in blocks:
            self.samples += block.n_sats * block.n_times
            self.failed_samples += block.failed_samples()
            for reason, sats in block.status_summary().items():
                self.by_reason[reason] = self.by_reason.get(reason, 0) + sats
            yield block

    def report(self) -> None:
        if self.failed_samples:
            reasons = "; ".join(f"{r}: {n} satellites" for r, n in self.by_reason.items())
            _warn(f"{self.failed_samples} of {self.samples} samples could not be computed "
                  f"({reasons}); they are empty fields / omitted in the output")


def _write_ephemeris(elements: Any, times: Time, frame: str, output: Path, kind: str,
                     *, ground: Any = None, label: str = "propagating") -> dict[str, Any]:
    """Propagate in satellite blocks and stream them into the writer for ``kind``."""
    from orbemu.io.tables import ephemeris_blocks, write_ephemeris_csv, write_ephemeris_parquet

    prop_frame = "TEME" if frame == "teme" else "ITRF"
    if kind == ".czml":
        prop_frame = "ITRF"
    tally = _StatusTally()
    result: dict[str, Any] = {}
    with _progress(label, len(elements)) as update:
        blocks = tally.watch(ephemeris_blocks(elements, times, frame=prop_frame,  # type: ignore[arg-type]
                                              progress=update))
        if kind == ".csv":
            result["rows"] = write_ephemeris_csv(blocks, output, frame=frame)
        elif kind == ".parquet":
            result["rows"] = write_ephemeris_parquet(blocks, output, frame=frame)
        elif kind == ".oem":
            from orbemu.io.oem import write_oem

            written = write_oem(blocks, output, object_ids=list(elements.intl_designators),
                                comments=[f"orbemu propagate of {elements.source}"])
            result["segments"] = written.segments
            if written.omitted:
                _warn(f"no segment for {len(written.omitted)} satellites without a valid "
                      f"sample: {', '.join(written.omitted[:_LIST_LIMIT])}")
        else:
            from orbemu.io.czml import write_czml

            result.update(write_czml(blocks, output, ground=ground, n_sats=len(elements),
                                     name=f"orbemu: {elements.source}"))
    tally.report()
    return result


# ---- propagate -----------------------------------------------------------------------------------


@_command("propagate")
def propagate_cmd(
    elements: Annotated[str, typer.Argument(help="Element file or bundled set name.")],
    start: Annotated[str | None, typer.Option(
        help="First instant, ISO 8601 UTC. Default: the newest element epoch.")] = None,
    duration: Annotated[str, typer.Option(help="Length of the window, e.g. 95m, 24h.")] = "95m",
    step: Annotated[str, typer.Option(help="Time step, e.g. 60s.")] = "60s",
    frame: Annotated[FrameChoice, typer.Option(
        help="teme (SGP4's frame), itrf (Earth-fixed) or geodetic (lat/lon/alt).",
        case_sensitive=False)] = FrameChoice.teme,
    satellites: Annotated[str | None, typer.Option(
        help="Only these satellites: NORAD ids or exact names, comma-separated.")] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write to FILE (.csv, .parquet, .oem or .czml).")] = None,
    skip_invalid: Annotated[bool, typer.Option(
        "--skip-invalid", help="Skip malformed records (listed on stderr) instead of failing.")
    ] = False,
) -> None:
    """Propagate satellites with SGP4 and write their states (or print a summary)."""
    duration_ns = parse_duration_ns(duration, field="--duration")
    step_ns = parse_duration_ns(step, field="--step")
    if step_ns <= 0:
        raise InputError("step must be positive", field="--step", text=step, fix="E.g. --step 60s")
    kind = _output_kind(output, _EPHEMERIS_FORMATS) if output is not None else None
    if kind == ".oem" and frame == FrameChoice.geodetic:
        raise InputError("an OEM holds cartesian states, not geodetic coordinates",
                         field="--frame", fix="Use --frame teme or --frame itrf with .oem")
    sats = _select(_load_elements(elements, skip_invalid), satellites)
    t0, why = _start_time(start, sats)
    times = Time.range(t0, duration_ns, step_ns)
    _info(f"propagate: {_plural(len(sats), 'satellite')} from {sats.source} · "
          f"start {t0.iso('s')}{why} · duration {format_duration_ns(duration_ns)} · "
          f"step {format_duration_ns(step_ns)} ({times.size} instants) · frame {frame.value} · "
          "SGP4")
    clock = _time.perf_counter()
    if output is not None and kind is not None:
        result = _write_ephemeris(sats, times, frame.value, output, kind)
        took = _time.perf_counter() - clock
        what = (f"{result['rows']} rows" if "rows" in result
                else f"{result['segments']} segments" if "segments" in result
                else f"{result['satellites']} satellites, {result['samples']} samples"
                + (f" (1 instant in {result['stride']})" if result.get("stride", 1) > 1
                   else ""))
        _out().print(f"wrote {output} ({what}, {_size(output)}) in {took:.2f} s", markup=False)
        return
    _propagate_summary(sats, times, frame.value)


def _propagate_summary(sats: Any, times: Time, frame: str) -> None:
    from orbemu.orbits.propagation import SGP4Propagator

    prop_frame = "TEME" if frame == "teme" else "ITRF"
    clock = _time.perf_counter()
    with _progress("propagating", len(sats)) as update:
        eph = SGP4Propagator().propagate(sats, times, frame=prop_frame,  # type: ignore[arg-type]
                                         progress=update)
    took = _time.perf_counter() - clock
    out = _out()
    shown = min(eph.n_sats, 10)
    table = Table(title=f"first instant {times[0].iso('ms')} ({frame})", title_justify="left")
    table.add_column("norad_id", justify="right")
    table.add_column("name")
    if frame == "geodetic":
        lat, lon, alt = eph.select(sats=slice(0, shown), times=[0]).geodetic()
        for col in ("lat_deg", "lon_deg", "alt_km"):
            table.add_column(col, justify="right")
        for i in range(shown):
            table.add_row(str(eph.norad_ids[i]), str(eph.names[i]),
                          f"{np.degrees(lat[i, 0]):.4f}", f"{np.degrees(lon[i, 0]):.4f}",
                          f"{alt[i, 0] / 1000:.3f}")
    else:
        for col in ("x_km", "y_km", "z_km", "speed_km_s"):
            table.add_column(col, justify="right")
        for i in range(shown):
            r, v = eph.position_m[i, 0] / 1000, eph.velocity_m_s[i, 0] / 1000
            table.add_row(str(eph.norad_ids[i]), str(eph.names[i]), f"{r[0]:.3f}", f"{r[1]:.3f}",
                          f"{r[2]:.3f}", f"{np.linalg.norm(v):.4f}")
    out.print(table)
    if eph.n_sats > shown:
        out.print(f"... and {eph.n_sats - shown} more satellites", markup=False)
    out.print(f"{_plural(eph.n_sats, 'satellite')} × {_plural(eph.n_times, 'instant')} = "
              f"{_plural(eph.n_sats * eph.n_times, 'state')} in {took:.2f} s; "
              f"{eph.failed_samples()} failed samples. "
              "Use --output FILE (.csv, .parquet, .oem, .czml) to write them all.", markup=False)
    for reason, n in eph.status_summary().items():
        _warn(f"{n} satellites have samples that failed: {reason}")


# ---- passes --------------------------------------------------------------------------------------


def _load_ground(station: list[str] | None, stations: str | None, skip_invalid: bool) -> Any:
    from orbemu.io.ground import load_ground_nodes, parse_station_spec
    from orbemu.orbits.ground_nodes import GroundNodes

    parts = []
    for spec in station or []:
        parts.append(parse_station_spec(spec))
    if stations:
        nodes = load_ground_nodes(stations, errors=_errors_mode(skip_invalid))  # type: ignore[arg-type]
        _report_rejections(nodes.rejections, "ground-station rows")
        parts.append(nodes)
    if not parts:
        raise InputError("no ground stations given", field="--station",
                         fix="Add --station NAME:LAT,LON[,ALT_M] (repeatable) or --stations "
                         "FILE|NAME (e.g. --stations ksat; `orbemu data` lists the bundled ones)")
    ground = parts[0] if len(parts) == 1 else GroundNodes.concat(parts)
    names = list(ground.names)
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(f"station names must be unique; repeated: {', '.join(dupes)}",
                         field="--station", fix="Give each station its own name")
    if len(ground) == 0:
        raise InputError("no ground stations to work with", field="--stations")
    return ground


def _find_passes(sats: Any, ground: Any, start: Time, duration_ns: int,
                 min_elevation: float | None) -> Any:
    from orbemu.orbits.passes import find_passes

    with _progress("finding passes", 1) as update:
        return find_passes(sats, ground, start, duration_ns, min_elevation_deg=min_elevation,
                           progress=update)


def _passes_table(passes: Any, sats: Any, ground: Any, limit: int = _LIST_LIMIT) -> Table:
    order = np.lexsort((passes.node_index, passes.sat_index, passes.aos.ns))
    table = Table(title_justify="left")
    for col in ("satellite", "station", "aos_utc", "los_utc", "max_el_deg"):
        table.add_column(col, justify="right" if col == "max_el_deg" else "left")
    for k in order[:limit]:
        table.add_row(f"{sats.names[passes.sat_index[k]]} ({sats.norad_ids[passes.sat_index[k]]})",
                      str(ground.names[passes.node_index[k]]),
                      str(passes.aos[int(k)].iso("s")), str(passes.los[int(k)].iso("s")),
                      f"{passes.max_elevation_deg[k]:.1f}" + (" *" if passes.partial[k] else ""))
    return table


@_command("passes")
def passes_cmd(
    elements: Annotated[str, typer.Argument(help="Element file or bundled set name.")],
    station: Annotated[list[str] | None, typer.Option(
        "--station", help="A station NAME:LAT,LON[,ALT_M] (degrees, metres); repeatable.")] = None,
    stations: Annotated[str | None, typer.Option(
        "--stations", help="Stations from a CSV file (name,lat_deg,lon_deg[,alt_m]) or a "
        "bundled list name (e.g. ksat).")] = None,
    start: Annotated[str | None, typer.Option(
        help="Window start, ISO 8601 UTC. Default: the newest element epoch.")] = None,
    duration: Annotated[str, typer.Option(help="Window length, e.g. 24h, 7d.")] = "24h",
    min_elevation: Annotated[float | None, typer.Option(
        "--min-elevation", help="Minimum elevation in degrees. Default: each station's own "
        "(0 for --station).")] = None,
    satellites: Annotated[str | None, typer.Option(
        help="Only these satellites: NORAD ids or exact names, comma-separated.")] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write the passes to FILE (.csv).")] = None,
    skip_invalid: Annotated[bool, typer.Option(
        "--skip-invalid", help="Skip malformed records (listed on stderr) instead of failing.")
    ] = False,
) -> None:
    """Find passes of satellites over ground stations (AOS, TCA, LOS, max elevation)."""
    duration_ns = parse_duration_ns(duration, field="--duration")
    if duration_ns <= 0:
        raise InputError("duration must be positive", field="--duration", text=duration,
                         fix="E.g. --duration 24h")
    if min_elevation is not None and not -90.0 <= min_elevation <= 90.0:
        raise InputError(f"minimum elevation {min_elevation} is outside -90..90 degrees",
                         field="--min-elevation", fix="E.g. --min-elevation 10")
    if output is not None:
        _output_kind(output, (".csv",))
    ground = _load_ground(station, stations, skip_invalid)
    sats = _select(_load_elements(elements, skip_invalid), satellites)
    t0, why = _start_time(start, sats)
    min_el = (f"{min_elevation:g}°" if min_elevation is not None
              else "per station (" + ", ".join(
                  sorted({f"{v:g}°" for v in ground.min_elevation_deg})) + ")")
    _info(f"passes: {_plural(len(sats), 'satellite')} from {sats.source} over "
          f"{_plural(len(ground), 'station')} · "
          f"start {t0.iso('s')}{why} · duration {format_duration_ns(duration_ns)} · "
          f"min elevation {min_el}")
    clock = _time.perf_counter()
    passes = _find_passes(sats, ground, t0, duration_ns, min_elevation)
    took = _time.perf_counter() - clock
    n = int(np.asarray(passes.sat_index).size)
    if output is not None:
        from orbemu.io.tables import write_passes_csv

        write_passes_csv(passes, output)
        _out().print(f"wrote {output} ({n} passes, {_size(output)}) in {took:.2f} s",
                     markup=False)
        return
    out = _out()
    if n:
        out.print(_passes_table(passes, sats, ground))
    if n > _LIST_LIMIT:
        out.print(f"... and {n - _LIST_LIMIT} more; --output FILE.csv writes them all",
                  markup=False)
    partial = int(np.count_nonzero(passes.partial))
    out.print(f"{n} passes in {took:.2f} s" + (f" ({partial} cut by the window, marked *)"
                                                if partial else ""), markup=False)


# ---- elements ------------------------------------------------------------------------------------

_ALT_EDGES_KM = [0, 300, 400, 500, 600, 800, 1000, 1500, 2000, 5000, 10000, 20000, 30000,
                 35000, 37000, 50000, np.inf]


def _histogram(title: str, values: np.ndarray, edges: list[float], unit: str) -> Table:
    counts, _ = np.histogram(values, bins=np.asarray(edges, dtype=float))
    table = Table(title=title, title_justify="left", show_header=False, box=None, padding=(0, 1))
    table.add_column(justify="right")
    table.add_column(justify="right")
    table.add_column()
    peak = max(int(counts.max()), 1) if counts.size else 1
    for lo, hi, c in zip(edges[:-1], edges[1:], counts, strict=True):
        if c == 0:
            continue
        sep = "" if unit == "°" else " "
        label = f"≥ {lo:g}{sep}{unit}" if not np.isfinite(hi) else f"{lo:g}–{hi:g}{sep}{unit}"
        bar = "█" * max(1, round(40 * int(c) / peak))
        table.add_row(label, str(int(c)), f"[cyan]{bar}[/cyan]")
    return table


@_command("elements")
def elements_cmd(
    elements: Annotated[str, typer.Argument(help="Element file or bundled set name.")],
    skip_invalid: Annotated[bool, typer.Option(
        "--skip-invalid", help="Load the valid records and list the rejected ones.")] = False,
) -> None:
    """Summarise an element set: count, epochs, altitudes, inclinations, rejected records."""
    from orbemu.io.elements import load_elements

    es = load_elements(elements, errors=_errors_mode(skip_invalid))  # type: ignore[arg-type]
    out = _out()
    out.print(f"[bold]{es.source}[/bold]: {_plural(len(es), 'satellite')}"
              + (f", {len(es.rejections)} records rejected" if es.rejections else ""))
    if len(es):
        oldest, newest = es.epoch_span()
        ages_h = es.age_days(newest) * 24.0
        out.print(f"epochs: {oldest.iso('s')} .. {newest.iso('s')} "
                  f"(median age {np.median(ages_h):.1f} h before the newest, "
                  f"oldest {ages_h.max() / 24:.1f} d)", markup=False)
        alt_km = es.mean_altitude_m / 1000.0
        finite = alt_km[np.isfinite(alt_km)]
        out.print(_histogram("mean altitude (semi-major axis − Earth radius)",
                             np.clip(finite, 0, None), _ALT_EDGES_KM, "km"))
        inc = np.degrees(es.inclination_rad)
        out.print(_histogram("inclination", inc, list(range(0, 181, 10)), "°"))
        ecc = es.eccentricity
        out.print(f"eccentricity: median {np.median(ecc):.5f}, max {ecc.max():.5f}", markup=False)
    for note in es.notes:
        out.print(f"note: {note}", markup=False)
    if es.rejections:
        out.print(f"rejected records ({len(es.rejections)}):", markup=False)
        for rej in es.rejections:
            out.print(f"  {rej}", markup=False)


# ---- walker --------------------------------------------------------------------------------------

_ELEMENT_FORMATS = {".tle": "tle", ".txt": "tle", ".3le": "tle", ".xml": "xml", ".kvn": "kvn",
                    ".json": "json", ".csv": "csv"}


def _write_elements(es: Any, output: Path) -> None:
    suffix = _output_kind(output, tuple(_ELEMENT_FORMATS))
    fmt = _ELEMENT_FORMATS[suffix]
    if fmt == "tle":
        from orbemu.io.tle import write_tle

        write_tle(es, output)
    else:
        from orbemu.io.omm import write_omm

        write_omm(es, output, format=fmt)  # type: ignore[arg-type]


@_command("walker")
def walker_cmd(
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write to FILE: .tle (3-line TLE) or OMM .xml/.kvn/.json/.csv.")
    ] = None,
    preset: Annotated[str | None, typer.Option(
        help="A named design (e.g. a Starlink or Kuiper shell); `orbemu walker --list` "
        "shows them.")] = None,
    planes: Annotated[int | None, typer.Option(help="Number of orbital planes P.")] = None,
    sats_per_plane: Annotated[int | None, typer.Option(help="Satellites per plane S.")] = None,
    phasing: Annotated[int, typer.Option(help="Walker phasing F, 0 … P−1.")] = 0,
    inclination: Annotated[float | None, typer.Option(help="Inclination in degrees.")] = None,
    altitude: Annotated[str | None, typer.Option(
        help="Altitude with a unit, e.g. 550km.")] = None,
    star: Annotated[bool, typer.Option(
        "--star", help="Walker star (planes over 180° of RAAN) instead of delta (360°).")] = False,
    epoch: Annotated[str | None, typer.Option(
        help="Element epoch, ISO 8601 UTC (default: the library's design epoch).")] = None,
    name_prefix: Annotated[str, typer.Option(help="Satellite name prefix.")] = "WALKER",
    first_catalog_number: Annotated[int, typer.Option(
        help="Catalog number of the first satellite.")] = 1,
    list_: Annotated[bool, typer.Option("--list", help="List the presets and exit.")] = False,
) -> None:
    """Generate a designed Walker shell and write it as TLE or OMM (by the file's extension)."""
    from orbemu.orbits import presets as presets_mod
    from orbemu.orbits import walker as walker_mod

    if list_:
        table = Table(title="Walker presets", title_justify="left")
        table.add_column("name")
        table.add_column("description")
        for name, desc in presets_mod.list_presets().items():
            table.add_row(name, desc)
        _out().print(table)
        return
    if output is None:
        raise InputError("no output file", field="--output",
                         fix="Add --output FILE.tle (or .xml, .kvn, .json, .csv for OMM)")
    _output_kind(output, tuple(_ELEMENT_FORMATS))
    kwargs: dict[str, Any] = {}
    if epoch:
        kwargs["epoch"] = Time.parse(epoch, field="--epoch")
    explicit = [planes, sats_per_plane, inclination, altitude]
    if preset:
        if any(v is not None for v in explicit) or star:
            raise InputError("--preset cannot be combined with explicit shell parameters",
                             field="--preset", fix="Give either --preset NAME or --planes, "
                             "--sats-per-plane, --inclination and --altitude")
        es = presets_mod.walker_preset(preset, **kwargs)
        what = f"preset {preset}"
    else:
        missing = [flag for flag, v in zip(("--planes", "--sats-per-plane", "--inclination",
                                            "--altitude"), explicit, strict=True) if v is None]
        if missing:
            raise InputError(f"missing {', '.join(missing)}", field="walker",
                             fix="Give --preset NAME, or all of --planes, --sats-per-plane, "
                             "--inclination and --altitude (e.g. --planes 72 --sats-per-plane "
                             "22 --inclination 53 --altitude 550km)")
        assert planes is not None and sats_per_plane is not None  # checked just above
        assert inclination is not None and altitude is not None
        build = walker_mod.walker_star if star else walker_mod.walker_delta
        es = build(planes, sats_per_plane, phasing, inclination_deg=inclination,
                   altitude_m=parse_distance_m(altitude, field="--altitude"),
                   name_prefix=name_prefix, first_catalog_number=first_catalog_number, **kwargs)
        shape = "star" if star else "delta"
        what = (f"Walker {shape} {inclination:g}°: {planes * sats_per_plane}/{planes}/"
                f"{phasing} at {altitude}")
    _write_elements(es, output)
    _out().print(f"wrote {output}: {len(es)} satellites, {what}, epoch "
                 f"{es.epoch_span()[1].iso('s')}", markup=False)


# ---- data ----------------------------------------------------------------------------------------

data_app = typer.Typer(help="The datasets bundled with orbemu (element sets, ground stations).",
                       invoke_without_command=True, no_args_is_help=False)
app.add_typer(data_app, name="data")


def _list_data() -> None:
    from orbemu.io.catalog import list_datasets

    out = _out()
    for kind, title in (("elements", "Element sets"), ("ground", "Ground-node lists")):
        table = Table(title=title, title_justify="left")
        for col in ("name", "count", "epoch" if kind == "elements" else "role", "description"):
            table.add_column(col, justify="right" if col == "count" else "left")
        credits: dict[str, None] = {}
        for info in list_datasets(kind):  # type: ignore[arg-type]
            extra = (info.epoch.iso("s") if info.epoch is not None else "") \
                if kind == "elements" else info.role
            table.add_row(info.name, str(info.count), extra, info.description)
            credits[info.attribution] = None
        out.print(table)
        for line in credits:
            out.print(f"  {line}", markup=False)


@data_app.callback()
def _data_default(ctx: typer.Context) -> None:
    """List the bundled datasets (the default)."""
    if ctx.invoked_subcommand is None:
        _friendly(_list_data)()


@data_app.command("list")
def _data_list() -> None:
    """List the bundled datasets."""
    _friendly(_list_data)()


# ---- demo ----------------------------------------------------------------------------------------

@_command("demo")
def demo_cmd(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the results.")] = Path("out"),
) -> None:
    """Run the default job (make demo): passes, one Starlink orbit, CSV, CZML and a plot.

    Passes of the bundled space stations over five KSAT ground stations for 24 h, and one orbit
    of the bundled Starlink snapshot, written into --out as CSV, CZML and a PNG ground track.
    """
    from orbemu.cli.demo import run_demo

    run_demo(out_dir, out=_out(), info=_info, progress=_progress)


# ---- run -----------------------------------------------------------------------------------------

@_command("run")
def run_cmd(
    scenario: Annotated[str | None, typer.Argument(
        help="A scenario file, or the name of a built-in one (default: the default scenario; "
             "see `orbemu scenario list`).")] = None,
    until: Annotated[str | None, typer.Option(
        "--until", help="Simulated duration, e.g. 30m, 6h (overrides run.duration).")] = None,
    speed: Annotated[str | None, typer.Option(
        "--speed", help="max (as fast as possible), realtime, or a factor such as 10 or 10x.")
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed (faults).")] = None,
    out_dir: Annotated[Path | None, typer.Option(
        "--out", help="Run folder (default: the scenario's outputs.dir or runs/NAME).")] = None,
    fault: Annotated[list[str] | None, typer.Option(
        "--fault", help="Add a fault, e.g. 'sat:STARLINK-1234 down at 01:00 for 30m' "
                        "(repeatable).")] = None,
    resume: Annotated[Path | None, typer.Option(
        "--resume", help="Continue the run in this folder from its last checkpoint.")] = None,
    serve: Annotated[bool, typer.Option(
        "--serve", help="Run it paced (--speed, default realtime) with the web console; see "
                        "orbemu serve for --host/--port/--token.")] = False,
    host: Annotated[str, typer.Option("--host", help="With --serve: address to listen on.")
                    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="With --serve: port.")] = 8321,
    token: Annotated[str | None, typer.Option("--token", help="With --serve: the token.")
                     ] = None,
) -> None:
    """Run a scenario: spacecraft, contacts, network and faults, recorded in a run folder.

    Shows a live display on a terminal and a summary at the end. The run folder holds
    telemetry.sqlite (housekeeping, events, contacts, packets, network metrics, faults).
    """
    from orbemu.cli.run import run_command

    if speed is not None and speed.strip().replace(".", "", 1).isdigit():
        speed = f"{speed.strip()}x"
    if serve:
        if resume is not None:
            raise InputError("--serve starts a new run", fix="Resume without --serve")
        from orbemu.cli.serve import serve_run

        serve_run(scenario, until=until, speed=speed, seed=seed, out_dir=out_dir,
                  faults=list(fault or []), host=host, port=port, token=token)
        return
    run_command(scenario, until=until, speed=speed, seed=seed, out_dir=out_dir,
                faults=list(fault or []), resume=resume, out=_out(), err=_err(), info=_info)


# ---- latency (its own module; registers itself on `app`) -----------------------------------------

from orbemu.cli import latency as _latency  # noqa: E402, F401
from orbemu.cli import netemu as _netemu  # noqa: E402, F401
from orbemu.cli import query as _query  # noqa: E402, F401
from orbemu.cli import report as _report  # noqa: E402, F401
from orbemu.cli import scenario as _scenario  # noqa: E402, F401
from orbemu.cli import serve as _serve  # noqa: E402, F401  (orbemu serve)
from orbemu.cli import site as _site  # noqa: E402, F401

# ---- entry point ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """The ``orbemu`` console script. ``--debug`` may come anywhere on the command line."""
    args = list(sys.argv[1:] if argv is None else argv)
    if "--debug" in args[1:]:
        args.remove("--debug")
        args.insert(0, "--debug")
    app(args=args, prog_name="orbemu")


if __name__ == "__main__":  # pragma: no cover
    main()
