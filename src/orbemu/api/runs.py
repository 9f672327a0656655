"""Runs behind the API: live emulations in background threads, and replays of finished runs.

A **live run** (:class:`LiveRun`) resolves and builds its scenario in a background thread and
runs :meth:`Emulation.run(control=...) <orbemu.engine.emulation.Emulation.run>` there; the API
steers it through its :class:`~orbemu.engine.control.EmulationControl`. Its observer (called by
the engine's thread after each step) takes a snapshot only when a client is due one — at the
fastest rate any connected client asked for, and whenever the run pauses or ends — and swaps it
into the :class:`Publisher`'s slot: the engine never waits for a client. Events reach the
publisher through the recorder's listeners, into a bounded buffer with sequence numbers.

A **replay** (:class:`ReplayRun`) plays a run folder back from its telemetry store: satellite
positions are recomputed from the run's elements (the scenario as run is stored in the
database), the rest — events, faults (who is down), network paths and RTT, fleet summaries,
the contact plan — is read from the store. It has the same controls (pause, step, speed) and
feeds the same publisher, so the console does not know the difference; faults cannot be
injected into the past.

The engine is in the same process (threads): control is direct and snapshots are shared
without copies. SGP4 and numba hold the GIL, so the API's own work is kept small: a snapshot
reads the positions the engine has already propagated (:meth:`Emulation.positions_m`: the grid
states or their Hermite in between; no SGP4 call), and is taken at most at the clients' rate.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import re
import threading
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from orbemu.api.snapshot import (
    RunLayout,
    Snapshot,
    dumps,
    encode_snapshot,
    event_dict,
    snapshot_header,
)
from orbemu.engine.control import EmulationControl
from orbemu.engine.emulation import Emulation
from orbemu.engine.recorder import Event
from orbemu.errors import DataError, InputError, OrbemuError, UsageError
from orbemu.orbits.elements import ElementSet
from orbemu.orbits.propagation import propagate
from orbemu.time import Time

__all__ = ["RUN_ID", "LiveRun", "Publisher", "ReplayRun", "RunManager", "parse_clock"]

#: Names of run folders the API accepts (no separators, no dot-dot).
RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")
#: Events kept for the stream (older ones are dropped; a client that falls behind is told how
#: many it missed).
MAX_EVENTS = 5000
#: Highest snapshot rate a client may ask for, Hz.
MAX_RATE_HZ = 20.0


def parse_clock(text: str) -> tuple[str, float | None]:
    """``max``, ``realtime``, ``10x``/``10`` → (mode, speed) (:class:`InputError`)."""
    t = str(text).strip().lower()
    if t in ("max", "realtime"):
        return t, None
    m = re.fullmatch(r"(\d+(?:\.\d*)?|\.\d+)\s*x?", t)
    if m and 0 < float(m.group(1)) <= 1e9:
        return "paced", float(m.group(1))
    raise InputError(f"cannot read clock {text!r}", field="clock",
                     fix="Give max, realtime, or a speed factor such as 10x (0 < speed ≤ 1e9)")


def clock_label(mode: str, speed: float | None) -> str:
    return f"{speed:g}x" if mode == "paced" and speed is not None else mode


def error_dict(exc: BaseException) -> dict[str, Any]:
    """An error as the API reports it: the CLI's message, the problems of a scenario."""
    problems = [str(p) for p in getattr(exc, "problems", ())]
    return {"error": type(exc).__name__, "message": str(exc), "problems": problems}


class PositionsAt:
    """ITRF positions of a set of satellites at one instant (SGP4; float32 for the wire)."""

    def __init__(self, elements: ElementSet) -> None:
        self.elements = elements

    def __call__(self, time_ns: int) -> npt.NDArray[np.float32]:
        if len(self.elements) == 0:
            return np.zeros((0, 3), np.float32)
        eph = propagate(self.elements, Time(np.array([int(time_ns)], np.int64)), frame="ITRF")
        return eph.position_m[:, 0, :].astype(np.float32)


def _set_all(events: list[Any]) -> None:
    for event in events:
        event.set()


class Publisher:
    """The latest snapshot of a run and its recent events, shared by every client.

    The engine's thread publishes (:meth:`publish`, :meth:`add_events`); the clients' tasks read
    (:attr:`latest`, :meth:`events_since`). Clients register the rate they want
    (:meth:`set_rate`); :meth:`due` says whether a snapshot should be taken now.
    """

    def __init__(self, max_events: int = MAX_EVENTS) -> None:
        self._lock = threading.Lock()
        self.latest: Snapshot | None = None
        self._seq = 0
        self._events: deque[dict[str, Any]] = deque(maxlen=max_events)
        self._event_seq = 0
        self._rates: dict[int, float] = {}
        self._last_take = -math.inf
        self._wake: dict[int, tuple[Any, Any]] = {}  # client → (event loop, asyncio.Event)

    # clients
    def set_rate(self, client: int, hz: float) -> float:
        hz = float(min(max(hz, 0.1), MAX_RATE_HZ))
        with self._lock:
            self._rates[client] = hz
        return hz

    def drop(self, client: int) -> None:
        with self._lock:
            self._rates.pop(client, None)
            self._wake.pop(client, None)

    def subscribe(self, client: int, loop: Any, event: Any) -> None:
        """Have ``event`` (an :class:`asyncio.Event` of ``loop``) set at every publication, so
        a client sends a new snapshot at once rather than at its next tick."""
        with self._lock:
            self._wake[client] = (loop, event)

    @property
    def clients(self) -> int:
        return len(self._rates)

    def events_since(self, seq: int, limit: int = 500) -> tuple[list[dict[str, Any]], int, int]:
        """Events after ``seq`` (at most ``limit``, the newest), how many were skipped, and
        the last sequence number."""
        with self._lock:
            last = self._event_seq
            if seq >= last:
                return [], 0, last
            first = last - len(self._events) + 1  # sequence numbers are contiguous
            skip = max(0, min(seq + 1 - first, len(self._events)), len(self._events) - limit)
            newer = list(itertools.islice(self._events, skip, None))
        missing = (last - seq) - len(newer)
        return newer, missing, last

    def events_json_since(self, seq: int, limit: int = 500) -> tuple[str | None, int]:
        """The message of the events after ``seq`` (None if there are none) and the last
        sequence number. Each event is encoded once, whatever the number of clients."""
        events, skipped, last = self.events_since(seq, limit)
        if not events and not skipped:
            return None, last
        parts = []
        for e in events:
            text = e.get("_json")
            if text is None:
                text = dumps(e)
                e["_json"] = text  # (a benign race: two clients may both encode it)
            parts.append(text)
        events_json = ",".join(parts)
        return f'{{"type":"events","skipped":{skipped},"events":[{events_json}]}}', last

    # the engine's side
    def due(self, force: bool = False) -> bool:
        with self._lock:
            rate = max(self._rates.values(), default=0.0)
            now = time.perf_counter()
            if force or (rate > 0 and now - self._last_take >= 1.0 / rate * 0.95):
                self._last_take = now
                return True
            return False

    def add_events(self, events: Sequence[Event]) -> None:
        with self._lock:
            for e in events:
                self._event_seq += 1
                self._events.append(event_dict(self._event_seq, e.time_ns, e.kind, e.subject,
                                               e.detail))

    def add_event_dicts(self, rows: Sequence[tuple[int, str, str, Any]]) -> None:
        with self._lock:
            for t, kind, subject, detail in rows:
                self._event_seq += 1
                self._events.append(event_dict(self._event_seq, t, kind, subject, detail))

    def next_seq(self) -> int:
        with self._lock:
            self._seq += 1
            return self._seq

    def publish(self, header: dict[str, Any], positions: npt.ArrayLike) -> Snapshot:
        snap = Snapshot(seq=int(header["seq"]), step=int(header["step"]),
                        time_ns=int(header["time_ns"]), wall_s=float(header["wall_s"]),
                        data=encode_snapshot(header, positions), header=header)
        self.latest = snap  # one reference swap: readers see the old or the new one
        with self._lock:
            by_loop: dict[int, tuple[Any, list[Any]]] = {}
            for loop, event in self._wake.values():
                by_loop.setdefault(id(loop), (loop, []))[1].append(event)
        # one wake-up per event loop, not per client: each is a write to the loop's self-pipe,
        # a system call that drops the GIL, which the loop's thread then holds for a while
        for loop, events in by_loop.values():
            with contextlib.suppress(RuntimeError):  # a loop that closed meanwhile
                loop.call_soon_threadsafe(_set_all, events)
        return snap


# ---- live runs -----------------------------------------------------------------------------------

def _layout_of(emu: Emulation) -> RunLayout:
    s = emu.setup
    el = s.elements
    g = s.ground
    pairs = np.zeros((0, 2), np.int64)
    monitor: list[tuple[str, str, int, int]] = []
    if emu.net is not None and s.network is not None:
        relay = s.network.relay
        if len(emu.net.plan):
            pairs = relay[emu.net.plan.pairs]
        monitor = [(a, b, int(i), int(j)) for (a, b), (i, j)
                   in zip(s.network.monitor_labels, s.network.monitor, strict=True)]
    plan = emu.contacts.plan_columns() if emu.contacts is not None else None
    n = len(el)
    return RunLayout.build(
        name=s.name, description=str(dict(s.metadata).get("description", "")),
        start_ns=s.start_ns, step_ns=s.step_ns, n_steps=s.n_steps,
        sat_names=[str(x) for x in el.names],
        constellation=[str(x) for x in (s.constellation if s.constellation is not None
                                        else ["all"] * n)],
        role=[str(x) for x in (s.roles if s.roles is not None else ["tracked"] * n)],
        ground_names=[str(x) for x in g.names], ground_roles=[str(x) for x in g.roles],
        lat_deg=g.lat_deg, lon_deg=g.lon_deg, alt_m=g.alt_m, isl_pairs=pairs,
        monitor=monitor, contact_plan=plan)


def _fleet_summary(emu: Emulation) -> dict[str, Any]:
    if emu.m == 0:
        return {}
    from orbemu.spacecraft.power import soc as power_soc

    st = emu.state
    soc = power_soc(st.power, emu.params.power)
    fill = st.storage.used_bits / np.maximum(emu.params.storage.capacity_bits, 1.0)
    return {"soc_mean": float(np.mean(soc)), "soc_min": float(np.min(soc)),
            "fill_mean": float(np.mean(fill)), "fill_max": float(np.max(fill)),
            "safe": int(np.count_nonzero(st.power.safe_mode)),
            "contacts_active": emu.contacts.n_active() if emu.contacts is not None else 0,
            "n": int(emu.m)}


class LiveRun:
    """An emulation running in a background thread (see the module notes).

    ``scenario``: a validated :class:`~orbemu.scenario.Scenario` (with overrides applied);
    ``run_dir``: its run folder (created); ``paused``: start paused at step 0.
    """

    kind = "live"

    def __init__(self, run_id: str, run_dir: Path, scenario: Any, *, paused: bool = False
                 ) -> None:
        self.id = run_id
        self.run_dir = Path(run_dir)
        self.scenario = scenario
        self.control = EmulationControl(paused=paused)
        self.publisher = Publisher()
        self.state = "building"
        self.error: dict[str, Any] | None = None
        self.emu: Emulation | None = None
        self.world: Any = None
        self.layout: RunLayout | None = None
        self.ready = threading.Event()  # built (or failed)
        self.done = threading.Event()
        self.created = time.time()
        self.engine_cpu_s = 0.0
        self._thread = threading.Thread(target=self._main, name=f"orbemu-run-{run_id}",
                                        daemon=True)

    def start(self) -> LiveRun:
        self._thread.start()
        return self

    def _main(self) -> None:
        from orbemu.scenario import resolve_scenario
        from orbemu.scenario.build import build_emulation, run_sink

        sink = None
        try:
            self.world = resolve_scenario(self.scenario)
            sink = run_sink(self.run_dir, self.scenario)
            emu = build_emulation(self.world, sink)
            self.layout = _layout_of(emu)
            emu.recorder.listeners.append(self.publisher.add_events)
            self.control.observers.append(self._observe)
            self.emu = emu
        except BaseException as exc:
            if sink is not None:
                sink.close("failed")
            self.error = error_dict(exc)
            self.state = "failed"
            self.ready.set()
            self.done.set()
            return
        self.state = "paused" if self.control.paused else "running"
        self.ready.set()
        cpu0 = time.thread_time()
        try:
            emu.run(control=self.control)
            self.state = emu.status
        except BaseException as exc:
            self.error = error_dict(exc)
            self.state = "failed"
        finally:
            self.engine_cpu_s = time.thread_time() - cpu0  # the engine thread's CPU time
            self.done.set()

    # the engine's thread
    def _observe(self, emu: Emulation) -> None:
        state = self.control.state
        ended = emu.status in ("completed", "stopped")
        if not ended and state in ("running", "paused"):
            self.state = state
        force = state == "paused" or ended
        if not self.publisher.due(force):
            return
        self.take_snapshot(emu)

    def take_snapshot(self, emu: Emulation) -> Snapshot:
        assert self.layout is not None
        t = emu.time_ns
        fs = emu.faults.state
        gsl = None
        paths: list[dict[str, Any]] = []
        net_time = None
        isl_down = np.flatnonzero(fs.isl_down > 0)
        isl_off = np.zeros(0, np.int64)
        if emu.net is not None and emu.setup.network is not None:
            ns = emu.setup.network
            if emu.net.last_links is not None:
                isl, g = emu.net.last_links
                isl_off = np.flatnonzero(np.isnan(isl.length_m))  # geometry: out of range
                gsl = np.column_stack([ns.nodes[g.node], ns.relay[g.sat]])
            sample = emu.net.last_sample
            if sample is not None:
                net_time = sample.time_ns
                for i, _ in enumerate(self.layout.monitor):
                    paths.append({"pair": i, "nodes": self.layout.path_nodes(sample.path[i]),
                                  "rtt_ms": float(sample.rtt_ms[i]),
                                  "hops": int(sample.hops[i]),
                                  "reachable": bool(sample.reachable[i])})
        clock = emu.clock
        state = self.control.state
        if emu.status in ("completed", "stopped"):
            state = emu.status
        header = snapshot_header(
            seq=self.publisher.next_seq(), step=emu.step_index, n_steps=emu.n_steps,
            time_ns=t, state=state, speed=clock.speed_now(),
            clock=clock_label(clock.mode, clock.speed if clock.mode == "paced" else None),
            n_sats=emu.n, down=np.flatnonzero(~fs.sat_alive),
            ground_down=np.flatnonzero(fs.ground_down > 0), isl_down=isl_down,
            isl_off=isl_off, gsl=gsl,
            paths=paths, net_time_ns=net_time, fleet=_fleet_summary(emu),
            events_by_kind=emu.recorder.events_by_kind)
        # the engine's own states (an SGP4 call of its own held the GIL ~5 ms for 10,000
        # satellites), float32 on the wire
        return self.publisher.publish(header, emu.positions_m(t).astype(np.float32))

    # status and commands (any thread)
    def status(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "kind": self.kind, "state": self.state,
                               "scenario": self.scenario.name,
                               "run_dir": str(self.run_dir), "error": self.error,
                               "clients": self.publisher.clients}
        emu = self.emu
        if emu is not None:
            st = emu.status_now()
            clock = emu.clock
            out.update({"step": st.step, "n_steps": st.n_steps, "time_ns": str(st.time_ns),
                        "time_ms": st.time_ns / 1e6, "start_ns": str(emu.setup.start_ns),
                        "step_ns": str(emu.setup.step_ns), "speed": _finite(st.speed),
                        "clock": clock_label(clock.mode, clock.speed), "n_sats": st.n_sats,
                        "sats_alive": st.sats_alive, "contacts_active": st.contacts_active,
                        "overruns": st.overruns, "events_by_kind": st.events_by_kind,
                        "faults": len(emu.faults.faults)})
        return out

    def _control(self) -> EmulationControl:
        if self.state == "building":
            self.ready.wait(120)
        if self.emu is None or self.done.is_set():
            raise UsageError(f"run {self.id} is {self.state}: it takes no commands")
        return self.control

    def pause(self) -> None:
        self._control().pause()

    def resume(self) -> None:
        self._control().resume()

    def step(self, n: int) -> None:
        self._control().step(n)

    def set_clock(self, mode: str, speed: float | None) -> None:
        self._control().set_rate(mode, speed)  # type: ignore[arg-type]

    def stop(self) -> None:
        self._control().stop()

    def inject(self, spec: str, at: str | None) -> dict[str, Any]:
        """Parse a fault (``--fault`` grammar; ``at`` ``now`` or an offset/ISO time replaces
        the spec's ``at``), resolve its names and inject it at the next step boundary."""
        control = self._control()
        from orbemu.scenario.build import fault_spec
        from orbemu.scenario.faults import parse_fault_spec

        assert self.emu is not None
        if len(spec) > 500:
            raise InputError("a fault spec is one line (≤ 500 characters)", source="fault")
        text = spec.strip()
        has_at = re.search(r"\s+at\s+\S+", text, re.IGNORECASE) is not None
        now_ns = self.emu.time_ns
        now = (at is not None and at.strip().lower() == "now") or (at is None and not has_at)
        if now:
            text = _with_at(text, f"{(now_ns - self.emu.setup.start_ns) // 10**9}s")
        elif at is not None:
            text = _with_at(text, at.strip())
        fault = parse_fault_spec(text, source="fault")
        try:
            spec_obj = fault_spec(self.world, fault, "console")
        except UsageError as exc:  # an unknown ground node
            raise InputError(str(exc), source="fault", text=text,
                             fix="Name a ground node of the run") from None
        if now:
            spec_obj = _at_now(spec_obj, now_ns)
        index, applied = control.inject(spec_obj).result(timeout=60)
        return {"fault": index, "kind": applied.kind, "effect": applied.effect,
                "target": applied.target, "spec": applied.spec,
                "start_ns": str(applied.start_ns), "start_ms": applied.start_ns / 1e6,
                "end_ns": None if applied.end_ns is None else str(applied.end_ns)}


def _with_at(spec: str, at: str) -> str:
    """Replace (or add) the ``at WHEN`` of a one-line fault spec."""
    m = re.search(r"\s+at\s+\S+", spec, re.IGNORECASE)
    if m:
        return spec[:m.start()] + f" at {at}" + spec[m.end():]
    f = re.search(r"\s+for\s+\S+\s*$", spec, re.IGNORECASE)
    if f:
        return spec[:f.start()] + f" at {at}" + spec[f.start():]
    return f"{spec} at {at}"


def _at_now(fault: Any, now_ns: int) -> Any:
    """A fault starting "now": the engine moves a start in the past to the next boundary, so
    starting it at the current boundary (duration kept) is exact."""
    from dataclasses import replace

    end = None if fault.end_ns is None else now_ns + (fault.end_ns - fault.start_ns)
    return replace(fault, start_ns=int(now_ns), end_ns=end)


def _isl_ends(target: str, names: dict[str, int]) -> list[str]:
    """The two satellite names of an ISL fault's target ``A-B`` (names may hold '-')."""
    for i, ch in enumerate(target):
        if ch == "-" and target[:i] in names and target[i + 1:] in names:
            return [target[:i], target[i + 1:]]
    return []


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


# ---- replays ----------------------------------------------------------------------------------

class ReplayRun:
    """A finished (or stopped) run played back from its store (see the module notes). It
    starts paused at the first step; ``speed`` simulated seconds per wall second."""

    kind = "replay"

    def __init__(self, run_id: str, run_dir: Path, *, speed: float = 60.0) -> None:
        from orbemu.store.query import query

        self.id = run_id
        self.run_dir = Path(run_dir)
        self.publisher = Publisher()
        self.error: dict[str, Any] | None = None
        self.state = "loading"
        self.layout: RunLayout | None = None
        self.ready = threading.Event()
        self.done = threading.Event()
        self.created = time.time()
        _, rows = query(run_dir, "SELECT name, scenario_text, start_ns, step_ns, duration_ns, "
                                 "status, metadata FROM runs ORDER BY run_id DESC LIMIT 1")
        if not rows:
            raise DataError(f"run folder {run_id!r} holds no run")
        (self.name, self._text, start, step, duration, self.run_status, _meta) = rows[0]
        self.start_ns, self.step_ns = int(start), int(step)
        self.n_steps = int(duration) // int(step) if step else 0
        progress = query(run_dir, "SELECT step FROM progress WHERE id = 0")[1]
        self.last_step = min(int(progress[0][0]) + 1, self.n_steps) if progress else 0
        if self.run_status == "completed":
            self.last_step = self.n_steps
        self.step_index = 0
        self.mode, self.speed = "paced", float(speed)
        self._paused = True
        self._stop = False
        self._cond = threading.Condition()
        self._steps = 0
        self._events_until = self.start_ns - 1
        self._thread = threading.Thread(target=self._main, name=f"orbemu-replay-{run_id}",
                                        daemon=True)

    @property
    def time_ns(self) -> int:
        return self.start_ns + self.step_index * self.step_ns

    def start(self) -> ReplayRun:
        self._thread.start()
        return self

    def _load(self) -> None:
        from orbemu.scenario import resolve_scenario
        from orbemu.scenario.build import emulation_setup
        from orbemu.scenario.loader import parse_scenario_text
        from orbemu.store.query import query

        d = self.run_dir
        sats = query(d, "SELECT name, constellation, role FROM satellites ORDER BY sat")[1]
        ground = query(d, "SELECT name, role, lat_deg, lon_deg, alt_m FROM ground_nodes "
                          "ORDER BY station")[1]
        sc = parse_scenario_text(self._text, source=f"{d} (scenario as run)")
        world = resolve_scenario(sc)
        setup = emulation_setup(world)
        if len(setup.elements) != len(sats):
            raise DataError(f"run {self.id}: the scenario gives {len(setup.elements)} "
                            f"satellites, the store {len(sats)}")
        self._positions = PositionsAt(setup.elements)
        pairs = np.zeros((0, 2), np.int64)
        monitor: list[tuple[str, str, int, int]] = []
        ns = setup.network
        if ns is not None:
            if ns.isl_plan is not None and len(ns.isl_plan):
                pairs = ns.relay[ns.isl_plan.pairs]
            monitor = [(a, b, int(i), int(j)) for (a, b), (i, j)
                       in zip(ns.monitor_labels, ns.monitor, strict=True)]
        plan_rows = query(d, "SELECT start_ns, end_ns, sat, station FROM contact_plan "
                             "ORDER BY contact")[1]
        plan = ({"start_ns": [r[0] for r in plan_rows], "end_ns": [r[1] for r in plan_rows],
                 "sat": [r[2] for r in plan_rows], "station": [r[3] for r in plan_rows]}
                if plan_rows else None)
        self.layout = RunLayout.build(
            name=self.name, description=sc.description, start_ns=self.start_ns,
            step_ns=self.step_ns, n_steps=self.n_steps, sat_names=[r[0] for r in sats],
            constellation=[r[1] or "" for r in sats], role=[r[2] or "" for r in sats],
            ground_names=[r[0] for r in ground], ground_roles=[r[1] or "" for r in ground],
            lat_deg=[r[2] for r in ground], lon_deg=[r[3] for r in ground],
            alt_m=[r[4] for r in ground], isl_pairs=pairs, monitor=monitor,
            contact_plan=plan, replay=True)
        self._isl_row = {(min(a, b), max(a, b)): i for i, (a, b) in enumerate(pairs.tolist())}
        self._faults = query(d, "SELECT kind, target, start_ns, end_ns FROM faults")[1]
        self._net_times = np.array([r[0] for r in query(
            d, "SELECT DISTINCT time_ns FROM network ORDER BY time_ns")[1]], np.int64)
        self._hk_times = np.array([r[0] for r in query(
            d, "SELECT DISTINCT time_ns FROM housekeeping WHERE soc IS NOT NULL "
               "ORDER BY time_ns")[1]], np.int64) if self._has_soc() else np.zeros(0, np.int64)
        self._events_by_kind: dict[str, int] = {}

    def _has_soc(self) -> bool:
        from orbemu.store.query import query

        cols = [r[1] for r in query(self.run_dir, "PRAGMA table_info(housekeeping)")[1]]
        return "soc" in cols

    def _main(self) -> None:
        try:
            self._load()
        except BaseException as exc:
            self.error = error_dict(exc)
            self.state = "failed"
            self.ready.set()
            self.done.set()
            return
        self.state = "paused"
        self.ready.set()
        self._publish(force=True)
        last = time.perf_counter()
        carry = 0.0
        while True:
            with self._cond:
                if self._stop:
                    break
                if self._paused and self._steps == 0:
                    self.state = "paused" if self.step_index < self.last_step else "completed"
                    self._cond.wait(0.5)
                    last = time.perf_counter()
                    carry = 0.0
                    continue
                if self._steps > 0:
                    self._steps -= 1
                    advance = 1
                else:
                    now = time.perf_counter()
                    rate = math.inf if self.mode == "max" else (
                        self.speed if self.mode == "paced" else 1.0)
                    carry += (now - last) * rate * 1e9 / self.step_ns
                    last = now
                    advance = int(min(carry, 10 * self.n_steps + 1))
                    carry -= advance
                    self.state = "running"
                self.step_index = min(self.step_index + advance, self.last_step)
                if self.step_index >= self.last_step:
                    self._paused, self._steps = True, 0
                    self.state = "completed"
            self._events_to(self.time_ns)
            paused = self._paused and self._steps == 0
            self._publish(force=paused)
            if not paused:
                time.sleep(0.05)
        self.state = "stopped"
        self.done.set()

    def _events_to(self, t: int) -> None:
        from orbemu.store.query import query

        if t <= self._events_until:
            return
        rows = query(self.run_dir, "SELECT time_ns, kind, subject, detail FROM events "
                                   "WHERE time_ns > ? AND time_ns <= ? ORDER BY time_ns "
                                   "LIMIT 5000", (self._events_until, t))[1]
        import json

        out = []
        for tt, kind, subject, detail in rows:
            try:
                d = json.loads(detail) if detail else None
            except ValueError:
                d = {"text": detail}
            out.append((int(tt), kind, subject or "", d))
            self._events_by_kind[kind] = self._events_by_kind.get(kind, 0) + 1
        self.publisher.add_event_dicts(out)
        self._events_until = int(out[-1][0]) if len(out) == 5000 else t

    def _publish(self, force: bool) -> None:
        if not self.publisher.due(force):
            return
        from orbemu.store.query import query

        assert self.layout is not None
        t = self.time_ns
        lay = self.layout
        down, gdown, isl_down = [], [], []
        for kind, target, start, end in self._faults:
            if not (start <= t and (end is None or end < 0 or t < end)):
                continue
            if kind == "sat" and target in lay.sat_index:
                down.append(lay.sat_index[target])
            elif kind == "station" and target in lay.node_index:
                gdown.append(lay.node_index[target])
            elif kind == "isl":
                ends = [lay.sat_index.get(x) for x in _isl_ends(str(target), lay.sat_index)]
                if len(ends) == 2 and ends[0] is not None and ends[1] is not None:
                    a, b = ends[0], ends[1]
                    row = self._isl_row.get((min(a, b), max(a, b)))
                    if row is not None:
                        isl_down.append(row)
        paths: list[dict[str, Any]] = []
        net_time = None
        k = int(np.searchsorted(self._net_times, t, side="right")) - 1
        if k >= 0 and lay.monitor:
            net_time = int(self._net_times[k])
            rows = query(self.run_dir, "SELECT src, dst, rtt_ms, hops, reachable, path FROM "
                                       "network WHERE time_ns = ?", (net_time,))[1]
            by_pair = {(r[0], r[1]): r for r in rows}
            for i, m in enumerate(lay.monitor):
                r = by_pair.get((m["src"], m["dst"]))
                if r is not None:
                    paths.append({"pair": i, "nodes": lay.path_nodes(r[5] or ""),
                                  "rtt_ms": r[2], "hops": r[3], "reachable": bool(r[4])})
        fleet: dict[str, Any] = {}
        h = int(np.searchsorted(self._hk_times, t, side="right")) - 1
        if h >= 0:
            r = query(self.run_dir, "SELECT avg(soc), min(soc), avg(storage_fill), "
                                    "max(storage_fill), sum(safe_mode), sum(in_contact), "
                                    "count(*) FROM housekeeping WHERE time_ns = ? AND soc IS "
                                    "NOT NULL", (int(self._hk_times[h]),))[1][0]
            fleet = {"soc_mean": r[0], "soc_min": r[1], "fill_mean": r[2], "fill_max": r[3],
                     "safe": r[4], "contacts_active": r[5], "n": r[6]}
        header = snapshot_header(
            seq=self.publisher.next_seq(), step=self.step_index, n_steps=self.n_steps,
            time_ns=t, state=self.state, speed=self.speed if self.mode == "paced" else (
                1.0 if self.mode == "realtime" else None) or 0.0,
            clock=clock_label(self.mode, self.speed), n_sats=len(lay.sat_names),
            down=sorted(set(down)), ground_down=sorted(set(gdown)), isl_down=isl_down,
            gsl=None, paths=paths, net_time_ns=net_time, fleet=fleet,
            events_by_kind=self._events_by_kind, replay=True)
        self.publisher.publish(header, self._positions(t))

    # status and commands
    def status(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "state": self.state, "scenario": self.name,
                "run_dir": str(self.run_dir), "error": self.error,
                "clients": self.publisher.clients, "step": self.step_index,
                "n_steps": self.n_steps, "last_step": self.last_step,
                "time_ns": str(self.time_ns), "time_ms": self.time_ns / 1e6,
                "start_ns": str(self.start_ns), "step_ns": str(self.step_ns),
                "clock": clock_label(self.mode, self.speed), "run_status": self.run_status,
                "n_sats": len(self.layout.sat_names) if self.layout else None}

    def _command(self) -> None:
        if not self.ready.wait(120) or self.error is not None:
            raise UsageError(f"replay {self.id} is {self.state}: it takes no commands")
        if self._stop:
            raise UsageError(f"replay {self.id} is stopped")

    def pause(self) -> None:
        self._command()
        with self._cond:
            self._paused, self._steps = True, 0
            self._cond.notify_all()

    def resume(self) -> None:
        self._command()
        with self._cond:
            self._paused, self._steps = False, 0
            self._cond.notify_all()

    def step(self, n: int) -> None:
        self._command()
        if n < 1:
            raise UsageError(f"step count must be ≥ 1, got {n}")
        with self._cond:
            self._paused = True
            self._steps += int(n)
            self._cond.notify_all()

    def set_clock(self, mode: str, speed: float | None) -> None:
        self._command()
        with self._cond:
            self.mode = mode
            if speed is not None:
                self.speed = float(speed)
            self._cond.notify_all()

    def stop(self) -> None:
        self._command()
        with self._cond:
            self._stop = True
            self._cond.notify_all()

    def inject(self, spec: str, at: str | None) -> dict[str, Any]:
        raise UsageError(f"run {self.id} is a replay of a finished run: faults cannot be "
                         "injected into the past", )


# ---- the manager ----------------------------------------------------------------------------

class RunManager:
    """The runs the server knows: live ones it started, and replays of the run folders under
    ``runs_dir``. ``max_live``: live runs at once (each takes a core)."""

    def __init__(self, runs_dir: Path, *, max_live: int = 2) -> None:
        self.runs_dir = Path(runs_dir)
        self.max_live = int(max_live)
        self._lock = threading.Lock()
        self._runs: dict[str, LiveRun | ReplayRun] = {}

    def folder(self, run_id: str) -> Path:
        """The folder of run ``run_id`` inside ``runs_dir`` (refuses anything else)."""
        if not RUN_ID.fullmatch(run_id or ""):
            raise InputError(f"run id {run_id!r} is not a run folder name", field="run",
                             fix="Use the id the API gave (letters, digits, '-', '_', '.')")
        path = (self.runs_dir / run_id).resolve()
        if not path.is_relative_to(self.runs_dir.resolve()):
            raise InputError(f"run id {run_id!r} is outside the runs folder", field="run")
        return path

    def new_id(self, name: str) -> str:
        from orbemu.store.sqlite import database_path

        base = re.sub(r"[^A-Za-z0-9_.\-]", "-", name)[:80] or "run"
        rid, k = base, 1
        while rid in self._runs or database_path(self.runs_dir / rid).exists() or (
                self.runs_dir / rid).exists():
            k += 1
            rid = f"{base}-{k}"
        return rid

    def start(self, scenario: Any, *, paused: bool = False, run_id: str | None = None
              ) -> LiveRun:
        with self._lock:
            live = [r for r in self._runs.values()
                    if isinstance(r, LiveRun) and not r.done.is_set()]
            if len(live) >= self.max_live:
                raise UsageError(f"{len(live)} runs are already live (at most {self.max_live})",
                                 )
            rid = run_id or self.new_id(scenario.name)
            run_dir = self.folder(rid)
            run = LiveRun(rid, run_dir, scenario, paused=paused)
            self._runs[rid] = run
        return run.start()

    def add(self, run: LiveRun) -> None:
        with self._lock:
            self._runs[run.id] = run

    def get(self, run_id: str) -> LiveRun | ReplayRun:
        """A live run, or a replay of the run folder (created on first use)."""
        with self._lock:
            run = self._runs.get(run_id)
            if run is not None and not (isinstance(run, ReplayRun) and run.done.is_set()):
                return run
            path = self.folder(run_id)
            from orbemu.store.sqlite import database_path

            if not database_path(path).is_file():
                raise DataError(f"no run {run_id!r}: not a live run nor a run folder with a "
                                f"telemetry store under {self.runs_dir}")
            replay = ReplayRun(run_id, path)
            self._runs[run_id] = replay
        return replay.start()

    def list(self) -> list[dict[str, Any]]:
        from orbemu.store.query import query
        from orbemu.store.sqlite import database_path

        out = []
        with self._lock:
            known = dict(self._runs)
        for _, run in sorted(known.items()):
            if isinstance(run, LiveRun):
                out.append(run.status())
        seen = {r["id"] for r in out}
        if self.runs_dir.is_dir():
            for path in sorted(self.runs_dir.iterdir()):
                if path.name in seen or not database_path(path).is_file() or not \
                        RUN_ID.fullmatch(path.name):
                    continue
                try:
                    rows = query(path, "SELECT name, status, start_ns, duration_ns, step_ns "
                                       "FROM runs ORDER BY run_id DESC LIMIT 1")[1]
                except OrbemuError:
                    continue
                if rows:
                    name, status, start, duration, step = rows[0]
                    out.append({"id": path.name, "kind": "folder", "state": status,
                                "scenario": name, "start_ns": str(start),
                                "n_steps": int(duration) // int(step) if step else 0})
        return out

    def shutdown(self, timeout_s: float = 30.0) -> None:
        """Stop the live runs (each writes a checkpoint: resumable) and the replays."""
        with self._lock:
            runs = list(self._runs.values())
        for run in runs:
            try:
                if not run.done.is_set() and run.ready.is_set() and run.error is None:
                    run.stop()
            except OrbemuError:
                pass
        for run in runs:
            run.done.wait(timeout_s)
