"""Where an emulation's records go: the :class:`Sink` interface, an in-memory sink, and the
engine's :class:`Recorder` in front of it.

A :class:`Sink` receives records in column form (numpy arrays or sequences, one entry per
record), so a vectorized engine hands over a whole step at once; it decides how to batch and
when to make them durable. :class:`~orbemu.store.sqlite.SQLiteSink` (the telemetry store, an
adapter one layer up) is the one orbemu ships for runs; :class:`MemorySink` keeps everything in
Python lists (tests, notebooks). ``Sink`` is a :class:`typing.Protocol`: an implementation need
not inherit from it, so the engine holds one without importing the store.

Records (units in the column names; ``sat`` and ``station`` are indices into the run's
satellites and ground nodes, whose names :meth:`Sink.write_satellites` and
:meth:`Sink.write_ground_nodes` give):

==============  ===========================================================================
stream          what
==============  ===========================================================================
housekeeping    per satellite at ``housekeeping_every``: ``time_ns, sat`` + ``alive``,
                ``x_m, y_m, z_m`` (ITRF), ``lat_deg, lon_deg, alt_m``, and for modelled
                satellites ``mode`` (0 nadir, 1 Sun, 2 target, 3 safe), ``safe_mode``,
                ``soc``, ``battery_wh``, ``capacity_factor``, ``power_in_w``,
                ``power_out_w``, ``illuminated``, ``storage_bits``, ``storage_fill``,
                ``in_contact``, ``captures``, ``downlinked_bits`` (since the last row)
events          ``time_ns, kind, subject, detail`` (JSON); kinds in :data:`EVENT_KINDS`
contact_plan    the scheduled contacts (one row per contact of the plan, written at start)
contacts        executed contacts, one row when each closes: actual ``start_ns/end_ns``,
                ``status`` (``completed``, ``cut``, ``cancelled``), bits delivered down
                (``volume_bits``) and up (``up_bits``), the plan's times and bits
packets        Space Packets delivered: ``time_ns`` (arrival), ``sat, apid, direction``
                (``up``/``down``), ``size_bytes`` (a bulk row may stand for many packets:
                ``count``), ``latency_ms`` (creation → arrival)
network         per monitored pair at ``network_every``: ``rtt_ms`` (NaN unreachable),
                ``hops``, ``reachable``, ``path`` (node names joined by ``>``)
faults          every fault of the run (scripted, random, command line), written at start
==============  ===========================================================================

Two rules make checkpoints exact. Every record but the events, written while the engine steps
over ``[t_k, t_{k+1})``, carries a time in that interval (packets arriving at the very end of a
step are stamped 1 ns before it). Events carry their exact time — a crossing found at a network
instant may lie minutes back — and the ``step`` that wrote them. A run resumed from the
checkpoint taken before step ``c`` (at ``t_c``) deletes the events of steps ``≥ c`` and the other
records with ``time ≥ t_c``, and writes them again (:meth:`Sink.resume`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

__all__ = [
    "EVENT_KINDS",
    "Event",
    "MemorySink",
    "Recorder",
    "RunInfo",
    "Sink",
]

ArrayLike = npt.ArrayLike

#: Event kinds the engine writes, and what each means (``subject`` in brackets).
EVENT_KINDS: dict[str, str] = {
    "run_start": "the run started [scenario]",
    "run_resumed": "the run resumed from a checkpoint [scenario]",
    "run_end": "the run ended [scenario]; detail: steps, status",
    "eclipse_entry": "a modelled satellite entered the Earth's shadow [satellite]",
    "eclipse_exit": "... left it [satellite]",
    "aos": "a modelled satellite rose above a station's mask (contact window opens) "
           "[satellite@station]",
    "los": "... set below it (contact window closes) [satellite@station]",
    "contact_start": "a scheduled contact began [satellite@station]",
    "contact_end": "a scheduled contact ended as planned [satellite@station]",
    "contact_cut": "a contact in progress was cut by a fault [satellite@station]",
    "contact_cancelled": "a scheduled contact could not start (fault) [satellite@station]",
    "battery_low": "the state of charge fell below the safe-mode threshold [satellite]",
    "battery_recovered": "... rose back above it [satellite]",
    "storage_full": "onboard storage filled up [satellite]",
    "storage_available": "... has room again [satellite]",
    "safe_mode_entry": "the power model (or a fault) put a satellite in safe mode [satellite]",
    "safe_mode_exit": "safe mode ended [satellite]",
    "capture": "an image was taken [satellite]; detail: target, bits",
    "link_down": "an ISL went down (range, Earth blockage or fault) [A-B]",
    "link_up": "an ISL came up [A-B]",
    "handover": "a monitored ground node's serving satellite changed [node]",
    "route_change": "the path of a monitored pair changed [src -> dst]",
    "unreachable": "a monitored pair lost its path [src -> dst]",
    "reachable": "a monitored pair has a path again [src -> dst]",
    "fault_start": "a fault began [target]; detail: kind, effect, spec",
    "fault_end": "a fault ended [target]",
    "command": "a command was sent [target]; detail: command, args",
    "command_executed": "a command reached its satellite and ran [satellite]",
    "param_changed": "a set_param command changed a run parameter [path]",
}


@dataclass(frozen=True)
class RunInfo:
    """What a run is: stored once in the ``runs`` table.

    ``name``: run name (the scenario's). ``scenario_text``: the scenario YAML as run (with the
    command line's overrides). ``seed``: the random seed. ``start_ns``/``step_ns``/
    ``duration_ns``: the window (int ns). ``metadata``: anything else JSON-serializable.
    Versions of orbemu, Python, numpy and SQLite are added by the sink.
    """

    name: str
    scenario_text: str = ""
    seed: int = 0
    start_ns: int = 0
    step_ns: int = 0
    duration_ns: int = 0
    scenario_source: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Event:
    """One event: ``time_ns`` (int ns UTC), ``kind`` (:data:`EVENT_KINDS`), ``subject`` (what
    it is about: a satellite or station name, a pair) and ``detail`` (JSON-serializable)."""

    time_ns: int
    kind: str
    subject: str = ""
    detail: Mapping[str, Any] | None = None


@runtime_checkable
class Sink(Protocol):
    """Where records go. Calls within one step may come in any order; :meth:`end_step` marks a
    step complete, and everything written before a :meth:`flush` (or a commit that
    ``end_step`` decides on) survives a crash of the process."""

    def start_run(self, info: RunInfo) -> None:
        """Record what the run is (once, before any record)."""

    def write_satellites(self, names: Sequence[str], *, norad_ids: ArrayLike | None = None,
                         constellation: Sequence[str] | None = None,
                         role: Sequence[str] | None = None,
                         spacecraft_class: Sequence[str] | None = None) -> None:
        """The satellites, in index order (``sat`` = position)."""

    def write_ground_nodes(self, names: Sequence[str], *, roles: Sequence[str] | None = None,
                           lat_deg: ArrayLike | None = None, lon_deg: ArrayLike | None = None,
                           alt_m: ArrayLike | None = None) -> None:
        """The ground nodes, in index order (``station`` = position)."""

    def write_housekeeping(self, time_ns: int, sat: ArrayLike,
                           columns: Mapping[str, ArrayLike]) -> None:
        """One instant of housekeeping: ``sat`` (n,) indices and ``columns`` name → (n,)."""

    def write_points(self, time_ns: ArrayLike, sat: ArrayLike, key: str | Sequence[str],
                     value: ArrayLike) -> None:
        """Sparse telemetry points (k,) (one key for all, or one per point)."""

    def write_events(self, events: Iterable[Event], *, step: int | None = None) -> None:
        """Events (any order), written during step ``step``."""

    def write_contact_plan(self, contact: ArrayLike, start_ns: ArrayLike, end_ns: ArrayLike,
                           sat: ArrayLike, station: ArrayLike, *,
                           antenna: ArrayLike | None = None,
                           max_elevation_deg: ArrayLike | None = None,
                           planned_down_bits: ArrayLike | None = None,
                           planned_up_bits: ArrayLike | None = None) -> None:
        """The scheduled contacts (c,): ``contact`` is the plan row (what ``contacts`` rows
        refer to)."""

    def write_contacts(self, start_ns: ArrayLike, end_ns: ArrayLike, sat: ArrayLike,
                       station: ArrayLike, *, max_elevation_deg: ArrayLike | None = None,
                       volume_bits: ArrayLike | None = None,
                       antenna: ArrayLike | None = None, contact: ArrayLike | None = None,
                       status: str | Sequence[str] | None = None,
                       up_bits: ArrayLike | None = None,
                       planned_start_ns: ArrayLike | None = None,
                       planned_end_ns: ArrayLike | None = None,
                       planned_bits: ArrayLike | None = None) -> None:
        """Executed contacts (k,): a satellite–station window and the data it carried."""

    def write_packets(self, time_ns: ArrayLike, sat: ArrayLike, apid: ArrayLike,
                      direction: str | Sequence[str], size_bytes: ArrayLike,
                      latency_ms: ArrayLike | None = None, *,
                      count: ArrayLike | None = None) -> None:
        """Space packets (k,) up (``"up"``) or down (``"down"``); ``count`` packets per row."""

    def write_network(self, time_ns: ArrayLike, src: Sequence[str], dst: Sequence[str],
                      rtt_ms: ArrayLike, hops: ArrayLike, reachable: ArrayLike, *,
                      path: Sequence[str] | None = None) -> None:
        """Network metrics (k,) of monitored endpoint pairs (NaN RTT where unreachable)."""

    def write_faults(self, fault: ArrayLike, kind: Sequence[str], target: Sequence[str],
                     effect: Sequence[str], start_ns: ArrayLike, end_ns: ArrayLike, *,
                     fraction: ArrayLike | None = None, origin: Sequence[str] | None = None,
                     spec: Sequence[str] | None = None) -> None:
        """The faults of the run (f,) (``end_ns`` NULL/−1: until the end)."""

    def write_checkpoint(self, step: int, time_ns: int, *, data: bytes | None = None,
                         path: str | None = None) -> None:
        """A checkpoint of the engine state at ``time_ns`` (before step ``step`` runs);
        durable at once, together with everything written before it."""

    def last_checkpoint(self) -> tuple[int, int, bytes] | None:
        """``(step, time_ns, data)`` of the newest checkpoint, or None."""

    def resume(self, checkpoint_time_ns: int, step: int) -> None:
        """Continue from the checkpoint at ``checkpoint_time_ns``: drop every record at or
        after it (the resumed run writes them again)."""

    def end_step(self, step: int, time_ns: int) -> None:
        """Step ``step`` (ending at ``time_ns``) is complete."""

    def flush(self) -> None:
        """Make everything written so far durable."""

    def close(self, status: str = "completed") -> None:
        """Flush, finish (indexes, run status) and release the backend."""


# ---- in memory ---------------------------------------------------------------------------------

#: Time column of each table (for resume); tables without one are written once at start. Events
#: go by the step that wrote them.
_TIMED = {"housekeeping": "time_ns", "telemetry": "time_ns", "contacts": "end_ns",
          "packets": "time_ns", "network": "time_ns"}


def _column(values: Any, n: int) -> list[Any]:
    if values is None:
        return [None] * n
    if isinstance(values, str):
        return [values] * n
    arr = np.asarray(values)
    if arr.ndim == 0:
        arr = np.broadcast_to(arr, (n,))
    return arr.tolist()


def _rows(n: int, **columns: Any) -> list[dict[str, Any]]:
    cols = {k: _column(v, n) for k, v in columns.items()}
    return [{k: cols[k][i] for k in cols} for i in range(n)]


def _size(*values: Any) -> int:
    for v in values:
        if v is None or isinstance(v, str):
            continue
        arr = np.asarray(v)
        if arr.ndim:
            return int(arr.shape[0])
    return 1


class MemorySink:
    """A :class:`Sink` keeping every record in lists of dicts (``tables[name]``): for tests,
    notebooks and short runs. ``resume`` behaves as the SQLite store's does."""

    def __init__(self) -> None:
        self.tables: dict[str, list[dict[str, Any]]] = {
            name: [] for name in ("satellites", "ground_nodes", "housekeeping", "telemetry",
                                  "events", "contact_plan", "contacts", "packets", "network",
                                  "faults")}
        self.info: RunInfo | None = None
        self.checkpoints: dict[int, tuple[int, bytes]] = {}
        self.steps_ended = 0
        self.status: str | None = None

    def start_run(self, info: RunInfo) -> None:
        self.info = info

    def write_satellites(self, names: Sequence[str], *, norad_ids: ArrayLike | None = None,
                         constellation: Sequence[str] | None = None,
                         role: Sequence[str] | None = None,
                         spacecraft_class: Sequence[str] | None = None) -> None:
        n = len(names)
        self.tables["satellites"] = _rows(n, sat=np.arange(n), name=list(names),
                                          norad_id=norad_ids, constellation=constellation,
                                          role=role, spacecraft_class=spacecraft_class)

    def write_ground_nodes(self, names: Sequence[str], *, roles: Sequence[str] | None = None,
                           lat_deg: ArrayLike | None = None, lon_deg: ArrayLike | None = None,
                           alt_m: ArrayLike | None = None) -> None:
        n = len(names)
        self.tables["ground_nodes"] = _rows(n, station=np.arange(n), name=list(names),
                                            role=roles, lat_deg=lat_deg, lon_deg=lon_deg,
                                            alt_m=alt_m)

    def write_housekeeping(self, time_ns: int, sat: ArrayLike,
                           columns: Mapping[str, ArrayLike]) -> None:
        n = _size(sat)
        self.tables["housekeeping"] += _rows(n, time_ns=int(time_ns), sat=sat, **columns)

    def write_points(self, time_ns: ArrayLike, sat: ArrayLike, key: str | Sequence[str],
                     value: ArrayLike) -> None:
        n = _size(time_ns, sat, value)
        self.tables["telemetry"] += _rows(n, time_ns=time_ns, sat=sat, key=key, value=value)

    def write_events(self, events: Iterable[Event], *, step: int | None = None) -> None:
        for e in events:
            self.tables["events"].append({"time_ns": int(e.time_ns), "kind": e.kind,
                                          "subject": e.subject,
                                          "detail": None if e.detail is None else dict(e.detail),
                                          "step": step})

    def write_contact_plan(self, contact: ArrayLike, start_ns: ArrayLike, end_ns: ArrayLike,
                           sat: ArrayLike, station: ArrayLike, *,
                           antenna: ArrayLike | None = None,
                           max_elevation_deg: ArrayLike | None = None,
                           planned_down_bits: ArrayLike | None = None,
                           planned_up_bits: ArrayLike | None = None) -> None:
        n = _size(contact, start_ns)
        self.tables["contact_plan"] += _rows(
            n, contact=contact, start_ns=start_ns, end_ns=end_ns, sat=sat, station=station,
            antenna=antenna, max_elevation_deg=max_elevation_deg,
            planned_down_bits=planned_down_bits, planned_up_bits=planned_up_bits)

    def write_contacts(self, start_ns: ArrayLike, end_ns: ArrayLike, sat: ArrayLike,
                       station: ArrayLike, *, max_elevation_deg: ArrayLike | None = None,
                       volume_bits: ArrayLike | None = None,
                       antenna: ArrayLike | None = None, contact: ArrayLike | None = None,
                       status: str | Sequence[str] | None = None,
                       up_bits: ArrayLike | None = None,
                       planned_start_ns: ArrayLike | None = None,
                       planned_end_ns: ArrayLike | None = None,
                       planned_bits: ArrayLike | None = None) -> None:
        n = _size(start_ns, end_ns, sat)
        self.tables["contacts"] += _rows(
            n, start_ns=start_ns, end_ns=end_ns, sat=sat, station=station,
            max_elevation_deg=max_elevation_deg, volume_bits=volume_bits, antenna=antenna,
            contact=contact, status=status, up_bits=up_bits, planned_start_ns=planned_start_ns,
            planned_end_ns=planned_end_ns, planned_bits=planned_bits)

    def write_packets(self, time_ns: ArrayLike, sat: ArrayLike, apid: ArrayLike,
                      direction: str | Sequence[str], size_bytes: ArrayLike,
                      latency_ms: ArrayLike | None = None, *,
                      count: ArrayLike | None = None) -> None:
        n = _size(time_ns, sat, apid, size_bytes)
        self.tables["packets"] += _rows(n, time_ns=time_ns, sat=sat, apid=apid,
                                        direction=direction, size_bytes=size_bytes,
                                        latency_ms=latency_ms, count=count)

    def write_network(self, time_ns: ArrayLike, src: Sequence[str], dst: Sequence[str],
                      rtt_ms: ArrayLike, hops: ArrayLike, reachable: ArrayLike, *,
                      path: Sequence[str] | None = None) -> None:
        n = _size(time_ns, rtt_ms, hops)
        self.tables["network"] += _rows(n, time_ns=time_ns, src=list(src), dst=list(dst),
                                        rtt_ms=rtt_ms, hops=hops, reachable=reachable,
                                        path=None if path is None else list(path))

    def write_faults(self, fault: ArrayLike, kind: Sequence[str], target: Sequence[str],
                     effect: Sequence[str], start_ns: ArrayLike, end_ns: ArrayLike, *,
                     fraction: ArrayLike | None = None, origin: Sequence[str] | None = None,
                     spec: Sequence[str] | None = None) -> None:
        n = _size(fault)
        self.tables["faults"] += _rows(n, fault=fault, kind=list(kind), target=list(target),
                                       effect=list(effect), start_ns=start_ns, end_ns=end_ns,
                                       fraction=fraction, origin=origin, spec=spec)

    def write_checkpoint(self, step: int, time_ns: int, *, data: bytes | None = None,
                         path: str | None = None) -> None:
        self.checkpoints[int(step)] = (int(time_ns), data if data is not None else b"")

    def last_checkpoint(self) -> tuple[int, int, bytes] | None:
        if not self.checkpoints:
            return None
        step = max(self.checkpoints)
        t, data = self.checkpoints[step]
        return step, t, data

    def resume(self, checkpoint_time_ns: int, step: int) -> None:
        t = int(checkpoint_time_ns)
        for table, column in _TIMED.items():
            self.tables[table] = [r for r in self.tables[table] if r[column] < t]
        self.tables["events"] = [r for r in self.tables["events"]
                                 if (r["step"] < step if r["step"] is not None
                                     else r["time_ns"] < t)]
        self.checkpoints = {s: v for s, v in self.checkpoints.items() if v[0] <= t}
        self.status = None

    def end_step(self, step: int, time_ns: int) -> None:
        self.steps_ended += 1

    def flush(self) -> None:
        pass

    def close(self, status: str = "completed") -> None:
        self.status = status


# ---- the engine's front of the sink ------------------------------------------------------------


class Recorder:
    """The engine's writer: applies the record selection, stamps records into the current
    step (see the module notes), and keeps the run's counters for the summary.

    ``streams``: the record streams to write (``housekeeping``, ``events``, ``contacts``,
    ``packets``, ``network``); counters are kept whatever is written.
    """

    STREAMS = ("housekeeping", "events", "contacts", "packets", "network")

    def __init__(self, sink: Sink, streams: Iterable[str] = STREAMS) -> None:
        self.sink = sink
        self.streams = frozenset(streams)
        self.events_by_kind: Counter[str] = Counter()
        self.counters: Counter[str] = Counter()
        self.recent: list[Event] = []
        self._limit = (np.iinfo(np.int64).min, np.iinfo(np.int64).max)
        self.step = 0
        #: called with every batch of events as it is recorded (live displays); quick, no I/O
        self.listeners: list[Callable[[Sequence[Event]], None]] = []

    def enter(self, t0_ns: int, t1_ns: int, step: int) -> None:
        """Records from now on are written by step ``step`` over ``[t0, t1)``."""
        self._limit = (int(t0_ns), int(t1_ns) - 1)
        self.step = int(step)

    def stamp(self, time_ns: int) -> int:
        lo, hi = self._limit
        return min(max(int(time_ns), lo), hi)

    def events(self, events: Sequence[Event]) -> None:
        if not events:
            return
        self.events_by_kind.update(e.kind for e in events)
        self.recent.extend(events[-20:])
        del self.recent[:-20]
        for listener in self.listeners:
            listener(events)
        if "events" in self.streams:
            self.sink.write_events(events, step=self.step)

    def wants(self, stream: str) -> bool:
        return stream in self.streams

    def state(self) -> dict[str, Any]:
        return {"events_by_kind": dict(self.events_by_kind), "counters": dict(self.counters),
                "recent": list(self.recent)}

    def restore(self, state: Mapping[str, Any]) -> None:
        self.events_by_kind = Counter(state["events_by_kind"])
        self.counters = Counter(state["counters"])
        self.recent = list(state["recent"])
