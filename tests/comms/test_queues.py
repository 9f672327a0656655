"""Queues carried during contacts: conservation, nothing outside contacts, priority and FIFO."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orbemu.comms.packets import encode_housekeeping, encode_packet
from orbemu.comms.queues import PacketQueues
from orbemu.errors import InputError, UsageError
from orbemu.ground.scheduling import schedule_greedy
from tests.ground.synthetic import NS, make_stations, make_windows


def _plan(n_sats=3, rate=8e3):
    # Satellite s has contacts [100 + 1000 k, 400 + 1000 k] s at station s.
    sat = np.repeat(np.arange(n_sats), 3)
    aos = 100.0 + 1000.0 * np.tile(np.arange(3), n_sats)
    w = make_windows(sat, sat, aos, aos + 300.0, n_sats=n_sats, n_stations=n_sats,
                     rate_bps=rate, up_rate_bps=rate / 8)
    return schedule_greedy(w, make_stations(n_sats))


def _run(q, plan, until_s, dt_s=10):
    for t in range(0, until_s, dt_s):
        q.step(plan, t * NS, dt_s * NS)


@settings(max_examples=40, deadline=None)
@given(sizes=st.lists(st.tuples(st.integers(0, 2), st.integers(7, 3000),
                                st.integers(0, 2500)), min_size=1, max_size=40),
       dt_s=st.sampled_from([1, 7, 10, 60]))
def test_conservation_and_nothing_outside_contacts(sizes, dt_s):
    plan = _plan()
    q = PacketQueues(3)
    pushed = np.zeros(3, np.int64)
    for t in range(0, 3000, dt_s):
        for s, size, created in sizes:
            if t <= created < t + dt_s:
                q.push(s, encode_packet("event", 0, created * NS, b"x" * (size - 14))
                       if size >= 14 else encode_packet("idle", 0, None, b"x" * (size - 6)),
                       created * NS)
                pushed[s] += max(size, 7)
        q.step(plan, t * NS, dt_s * NS)
        # Conservation at every step.
        assert np.array_equal(q.enqueued_bytes, q.delivered_bytes + q.queued_bytes.sum(1))
    assert np.array_equal(q.enqueued_bytes, pushed)
    d = q.deliveries()
    inside = (d.delivered_ns >= plan.start_ns[d.contact]) & (d.delivered_ns
                                                               <= plan.end_ns[d.contact])
    assert inside.all()
    assert np.all(plan.sat[d.contact] == d.sat)
    assert np.all(d.delivered_ns >= d.created_ns - dt_s * NS)  # created within the step
    # Never more than the contact could carry.
    by_contact = q.delivered_by_contact(len(plan))
    assert np.all(by_contact * 8 <= plan.volume_down_bits + 1e-6)


def test_rate_and_priority_then_fifo():
    plan = _plan(n_sats=1, rate=8e3)  # 1000 bytes/s, contacts of 300 s
    q = PacketQueues(1)
    q.push_bulk([0], 200, 1000, 0)  # payload, class 2: 200 kB
    for i in range(3):
        q.push(0, encode_packet("hk", i, i, b"h" * 86), i)  # class 1, 100 bytes each
    q.push(0, encode_packet("event", 0, 5, b"e" * 186), 5)  # class 0, 200 bytes
    _run(q, plan, 101, dt_s=1)  # 1 s of contact (100..101): 1000 bytes
    d = q.deliveries()
    assert list(d.apid) == [0x011, 0x010, 0x010, 0x010]
    assert list(d.bytes) == [200, 100, 100, 100]
    assert list(d.created_ns[1:]) == [0, 1, 2]  # FIFO within the class
    # Delivery instants follow the rate: the event ends at 100.2 s.
    assert d.delivered_ns[0] == 100_200_000_000 and d.delivered_ns[-1] == 100_500_000_000
    # The first 1000-byte payload packet got 500 bytes out by 101 s; it ends at 101.5 s.
    q.step(plan, 101 * NS, NS)
    d = q.deliveries()
    assert d.apid[-1] == 0x020 and d.bytes[-1] == 1000
    assert d.delivered_ns[-1] == 101_500_000_000
    _run(q, plan, 3000)
    # Three contacts of 300 s × 1000 B/s = 900 kB: everything (200.5 kB) is delivered.
    assert q.queued_bytes.sum() == 0 and q.delivered_bytes[0] == 200_500
    assert np.all(np.diff(q.deliveries().delivered_ns) >= 0)


def test_large_packets_carry_budget_over_steps_and_are_lost_at_contact_end():
    plan = _plan(n_sats=1, rate=8e3)  # 1000 B/s
    q = PacketQueues(1)
    q.push_bulk([0], 1, 2500, 0)  # 2.5 s of link, steps of 1 s
    _run(q, plan, 102, dt_s=1)  # 2 s of contact: 2000 of 2500 bytes under way
    assert q.delivered_bytes[0] == 0
    q.step(plan, 102 * NS, NS)
    assert q.delivered_bytes[0] == 2500
    assert q.deliveries().delivered_ns[0] == 102_500_000_000
    # A packet larger than a whole contact (300 kB) never goes.
    q2 = PacketQueues(1)
    q2.push_bulk([0], 1, 65000, 0)
    q2.push_bulk([0], 1, 1000, 0)
    _run(q2, plan, 3000)
    assert q2.delivered_bytes[0] == 66000  # 65 s of link fits in one 300 s contact
    q3 = PacketQueues(1)
    plan_short = _plan(n_sats=1, rate=80.0)  # 10 B/s × 300 s = 3000 B per contact
    q3.push_bulk([0], 1, 4000, 0)
    _run(q3, plan_short, 3000)
    assert q3.delivered_bytes[0] == 0 and q3.queued_bytes.sum() == 4000


def test_uplink_uses_up_rate_and_returns_packets():
    plan = _plan(n_sats=2, rate=8e3)  # uplink 1000 bit/s = 125 B/s
    q = PacketQueues(2, direction="up")
    cmds = [encode_packet("tc-platform", i, 0, b"c" * 111) for i in range(3)]  # 125 B each
    for c in cmds:
        q.push(1, c, 0)
    _run(q, plan, 102, dt_s=1)  # 100..102 s: 2 packets
    got = q.pop_received()
    assert [g[2] for g in got] == cmds[:2] and all(g[0] == 1 for g in got)
    assert q.pop_received() == []


def test_housekeeping_rows_and_bad_input():
    q = PacketQueues(4)
    hk = encode_housekeeping([1, 2, 3, 4], 0, 0, np.zeros((4, 3)))
    q.push_many(np.arange(4), hk, 0)
    assert np.array_equal(q.queued_bytes[:, 1], [64] * 4)
    with pytest.raises(InputError):
        q.push(0, b"\x00\x00\x00", 0)
    with pytest.raises(UsageError, match="out of range"):
        q.push_bulk([9], 1, 100, 0)
    with pytest.raises(UsageError, match="direction"):
        PacketQueues(1, direction="sideways")
