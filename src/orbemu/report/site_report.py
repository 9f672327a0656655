"""The remote-site connectivity report: figures, tables and one self-contained HTML page.

:func:`write_site_report` takes a :class:`~orbemu.network.site.SiteSeries` and its
:class:`~orbemu.network.site.SitePlan` and writes into a folder:

- ``report.html`` — one page, figures embedded as base64 PNG (works offline, alone);
- ``rtt-<site>.png`` — round-trip time over time per destination, outages shaded;
- ``rtt-cdf-<site>.png`` — distribution of the RTT, with the fiber-only reference;
- ``gateways-<site>-<destination>.png`` — exit gateway over time (the most used ones);
- ``map.png`` — the sites, the gateways used (by share), the PoPs and the destinations;
- ``series.csv`` — every instant of every flow: ``time_utc,site,destination,reachable,rtt_ms,
  space_rtt_ms,ground_rtt_ms,gateway,pop,hops,to_site_mbps,from_site_mbps,path``;
- ``summary.csv``, ``outages.csv`` (``site,destination,start_utc,end_utc,duration_s``) and
  ``gateways.csv`` (``site,destination,gateway,pop,share``).

Every figure in the page is computed here from the series (:func:`~orbemu.network.site.
summarize_site`, :func:`~orbemu.network.site.outage_windows`,
:func:`~orbemu.network.site.gateway_usage`); table cells carry the exact value in
``data-value``.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from orbemu.constants import NS_PER_S
from orbemu.network.site import (
    SitePlan,
    SiteSeries,
    SiteSummary,
    gateway_usage,
    outage_windows,
    path_capacity,
    summarize_site,
)
from orbemu.report.html import Cell, HtmlPage, fmt
from orbemu.report.plots import new_figure, world_axes
from orbemu.time import Time
from orbemu.units import format_duration_ns

__all__ = ["SiteReport", "write_site_report"]

_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
            "#7f7f7f", "#bcbd22", "#17becf"]
#: Gateways drawn by name in a usage-over-time figure (the rest are "other").
_TOP_GATEWAYS = 10
#: Rows of an outage table in the page (outages.csv has them all).
_MAX_OUTAGE_ROWS = 50


@dataclass
class SiteReport:
    """What :func:`write_site_report` wrote: ``html``, ``figures`` and ``tables`` (paths), and
    the ``summary`` the page shows."""

    html: Path
    summary: SiteSummary
    figures: list[Path] = field(default_factory=list)
    tables: list[Path] = field(default_factory=list)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-") or "x"


def _unique_slugs(names: Sequence[str]) -> list[str]:
    """File-name slugs, one per name, made distinct (``a-b``, ``a-b-2``) when two names
    slugify alike."""
    out: list[str] = []
    seen: set[str] = set()
    for name in names:
        base = slug = _slug(name)
        k = 2
        while slug in seen:
            slug, k = f"{base}-{k}", k + 1
        seen.add(slug)
        out.append(slug)
    return out


def _iso(ns: Any) -> str:
    return str(Time(int(ns)).iso("s"))


def _hours(series: SiteSeries) -> npt.NDArray[np.float64]:
    return (series.times.ns - series.times.ns[0]) / (3600.0 * NS_PER_S)


def _mbps(bps: float) -> float:
    return bps / 1e6


# ---- figures ---------------------------------------------------------------------------------


def _rtt_figure(series: SiteSeries, plan: SitePlan, summary: SiteSummary, site: int,
                path: Path) -> Path:
    fig = new_figure(11, 4.2)
    ax = fig.add_subplot(1, 1, 1)
    h = _hours(series)
    flows = [site * plan.n_dest + d for d in range(plan.n_dest)]
    for k, f in enumerate(flows):
        ax.plot(h, series.column("rtt_ms", f), color=_COLOURS[k % len(_COLOURS)], linewidth=1.0,
                label=f"{plan.dest_names[f % plan.n_dest]} (p50 {fmt(summary.rtt_p50_ms[f])} ms)")
    starts, ends = outage_windows(series.times.ns, series.column("reachable", flows[0]),
                                  summary.step_ns)
    t0 = series.times.ns[0]
    for i, (a, b) in enumerate(zip(starts, ends, strict=True)):
        ax.axvspan((a - t0) / 3.6e12, (b - t0) / 3.6e12, color="#d62728", alpha=0.18,
                   linewidth=0, label="outage (no path)" if i == 0 else None)
    ax.set_xlabel(f"hours since {_iso(t0)}")
    ax.set_ylabel("round-trip time (ms)")
    ax.set_title(f"{plan.site_names[site]}: RTT to each destination (space + fiber, "
                 "propagation only)", fontsize=10)
    ax.grid(True, color="#dddddd", linewidth=0.6)
    ax.set_xlim(0, max(float(h[-1]) + summary.step_ns / 3.6e12, 1e-6))
    ax.legend(fontsize=8, loc="upper right", framealpha=0.9)
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path


def _cdf_figure(series: SiteSeries, plan: SitePlan, summary: SiteSummary, site: int,
                path: Path) -> Path:
    fig = new_figure(7.5, 4.2)
    ax = fig.add_subplot(1, 1, 1)
    for d in range(plan.n_dest):
        f = site * plan.n_dest + d
        colour = _COLOURS[d % len(_COLOURS)]
        rtt = series.column("rtt_ms", f)
        rtt = np.sort(rtt[np.isfinite(rtt)])
        if rtt.size:
            y = np.arange(1, rtt.size + 1) / rtt.size
            ax.step(rtt, y, where="post", color=colour, linewidth=1.2,
                    label=str(plan.dest_names[d]))
        ax.axvline(summary.direct_fiber_rtt_ms[f], color=colour, linestyle=":", linewidth=1.0)
    ax.set_xlabel("round-trip time (ms)")
    ax.set_ylabel("share of connected instants")
    ax.set_ylim(0, 1.02)
    ax.set_title(f"{plan.site_names[site]}: RTT distribution (dotted: the same trip over "
                 "fiber only)", fontsize=10)
    ax.grid(True, color="#dddddd", linewidth=0.6)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path


def _gateway_figure(series: SiteSeries, plan: SitePlan, flow: int, path: Path) -> Path:
    ids, shares = gateway_usage(series, flow)
    top = ids[:_TOP_GATEWAYS]
    gw = series.column("gateway", flow)
    h = _hours(series)
    rows = len(top) + (1 if ids.size > len(top) else 0) + 1
    fig = new_figure(11, 1.2 + 0.32 * rows)
    ax = fig.add_subplot(1, 1, 1)
    labels = ["no path"]
    lost = gw < 0
    if lost.any():
        ax.scatter(h[lost], np.zeros(lost.sum()), marker="x", s=14, color="#d62728")
    for k, g in enumerate(top):
        on = gw == g
        ax.scatter(h[on], np.full(on.sum(), k + 1), marker="|", s=60,
                   color=_COLOURS[k % len(_COLOURS)])
        labels.append(f"{plan.gateway_names[g]} ({shares[k] * 100:.0f}%)")
    if ids.size > len(top):
        other = (gw >= 0) & ~np.isin(gw, top)
        ax.scatter(h[other], np.full(other.sum(), len(top) + 1), marker="|", s=60,
                   color="#7f7f7f")
        labels.append(f"{ids.size - len(top)} other gateways "
                      f"({shares[len(top):].sum() * 100:.0f}%)")
    ax.set_yticks(np.arange(len(labels)))
    ax.set_yticklabels(labels, fontsize=7)
    ax.set_ylim(-0.7, len(labels) - 0.3)
    ax.invert_yaxis()  # the most used gateway on top
    ax.set_xlabel(f"hours since {_iso(series.times.ns[0])}")
    ax.set_title(f"Exit gateway over time: {plan.flow_label(flow)}", fontsize=10)
    ax.grid(True, axis="x", color="#dddddd", linewidth=0.6)
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path


def _map_extent(lon: npt.NDArray[np.float64], lat: npt.NDArray[np.float64]
                ) -> tuple[float, float, float, float] | None:
    lo0, lo1 = float(lon.min()) - 12, float(lon.max()) + 12
    la0, la1 = float(lat.min()) - 8, float(lat.max()) + 8
    if lo1 - lo0 > 220 or la1 - la0 > 140:
        return None
    if lo1 - lo0 < 60:
        c = (lo0 + lo1) / 2
        lo0, lo1 = c - 30, c + 30
    if la1 - la0 < 35:
        c = (la0 + la1) / 2
        la0, la1 = c - 17.5, c + 17.5
    # keep the frame roughly 2:1 so the map is not a sliver
    if (lo1 - lo0) < 1.6 * (la1 - la0):
        c, half = (lo0 + lo1) / 2, 0.8 * (la1 - la0)
        lo0, lo1 = c - half, c + half
    return (max(lo0, -180.0), min(lo1, 180.0), max(la0, -90.0), min(la1, 90.0))


def _map_figure(series: SiteSeries, plan: SitePlan, path: Path) -> Path:
    share = np.zeros(plan.n_gateways)
    top_of_flow = []
    for f in range(series.n_flows):
        ids, sh = gateway_usage(series, f)
        share[ids] = np.maximum(share[ids], sh)
        top_of_flow.append(int(ids[0]) if ids.size else -1)
    used = np.flatnonzero(share > 0)
    pops_used = np.unique(plan.exit_pop[:, used]) if used.size else np.zeros(0, np.int64)
    pops_used = pops_used[pops_used >= 0]
    lon = np.concatenate([plan.site_lon_deg, plan.gateway_lon_deg[used], plan.dest_lon_deg,
                          plan.pop_lon_deg[pops_used]])
    lat = np.concatenate([plan.site_lat_deg, plan.gateway_lat_deg[used], plan.dest_lat_deg,
                          plan.pop_lat_deg[pops_used]])
    extent = _map_extent(lon, lat)
    fig = new_figure(11, 6.2)
    ax = world_axes(fig, extent=extent)
    ax.scatter(plan.gateway_lon_deg, plan.gateway_lat_deg, s=5, color="#8a96a3", zorder=3,
               label=f"gateways ({plan.n_gateways})")
    for f, g in enumerate(top_of_flow):
        if g < 0:
            continue
        s, d = divmod(f, plan.n_dest)
        pts = [(plan.site_lon_deg[s], plan.site_lat_deg[s]),
               (plan.gateway_lon_deg[g], plan.gateway_lat_deg[g])]
        ax.plot([x for x, _ in pts], [y for _, y in pts], color="#1f77b4", linewidth=0.9,
                alpha=0.8, zorder=4)
        p = plan.exit_pop[s, g]
        ground = [pts[1]] + ([(plan.pop_lon_deg[p], plan.pop_lat_deg[p])] if p >= 0 else []) \
            + [(plan.dest_lon_deg[d], plan.dest_lat_deg[d])]
        ax.plot([x for x, _ in ground], [y for _, y in ground], color="#444444", linewidth=0.8,
                linestyle="--", alpha=0.7, zorder=4)
    if used.size:
        ax.scatter(plan.gateway_lon_deg[used], plan.gateway_lat_deg[used],
                   s=20 + 180 * share[used], color="#1f77b4", edgecolors="white",
                   linewidths=0.6, zorder=5, label="exit gateways (size: share)")
    if pops_used.size:
        ax.scatter(plan.pop_lon_deg[pops_used], plan.pop_lat_deg[pops_used], marker="^", s=70,
                   color="#2ca02c", edgecolors="black", linewidths=0.5, zorder=6,
                   label="points of presence")
        for p in pops_used:
            ax.annotate(str(plan.pop_names[p]).split(" - ")[0],
                        (plan.pop_lon_deg[p], plan.pop_lat_deg[p]), textcoords="offset points",
                        xytext=(5, -10), fontsize=7, zorder=7, color="#1e6b1e")
    ax.scatter(plan.dest_lon_deg, plan.dest_lat_deg, marker="s", s=50, color="black", zorder=6,
               label="destinations")
    for d in range(plan.n_dest):
        ax.annotate(str(plan.dest_names[d]), (plan.dest_lon_deg[d], plan.dest_lat_deg[d]),
                    textcoords="offset points", xytext=(5, 4), fontsize=8, zorder=7)
    ax.scatter(plan.site_lon_deg, plan.site_lat_deg, marker="*", s=220, color="#d62728",
               edgecolors="black", linewidths=0.6, zorder=7, label="sites")
    for s in range(plan.n_sites):
        ax.annotate(str(plan.site_names[s]), (plan.site_lon_deg[s], plan.site_lat_deg[s]),
                    textcoords="offset points", xytext=(7, 5), fontsize=9, weight="bold",
                    zorder=8)
    ax.set_title("Sites, exit gateways (most used per destination: solid to the site, dashed "
                 "fiber onward) and destinations", fontsize=10)
    ax.legend(fontsize=7, loc="lower left", framealpha=0.9)
    ax.annotate("Land: Natural Earth", (0.995, 0.005), xycoords="axes fraction", ha="right",
                va="bottom", fontsize=6, color="#666666")
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path


# ---- tables ----------------------------------------------------------------------------------


def _write_csv(path: Path, header: Sequence[str], rows: Any) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    return path


def _num(x: float, digits: int = 4) -> str:
    return "" if not np.isfinite(x) else f"{x:.{digits}f}"


def _series_rows(series: SiteSeries, plan: SitePlan, ground_names: Any,
                 to_site: Any, from_site: Any) -> Any:
    iso = Time(series.times.ns).iso("ms")
    labels = series.path_labels(ground_names)
    flow_site, flow_dest = plan.flow_site(), plan.flow_dest()
    nf = series.n_flows
    for i in range(len(series)):
        k, f = divmod(i, nf)
        g = int(series.gateway[i])
        s = flow_site[f]
        pop = plan.exit_pop[s, g] if g >= 0 else -1
        yield (iso[k], plan.site_names[s], plan.dest_names[flow_dest[f]],
               int(series.reachable[i]), _num(series.rtt_ms[i]), _num(series.space_rtt_ms[i]),
               _num(series.ground_rtt_ms[i]), plan.gateway_names[g] if g >= 0 else "",
               plan.pop_names[pop] if pop >= 0 else "",
               int(series.hops[i]) if g >= 0 else "", _num(to_site[i] / 1e6, 3),
               _num(from_site[i] / 1e6, 3), labels[i])


SUMMARY_COLUMNS = (
    "site", "destination", "availability", "rtt_p50_ms", "rtt_p90_ms", "rtt_p99_ms",
    "rtt_min_ms", "rtt_max_ms", "rtt_mean_ms", "space_rtt_p50_ms", "ground_rtt_p50_ms",
    "direct_fiber_rtt_ms", "outages", "outage_s", "longest_outage_s", "handovers_per_h",
    "path_changes_per_h", "gateway_changes_per_h", "to_site_p50_mbps", "to_site_min_mbps",
    "from_site_p50_mbps", "from_site_min_mbps")


def _exact(v: Any) -> str:
    """Shortest exact text of a number (integers as integers); empty for NaN and inf."""
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return repr(float(v)) if np.isfinite(v) else ""


def _summary_values(summary: SiteSummary, f: int) -> list[float]:
    return [summary.availability[f], summary.rtt_p50_ms[f], summary.rtt_p90_ms[f],
            summary.rtt_p99_ms[f], summary.rtt_min_ms[f], summary.rtt_max_ms[f],
            summary.rtt_mean_ms[f], summary.space_rtt_p50_ms[f], summary.ground_rtt_p50_ms[f],
            summary.direct_fiber_rtt_ms[f], summary.outages[f], summary.outage_s[f],
            summary.longest_outage_s[f], summary.handovers_per_h[f],
            summary.path_changes_per_h[f], summary.gateway_changes_per_h[f],
            _mbps(summary.to_site_p50_bps[f]), _mbps(summary.to_site_min_bps[f]),
            _mbps(summary.from_site_p50_bps[f]), _mbps(summary.from_site_min_bps[f])]


# ---- the page --------------------------------------------------------------------------------


def write_site_report(
    out_dir: str | Path,
    series: SiteSeries,
    plan: SitePlan,
    *,
    ground_names: Any,
    parameters: Sequence[tuple[str, str]] = (),
    model_notes: Sequence[str] = (),
    attributions: Sequence[str] = (),
    embed: bool = True,
    max_flow_figures: int = 12,
    max_site_figures: int = 20,
    series_csv: bool = True,
) -> SiteReport:
    """Write the report of ``series`` into ``out_dir`` (created); returns what was written.

    ``ground_names``: names of the simulation's ground nodes (for path text). ``parameters``:
    (name, value) lines describing the run (elements, window, ...); ``model_notes``: how the
    network was modelled (e.g. the simulation's ``describe()``); ``attributions``: credit
    lines of the data used. ``embed``: figures inside the page (default) or linked beside it.
    ``max_flow_figures`` / ``max_site_figures``: per-flow gateway figures and per-site RTT
    figures beyond these many are left out (the tables have every flow).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary = summarize_site(series, plan)
    if plan.budgets.configured:
        to_site, from_site = path_capacity(series, plan)
    else:
        to_site = from_site = np.full(len(series), np.nan)
    report = SiteReport(html=out / "report.html", summary=summary)
    t0, step = int(series.times.ns[0]), summary.step_ns

    # tables
    if series_csv:
        report.tables.append(_write_csv(out / "series.csv", (
            "time_utc", "site", "destination", "reachable", "rtt_ms", "space_rtt_ms",
            "ground_rtt_ms", "gateway", "pop", "hops", "to_site_mbps", "from_site_mbps", "path"),
            _series_rows(series, plan, ground_names, to_site, from_site)))
    flows = range(series.n_flows)
    names = [(plan.site_names[f // plan.n_dest], plan.dest_names[f % plan.n_dest]) for f in flows]
    report.tables.append(_write_csv(out / "summary.csv", SUMMARY_COLUMNS, (
        [*names[f], *(_exact(v) for v in _summary_values(summary, f))] for f in flows)))
    windows = [outage_windows(series.times.ns, series.column("reachable", f), step)
               for f in flows]
    report.tables.append(_write_csv(out / "outages.csv", (
        "site", "destination", "start_utc", "end_utc", "duration_s"), (
        (*names[f], _iso(a), _iso(b), f"{(b - a) / NS_PER_S:g}")
        for f in flows for a, b in zip(*windows[f], strict=True))))
    usage = [gateway_usage(series, f) for f in flows]

    def pop_of(f: int, g: int) -> str:
        p = plan.exit_pop[f // plan.n_dest, g]
        return str(plan.pop_names[p]) if p >= 0 else ""

    report.tables.append(_write_csv(out / "gateways.csv", (
        "site", "destination", "gateway", "pop", "share"), (
        (*names[f], plan.gateway_names[g], pop_of(f, g), f"{s:.6f}")
        for f in flows for g, s in zip(*usage[f], strict=True))))

    # figures
    site_slugs = _unique_slugs([str(n) for n in plan.site_names])
    flow_slugs = _unique_slugs([f"{a}-{b}" for a, b in names])
    site_figs: set[int] = set()
    for s in range(min(plan.n_sites, max_site_figures)):
        slug = site_slugs[s]
        report.figures.append(_rtt_figure(series, plan, summary, s, out / f"rtt-{slug}.png"))
        report.figures.append(_cdf_figure(series, plan, summary, s, out / f"rtt-cdf-{slug}.png"))
        site_figs.add(s)
    gateway_figs: dict[int, Path] = {}
    for f in list(flows)[:max_flow_figures]:
        gateway_figs[f] = _gateway_figure(series, plan, f, out / f"gateways-{flow_slugs[f]}.png")
        report.figures.append(gateway_figs[f])
    map_png = _map_figure(series, plan, out / "map.png")
    report.figures.append(map_png)

    # the page
    sites = ", ".join(map(str, plan.site_names))
    dests = ", ".join(map(str, plan.dest_names))
    span = (f"{_iso(t0)} + {format_duration_ns(series.n_steps * step)} "
            f"({series.n_steps} instants every {format_duration_ns(step)})")
    page = HtmlPage(f"Remote-site connectivity: {sites}", f"{sites} → {dests} · {span}")
    page.heading("Summary")
    page.note("RTT = round trip over the constellation to the exit gateway plus terrestrial "
              "fiber to the destination, propagation only (no queueing or processing). "
              "Percentiles over the instants with a path. Fiber-only: the same trip if the "
              "site were on fiber (geodesic × detour at 2/3 c). Rates per hour of window.")
    page.table(
        ["site → destination", "available", "p50 ms", "p90 ms", "p99 ms", "min ms", "max ms",
         "space p50 ms", "fiber p50 ms", "fiber-only ms"],
        ([plan.flow_label(f), Cell(summary.availability[f], f"{summary.availability[f]:.2%}"),
          Cell(summary.rtt_p50_ms[f]), Cell(summary.rtt_p90_ms[f]), Cell(summary.rtt_p99_ms[f]),
          Cell(summary.rtt_min_ms[f]), Cell(summary.rtt_max_ms[f]),
          Cell(summary.space_rtt_p50_ms[f]), Cell(summary.ground_rtt_p50_ms[f]),
          Cell(summary.direct_fiber_rtt_ms[f])] for f in flows),
        caption="Availability and round-trip time", table_id="latency")
    page.table(
        ["site → destination", "outages", "outage time", "longest", "handovers /h",
         "path changes /h", "gateway changes /h", "to site p50 Mbit/s", "to site min Mbit/s",
         "from site p50 Mbit/s", "from site min Mbit/s"],
        ([plan.flow_label(f), Cell(summary.outages[f], spec="d"),
          Cell(summary.outage_s[f], format_duration_ns(int(summary.outage_s[f] * NS_PER_S))),
          Cell(summary.longest_outage_s[f],
               format_duration_ns(int(summary.longest_outage_s[f] * NS_PER_S))),
          Cell(summary.handovers_per_h[f]), Cell(summary.path_changes_per_h[f]),
          Cell(summary.gateway_changes_per_h[f]),
          Cell(_mbps(summary.to_site_p50_bps[f]), spec=".0f"),
          Cell(_mbps(summary.to_site_min_bps[f]), spec=".0f"),
          Cell(_mbps(summary.from_site_p50_bps[f]), spec=".0f"),
          Cell(_mbps(summary.from_site_min_bps[f]), spec=".0f")] for f in flows),
        caption="Outages, changes and capacity (bottleneck of the link budgets on the path)",
        table_id="stability")
    page.heading("Run")
    page.key_values([*parameters, ("window", span)])
    page.heading("How the path is modelled")
    page.bullets(["site → satellites (ISLs or bent pipe) → exit gateway → terrestrial fiber "
                  "[→ PoP] → destination", *plan.describe(), *model_notes])
    for s in range(plan.n_sites):
        page.heading(f"{plan.site_names[s]}")
        slug = site_slugs[s]
        if s in site_figs:
            page.figure(out / f"rtt-{slug}.png", "Round-trip time over time; outages shaded",
                        embed=embed)
            page.figure(out / f"rtt-cdf-{slug}.png", "RTT distribution", embed=embed)
        for d in range(plan.n_dest):
            f = s * plan.n_dest + d
            page.heading(plan.flow_label(f), level=3)
            a, b = windows[f]
            if a.size:
                shown = min(a.size, _MAX_OUTAGE_ROWS)
                page.table(["start (UTC)", "end (UTC)", "duration"], (
                    [_iso(a[i]), _iso(b[i]), Cell((b[i] - a[i]) / NS_PER_S,
                                                  format_duration_ns(int(b[i] - a[i])))]
                    for i in range(shown)),
                    caption=f"{a.size} outage{'s' if a.size != 1 else ''}"
                    + (f" (first {shown}; outages.csv has all)" if a.size > shown else ""),
                    table_id=f"outages-{f}")
            else:
                page.note("No outage: a path existed at every instant.")
            ids, shares = usage[f]
            page.table(["exit gateway", "via PoP", "share of connected instants"], (
                [plan.gateway_names[g], pop_of(f, g), Cell(sh, f"{sh:.1%}")]
                for g, sh in zip(ids[:_TOP_GATEWAYS], shares[:_TOP_GATEWAYS], strict=True)),
                caption=f"{ids.size} gateway{'s' if ids.size != 1 else ''} used"
                + (" (top 10; gateways.csv has all)" if ids.size > _TOP_GATEWAYS else ""),
                table_id=f"gateways-{f}")
            if f in gateway_figs:
                page.figure(gateway_figs[f], "Exit gateway over time", embed=embed)
    page.heading("Map")
    page.figure(map_png, "Sites, gateways used, PoPs and destinations", embed=embed)
    page.heading("Files")
    page.bullets([p.name for p in report.tables] + [p.name for p in report.figures])
    if attributions:
        page.heading("Data")
        page.bullets([*attributions, "Land outlines: Natural Earth (public domain)"])
    page.write(report.html)
    return report
