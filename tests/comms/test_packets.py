"""CCSDS Space Packets: round trips, malformed input, interop with the spacepackets package."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orbemu.comms.packets import (
    APIDS,
    HK_PACKET_BYTES,
    PacketKind,
    SequenceCounters,
    decode_housekeeping,
    decode_packet,
    encode_housekeeping,
    encode_packet,
    from_spacepacket,
    iter_packets,
    to_spacepacket,
)
from orbemu.errors import InputError, UsageError

sp = pytest.importorskip("spacepackets.ccsds.spacepacket")

TIMED = sorted(a for a in APIDS if a != 0x7FF)


@settings(max_examples=200, deadline=None)
@given(apid=st.sampled_from(TIMED), seq=st.integers(0, 16383),
       t=st.integers(0, 2**63 - 1), data=st.binary(min_size=0, max_size=300))
def test_round_trip_and_spacepackets_parse_ours(apid, seq, t, data):
    raw = encode_packet(apid, seq, t, data)
    pkt = decode_packet(raw)
    assert (pkt.apid, pkt.seq_count, pkt.time_ns, pkt.data) == (apid, seq, t, data)
    assert pkt.kind == APIDS[apid].kind
    assert pkt.encode() == raw
    # The spacepackets package reads the same header fields from our bytes.
    hdr = sp.SpacePacketHeader.unpack(raw)
    assert (hdr.apid, hdr.seq_count, hdr.packet_len, hdr.sec_header_flag) == (
        apid, seq, len(raw), True)
    assert int(hdr.packet_type) == int(APIDS[apid].kind)
    assert hdr.seq_flags == sp.SequenceFlags.UNSEGMENTED
    ours = to_spacepacket(raw)
    assert bytes(ours.pack()) == raw
    found = sp.parse_space_packets(raw + raw, [hdr.packet_id])
    assert [bytes(p) for p in found.tm_list] == [raw, raw]


@settings(max_examples=100, deadline=None)
@given(apid=st.sampled_from(TIMED), seq=st.integers(0, 16383), t=st.integers(0, 2**64 - 1),
       data=st.binary(min_size=0, max_size=100))
def test_we_parse_packets_built_by_spacepackets(apid, seq, t, data):
    kind = sp.PacketType.TC if APIDS[apid].kind == PacketKind.TC else sp.PacketType.TM
    header = sp.SpacePacketHeader(packet_type=kind, apid=apid, seq_count=seq,
                                  data_len=8 + len(data) - 1, sec_header_flag=True)
    theirs = sp.SpacePacket(header, struct.pack(">Q", t), data)
    pkt = from_spacepacket(theirs)
    assert (pkt.apid, pkt.seq_count, pkt.time_ns, pkt.data) == (apid, seq, t, data)


def test_idle_packets():
    raw = encode_packet("idle", 3, None, b"\xff" * 10)
    assert sp.SpacePacketHeader.unpack(raw).sec_header_flag is False
    assert decode_packet(raw).time_ns is None
    with pytest.raises(UsageError, match="idle"):
        encode_packet("idle", 0, 5, b"x")
    with pytest.raises(UsageError, match="idle"):
        encode_packet("hk", 0, None, b"x")


def test_malformed_packets_are_refused_with_clear_errors():
    good = encode_packet("tc-platform", 7, 10**18, b"\x00\x01")
    with pytest.raises(InputError, match="cannot hold a Space Packet") as e:
        decode_packet(good[:5])
    assert e.value.field == "length"
    with pytest.raises(InputError, match="data length field says 16 bytes") as e:
        decode_packet(good[:-1])
    assert e.value.field == "packet_data_length"
    with pytest.raises(InputError, match="but 17 bytes"):
        decode_packet(good + b"\x00")
    bad_version = bytes([good[0] | 0b0010_0000]) + good[1:]
    with pytest.raises(InputError, match="version 1 is not 0") as e:
        decode_packet(bad_version)
    assert e.value.field == "version"
    unknown = bytes([good[0] & 0xF8, 0x55]) + good[2:]  # APID 0x055
    with pytest.raises(InputError, match="unknown APID 0x055") as e:
        decode_packet(unknown)
    assert e.value.field == "apid" and "Known APIDs" in str(e.value)
    wrong_type = bytes([good[0] & ~0x10]) + good[1:]  # TC APID with the TM bit
    with pytest.raises(InputError, match="is TC but the type bit says TM"):
        decode_packet(wrong_type)
    no_sec = bytes([good[0] & ~0x08]) + good[1:]
    with pytest.raises(InputError, match="secondary header flag 0"):
        decode_packet(no_sec)
    short_time = encode_packet("idle", 0, None, b"abc")
    short_time = bytes([0x08 | 0x00, 0x10]) + short_time[2:]  # HK APID, 3 data bytes
    with pytest.raises(InputError, match="cannot hold the 8-byte time"):
        decode_packet(short_time)
    # In a stream, the record number of the bad packet is named.
    stream = good + good + good[:-3]
    with pytest.raises(InputError, match="record 3"):
        list(iter_packets(stream))
    assert len(list(iter_packets(good * 4))) == 4


def test_housekeeping_layout_round_trip():
    n = 5
    pos = np.arange(n * 3, dtype=float).reshape(n, 3) * 1234.5 + 7e6
    temps = np.array([[20.25, -5.5], [np.nan, 1.0], [0.0, 0.0], [1.0, 2.0], [3.0, 4.0]])
    raw = encode_housekeeping(np.arange(n) + 44713, np.arange(n), 1_780_000_000 * 10**9, pos,
                              mode=[0, 1, 2, 3, 255], flags=[1, 2, 4, 8, 0],
                              battery_soc=np.linspace(0, 1, n), storage_used_bytes=2**40,
                              temperatures_c=temps)
    assert raw.shape == (n, HK_PACKET_BYTES) == (5, 64)
    rec = decode_housekeeping(raw.tobytes())
    assert np.array_equal(rec.position_itrf_m, pos)
    assert np.array_equal(rec.spacecraft_id, np.arange(n) + 44713)
    assert np.array_equal(rec.mode, [0, 1, 2, 3, 255])
    assert np.allclose(rec.battery_soc, np.linspace(0, 1, n), atol=1e-7)
    assert np.all(rec.storage_used_bytes == 2**40)
    assert np.array_equal(rec.temperatures_c[:, :2], temps, equal_nan=True)
    assert np.isnan(rec.temperatures_c[:, 2:]).all()
    # Each row is a valid Space Packet; the documented offsets hold.
    p = bytes(raw[2])
    pkt = decode_packet(p)
    assert pkt.apid == 0x010 and pkt.time_ns == 1_780_000_000 * 10**9 and len(pkt.data) == 50
    assert struct.unpack_from(">I", p, 14)[0] == 44715
    assert struct.unpack_from(">3d", p, 18) == tuple(pos[2])
    assert p[42] == 2 and p[43] == 4
    assert struct.unpack_from(">Q", p, 48)[0] == 2**40
    assert struct.unpack_from(">4h", p, 56) == (0, 0, -32768, -32768)
    # A non-HK packet in a HK stream is named.
    other = encode_packet("event", 0, 0, b"x" * 50)
    with pytest.raises(InputError, match=r"record 2.*not housekeeping"):
        decode_housekeeping(raw[0].tobytes() + other)
    with pytest.raises(InputError, match="whole number"):
        decode_housekeeping(raw.tobytes()[:-1])


def test_sequence_counters_per_satellite_and_apid_wrap():
    c = SequenceCounters(3)
    assert list(c.take([0, 2, 0], "hk")) == [0, 0, 1]
    assert list(c.take([0], "hk")) == [2]
    assert list(c.take([0], "event")) == [0]
    c.counts[1, :] = 16383
    assert list(c.take([1, 1], 0x010)) == [16383, 0]
