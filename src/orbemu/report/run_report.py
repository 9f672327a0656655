"""The report of one run: ``report.html`` and PNG figures from a run folder's database.

:func:`write_run_report` opens ``RUN/telemetry.sqlite`` read-only
(:func:`orbemu.store.connect_readonly`) and writes ``RUN/report.html`` (one self-contained page,
figures embedded as base64 PNG) and the figures in ``RUN/report/``:

- ``power.png`` — state of charge and power in/out over time per spacecraft class: the fleet's
  median, 10–90 % band and minimum, and a few selected satellites (the lowest state of charge,
  those hit by faults);
- ``storage.png`` — onboard storage fill, the same way;
- ``contacts.png`` — a Gantt chart per station and antenna: planned contacts (outline) and what
  ran (completed, cut, cancelled), station outages shaded;
- ``volume.png`` — data delivered per contact, per station and cumulatively;
- ``events.png`` — every event on a timeline, one row per kind;
- ``network.png`` — RTT of each monitored pair over time, unreachable instants shaded;

and tables: run facts, contacts per station, events by kind and the notable ones, network
statistics per pair (availability, RTT percentiles, outages, route changes), and every fault with
its effects (the events, contacts and routes it changed). Faults are also marked on the figures.

The report reads whatever the run recorded: a table or column that is missing (a run that did not
record packets, a store written before a column existed) leaves its section out with a note.
"""

from __future__ import annotations

import json
import sqlite3
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from orbemu.constants import NS_PER_S
from orbemu.network.site import outage_windows
from orbemu.report.html import Cell, HtmlPage
from orbemu.report.plots import new_figure
from orbemu.time import Time
from orbemu.units import format_duration_ns

__all__ = ["RunData", "fault_effects", "write_run_report"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
            "#7f7f7f", "#bcbd22", "#17becf"]
_STATUS_COLOURS = {"completed": "#2ca02c", "cut": "#ff7f0e", "cancelled": "#d62728"}
_FAULT_COLOUR = "#d62728"
#: Events too frequent to list one by one (counted, and drawn on the timeline).
_ROUTINE = {"aos", "los", "eclipse_entry", "eclipse_exit", "contact_start", "contact_end",
            "handover", "route_change", "link_up", "link_down", "capture", "command_executed",
            "run_start", "run_end"}
_MAX_EVENT_ROWS = 200
_MAX_GANTT_ROWS = 60
_MAX_FAULT_ROWS = 100
#: Satellites drawn by name beside the fleet statistics.
_SELECTED = 3
#: Above this many (instant, satellite) cells a fleet statistic uses every k-th satellite.
_MAX_CELLS = 20_000_000


# ---- reading ---------------------------------------------------------------------------------


def _rows(db: sqlite3.Connection, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    return db.execute(sql, params).fetchall()


@dataclass
class RunData:
    """What a run recorded, read once (small tables whole; housekeeping on demand)."""

    db: sqlite3.Connection
    tables: dict[str, list[str]]
    run: dict[str, Any]
    start_ns: int
    end_ns: int
    step_ns: int
    sat_names: npt.NDArray[np.object_]
    sat_class: npt.NDArray[np.object_]
    station_names: npt.NDArray[np.object_]
    events: list[tuple[int, str, str, dict[str, Any]]] = field(default_factory=list)
    faults: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def open(cls, run_dir: str | Path) -> RunData:
        from orbemu.store import connect_readonly

        db = connect_readonly(run_dir)
        tables = {name: [r[1] for r in _rows(db, f'PRAGMA table_info("{name}")')]
                  for (name,) in _rows(db, "SELECT name FROM sqlite_master WHERE type IN "
                                           "('table', 'view') AND name NOT LIKE 'sqlite_%'")}
        run: dict[str, Any] = {}
        if "runs" in tables:
            got = db.execute("SELECT * FROM runs ORDER BY run_id DESC LIMIT 1")
            row = got.fetchone()
            if row is not None:
                run = dict(zip([d[0] for d in got.description], row, strict=True))
        sats = _rows(db, "SELECT sat, name, " + ("class" if "class" in tables.get(
            "satellites", []) else "''") + " FROM satellites ORDER BY sat") \
            if "satellites" in tables else []
        n_sats = (max(r[0] for r in sats) + 1) if sats else 0
        names = np.array([f"sat {i}" for i in range(n_sats)], dtype=object)
        classes = np.array([""] * n_sats, dtype=object)
        for sat, name, cls_ in sats:
            names[sat], classes[sat] = name, cls_ or ""
        stations = _rows(db, "SELECT station, name FROM ground_nodes ORDER BY station") \
            if "ground_nodes" in tables else []
        st_names = np.array([f"station {i}" for i in range((max(r[0] for r in stations) + 1)
                                                            if stations else 0)], dtype=object)
        for st, name in stations:
            st_names[st] = name
        start = run.get("start_ns")
        step = int(run.get("step_ns") or 0)
        duration = run.get("duration_ns")
        bounds = [r for r in (_rows(db, f"SELECT min({c}), max({c}) FROM {t}")[0]
                              for t, c in (("housekeeping", "time_ns"), ("events", "time_ns"),
                                           ("network", "time_ns"))
                              if t in tables) if r[0] is not None]
        lo = min((b[0] for b in bounds), default=0)
        hi = max((b[1] for b in bounds), default=lo)
        start_ns = int(start) if start is not None else int(lo)
        end_ns = int(start_ns + duration) if duration else int(hi)
        if "progress" in tables:
            prog = _rows(db, "SELECT time_ns FROM progress")
            if prog and run.get("status") not in ("completed",):
                end_ns = max(min(end_ns, int(prog[0][0]) + step), start_ns)
        data = cls(db, tables, run, start_ns, max(end_ns, start_ns + 1), step, names, classes,
                   st_names)
        if "events" in tables:
            for t, kind, subject, detail in _rows(
                    db, "SELECT time_ns, kind, subject, detail FROM events ORDER BY time_ns"):
                try:
                    d = json.loads(detail) if detail else {}
                except ValueError:
                    d = {"detail": detail}
                data.events.append((int(t), str(kind), str(subject or ""),
                                    d if isinstance(d, dict) else {"detail": d}))
        data.faults = data._read_faults()
        return data

    def close(self) -> None:
        self.db.close()

    def has(self, table: str, *columns: str) -> bool:
        cols = self.tables.get(table)
        return cols is not None and all(c in cols for c in columns)

    def count(self, table: str) -> int:
        return int(_rows(self.db, f'SELECT count(*) FROM "{table}"')[0][0]) \
            if table in self.tables else 0

    def hours(self, t_ns: Any) -> Any:
        return (np.asarray(t_ns, dtype=np.float64) - self.start_ns) / (3600.0 * NS_PER_S)

    def _read_faults(self) -> list[dict[str, Any]]:
        """Every fault: the ``faults`` table, else the fault_start/fault_end events."""
        out: list[dict[str, Any]] = []
        if self.has("faults", "kind", "target", "start_ns"):
            cur = self.db.execute("SELECT * FROM faults ORDER BY start_ns")
            cols = [d[0] for d in cur.description]
            for row in cur.fetchall():
                out.append(dict(zip(cols, row, strict=True)))
            return out
        starts = [e for e in self.events if e[1] == "fault_start"]
        ends = [e for e in self.events if e[1] == "fault_end"]
        for t, _, subject, detail in starts:
            end = next((e[0] for e in ends if e[2] == subject and e[0] >= t), None)
            out.append({"fault": detail.get("fault", len(out)), "kind": detail.get("kind", ""),
                        "target": subject, "effect": detail.get("effect", ""), "start_ns": t,
                        "end_ns": end, "origin": detail.get("origin", ""),
                        "spec": detail.get("spec", "")})
        return out

    def housekeeping(self, columns: Sequence[str]) -> dict[str, Any] | None:
        """``time_ns``, ``sat`` and the requested columns that exist (rows with at least one
        of them not NULL), as arrays; None when none exists."""
        have = [c for c in columns if self.has("housekeeping", c)]
        if not have:
            return None
        where = " OR ".join(f'"{c}" IS NOT NULL' for c in have)
        cols_sql = ", ".join(f'"{c}"' for c in have)
        rows = _rows(self.db, f"SELECT time_ns, sat, {cols_sql} FROM housekeeping WHERE {where}")
        if not rows:
            return None
        cols = list(zip(*rows, strict=True))
        out: dict[str, Any] = {"time_ns": np.array(cols[0], dtype=np.int64),
                               "sat": np.array(cols[1], dtype=np.int64)}
        for name, values in zip(have, cols[2:], strict=True):
            out[name] = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
        return out


# ---- fleet statistics ----------------------------------------------------------------------------


def _pivot(time_ns: IntArray, sat: IntArray, values: FloatArray
           ) -> tuple[IntArray, IntArray, FloatArray]:
    """(instants, satellites, (n_instants, n_sats) values with NaN where missing)."""
    times, ti = np.unique(time_ns, return_inverse=True)
    sats, si = np.unique(sat, return_inverse=True)
    grid = np.full((times.size, sats.size), np.nan)
    grid[ti, si] = values
    return times, sats, grid


def _fleet_stats(grid: FloatArray) -> dict[str, FloatArray]:
    """Per instant across satellites: p10, p50, p90, min, max (NaN where no data)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN instants stay NaN
        p10, p50, p90 = np.nanpercentile(grid, [10, 50, 90], axis=1)
        return {"p10": p10, "p50": p50, "p90": p90, "min": np.nanmin(grid, axis=1),
                "max": np.nanmax(grid, axis=1)}


def _selected(grid: FloatArray, sats: IntArray, lowest: bool, prefer: Sequence[int]
              ) -> list[int]:
    """Columns to draw by name: satellites hit by faults, then the extreme ones."""
    cols = [int(np.flatnonzero(sats == s)[0]) for s in prefer if np.any(sats == s)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        score = np.nanmin(grid, axis=0) if lowest else np.nanmax(grid, axis=0)
    order = np.argsort(np.where(np.isnan(score), np.inf if lowest else -np.inf, score))
    if not lowest:
        order = order[::-1]
    for c in order:
        if len(cols) >= _SELECTED:
            break
        if int(c) not in cols and np.isfinite(score[c]):
            cols.append(int(c))
    return cols[:_SELECTED]


# ---- faults and their effects --------------------------------------------------------------------


def _fault_end(f: dict[str, Any], data: RunData) -> int:
    end = f.get("end_ns")
    return int(end) if end is not None else data.end_ns


def _isl_ends(target: str, names: set[str]) -> tuple[str, str] | None:
    """The two satellite names of an ISL target ``A-B`` (names may hold '-')."""
    for k in range(1, len(target)):
        if target[k] == "-" and target[:k] in names and target[k + 1:] in names:
            return target[:k], target[k + 1:]
    return None


def _path_uses(path: str, fault: dict[str, Any], ends: tuple[str, str] | None) -> bool:
    nodes = [p.strip() for p in path.split(">")]
    if ends is not None:
        a, b = ends
        return any({nodes[i], nodes[i + 1]} == {a, b} for i in range(len(nodes) - 1))
    return str(fault.get("target", "")) in nodes


def fault_effects(data: RunData) -> list[dict[str, Any]]:
    """Per fault (in start order): ``fault`` (the record), ``reached`` (it began within the
    run), ``events`` (Counter of event kinds in its window about its target), ``contacts``
    (contacts cut or cancelled in its window that involve the target, or any when the target
    is neither a satellite nor a station of a contact), ``paths`` (monitored pairs whose path
    used the target at the last network sample before the fault), ``route_changes`` and
    ``unreachable`` (network samples of those pairs in the window that changed path / had
    none), ``safe_mode_s`` (housekeeping time in safe mode in the window, for a satellite)."""
    names = set(map(str, data.sat_names))
    net = []
    if data.has("network", "time_ns", "src", "dst", "reachable"):
        has_path = data.has("network", "path")
        net = _rows(data.db, "SELECT time_ns, src, dst, reachable, "
                             + ("path" if has_path else "''") + " FROM network ORDER BY time_ns")
    contacts = []
    if data.has("contacts", "status"):
        contacts = _rows(data.db, "SELECT start_ns, end_ns, sat, station, status FROM contacts "
                                  "WHERE status != 'completed'")
    out = []
    for f in data.faults:
        a, b = int(f["start_ns"]), _fault_end(f, data)
        target = str(f.get("target", ""))
        kind = str(f.get("kind", ""))
        ends = _isl_ends(target, names) if kind == "isl" else None
        related = {target, *(ends or ())}
        counts: Counter[str] = Counter()
        for t, k, subject, detail in data.events:
            if t < a or t > b or k in ("fault_start", "fault_end"):
                continue
            parts = set(subject.replace("@", " ").replace(" -> ", " ").split())
            if subject in related or related & parts or any(
                    str(v) in related for v in detail.values() if isinstance(v, str)):
                counts[k] += 1
        hit = []
        for s, e, sat, station, status in contacts:
            if e < a or s > b:
                continue
            who = {str(data.sat_names[sat]) if sat < len(data.sat_names) else "",
                   str(data.station_names[station]) if station < len(data.station_names)
                   else ""}
            if kind in ("station", "ground", "sat", "satellite", "seu", "battery") and \
                    not who & related:
                continue
            hit.append(status)
        paths: set[tuple[str, str]] = set()
        changed = unreachable = 0
        if net:
            last: dict[tuple[str, str], str] = {}
            for t, src, dst, _, path in net:
                if t > a:
                    break
                last[(src, dst)] = path or ""
            paths = {pair for pair, p in last.items() if p and _path_uses(p, f, ends)}
            prev = dict(last)
            for t, src, dst, reach, path in net:
                if t <= a or t > b or (src, dst) not in paths:
                    continue
                if not reach:
                    unreachable += 1
                if (path or "") != prev.get((src, dst), ""):
                    changed += 1
                prev[(src, dst)] = path or ""
        safe_s = 0.0
        if target in names and data.has("housekeeping", "safe_mode") and data.step_ns:
            sat = int(np.flatnonzero(data.sat_names == target)[0])
            rows = _rows(data.db, "SELECT time_ns, safe_mode FROM housekeeping WHERE sat = ? "
                                  "AND time_ns >= ? AND time_ns < ? ORDER BY time_ns",
                         (sat, a, b))
            if len(rows) > 1:
                t = np.array([r[0] for r in rows], dtype=np.int64)
                on = np.array([bool(r[1]) for r in rows])
                dt = np.diff(np.append(t, min(b, t[-1] + int(np.median(np.diff(t))))))
                safe_s = float((dt[on]).sum() / NS_PER_S)
        out.append({"fault": f, "reached": a < data.end_ns, "events": counts,
                    "contacts": Counter(hit), "paths": sorted(paths),
                    "route_changes": changed, "unreachable": unreachable,
                    "safe_mode_s": safe_s})
    return out


def _effect_text(e: dict[str, Any], net_interval_ns: int) -> str:
    if not e["reached"]:
        return "after the end of the run"
    parts = []
    if e["contacts"]:
        parts.append(", ".join(f"{n} contact{'s' if n != 1 else ''} {s}"
                               for s, n in sorted(e["contacts"].items())))
    if e["paths"]:
        pairs = "; ".join(f"{s} -> {d}" for s, d in e["paths"])
        parts.append(f"monitored path used it ({pairs}): {e['route_changes']} route "
                     f"change{'s' if e['route_changes'] != 1 else ''}"
                     + (f", unreachable for {e['unreachable']} sample"
                        f"{'s' if e['unreachable'] != 1 else ''}" if e["unreachable"] else ""))
    if e["safe_mode_s"]:
        parts.append(f"safe mode {format_duration_ns(int(e['safe_mode_s'] * NS_PER_S))}")
    if e["events"]:
        parts.append("events: " + ", ".join(f"{k} {n}" for k, n in e["events"].most_common()))
    return "; ".join(parts) or "no recorded effect"


def _notable_faults(effects: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Faults worth marking on whole-run figures: every fault but ISL failures that touched no
    monitored path (random ISL failures come by the dozen and change nothing watched)."""
    return [e["fault"] for e in effects
            if e["reached"] and (str(e["fault"].get("kind")) != "isl" or e["paths"])]


def _mark_faults(ax: Any, data: RunData, faults: Sequence[dict[str, Any]], *,
                 label: bool = True) -> None:
    for i, f in enumerate(faults):
        a, b = int(f["start_ns"]), _fault_end(f, data)
        if a >= data.end_ns:
            continue
        x0, x1 = data.hours(a), data.hours(min(b, data.end_ns))
        ax.axvspan(x0, max(x1, x0 + 1e-4), color=_FAULT_COLOUR, alpha=0.10, linewidth=0,
                   label="fault" if (label and i == 0) else None)
        ax.axvline(x0, color=_FAULT_COLOUR, linewidth=0.8, alpha=0.6)


# ---- figures ---------------------------------------------------------------------------------


def _class_groups(data: RunData, sats: IntArray) -> list[tuple[str, IntArray]]:
    classes = data.sat_class[sats] if data.sat_class.size else np.array([""] * sats.size)
    out = []
    for c in sorted(set(map(str, classes))):
        out.append((c or "default class", np.flatnonzero(classes == c)))
    return out


def _fleet_figure(data: RunData, hk: dict[str, Any], panels: Sequence[tuple[str, str, str]],
                  faults_by_sat: dict[int, list[dict[str, Any]]], path: Path,
                  title: str) -> tuple[Path, list[str]] | None:
    """One row of panels per spacecraft class, one column per quantity."""
    present = [(col, label, low) for col, label, low in panels
               if col in hk and np.isfinite(hk[col]).any()]
    if not present:
        return None
    notes: list[str] = []
    sats_all = np.unique(hk["sat"])
    groups = _class_groups(data, sats_all)
    fig = new_figure(11, 3.0 * len(groups) + 0.6)
    for gi, (cls_name, members) in enumerate(groups):
        member_sats = sats_all[members]
        rows = np.isin(hk["sat"], member_sats)
        stride = 1
        n_times = np.unique(hk["time_ns"][rows]).size
        if n_times * member_sats.size > _MAX_CELLS:
            stride = int(np.ceil(n_times * member_sats.size / _MAX_CELLS))
            rows &= (hk["sat"] % stride) == 0
            notes.append(f"{cls_name}: statistics over every {stride}th satellite")
        for pi, (col, label, low) in enumerate(present):
            ax = fig.add_subplot(len(groups), len(present), gi * len(present) + pi + 1)
            times, sats, grid = _pivot(hk["time_ns"][rows], hk["sat"][rows], hk[col][rows])
            h = data.hours(times)
            st = _fleet_stats(grid)
            ax.fill_between(h, st["p10"], st["p90"], color="#9ecae1", alpha=0.6, linewidth=0,
                            label="10–90 %")
            ax.plot(h, st["p50"], color="#08519c", linewidth=1.2, label="median")
            ax.plot(h, st["min"] if low else st["max"], color="#08519c", linewidth=0.8,
                    linestyle="--", label="minimum" if low else "maximum")
            prefer = [s for s in faults_by_sat if s in set(sats.tolist())]
            for k, c in enumerate(_selected(grid, sats, low, prefer)):
                ax.plot(h, grid[:, c], linewidth=0.9, color=_COLOURS[(k + 1) % len(_COLOURS)],
                        label=str(data.sat_names[sats[c]]))
            _mark_faults(ax, data, [f for s in sats if int(s) in faults_by_sat
                                    for f in faults_by_sat[int(s)]])
            ax.set_title(f"{cls_name} ({member_sats.size} sat"
                         f"{'s' if member_sats.size != 1 else ''}): {label}", fontsize=9)
            ax.grid(True, color="#dddddd", linewidth=0.5)
            ax.set_xlim(0, data.hours(data.end_ns))
            if gi == len(groups) - 1:
                ax.set_xlabel(f"hours since {Time(data.start_ns).iso('s')}")
            ax.legend(fontsize=6, loc="best", framealpha=0.85)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path, notes


def _gantt_figure(data: RunData, path: Path) -> Path | None:
    if not data.has("contacts", "start_ns", "end_ns", "station"):
        return None
    status = "status" if data.has("contacts", "status") else "'completed'"
    antenna = "antenna" if data.has("contacts", "antenna") else "0"
    planned = ("planned_start_ns, planned_end_ns"
               if data.has("contacts", "planned_start_ns", "planned_end_ns")
               else "start_ns, end_ns")
    ran = _rows(data.db, f"SELECT start_ns, end_ns, sat, station, {antenna}, {status}, "
                         f"{planned} FROM contacts ORDER BY start_ns")
    plan = []
    if data.has("contact_plan", "start_ns", "end_ns", "station"):
        plan = _rows(data.db, "SELECT start_ns, end_ns, sat, station, antenna FROM contact_plan "
                              "WHERE start_ns < ? ORDER BY start_ns", (data.end_ns,))
    if not ran and not plan:
        return None
    keys = sorted({(int(r[3]), int(r[4] or 0)) for r in ran} | {(int(r[3]), int(r[4] or 0))
                                                                for r in plan})
    shown = keys[:_MAX_GANTT_ROWS]
    row_of = {k: i for i, k in enumerate(shown)}
    fig = new_figure(11, 1.2 + 0.22 * len(shown))
    ax = fig.add_subplot(1, 1, 1)
    for s, e, _, st, ant in plan:
        k = row_of.get((int(st), int(ant or 0)))
        if k is not None:
            ax.barh(k, data.hours(e) - data.hours(s), left=data.hours(s), height=0.7,
                    facecolor="none", edgecolor="#888888", linewidth=0.6)
    for s, e, _, st, ant, stat, ps, pe in ran:
        k = row_of.get((int(st), int(ant or 0)))
        if k is None:
            continue
        colour = _STATUS_COLOURS.get(str(stat), "#1f77b4")
        if str(stat) == "cancelled":  # it never ran: its planned slot, outlined in red
            ax.barh(k, max(data.hours(pe) - data.hours(ps), 1e-3), left=data.hours(ps),
                    height=0.7, facecolor="none", edgecolor=colour, linewidth=1.2)
        else:
            ax.barh(k, max(data.hours(e) - data.hours(s), 1e-3), left=data.hours(s),
                    height=0.7, color=colour)
    for f in data.faults:
        if str(f.get("kind")) in ("station", "ground"):
            rows = [i for (st, _), i in row_of.items()
                    if str(data.station_names[st]) == str(f.get("target"))]
            a, b = data.hours(int(f["start_ns"])), data.hours(min(_fault_end(f, data),
                                                                  data.end_ns))
            for i in rows:
                ax.barh(i, b - a, left=a, height=1.0, color=_FAULT_COLOUR, alpha=0.2,
                        hatch="///", linewidth=0)
    ax.set_yticks(range(len(shown)))
    ax.set_yticklabels([f"{data.station_names[st]} #{ant}" for st, ant in shown], fontsize=6)
    ax.invert_yaxis()
    ax.set_xlim(0, data.hours(data.end_ns))
    ax.set_xlabel(f"hours since {Time(data.start_ns).iso('s')}")
    from matplotlib.patches import Patch

    legend = [Patch(facecolor="none", edgecolor="#888888", label="planned"),
              Patch(color=_STATUS_COLOURS["completed"], label="completed"),
              Patch(color=_STATUS_COLOURS["cut"], label="cut (by a fault)"),
              Patch(facecolor="none", edgecolor=_STATUS_COLOURS["cancelled"], linewidth=1.2,
                    label="cancelled (planned slot)"),
              Patch(color=_FAULT_COLOUR, alpha=0.2, hatch="///", label="station down (fault)")]
    ax.legend(handles=legend, fontsize=7, loc="upper right", framealpha=0.9)
    extra = f" (first {len(shown)} of {len(keys)} rows)" if len(keys) > len(shown) else ""
    ax.set_title(f"Contacts per station and antenna{extra}", fontsize=10)
    ax.grid(True, axis="x", color="#dddddd", linewidth=0.5)
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path


def _volume_figure(data: RunData, path: Path, marked: Sequence[dict[str, Any]]
                   ) -> tuple[Path, list[tuple[str, float, int]]] | None:
    if not data.has("contacts", "volume_bits", "end_ns", "station"):
        return None
    rows = _rows(data.db, "SELECT end_ns, station, volume_bits FROM contacts ORDER BY end_ns")
    if not rows:
        return None
    end = np.array([r[0] for r in rows], dtype=np.int64)
    station = np.array([r[1] for r in rows], dtype=np.int64)
    gb = np.array([(r[2] or 0.0) for r in rows], dtype=np.float64) / 8e9
    fig = new_figure(11, 3.6)
    ax1 = fig.add_subplot(1, 3, 1)
    ax1.bar(data.hours(end), gb, width=max(data.hours(data.end_ns) / 150, 1e-3),
            color="#1f77b4")
    ax1.set_title("per contact (at its end)", fontsize=9)
    ax1.set_ylabel("GB delivered (down)")
    ax1.set_xlabel("hours")
    per: dict[str, list[float]] = {}
    for st, v in zip(station, gb, strict=True):
        per.setdefault(str(data.station_names[st]), []).append(float(v))
    ranked = sorted(((n, sum(v), len(v)) for n, v in per.items()), key=lambda x: -x[1])
    ax2 = fig.add_subplot(1, 3, 2)
    top = ranked[:15]
    ax2.barh(range(len(top)), [t[1] for t in top], color="#2ca02c")
    ax2.set_yticks(range(len(top)))
    ax2.set_yticklabels([t[0] for t in top], fontsize=7)
    ax2.invert_yaxis()
    ax2.set_title("per station" + (" (top 15)" if len(ranked) > 15 else ""), fontsize=9)
    ax2.set_xlabel("GB")
    ax3 = fig.add_subplot(1, 3, 3)
    ax3.step(np.concatenate(([0.0], data.hours(end))), np.concatenate(([0.0], np.cumsum(gb))),
             where="post", color="#9467bd")
    _mark_faults(ax3, data, marked, label=False)
    ax3.set_xlim(0, data.hours(data.end_ns))
    ax3.set_title("cumulative", fontsize=9)
    ax3.set_xlabel("hours")
    ax3.set_ylabel("GB")
    for ax in (ax1, ax2, ax3):
        ax.grid(True, color="#dddddd", linewidth=0.5)
    fig.suptitle("Data volume delivered to the ground", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path, ranked


def _events_figure(data: RunData, counts: Counter[str], path: Path,
                   marked: Sequence[dict[str, Any]]) -> Path | None:
    if not data.events:
        return None
    kinds = [k for k, _ in counts.most_common()]
    row = {k: i for i, k in enumerate(kinds)}
    t = np.array([e[0] for e in data.events], dtype=np.int64)
    y = np.array([row[e[1]] for e in data.events])
    fig = new_figure(11, 1.2 + 0.26 * len(kinds))
    ax = fig.add_subplot(1, 1, 1)
    for k in kinds:
        on = y == row[k]
        colour = _FAULT_COLOUR if k.startswith("fault") else "#1f77b4" if k in _ROUTINE \
            else "#ff7f0e"
        ax.scatter(data.hours(t[on]), y[on], marker="|", s=50, color=colour, alpha=0.7)
    _mark_faults(ax, data, marked, label=False)
    ax.set_yticks(range(len(kinds)))
    ax.set_yticklabels([f"{k} ({counts[k]})" for k in kinds], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, data.hours(data.end_ns))
    ax.set_xlabel(f"hours since {Time(data.start_ns).iso('s')}")
    ax.set_title("Events by kind (fault events in red; faults that changed something shaded)",
                 fontsize=10)
    ax.grid(True, axis="x", color="#dddddd", linewidth=0.5)
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path


def _network_data(data: RunData) -> dict[tuple[str, str], dict[str, Any]]:
    if not data.has("network", "time_ns", "src", "dst", "rtt_ms", "reachable"):
        return {}
    has_path = data.has("network", "path")
    rows = _rows(data.db, "SELECT time_ns, src, dst, rtt_ms, reachable, "
                          + ("path" if has_path else "''") + " FROM network ORDER BY time_ns")
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for t, src, dst, rtt, reach, p in rows:
        d = out.setdefault((str(src), str(dst)), {"t": [], "rtt": [], "reach": [], "path": []})
        d["t"].append(t)
        d["rtt"].append(np.nan if rtt is None else rtt)
        d["reach"].append(bool(reach))
        d["path"].append(p or "")
    for d in out.values():
        d["t"] = np.array(d["t"], dtype=np.int64)
        d["rtt"] = np.array(d["rtt"], dtype=np.float64)
        d["reach"] = np.array(d["reach"], dtype=bool)
        d["step"] = int(np.median(np.diff(d["t"]))) if d["t"].size > 1 else data.step_ns
        d["changes"] = (int(sum(d["path"][k] != d["path"][k - 1]
                                for k in range(1, len(d["path"])))) if has_path else
                        int(np.count_nonzero(np.diff(d["reach"].astype(int)))))
    return out


def _network_figure(data: RunData, net: dict[tuple[str, str], dict[str, Any]],
                    path: Path, effects: Sequence[dict[str, Any]]) -> Path | None:
    if not net:
        return None
    fig = new_figure(11, 1.5 + 2.2 * len(net))
    for i, ((src, dst), d) in enumerate(net.items()):
        ax = fig.add_subplot(len(net), 1, i + 1)
        ax.plot(data.hours(d["t"]), d["rtt"], color=_COLOURS[i % len(_COLOURS)], linewidth=1.0,
                marker=".", markersize=2)
        starts, ends = outage_windows(d["t"], d["reach"], d["step"])
        for k, (a, b) in enumerate(zip(starts, ends, strict=True)):
            ax.axvspan(data.hours(a), data.hours(b), color="#555555", alpha=0.25, linewidth=0,
                       label="unreachable" if k == 0 else None)
        # the faults on this pair's path, and every fault that is not an ISL failure
        _mark_faults(ax, data, [e["fault"] for e in effects if e["reached"] and (
            (src, dst) in e["paths"] or str(e["fault"].get("kind")) != "isl")], label=True)
        ax.set_title(f"{src} → {dst}", fontsize=9)
        ax.set_ylabel("RTT (ms)")
        ax.set_xlim(0, data.hours(data.end_ns))
        ax.grid(True, color="#dddddd", linewidth=0.5)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="upper right")
    fig.axes[-1].set_xlabel(f"hours since {Time(data.start_ns).iso('s')}")
    fig.suptitle("Monitored network paths (faults on the path, and satellite/station faults, "
                 "shaded red)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path


# ---- the page --------------------------------------------------------------------------------


def _iso(ns: Any) -> str:
    return str(Time(int(ns)).iso("s"))


def write_run_report(run_dir: str | Path, *, out_dir: str | Path | None = None,
                     embed: bool = True) -> Path:
    """Write ``report.html`` (and its figures in ``report/``) for the run in ``run_dir``; returns
    the page's path. ``out_dir``: where to write instead of the run folder. The database is only
    read. ``embed``: figures inside the page (default) or linked beside it."""
    run_dir = Path(run_dir)
    out = Path(out_dir) if out_dir is not None else run_dir
    figs = out / "report"
    figs.mkdir(parents=True, exist_ok=True)
    data = RunData.open(run_dir)
    try:
        return _write(data, run_dir, out, figs, embed)
    finally:
        data.close()


def _write(data: RunData, run_dir: Path, out: Path, figs: Path, embed: bool) -> Path:
    run = data.run
    name = str(run.get("name") or run_dir.name)
    page = HtmlPage(f"Run report: {name}",
                    f"{_iso(data.start_ns)} + {format_duration_ns(data.end_ns - data.start_ns)}"
                    f" · status {run.get('status', 'unknown')} · {run_dir}")
    effects = fault_effects(data)
    counts: Counter[str] = Counter(e[1] for e in data.events)
    net = _network_data(data)
    marked = _notable_faults(effects)

    # ---- facts
    meta: dict[str, Any] = {}
    try:
        meta = json.loads(run.get("metadata") or "{}")
    except ValueError:
        meta = {}
    facts = [("scenario", f"{run.get('scenario_name') or name} ({run.get('scenario_source')})"),
             ("window", f"{_iso(data.start_ns)} → {_iso(data.end_ns)} "
                        f"({format_duration_ns(data.end_ns - data.start_ns)})"),
             ("step", format_duration_ns(data.step_ns) if data.step_ns else "—"),
             ("seed", str(run.get("seed", "—"))),
             ("satellites", f"{len(data.sat_names):,}"),
             ("ground nodes", f"{len(data.station_names):,}"),
             ("records", ", ".join(f"{t} {data.count(t):,}" for t in (
                 "housekeeping", "events", "contacts", "packets", "network", "faults")
                 if t in data.tables)),
             ("made with", f"orbemu {run.get('orbemu_version', '?')}, Python "
                           f"{run.get('python_version', '?')}, numpy "
                           f"{run.get('numpy_version', '?')}"),
             ("run created", str(run.get("created_utc", "—")))]
    if run.get("status") not in (None, "completed"):
        facts.append(("note", f"the run is {run.get('status')}: figures cover the committed "
                              "steps only"))
    page.heading("Run")
    page.key_values(facts)
    if meta.get("notes"):
        page.bullets(map(str, meta["notes"]))

    faults_by_sat: dict[int, list[dict[str, Any]]] = {}
    for f in data.faults:
        hits = np.flatnonzero(data.sat_names == str(f.get("target")))
        if hits.size:
            faults_by_sat.setdefault(int(hits[0]), []).append(f)

    # ---- power and storage
    hk = data.housekeeping(["soc", "power_in_w", "power_out_w", "storage_fill", "storage_bits"])
    page.heading("Power and storage")
    if hk is None:
        page.note("No power or storage housekeeping in this run (no modelled spacecraft, or "
                  "housekeeping not recorded).")
    else:
        got = _fleet_figure(data, hk, [("soc", "state of charge", "low"),
                                       ("power_in_w", "power in (W)", ""),
                                       ("power_out_w", "power out (W)", "")],
                            faults_by_sat, figs / "power.png", "Power")
        if got is not None:
            page.figure(got[0], "State of charge and power per spacecraft class: median, "
                        "10–90 % band, extreme, and selected satellites; faults on them shaded",
                        embed=embed)
            for note in got[1]:
                page.note(note)
        storage_col = "storage_fill" if "storage_fill" in hk else "storage_bits"
        got = _fleet_figure(data, hk, [(storage_col, "storage fill" if storage_col ==
                                        "storage_fill" else "storage (bits)", "")],
                            faults_by_sat, figs / "storage.png", "Onboard storage")
        if got is not None:
            page.figure(got[0], "Onboard storage per spacecraft class", embed=embed)
        soc = hk.get("soc")
        if soc is not None and np.isfinite(soc).any():
            ok = np.isfinite(soc)
            low = int(np.argmin(np.where(ok, soc, np.inf)))
            page.note(f"Lowest state of charge: {soc[low]:.1%} ({data.sat_names[hk['sat'][low]]}"
                      f" at {_iso(hk['time_ns'][low])}).")

    # ---- contacts and volume
    page.heading("Contacts and data delivered")
    gantt = _gantt_figure(data, figs / "contacts.png")
    if gantt is None:
        page.note("No contacts in this run.")
    else:
        page.figure(gantt, "Contact Gantt chart per station and antenna", embed=embed)
        if data.has("contacts", "status"):
            st = Counter(r[0] for r in _rows(data.db, "SELECT status FROM contacts"))
            planned = data.count("contact_plan")
            page.note((f"{planned} planned; " if planned else "")
                      + ", ".join(f"{n} {s}" for s, n in st.most_common()) + ".")
        vol = _volume_figure(data, figs / "volume.png", marked)
        if vol is not None:
            page.figure(vol[0], "Data volume: per contact, per station, cumulative",
                        embed=embed)
            page.table(["station", "contacts", "GB delivered"],
                       ([n, Cell(c, spec="d"), Cell(v, spec=".3f")] for n, v, c in vol[1]),
                       caption="Delivered per station", table_id="volume")

    # ---- network
    page.heading("Network paths")
    if not net:
        page.note("No monitored network pairs in this run.")
    else:
        netfig = _network_figure(data, net, figs / "network.png", effects)
        if netfig is not None:
            page.figure(netfig, "RTT of the monitored pairs; unreachable samples shaded",
                        embed=embed)
        rows = []
        for (src, dst), d in net.items():
            rtt = d["rtt"][d["reach"] & np.isfinite(d["rtt"])]
            starts, ends = outage_windows(d["t"], d["reach"], d["step"])
            q = np.percentile(rtt, [50, 90, 99]) if rtt.size else [np.nan] * 3
            rows.append([f"{src} → {dst}", Cell(d["reach"].mean(), f"{d['reach'].mean():.2%}"),
                         Cell(q[0]), Cell(q[1]), Cell(q[2]),
                         Cell(rtt.min() if rtt.size else np.nan),
                         Cell(rtt.max() if rtt.size else np.nan),
                         Cell(starts.size, spec="d"),
                         Cell((ends - starts).sum() / NS_PER_S,
                              format_duration_ns(int((ends - starts).sum()))),
                         Cell(d["changes"], spec="d"), Cell(d["t"].size, spec="d")])
        page.table(["pair", "available", "p50 ms", "p90 ms", "p99 ms", "min ms", "max ms",
                    "outages", "outage time", "path changes", "samples"], rows,
                   caption="Monitored pairs (statistics over the recorded samples)",
                   table_id="network")

    # ---- faults
    page.heading("Faults and their effects")
    if not effects:
        page.note("No faults in this run.")
    else:
        interval = min((d["step"] for d in net.values()), default=data.step_ns)
        notable = {id(f) for f in marked}
        ordered = sorted(effects, key=lambda e: (id(e["fault"]) not in notable,
                                                 int(e["fault"]["start_ns"])))
        shown = ordered[:_MAX_FAULT_ROWS]
        quiet = sum(1 for e in effects if id(e["fault"]) not in notable)
        page.table(["#", "kind", "target", "effect", "start (UTC)", "end (UTC)", "origin",
                    "what it changed"],
                   ([str(e["fault"].get("fault", i)), str(e["fault"].get("kind", "")),
                     str(e["fault"].get("target", "")), str(e["fault"].get("effect", "")),
                     _iso(e["fault"]["start_ns"]),
                     _iso(e["fault"]["end_ns"]) if e["fault"].get("end_ns") is not None
                     else "end of run", str(e["fault"].get("origin", "")),
                     _effect_text(e, interval)] for i, e in enumerate(shown)),
                   caption=f"{len(effects)} fault{'s' if len(effects) != 1 else ''} "
                           f"({sum(1 for e in effects if e['reached'])} began within the run); "
                           f"first the {len(notable)} that touched a satellite, a station or a "
                           f"monitored path, then {quiet} ISL failures elsewhere"
                           + (f" (first {len(shown)} rows; the faults table has all)"
                              if len(effects) > len(shown) else ""),
                   table_id="faults")

    # ---- events
    page.heading("Events")
    if not data.events:
        page.note("No events recorded.")
    else:
        evfig = _events_figure(data, counts, figs / "events.png", marked)
        if evfig is not None:
            page.figure(evfig, "Events by kind over time", embed=embed)
        page.table(["kind", "count", "first (UTC)", "last (UTC)"],
                   ([k, Cell(n, spec="d"),
                     _iso(min(e[0] for e in data.events if e[1] == k)),
                     _iso(max(e[0] for e in data.events if e[1] == k))]
                    for k, n in counts.most_common()),
                   caption="Events by kind", table_id="event-kinds")
        notable = [e for e in data.events if e[1] not in _ROUTINE]
        if notable:
            page.table(["time (UTC)", "kind", "subject", "detail"],
                       ([_iso(t), k, s, json.dumps(d, sort_keys=True)[:160]]
                        for t, k, s, d in notable[:_MAX_EVENT_ROWS]),
                       caption=f"Notable events ({len(notable)}"
                               + (f"; first {_MAX_EVENT_ROWS}" if len(notable) > _MAX_EVENT_ROWS
                                  else "") + "; routine kinds are counted above)",
                       table_id="events")

    page.heading("Files")
    page.note(f"Figures in {figs.name}/: " + ", ".join(sorted(p.name for p in
                                                              figs.glob("*.png")))
              + f". Records: {run_dir / 'telemetry.sqlite'} (orbemu query, orbemu export).")
    return page.write(out / "report.html")
