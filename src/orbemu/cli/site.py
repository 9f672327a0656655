"""``orbemu site``: remote-site connectivity to cloud regions over a constellation, as a report.

::

    orbemu site (--site NAME:LAT,LON[,ALT_M] ... | --sites FILE|NAME)
        --destination NAME|NAME:LAT,LON[,ALT_M] ... --out DIR
        [--gateways NAME|FILE] [--pops NAME|FILE|none] [--exit home-pop|gateway-pop|any-gateway]
        [--pop NAME] [--detour FACTOR] [--elements NAME|FILE] [--start ISO] [--duration DUR]
        [--step DUR] [--isl plus-grid|none] [--min-elevation DEG] [--capacity budgets|none]
        [--workers N] [--scheduler ADDR]

A destination ``NAME`` is a bundled cloud region (``aws-us-east-1``, ``gcp-europe-west4``,
``azure-westeurope``: ``orbemu data`` lists the ``cloud-regions`` set); ``NAME:LAT,LON`` is any
point. The path model (exit policies, fiber detour, capacities) is
:mod:`orbemu.network.site`'s; the report (HTML + PNG + CSV) is
:mod:`orbemu.report.site_report`'s. Choices and defaults go to stderr at the start, a summary
table to stdout at the end. Registered on the app of :mod:`orbemu.cli.main`.
"""

from __future__ import annotations

import difflib
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
    _plural,
    _progress,
    _report_rejections,
    _start_time,
)
from orbemu.errors import InputError, OrbemuError
from orbemu.time import Time
from orbemu.units import format_duration_ns, parse_duration_ns

__all__ = ["resolve_destinations", "site_cmd"]

_DEST_FIX = ("Give a cloud region (e.g. aws-us-east-1, gcp-europe-west4, azure-westeurope; "
             "`orbemu data` lists cloud-regions) or NAME:LAT,LON[,ALT_M]")


def resolve_destinations(specs: list[str]) -> Any:
    """``--destination`` values → :class:`GroundNodes` (role ``cloud``): bundled cloud-region
    names (any case) or ``NAME:LAT,LON[,ALT_M]`` points."""
    from orbemu.io.ground import load_ground_nodes, parse_station_spec
    from orbemu.orbits.ground_nodes import GroundNodes

    regions = load_ground_nodes("cloud-regions")
    folded = {str(n).casefold(): i for i, n in enumerate(regions.names)}
    parts = []
    for spec in specs:
        text = spec.strip()
        k = folded.get(text.casefold())
        if k is not None:
            parts.append(regions.select([k]))
            continue
        if ":" in text and "," in text.rpartition(":")[2]:
            node = parse_station_spec(text)
            parts.append(GroundNodes.from_arrays(node.names, node.lat_deg, node.lon_deg,
                                                 node.alt_m, roles="cloud", source="--destination"))
            continue
        close = difflib.get_close_matches(text.lower(), list(folded), n=3, cutoff=0.6)
        hint = f" Did you mean {' or '.join(close)}?" if close else ""
        raise InputError(f"{text!r} is not a bundled cloud region nor NAME:LAT,LON.{hint}",
                         field="--destination", fix=_DEST_FIX)
    if not parts:
        raise InputError("no --destination given", field="--destination", fix=_DEST_FIX)
    dest = GroundNodes.concat(parts, source="--destination")
    _unique(dest.names, "--destination")
    return dest


def _unique(names: Any, option: str) -> None:
    seen: set[str] = set()
    for n in map(str, names):
        if n.casefold() in seen:
            raise InputError(f"{n!r} is given twice", field=option,
                             fix="Give each one once (names must differ)")
        seen.add(n.casefold())


def _load_sites(site: list[str] | None, sites: str | None, skip_invalid: bool) -> Any:
    from orbemu.io.ground import load_ground_nodes, parse_station_spec
    from orbemu.orbits.ground_nodes import GroundNodes

    parts = []
    if sites:
        listed = load_ground_nodes(sites, errors="skip" if skip_invalid else "raise",
                                   role="site")
        _report_rejections(listed.rejections, "site rows")
        parts.append(listed)
    for spec in site or []:
        node = parse_station_spec(spec)
        parts.append(GroundNodes.from_arrays(node.names, node.lat_deg, node.lon_deg, node.alt_m,
                                             roles="site", source="--site"))
    if not parts:
        raise InputError("no site given", field="--site",
                         fix="Add --site NAME:LAT,LON[,ALT_M] (e.g. --site "
                         "escondida:-24.27,-69.07,3100) or --sites FILE|remote-sites")
    out = GroundNodes.concat(parts)
    _unique(out.names, "--site")
    return out


@_command("site")
def site_cmd(
    out: Annotated[Path, typer.Option("--out", help="Folder for the report (created).")],
    destination: Annotated[list[str], typer.Option(
        help="A cloud region (aws-us-east-1, ...) or NAME:LAT,LON[,ALT_M]; repeatable.")],
    site: Annotated[list[str] | None, typer.Option(
        help="A remote site NAME:LAT,LON[,ALT_M] (degrees, metres); repeatable.")] = None,
    sites: Annotated[str | None, typer.Option(
        help="Sites from a file (CSV name,lat_deg,lon_deg[,alt_m]) or a bundled list "
        "(remote-sites).")] = None,
    gateways: Annotated[str, typer.Option(
        help="Gateways: a bundled list or a file.")] = "starlink-gateways",
    pops: Annotated[str | None, typer.Option(
        help="Points of presence: a bundled list, a file, or none. Default: starlink-pops "
        "with the Starlink gateways, else none.")] = None,
    exit_policy: Annotated[str | None, typer.Option(
        "--exit", help="home-pop (the site's PoP), gateway-pop (each gateway's PoP) or "
        "any-gateway (fiber from the gateway). Default: home-pop with PoPs.")] = None,
    pop: Annotated[str | None, typer.Option(
        help="Home every site to this PoP (home-pop) instead of its nearest.")] = None,
    detour: Annotated[float, typer.Option(
        help="Fiber route length over the geodesic.")] = 1.5,
    elements: Annotated[str, typer.Option(
        help="Element file or bundled set name.")] = "starlink",
    start: Annotated[str | None, typer.Option(
        help="First instant, ISO 8601 UTC. Default: the newest element epoch.")] = None,
    duration: Annotated[str, typer.Option(help="Length of the window, e.g. 6h, 2d.")] = "6h",
    step: Annotated[str, typer.Option(help="Time step, e.g. 10s.")] = "10s",
    isl: Annotated[str | None, typer.Option(
        help="plus-grid or none (bent pipe). Default: +Grid when planes are known or can be "
        "inferred.")] = None,
    min_elevation: Annotated[float | None, typer.Option(
        help="Minimum elevation of a ground link, degrees (default 25).")] = None,
    capacity: Annotated[str, typer.Option(
        help="budgets (capacity from illustrative Ku user / Ka gateway link budgets) or "
        "none.")] = "budgets",
    workers: Annotated[int, typer.Option(help="Worker processes for long windows.")] = 1,
    scheduler: Annotated[str | None, typer.Option(
        help="Run the chunks on a Dask cluster at tcp://HOST:PORT.")] = None,
    skip_invalid: Annotated[bool, typer.Option(
        "--skip-invalid", help="Skip malformed records (listed on stderr) instead of failing.")
    ] = False,
) -> None:
    """Connectivity of remote sites to cloud regions over a constellation: RTT, outages,
    handovers, gateways and capacity, as an HTML report with PNG figures and CSV tables."""
    from orbemu.distributed import SiteJob, iter_latency_chunks
    from orbemu.io.catalog import get_dataset
    from orbemu.io.ground import load_ground_nodes
    from orbemu.links.budget import OPTICAL_ISL
    from orbemu.network.simulation import NetworkConfig, NetworkSimulation
    from orbemu.network.site import EXIT_POLICIES, SiteLinkBudgets, SitePlan, SiteSeries
    from orbemu.orbits.ground_nodes import GroundNodes
    from orbemu.report.site_report import write_site_report

    # ---- every option checked before any long work ----------------------------------------------
    duration_ns = parse_duration_ns(duration, field="--duration")
    step_ns = parse_duration_ns(step, field="--step")
    if step_ns <= 0:
        raise InputError("step must be positive", field="--step", text=step, fix="E.g. --step 10s")
    if duration_ns <= 0:
        raise InputError("duration must be positive", field="--duration", text=duration,
                         fix="E.g. --duration 6h")
    if min_elevation is not None and not 0.0 <= min_elevation <= 90.0:
        raise InputError(f"minimum elevation {min_elevation}° is outside [0, 90]",
                         field="--min-elevation", fix="E.g. --min-elevation 25")
    if exit_policy is not None and exit_policy not in EXIT_POLICIES:
        raise InputError(f"unknown exit policy {exit_policy!r}", field="--exit",
                         fix=f"Use one of {', '.join(EXIT_POLICIES)}")
    if capacity not in ("budgets", "none"):
        raise InputError(f"--capacity {capacity!r}: expected budgets or none",
                         field="--capacity", fix="Use --capacity budgets or --capacity none")
    mode = "auto"
    if isl is not None:
        low = isl.strip().lower()
        if low in ("plus-grid", "plusgrid", "+grid", "grid"):
            mode = "plus-grid"
        elif low in ("none", "bent-pipe"):
            mode = "none"
        else:
            raise InputError(f"--isl {isl!r}: expected plus-grid or none", field="--isl",
                             fix="Use --isl plus-grid or --isl none (bent pipe)")
    if workers < 1:
        raise InputError(f"--workers must be at least 1, got {workers}", field="--workers")
    if scheduler is not None and not scheduler.startswith(("tcp://", "tls://", "inproc://")):
        raise InputError(f"{scheduler!r} is not a Dask scheduler address", field="--scheduler",
                         fix="Write tcp://HOST:PORT, e.g. --scheduler tcp://10.0.0.5:8786")
    if out.exists() and not out.is_dir():
        raise InputError(f"{str(out)!r} exists and is not a folder", field="--out",
                         fix="Give a folder for the report")
    site_nodes = _load_sites(site, sites, skip_invalid)
    dest = resolve_destinations(destination)
    gw = load_ground_nodes(gateways, errors="skip" if skip_invalid else "raise", role="gateway")
    _report_rejections(gw.rejections, "gateway rows")
    pop_source = pops if pops is not None else (
        "starlink-pops" if gateways.strip().lower() == "starlink-gateways" else "none")
    pop_nodes = None
    if pop_source.strip().lower() != "none":
        pop_nodes = load_ground_nodes(pop_source, errors="skip" if skip_invalid else "raise",
                                      role="pop")
        _report_rejections(pop_nodes.rejections, "PoP rows")
    sats = _load_elements(elements, skip_invalid)

    ground = GroundNodes.concat([site_nodes, gw], source="sites + gateways")
    n_sites = len(site_nodes)
    budgets = SiteLinkBudgets() if capacity == "budgets" else SiteLinkBudgets(None, None, None,
                                                                              None)
    plan = SitePlan.build(ground, np.arange(n_sites), np.arange(n_sites, len(ground)), dest,
                          pops=pop_nodes, policy=exit_policy,
                          home_pop=[pop] * n_sites if pop else None, detour_factor=detour,
                          budgets=budgets)
    config = NetworkConfig(isl=mode, min_elevation_deg=min_elevation,  # type: ignore[arg-type]
                           isl_capacity_bps=OPTICAL_ISL.rate_bps)
    t0, why = _start_time(start, sats)
    times = Time.range(t0, duration_ns, step_ns)
    sim = NetworkSimulation(sats, ground, config, at=t0)
    where = (f"Dask at {scheduler}" if scheduler else
             f"{workers} worker processes" if workers > 1 else "this process")

    def source_of(name: str, kind: str = "ground") -> str:
        try:
            return get_dataset(name, kind).attribution  # type: ignore[arg-type]
        except OrbemuError:  # a file of the user's: its credits are the user's to give
            return ""

    _info(f"site: {_plural(n_sites, 'site')} → {_plural(len(dest), 'destination')} over "
          f"{_plural(len(sats), 'satellite')} from {sats.source} · "
          f"{_plural(len(gw), 'gateway')} from {gw.source or gateways}"
          + (f" · {_plural(len(pop_nodes), 'PoP')} from {pop_nodes.source or pop_source}"
             if pop_nodes is not None else " · no PoPs"))
    _info(f"  window: start {t0.iso('s')}{why} · duration {format_duration_ns(duration_ns)} · "
          f"step {format_duration_ns(step_ns)} ({times.size} instants) · on {where}")
    model = [*sim.describe(), f"ISL capacity {OPTICAL_ISL.rate_bps / 1e9:g} Gbit/s "
             "(illustrative optical terminal)"]
    for line in model + plan.describe():
        _info(f"  {line}")

    job = SiteJob.for_plan(sats, ground, config, times, plan, simulation=sim)
    clock = _time.perf_counter()
    parts = []
    with _progress("routing", times.size) as update:
        for part in iter_latency_chunks(job, times, workers=workers, scheduler=scheduler,
                                        progress=update):
            parts.append(part)
    took = _time.perf_counter() - clock
    series = SiteSeries.concat(parts)
    attributions = [a for a in dict.fromkeys(
        [source_of(elements, "elements"), source_of(gateways), source_of(pop_source),
         source_of("cloud-regions"), source_of(sites or "")]) if a]
    parameters = [
        ("elements", f"{len(sats):,} satellites from {sats.source}"),
        ("gateways", f"{len(gw)} from {gw.source or gateways}"),
        ("points of presence", f"{len(pop_nodes)} from {pop_nodes.source or pop_source}"
         if pop_nodes is not None else "none"),
        ("sites", ", ".join(f"{n} ({la:.3f}°, {lo:.3f}°, {al:.0f} m)" for n, la, lo, al in zip(
            site_nodes.names, site_nodes.lat_deg, site_nodes.lon_deg, site_nodes.alt_m,
            strict=True))),
        ("destinations", ", ".join(map(str, dest.names))),
        ("computed", f"in {took:.1f} s on {where}"),
    ]
    report = write_site_report(out, series, plan, ground_names=ground.names,
                               parameters=parameters, model_notes=model,
                               attributions=attributions)
    _print_summary(report.summary, plan)
    _out().print(f"wrote {report.html} ({len(report.figures)} figures, "
                 f"{len(report.tables)} tables) · {times.size} instants × "
                 f"{_plural(plan.n_flows, 'flow')} in {took:.2f} s", markup=False)


def _fmt(value: float, spec: str = ".1f") -> str:
    return "—" if not np.isfinite(value) else format(value, spec)


def _print_summary(summary: Any, plan: Any) -> None:
    table = Table(title=f"per site → destination over {summary.n_steps} instants: RTT in ms "
                  "(propagation only; fiber = the same trip on fiber alone), outages, handovers "
                  "and gateway changes per hour, capacity down/up in Mbit/s (report.html has "
                  "more)", title_justify="left")
    for col in ("site → destination", "avail", "p50", "p99", "fiber", "outages", "ho/h",
                "gw/h", "Mbit/s"):
        left = col.startswith("site")
        table.add_column(col, justify="left" if left else "right", no_wrap=True)
    for f in range(len(summary)):
        table.add_row(
            plan.flow_label(f), f"{summary.availability[f] * 100:.1f}%",
            _fmt(summary.rtt_p50_ms[f]), _fmt(summary.rtt_p99_ms[f]),
            _fmt(summary.direct_fiber_rtt_ms[f]), str(int(summary.outages[f])),
            _fmt(summary.handovers_per_h[f], ".0f"), _fmt(summary.gateway_changes_per_h[f], ".0f"),
            f"{_fmt(summary.to_site_p50_bps[f] / 1e6, '.0f')}/"
            f"{_fmt(summary.from_site_p50_bps[f] / 1e6, '.0f')}")
    _out().print(table)
