"""The emulation engine: one loop that steps every model of every satellite and records it.

:class:`Emulation` is built from an :class:`~orbemu.engine.config.EmulationSetup` (plain library
objects) and a :class:`~orbemu.engine.recorder.Sink`; :meth:`Emulation.run` steps it from the
start (or from a checkpoint, :meth:`Emulation.resume`) to the end. Everything is arrays over
satellites; no Python object per satellite.

Order of operations in step ``k`` over ``[t0, t1)`` (``t1 = t0 + step``):

1. **Records at t0** — network metrics of the monitored pairs when ``t0`` is a network instant
   (:mod:`orbemu.engine.network`); housekeeping rows when it is a housekeeping instant;
   housekeeping packets queued for the satellites whose radio interval is due (and the flight
   apps' telemetry since the last one, as ``app-tm`` packets).

   **Flight software** (when the setup has apps, :mod:`orbemu.fsw`): the app host runs every
   app tick in ``[t0, t1)`` — in process, and over the bus in lockstep with the apps' processes
   or hardware, which get the step's state and answer before time moves on. The ticks see the
   state at ``t0`` (positions and Sun at each tick's time). What the apps publish is applied
   now: telemetry points recorded, images and files queued for the downlink, discarded images
   deleted from storage, messages to other satellites routed, events recorded; their mode,
   capture and payload requests are scheduled at their ticks' times (below, like commands);
   the CPU duty of the step sets the payload computer's power over it.
2. **Segments.** The loop advances to the earlier of ``t1`` and the next scheduled event
   (:class:`~orbemu.engine.events.Schedule`: fault starts/ends, commands). At each segment start
   ``a`` it applies the events due at ``a`` (in :data:`~orbemu.engine.events.ORDER`), cuts the
   contacts they end, and re-seeds the detectors (discontinuous changes give events at ``a``).
   Over the segment ``[a, b)``:

   a. contacts (:mod:`orbemu.engine.contacts`): planned contacts start or are cancelled, active
      ones carry packets down and up (capacity = the exact integral of each contact's rate over
      the segment), contacts whose LOS falls in the segment end;
   b. the environment at ``a`` (positions, Sun, illuminated fraction — the conical shadow), and
      the fleet step :func:`orbemu.spacecraft.step_fleet` over ``b − a`` (attitude, imager,
      storage — which loses exactly what was downlinked —, power, safe mode);
   c. images captured are queued as payload packets (on satellites whose apps manage images,
      rendered as tiles and handed to the apps instead); commands that arrived run (from the
      next segment on) and are delivered to the satellite's apps;
   d. the fleet detectors (:mod:`orbemu.engine.detectors`) compare ``g(b)`` with ``g(a)`` and
      refine the crossings inside ``[a, b]``.

3. **End of step** — ``sink.end_step`` (the sink commits when its interval says), the clock
   paces (:class:`~orbemu.engine.clock.SimClock`), and a checkpoint is written when ``t1`` is a
   checkpoint instant.

Positions come from :class:`~orbemu.engine.positions.StateStream` (SGP4 on knots + Hermite,
streamed ahead in chunks): the modelled satellites at every step, the relay network's satellites
at the network instants only (so Starlink's 10,000 satellites cost one propagation per network
interval), tracked satellites at the housekeeping instants. States inside a step (a segment
boundary, a detector's refinement) are the cubic Hermite of the two grid states.

**Determinism.** Nothing depends on the wall clock or on iteration order of unordered
containers; faults are drawn before the run from the seed; the engine's own generator
(:attr:`Emulation.rng`, seeded by the setup's seed) is checkpointed. Same setup and seed, same
records.

**Checkpoints** (every ``records.checkpoint_every_ns``) hold, pickled into the sink at a step
boundary ``t_c``: the step index, the fleet state arrays, the fault state, the event schedule,
the contacts' execution state with the packet queues and sequence counters, the command state,
the detectors' last values, the network monitor's previous instant, the recorder's counters and
the generator's state, and the flight-software host's bookkeeping (images, telemetry not yet
packetized). Apps are not checkpointed: on resume they start again (``on_start``) at the
checkpoint's instant. :meth:`Emulation.resume` rebuilds the emulation from the same setup
(positions, plan and ISL plan are recomputed — they are pure functions of the setup), has the sink
drop every record at or after ``t_c`` and restores the state: the rest of the run writes exactly
the records an uninterrupted run writes.
"""

from __future__ import annotations

import pickle
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from orbemu.constants import NS_PER_S
from orbemu.engine.clock import ClockStats, SimClock, WallClock
from orbemu.engine.config import CommandSpec, EmulationSetup
from orbemu.engine.contacts import PAYLOAD_PACKET_BYTES, ContactOps, interval_steps_ns
from orbemu.engine.detectors import (
    BatteryLow,
    Eclipse,
    FleetFrame,
    StorageFull,
    Visibility,
)
from orbemu.engine.events import Crossings, Detector, Schedule
from orbemu.engine.faults import FaultInjector, FaultSpec, pair_rows
from orbemu.engine.network import NetworkMonitor
from orbemu.engine.positions import StateStream, SunTable
from orbemu.engine.recorder import Event, Recorder, RunInfo, Sink
from orbemu.errors import InputError, UsageError
from orbemu.fsw.bus import STATE_DTYPE
from orbemu.fsw.host import AppHost, StepOutput, WorldInfo
from orbemu.network.routing import shortest_paths
from orbemu.orbits.frames import itrf_to_geodetic
from orbemu.orbits.propagation import propagate
from orbemu.orbits.sun import illuminated_fraction
from orbemu.spacecraft.attitude import AttitudeMode
from orbemu.spacecraft.fleet import (
    Commands,
    Environment,
    FleetParams,
    FleetState,
    StepRecord,
    degrade_battery,
    force_safe_mode,
    release_storage,
    set_alive,
    step_fleet,
)
from orbemu.spacecraft.power import soc as power_soc
from orbemu.time import Time

if TYPE_CHECKING:
    from orbemu.engine.control import EmulationControl

__all__ = ["CHECKPOINT_VERSION", "Emulation", "EmulationStatus", "RunSummary"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Coarsest grid :meth:`Emulation.positions_m` interpolates on (coarser ones: SGP4).
_DISPLAY_MAX_GRID_NS = 60 * NS_PER_S
BoolArray = npt.NDArray[np.bool_]

#: Format version of checkpoints (a resumed run refuses another).
CHECKPOINT_VERSION = 1
_NEVER = np.iinfo(np.int64).max
_MODES = {"nadir": int(AttitudeMode.NADIR), "sun": int(AttitudeMode.SUN),
          "target": int(AttitudeMode.TARGET)}


@dataclass(frozen=True)
class EmulationStatus:
    """A snapshot for a live display: where the run is and what it just did."""

    step: int
    n_steps: int
    time_ns: int
    speed: float
    sats_alive: int
    n_sats: int
    contacts_active: int
    overruns: int
    recent: tuple[Event, ...]
    events_by_kind: dict[str, int]


@dataclass(frozen=True)
class RunSummary:
    """What a run did (see :meth:`Emulation.summary`)."""

    name: str
    status: str
    steps: int
    n_steps: int
    start_ns: int
    end_ns: int
    clock: ClockStats
    n_sats: int
    n_modelled: int
    sats_alive: int
    contacts_planned: int
    contacts: dict[str, int]
    down_bits: float
    up_bits: float
    packets: dict[str, int]
    images: int
    events_by_kind: dict[str, int]
    faults: int
    network: str
    notes: tuple[str, ...] = ()
    fsw: dict[str, Any] | None = None


def _hermite_state(r0: FloatArray, v0: FloatArray, r1: FloatArray, v1: FloatArray, h_s: float,
                   s: float) -> tuple[FloatArray, FloatArray]:
    """Cubic Hermite position and its derivative at fraction ``s`` of an interval of ``h_s``
    seconds (all rows at one instant)."""
    s2, s3 = s * s, s * s * s
    p = ((2 * s3 - 3 * s2 + 1) * r0 + (s3 - 2 * s2 + s) * h_s * v0
         + (3 * s2 - 2 * s3) * r1 + (s3 - s2) * h_s * v1)
    d = ((6 * s2 - 6 * s) / h_s * r0 + (3 * s2 - 4 * s + 1) * v0
         + (6 * s - 6 * s2) / h_s * r1 + (3 * s2 - 2 * s) * v1)
    return p, d


class Emulation:
    """The engine (see the module notes).

    Parameters
    ----------
    setup: what to run. sink: where records go.
    wall: the wall clock to pace against (tests inject one).
    """

    def __init__(self, setup: EmulationSetup, sink: Sink, *, wall: WallClock | None = None
                 ) -> None:
        self.setup = setup
        self.sink = sink
        self.recorder = Recorder(sink, setup.records.streams)
        self.notes: list[str] = []
        el = setup.elements
        clock_mode, speed = setup.clock, setup.speed
        hil = setup.apps.hil_sats if setup.apps is not None else ()
        if hil and clock_mode != "realtime":
            # hardware runs in real time: emulated time must not outrun it
            self.notes.append(f"hardware in the loop ({', '.join(str(el.names[s]) for s in hil)})"
                              f": the run is paced in real time (the setup asked for clock "
                              f"{clock_mode})")
            clock_mode, speed = "realtime", None
        self.clock = SimClock(clock_mode, speed, wall=wall)
        self.rng = np.random.default_rng(setup.seed)
        n = len(el)
        self.n = n
        self.n_steps = setup.n_steps
        start, step = setup.start_ns, setup.step_ns
        # ---- the fleet (modelled satellites) ----
        fl = setup.fleet
        self.fleet_sats = fl.sats if fl is not None else np.zeros(0, np.int64)
        self.m = int(self.fleet_sats.size)
        self.fleet_row = np.full(n, -1, np.int64)
        self.fleet_row[self.fleet_sats] = np.arange(self.m)
        self.fleet_names = el.names[self.fleet_sats]
        fleet_el = el.select(self.fleet_sats) if self.m else el.select(np.zeros(0, np.int64))
        if fl is not None and self.m:
            self.params = FleetParams.from_classes(fl.classes, fl.class_index, targets=fl.targets)
            radios = [c.radio for c in fl.classes]
            ci = fl.class_index
            self.down_rate = np.array([r.downlink_rate_bps for r in radios])[ci]
            self.up_rate = np.array([r.uplink_rate_bps for r in radios])[ci]
            self.hk_interval_ns = interval_steps_ns(
                np.array([r.housekeeping_interval_s for r in radios])[ci], step)
        else:
            from orbemu.spacecraft.classes import SpacecraftClass
            self.params = FleetParams.from_classes(SpacecraftClass(), 0)
            self.down_rate = self.up_rate = np.zeros(0)
            self.hk_interval_ns = np.zeros(0, np.int64)
        self.state = FleetState.initial(self.params, start)
        self.fleet_stream = StateStream(fleet_el, start, step, self.n_steps + 1)
        self.sun = SunTable(start, step, self.n_steps + 1)
        # ---- tracked satellites (propagated for the records only) ----
        roles = setup.roles if setup.roles is not None else np.array([], object)
        relay = setup.network.relay if setup.network is not None else np.zeros(0, np.int64)
        tracked = np.flatnonzero((roles == "tracked") & (self.fleet_row < 0)
                                 & ~np.isin(np.arange(n), relay))
        self.tracked = tracked.astype(np.int64)
        hk_every = setup.records.housekeeping_every_ns
        self.hk_points = setup.duration_ns // hk_every + 1
        self.tracked_stream = StateStream(el.select(self.tracked) if tracked.size else
                                          el.select(np.zeros(0, np.int64)), start, hk_every,
                                          self.hk_points)
        # ---- the relay network ----
        self.net: NetworkMonitor | None = None
        self.relay_stream: StateStream | None = None
        isl_lookup: Callable[[int, int], int] | None = None
        n_isl = 0
        if setup.network is not None and setup.network.relay.size:
            ns = setup.network
            self.net = NetworkMonitor(ns, el.select(ns.relay), setup.ground.select(ns.nodes),
                                      Time(np.int64(start)))
            self.net_points = setup.duration_ns // ns.interval_ns + 1
            self.relay_stream = StateStream(self.net.elements, start, ns.interval_ns,
                                            self.net_points)
            glob = ns.relay[self.net.plan.pairs] if len(self.net.plan) else np.zeros((0, 2))
            isl_lookup = pair_rows(glob)
            n_isl = len(self.net.plan)
            self.notes.append(self.net.describe())
        # ---- contacts ----
        self.contacts: ContactOps | None = None
        if setup.contacts is not None and self.m and setup.contacts.stations.size:
            self.contacts = ContactOps(setup.contacts, fleet_el, setup.ground, start,
                                       setup.duration_ns, sat_index=self.fleet_sats,
                                       down_rate_bps=self.down_rate, up_rate_bps=self.up_rate)
            self.station_row = np.full(len(setup.ground), -1, np.int64)
            self.station_row[setup.contacts.stations] = np.arange(setup.contacts.stations.size)
            self.notes.append(self.contacts.describe())
        # ---- faults and commands ----
        self.faults = FaultInjector(setup.faults, n, len(setup.ground), isl_row=isl_lookup,
                                    n_isl=n_isl, end_ns=setup.end_ns)
        self.schedule = Schedule()
        self.faults.schedule(self.schedule)
        self.injected: list[FaultSpec] = []  # added during the run (inject_fault)
        for i, cmd in enumerate(setup.commands):
            if setup.start_ns <= cmd.time_ns < setup.end_ns:
                self.schedule.push(cmd.time_ns, "command", i)
        self.mode_request = np.full(self.m, -1, np.int64)
        self.target_request = np.full(self.m, -1, np.int64)
        self.capture_on = np.ones(self.m, bool)
        self.payload_on = np.ones(self.m, bool)
        self.sent: list[tuple[int, int]] = []  # command id -> (command index, fleet row)
        self.sent_ns: list[int] = []  # command id -> when it was sent
        # ---- detectors ----
        self.detectors: list[Detector] = []
        if self.m:
            model = fl.eclipse_model if fl is not None else "point"
            self.detectors = [Eclipse(self.fleet_names, model=model),
                              BatteryLow(self.fleet_names), StorageFull(self.fleet_names)]
            if self.contacts is not None:
                self.detectors.append(Visibility(self.contacts.stations.nodes, self.fleet_names))
        # ---- run state ----
        self.step_index = 0
        self.status = "created"
        self._resumed = False
        self._r: FloatArray | None = None  # fleet states at the current step start
        self._v: FloatArray | None = None
        self._last: StepRecord | None = None
        self._since_hk_captures = np.zeros(self.m, np.int64)
        self._since_hk_down = np.zeros(self.m)
        self._illuminated = np.ones(self.m)
        self.images = 0
        # ---- flight software ----
        self.apps: AppHost | None = None
        self.hil = np.zeros(self.m, bool)
        self._duty: FloatArray | None = None
        self._r1: FloatArray | None = None
        self._v1: FloatArray | None = None
        self._routes: dict[tuple[int, int], Any] = {}
        self._position_groups: list[tuple[IntArray, StateStream]] | None = None
        self._position_rest = np.zeros(0, np.int64)
        if setup.apps is not None and setup.apps.apps and self.m:
            self.apps = AppHost(setup.apps, self._world_info(), route=self._route)
            self.hil[self.fleet_row[list(hil)]] = True
            self.notes.append(self.apps.describe())

    # ---- building blocks -------------------------------------------------------------------------
    @property
    def time_ns(self) -> int:
        return self.setup.start_ns + self.step_index * self.setup.step_ns

    def _frame(self, t: int, r: FloatArray, v: FloatArray, sun: FloatArray, dist: float
               ) -> FleetFrame:
        return FleetFrame(int(t), r, v, sun, dist, self.state, self.params)

    def _detect(self, crossings: Crossings, det: Detector) -> list[Event]:
        if not len(crossings):
            return []
        subjects = det.subjects(crossings.item)  # type: ignore[attr-defined]
        details = det.details(crossings)  # type: ignore[attr-defined]
        out = []
        for t, up, subj, det_detail in zip(crossings.time_ns.tolist(), crossings.rising.tolist(),
                                           subjects, details, strict=True):
            kind = det.rising_kind if up else det.falling_kind
            if kind is not None:
                out.append(Event(int(t), kind, subj, det_detail))
        return out

    def _fleet_alive(self) -> BoolArray:
        return self.state.alive

    # ---- flight software ---------------------------------------------------------------------
    def _world_info(self) -> WorldInfo:
        s = self.setup
        tg = self.params.targets
        return WorldInfo(start_ns=s.start_ns, step_ns=s.step_ns, end_ns=s.end_ns, seed=s.seed,
                         names=s.elements.names, norad=np.asarray(s.elements.norad_ids),
                         fleet_sats=self.fleet_sats,
                         target_names=tuple(str(x) for x in tg.names),
                         target_lat_deg=tg.lat_deg, target_lon_deg=tg.lon_deg,
                         bits_per_image=self.params.imager.bits_per_image,
                         swath_half_angle_deg=self.params.imager.swath_half_angle_deg,
                         payload_packet_bytes=PAYLOAD_PACKET_BYTES)

    def _app_snapshot(self, rows: IntArray, t: int) -> npt.NDArray[Any]:
        """State records (:data:`orbemu.fsw.bus.STATE_DTYPE`) of fleet ``rows`` at ``t`` in the
        current step: positions and Sun at ``t``, the models' state at the step's start."""
        k = self.step_index
        s = self.setup
        t0 = s.start_ns + k * s.step_ns
        assert self._r is not None and self._v is not None
        r, v = self._r[rows], self._v[rows]
        if t == t0 or self._r1 is None or self._v1 is None:
            sun, dist = self.sun.at(k)
        else:
            frac = (t - t0) / s.step_ns
            r, v = _hermite_state(r, v, self._r1[rows], self._v1[rows], s.step_ns / NS_PER_S,
                                  frac)
            sun, dist = self.sun.between(k, frac)
        st, p = self.state, self.params
        lat, lon, alt = itrf_to_geodetic(r)
        lit = illuminated_fraction(r, sun * dist)
        rec = np.zeros(rows.size, STATE_DTYPE)
        rec["step"] = k
        rec["r_itrf_m"] = r
        rec["v_itrf_m_s"] = v
        rec["lat_deg"] = np.degrees(lat)
        rec["lon_deg"] = np.degrees(lon)
        rec["alt_m"] = alt
        rec["sun_itrf"] = sun
        rec["illuminated_fraction"] = lit
        rec["mode"] = st.attitude.mode[rows]
        contact = (self.contacts.active_sats()[rows] if self.contacts is not None
                   else np.zeros(rows.size, bool))
        rec["flags"] = ((lit < 1.0) | (st.attitude.slewing(t)[rows] << 1)
                        | (st.power.safe_mode[rows] << 2) | (st.alive[rows] << 3)
                        | (contact << 4))
        rec["target"] = st.attitude.target[rows]
        rec["soc"] = power_soc(st.power, p.power)[rows]
        rec["battery_wh"] = st.power.charge_wh[rows]
        last = self._last
        rec["power_in_w"] = last.generated_w[rows] if last is not None else np.nan
        rec["power_out_w"] = last.load_w[rows] if last is not None else np.nan
        rec["storage_used_bits"] = st.storage.used_bits[rows]
        rec["storage_capacity_bits"] = p.storage.capacity_bits[rows]
        return rec

    def _route(self, src: int, dst: int, t: int) -> tuple[float | None, str]:
        """One-way delay (s) of the relay network's path between satellites ``src`` and
        ``dst`` at its last instant, or None and why."""
        names = self.setup.elements.names
        if self.net is None:
            return None, "the run has no relay network"
        relay = {int(x): i for i, x in enumerate(self.net.setup.relay)}
        for sat in (src, dst):
            if sat not in relay:
                return None, f"{names[sat]} is not in the relay network (no network terminal)"
        topo = self.net.topology
        if topo is None:
            return None, "the network has not been sampled yet"
        key = (int(self.net.topology_time or 0), relay[src])
        routes = self._routes.get(key)
        if routes is None:
            self._routes = {}
            routes = self._routes[key] = shortest_paths(topo, [relay[src]], metric="delay")
        if not bool(routes.reachable(relay[src], relay[dst])):
            return None, (f"no path from {names[src]} to {names[dst]} at the last network "
                          "instant")
        return float(routes.delay_s(relay[src], relay[dst])), ""

    def _start_apps(self) -> None:
        assert self.apps is not None
        t = self.time_ns
        events = self.apps.start(t)
        if self.hil.any():
            events.append((t, "hil", self.setup.name,
                           {"satellites": [str(x) for x in self.fleet_names[self.hil]],
                            "endpoints": self.apps.endpoints(), "clock": "realtime"}))
        self._app_events(events)

    def _app_events(self, events: list[tuple[int, str, str, dict[str, Any]]]) -> None:
        if events:
            self.recorder.events([Event(t, kind, subj, d) for t, kind, subj, d in events])

    def _flight_software(self, k: int, t0: int, t1: int) -> None:
        assert self.apps is not None
        out = self.apps.step(k, t0, t1, self._app_snapshot)
        self._apply_app_output(out, requests=True)

    def _apply_app_output(self, out: StepOutput, *, requests: bool) -> None:
        assert self.apps is not None
        c = self.recorder.counters
        if out.telemetry:
            times, sats, keys, values, _rows = zip(*out.telemetry, strict=True)
            self.sink.write_points(np.array(times, np.int64), np.array(sats, np.int64),
                                   list(keys), np.array(values, np.float64))
            c["app_telemetry_points"] += len(out.telemetry)
        if requests:
            for t, row, kind, a, b in out.requests:
                self.schedule.push(t, "app_request", (row, kind, a, b))
        if self.contacts is not None:
            for row, apid, n, size, created, prio in out.downlinks:
                self.contacts.down.push_bulk([row], n, size, created, apid=apid,
                                             priority_class=prio)
        if out.discards:
            rows, bits = zip(*out.discards, strict=True)
            self.state = release_storage(self.state, list(rows), list(bits))
        if out.duty is not None:
            duty = np.ones(self.m)
            duty[self.apps.rows] = out.duty[self.apps.rows]
            self._duty = duty
        self._app_events(out.events)

    def _app_request(self, t: int, row: int, kind: str, a: int, b: int) -> None:
        if kind == "mode":
            self.mode_request[row] = a
            self.target_request[row] = b if a == _MODES["target"] else -1
        elif kind == "capture":
            self.mode_request[row] = _MODES["target"]
            self.target_request[row] = a
            self.payload_on[row] = True
            self.capture_on[row] = True
        elif kind == "payload":
            self.payload_on[row] = bool(a)
            self.capture_on[row] = bool(a)

    # ---- starting ----------------------------------------------------------------------------
    def _begin(self) -> None:
        s = self.setup
        el = s.elements
        assert s.constellation is not None and s.roles is not None and s.class_name is not None
        self.sink.start_run(RunInfo(name=s.name, scenario_text=s.scenario_text, seed=s.seed,
                                    start_ns=s.start_ns, step_ns=s.step_ns,
                                    duration_ns=s.duration_ns, scenario_source=s.scenario_source,
                                    metadata={**dict(s.metadata), "notes": self.notes}))
        self.sink.write_satellites([str(x) for x in el.names], norad_ids=el.norad_ids,
                                   constellation=[str(x) for x in s.constellation],
                                   role=[str(x) for x in s.roles],
                                   spacecraft_class=[str(x) for x in s.class_name])
        g = s.ground
        self.sink.write_ground_nodes([str(x) for x in g.names],
                                     roles=[str(x) for x in g.roles],
                                     lat_deg=g.lat_deg, lon_deg=g.lon_deg, alt_m=g.alt_m)
        if self.contacts is not None and self.recorder.wants("contacts"):
            cols = self.contacts.plan_columns()
            self.sink.write_contact_plan(**cols)
        if self.faults.faults:
            self.sink.write_faults(**self.faults.table())
        self.recorder.enter(s.start_ns, s.start_ns + s.step_ns, 0)
        self.recorder.events([Event(s.start_ns, "run_start", s.name,
                                    {"steps": self.n_steps, "notes": self.notes})])
        r, v = self.fleet_stream.at(0)
        sun, dist = self.sun.at(0)
        frame = self._frame(s.start_ns, r, v, sun, dist)
        for det in self.detectors:
            det.start(frame)

    # ---- the loop ----------------------------------------------------------------------------
    def run(self, *, until_step: int | None = None,
            progress: Callable[[EmulationStatus], None] | None = None,
            control: EmulationControl | None = None) -> RunSummary:
        """Step to the end (or to ``until_step``, leaving the run open: tests and pauses).

        ``progress`` is called after every step with an :class:`EmulationStatus`. ``control``
        (:class:`~orbemu.engine.control.EmulationControl`) steers the run from other threads:
        the loop takes its commands between steps (pause, single steps, speed, faults, stop)
        and calls its observers after each step. The sink is closed with status ``completed``
        at the end (``failed`` if an exception escapes, ``interrupted`` on KeyboardInterrupt,
        ``stopped`` when the control stops the run — after a checkpoint, so ``orbemu run
        --resume`` continues it; everything committed before stays).
        """
        last = self.n_steps if until_step is None else min(int(until_step), self.n_steps)
        if self.status == "created":
            if not self._resumed:
                self._begin()
            else:
                self.recorder.enter(self.time_ns, self.time_ns + self.setup.step_ns,
                                    self.step_index)
                self.recorder.events([Event(self.time_ns, "run_resumed", self.setup.name,
                                            {"step": self.step_index})])
            if self.apps is not None:
                try:
                    self._start_apps()
                except BaseException:
                    self.apps.close()
                    self.status = "failed"
                    self.sink.close("failed")
                    raise
            self.clock.start(self.time_ns)
            self.status = "running"
        try:
            while self.step_index < last:
                if control is not None and not control.before_step(self):
                    self.checkpoint()
                    self.status = "stopped"
                    self.sink.close("stopped")
                    control.finished(self)
                    return self.summary()
                self._step(self.step_index)
                if progress is not None:
                    progress(self.status_now())
                if control is not None:
                    control.after_step(self)
        except KeyboardInterrupt:
            self.status = "interrupted"
            if self.apps is not None:
                self.apps.close()
            self.sink.close("interrupted")
            raise
        except BaseException as exc:
            self.status = "failed"
            if self.apps is not None:
                self.apps.close()
            self.sink.close("failed")
            if control is not None:
                control.failed(exc)
            raise
        if self.step_index >= self.n_steps and self.status == "running":
            self.recorder.enter(self.setup.end_ns - 1, self.setup.end_ns, self.n_steps)
            if self.apps is not None:
                self._apply_app_output(self.apps.stop(self.setup.end_ns - 1), requests=False)
            self.recorder.events([Event(self.setup.end_ns - 1, "run_end", self.setup.name,
                                        {"steps": self.n_steps})])
            self._close_open_contacts()
            self.status = "completed"
            self.sink.close("completed")
        if control is not None:
            control.finished(self)
        return self.summary()

    def _step(self, k: int) -> None:
        s = self.setup
        step = s.step_ns
        t0 = s.start_ns + k * step
        t1 = t0 + step
        h_s = step / NS_PER_S
        rec = self.recorder
        rec.enter(t0, t1, k)
        if self._r is None or self._v is None:
            self._r, self._v = self.fleet_stream.at(k)
        r0, v0 = self._r, self._v
        r1, v1 = self.fleet_stream.at(k + 1)
        self._r1, self._v1 = r1, v1
        sun0, d0 = self.sun.at(k)
        elapsed = t0 - s.start_ns
        # 1. records at t0
        if self.net is not None and elapsed % self.net.setup.interval_ns == 0:
            self._network(t0, elapsed // self.net.setup.interval_ns)
        if elapsed % s.records.housekeeping_every_ns == 0:
            self._housekeeping(t0, r0, elapsed // s.records.housekeeping_every_ns)
        if self.contacts is not None:
            due_mask = (elapsed % self.hk_interval_ns == 0) & self.state.alive
            due = np.flatnonzero(due_mask & ~self.hil)  # hardware sends its own
            if due.size:
                self._queue_hk(t0, r0, due)
            if self.apps is not None:
                rows, n_pk, size = self.apps.take_tm(np.flatnonzero(due_mask))
                if rows.size:
                    self.contacts.down.push_bulk(rows, n_pk, size, t0, apid=0x030)
        if self.apps is not None:
            self._flight_software(k, t0, t1)
        # 2. segments
        cur, r_c, v_c, sun_c, d_c = t0, r0, v0, sun0, d0
        while cur < t1:
            due_events = self.schedule.pop_due(cur)
            if due_events:
                self._apply_scheduled(cur, due_events)
                frame = self._frame(cur, r_c, v_c, sun_c, d_c)
                for det in self.detectors:
                    rec.events(self._detect(det.reseed(frame), det))
            nxt_event = self.schedule.next_time()
            nxt = t1 if nxt_event is None or nxt_event >= t1 else max(nxt_event, cur + 1)
            if nxt == t1:
                r_n, v_n = r1, v1
                sun_n, d_n = self.sun.at(k + 1)
            else:
                frac = (nxt - t0) / step
                r_n, v_n = _hermite_state(r0, v0, r1, v1, h_s, frac)
                sun_n, d_n = self.sun.between(k, frac)
            frame_a = self._frame(cur, r_c, v_c, sun_c, d_c)
            self._advance(cur, nxt, r_c, v_c, sun_c, d_c)
            frame_b = self._frame(nxt, r_n, v_n, sun_n, d_n)
            for det in self.detectors:
                rec.events(self._detect(det.step(frame_a, frame_b), det))
            cur, r_c, v_c, sun_c, d_c = nxt, r_n, v_n, sun_n, d_n
        self._r, self._v = r1, v1
        # 3. end of step
        self.step_index = k + 1
        self.sink.end_step(k, t1)
        self.clock.pace(t1)
        every = s.records.checkpoint_every_ns
        if every is not None and (t1 - s.start_ns) % every == 0 and self.step_index < self.n_steps:
            self.checkpoint()

    # ---- one segment -------------------------------------------------------------------------
    def _advance(self, a: int, b: int, r: FloatArray, v: FloatArray, sun: FloatArray,
                 dist: float) -> None:
        dt_s = (b - a) / NS_PER_S
        rec = self.recorder
        m = self.m
        if m == 0:
            return
        contact_s = np.zeros(m)
        down_cap = np.zeros(m)
        traffic = None
        if self.contacts is not None:
            st_up = self.faults.state.ground_up[self.setup.contacts.stations]  # type: ignore[union-attr]
            traffic = self.contacts.segment(a, b, self.state.alive, st_up)
            contact_s = np.minimum(traffic.contact_s, dt_s)
            queued_payload = 8.0 * self.contacts.down.queued_bytes[:, -1]
            held: FloatArray | float = 0.0
            if self.apps is not None:
                # apps may queue payload in any class; images awaiting a decision stay put
                queued_payload = 8.0 * self.contacts.down.queued_bytes.sum(axis=1)
                held = self.apps.held_bits
            untracked = np.maximum(self.state.storage.used_bits - queued_payload
                                   - traffic.payload_bits - held, 0.0)
            drained = np.minimum(traffic.spare_bits, untracked)
            down_cap = traffic.payload_bits + drained
            self.contacts.account_drained(drained, a, b)
        rate = np.where(down_cap > 0, down_cap / dt_s, 0.0) if dt_s > 0 else np.zeros(m)
        env = Environment.compute(a, r, v, downlink_rate_bps=rate,
                                  contact_s=np.where(down_cap > 0, dt_s, 0.0),
                                  sun_itrf=sun, sun_distance_m=dist)
        self._illuminated = env.illuminated_fraction
        cmds = Commands.default(m, mode=self.mode_request, target=self.target_request,
                                capture=self.capture_on, payload_on=self.payload_on,
                                transmitter_on=contact_s > 0)
        if self._duty is not None:
            cmds = replace(cmds, compute_duty=self._duty)
        self.state, record = step_fleet(self.state, self.params, env, dt_s, cmds)
        self._last = record
        self.mode_request[:] = -1
        events: list[Event] = []
        if record.capture_sat.size:
            cs = record.capture_sat
            self.images += int(cs.size)
            np.add.at(self._since_hk_captures, cs, 1)
            hit = self.target_request[cs] == record.capture_target
            self.target_request[cs[hit]] = -1
            auto = np.ones(cs.size, bool)
            if self.apps is not None:
                _, _, alt = itrf_to_geodetic(r[cs])
                self.apps.on_captures(cs, record.capture_target, a, record.capture_bits, alt)
                auto = ~self.apps.managed[cs]
            if self.contacts is not None and auto.any():
                self.contacts.queue_images(cs[auto], record.capture_bits[auto], a)
            names = self.params.targets.names
            events += [Event(a, "capture", str(self.fleet_names[i]),
                             {"target": str(names[j]), "bits": float(b_)})
                       for i, j, b_ in zip(cs.tolist(), record.capture_target.tolist(),
                                           record.capture_bits.tolist(), strict=True)]
        self._since_hk_down += record.downlinked_bits
        events += [Event(b, "safe_mode_entry", str(self.fleet_names[i]), {"cause": "power"})
                   for i in record.safe_entered.tolist()]
        events += [Event(b, "safe_mode_exit", str(self.fleet_names[i]), None)
                   for i in record.safe_exited.tolist()]
        if traffic is not None:
            if self.apps is not None and traffic.down_log:
                events += [Event(t, kind, subj, d)
                           for t, kind, subj, d in self.apps.on_delivered(traffic.down_log)]
            events += traffic.events
            self._write_closed(traffic.closed)
            self._write_packets(traffic.packets, a, b)
            for sat_row, t_arr, cid in traffic.commands:
                events += self._execute(cid, sat_row, int(t_arr))
        rec.events(events)

    # ---- records -----------------------------------------------------------------------------
    def _write_closed(self, rows: list[int]) -> None:
        if not rows or self.contacts is None:
            return
        cols = self.contacts.closed_columns(rows)
        c = self.recorder.counters
        for st in cols["status"]:
            c[f"contacts_{st}"] += 1
        if self.recorder.wants("contacts"):
            self.sink.write_contacts(**cols)

    def _write_packets(self, packets: list[tuple[int, int, int, str, int, int, float]],
                       a: int, b: int) -> None:
        if not packets:
            return
        c = self.recorder.counters
        groups: dict[tuple[int, int, str], list[float]] = {}
        for done, s, apid, direction, nbytes, count, latency in packets:
            key = (s, apid, direction)
            g = groups.setdefault(key, [0.0, 0.0, 0.0, float(a)])
            g[0] += nbytes
            g[1] += count
            g[2] += latency * count
            g[3] = max(g[3], float(done))
            c[f"packets_{direction}"] += count
            c[f"bytes_{direction}"] += nbytes
        if not self.recorder.wants("packets"):
            return
        keys = sorted(groups)
        stamp = self.recorder.stamp
        self.sink.write_packets(
            [stamp(int(groups[k][3])) for k in keys],
            self.fleet_sats[[k[0] for k in keys]], [k[1] for k in keys], [k[2] for k in keys],
            [int(groups[k][0]) for k in keys],
            [groups[k][2] / groups[k][1] if groups[k][1] else np.nan for k in keys],
            count=[int(groups[k][1]) for k in keys])

    def _housekeeping(self, t: int, r_fleet: FloatArray, j: int) -> None:
        rec = self.recorder
        if not rec.wants("housekeeping"):
            self._since_hk_captures[:] = 0
            self._since_hk_down[:] = 0
            return
        parts = []
        if self.m:
            st = self.state
            p = self.params
            last = self._last
            lat, lon, alt = itrf_to_geodetic(r_fleet)
            in_contact = (self.contacts.active_sats() if self.contacts is not None
                          else np.zeros(self.m, bool))
            cols: dict[str, Any] = {
                "alive": st.alive.astype(np.int64),
                "x_m": r_fleet[:, 0], "y_m": r_fleet[:, 1], "z_m": r_fleet[:, 2],
                "lat_deg": np.degrees(lat), "lon_deg": np.degrees(lon), "alt_m": alt,
                "mode": st.attitude.mode.astype(np.int64),
                "safe_mode": st.power.safe_mode.astype(np.int64),
                "soc": power_soc(st.power, p.power),
                "battery_wh": st.power.charge_wh,
                "capacity_factor": st.power.capacity_factor,
                "power_in_w": last.generated_w if last is not None else np.full(self.m, np.nan),
                "power_out_w": last.load_w if last is not None else np.full(self.m, np.nan),
                "illuminated": self._illuminated,
                "storage_bits": st.storage.used_bits,
                "storage_fill": st.storage.used_bits / np.maximum(p.storage.capacity_bits, 1.0),
                "in_contact": in_contact.astype(np.int64),
                "captures": self._since_hk_captures.copy(),
                "downlinked_bits": self._since_hk_down.copy(),
            }
            parts.append((self.fleet_sats, cols))
            self._since_hk_captures[:] = 0
            self._since_hk_down[:] = 0
        if self.tracked.size:
            r, _ = self.tracked_stream.at(j)
            lat, lon, alt = itrf_to_geodetic(r)
            nan = np.full(self.tracked.size, np.nan)
            alive = self.faults.state.sat_alive[self.tracked].astype(np.int64)
            parts.append((self.tracked, {"alive": alive, "x_m": r[:, 0], "y_m": r[:, 1],
                                         "z_m": r[:, 2], "lat_deg": np.degrees(lat),
                                         "lon_deg": np.degrees(lon), "alt_m": alt,
                                         "soc": nan}))
        for sats, cols in parts:
            self.sink.write_housekeeping(t, sats, cols)

    def _queue_hk(self, t: int, r: FloatArray, rows: IntArray) -> None:
        assert self.contacts is not None
        st = self.state
        flags = ((self._illuminated[rows] < 1.0).astype(np.int64)
                 | (self.contacts.active_sats()[rows].astype(np.int64) << 1)
                 | (st.power.safe_mode[rows].astype(np.int64) << 3))
        soc = power_soc(st.power, self.params.power)[rows]
        self.contacts.queue_housekeeping(rows, t, r[rows], st.attitude.mode[rows], flags, soc,
                                         (st.storage.used_bits[rows] // 8).astype(np.int64))

    def _network(self, t: int, j: int) -> None:
        assert self.net is not None and self.relay_stream is not None
        r, v = self.relay_stream.at(int(j))
        ns = self.net.setup
        fs = self.faults.state
        sample = self.net.sample(t, r, v, fs.sat_alive[ns.relay], fs.isl_down > 0,
                                 fs.ground_up[ns.nodes])
        self.recorder.events(sample.events)
        if self.recorder.wants("network") and len(sample.rtt_ms):
            labels = self.net.labels
            self.sink.write_network(np.full(len(labels), t, np.int64),
                                    [a for a, _ in labels], [b for _, b in labels],
                                    sample.rtt_ms, sample.hops, sample.reachable,
                                    path=sample.path)
        c = self.recorder.counters
        c["network_samples"] += 1
        c["network_unreachable"] += int(np.count_nonzero(~sample.reachable))

    # ---- faults and commands -----------------------------------------------------------------
    def inject_fault(self, fault: FaultSpec) -> tuple[int, FaultSpec]:
        """Add a fault during the run, between steps (a console's injection; call from the
        thread running the loop, e.g. through :class:`~orbemu.engine.control.EmulationControl`).
        A start before the current step boundary is moved to it (its duration kept); returns
        the fault's index and the fault as scheduled. Injected faults are written to the sink's
        faults table and kept in checkpoints."""
        now = self.time_ns
        if fault.start_ns < now:
            end = None if fault.end_ns is None else fault.end_ns + (now - fault.start_ns)
            fault = replace(fault, start_ns=now, end_ns=end)
        if fault.start_ns >= self.setup.end_ns:
            raise InputError(f"fault {fault.spec or fault.target!r} starts after the run ends",
                             fix="Give a time inside the run window")
        index = self.faults.add(fault)
        self.faults.schedule_one(self.schedule, index)
        self.injected.append(fault)
        table = self.faults.table()
        self.sink.write_faults(**{k: v[-1:] for k, v in table.items()})
        return index, fault

    def _apply_scheduled(self, t: int, items: list[Any]) -> None:
        events: list[Event] = []
        for item in items:
            if item.kind in ("fault_start", "fault_end"):
                events += self._apply_fault(t, int(item.data), item.kind == "fault_start")
            elif item.kind == "command":
                events += self._send_command(t, int(item.data))
            elif item.kind == "app_request":
                self._app_request(t, *item.data)
        self.recorder.events(events)

    def _apply_fault(self, t: int, index: int, starting: bool) -> list[Event]:
        eff, event = self.faults.apply(index, t, starting,
                                       modelled=lambda s: bool(self.fleet_row[s] >= 0))
        events = [event]
        if starting:
            self.recorder.counters["faults"] += 1
        rows_down = [int(self.fleet_row[s]) for s in eff.sats_down if self.fleet_row[s] >= 0]
        rows_up = [int(self.fleet_row[s]) for s in eff.sats_up if self.fleet_row[s] >= 0]
        if rows_down:
            self.state = set_alive(self.state, rows_down, False)
        if rows_up:
            self.state = set_alive(self.state, rows_up, True)
        if self.contacts is not None and (rows_down or eff.nodes_down):
            st_rows = {int(self.station_row[g]) for g in eff.nodes_down
                       if self.station_row[g] >= 0}
            cut_events, closed = self.contacts.cut(t, set(rows_down), st_rows)
            events += cut_events
            self._write_closed(closed)
        if self.net is not None:
            for row in eff.isl_down:
                events.append(Event(t, "link_down", self.net.isl_subject(row),
                                    {"cause": "fault"}))
            for row in eff.isl_up:
                events.append(Event(t, "link_up", self.net.isl_subject(row), {"cause": "fault"}))
        for sat, fraction in eff.degrade:
            row = int(self.fleet_row[sat])
            self.state = degrade_battery(self.state, self.params, [row], fraction)
        for sat, until in eff.safe_until:
            row = int(self.fleet_row[sat])
            was = bool(self.state.power.safe_mode[row])
            self.state = force_safe_mode(self.state, [row], until)
            if not was:
                events.append(Event(t, "safe_mode_entry", str(self.fleet_names[row]),
                                    {"cause": "fault", "fault": index}))
        return events

    def _send_command(self, t: int, index: int) -> list[Event]:
        cmd = self.setup.commands[index]
        if cmd.every_ns is not None and t + cmd.every_ns < self.setup.end_ns:
            self.schedule.push(t + cmd.every_ns, "command", index)
        events = [Event(t, "command", cmd.target or ",".join(map(str, cmd.sats)),
                        {"command": cmd.command, "args": dict(cmd.args)})]
        self.recorder.counters["commands_sent"] += 1
        if cmd.command == "set_param":
            return events + self._set_param(t, cmd)
        rows = [int(self.fleet_row[s]) for s in cmd.sats if self.fleet_row[s] >= 0]
        up = (self.contacts is not None and self.setup.contacts is not None
              and self.setup.contacts.uplink_commands)
        for row in rows:
            cid = len(self.sent)
            self.sent.append((index, row))
            self.sent_ns.append(t)
            if up:
                assert self.contacts is not None
                self.contacts.queue_command(row, cmd.command, cid, t)
            else:
                events += self._execute(cid, row, t)
        return events

    def _execute(self, cid: int, row: int, t: int) -> list[Event]:
        """Command ``cid`` runs on fleet row ``row`` at ``t`` (effective from the next
        segment)."""
        index, _row = self.sent[cid]
        cmd = self.setup.commands[index]
        a = cmd.args
        self.recorder.counters["commands_executed"] += 1
        sent = self.sent_ns[cid] if cid < len(self.sent_ns) else None
        detail: dict[str, Any] = {"command": cmd.command, "args": dict(a),
                                  "sent_ns": sent}
        if self.apps is not None:
            self.apps.on_uplink(row, t, sent if sent is not None else t, cmd.command, dict(a))
        if cmd.command == "app_message" or self.hil[row]:
            # a message for the apps; on hardware in the loop, commands are the hardware's
            return [Event(t, "command_executed", str(self.fleet_names[row]), detail)]
        if cmd.command == "set_mode":
            att = a.get("attitude")
            if att is not None:
                self.mode_request[row] = _MODES[str(att)]
            mode = a.get("mode")
            if mode == "idle":
                self.payload_on[row] = False
                self.capture_on[row] = False
            elif mode == "imaging":
                self.payload_on[row] = True
                self.capture_on[row] = True
            elif mode == "safe":
                self.state = force_safe_mode(self.state, [row], _NEVER)
            if mode not in (None, "safe"):
                self._release_safe(row, t)
        elif cmd.command == "capture":
            target = int(a.get("target", -1))
            self.mode_request[row] = _MODES["target"]
            self.target_request[row] = target
            self.payload_on[row] = True
            self.capture_on[row] = True
        elif cmd.command == "reboot":
            until = t + round(float(a.get("duration_s", 120.0)) * NS_PER_S)
            self.state = force_safe_mode(self.state, [row], until)
        elif cmd.command == "safe_mode":
            self.state = force_safe_mode(self.state, [row], _NEVER)
        return [Event(t, "command_executed", str(self.fleet_names[row]), detail)]

    def _release_safe(self, row: int, t: int) -> None:
        hold = self.state.power.safe_hold_until_ns.copy()
        if hold[row] > t:
            hold[row] = t
            self.state = replace(self.state, power=replace(self.state.power,
                                                           safe_hold_until_ns=hold))

    def _set_param(self, t: int, cmd: CommandSpec) -> list[Event]:
        path = str(cmd.args.get("path", ""))
        value = cmd.args.get("value")
        if path == "network.gsl.min_elevation_deg" and self.net is not None:
            self.net.ground = self.net.ground.with_min_elevation(float(value))  # type: ignore[arg-type]
            return [Event(t, "param_changed", path, {"value": value})]
        raise InputError(f"set_param cannot change {path!r} during a run",
                         field="args.path", fix="Use network.gsl.min_elevation_deg")

    def _close_open_contacts(self) -> None:
        """Contacts still active at the end of the run are recorded as completed there."""
        if self.contacts is None:
            return
        rows = np.flatnonzero(self.contacts.status == 1).tolist()
        for row in rows:
            self.contacts.status[row] = 2
            self.contacts.actual_end[row] = min(int(self.contacts.plan.end_ns[row]),
                                                self.setup.end_ns)
        self._write_closed(rows)

    # ---- checkpoints -------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        return {
            "version": CHECKPOINT_VERSION, "name": self.setup.name,
            "step": self.step_index, "time_ns": self.time_ns,
            "fleet": self.state.to_arrays(), "faults": self.faults.state.state(),
            "schedule": self.schedule.state(),
            "contacts": self.contacts.state() if self.contacts is not None else None,
            "commands": {"mode": self.mode_request.copy(), "target": self.target_request.copy(),
                         "capture": self.capture_on.copy(), "payload": self.payload_on.copy(),
                         "sent": list(self.sent), "sent_ns": list(self.sent_ns)},
            "detectors": [d.state() for d in self.detectors],
            "network": self.net.state() if self.net is not None else None,
            "recorder": self.recorder.state(),
            "rng": self.rng.bit_generator.state,
            "last": self._last, "since_hk": (self._since_hk_captures.copy(),
                                             self._since_hk_down.copy()),
            "illuminated": self._illuminated.copy(), "images": self.images,
            "injected": list(self.injected),
            "apps": self.apps.state() if self.apps is not None else None,
        }

    def checkpoint(self) -> None:
        """Write a checkpoint of the state at the current step boundary through the sink."""
        data = pickle.dumps(self._state(), protocol=pickle.HIGHEST_PROTOCOL)
        self.sink.write_checkpoint(self.step_index, self.time_ns, data=data)
        self.recorder.counters["checkpoints"] += 1

    def _restore(self, st: dict[str, Any]) -> None:
        if st.get("version") != CHECKPOINT_VERSION:
            raise InputError(f"checkpoint format {st.get('version')} is not "
                             f"{CHECKPOINT_VERSION}", fix="Resume with the orbemu version "
                             "that wrote it, or start the run again")
        self.step_index = int(st["step"])
        if self.time_ns != int(st["time_ns"]):
            raise InputError("the checkpoint does not belong to this run (its time is not a "
                             "step of the window)", fix="Resume with the scenario of the run")
        self.state = FleetState.from_arrays(st["fleet"])
        for fault in st.get("injected", ()):
            self.faults.add(fault)
            self.injected.append(fault)
        self.faults.state.restore(st["faults"])
        self.schedule.restore(st["schedule"])
        if self.contacts is not None and st["contacts"] is not None:
            self.contacts.restore(st["contacts"])
        c = st["commands"]
        self.mode_request, self.target_request = c["mode"].copy(), c["target"].copy()
        self.capture_on, self.payload_on = c["capture"].copy(), c["payload"].copy()
        self.sent = list(c["sent"])
        self.sent_ns = list(c.get("sent_ns", []))
        for det, ds in zip(self.detectors, st["detectors"], strict=True):
            det.restore(ds)
        if self.net is not None and st["network"] is not None:
            self.net.restore(st["network"])
        self.recorder.restore(st["recorder"])
        self.rng.bit_generator.state = st["rng"]
        self._last = st["last"]
        self._since_hk_captures, self._since_hk_down = (x.copy() for x in st["since_hk"])
        self._illuminated = st["illuminated"].copy()
        self.images = int(st["images"])
        if self.apps is not None and st.get("apps") is not None:
            self.apps.restore(st["apps"])
        self._resumed = True

    @classmethod
    def resume(cls, setup: EmulationSetup, sink: Sink, *, wall: WallClock | None = None
               ) -> Emulation:
        """Continue a run from the last checkpoint its sink holds (see the module notes):
        the sink drops the records at or after the checkpoint, the state is restored, and
        :meth:`run` goes on from there."""
        cp = sink.last_checkpoint()
        if cp is None:
            raise InputError("the run has no checkpoint to resume from",
                             fix="Give the run checkpoints (run.checkpoint_every) or start it "
                                 "again")
        step, t, data = cp
        emu = cls(setup, sink, wall=wall)
        emu._restore(pickle.loads(data))
        if emu.step_index != step:
            raise UsageError("checkpoint step and state disagree")
        sink.resume(t, step)
        return emu

    # ---- live displays -----------------------------------------------------------------------
    def positions_m(self, time_ns: int | None = None) -> FloatArray:
        """``(n, 3)`` ITRF positions, metres, of every satellite of the setup at ``time_ns``
        (default: now, :attr:`time_ns`), from the states the engine propagates anyway: the
        modelled satellites at the steps, the relay network's at the network instants, the
        tracked ones at the housekeeping instants — the grid states themselves or their cubic
        Hermite in between (within a metre of SGP4, like the engine's own states). Satellites
        the run never propagates, those on a grid coarser than 60 s (where the Hermite would
        be metres off) and instants past a stream's last grid point cost one SGP4 call. A
        live display (:mod:`orbemu.api`) calls it from the engine's thread between steps."""
        t = self.time_ns if time_ns is None else int(time_ns)
        if self._position_groups is None:
            groups: list[tuple[IntArray, StateStream]] = [(self.fleet_sats, self.fleet_stream),
                                                          (self.tracked, self.tracked_stream)]
            if self.net is not None and self.relay_stream is not None:
                assert self.setup.network is not None
                groups.append((self.setup.network.relay.astype(np.int64), self.relay_stream))
            # a cubic Hermite is ~0.4 m from SGP4 at 60 s spacing in LEO, ~6 m at 120 s
            groups = [(rows, st) for rows, st in groups if st.step_ns <= _DISPLAY_MAX_GRID_NS]
            covered = np.zeros(self.n, bool)
            for rows, _ in groups:
                covered[rows] = True
            self._position_groups = groups
            self._position_rest = np.flatnonzero(~covered)
        out = np.full((self.n, 3), np.nan)
        rest = [self._position_rest]
        for rows, stream in self._position_groups:
            if rows.size == 0:
                continue
            if stream.covers(t):
                out[rows] = stream.positions_at(t)
            else:  # (the last partial interval of a grid)
                rest.append(rows)
        left = np.concatenate(rest)
        if left.size:
            eph = propagate(self.setup.elements.select(left), Time(np.array([t], np.int64)),
                            frame="ITRF")
            out[left] = eph.position_m[:, 0, :]
        return out

    # ---- status and summary ------------------------------------------------------------------
    def status_now(self) -> EmulationStatus:
        alive = int(np.count_nonzero(self.faults.state.sat_alive))
        return EmulationStatus(
            step=self.step_index, n_steps=self.n_steps, time_ns=self.time_ns,
            speed=self.clock.speed_now(), sats_alive=alive, n_sats=self.n,
            contacts_active=self.contacts.n_active() if self.contacts is not None else 0,
            overruns=self.clock.overruns,
            recent=tuple(self.recorder.recent[-8:]),
            events_by_kind=dict(self.recorder.events_by_kind))

    def summary(self) -> RunSummary:
        c: Counter[str] = self.recorder.counters
        contacts = {k: int(c.get(f"contacts_{k}", 0)) for k in ("completed", "cut", "cancelled")}
        down = float(self.contacts.down_bits.sum()) if self.contacts is not None else 0.0
        up = float(self.contacts.up_bits.sum()) if self.contacts is not None else 0.0
        return RunSummary(
            name=self.setup.name, status=self.status, steps=self.step_index,
            n_steps=self.n_steps, start_ns=self.setup.start_ns, end_ns=self.time_ns,
            clock=self.clock.stats(), n_sats=self.n, n_modelled=self.m,
            sats_alive=int(np.count_nonzero(self.faults.state.sat_alive)),
            contacts_planned=len(self.contacts.plan) if self.contacts is not None else 0,
            contacts=contacts, down_bits=down, up_bits=up,
            packets={"down": int(c.get("packets_down", 0)), "up": int(c.get("packets_up", 0))},
            images=self.images, events_by_kind=dict(self.recorder.events_by_kind),
            faults=len(self.faults.faults), network=self.net.describe() if self.net else "",
            notes=tuple(self.notes), fsw=self.apps.summary() if self.apps is not None else None)

