"""Ground contacts inside a run: the plan, its execution, and the packets carried.

**Plan (whole window, at the start).** The contact windows of every modelled satellite over every
station for the whole run are found once (:func:`orbemu.ground.contact_windows`: passes with the
stations' masks and ranges, and the link budget along each pass), and a scheduler assigns antennas
(:func:`orbemu.ground.schedule_greedy`, or :func:`~orbemu.ground.schedule_optimal` with a time
limit) with setup and slew gaps. Operators plan ahead and do not know about faults to come, so the
plan ignores them; the run then executes it against what happens. (A rolling re-plan after a
fault is future work; the whole-window plan costs seconds for a day of 1,000 satellites over 50
stations and is recomputed identically when a run resumes.)

**Execution (every step).** Each scheduled contact starts at its planned AOS if its satellite is
alive and its station up (``contact_start``), else it is cancelled (``contact_cancelled``); a
fault during a contact cuts it at that instant (``contact_cut``); otherwise it ends at its LOS
(``contact_end``). Contacts are not step boundaries: within a step ``[a, b)`` a contact carries
the exact integral of its rate model over its overlap with the step
(:meth:`orbemu.ground.ContactPlan.capacity_bits`), capped by the satellite radio's rate.

**Traffic** (:class:`orbemu.comms.PacketQueues`, CCSDS Space Packets). Down: events and
housekeeping packets (encoded by :func:`orbemu.comms.encode_housekeeping` every
``radio.housekeeping_interval_s``) first, then payload data (each image queued as packets when it
is captured, so its latency from capture to ground is measured); what capacity is left drains
the rest of onboard storage (recorder data the queues do not itemise). The storage model removes
exactly the bits delivered. Up: commands as telecommand packets (APID ``tc-platform`` /
``tc-payload``), which run on board when they arrive. Nothing moves outside a contact.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from orbemu.comms.packets import SequenceCounters, decode_packet, encode_housekeeping, encode_packet
from orbemu.comms.queues import PacketQueues
from orbemu.constants import NS_PER_S
from orbemu.engine.config import ContactSetup
from orbemu.engine.recorder import Event
from orbemu.ground.contacts import contact_windows
from orbemu.ground.scheduling import ContactPlan, schedule_greedy, schedule_optimal
from orbemu.ground.stations import GroundStations
from orbemu.orbits.elements import ElementSet
from orbemu.orbits.ground_nodes import GroundNodes
from orbemu.time import Time

__all__ = ["PAYLOAD_PACKET_BYTES", "ContactOps", "SegmentTraffic"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Size of one payload-data packet, bytes (an image is queued as this many-byte packets).
PAYLOAD_PACKET_BYTES = 8192
PAYLOAD_APID = 0x020

PENDING, ACTIVE, COMPLETED, CUT, CANCELLED = 0, 1, 2, 3, 4
_STATUS = {COMPLETED: "completed", CUT: "cut", CANCELLED: "cancelled"}

#: Telecommand opcodes of the engine's commands (user data: u16 opcode, u32 command id).
OPCODES = {"set_mode": 1, "capture": 2, "downlink": 3, "reboot": 4, "safe_mode": 5}


@dataclass
class SegmentTraffic:
    """What one segment ``[a, b)`` of contacts gave: per modelled satellite ``contact_s`` (time
    in contact), ``payload_bits`` delivered from the image queue, ``spare_bits`` of capacity
    left for the rest of storage; the commands that arrived ``(sat, time_ns, command id)``; the
    events; closed contacts (rows) and packet records."""

    contact_s: FloatArray
    payload_bits: FloatArray
    spare_bits: FloatArray
    commands: list[tuple[int, int, int]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)
    packets: list[tuple[int, int, int, str, int, int, float]] = field(default_factory=list)


class ContactOps:
    """Contacts of the ``m`` modelled satellites (see the module notes).

    ``elements``: the modelled satellites (rows = fleet rows); ``ground``: every ground node
    of the run; ``down_rate_bps``/``up_rate_bps``: (m,) radio limits;
    ``sat_index``: (m,) run-wide satellite index of each fleet row (records use these).
    """

    def __init__(self, setup: ContactSetup, elements: ElementSet, ground: GroundNodes,
                 start_ns: int, duration_ns: int, *, sat_index: IntArray,
                 down_rate_bps: FloatArray, up_rate_bps: FloatArray) -> None:
        self.setup = setup
        self.m = len(elements)
        self.sat_index = np.asarray(sat_index, np.int64)
        self.station_index = setup.stations
        self.sat_names = elements.names
        self.norad = elements.norad_ids
        nodes = ground.select(setup.stations)
        self.stations = GroundStations.from_nodes(
            nodes, antennas=setup.antennas, setup_s=setup.setup_s,
            slew_rate_deg_s=setup.slew_rate_deg_s)
        self.down_rate_bps = np.asarray(down_rate_bps, np.float64)
        self.up_rate_bps = np.asarray(up_rate_bps, np.float64)
        windows = contact_windows(elements, self.stations, Time(np.int64(start_ns)),
                                  int(duration_ns),
                                  samples_per_window=setup.samples_per_window,
                                  min_duration_s=setup.min_duration_s)
        if setup.scheduler == "optimal":
            self.plan: ContactPlan = schedule_optimal(windows, self.stations,
                                                      time_limit_s=setup.time_limit_s)
        else:
            self.plan = schedule_greedy(windows, self.stations)
        c = len(self.plan)
        self.status = np.zeros(c, np.int8)
        self.down_bits = np.zeros(c)
        self.up_bits = np.zeros(c)
        self.actual_start = self.plan.start_ns.copy()
        self.actual_end = self.plan.end_ns.copy()
        self.next_start = 0
        self.down = PacketQueues(self.m, direction="down", keep_packets=False)
        self.up = PacketQueues(self.m, direction="up", keep_packets=True)
        self.seq = SequenceCounters(self.m)

    # ---- descriptions and records -------------------------------------------------------------
    def describe(self) -> str:
        p = self.plan
        return (f"contacts: {len(p)} scheduled ({p.method}, {p.status}) of "
                f"{len(p.windows)} windows over {len(self.stations)} stations")

    def subject(self, row: int) -> str:
        return (f"{self.sat_names[self.plan.sat[row]]}@"
                f"{self.stations.nodes.names[self.plan.station[row]]}")

    def plan_columns(self) -> dict[str, Any]:
        p = self.plan
        return {"contact": np.arange(len(p)), "start_ns": p.start_ns, "end_ns": p.end_ns,
                "sat": self.sat_index[p.sat], "station": self.station_index[p.station],
                "antenna": p.antenna,
                "max_elevation_deg": p.windows.max_elevation_deg[p.window],
                "planned_down_bits": p.volume_down_bits, "planned_up_bits": p.volume_up_bits}

    def closed_columns(self, rows: list[int]) -> dict[str, Any]:
        r = np.asarray(rows, np.int64)
        p = self.plan
        return {"start_ns": self.actual_start[r], "end_ns": self.actual_end[r],
                "sat": self.sat_index[p.sat[r]], "station": self.station_index[p.station[r]],
                "max_elevation_deg": p.windows.max_elevation_deg[p.window[r]],
                "volume_bits": self.down_bits[r], "antenna": p.antenna[r], "contact": r,
                "status": [_STATUS[int(s)] for s in self.status[r]], "up_bits": self.up_bits[r],
                "planned_start_ns": p.start_ns[r], "planned_end_ns": p.end_ns[r],
                "planned_bits": p.volume_down_bits[r]}

    def active_sats(self) -> BoolArray:
        """(m,) satellites in a contact now."""
        out = np.zeros(self.m, bool)
        out[self.plan.sat[self.status == ACTIVE]] = True
        return out

    def n_active(self) -> int:
        return int(np.count_nonzero(self.status == ACTIVE))

    # ---- filling the queues ---------------------------------------------------------------------
    def queue_images(self, fleet_rows: IntArray, bits: FloatArray, time_ns: int) -> None:
        """Images captured at ``time_ns``: ``bits`` each, queued as payload packets."""
        if len(fleet_rows) == 0:
            return
        n = np.ceil(np.asarray(bits) / (8 * PAYLOAD_PACKET_BYTES)).astype(np.int64)
        self.down.push_bulk(fleet_rows, n, PAYLOAD_PACKET_BYTES, int(time_ns),
                            apid=PAYLOAD_APID)

    def queue_housekeeping(self, fleet_rows: IntArray, time_ns: int, r: FloatArray,
                           mode: npt.ArrayLike, flags: npt.ArrayLike, soc: npt.ArrayLike,
                           storage_bytes: npt.ArrayLike) -> None:
        """Housekeeping packets of ``fleet_rows`` at ``time_ns`` (arrays are per row)."""
        if len(fleet_rows) == 0:
            return
        seq = self.seq.take(fleet_rows, "hk")
        packets = encode_housekeeping(self.norad[fleet_rows], seq, int(time_ns), r, mode=mode,
                                      flags=flags, battery_soc=soc,
                                      storage_used_bytes=storage_bytes)
        self.down.push_many(fleet_rows, packets, int(time_ns))

    def queue_command(self, fleet_row: int, command: str, command_id: int, time_ns: int
                      ) -> None:
        """A telecommand for one satellite, queued for the next contact."""
        apid = "tc-payload" if command == "capture" else "tc-platform"
        seq = int(self.seq.take([fleet_row], apid)[0])
        data = struct.pack(">HI", OPCODES.get(command, 0), int(command_id))
        self.up.push(int(fleet_row), encode_packet(apid, seq, int(time_ns), data), int(time_ns))

    # ---- one segment -------------------------------------------------------------------------
    def segment(self, a: int, b: int, sat_alive: BoolArray, station_up: BoolArray
                ) -> SegmentTraffic:
        """Run the contacts over ``[a, b)``: ``sat_alive`` (m,), ``station_up`` (stations,)."""
        p = self.plan
        out = SegmentTraffic(np.zeros(self.m), np.zeros(self.m), np.zeros(self.m))
        hi = int(np.searchsorted(p.start_ns, b, side="left"))
        for row in range(self.next_start, hi):
            t = int(p.start_ns[row])
            if sat_alive[p.sat[row]] and station_up[p.station[row]]:
                self.status[row] = ACTIVE
                out.events.append(Event(t, "contact_start", self.subject(row),
                                        {"contact": row, "antenna": int(p.antenna[row]),
                                         "planned_end_ns": int(p.end_ns[row])}))
            else:
                self.status[row] = CANCELLED
                self.actual_end[row] = t
                why = "satellite lost" if not sat_alive[p.sat[row]] else "station down"
                out.events.append(Event(t, "contact_cancelled", self.subject(row),
                                        {"contact": row, "reason": why}))
                out.closed.append(row)
        self.next_start = hi
        rows = np.flatnonzero(self.status == ACTIVE)
        if rows.size:
            lo = np.maximum(p.start_ns[rows], a)
            up_to = np.minimum(p.end_ns[rows], b)
            span_s = np.maximum(up_to - lo, 0) / NS_PER_S
            sat = p.sat[rows]
            cap_dn = np.minimum(p.capacity_bits(rows, a, b, "down"),
                                self.down_rate_bps[sat] * span_s)
            cap_up = np.minimum(p.capacity_bits(rows, a, b, "up"),
                                self.up_rate_bps[sat] * span_s)
            np.add.at(out.contact_s, sat, span_s)
            self.down.serve(rows, sat, cap_dn, lo, up_to)
            self.up.serve(rows, sat, cap_up, lo, up_to)
            dn_log, up_log = _take_log(self.down), _take_log(self.up)
            used_dn = np.zeros(rows.size)
            for log, direction in ((dn_log, "down"), (up_log, "up")):
                for s, row, apid, created, done, count, nbytes in log:
                    if direction == "down":
                        self.down_bits[row] += 8.0 * nbytes
                        if apid == PAYLOAD_APID:
                            out.payload_bits[s] += 8.0 * nbytes
                    else:
                        self.up_bits[row] += 8.0 * nbytes
                    out.packets.append((done, s, apid, direction, nbytes, count,
                                        (done - created) / 1e6))
            # bits of each contact's capacity the queue did not use: drain the rest of storage
            row_pos = {int(r): i for i, r in enumerate(rows)}
            for _s, row, _a, _c, _d, _n, nbytes in dn_log:
                used_dn[row_pos[row]] += 8.0 * nbytes
            # a satellite whose queues still hold packets used what it could (the rest of a
            # blocked packet's budget is carried by the queue); one with empty queues has spare
            empty = self.down.queued_bytes[sat].sum(axis=1) == 0
            spare = np.where(empty, np.maximum(cap_dn - used_dn, 0.0), 0.0)
            np.add.at(out.spare_bits, sat, spare)
            for s, t, raw in self.up.pop_received():
                pkt = decode_packet(raw, source="telecommand")
                _op, cid = struct.unpack(">HI", bytes(pkt.data[:6]))
                out.commands.append((int(s), int(t), int(cid)))
            ending = rows[p.end_ns[rows] < b]
            for row in ending.tolist():
                self.status[row] = COMPLETED
                out.events.append(Event(int(p.end_ns[row]), "contact_end", self.subject(row),
                                        {"contact": row, "down_bits": float(self.down_bits[row]),
                                         "up_bits": float(self.up_bits[row])}))
                out.closed.append(row)
        return out

    def account_drained(self, fleet_row_bits: FloatArray, a: int, b: int) -> None:
        """Credit storage bits drained with spare capacity to the satellites' active contacts."""
        rows = np.flatnonzero(self.status == ACTIVE)
        if rows.size == 0 and not fleet_row_bits.any():
            return
        # contacts that were active in [a, b) include those that just completed
        p = self.plan
        cand = np.flatnonzero(((self.status == ACTIVE) | (self.status == COMPLETED))
                              & (p.start_ns < b) & (p.end_ns >= a))
        seen: set[int] = set()
        for row in cand.tolist():
            s = int(p.sat[row])
            if s in seen or fleet_row_bits[s] <= 0:
                continue
            seen.add(s)
            self.down_bits[row] += float(fleet_row_bits[s])

    def cut(self, time_ns: int, sats: set[int], stations: set[int]) -> tuple[list[Event],
                                                                            list[int]]:
        """Contacts in progress of ``sats`` (fleet rows) or ``stations`` (station rows) end at
        ``time_ns``."""
        p = self.plan
        events, closed = [], []
        for row in np.flatnonzero(self.status == ACTIVE).tolist():
            s, st = int(p.sat[row]), int(p.station[row])
            if s in sats or st in stations:
                self.status[row] = CUT
                self.actual_end[row] = int(time_ns)
                why = "satellite lost" if s in sats else "station down"
                events.append(Event(int(time_ns), "contact_cut", self.subject(row),
                                    {"contact": row, "reason": why,
                                     "down_bits": float(self.down_bits[row])}))
                closed.append(row)
        return events, closed

    # ---- checkpoints -----------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {"status": self.status.copy(), "down_bits": self.down_bits.copy(),
                "up_bits": self.up_bits.copy(), "actual_start": self.actual_start.copy(),
                "actual_end": self.actual_end.copy(), "next_start": self.next_start,
                "down": self.down, "up": self.up, "seq": self.seq.counts.copy()}

    def restore(self, state: dict[str, Any]) -> None:
        self.status = state["status"].copy()
        self.down_bits = state["down_bits"].copy()
        self.up_bits = state["up_bits"].copy()
        self.actual_start = state["actual_start"].copy()
        self.actual_end = state["actual_end"].copy()
        self.next_start = int(state["next_start"])
        self.down, self.up = state["down"], state["up"]
        self.seq.counts = state["seq"].copy()


def housekeeping_due(elapsed_ns: int, interval_ns: IntArray) -> BoolArray:
    """(m,) satellites whose housekeeping packet is due at ``elapsed_ns`` into the run."""
    return (elapsed_ns % np.maximum(interval_ns, 1)) == 0


def interval_steps_ns(interval_s: FloatArray, step_ns: int) -> IntArray:
    """Housekeeping intervals rounded to whole steps (at least one), ns."""
    steps = np.maximum(np.rint(np.asarray(interval_s) * NS_PER_S / step_ns), 1)
    return (steps * step_ns).astype(np.int64)


def _take_log(queues: PacketQueues) -> list[tuple[int, int, int, int, int, int, int]]:
    """The deliveries since the last call (and forget them: the log would grow all run)."""
    log = queues._log
    queues._log = []
    return log
