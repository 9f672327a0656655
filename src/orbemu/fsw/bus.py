"""The bus protocol: CCSDS Space Packets between the engine and an app outside its process.

Every packet is an orbemu Space Packet (:mod:`orbemu.comms.packets`: 6-byte primary header,
8-byte time secondary header — u64 ns UTC —, user data) on a TCP stream; the length field frames
them. Engine → app packets are telecommands (type bit 1), app → engine packets telemetry. All
numbers are big-endian; strings are UTF-8 with a u8 length prefix (``str8``) unless they end the
packet. The full description, with a session, is ``docs/bus-protocol.md``; this module is the
codec both ends use (the engine's endpoints, :mod:`orbemu.fsw.client`, and the tests).

=======  ===============  ====  =========================================================
APID     name             dir   user data after the time field
=======  ===============  ====  =========================================================
0x600    bus-hello        →E    u16 version, str8 app, f64 rate_hz, f64 cpu_budget_ms,
                                u32 subscriptions (bit mask of :data:`SUBSCRIPTION_BITS`),
                                u32 pid (0: not a process of this machine)
0x601    bus-config       →A    JSON: sat, sat_index, norad, app, start_ns, step_ns, rate_hz,
                                cpu_budget_ms, params, targets, restart (time: on_start's)
0x602    bus-time         →A    u32 step, u64 t1_ns, u32 n_ticks, u64 first_tick_ns,
                                u64 period_ns, u64 first_tick (time: t0) — "run these ticks"
0x603    bus-state        →A    the satellite's state at the packet's time,
                                :data:`STATE_DTYPE` (162 bytes)
0x604    bus-deliver      →A    u8 kind + the message (:data:`DELIVER_KINDS`; time: its time)
0x605    bus-stop         →A    u8 reason (0 the run ended, 1 the engine stops the app)
0x610    bus-step-done    →E    u32 step (:data:`START_STEP` after on_start,
                                :data:`STOP_STEP` after on_stop), u64 cpu_ns, u32 ticks_run
0x611    bus-telemetry    →E    u16 n, n × (str8 key, f64 value) (time: the tick's)
0x612    bus-request      →E    u8 kind: 1 mode (u8 mode, i32 target), 2 capture (i32 target),
                                3 payload (u8 on), 4 image (u32 image_id, u8 action 0 downlink
                                1 discard, u8 priority)
0x613    bus-file         →E    u8 priority, u64 size_bytes, name
0x614    bus-send         →E    str8 destination satellite, payload
0x615    bus-event        →E    str8 kind, JSON detail
=======  ===============  ====  =========================================================

Operations (what an app publishes) are the same tuples in every runner (``op``):
``("tm", t, key, value)``, ``("mode", t, mode, target)``, ``("capture", t, target)``,
``("payload", t, on)``, ``("image", t, image_id, action, priority)``,
``("file", t, name, size_bytes, priority)``, ``("send", t, dst, payload)``,
``("event", t, kind, detail)``; :func:`encode_op` and :func:`decode_op` translate them.

Space-link telemetry of apps (APID ``app-tm``, :func:`encode_app_telemetry`): u16 n, then n ×
(u32 ms after the packet's time, str8 key, f64 value).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from orbemu.comms.packets import (
    PRIMARY_HEADER_BYTES,
    SECONDARY_HEADER_BYTES,
    Packet,
    apid_info,
    decode_packet,
    encode_packet,
)
from orbemu.errors import InputError, UsageError
from orbemu.fsw import messages as m

__all__ = [
    "APP_TM_APID",
    "BUS_APIDS",
    "DELIVER_KINDS",
    "PROTOCOL_VERSION",
    "START_STEP",
    "STATE_DTYPE",
    "STOP_STEP",
    "SUBSCRIPTION_BITS",
    "BusCodec",
    "PacketStream",
    "app_tm_bytes",
    "decode_deliver",
    "decode_hello",
    "decode_op",
    "decode_step_done",
    "decode_time",
    "encode_app_telemetry",
    "encode_deliver",
    "subscription_mask",
    "subscription_types",
]

PROTOCOL_VERSION = 1
#: step numbers of the step-done that acknowledges on_start / on_stop.
START_STEP = 0xFFFFFFFF
STOP_STEP = 0xFFFFFFFE
APP_TM_APID = 0x030

BUS_APIDS = {name: apid_info(name).apid for name in (
    "bus-hello", "bus-config", "bus-time", "bus-state", "bus-deliver", "bus-stop",
    "bus-step-done", "bus-telemetry", "bus-request", "bus-file", "bus-send", "bus-event")}
HELLO, CONFIG, TIME, STATE, DELIVER, STOP = (BUS_APIDS[k] for k in (
    "bus-hello", "bus-config", "bus-time", "bus-state", "bus-deliver", "bus-stop"))
STEP_DONE, TELEMETRY, REQUEST, FILE, SEND, EVENT = (BUS_APIDS[k] for k in (
    "bus-step-done", "bus-telemetry", "bus-request", "bus-file", "bus-send", "bus-event"))

#: The satellite's state record (bus-state user data; in process, the same fields native-endian).
#: flags: bit 0 in eclipse, 1 slewing, 2 safe mode, 3 alive, 4 in contact. mode: 0 nadir,
#: 1 Sun, 2 target, 3 safe.
STATE_DTYPE = np.dtype([
    ("step", ">u4"), ("r_itrf_m", ">f8", (3,)), ("v_itrf_m_s", ">f8", (3,)),
    ("lat_deg", ">f8"), ("lon_deg", ">f8"), ("alt_m", ">f8"), ("sun_itrf", ">f8", (3,)),
    ("illuminated_fraction", ">f8"), ("mode", "u1"), ("flags", "u1"), ("target", ">i4"),
    ("soc", ">f8"), ("battery_wh", ">f8"), ("power_in_w", ">f8"), ("power_out_w", ">f8"),
    ("storage_used_bits", ">f8"), ("storage_capacity_bits", ">f8"),
])
assert STATE_DTYPE.itemsize == 162
STATE_NATIVE = STATE_DTYPE.newbyteorder("=")

#: Message types an app may subscribe to, and their bit in the hello's mask.
SUBSCRIPTION_BITS: dict[type, int] = {t: 1 << i for i, t in enumerate(m.MESSAGE_TYPES)}
#: Kinds of bus-deliver packets.
DELIVER_KINDS = {m.Telecommand: 1, m.GroundMessage: 2, m.SatMessage: 3, m.SendReport: 4,
                 m.Image: 5}
_REQUESTS = {"mode": 1, "capture": 2, "payload": 3, "image": 4}


def subscription_mask(types: Iterable[type]) -> int:
    mask = 0
    for t in types:
        if t not in SUBSCRIPTION_BITS:
            raise UsageError(f"{getattr(t, '__name__', t)!s} is not a message type of "
                             "orbemu.fsw.messages")
        mask |= SUBSCRIPTION_BITS[t]
    return mask


def subscription_types(mask: int) -> tuple[type, ...]:
    return tuple(t for t, bit in SUBSCRIPTION_BITS.items() if mask & bit)


def _str8(text: str) -> bytes:
    raw = text.encode()[:255]
    return bytes((len(raw),)) + raw


def _read_str8(data: bytes, pos: int) -> tuple[str, int]:
    n = data[pos]
    return data[pos + 1:pos + 1 + n].decode(errors="replace"), pos + 1 + n


class BusCodec:
    """Encodes bus packets with per-APID sequence counts (one codec per connection end)."""

    def __init__(self) -> None:
        self._seq: dict[int, int] = {}

    def packet(self, apid: int, time_ns: int, data: bytes) -> bytes:
        seq = self._seq.get(apid, 0)
        self._seq[apid] = (seq + 1) & 0x3FFF
        return encode_packet(apid, seq, int(time_ns), data)

    # ---- engine → app ------------------------------------------------------------------------
    def config(self, time_ns: int, config: Mapping[str, Any]) -> bytes:
        return self.packet(CONFIG, time_ns, json.dumps(config, separators=(",", ":")).encode())

    def time(self, t0_ns: int, step: int, t1_ns: int, n_ticks: int, first_tick_ns: int,
             period_ns: int, first_tick: int) -> bytes:
        return self.packet(TIME, t0_ns, struct.pack(">IQIQQQ", step, t1_ns, n_ticks,
                                                    first_tick_ns, period_ns, first_tick))

    def state(self, time_ns: int, record: bytes) -> bytes:
        return self.packet(STATE, time_ns, record)

    def deliver(self, msg: Any) -> bytes:
        return self.packet(DELIVER, msg.time_ns, encode_deliver(msg))

    def stop(self, time_ns: int, reason: int = 0) -> bytes:
        return self.packet(STOP, time_ns, bytes((reason,)))

    # ---- app → engine ------------------------------------------------------------------------
    def hello(self, app: str, rate_hz: float, cpu_budget_ms: float, subscriptions: int,
              pid: int, time_ns: int = 0) -> bytes:
        return self.packet(HELLO, time_ns, struct.pack(">H", PROTOCOL_VERSION) + _str8(app)
                           + struct.pack(">ddII", rate_hz, cpu_budget_ms, subscriptions, pid))

    def step_done(self, time_ns: int, step: int, cpu_ns: int, ticks_run: int) -> bytes:
        return self.packet(STEP_DONE, time_ns, struct.pack(">IQI", step, max(int(cpu_ns), 0),
                                                           ticks_run))

    def op(self, op: tuple[Any, ...]) -> bytes:
        apid, data = encode_op(op)
        return self.packet(apid, op[1], data)


def encode_op(op: tuple[Any, ...]) -> tuple[int, bytes]:
    """(APID, user data) of a publish operation (module notes)."""
    kind = op[0]
    if kind == "tm":
        return TELEMETRY, struct.pack(">H", 1) + _str8(op[2]) + struct.pack(">d", op[3])
    if kind == "mode":
        return REQUEST, struct.pack(">BBi", _REQUESTS["mode"], op[2], op[3])
    if kind == "capture":
        return REQUEST, struct.pack(">Bi", _REQUESTS["capture"], op[2])
    if kind == "payload":
        return REQUEST, struct.pack(">BB", _REQUESTS["payload"], 1 if op[2] else 0)
    if kind == "image":
        return REQUEST, struct.pack(">BIBB", _REQUESTS["image"], op[2],
                                    0 if op[3] == "downlink" else 1, op[4])
    if kind == "file":
        return FILE, struct.pack(">BQ", op[4], op[3]) + op[2].encode()
    if kind == "send":
        return SEND, _str8(op[2]) + bytes(op[3])
    if kind == "event":
        return EVENT, _str8(op[2]) + json.dumps(op[3], default=str).encode()
    raise UsageError(f"unknown operation {kind!r}")


def decode_op(pkt: Packet) -> list[tuple[Any, ...]]:
    """The operations of one app → engine publish packet (a telemetry packet may hold many)."""
    d, t = pkt.data, int(pkt.time_ns or 0)
    a = pkt.apid
    if a == TELEMETRY:
        (n,) = struct.unpack_from(">H", d)
        pos, out = 2, []
        for _ in range(n):
            key, pos = _read_str8(d, pos)
            (value,) = struct.unpack_from(">d", d, pos)
            pos += 8
            out.append(("tm", t, key, value))
        return out
    if a == REQUEST:
        kind = d[0]
        if kind == 1:
            mode, target = struct.unpack_from(">Bi", d, 1)
            return [("mode", t, mode, target)]
        if kind == 2:
            return [("capture", t, struct.unpack_from(">i", d, 1)[0])]
        if kind == 3:
            return [("payload", t, bool(d[1]))]
        if kind == 4:
            image_id, action, prio = struct.unpack_from(">IBB", d, 1)
            return [("image", t, image_id, "downlink" if action == 0 else "discard", prio)]
        raise InputError(f"unknown request kind {kind}", source="bus", field="kind",
                         fix="Request kinds: 1 mode, 2 capture, 3 payload, 4 image")
    if a == FILE:
        prio, size = struct.unpack_from(">BQ", d)
        return [("file", t, d[9:].decode(errors="replace"), size, prio)]
    if a == SEND:
        dst, pos = _read_str8(d, 0)
        return [("send", t, dst, bytes(d[pos:]))]
    if a == EVENT:
        kind_s, pos = _read_str8(d, 0)
        detail = json.loads(d[pos:].decode() or "{}") if len(d) > pos else {}
        return [("event", t, kind_s, detail)]
    raise InputError(f"APID 0x{a:03X} is not an app publish packet", source="bus",
                     field="apid", fix="Apps publish bus-telemetry, -request, -file, -send, "
                                       "-event")


def encode_deliver(msg: Any) -> bytes:
    """bus-deliver user data of a message (:data:`DELIVER_KINDS`)."""
    kind = DELIVER_KINDS.get(type(msg))
    if kind is None:
        raise UsageError(f"{type(msg).__name__} is not delivered over the bus")
    head = bytes((kind,))
    if isinstance(msg, m.Telecommand):
        return head + struct.pack(">Q", msg.sent_ns) + json.dumps(
            {"command": msg.command, "args": dict(msg.args)}, default=str).encode()
    if isinstance(msg, m.GroundMessage):
        return head + struct.pack(">Q", msg.sent_ns) + msg.payload
    if isinstance(msg, m.SatMessage):
        return (head + struct.pack(">Qd", msg.sent_ns, msg.delay_ms) + _str8(msg.src)
                + _str8(msg.app) + msg.payload)
    if isinstance(msg, m.SendReport):
        return (head + struct.pack(">QBd", msg.sent_ns, 1 if msg.accepted else 0, msg.delay_ms)
                + _str8(msg.dst) + msg.reason.encode())
    assert isinstance(msg, m.Image)
    tile = np.ascontiguousarray(msg.tile, np.uint8)
    h, w, b = tile.shape
    return (head + struct.pack(">IiddddHHB", msg.image_id, msg.target, msg.lat_deg,
                               msg.lon_deg, msg.bits, msg.ground_size_m, h, w, b)
            + _str8(msg.target_name) + tile.tobytes())


def decode_deliver(pkt: Packet) -> Any:
    """The message of a bus-deliver packet."""
    d, t = pkt.data, int(pkt.time_ns or 0)
    kind = d[0]
    if kind == 1:
        (sent,) = struct.unpack_from(">Q", d, 1)
        body = json.loads(d[9:].decode())
        return m.Telecommand(t, sent, body["command"], body.get("args", {}))
    if kind == 2:
        (sent,) = struct.unpack_from(">Q", d, 1)
        return m.GroundMessage(t, sent, bytes(d[9:]))
    if kind == 3:
        sent, delay = struct.unpack_from(">Qd", d, 1)
        src, pos = _read_str8(d, 17)
        app, pos = _read_str8(d, pos)
        return m.SatMessage(t, sent, src, app, bytes(d[pos:]), delay)
    if kind == 4:
        sent, ok, delay = struct.unpack_from(">QBd", d, 1)
        dst, pos = _read_str8(d, 18)
        return m.SendReport(t, sent, dst, bool(ok), delay, d[pos:].decode(errors="replace"))
    if kind == 5:
        image_id, target, lat, lon, bits, size_m, h, w, b = struct.unpack_from(">IiddddHHB",
                                                                               d, 1)
        name, pos = _read_str8(d, 1 + struct.calcsize(">IiddddHHB"))
        tile = np.frombuffer(d, np.uint8, h * w * b, pos).reshape(h, w, b)
        return m.Image(t, image_id, target, name, lat, lon, bits, size_m, tile)
    raise InputError(f"unknown bus-deliver kind {kind}", source="bus", field="kind",
                     fix="Kinds: 1 telecommand, 2 ground message, 3 satellite message, "
                         "4 send report, 5 image")


def decode_hello(pkt: Packet) -> dict[str, Any]:
    d = pkt.data
    (version,) = struct.unpack_from(">H", d)
    if version != PROTOCOL_VERSION:
        raise InputError(f"bus protocol version {version} is not {PROTOCOL_VERSION}",
                         source="bus-hello", field="version",
                         fix="Use a client of this orbemu version")
    app, pos = _read_str8(d, 2)
    rate, budget, subs, pid = struct.unpack_from(">ddII", d, pos)
    return {"app": app, "rate_hz": rate, "cpu_budget_ms": budget, "subscriptions": subs,
            "pid": pid}


def decode_time(pkt: Packet) -> dict[str, int]:
    step, t1, n, first_ns, period, first = struct.unpack_from(">IQIQQQ", pkt.data)
    return {"t0_ns": int(pkt.time_ns or 0), "step": step, "t1_ns": t1, "n_ticks": n,
            "first_tick_ns": first_ns, "period_ns": period, "first_tick": first}


def decode_step_done(pkt: Packet) -> tuple[int, int, int]:
    """(step, cpu_ns, ticks_run) of a bus-step-done packet."""
    step, cpu, ticks = struct.unpack_from(">IQI", pkt.data)
    return int(step), int(cpu), int(ticks)


class PacketStream:
    """Splits a byte stream into packets as bytes arrive (:meth:`feed`)."""

    def __init__(self, source: str = "bus") -> None:
        self._buf = bytearray()
        self.source = source
        self.count = 0

    def feed(self, data: bytes) -> list[Packet]:
        buf = self._buf
        buf += data
        out = []
        pos = 0
        n = len(buf)
        while n - pos >= PRIMARY_HEADER_BYTES:
            total = PRIMARY_HEADER_BYTES + ((buf[pos + 4] << 8) | buf[pos + 5]) + 1
            if n - pos < total:
                break
            self.count += 1
            out.append(decode_packet(bytes(buf[pos:pos + total]), source=self.source,
                                     record=self.count))
            pos += total
        if pos:
            del buf[:pos]
        return out


# ---- space-link telemetry of apps ----------------------------------------------------------------

_APP_TM_HEAD = PRIMARY_HEADER_BYTES + SECONDARY_HEADER_BYTES + 2
_POINT_FIXED = 4 + 1 + 8


def app_tm_bytes(key_bytes: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Bytes each point adds to an ``app-tm`` packet, from the UTF-8 length of its key."""
    return np.asarray(key_bytes, np.int64) + _POINT_FIXED


def encode_app_telemetry(time_ns: int, seq: int, points: Sequence[tuple[int, str, float]]
                         ) -> bytes:
    """One ``app-tm`` space packet of ``points`` (time_ns, key, value), times ≥ ``time_ns``
    (module notes). Its size is ``16 + Σ app_tm_bytes(len(key))``."""
    parts = [struct.pack(">H", len(points))]
    for t, key, value in points:
        dt_ms = (int(t) - int(time_ns)) // 1_000_000
        if not 0 <= dt_ms < 2**32:
            raise UsageError("app-tm points must lie within 49 days after the packet's time")
        parts.append(struct.pack(">I", dt_ms) + _str8(key) + struct.pack(">d", value))
    return encode_packet(APP_TM_APID, seq, int(time_ns), b"".join(parts))


APP_TM_HEADER_BYTES = _APP_TM_HEAD
