"""CCSDS Space Packets (CCSDS 133.0-B-2) for telecommands up and telemetry down.

Every packet orbemu makes is a CCSDS Space Packet: the 6-byte primary header, an 8-byte
secondary header holding the time, and the user data. The codec is plain numpy/struct (vectorized
for housekeeping: one call encodes a packet per satellite), so the engine needs no extra package
at run time; :func:`to_spacepacket` / :func:`from_spacepacket` convert to and from the
``spacepackets`` package's objects (optional extra ``ops``), and the tests check that each side
parses the other's bytes.

Primary header (big-endian, CCSDS 133.0-B-2 §4.1.3)::

    bits 0-2   version            always 0 (version 1 Space Packet); anything else is refused
    bit  3     type               0 = telemetry, 1 = telecommand
    bit  4     secondary header   1 (0 only for idle packets, APID 0x7FF)
    bits 5-15  APID               11 bits, see the map below
    bits 16-17 sequence flags     3 = unsegmented (orbemu does not segment)
    bits 18-31 sequence count     14 bits per APID and satellite, wraps at 16384
    bits 32-47 data length        (bytes after the primary header) − 1

Secondary header: **time**, 8 bytes, unsigned big-endian nanoseconds since 1970-01-01T00:00:00
UTC counted as POSIX does (orbemu's ``Time.ns``): a documented simple field rather than CUC, so
that any tool reads it with one ``struct.unpack(">Q")``.

APID map (:data:`APIDS`)
------------------------
=======  ================  ====  =====  ==========================================================
APID     name              type  class  user data
=======  ================  ====  =====  ==========================================================
0x010    ``hk``            TM    1      housekeeping, fixed layout below (50 bytes)
0x011    ``event``         TM    0      u16 event id, u8 severity (0 info … 3 critical), UTF-8 text
0x012    ``tc-ack``        TM    0      u16 APID, u16 sequence count of the TC, u8 stage, u8 code
0x020    ``payload``       TM    2      payload data (opaque)
0x100    ``tc-platform``   TC    0      platform commands (mode change, reboot): u16 opcode, args
0x101    ``tc-time``       TC    0      time correlation: u64 ns
0x110    ``tc-payload``    TC    0      payload tasking (targets, captures): u16 opcode, args
0x120    ``tc-data``       TC    0      onboard data management (downlink, delete): u16 opcode
0x7FF    ``idle``          TM    3      idle packet (no secondary header), fill
=======  ================  ====  =====  ==========================================================

Flight software (:mod:`orbemu.fsw`) adds the APIDs of its apps on the space link — ``app-tm``
(0x030, TM, class 1: telemetry points an app published), ``app-file`` (0x021, TM, class 2: files
an app downlinks), ``tc-app`` (0x130, TC, class 0: a message from the ground to an app) — and
those of the *bus* between the engine and out-of-process apps or hardware (0x600–0x61F, never on
the space link; TC = engine → app, TM = app → engine). Their layouts are in
``docs/bus-protocol.md`` and :mod:`orbemu.fsw.bus`.

"class" is the queue priority class (0 first; see :mod:`orbemu.comms.queues`).

Housekeeping packet (APID 0x010, 64 bytes, all big-endian)
----------------------------------------------------------
======  ====  =======================  =====  ====================================================
offset  size  field                    type   unit / meaning
======  ====  =======================  =====  ====================================================
0       6     primary header           —      APID 0x010, TM, secondary header 1, length field 57
6       8     time                     u64    ns since 1970-01-01 UTC (POSIX count)
14      4     spacecraft_id            u32    catalog (NORAD) number
18      8     x_itrf_m                 f64    ITRF position, metres
26      8     y_itrf_m                 f64    ITRF position, metres
34      8     z_itrf_m                 f64    ITRF position, metres
42      1     mode                     u8     0 nadir, 1 Sun pointing, 2 target pointing, 3 safe,
                                              255 unknown
43      1     flags                    u8     bit 0 in eclipse, bit 1 in contact, bit 2 storage
                                              full, bit 3 battery low
44      4     battery_soc              f32    state of charge 0–1; NaN if not modelled
48      8     storage_used_bytes       u64    bytes
56      8     temperatures_centi_c     4×i16  0.01 °C each; −32768 = not modelled
======  ====  =======================  =====  ====================================================

Decoding errors raise :class:`~orbemu.errors.InputError` naming the packet (record number in a
stream), the field, the value and the rule: too short, length field disagreeing with the bytes,
version not 0, unknown APID, type not matching the APID, missing secondary header.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from orbemu.errors import InputError, UnavailableError, UsageError

__all__ = [
    "APIDS",
    "HK_DTYPE",
    "HK_PACKET_BYTES",
    "PRIMARY_HEADER_BYTES",
    "SECONDARY_HEADER_BYTES",
    "ApidInfo",
    "HousekeepingRecords",
    "Packet",
    "PacketKind",
    "SequenceCounters",
    "apid_info",
    "decode_housekeeping",
    "decode_packet",
    "encode_housekeeping",
    "encode_packet",
    "from_spacepacket",
    "iter_packets",
    "to_spacepacket",
]

PRIMARY_HEADER_BYTES = 6
SECONDARY_HEADER_BYTES = 8
MAX_DATA_BYTES = 65536  # data length field + 1
SEQ_MODULO = 1 << 14
UNSEGMENTED = 3


class PacketKind(enum.IntEnum):
    """The packet type bit."""

    TM = 0
    TC = 1


@dataclass(frozen=True)
class ApidInfo:
    """One entry of the APID map."""

    apid: int
    name: str
    kind: PacketKind
    priority_class: int
    description: str


#: The APID map (see the module docstring), by APID.
APIDS: dict[int, ApidInfo] = {a.apid: a for a in (
    ApidInfo(0x010, "hk", PacketKind.TM, 1, "housekeeping telemetry (fixed layout)"),
    ApidInfo(0x011, "event", PacketKind.TM, 0, "event reports"),
    ApidInfo(0x012, "tc-ack", PacketKind.TM, 0, "telecommand verification"),
    ApidInfo(0x020, "payload", PacketKind.TM, 2, "payload data"),
    ApidInfo(0x100, "tc-platform", PacketKind.TC, 0, "platform commands"),
    ApidInfo(0x101, "tc-time", PacketKind.TC, 0, "time correlation"),
    ApidInfo(0x110, "tc-payload", PacketKind.TC, 0, "payload tasking"),
    ApidInfo(0x120, "tc-data", PacketKind.TC, 0, "onboard data management"),
    ApidInfo(0x7FF, "idle", PacketKind.TM, 3, "idle packet"),
    # flight-software apps on the space link (orbemu.fsw)
    ApidInfo(0x021, "app-file", PacketKind.TM, 2, "a file an onboard app downlinks"),
    ApidInfo(0x030, "app-tm", PacketKind.TM, 1, "telemetry points of onboard apps"),
    ApidInfo(0x130, "tc-app", PacketKind.TC, 0, "a message from the ground to onboard apps"),
    # the bus between the engine and out-of-process apps or hardware (docs/bus-protocol.md)
    ApidInfo(0x600, "bus-hello", PacketKind.TM, 0, "bus: an app introduces itself"),
    ApidInfo(0x601, "bus-config", PacketKind.TC, 0, "bus: the app's configuration"),
    ApidInfo(0x602, "bus-time", PacketKind.TC, 0, "bus: step announce (run these ticks)"),
    ApidInfo(0x603, "bus-state", PacketKind.TC, 0, "bus: the satellite's state"),
    ApidInfo(0x604, "bus-deliver", PacketKind.TC, 0, "bus: a message delivered to the app"),
    ApidInfo(0x605, "bus-stop", PacketKind.TC, 0, "bus: the app is stopped"),
    ApidInfo(0x610, "bus-step-done", PacketKind.TM, 0, "bus: the app finished the step"),
    ApidInfo(0x611, "bus-telemetry", PacketKind.TM, 0, "bus: telemetry points"),
    ApidInfo(0x612, "bus-request", PacketKind.TM, 0, "bus: a mode/capture/image request"),
    ApidInfo(0x613, "bus-file", PacketKind.TM, 0, "bus: a file to downlink"),
    ApidInfo(0x614, "bus-send", PacketKind.TM, 0, "bus: a message to another satellite"),
    ApidInfo(0x615, "bus-event", PacketKind.TM, 0, "bus: an event"),
)}
_BY_NAME = {a.name: a for a in APIDS.values()}
IDLE_APID = 0x7FF
HK_APID = 0x010


def apid_info(apid: int | str) -> ApidInfo:
    """The map entry of an APID given by number or name."""
    info = _BY_NAME.get(apid) if isinstance(apid, str) else APIDS.get(int(apid))
    if info is None:
        raise UsageError(f"unknown APID {apid!r}; known: "
                         + ", ".join(f"{a.name}=0x{a.apid:03X}" for a in APIDS.values()))
    return info


@dataclass(frozen=True)
class Packet:
    """A decoded Space Packet."""

    kind: PacketKind
    apid: int
    seq_count: int
    time_ns: int | None
    data: bytes
    seq_flags: int = UNSEGMENTED

    @property
    def name(self) -> str:
        return APIDS[self.apid].name

    def encode(self) -> bytes:
        return encode_packet(self.apid, self.seq_count, self.time_ns, self.data)


def _header(kind: int, sec: int, apid: int, seq_flags: int, seq: int, length: int) -> bytes:
    return struct.pack(">HHH", (kind << 12) | (sec << 11) | apid, (seq_flags << 14) | seq,
                       length - 1)


def encode_packet(apid: int | str, seq_count: int, time_ns: int | None, data: bytes) -> bytes:
    """One Space Packet: primary header, time secondary header (omitted for idle packets, where
    ``time_ns`` must be None) and ``data``."""
    info = apid_info(apid)
    if not 0 <= int(seq_count) < SEQ_MODULO:
        raise UsageError(f"sequence count must be in 0..{SEQ_MODULO - 1}, got {seq_count}")
    idle = info.apid == IDLE_APID
    if idle != (time_ns is None):
        raise UsageError("idle packets have no time field (time_ns=None); all others need one")
    body = bytes(data) if time_ns is None else struct.pack(">Q", int(time_ns)) + bytes(data)
    if not 1 <= len(body) <= MAX_DATA_BYTES:
        raise UsageError(f"packet data field must hold 1..{MAX_DATA_BYTES} bytes, got "
                         f"{len(body)}")
    return _header(int(info.kind), 0 if idle else 1, info.apid, UNSEGMENTED, int(seq_count),
                   len(body)) + body


def _bad(message: str, field: str, raw: bytes | bytearray | memoryview, source: str,
         record: int | None, fix: str) -> InputError:
    return InputError(message, source=source, record=record, field=field,
                      text=bytes(raw[:24]).hex(" "), fix=fix)


def decode_packet(raw: bytes | bytearray | memoryview, *, source: str = "packet",
                  record: int | None = None, exact: bool = True) -> Packet:
    """Decode one Space Packet. With ``exact`` the bytes must be exactly one packet; otherwise
    trailing bytes are ignored (see :func:`iter_packets`)."""
    raw = memoryview(raw).cast("B") if not isinstance(raw, bytes | bytearray) else raw
    if len(raw) < PRIMARY_HEADER_BYTES + 1:
        raise _bad(f"{len(raw)} bytes cannot hold a Space Packet (at least 7: a 6-byte header "
                   "and one data byte)", "length", raw, source, record,
                   "Pass whole packets; a stream is split with iter_packets()")
    w0, w1, w2 = struct.unpack_from(">HHH", raw)
    version, kind, sec, apid = w0 >> 13, (w0 >> 12) & 1, (w0 >> 11) & 1, w0 & 0x7FF
    seq_flags, seq = w1 >> 14, w1 & 0x3FFF
    total = PRIMARY_HEADER_BYTES + w2 + 1
    if version != 0:
        raise _bad(f"packet version {version} is not 0 (CCSDS 133.0-B-2 Space Packets are "
                   "version 1, coded 000)", "version", raw, source, record,
                   "The bytes are not a Space Packet, or the stream is misaligned")
    if total > len(raw) or (exact and total != len(raw)):
        raise _bad(f"data length field says {total} bytes in all ({w2} + 7) but "
                   f"{len(raw)} bytes were given", "packet_data_length", raw, source, record,
                   "The packet is truncated or padded; check the framing")
    info = APIDS.get(apid)
    if info is None:
        raise _bad(f"unknown APID 0x{apid:03X} ({apid})", "apid", raw, source, record,
                   "Known APIDs: " + ", ".join(f"0x{a:03X} {i.name}" for a, i in APIDS.items()))
    if kind != info.kind:
        raise _bad(f"APID 0x{apid:03X} ({info.name}) is {info.kind.name} but the type bit says "
                   f"{PacketKind(kind).name}", "type", raw, source, record,
                   "Fix the type bit or the APID of the sender")
    idle = apid == IDLE_APID
    if sec != (0 if idle else 1):
        raise _bad(f"secondary header flag {sec} on APID 0x{apid:03X}: orbemu packets carry "
                   "the 8-byte time header (idle packets none)", "secondary_header_flag", raw,
                   source, record, "Set the flag and add the time field")
    body = bytes(raw[PRIMARY_HEADER_BYTES:total])
    if idle:
        return Packet(PacketKind(kind), apid, seq, None, body, seq_flags)
    if len(body) < SECONDARY_HEADER_BYTES:
        raise _bad(f"data field of {len(body)} bytes cannot hold the 8-byte time header",
                   "time", raw, source, record, "Add the time field")
    (time_ns,) = struct.unpack_from(">Q", body)
    return Packet(PacketKind(kind), apid, seq, int(time_ns), body[SECONDARY_HEADER_BYTES:],
                  seq_flags)


def iter_packets(stream: bytes | bytearray, *, source: str = "stream") -> Iterator[Packet]:
    """Decode concatenated packets; the first malformed one raises (with its record number)."""
    view = memoryview(stream)
    pos = 0
    record = 1
    while pos < len(view):
        if len(view) - pos < PRIMARY_HEADER_BYTES:
            raise _bad(f"{len(view) - pos} trailing bytes cannot hold a packet header",
                       "length", view[pos:], source, record, "The stream is truncated")
        total = PRIMARY_HEADER_BYTES + struct.unpack_from(">H", view, pos + 4)[0] + 1
        yield decode_packet(view[pos:pos + total], source=source, record=record)
        pos += total
        record += 1


# ---- sequence counters -----------------------------------------------------------------------


class SequenceCounters:
    """Source sequence counts per satellite and APID (14 bits, wrapping), as one int array."""

    def __init__(self, n_sats: int) -> None:
        self._col = {apid: i for i, apid in enumerate(sorted(APIDS))}
        self.counts = np.zeros((int(n_sats), len(self._col)), dtype=np.int64)

    def take(self, sats: npt.ArrayLike, apid: int | str) -> npt.NDArray[np.int64]:
        """Sequence counts for one new packet of ``apid`` from each of ``sats`` (in order; a
        satellite listed twice gets consecutive counts)."""
        col = self._col[apid_info(apid).apid]
        sats = np.asarray(sats, np.int64).ravel()
        order = np.argsort(sats, kind="stable")
        s = sats[order]
        first = np.ones(s.size, bool)
        first[1:] = s[1:] != s[:-1]
        start = np.flatnonzero(first)
        rank = np.arange(s.size) - np.repeat(start, np.diff(np.append(start, s.size)))
        out = np.empty(s.size, np.int64)
        out[order] = (self.counts[s, col] + rank) % SEQ_MODULO
        np.add.at(self.counts[:, col], s, 1)
        self.counts[:, col] %= SEQ_MODULO
        return out


# ---- housekeeping (vectorized) ---------------------------------------------------------------

#: Structured dtype of a whole housekeeping packet (64 bytes, big-endian).
HK_DTYPE = np.dtype([
    ("packet_id", ">u2"), ("sequence", ">u2"), ("data_length", ">u2"), ("time_ns", ">u8"),
    ("spacecraft_id", ">u4"), ("position_itrf_m", ">f8", (3,)), ("mode", "u1"),
    ("flags", "u1"), ("battery_soc", ">f4"), ("storage_used_bytes", ">u8"),
    ("temperatures_centi_c", ">i2", (4,)),
])
HK_PACKET_BYTES = HK_DTYPE.itemsize
assert HK_PACKET_BYTES == 64
TEMPERATURE_UNKNOWN = -32768
_HK_PACKET_ID = (1 << 11) | HK_APID  # TM, secondary header


@dataclass(frozen=True, eq=False)
class HousekeepingRecords:
    """Decoded housekeeping, columnar (``n`` packets)."""

    seq_count: npt.NDArray[np.int64]
    time_ns: npt.NDArray[np.int64]
    spacecraft_id: npt.NDArray[np.int64]
    position_itrf_m: npt.NDArray[np.float64]
    mode: npt.NDArray[np.uint8]
    flags: npt.NDArray[np.uint8]
    battery_soc: npt.NDArray[np.float64]
    storage_used_bytes: npt.NDArray[np.int64]
    temperatures_c: npt.NDArray[np.float64]  # (n, 4), NaN where not modelled

    def __len__(self) -> int:
        return int(self.seq_count.size)


def encode_housekeeping(
    spacecraft_id: npt.ArrayLike,
    seq_count: npt.ArrayLike,
    time_ns: npt.ArrayLike,
    position_itrf_m: npt.ArrayLike,
    *,
    mode: npt.ArrayLike = 255,
    flags: npt.ArrayLike = 0,
    battery_soc: npt.ArrayLike = np.nan,
    storage_used_bytes: npt.ArrayLike = 0,
    temperatures_c: npt.ArrayLike | None = None,
) -> npt.NDArray[np.uint8]:
    """Housekeeping packets of ``n`` satellites at once: an ``(n, 64)`` uint8 array, one packet
    per row (``bytes(out[i])`` is packet ``i``). Arguments broadcast to ``n``; positions are
    ``(n, 3)``, temperatures ``(n, ≤4)`` °C (NaN or missing columns: not modelled)."""
    ids = np.asarray(spacecraft_id, np.int64).ravel()
    n = ids.size
    rec = np.zeros(n, HK_DTYPE)
    seq = np.broadcast_to(np.asarray(seq_count, np.int64), (n,))
    if np.any((seq < 0) | (seq >= SEQ_MODULO)):
        raise UsageError(f"sequence counts must be in 0..{SEQ_MODULO - 1}")
    if np.any((ids < 0) | (ids > 0xFFFFFFFF)):
        raise UsageError("spacecraft_id must fit 32 bits")
    rec["packet_id"] = _HK_PACKET_ID
    rec["sequence"] = (UNSEGMENTED << 14) | seq
    rec["data_length"] = HK_PACKET_BYTES - PRIMARY_HEADER_BYTES - 1
    rec["time_ns"] = np.broadcast_to(np.asarray(time_ns, np.int64), (n,))
    rec["spacecraft_id"] = ids
    rec["position_itrf_m"] = np.broadcast_to(np.asarray(position_itrf_m, np.float64), (n, 3))
    rec["mode"] = np.broadcast_to(np.asarray(mode), (n,))
    rec["flags"] = np.broadcast_to(np.asarray(flags), (n,))
    rec["battery_soc"] = np.broadcast_to(np.asarray(battery_soc, np.float64), (n,))
    rec["storage_used_bytes"] = np.broadcast_to(np.asarray(storage_used_bytes, np.int64), (n,))
    temps = np.full((n, 4), TEMPERATURE_UNKNOWN, np.int64)
    if temperatures_c is not None:
        t = np.asarray(temperatures_c, np.float64)
        t = np.broadcast_to(t.reshape(t.shape[0], -1) if t.ndim == 2 else t, (n, t.shape[-1]))
        if t.shape[1] > 4:
            raise UsageError("housekeeping carries at most 4 temperatures")
        centi = np.round(t * 100.0)
        ok = np.isfinite(centi)
        if np.any(ok & ((centi < -32767) | (centi > 32767))):
            raise UsageError("temperatures must be within ±327.67 °C")
        temps[:, :t.shape[1]] = np.where(ok, centi, TEMPERATURE_UNKNOWN)
    rec["temperatures_centi_c"] = temps
    return rec.view(np.uint8).reshape(n, HK_PACKET_BYTES)


def decode_housekeeping(raw: bytes | bytearray | npt.NDArray[np.uint8], *,
                        source: str = "housekeeping") -> HousekeepingRecords:
    """Decode concatenated housekeeping packets (or an ``(n, 64)`` array) at once; the first
    malformed packet raises :class:`InputError` with its record number."""
    buf = np.ascontiguousarray(np.frombuffer(raw, np.uint8) if not isinstance(raw, np.ndarray)
                               else raw.reshape(-1))
    if buf.size % HK_PACKET_BYTES:
        raise InputError(f"{buf.size} bytes is not a whole number of {HK_PACKET_BYTES}-byte "
                         "housekeeping packets", source=source, field="length",
                         fix="Split mixed streams with iter_packets()")
    rec = buf.view(HK_DTYPE)
    pid = rec["packet_id"].astype(np.int64)
    bad = np.flatnonzero((pid != _HK_PACKET_ID)
                         | (rec["data_length"] != HK_PACKET_BYTES - PRIMARY_HEADER_BYTES - 1)
                         | ((rec["sequence"].astype(np.int64) >> 14) != UNSEGMENTED))
    if bad.size:
        i = int(bad[0])
        # The general decoder names the exact problem; a well-formed non-HK packet is refused.
        pkt = decode_packet(bytes(buf[i * HK_PACKET_BYTES:(i + 1) * HK_PACKET_BYTES]),
                            source=source, record=i + 1)
        raise InputError(f"packet is APID 0x{pkt.apid:03X} ({pkt.name}), not housekeeping "
                         f"(0x{HK_APID:03X})", source=source, record=i + 1, field="apid")
    temps = rec["temperatures_centi_c"].astype(np.float64)
    temps = np.where(temps == TEMPERATURE_UNKNOWN, np.nan, temps / 100.0)
    return HousekeepingRecords(
        seq_count=(rec["sequence"].astype(np.int64) & 0x3FFF),
        time_ns=rec["time_ns"].astype(np.int64),
        spacecraft_id=rec["spacecraft_id"].astype(np.int64),
        position_itrf_m=rec["position_itrf_m"].astype(np.float64),
        mode=rec["mode"].copy(), flags=rec["flags"].copy(),
        battery_soc=rec["battery_soc"].astype(np.float64),
        storage_used_bytes=rec["storage_used_bytes"].astype(np.int64),
        temperatures_c=temps)


# ---- the spacepackets package (optional) -----------------------------------------------------


def _spacepackets() -> Any:
    try:
        from spacepackets.ccsds import spacepacket as sp
    except ImportError:  # pragma: no cover - depends on the environment
        raise UnavailableError("the 'spacepackets' package is not installed; "
                               "pip install 'orbemu[ops]'") from None
    return sp


def to_spacepacket(raw: bytes | bytearray) -> Any:
    """A ``spacepackets.ccsds.SpacePacket`` of an orbemu packet (validated by
    :func:`decode_packet` first); its ``sec_header`` is the 8-byte time field."""
    pkt = decode_packet(raw)
    sp = _spacepackets()
    header = sp.SpacePacketHeader.unpack(bytes(raw[:PRIMARY_HEADER_BYTES]))
    sec = None if pkt.time_ns is None else struct.pack(">Q", pkt.time_ns)
    return sp.SpacePacket(header, sec, pkt.data)


def from_spacepacket(packet: Any) -> Packet:
    """Decode a ``spacepackets`` ``SpacePacket`` (or its header + data) as an orbemu packet."""
    return decode_packet(bytes(packet.pack()))
