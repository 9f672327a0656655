"""The bus codec: every packet round-trips, streams split anywhere, layouts match the docs."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from orbemu.comms.packets import APIDS, PacketKind, decode_packet, to_spacepacket
from orbemu.fsw import messages as m
from orbemu.fsw.bus import (
    BUS_APIDS,
    START_STEP,
    STATE_DTYPE,
    BusCodec,
    PacketStream,
    app_tm_bytes,
    decode_deliver,
    decode_hello,
    decode_op,
    decode_step_done,
    decode_time,
    encode_app_telemetry,
    subscription_mask,
    subscription_types,
)

T = 1_780_000_000_123_456_789

OPS = [("tm", T, "soc", 0.5), ("mode", T, 1, -1), ("mode", T, 2, 7), ("capture", T, 3),
       ("payload", T, False), ("payload", T, True), ("image", T, 12, "downlink", 0),
       ("image", T, 13, "discard", 2), ("file", T, "log.txt", 123_456, 1),
       ("send", T, "RL-P0-S1", b"\x00ping"), ("event", T, "hello", {"a": 1, "b": "x"})]


@pytest.mark.parametrize("op", OPS)
def test_every_publish_round_trips(op):
    raw = BusCodec().op(op)
    pkt = decode_packet(raw)
    assert pkt.kind == PacketKind.TM and pkt.time_ns == T
    assert decode_op(pkt) == [op]


MESSAGES = [
    m.Telecommand(T, T - 5, "set_mode", {"attitude": "sun"}),
    m.GroundMessage(T, T - 9, b"hello"),
    m.SatMessage(T, T - 7, "RL-P0-S0", "Pinger", b"ping 1", 12.5),
    m.SendReport(T, T, "RL-P0-S1", False, float("inf"), "no route"),
]


@pytest.mark.parametrize("msg", MESSAGES)
def test_every_delivery_round_trips(msg):
    pkt = decode_packet(BusCodec().deliver(msg))
    assert pkt.kind == PacketKind.TC and pkt.name == "bus-deliver"
    assert decode_deliver(pkt) == msg


def test_an_image_travels_with_its_tile():
    tile = np.arange(32 * 32 * 4, dtype=np.uint32).astype(np.uint8).reshape(32, 32, 4)
    msg = m.Image(T, 41, 3, "atacama", -23.5, -68.2, 1.2e9, 9_000.0, tile)
    got = decode_deliver(decode_packet(BusCodec().deliver(msg)))
    assert (got.image_id, got.target, got.target_name, got.lat_deg, got.bits) == \
        (41, 3, "atacama", -23.5, 1.2e9)
    assert np.array_equal(got.tile, tile)


def test_control_packets_round_trip():
    c = BusCodec()
    hello = decode_hello(decode_packet(c.hello("app", 2.0, 3.5, 0b101, 4242)))
    assert hello == {"app": "app", "rate_hz": 2.0, "cpu_budget_ms": 3.5,
                     "subscriptions": 0b101, "pid": 4242}
    tm = decode_time(decode_packet(c.time(T, 17, T + 10**9, 4, T + 5, 250_000_000, 68)))
    assert tm == {"t0_ns": T, "step": 17, "t1_ns": T + 10**9, "n_ticks": 4,
                  "first_tick_ns": T + 5, "period_ns": 250_000_000, "first_tick": 68}
    assert decode_step_done(decode_packet(c.step_done(T, START_STEP, 123, 0))) == \
        (START_STEP, 123, 0)


def test_sequence_counts_run_per_apid():
    c = BusCodec()
    seqs = [decode_packet(c.op(("tm", T, "k", 1.0))).seq_count for _ in range(3)]
    assert seqs == [0, 1, 2]
    assert decode_packet(c.op(("capture", T, 1))).seq_count == 0


def test_subscriptions_map_to_bits_and_back():
    subs = (m.Image, m.Tick, m.SatMessage)
    assert set(subscription_types(subscription_mask(subs))) == set(subs)


def test_state_layout_matches_the_documented_offsets():
    # docs/bus-protocol.md and examples/c_client/bus_client.c read these offsets
    assert STATE_DTYPE.itemsize == 162
    offsets = {name: STATE_DTYPE.fields[name][1] for name in STATE_DTYPE.names}
    assert offsets["r_itrf_m"] == 4 and offsets["lat_deg"] == 52 and offsets["mode"] == 108
    assert offsets["flags"] == 109 and offsets["target"] == 110 and offsets["soc"] == 114
    assert offsets["storage_capacity_bits"] == 154


def test_bus_apids_are_in_the_map_with_their_direction():
    for name, apid in BUS_APIDS.items():
        info = APIDS[apid]
        assert info.name == name and 0x600 <= apid <= 0x61F
        engine_to_app = name in ("bus-config", "bus-time", "bus-state", "bus-deliver",
                                 "bus-stop")
        assert info.kind == (PacketKind.TC if engine_to_app else PacketKind.TM)


def test_spacepackets_reads_bus_packets():
    pytest.importorskip("spacepackets")
    raw = BusCodec().op(("tm", T, "soc", 0.25))
    sp = to_spacepacket(raw)
    assert sp.apid == BUS_APIDS["bus-telemetry"]
    assert struct.unpack(">Q", bytes(sp.sec_header))[0] == T


keys = st.text(st.characters(min_codepoint=33, max_codepoint=0x2FF), min_size=1, max_size=20)
points_st = st.lists(st.tuples(st.integers(0, 10**12), keys,
                               st.floats(allow_nan=False, width=64)), min_size=1, max_size=40)


@given(points_st)
def test_app_telemetry_packets_have_the_size_the_queues_account(points):
    pts = [(T + dt, k, v) for dt, k, v in points]
    raw = encode_app_telemetry(T, 0, pts)
    expect = 16 + int(app_tm_bytes([len(k.encode()) for _, k, _ in pts]).sum())
    assert len(raw) == expect
    assert decode_packet(raw).apid == 0x030


@given(st.lists(st.sampled_from(OPS), min_size=1, max_size=12),
       st.lists(st.integers(1, 40), min_size=1, max_size=30))
def test_a_stream_splits_into_packets_at_any_chunking(ops, cuts):
    c = BusCodec()
    data = b"".join(c.op(op) for op in ops)
    stream = PacketStream()
    got = []
    pos = 0
    for cut in cuts * (len(data) // max(sum(cuts), 1) + 1):
        got += stream.feed(data[pos:pos + cut])
        pos += cut
        if pos >= len(data):
            break
    got += stream.feed(data[pos:])
    assert [op for pkt in got for op in decode_op(pkt)] == ops
