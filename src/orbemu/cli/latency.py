"""``orbemu latency``: round-trip times, hops and paths between stations over a constellation.

::

    orbemu latency ELEMENTS --stations FILE|NAME --pair A:B [--pair C:D ...]
        [--start ISO] [--duration DUR] [--step DUR] [--isl plus-grid|none|FILE]
        [--min-elevation DEG | --max-gsl-range DIST] [--max-isl-range DIST]
        [--grazing-altitude DIST] [--relay] [--workers N] [--scheduler ADDR] [--output FILE]

``A`` and ``B`` are station names from the stations file (or bundled list). Rows go to
``--output`` (``.csv`` or ``.parquet``, columns in :mod:`orbemu.io.latency_tables`); the
choices made (defaults included) go to stderr at the start and a per-pair summary to stdout at
the end. Registered on the app of :mod:`orbemu.cli.main`.
"""

from __future__ import annotations

import math
import time as _time
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.table import Table

from orbemu.cli.main import (
    _command,
    _info,
    _load_elements,
    _out,
    _output_kind,
    _plural,
    _progress,
    _report_rejections,
    _size,
    _start_time,
)
from orbemu.errors import InputError
from orbemu.time import Time
from orbemu.units import format_duration_ns, parse_distance_m, parse_duration_ns

__all__ = ["latency_cmd", "resolve_pairs"]

_PAIR_FIX = ("Write --pair A:B with two station names from the stations file, e.g. "
             "--pair Paris:Luanda")


def resolve_pairs(specs: list[str], names: Any) -> np.ndarray:
    """``["A:B", ...]`` → (n, 2) indices into ``names``; names match exactly, else ignoring
    case. A name may itself contain ``:``: every split point is tried."""
    names = [str(n) for n in names]
    exact = {n: i for i, n in enumerate(names)}
    folded: dict[str, int] = {}
    for i, n in enumerate(names):
        folded.setdefault(n.casefold(), i)

    def find(name: str) -> int | None:
        name = name.strip()
        if name in exact:
            return exact[name]
        return folded.get(name.casefold())

    out = []
    for spec in specs:
        parts = spec.split(":")
        found = None
        for k in range(1, len(parts)):
            a, b = find(":".join(parts[:k])), find(":".join(parts[k:]))
            if a is not None and b is not None:
                found = (a, b)
                break
        if found is None:
            if len(parts) < 2 or not all(p.strip() for p in parts):
                raise InputError(f"{spec!r} is not two station names joined by ':'",
                                 field="--pair", fix=_PAIR_FIX)
            missing = [p for p in (parts[0], ":".join(parts[1:])) if find(p) is None]
            close = [n for n in names if missing and missing[0].strip().casefold()[:3]
                     and n.casefold().startswith(missing[0].strip().casefold()[:3])][:5]
            hint = f" Similar names: {', '.join(close)}." if close else ""
            raise InputError(f"no station named {missing[0].strip()!r} in the stations file "
                             f"(pair {spec!r})", field="--pair",
                             fix=f"Use names as the stations file spells them.{hint}")
        if found[0] == found[1]:
            raise InputError(f"pair {spec!r} joins a station to itself", field="--pair",
                             fix=_PAIR_FIX)
        out.append(found)
    return np.array(out, dtype=np.int64).reshape(-1, 2)


def _distance(text: str | None, option: str) -> float | None:
    return None if text is None else parse_distance_m(text, field=option)


@_command("latency")
def latency_cmd(
    elements: Annotated[str, typer.Argument(help="Element file or bundled set name.")],
    stations: Annotated[str, typer.Option(
        help="Stations: a file (CSV name,lat,lon[,alt_m], Hypatia, GeoJSON) or a bundled list "
        "(cities-top100, starlink-gateways, ...).")],
    pair: Annotated[list[str], typer.Option(
        help="A:B — a pair of station names; repeat for more pairs.")],
    start: Annotated[str | None, typer.Option(
        help="First instant, ISO 8601 UTC. Default: the newest element epoch.")] = None,
    duration: Annotated[str, typer.Option(help="Length of the window, e.g. 10m, 24h.")] = "10m",
    step: Annotated[str, typer.Option(help="Time step, e.g. 1s, 100ms.")] = "1s",
    isl: Annotated[str | None, typer.Option(
        help="plus-grid, none, or a FILE of satellite index pairs (0-based, elements order). "
        "Default: +Grid when planes are known or can be inferred, else none.")] = None,
    min_elevation: Annotated[float | None, typer.Option(
        help="Minimum elevation of a ground link, degrees (default 25).")] = None,
    max_gsl_range: Annotated[str | None, typer.Option(
        help="Maximum ground-link length instead of an elevation, e.g. 1089.686km.")] = None,
    max_isl_range: Annotated[str | None, typer.Option(
        help="Maximum ISL length, e.g. 5016.591km (default: line of sight only).")] = None,
    grazing_altitude: Annotated[str, typer.Option(
        help="Lowest altitude an ISL line of sight may pass, e.g. 80km.")] = "80km",
    relay: Annotated[bool, typer.Option(
        "--relay", help="Let routes relay through ground stations.")] = False,
    workers: Annotated[int, typer.Option(help="Worker processes for long windows.")] = 1,
    scheduler: Annotated[str | None, typer.Option(
        help="Run the chunks on a Dask cluster at tcp://HOST:PORT.")] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write the rows to FILE (.csv or .parquet).")] = None,
    skip_invalid: Annotated[bool, typer.Option(
        "--skip-invalid", help="Skip malformed records (listed on stderr) instead of failing.")
    ] = False,
) -> None:
    """Round-trip time, hops and path between station pairs over time."""
    from orbemu.distributed import LatencyJob, iter_latency_chunks
    from orbemu.io.ground import load_ground_nodes
    from orbemu.io.isl_pairs import load_isl_pairs
    from orbemu.io.latency_tables import LatencyWriter
    from orbemu.network.analysis import LatencySeries, summarize
    from orbemu.network.simulation import NetworkConfig, NetworkSimulation

    # ---- check every option before any long work -----------------------------------------------
    duration_ns = parse_duration_ns(duration, field="--duration")
    step_ns = parse_duration_ns(step, field="--step")
    if step_ns <= 0:
        raise InputError("step must be positive", field="--step", text=step, fix="E.g. --step 1s")
    if min_elevation is not None and max_gsl_range is not None:
        raise InputError("give either --min-elevation or --max-gsl-range, not both",
                         field="--max-gsl-range",
                         fix="--min-elevation DEG for an elevation rule, --max-gsl-range DIST "
                         "for a range rule (Hypatia's)")
    if min_elevation is not None and not -90.0 <= min_elevation <= 90.0:
        raise InputError(f"minimum elevation {min_elevation}° is outside [-90, 90]",
                         field="--min-elevation", fix="E.g. --min-elevation 25")
    gsl_range_m = _distance(max_gsl_range, "--max-gsl-range")
    isl_range_m = _distance(max_isl_range, "--max-isl-range")
    grazing_m = parse_distance_m(grazing_altitude, field="--grazing-altitude")
    if workers < 1:
        raise InputError(f"--workers must be at least 1, got {workers}", field="--workers")
    if scheduler is not None and not scheduler.startswith(("tcp://", "tls://", "inproc://")):
        raise InputError(f"{scheduler!r} is not a Dask scheduler address", field="--scheduler",
                         fix="Write tcp://HOST:PORT, e.g. --scheduler tcp://10.0.0.5:8786")
    if output is not None:
        _output_kind(output, (".csv", ".parquet"))
    if not pair:
        raise InputError("no --pair given", field="--pair", fix=_PAIR_FIX)

    sats = _load_elements(elements, skip_invalid)
    all_stations = load_ground_nodes(stations, errors="skip" if skip_invalid else "raise")
    _report_rejections(all_stations.rejections, "station rows")
    pairs_all = resolve_pairs(pair, all_stations.names)
    used = np.unique(pairs_all)
    ground = all_stations.select(used)
    pairs = np.searchsorted(used, pairs_all)
    mode: str = "auto"
    isl_pairs = None
    if isl is not None:
        low = isl.strip().lower()
        if low in ("plus-grid", "plusgrid", "+grid", "grid"):
            mode = "plus-grid"
        elif low in ("none", "bent-pipe"):
            mode = "none"
        elif Path(isl).exists():
            mode = "pairs"
            isl_pairs = load_isl_pairs(isl, n_sats=len(sats))
        else:
            raise InputError(f"--isl {isl!r} is neither plus-grid, none nor an existing file",
                             field="--isl", fix="Use --isl plus-grid, --isl none or --isl "
                             "FILE (two 0-based satellite indices per line)")
    config = NetworkConfig(
        isl=mode,  # type: ignore[arg-type]
        isl_pairs=isl_pairs, min_elevation_deg=min_elevation, max_gsl_range_m=gsl_range_m,
        max_isl_range_m=isl_range_m if isl_range_m is not None else math.inf,
        grazing_alt_m=grazing_m, relay=relay)
    t0, why = _start_time(start, sats)
    times = Time.range(t0, duration_ns, step_ns)
    sim = NetworkSimulation(sats, ground, config, at=t0)
    stream = sim.position_stream(times)
    where = (f"Dask at {scheduler}" if scheduler else
             f"{workers} worker processes" if workers > 1 else "this process")
    _info(f"latency: {_plural(len(sats), 'satellite')} from {sats.source} · "
          f"{_plural(len(pairs), 'pair')} of {_plural(len(ground), 'station')} from "
          f"{all_stations.source or stations}")
    _info(f"  window: start {t0.iso('s')}{why} · duration {format_duration_ns(duration_ns)} · "
          f"step {format_duration_ns(step_ns)} ({times.size} instants) · on {where}")
    for line in sim.describe():
        _info(f"  {line}")
    _info(f"  positions: {stream.describe}")

    job = LatencyJob.create(sats, ground, config, times, pairs, simulation=sim)
    clock = _time.perf_counter()
    light: list[LatencySeries] = []
    writer = LatencyWriter(output, ground.names) if output is not None else None
    try:
        with _progress("routing", times.size) as update:
            for part in iter_latency_chunks(job, times, workers=workers, scheduler=scheduler,
                                            progress=update):
                if writer is not None:
                    writer.write(part)
                light.append(part.without_paths())
    finally:
        if writer is not None:
            writer.close()
    took = _time.perf_counter() - clock
    series = LatencySeries.concat(light)
    _print_summary(series, summarize(series, ground), ground.names)
    if output is not None and writer is not None:
        _out().print(f"wrote {output} ({writer.rows} rows, {_size(output)}) in {took:.2f} s",
                     markup=False)
    else:
        _out().print(f"{times.size} instants × {len(pairs)} pairs in {took:.2f} s (no --output: "
                     "summary only)", markup=False)


def _fmt(value: float, spec: str = ".2f") -> str:
    return "—" if not np.isfinite(value) else format(value, spec)


def _print_summary(series: Any, summary: Any, names: Any) -> None:
    table = Table(title=f"per pair over {series.n_steps} instants (RTT in ms; fiber: great "
                  "circle at 2/3 c)", title_justify="left")
    for col, justify in (("pair", "left"), ("avail", "right"), ("min", "right"),
                         ("p50", "right"), ("p95", "right"), ("max", "right"),
                         ("changes", "right"), ("handovers", "right"),
                         ("km", "right"), ("fiber", "right"), ("×fiber", "right")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for i in range(len(summary)):
        table.add_row(
            f"{names[summary.src[i]]} → {names[summary.dst[i]]}",
            f"{summary.availability[i] * 100:.1f}%",
            _fmt(summary.rtt_min_ms[i]), _fmt(summary.rtt_p50_ms[i]),
            _fmt(summary.rtt_p95_ms[i]), _fmt(summary.rtt_max_ms[i]),
            str(int(summary.path_changes[i])), str(int(summary.handovers[i])),
            f"{summary.great_circle_km[i]:,.0f}", _fmt(summary.fiber_rtt_ms[i]),
            _fmt(summary.stretch[i], ".2f"))
    _out().print(table)
