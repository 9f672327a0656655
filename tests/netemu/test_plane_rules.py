"""The packet plane's rules, without devices (no root needed): the bottleneck queue, the
release rule at route changes, ICMP errors."""

from __future__ import annotations

import itertools
import socket
import struct

import pytest

from orbemu.netemu.plane import Flow, PlaneSettings, icmp_unreachable

MS = 1_000_000
SETTINGS = PlaneSettings(queue_ms=10.0, queue_min_packets=2, mtu=1500)


def _flow(delay_s: float, rate_bps: float) -> Flow:
    f = Flow()
    f.set_path(delay_s, rate_bps, SETTINGS)
    return f


def test_a_packet_arrives_after_serialisation_plus_propagation():
    f = _flow(0.040, 12e6)  # 1500 B at 12 Mbit/s: 1 ms
    assert f.admit(0, 1500) == 1 * MS + 40 * MS


def test_back_to_back_packets_leave_at_the_bottleneck_rate():
    f = _flow(0.040, 12e6)
    releases = [f.admit(0, 1500) for _ in range(5)]
    assert [b - a for a, b in itertools.pairwise(releases)] == [MS] * 4


def test_the_queue_drops_beyond_its_limit():
    f = _flow(0.010, 12e6)  # 10 ms of queue = 10 packets of 1 ms
    out = [f.admit(0, 1500) for _ in range(15)]
    kept = [r for r in out if r >= 0]
    assert len(kept) == 11  # the one in service + 10 ms of backlog
    assert f.drop_queue == 4
    # once drained, packets are accepted again
    assert f.admit(30 * MS, 1500) == 31 * MS + 10 * MS


def test_no_rate_means_no_queue():
    f = _flow(0.020, float("inf"))
    assert [f.admit(0, 1500) for _ in range(3)] == [20 * MS] * 3
    assert f.drop_queue == 0


def test_a_longer_path_delays_later_packets_only():
    f = _flow(0.040, float("inf"))
    first = f.admit(0, 100)
    f.set_path(0.050, float("inf"), SETTINGS)  # the route lengthens by 10 ms
    second = f.admit(1 * MS, 100)
    assert first == 40 * MS  # in flight: keeps its release
    assert second == 51 * MS  # the new delay: a 10 ms gap, as on the real path


def test_a_shorter_path_does_not_reorder_by_default():
    f = _flow(0.050, float("inf"))
    first = f.admit(0, 100)
    f.set_path(0.030, float("inf"), SETTINGS)  # 20 ms shorter
    second = f.admit(1 * MS, 100)
    third = f.admit(25 * MS, 100)
    assert first == 50 * MS
    assert second == first  # held behind the packet in flight on the longer path
    assert third == 55 * MS  # then the shorter delay


def test_a_shorter_path_may_reorder_when_asked():
    f = _flow(0.050, float("inf"))
    first = f.admit(0, 100)
    f.set_path(0.030, float("inf"), SETTINGS)
    second = f.admit(1 * MS, 100, reorder=True)
    assert second == 31 * MS < first


def test_no_route_marks_the_flow_down():
    f = _flow(float("inf"), 0.0)
    assert not f.up
    f.set_path(0.01, 1e6, SETTINGS)
    assert f.up


def _ipv4(src: str, dst: str, proto: int, payload: bytes, frag: int = 0) -> bytes:
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 7, frag, 64, proto, 0,
                      socket.inet_aton(src), socket.inet_aton(dst))
    return hdr + payload


def _sum16(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def test_icmp_host_unreachable_quotes_the_packet_and_checks_out():
    udp = struct.pack("!HHHH", 5000, 53, 12, 0) + b"abcd"
    packet = _ipv4("10.64.0.1", "10.64.0.2", 17, udp)
    router = socket.inet_aton("10.127.255.254")
    reply = icmp_unreachable(packet, router)
    assert reply is not None
    assert reply[12:16] == router and reply[16:20] == socket.inet_aton("10.64.0.1")
    assert reply[9] == 1  # ICMP
    assert _sum16(reply[:20]) == 0xFFFF  # header checksum
    icmp = reply[20:]
    assert icmp[0] == 3 and icmp[1] == 1  # destination host unreachable
    assert _sum16(icmp) == 0xFFFF
    assert icmp[8:] == packet[:28]  # the IP header + 8 bytes of the original


@pytest.mark.parametrize("packet", [
    _ipv4("10.64.0.1", "10.64.0.2", 1, bytes([3, 1, 0, 0, 0, 0, 0, 0])),  # an ICMP error
    _ipv4("10.64.0.1", "10.64.0.2", 17, b"\0" * 8, frag=100),  # a later fragment
    b"\x45\0",  # truncated
])
def test_no_icmp_error_about_errors_fragments_or_garbage(packet):
    assert icmp_unreachable(packet, socket.inet_aton("10.127.255.254")) is None


def test_icmp_echo_requests_do_get_an_error():
    packet = _ipv4("10.64.0.1", "10.64.0.2", 1, bytes([8, 0, 0, 0, 0, 1, 0, 1]))
    assert icmp_unreachable(packet, socket.inet_aton("10.127.255.254")) is not None
