"""Per-satellite packet queues, carried only during scheduled contacts at the contact's rate.

A :class:`PacketQueues` holds one direction of traffic for ``n`` satellites: ``"down"``
(telemetry and payload data, satellite → ground) or ``"up"`` (telecommands). Each satellite has
``n_classes`` priority classes (0 is served first; the APID map gives each APID its class:
events and acknowledgements 0, housekeeping 1, payload data 2), FIFO within a class.

Entries are either real packets (``bytes``, e.g. encoded housekeeping or commands, delivered to
the other side as bytes) or *bulk* entries: ``count`` packets of one size standing for payload
data whose content does not matter (an image of 10⁴ packets is one entry, so delivery costs the
same for one packet or ten thousand). Sizes and counts are bookkept in arrays
(:attr:`PacketQueues.queued_bytes`, ``(n, n_classes)``); the entries themselves sit in
per-satellite deques.

Each step, :meth:`PacketQueues.step` takes the contacts of a :class:`ContactPlan` active in
``[t, t + dt)`` and gives each one a budget of bits: the exact integral of its rate model over
the overlap (:meth:`ContactPlan.capacity_bits`). Whole packets are moved from the satellite's
queues to *delivered*, highest class first; a packet that does not fit in what is left waits for
the next step, its partial budget carried over while the contact lasts (so large packets are not
starved; at the end of a contact a packet in flight is lost and resent in the next one). Strict
priority: lower classes are not served while a higher-class packet waits. Nothing moves outside
a contact. Each delivery records the contact row, the bytes, and the instant its last packet
completes (``begin + bits sent so far / mean rate of the step``), hence per-packet latency
(creation → ground).

Cost: proportional to the active contacts and the entries delivered; a step with no active
contact does only the plan look-up.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from orbemu.comms.packets import APIDS, decode_packet
from orbemu.errors import UsageError
from orbemu.ground.scheduling import ContactPlan

__all__ = ["Deliveries", "PacketQueues"]

IntArray = npt.NDArray[np.int64]
Direction = Literal["down", "up"]
PAYLOAD_APID = 0x020


@dataclass(frozen=True, eq=False)
class Deliveries:
    """What reached the other side, columnar (one row per delivered entry or part of one).

    sat, contact: (d,) satellite index and contact row of the plan.
    apid: (d,) APID of the packets.
    created_ns, delivered_ns: (d,) int64: when the packets were queued, and when the last of
        them finished arriving.
    packets, bytes: (d,) how many packets and bytes.
    """

    sat: IntArray
    contact: IntArray
    apid: IntArray
    created_ns: IntArray
    delivered_ns: IntArray
    packets: IntArray
    bytes: IntArray

    def __len__(self) -> int:
        return int(self.sat.size)

    @property
    def latency_s(self) -> npt.NDArray[np.float64]:
        return (self.delivered_ns - self.created_ns) / 1e9


class _Entry:
    """One queue entry: ``count`` packets of ``size`` bytes (``data`` for a real packet)."""

    __slots__ = ("apid", "count", "created_ns", "data", "size")

    def __init__(self, created_ns: int, size: int, count: int, apid: int,
                 data: bytes | None) -> None:
        self.created_ns = created_ns
        self.size = size
        self.count = count
        self.apid = apid
        self.data = data


class PacketQueues:
    """Queues of one direction for ``n_sats`` satellites (see the module docstring).

    Attributes
    ----------
    queued_bytes, queued_packets: (n, n_classes) int64, what waits now.
    enqueued_bytes, delivered_bytes: (n,) int64 totals since the start.
    """

    def __init__(self, n_sats: int, *, direction: Direction = "down", n_classes: int = 3,
                 keep_packets: bool = True) -> None:
        if direction not in ("down", "up"):
            raise UsageError(f"direction must be 'down' or 'up', got {direction!r}")
        if n_classes < 1:
            raise UsageError(f"n_classes must be ≥ 1, got {n_classes}")
        self.n_sats = int(n_sats)
        self.direction: Direction = direction
        self.n_classes = int(n_classes)
        self.keep_packets = keep_packets
        self._queues: list[list[deque[_Entry]]] = [
            [deque() for _ in range(self.n_classes)] for _ in range(self.n_sats)]
        self.queued_bytes = np.zeros((self.n_sats, self.n_classes), np.int64)
        self.queued_packets = np.zeros((self.n_sats, self.n_classes), np.int64)
        self.enqueued_bytes = np.zeros(self.n_sats, np.int64)
        self.delivered_bytes = np.zeros(self.n_sats, np.int64)
        self._credit: dict[int, float] = {}
        self._log: list[tuple[int, int, int, int, int, int, int]] = []
        self._received: list[tuple[int, int, bytes]] = []

    def __repr__(self) -> str:
        return (f"PacketQueues(<{self.direction}, {self.n_sats} satellites, "
                f"{int(self.queued_bytes.sum())} bytes queued>)")

    # ---- filling -----------------------------------------------------------------------------
    def _class_of(self, apid: int, priority_class: int | None) -> int:
        if priority_class is None:
            info = APIDS.get(apid)
            priority_class = info.priority_class if info is not None else self.n_classes - 1
        return min(max(int(priority_class), 0), self.n_classes - 1)

    def push(self, sat: int, packet: bytes, created_ns: int, *,
             priority_class: int | None = None) -> None:
        """Queue one encoded packet (validated; its APID gives the class unless given)."""
        apid = decode_packet(packet, source=f"packet for satellite {sat}").apid
        self._add(int(sat), _Entry(int(created_ns), len(packet), 1, apid, bytes(packet)),
                  self._class_of(apid, priority_class))

    def push_many(self, sats: npt.ArrayLike, packets: npt.NDArray[np.uint8] | list[bytes],
                  created_ns: int, *, priority_class: int | None = None) -> None:
        """Queue one packet per satellite (e.g. the rows of :func:`encode_housekeeping`)."""
        sats = np.asarray(sats, np.int64).ravel()
        if len(packets) != sats.size:
            raise UsageError(f"push_many: {sats.size} satellites but {len(packets)} packets")
        if isinstance(packets, np.ndarray):
            first = decode_packet(bytes(packets[0]), source="packets") if sats.size else None
            apid = first.apid if first is not None else 0
            cls = self._class_of(apid, priority_class)
            size = int(packets.shape[1])
            if sats.size and (sats.min() < 0 or sats.max() >= self.n_sats):
                raise UsageError(f"satellite index out of range 0..{self.n_sats - 1}")
            # one bytes object sliced per packet; the counters updated once, vectorized
            raw = np.ascontiguousarray(packets, np.uint8).tobytes()
            t = int(created_ns)
            queues = self._queues
            for i, s in enumerate(sats.tolist()):
                queues[s][cls].append(_Entry(t, size, 1, apid, raw[i * size:(i + 1) * size]))
            np.add.at(self.queued_bytes[:, cls], sats, size)
            np.add.at(self.queued_packets[:, cls], sats, 1)
            np.add.at(self.enqueued_bytes, sats, size)
        else:
            for s, p in zip(sats.tolist(), packets, strict=True):
                self.push(s, p, created_ns, priority_class=priority_class)

    def push_bulk(self, sats: npt.ArrayLike, n_packets: npt.ArrayLike,
                  packet_bytes: npt.ArrayLike, created_ns: int, *, apid: int = PAYLOAD_APID,
                  priority_class: int | None = None) -> None:
        """Queue ``n_packets[i]`` packets of ``packet_bytes[i]`` bytes for each of ``sats``
        (payload data whose content is not modelled). Zero counts are skipped."""
        sats = np.asarray(sats, np.int64).ravel()
        count = np.broadcast_to(np.asarray(n_packets, np.int64), sats.shape)
        size = np.broadcast_to(np.asarray(packet_bytes, np.int64), sats.shape)
        if np.any(count < 0) or np.any(size < 7) or np.any(size > 65542):
            raise UsageError("push_bulk: counts must be ≥ 0 and packet sizes 7..65542 bytes")
        cls = self._class_of(apid, priority_class)
        for s, c, z in zip(sats.tolist(), count.tolist(), size.tolist(), strict=True):
            if c > 0:
                self._add(s, _Entry(int(created_ns), z, c, apid, None), cls)

    def _add(self, sat: int, entry: _Entry, cls: int) -> None:
        if not 0 <= sat < self.n_sats:
            raise UsageError(f"satellite index {sat} out of range 0..{self.n_sats - 1}")
        self._queues[sat][cls].append(entry)
        nbytes = entry.size * entry.count
        self.queued_bytes[sat, cls] += nbytes
        self.queued_packets[sat, cls] += entry.count
        self.enqueued_bytes[sat] += nbytes

    # ---- carrying ----------------------------------------------------------------------------
    def step(self, plan: ContactPlan, t_ns: int, dt_ns: int) -> int:
        """Carry traffic over the contacts of ``plan`` active in ``[t, t + dt)``; returns the
        bytes delivered in this step."""
        t1 = int(t_ns) + int(dt_ns)
        rows = plan.active(int(t_ns), t1)
        if rows.size == 0:
            if self._credit:
                self._credit.clear()
            return 0
        begin = np.maximum(plan.start_ns[rows], int(t_ns))
        end = np.minimum(plan.end_ns[rows], t1)
        cap = plan.capacity_bits(rows, int(t_ns), t1, self.direction)
        return self.serve(rows, plan.sat[rows], cap, begin, end)

    def serve(self, contact: npt.ArrayLike, sat: npt.ArrayLike, capacity_bits: npt.ArrayLike,
              begin_ns: npt.ArrayLike, end_ns: npt.ArrayLike) -> int:
        """Carry traffic over explicit contacts: ``capacity_bits[i]`` for satellite ``sat[i]``
        within ``[begin_ns[i], end_ns[i]]`` (ids ``contact[i]`` keep partial budgets between
        calls while the contact is served). Returns the bytes delivered."""
        contact = np.asarray(contact, np.int64).tolist()
        sats = np.asarray(sat, np.int64).tolist()
        caps = np.asarray(capacity_bits, np.float64).tolist()
        b0 = np.asarray(begin_ns, np.int64).tolist()
        b1 = np.asarray(end_ns, np.int64).tolist()
        old = self._credit
        self._credit = {}
        total = 0
        for row, s, cap, t0, t1 in zip(contact, sats, caps, b0, b1, strict=True):
            carried = old.get(row, 0.0)  # bits of a packet already under way
            budget = cap + carried
            rate = cap / ((t1 - t0) / 1e9) if t1 > t0 and cap > 0 else 0.0
            used = 0.0
            blocked = False
            for cls in range(self.n_classes):
                dq = self._queues[s][cls]
                while dq:
                    e = dq[0]
                    bits = 8.0 * e.size
                    n_fit = min(e.count, int(budget // bits))
                    if n_fit == 0:
                        blocked = True
                        break
                    sent = n_fit * bits
                    budget -= sent
                    used += sent
                    nbytes = n_fit * e.size
                    done = t0 + (round(max(used - carried, 0.0) / rate * 1e9) if rate > 0
                                 else 0)
                    self._log.append((s, row, e.apid, e.created_ns, min(done, t1), n_fit,
                                      nbytes))
                    if self.keep_packets and e.data is not None:
                        self._received.append((s, min(done, t1), e.data))
                    self.queued_bytes[s, cls] -= nbytes
                    self.queued_packets[s, cls] -= n_fit
                    self.delivered_bytes[s] += nbytes
                    total += nbytes
                    e.count -= n_fit
                    if e.count == 0:
                        dq.popleft()
                if blocked:
                    break
            if blocked and budget > 0:
                self._credit[row] = budget
        return total

    # ---- results -----------------------------------------------------------------------------
    def deliveries(self) -> Deliveries:
        """Everything delivered so far, columnar."""
        cols = np.array(self._log, np.int64).reshape(-1, 7).T
        return Deliveries(*(np.ascontiguousarray(c) for c in cols))

    def delivered_by_contact(self, n_contacts: int) -> npt.NDArray[np.int64]:
        """(n_contacts,) bytes delivered per plan row."""
        d = self.deliveries()
        return np.bincount(d.contact, weights=d.bytes, minlength=n_contacts).astype(np.int64)

    def pop_received(self) -> list[tuple[int, int, bytes]]:
        """Real packets delivered since the last call: ``(sat, delivered_ns, bytes)``."""
        out, self._received = self._received, []
        return out
