"""The app host: runs every app of a run at its ticks, in process or over the bus, and turns what
the apps publish into what the engine applies and records.

The engine (:class:`orbemu.engine.Emulation`) owns one :class:`AppHost` when its setup has apps
and calls it at one point of each step (the *flight-software stage*, after the records at the
step's start and before its physics): :meth:`AppHost.step` runs the ticks due in ``[t0, t1)``
and returns a :class:`StepOutput` — telemetry points, spacecraft requests with their times,
images and files to queue on the downlink, images to delete, events, and the compute duty of
each satellite. The engine also tells the host what happened to the satellites (images captured:
:meth:`on_captures`; telecommands and ground messages that arrived: :meth:`on_uplink`; packets
delivered to the ground: :meth:`on_delivered`).

**One app instance per (app, satellite): a slot.** In-process slots call the app's methods
directly; per tick the cost is the context update, two ``thread_time_ns`` reads and the app's
own code (state messages are built only when the app asks for them). Remote slots (``process``
and ``bus`` runners) exchange packets with their program: the host sends every remote slot its
step (state per tick time, messages due, ``bus-time``) first, runs the in-process slots while the
programs work in parallel, then waits for each ``bus-step-done`` — lockstep: emulated time does
not move on until every app has answered or timed out.

**Order and determinism.** Within a step, ticks run in time order; within a tick time, slots in
the order of the apps section and of the satellites. What remote apps publish is kept per slot
as it arrives and handed to the engine in slot order, so the records do not depend on which
process answered first. Telemetry a remote app published before failing is kept (it was
received). Overruns and the ``measured`` compute duty depend on the machine; nothing else does.

**Failures.** An exception in an in-process app, a remote app's connection closing (a crash,
including a kill for memory), no step-done within ``tick_timeout_s`` of wall time (a hang: the
process is killed), or a process not connecting within ``start_timeout_s`` is an ``app_fault``
event with the cause (exit code or signal, the last lines of its log). The restart policy then
brings a new instance up at the first of the app's ticks at or after ``failure + backoff``
(with no backoff, the next tick: an app at 1 Hz is back within 1 s of emulated time), in the
same step when that tick falls in it; ``app_restart`` records the emulated downtime. An app out
of restarts is ``app_failed`` and stays down.

**Images.** On satellites with apps subscribing to :class:`~orbemu.fsw.messages.Image`, each
capture is rendered as a preview tile (:func:`orbemu.spacecraft.tiles.render_tiles`, sized by
the imager's swath from the satellite's height) and delivered at the next tick; the tile's ground
truth (cloud and land fractions) stays here and goes into the ``image_decision`` and
``image_delivered`` events, so a run's record scores the onboard decisions
(:func:`orbemu.fsw.evaluate.payload_summary`). With ``images: app`` the apps decide: an image
is held in storage until ``downlink_image`` queues it (created at its capture time, so the
latency recorded is capture → ground) or ``discard_image`` frees its bits.
"""

from __future__ import annotations

import bisect
import math
import selectors
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from orbemu.errors import UsageError
from orbemu.fsw import messages as m
from orbemu.fsw.app import App, AppContext, load_app_class
from orbemu.fsw.bus import (
    START_STEP,
    STOP_STEP,
    app_tm_bytes,
    decode_op,
    decode_step_done,
    subscription_types,
)
from orbemu.fsw.config import AppSpec, AppsSetup
from orbemu.fsw.process import Endpoint, Link, exit_reason, kill, rss_mb, spawn_app
from orbemu.spacecraft.tiles import render_tiles

__all__ = ["AppHost", "ImageRecord", "StepOutput", "WorldInfo"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
EventTuple = tuple[int, str, str, dict[str, Any]]
#: (fleet rows, t) → the state records of those rows at t (:data:`~orbemu.fsw.bus.STATE_DTYPE`)
SnapshotFn = Callable[[IntArray, int], npt.NDArray[Any]]
#: (source sat, destination sat, t) → (one-way delay s or None, reason when None)
RouteFn = Callable[[int, int, int], tuple[float | None, str]]

UP, DOWN, FAILED, STOPPED = "up", "down", "failed", "stopped"
PAYLOAD_APID, FILE_APID, APP_TM_APID = 0x020, 0x021, 0x030
_STATE = frozenset(m.STATE_TYPES)
#: Emulated time between two overrun events of one app (the count goes in the detail).
OVERRUN_EVENT_EVERY_NS = 60 * 10**9
_RSS_CHECK_S = 0.5


@dataclass(frozen=True, eq=False)
class WorldInfo:
    """What the host needs to know of the run (filled by the engine).

    names, norad: (n,) every satellite's name and catalog number. fleet_sats: (m,) run index of
    each modelled satellite (the host works in these *fleet rows*). target_*: the imaging
    targets. bits_per_image, swath_half_angle_deg, storage_capacity_bits: (m,) per fleet row.
    payload_packet_bytes: size of the payload packets an image is queued as.
    """

    start_ns: int
    step_ns: int
    end_ns: int
    seed: int
    names: npt.NDArray[Any]
    norad: IntArray
    fleet_sats: IntArray
    target_names: tuple[str, ...]
    target_lat_deg: FloatArray
    target_lon_deg: FloatArray
    bits_per_image: FloatArray
    swath_half_angle_deg: FloatArray
    payload_packet_bytes: int = 8192


@dataclass
class StepOutput:
    """What the apps did in one step (times are ns UTC; ``row`` a fleet row).

    telemetry: ``(time_ns, sat, key, value, row)`` points. requests: ``(time_ns, row, kind, a, b)``
    with kind ``mode`` (a mode, b target), ``capture`` (a target), ``payload`` (a on).
    downlinks: ``(row, apid, n_packets, packet_bytes, created_ns, priority_class)`` to queue.
    discards: ``(row, bits)`` to delete from storage. events: ``(time_ns, kind, subject,
    detail)``. duty: (m,) compute duty of the step, 0..1.
    """

    telemetry: list[tuple[int, int, str, float, int]] = field(default_factory=list)
    requests: list[tuple[int, int, str, int, int]] = field(default_factory=list)
    downlinks: list[tuple[int, int, int, int, int, int]] = field(default_factory=list)
    discards: list[tuple[int, float]] = field(default_factory=list)
    events: list[EventTuple] = field(default_factory=list)
    duty: FloatArray | None = None


class ImageRecord:
    """One image on a satellite with apps, with its ground truth and what became of it."""

    __slots__ = ("bits", "capture_ns", "cloud_fraction", "decided_ns", "decision",
                 "delivered_ns", "got_packets", "image_id", "land_fraction", "n_packets", "row",
                 "target")

    def __init__(self, image_id: int, row: int, target: int, capture_ns: int, bits: float,
                 cloud_fraction: float, land_fraction: float, n_packets: int) -> None:
        self.image_id = image_id
        self.row = row
        self.target = target
        self.capture_ns = capture_ns
        self.bits = bits
        self.cloud_fraction = cloud_fraction
        self.land_fraction = land_fraction
        self.n_packets = n_packets
        self.decision: str | None = None
        self.decided_ns: int | None = None
        self.delivered_ns: int | None = None
        self.got_packets = 0


class _LocalContext(AppContext):
    """The context of an in-process app: outputs appended to the slot's list."""

    __slots__ = ("_i", "_ops", "_row", "_snap", "_tm")

    def __init__(self, ops: list[tuple[Any, ...]], tm: list[Any], row: int,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._ops = ops
        self._tm = tm
        self._row = row
        self._snap: Any = None
        self._i = 0

    def _record(self) -> Any:
        if self._rec is None and self._snap is not None:
            self._rec = self._snap[self._i]
        return self._rec

    def _emit(self, op: tuple[Any, ...]) -> None:
        self._ops.append(op)

    def telemetry(self, key: str, value: float) -> None:
        self._tm.append((self.time_ns, self.sat_index, str(key), float(value), self._row))


class _Slot:
    """One app instance on one satellite (module notes)."""

    def __init__(self, index: int, spec_index: int, spec: AppSpec, row: int, sat: int,
                 sat_name: str, label: str, port_index: int) -> None:
        self.index = index
        self.port_index = port_index
        self.snap_i = 0  # the row of its satellite in the step's state records
        self.spec_index = spec_index
        self.spec = spec
        self.row = row
        self.sat = sat
        self.sat_name = sat_name
        self.label = label
        self.subject = f"{sat_name}/{label}"
        self.remote = spec.runner != "inprocess"
        self.cls: type[App] | None = None
        self.app: App | None = None
        self.ctx: _LocalContext | None = None
        self.period_ns = 10**9
        self.budget_ns = 10**7
        self.event_subs: frozenset[type] = frozenset()
        self.state_subs: tuple[type, ...] = ()
        self.status = DOWN
        self.inbox: list[tuple[int, int, Any]] = []
        self.ops: list[tuple[Any, ...]] = []
        self.debt_ns = 0
        self.restarts = 0
        self.restart_at = 0
        self.failed_at: int | None = None
        self.ticks = 0
        self.skipped = 0
        self.overruns = 0
        self.overruns_unreported = 0
        self.last_overrun_event = -(2**62)
        self.last_done = (0, 0)  # (ticks, cpu_ns) of the last step-done
        self.cpu_ns = 0
        self.cpu_max_ns = 0
        self.faults = 0
        # remote
        self.endpoint: Endpoint | None = None
        self.link: Link | None = None
        self.proc: Any = None
        self.log_path: Path | None = None
        self.awaiting: int | None = None  # step whose step-done is awaited
        self.deadline = 0.0
        self.batch: list[tuple[int, int]] = []  # the (tick, time) announced
        self.announced_until = 0  # ticks of the step up to this time were announced

    def apply_timing(self, rate_hz: float, budget_ms: float) -> None:
        self.period_ns = max(1, round(1e9 / rate_hz))
        self.budget_ns = max(1, round(budget_ms * 1e6))

    def stats(self) -> dict[str, Any]:
        return {"ticks": self.ticks, "skipped": self.skipped, "overruns": self.overruns,
                "cpu_ms": self.cpu_ns / 1e6, "cpu_max_ms": self.cpu_max_ns / 1e6,
                "faults": self.faults, "restarts": self.restarts, "status": self.status}


class AppHost:
    """Runs the apps of ``setup`` on the satellites of ``world`` (module notes).

    ``route(src_sat, dst_sat, t)``: the network's one-way delay between two satellites now, or
    None and why (the engine gives its relay network's); None: messages between satellites
    are refused.
    """

    def __init__(self, setup: AppsSetup, world: WorldInfo, *, route: RouteFn | None = None,
                 base_dir: str | Path | None = None) -> None:
        self.setup = setup
        self.world = world
        self.route = route
        m_rows = int(world.fleet_sats.size)
        self.m = m_rows
        row_of = {int(s): i for i, s in enumerate(world.fleet_sats)}
        self.sat_by_name = {str(nm): i for i, nm in enumerate(world.names)}
        self.slots: list[_Slot] = []
        self._tm: list[tuple[int, int, str, float, int]] = []
        for si, spec in enumerate(setup.apps):
            # out of process, the app's own process imports it (the engine learns its rate,
            # budget and subscriptions from its hello)
            cls = (load_app_class(spec.app, base_dir=base_dir)
                   if spec.app and spec.runner == "inprocess" else None)
            for k, sat in enumerate(spec.sats):
                if sat not in row_of:
                    raise UsageError(f"app {spec.label!r} is given satellite "
                                     f"{world.names[sat]} which is not modelled (apps run on "
                                     "satellites with a spacecraft class)")
                slot = _Slot(len(self.slots), si, spec, row_of[sat], int(sat),
                             str(world.names[sat]), spec.label, k)
                slot.cls = cls
                if cls is not None:
                    slot.apply_timing(spec.rate_hz or cls.rate_hz,
                                      spec.cpu_budget_ms or cls.cpu_budget_ms)
                    self._set_subs(slot, cls.subscriptions)
                else:
                    slot.apply_timing(spec.rate_hz or 1.0, spec.cpu_budget_ms or 10.0)
                self.slots.append(slot)
        self.local = [s for s in self.slots if not s.remote]
        self.remote = [s for s in self.slots if s.remote]
        self.rows = np.array(sorted({s.row for s in self.slots}), np.int64)
        self._snap_index = {int(r): i for i, r in enumerate(self.rows)}
        for s in self.slots:
            s.snap_i = self._snap_index[s.row]
        self.managed = np.zeros(m_rows, bool)  # fleet rows whose images the apps manage
        self.image_subs = np.zeros(m_rows, bool)
        for s in self.slots:
            if s.spec.images == "app":
                self.managed[s.row] = True
        self._refresh_image_subs()
        self.held_bits = np.zeros(m_rows)
        self.images: dict[int, ImageRecord] = {}
        self._pending_images: dict[tuple[int, int], ImageRecord] = {}
        self._files: dict[tuple[int, int], list[list[Any]]] = {}
        self._next_image = 0
        self._seq = 0
        self.tm_bytes = np.zeros(m_rows, np.int64)
        self._key_bytes: dict[str, int] = {}
        self.tm_points = np.zeros(m_rows, np.int64)
        self._endpoints: dict[tuple[int, str, int], Endpoint] = {}
        self._selector: selectors.BaseSelector | None = None
        self._last_rss = 0.0
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None
        self.workdir = Path(setup.workdir) if setup.workdir else None
        self.counters: dict[str, int] = {"messages_sent": 0, "messages_refused": 0,
                                         "files": 0, "images": 0}
        self._step = 0
        self._done: list[_Slot] = []
        self.started = False
        try:  # the endpoints open now: their addresses are known before the run starts
            for slot in self.remote:
                self._open_endpoint(slot)
        except BaseException:
            self.close()
            raise

    # ---- describing ------------------------------------------------------------------------
    def describe(self) -> str:
        kinds: dict[str, int] = {}
        for s in self.slots:
            kinds[s.spec.runner] = kinds.get(s.spec.runner, 0) + 1
        apps = len(self.setup.apps)
        parts = ", ".join(f"{n:,} {k}" for k, n in kinds.items())
        return f"flight software: {apps} app{'s' * (apps != 1)} on {self.rows.size:,} " \
               f"satellites ({parts})"

    def endpoints(self) -> dict[str, str]:
        """``{satellite: host:port}`` of the bus endpoints (after :meth:`start`)."""
        return {ep.label: ep.address for ep in self._endpoints.values()}

    def _set_subs(self, slot: _Slot, subs: Sequence[type]) -> None:
        slot.event_subs = frozenset(t for t in subs if t not in _STATE)
        slot.state_subs = tuple(t for t in subs if t in _STATE)

    def _refresh_image_subs(self) -> None:
        self.image_subs[:] = False
        for s in self.slots:
            if m.Image in s.event_subs:
                self.image_subs[s.row] = True

    def _event(self, out: list[EventTuple], t: int, kind: str, slot: _Slot,
               detail: dict[str, Any]) -> None:
        out.append((int(t), kind, slot.subject, detail))

    # ---- starting and stopping ---------------------------------------------------------------
    def _logdir(self) -> Path:
        if self.workdir is None:
            self._tmpdir = tempfile.TemporaryDirectory(prefix="orbemu-fsw-")
            self.workdir = Path(self._tmpdir.name)
        return self.workdir

    def start(self, t_ns: int) -> list[EventTuple]:
        """Start every app at ``t_ns`` (spawn processes, open endpoints, on_start)."""
        events: list[EventTuple] = []
        self.started = True
        self._selector = selectors.DefaultSelector()
        for slot in self.remote:
            if slot.endpoint is None:
                self._open_endpoint(slot)
        # processes first (they start in parallel), then connections, configs, on_starts
        for slot in self.remote:
            if slot.spec.runner == "process":
                self._spawn(slot)
        for slot in self.remote:
            self._connect(slot, t_ns, events, first=True)
        self._await_starts(t_ns, events)
        for slot in self.local:
            self._start_local(slot, t_ns, events)
        for slot in self.slots:
            if slot.status == UP:
                self._event(events, t_ns, "app_start", slot,
                            {"runner": slot.spec.runner, "rate_hz": 1e9 / slot.period_ns,
                             "cpu_budget_ms": slot.budget_ns / 1e6,
                             **({"endpoint": slot.endpoint.address}
                                if slot.endpoint is not None else {})})
        self._refresh_image_subs()
        return events

    def _start_local(self, slot: _Slot, t: int, events: list[EventTuple]) -> bool:
        assert slot.cls is not None
        w = self.world
        ctx = _LocalContext(slot.ops, self._tm, slot.row, sat=slot.sat_name, sat_index=slot.sat,
                            app=slot.label, params=slot.spec.params, targets=w.target_names,
                            restarts=slot.restarts)
        ctx.time_ns = t
        slot.ctx = ctx
        try:
            slot.app = slot.cls()
            a = time.thread_time_ns()
            slot.app.on_start(ctx)
            slot.cpu_ns += time.thread_time_ns() - a
        except Exception as exc:
            self._fail(slot, t, "exception", _exc_detail(exc), events)
            return False
        slot.status = UP
        return True

    def _open_endpoint(self, slot: _Slot) -> None:
        spec = slot.spec
        port = spec.port + slot.port_index if spec.port else 0
        key = (slot.sat, spec.host, port if port else -1)
        ep = self._endpoints.get(key)
        if ep is None:
            ep = self._endpoints[key] = Endpoint(spec.host, port, slot.sat_name)
        slot.endpoint = ep

    def _spawn(self, slot: _Slot) -> None:
        assert slot.endpoint is not None
        spec = slot.spec
        slot.log_path = self._logdir() / f"{slot.sat_name}.{slot.label}.log".replace("/", "_")
        slot.proc = spawn_app(app=spec.app if isinstance(spec.app, str) else "",
                              command=spec.command, host=slot.endpoint.host,
                              port=slot.endpoint.port, sat=slot.sat_name, name=slot.label,
                              limits=spec.limits, log_path=slot.log_path,
                              network=spec.network)

    def _connect(self, slot: _Slot, t: int, events: list[EventTuple], *, first: bool) -> bool:
        """Take the slot's connection from its endpoint and send the config."""
        assert slot.endpoint is not None and self._selector is not None
        spec = slot.spec
        name = slot.label if (spec.app or spec.name) else ""
        timeout = spec.start_timeout_s
        proc = slot.proc
        alive = (lambda: proc.poll() is None) if proc is not None else None
        link = slot.endpoint.take(name, timeout, hello_timeout_s=timeout, alive=alive)
        if link is None:
            gone = proc is not None and proc.poll() is not None
            reason = ({"reason": "the program ended before connecting" if gone else
                       f"no connection within {timeout:g} s"}
                      | (exit_reason(slot.proc, slot.log_path, 0.1) if slot.proc else {}))
            kill(slot.proc)
            self._fail(slot, t, "start", reason, events)
            return False
        hello = link.hello or {}
        slot.link = link
        if not (spec.app or spec.name) and hello.get("app"):
            slot.label = str(hello["app"])
            slot.subject = f"{slot.sat_name}/{slot.label}"
        rate = spec.rate_hz or float(hello.get("rate_hz") or 1.0)
        budget = spec.cpu_budget_ms or float(hello.get("cpu_budget_ms") or 10.0)
        slot.apply_timing(rate, budget)
        self._set_subs(slot, subscription_types(int(hello.get("subscriptions", 0))))
        w = self.world
        cfg = {"protocol": 1, "sat": slot.sat_name, "sat_index": slot.sat,
               "norad": int(w.norad[slot.sat]), "app": slot.label, "start_ns": w.start_ns,
               "step_ns": w.step_ns, "rate_hz": rate, "cpu_budget_ms": budget,
               "params": dict(spec.params), "targets": list(w.target_names),
               "restart": slot.restarts}
        if not link.send(link.codec.config(t, cfg)):
            self._lost(slot, t, events)
            return False
        self._selector.register(link.sock, selectors.EVENT_READ, slot)
        slot.awaiting = START_STEP
        slot.deadline = time.monotonic() + max(spec.tick_timeout_s, spec.start_timeout_s)
        return True

    def _await_starts(self, t: int, events: list[EventTuple]) -> None:
        self._wait(t, events)
        for slot in self.remote:
            if slot.awaiting is None and slot.link is not None and slot.status == DOWN:
                slot.status = UP

    def stop(self, t_ns: int) -> StepOutput:
        """Stop every app at the end of the run (on_stop; processes end); what the apps
        published in on_stop, and the app_stop events."""
        out = StepOutput()
        events = out.events
        if not self.started:
            return out
        for slot in self.local:
            if slot.status == UP and slot.app is not None and slot.ctx is not None:
                slot.ctx.time_ns = t_ns
                try:
                    slot.app.on_stop(slot.ctx)
                except Exception as exc:
                    self._event(events, t_ns, "app_fault", slot,
                                {"cause": "exception", "in": "on_stop", **_exc_detail(exc)})
        for slot in self.remote:
            if slot.status == UP and slot.link is not None:
                if slot.link.send(slot.link.codec.stop(t_ns)):
                    slot.awaiting = STOP_STEP
                    slot.deadline = time.monotonic() + min(slot.spec.tick_timeout_s, 5.0)
        self._wait(t_ns, events, on_stop=True)
        self._outputs(out, t_ns)
        for slot in self.slots:
            if slot.status == UP:
                slot.status = STOPPED
            self._event(events, t_ns, "app_stop", slot, slot.stats())
        self.close()
        self.started = False
        return out

    def close(self) -> None:
        """Release everything: connections, endpoints, processes (idempotent)."""
        for slot in self.remote:
            self._drop_link(slot)
            if slot.proc is not None:
                try:
                    slot.proc.wait(timeout=1.0)
                except Exception:
                    kill(slot.proc)
                slot.proc = None
        for ep in self._endpoints.values():
            ep.close()
        self._endpoints = {}
        if self._selector is not None:
            self._selector.close()
            self._selector = None
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None

    def _drop_link(self, slot: _Slot) -> None:
        if slot.link is not None:
            if self._selector is not None:
                try:
                    self._selector.unregister(slot.link.sock)
                except (KeyError, ValueError):
                    pass
            slot.link.close()
            slot.link = None
        slot.awaiting = None

    # ---- failures ------------------------------------------------------------------------------
    def _fail(self, slot: _Slot, t: int, cause: str, detail: dict[str, Any],
              events: list[EventTuple]) -> None:
        """Record a failure at emulated time ``t`` and schedule the restart per the policy."""
        slot.faults += 1
        slot.status = DOWN
        slot.failed_at = t
        slot.app = None
        self._drop_link(slot)
        if slot.proc is not None:
            kill(slot.proc)
            slot.proc = None
        pol = slot.spec.restart
        can = (pol.policy == "on-failure" and slot.restarts < pol.max_restarts
               and slot.spec.runner != "bus")
        if slot.spec.runner == "bus":
            can = True  # the engine cannot restart a program it did not start: it waits
        self._event(events, t, "app_fault", slot, {"cause": cause, **detail,
                                                   "restart": can})
        if can:
            slot.restart_at = t + pol.delay_ns(slot.restarts)
        else:
            slot.status = FAILED
            self._event(events, t, "app_failed", slot,
                        {"restarts": slot.restarts, "policy": pol.policy})

    def _lost(self, slot: _Slot, t: int, events: list[EventTuple]) -> None:
        """A remote app's connection closed: a crash (exit status and log in the event)."""
        detail = exit_reason(slot.proc, slot.log_path) if slot.proc is not None else {}
        slot.proc = None
        tail = str(detail.get("log_tail", ""))
        cause = "memory" if "MemoryError" in tail else "crash"
        if slot.spec.runner == "bus":
            cause = "disconnected"
        self._fail(slot, t, cause, detail, events)

    def _restart(self, slot: _Slot, t: int, events: list[EventTuple]) -> bool:
        """Bring a failed slot back at ``t``."""
        down_s = (t - slot.failed_at) / 1e9 if slot.failed_at is not None else 0.0
        if slot.spec.runner == "bus":
            assert slot.endpoint is not None
            link = slot.endpoint.take(slot.label if (slot.spec.app or slot.spec.name) else "",
                                      0.0, 2.0)
            if link is None:
                return False
            slot.endpoint.waiting.insert(0, link)
        else:
            slot.restarts += 1
        ok = False
        if slot.remote:
            if slot.spec.runner == "process":
                self._spawn(slot)
            if self._connect(slot, t, events, first=False):
                self._wait(t, events)
                ok = slot.awaiting is None and slot.link is not None
                if ok:
                    slot.status = UP
        else:
            ok = self._start_local(slot, t, events)
        if ok:
            self._event(events, t, "app_restart", slot, {"attempt": slot.restarts,
                                                         "down_s": down_s})
        return ok

    # ---- the step ------------------------------------------------------------------------------
    def step(self, k: int, t0: int, t1: int, snapshot: SnapshotFn) -> StepOutput:
        """Run the ticks in ``[t0, t1)`` (module notes)."""
        out = StepOutput()
        self._step = k
        start = self.world.start_ns
        snaps: dict[int, npt.NDArray[Any]] = {}

        def snap(t: int) -> npt.NDArray[Any]:
            s = snaps.get(t)
            if s is None:
                s = snaps[t] = snapshot(self.rows, t)
            return s

        duty = np.zeros(self.m)
        measured = self.setup.compute_duty == "measured"
        ticks_by_period: dict[int, list[tuple[int, int]]] = {}
        for slot in self.slots:
            p = slot.period_ns
            if p not in ticks_by_period:
                j0 = -((start - t0) // p)  # ceil((t0 - start) / p)
                j1 = -((start - t1) // p)
                ticks_by_period[p] = [(j, start + j * p) for j in range(j0, j1)]
        if not any(ticks_by_period.values()):
            out.duty = duty
            return out
        events = out.events
        self._done = []
        # 1. remote apps: restarts due, then each one's step goes out
        launches = []
        for slot in self.remote:
            ticks = ticks_by_period[slot.period_ns]
            if not ticks:
                continue
            if slot.status == DOWN and slot.restart_at <= ticks[-1][1]:
                t_r = next(t for _, t in ticks if t >= slot.restart_at)
                if self._restart(slot, t_r, events):
                    launches.append((slot, [x for x in ticks if x[1] >= t_r]))
            elif slot.status == UP:
                launches.append((slot, ticks))
        for slot, ticks in launches:
            self._launch(slot, ticks, k, t0, t1, snap, events)
        # 2. in-process apps, tick by tick (the per-app path: keep it lean)
        thread_ns = time.thread_time_ns
        scale = self.setup.cpu_scale
        cpu_by_row = [0.0] * self.m  # CPU (or reserved budget) per fleet row, ns
        for p, ticks in ticks_by_period.items():
            group = [s for s in self.local if s.period_ns == p and s.status != FAILED]
            if not group or not ticks:
                continue
            for j, t in ticks:
                rec = snap(t)
                # one clock read per app: each app's CPU is the time since the previous read
                # (its own code plus the host's bookkeeping for it, well under a microsecond)
                a = thread_ns()
                for slot in group:
                    if slot.status != UP:
                        if slot.status == DOWN and t >= slot.restart_at:
                            ok = self._restart(slot, t, events)
                            a = thread_ns()
                            if not ok:
                                continue
                        else:
                            continue
                    if slot.debt_ns > 0:
                        slot.debt_ns -= slot.budget_ns
                        slot.skipped += 1
                        a = thread_ns()
                        continue
                    ctx = slot.ctx
                    app = slot.app
                    assert ctx is not None and app is not None
                    ctx.time_ns = t
                    ctx.tick = j
                    ctx.step = k
                    ctx._rec = None
                    ctx._snap = rec
                    ctx._i = slot.snap_i
                    if ctx._cache:
                        ctx._cache = {}
                    try:
                        inbox = slot.inbox
                        while inbox and inbox[0][0] <= t:
                            app.on_message(ctx, inbox.pop(0)[2])
                        for kind in slot.state_subs:
                            app.on_message(ctx, ctx.latest(kind))
                        app.on_tick(ctx)
                    except Exception as exc:
                        slot.ticks += 1
                        self._fail(slot, t, "exception", _exc_detail(exc), events)
                        a = thread_ns()
                        continue
                    b = thread_ns()
                    used = b - a
                    a = b
                    slot.ticks += 1
                    slot.cpu_ns += used
                    if used > slot.cpu_max_ns:
                        slot.cpu_max_ns = used
                    cpu_by_row[slot.row] += used * scale if measured else slot.budget_ns
                    if used > slot.budget_ns:
                        self._overrun(slot, t, used, slot.budget_ns, events)
                        a = thread_ns()
        if self.local:
            duty += np.asarray(cpu_by_row, np.float64)
        # 3. remote apps: wait for every step-done (restarting what fails within the step)
        if self.remote:
            self._collect(k, t0, t1, snap, events, duty, measured)
        # 4. outputs, slot by slot
        self._outputs(out, t0)
        step_ns = t1 - t0
        out.duty = np.minimum(duty / step_ns, 1.0)
        return out

    def _overrun(self, slot: _Slot, t: int, used: int, budget: int,
                 events: list[EventTuple]) -> None:
        slot.overruns += 1
        slot.overruns_unreported += 1
        if slot.spec.overrun == "throttle":
            first = slot.debt_ns <= 0
            slot.debt_ns += used - budget
            if first:
                self._event(events, t, "app_throttled", slot,
                            {"cpu_ms": used / 1e6, "budget_ms": budget / 1e6,
                             "skip_ticks": math.ceil((used - budget) / slot.budget_ns)})
        elif t - slot.last_overrun_event >= OVERRUN_EVENT_EVERY_NS:
            self._event(events, t, "app_overrun", slot,
                        {"cpu_ms": used / 1e6, "budget_ms": budget / 1e6,
                         "overruns": slot.overruns_unreported})
            slot.last_overrun_event = t
            slot.overruns_unreported = 0

    def _launch(self, slot: _Slot, ticks: list[tuple[int, int]], k: int, t0: int, t1: int,
                snap: Callable[[int], npt.NDArray[Any]], events: list[EventTuple]) -> None:
        """Send a remote slot its ticks of the step (state, messages due, bus-time)."""
        if not ticks or slot.link is None:
            return
        if slot.debt_ns > 0:
            slot.debt_ns -= slot.budget_ns * len(ticks)
            slot.skipped += len(ticks)
            return
        link = slot.link
        codec = link.codec
        i = self._snap_index[slot.row]
        parts = [codec.state(t, snap(t)[i].tobytes()) for _, t in ticks]
        last_t = ticks[-1][1]
        inbox = slot.inbox
        while inbox and inbox[0][0] <= last_t:
            parts.append(codec.deliver(inbox.pop(0)[2]))
        p = slot.period_ns
        parts.append(codec.time(t0, k, t1, len(ticks), ticks[0][1], p, ticks[0][0]))
        slot.batch = ticks
        if not link.send(b"".join(parts)):
            self._lost(slot, ticks[0][1], events)
            return
        slot.awaiting = k
        slot.deadline = time.monotonic() + slot.spec.tick_timeout_s

    def _collect(self, k: int, t0: int, t1: int, snap: Callable[[int], npt.NDArray[Any]],
                 events: list[EventTuple], duty: FloatArray, measured: bool) -> None:
        while True:
            self._wait(t0, events)
            launches = []
            for slot in self.remote:
                if slot.status == DOWN and slot.batch and slot.spec.runner != "bus":
                    failed_at = slot.failed_at if slot.failed_at is not None else t0
                    rest = [x for x in slot.batch if x[1] > failed_at
                            and x[1] >= slot.restart_at]
                    slot.batch = []
                    # the restart falls in this step: the ticks after the failing one
                    if rest and self._restart(slot, rest[0][1], events):
                        launches.append((slot, rest))
            for slot, rest in launches:
                self._launch(slot, rest, k, t0, t1, snap, events)
            if not launches:
                break
        for slot in self._done:
            n, cpu = slot.last_done
            slot.ticks += n
            slot.cpu_ns += cpu
            slot.cpu_max_ns = max(slot.cpu_max_ns, cpu // max(n, 1))
            duty[slot.row] += cpu * self.setup.cpu_scale if measured else slot.budget_ns * n
            if n and cpu > slot.budget_ns * n:
                self._overrun(slot, slot.batch[0][1] if slot.batch else t0, cpu,
                              slot.budget_ns * n, events)
        self._done = []
        self._watch_memory(t0, events)

    def _wait(self, t: int, events: list[EventTuple], *, on_stop: bool = False) -> None:
        """Read until every awaited step-done arrived (or its slot failed)."""
        sel = self._selector
        if sel is None:
            return
        waiting = {s.index: s for s in self.remote if s.awaiting is not None}
        while waiting:
            now = time.monotonic()
            soonest = min(s.deadline for s in waiting.values())
            if soonest <= now:
                for s in [s for s in waiting.values() if s.deadline <= now]:
                    del waiting[s.index]
                    when = s.batch[0][1] if s.batch else t
                    if on_stop:
                        self._drop_link(s)
                        continue
                    kill(s.proc)
                    detail = {"timeout_s": s.spec.tick_timeout_s if s.awaiting != START_STEP
                              else s.spec.start_timeout_s}
                    s.proc = None
                    self._fail(s, when, "hang" if s.awaiting != START_STEP else "start",
                               detail, events)
                continue
            for key, _ in sel.select(soonest - now):
                slot: _Slot = key.data
                if slot.link is None:
                    continue
                pkts = slot.link.receive()
                if pkts is None:
                    waiting.pop(slot.index, None)
                    when = slot.batch[0][1] if slot.batch else t
                    self._take_ops(slot, [])  # what arrived before the end is kept
                    if on_stop:
                        self._drop_link(slot)
                    else:
                        self._lost(slot, when, events)
                    continue
                finished = self._take_ops(slot, pkts)
                if finished is not None and slot.index in waiting:
                    del waiting[slot.index]
                    slot.awaiting = None
                    if finished[0] not in (START_STEP, STOP_STEP):
                        slot.last_done = (finished[2], finished[1])
                        self._done.append(slot)

    def _take_ops(self, slot: _Slot, pkts: list[Any]) -> tuple[int, int, int] | None:
        """Keep the publishes of a packet batch; the step-done's (step, cpu, ticks) if any."""
        finished = None
        for pkt in pkts:
            name = pkt.name
            if name == "bus-step-done":
                step, cpu, ticks = decode_step_done(pkt)
                if step == slot.awaiting or (slot.awaiting is not None and step in
                                             (START_STEP, STOP_STEP)):
                    finished = (step, cpu, ticks)
            elif name in ("bus-telemetry", "bus-request", "bus-file", "bus-send", "bus-event"):
                slot.ops.extend(decode_op(pkt))
        return finished

    def _watch_memory(self, t: int, events: list[EventTuple]) -> None:
        now = time.monotonic()
        if now - self._last_rss < _RSS_CHECK_S:
            return
        self._last_rss = now
        for slot in self.remote:
            lim = slot.spec.limits.rss_mb
            if lim is None or slot.proc is None or slot.status != UP:
                continue
            rss = rss_mb(slot.proc.pid)
            if rss is not None and rss > lim:
                kill(slot.proc)
                slot.proc = None
                self._fail(slot, t, "memory", {"rss_mb": rss, "limit_mb": lim}, events)

    # ---- what the apps asked for -------------------------------------------------------------
    def _outputs(self, out: StepOutput, t0: int) -> None:
        # telemetry: the in-process apps' (tick by tick), then each remote app's in slot order
        tm = list(self._tm)
        self._tm.clear()
        for slot in self.slots:
            if not slot.ops:
                continue
            ops, slot.ops = slot.ops, []
            if slot.ctx is not None:
                slot.ctx._ops = slot.ops
            for op in ops:
                if op[0] == "tm":
                    tm.append((int(op[1]), slot.sat, str(op[2]), float(op[3]), slot.row))
                else:
                    self._apply(slot, op, out)
        if tm:
            out.telemetry = tm
            klen = self._key_bytes
            for key in {x[2] for x in tm} - klen.keys():
                klen[key] = int(app_tm_bytes(len(key.encode())))
            rows = np.fromiter((x[4] for x in tm), np.int64, len(tm))
            nbytes = np.fromiter((klen[x[2]] for x in tm), np.float64, len(tm))
            self.tm_bytes += np.bincount(rows, weights=nbytes, minlength=self.m).astype(np.int64)
            self.tm_points += np.bincount(rows, minlength=self.m)

    def _apply(self, slot: _Slot, op: tuple[Any, ...], out: StepOutput) -> None:
        kind, t = op[0], int(op[1])
        row = slot.row
        if kind == "mode":
            out.requests.append((t, row, "mode", int(op[2]), int(op[3])))
        elif kind == "capture":
            out.requests.append((t, row, "capture", int(op[2]), -1))
        elif kind == "payload":
            out.requests.append((t, row, "payload", int(bool(op[2])), 0))
        elif kind == "image":
            self._image_action(slot, t, int(op[2]), str(op[3]), int(op[4]), out)
        elif kind == "file":
            name, size, prio = str(op[2]), int(op[3]), int(op[4])
            pkt = self.world.payload_packet_bytes
            n = max(1, math.ceil(size / pkt))
            out.downlinks.append((row, FILE_APID, n, min(pkt, size + 14), t, prio))
            self._files.setdefault((row, t), []).append([name, size, n, 0, slot])
            self.counters["files"] += 1
            self._event(out.events, t, "app_file", slot, {"name": name, "bytes": size,
                                                          "priority": prio})
        elif kind == "send":
            self._send(slot, t, str(op[2]), bytes(op[3]), out)
        elif kind == "event":
            detail = dict(op[3]) if isinstance(op[3], dict) else {"detail": op[3]}
            self._event(out.events, t, "app_event", slot, {"kind": op[2], **detail})

    def _image_action(self, slot: _Slot, t: int, image_id: int, action: str, prio: int,
                      out: StepOutput) -> None:
        rec = self.images.get(image_id)
        if rec is None or rec.row != slot.row or not self.managed[rec.row]:
            why = ("no such image on this satellite" if rec is None or rec.row != slot.row
                   else "images of this satellite are downlinked automatically (images: auto)")
            self._event(out.events, t, "app_event", slot,
                        {"kind": "image_refused", "image_id": image_id, "reason": why})
            return
        if rec.decision is not None:
            return  # the first decision stands
        rec.decision = action
        rec.decided_ns = t
        self.held_bits[rec.row] -= rec.bits
        if action == "downlink":
            out.downlinks.append((rec.row, PAYLOAD_APID, rec.n_packets,
                                  self.world.payload_packet_bytes, rec.capture_ns, prio))
            self._pending_images[(rec.row, rec.capture_ns)] = rec
        else:
            out.discards.append((rec.row, rec.bits))
        self._event(out.events, t, "image_decision", slot, _image_detail(rec, self.world))

    def _send(self, slot: _Slot, t: int, dst: str, payload: bytes, out: StepOutput) -> None:
        dst_sat = self.sat_by_name.get(dst)
        delay: float | None = None
        listeners: list[_Slot] = []
        if dst_sat is None:
            reason = f"no satellite named {dst!r}"
        else:
            listeners = [s for s in self.slots if s.sat == dst_sat
                         and m.SatMessage in s.event_subs and s.status != FAILED]
            if not listeners:
                reason = f"no app on {dst} listens for SatMessage"
            elif dst_sat == slot.sat:
                delay, reason = 0.0, ""
            elif self.route is None:
                reason = "the run has no network"
            else:
                delay, reason = self.route(slot.sat, dst_sat, t)
        if delay is None:
            self.counters["messages_refused"] += 1
            self._event(out.events, t, "app_message_refused", slot,
                        {"dst": dst, "reason": reason, "bytes": len(payload)})
            report = m.SendReport(t, t, dst, False, float("nan"), reason)
        else:
            self.counters["messages_sent"] += 1
            arrival = t + round(delay * 1e9)
            msg = m.SatMessage(arrival, t, slot.sat_name, slot.label, payload, delay * 1e3)
            for target in listeners:
                self._post(target, msg)
            self._event(out.events, t, "app_message", slot,
                        {"dst": dst, "delay_ms": delay * 1e3, "bytes": len(payload)})
            report = m.SendReport(t, t, dst, True, delay * 1e3, "")
        if m.SendReport in slot.event_subs:
            self._post(slot, report)

    def _post(self, slot: _Slot, msg: Any) -> None:
        self._seq += 1
        bisect.insort(slot.inbox, (int(msg.time_ns), self._seq, msg))

    # ---- what happened to the satellites -------------------------------------------------------
    def on_captures(self, rows: IntArray, targets: IntArray, time_ns: int, bits: FloatArray,
                    alt_m: FloatArray) -> None:
        """Images taken at ``time_ns`` by fleet ``rows`` of ``targets``; rows whose apps
        subscribe to images get them with a preview tile (module notes)."""
        rows = np.asarray(rows, np.int64)
        want = self.image_subs[rows] | self.managed[rows]
        if not want.any():
            return
        w = self.world
        sel = np.flatnonzero(want)
        r, tg = rows[sel], np.asarray(targets, np.int64)[sel]
        b = np.asarray(bits, np.float64)[sel]
        size = 2.0 * np.maximum(np.asarray(alt_m, np.float64)[sel], 1e3) * np.tan(
            np.radians(w.swath_half_angle_deg[r]))
        size = np.where(size > 0, size, 10e3)
        tiles = render_tiles(w.target_lat_deg[tg], w.target_lon_deg[tg], time_ns, size,
                             pixels=self.setup.tile_pixels, seed=w.seed)
        for i in range(r.size):
            row, target = int(r[i]), int(tg[i])
            image_id = self._next_image
            self._next_image += 1
            self.counters["images"] += 1
            n_packets = max(1, math.ceil(float(b[i]) / (8 * w.payload_packet_bytes)))
            rec = ImageRecord(image_id, row, target, int(time_ns), float(b[i]),
                              float(tiles.cloud_fraction[i]), float(tiles.land_fraction[i]),
                              n_packets)
            self.images[image_id] = rec
            if self.managed[row]:
                self.held_bits[row] += rec.bits
            else:
                rec.decision = "auto"
                rec.decided_ns = int(time_ns)
                self._pending_images[(row, int(time_ns))] = rec
            msg = m.Image(int(time_ns), image_id, target, w.target_names[target],
                          float(w.target_lat_deg[target]), float(w.target_lon_deg[target]),
                          float(b[i]), float(size[i]), tiles.pixels[i])
            for slot in self.slots:
                if slot.row == row and m.Image in slot.event_subs and slot.status != FAILED:
                    self._post(slot, msg)

    def on_uplink(self, row: int, time_ns: int, sent_ns: int, command: str,
                  args: dict[str, Any]) -> None:
        """A telecommand (or, for ``app_message``, a ground message) reached fleet ``row``."""
        if command == "app_message":
            msg: Any = m.GroundMessage(int(time_ns), int(sent_ns),
                                       str(args.get("text", "")).encode())
        else:
            msg = m.Telecommand(int(time_ns), int(sent_ns), command, dict(args))
        for slot in self.slots:
            if slot.row == row and type(msg) in slot.event_subs and slot.status != FAILED:
                self._post(slot, msg)

    def on_delivered(self, log: Sequence[tuple[int, int, int, int, int, int, int]]
                     ) -> list[EventTuple]:
        """Down-link deliveries ``(row, contact, apid, created_ns, done_ns, packets, bytes)``:
        images and files of apps complete when their last packet arrives."""
        events: list[EventTuple] = []
        for row, _c, apid, created, done, count, _nbytes in log:
            if apid == PAYLOAD_APID:
                rec = self._pending_images.get((row, created))
                if rec is None:
                    continue
                rec.got_packets += count
                if rec.got_packets >= rec.n_packets:
                    rec.delivered_ns = int(done)
                    del self._pending_images[(row, created)]
                    events.append((int(done), "image_delivered",
                                   str(self.world.names[self.world.fleet_sats[row]]),
                                   {**_image_detail(rec, self.world),
                                    "latency_s": (done - rec.capture_ns) / 1e9}))
            elif apid == FILE_APID:
                files = self._files.get((row, created))
                while files and count > 0:
                    f = files[0]
                    take = min(count, f[2] - f[3])
                    f[3] += take
                    count -= take
                    if f[3] >= f[2]:
                        files.pop(0)
                        events.append((int(done), "file_delivered", f[4].subject,
                                       {"name": f[0], "bytes": f[1],
                                        "latency_s": (done - created) / 1e9}))
                if files is not None and not files:
                    del self._files[(row, created)]
        return events

    def take_tm(self, rows: IntArray) -> tuple[IntArray, IntArray, IntArray]:
        """The app telemetry of ``rows`` since their last packet, as ``app-tm`` packets:
        ``(rows, n_packets, packet_bytes)`` for those with points (the engine queues them at
        the satellites' housekeeping instants)."""
        rows = np.asarray(rows, np.int64)
        has = rows[self.tm_points[rows] > 0]
        if has.size == 0:
            z = np.zeros(0, np.int64)
            return z, z, z
        body = self.tm_bytes[has]
        n = np.maximum(1, -(-body // 65000))
        size = 16 + -(-body // n)
        self.tm_bytes[has] = 0
        self.tm_points[has] = 0
        return has, n, size

    # ---- summary and checkpoints -----------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """Counts of the run's flight software (apps, ticks, CPU, faults, messages, images)."""
        sl = self.slots
        by_status: dict[str, int] = {}
        for s in sl:
            by_status[s.status] = by_status.get(s.status, 0) + 1
        decided = [r for r in self.images.values() if r.decision in ("downlink", "discard")]
        payload = None
        if decided:
            from orbemu.fsw.evaluate import payload_summary
            payload = payload_summary(self.image_events())
        return {
            "apps": len(sl), "status": by_status,
            "ticks": sum(s.ticks for s in sl), "skipped": sum(s.skipped for s in sl),
            "overruns": sum(s.overruns for s in sl), "faults": sum(s.faults for s in sl),
            "restarts": sum(s.restarts for s in sl),
            "cpu_s": sum(s.cpu_ns for s in sl) / 1e9,
            **self.counters,
            "images_decided": len(decided), "payload": payload,
            "apps_detail": {s.subject: s.stats() for s in sl} if len(sl) <= 50 else None,
        }

    def image_events(self) -> list[dict[str, Any]]:
        """The ``image_decision``/``image_delivered`` events of the images so far, as rows
        (what :func:`orbemu.fsw.evaluate.payload_summary` reads)."""
        rows: list[dict[str, Any]] = []
        for r in self.images.values():
            if r.decision in ("downlink", "discard"):
                rows.append({"kind": "image_decision", "detail": _image_detail(r, self.world)})
            if r.delivered_ns is not None:
                rows.append({"kind": "image_delivered",
                             "detail": {**_image_detail(r, self.world),
                                        "latency_s": (r.delivered_ns - r.capture_ns) / 1e9}})
        return rows

    def state(self) -> dict[str, Any]:
        """Bookkeeping a checkpoint keeps (the apps themselves start afresh on resume)."""
        return {"images": {k: _record_state(r) for k, r in self.images.items()},
                "next_image": self._next_image, "held": self.held_bits.copy(),
                "tm": (self.tm_bytes.copy(), self.tm_points.copy()),
                "counters": dict(self.counters)}

    def restore(self, st: dict[str, Any]) -> None:
        self.images = {}
        self._pending_images = {}
        for k, vals in st["images"].items():
            rec = ImageRecord(*vals[:8])
            rec.decision, rec.decided_ns, rec.delivered_ns, rec.got_packets = vals[8:]
            self.images[int(k)] = rec
            if rec.decision in ("downlink", "auto") and rec.delivered_ns is None:
                self._pending_images[(rec.row, rec.capture_ns)] = rec
        self._next_image = int(st["next_image"])
        self.held_bits = st["held"].copy()
        self.tm_bytes, self.tm_points = (x.copy() for x in st["tm"])
        self.counters = dict(st["counters"])


def _record_state(r: ImageRecord) -> tuple[Any, ...]:
    return (r.image_id, r.row, r.target, r.capture_ns, r.bits, r.cloud_fraction,
            r.land_fraction, r.n_packets, r.decision, r.decided_ns, r.delivered_ns,
            r.got_packets)


def _image_detail(rec: ImageRecord, world: WorldInfo) -> dict[str, Any]:
    return {"image_id": rec.image_id, "target": world.target_names[rec.target],
            "capture_ns": rec.capture_ns, "bits": rec.bits, "decision": rec.decision,
            "cloud_fraction": rec.cloud_fraction, "land_fraction": rec.land_fraction}


def _exc_detail(exc: BaseException) -> dict[str, Any]:
    tb = traceback.format_exception(type(exc), exc, exc.__traceback__)
    return {"error": f"{type(exc).__name__}: {exc}", "log_tail": "".join(tb[-3:]).strip()}
