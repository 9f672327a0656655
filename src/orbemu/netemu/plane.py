"""The packet plane: one process that carries every emulated packet, with delay, rate and loss.

Each emulated node's namespace has one interface, ``oe0``, whose other end is a file
descriptor held by this process: a TUN device (IP packets) in path-level mode, a TAP device
(Ethernet frames) in hop-by-hop mode. The plane reads what a namespace sends, decides where it
goes and when, and writes it into the receiving namespace at that time. One thread, an epoll
set of all the devices and a heap of release times::

    read packet p from node i (at monotonic time now)
    j      = destination node: IPv4 destination (path mode) or destination MAC (hop mode)
    delay, rate = route table of the instant in force (tables.py), pair (i, j)
    if no route (delay = inf) or i/j forced down  → outage: ICMP host unreachable from the
                                                     router address, or silence (option)
    if random() < loss                             → dropped (loss)
    start  = max(now, busy[i, j])                  # FIFO queue at the bottleneck
    if start − now > queue limit                   → dropped (queue full)
    busy[i, j] = start + 8·len(p)/rate             # serialisation at the bottleneck rate
    release = busy[i, j] + delay
    release = max(release, last_release[i, j])     # no reordering within a flow (default)
    push (release, p, j) on the heap

The rule at a route change: a packet's delay is the one in force when it is read, and packets
already in flight keep their release time. When the path lengthens by Δ, packets read after
the change arrive Δ later than they would have (a real gap: the new path is longer); when it
shortens, the ``max`` with the flow's last release keeps them behind the packets still in flight
on the longer path (they arrive back to back, then at the shorter delay) — unless
``reorder=True``, where they may overtake as on a real network with two paths. Packets already
queued when the rate changes keep the rate they were queued at.

Timing: the heap's next release time is awaited with ``select`` on the epoll descriptor
(microsecond timeouts; epoll's own are milliseconds). Timers on virtual machines fire tens to
hundreds of microseconds late, so the plane measures its own wake-up lateness and sleeps until
``release − margin``, then polls until the release time (``spin``); it asks for SCHED_FIFO
priority when it may (``realtime_priority``) so a busy machine does not delay it by a
scheduler tick. What is left — the time between the kernel queueing a packet on the device and
the plane reading it, and the write into the receiving stack — is measured by the benchmark
(``python -m benchmarks.netemu``; BENCHMARKS.md).

The plane is started by the controller (:mod:`orbemu.netemu.emulator`) as
``python -m orbemu.netemu.plane RUN_DIR``; it reads ``RUN_DIR/state.json``, builds the devices,
prints ``ready`` and runs until SIGTERM/SIGINT or its parent's death, writing ``stats.json``
every second. Its devices are persistent inside their namespaces (closing thousands of
non-persistent TUNs costs an RCU grace period each, ~17 ms): they go when the namespaces are
deleted, all at once, and nothing is ever created outside the namespaces.
"""

from __future__ import annotations

import gc
import heapq
import json
import os
import random
import select
import signal
import socket
import struct
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any

from orbemu.netemu import _netlink, _sys
from orbemu.netemu.namespaces import lo_marker
from orbemu.netemu.tables import RouteTables

__all__ = ["DEVICE", "Flow", "PlaneSettings", "icmp_unreachable", "main", "marker"]

#: The emulated interface in every namespace.
DEVICE = "oe0"
_ETH_P_IP = 0x0800
_ETH_P_ARP = 0x0806
#: Release-lateness samples kept (a uniform reservoir over the run: percentiles stay cheap).
_RESERVOIR = 4096


def marker(run: str, node: str) -> str:
    """The alias written on every interface the emulator creates (how cleanup recognises
    them)."""
    return lo_marker(run, node)


@dataclass(frozen=True)
class PlaneSettings:
    """How the plane treats packets.

    mode: ``path`` (TUN, end-to-end delay per route) or ``hop`` (TAP, per-link delay; the
        namespaces route).
    queue_ms: the bottleneck queue's limit, as time to drain it at the bottleneck rate (at
        least ``queue_min_packets`` MTU-sized packets); beyond it packets are dropped.
    loss: probability that a packet is lost (uniform, independent), 0…1.
    outage: ``icmp`` (ICMP destination host unreachable back to the sender, from the router
        address, at most ``icmp_per_s`` per sender) or ``silence`` (dropped, counted).
    reorder: let packets read after a route got shorter overtake those in flight.
    mtu: the interfaces' MTU, bytes.
    seed: the loss generator's seed.
    device_queue: the namespaces' interface queue (packets waiting for the plane to read them;
        the kernel drops beyond it, before the emulated network).
    realtime_priority: SCHED_FIFO priority asked for (0: normal scheduling).
    spin: poll the last stretch before a release instead of trusting the timer: from the
        recent p99 of the timer's lateness before it (at most ``spin_max_us``), and at most
        ``spin_budget`` of each second (then 50 µs).
    """

    mode: str = "path"
    queue_ms: float = 100.0
    queue_min_packets: int = 8
    loss: float = 0.0
    outage: str = "icmp"
    reorder: bool = False
    mtu: int = 1500
    seed: int = 0
    realtime_priority: int = 10
    spin: bool = True
    spin_max_us: float = 3000.0
    spin_budget: float = 0.3
    icmp_per_s: float = 100.0
    device_queue: int = 1000

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class Flow:
    """One directed pair of nodes (path mode) or one direction of a link (hop mode): its
    parameters at instant ``k`` and its queue state, all in monotonic nanoseconds."""

    __slots__ = ("busy", "bytes", "delay_ns", "drop_loss", "drop_outage", "drop_queue",
                 "i", "j", "k", "last", "limit_ns", "ns_per_byte", "packets", "up")

    def __init__(self, i: int = 0, j: int = 1) -> None:
        self.i = i
        self.j = j
        self.k = -1
        self.up = False
        self.delay_ns = 0
        self.ns_per_byte = 0.0
        self.limit_ns = 1 << 62
        self.busy = 0
        self.last = 0
        self.packets = 0
        self.bytes = 0
        self.drop_queue = 0
        self.drop_loss = 0
        self.drop_outage = 0

    def set_path(self, delay_s: float, rate_bps: float, settings: PlaneSettings) -> None:
        """Take the delay and rate of the instant now in force (``inf`` delay: no route)."""
        self.up = delay_s != float("inf") and delay_s == delay_s
        if not self.up:
            return
        self.delay_ns = int(delay_s * 1e9)
        if rate_bps == float("inf") or rate_bps <= 0.0:
            self.ns_per_byte = 0.0
            self.limit_ns = 1 << 62
        else:
            self.ns_per_byte = 8e9 / rate_bps
            self.limit_ns = int(max(settings.queue_ms * 1e6,
                                    settings.queue_min_packets * settings.mtu
                                    * self.ns_per_byte))

    def admit(self, now: int, size: int, reorder: bool = False) -> int:
        """Release time (monotonic ns) of a ``size``-byte packet read at ``now``, or -1 when
        the queue is full (the rule of the module notes)."""
        start = self.busy if self.busy > now else now
        if start - now > self.limit_ns:
            self.drop_queue += 1
            return -1
        self.busy = start + int(size * self.ns_per_byte)
        release = self.busy + self.delay_ns
        if release < self.last and not reorder:
            release = self.last
        self.last = release
        return release


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def icmp_unreachable(packet: bytes, router: bytes) -> bytes | None:
    """ICMP destination host unreachable (type 3, code 1) from ``router`` for the IPv4
    ``packet``, or None where RFC 1122 forbids one (ICMP errors, non-first fragments,
    broadcast sources)."""
    if len(packet) < 20:
        return None
    ihl = (packet[0] & 0x0F) * 4
    if packet[9] == 1 and len(packet) > ihl and packet[ihl] not in (0, 8, 13, 15, 17):
        return None  # never answer an ICMP error with one
    if struct.unpack_from("!H", packet, 6)[0] & 0x1FFF:
        return None  # a later fragment
    quote = packet[:ihl + 8]
    icmp = struct.pack("!BBHI", 3, 1, 0, 0) + quote
    icmp = icmp[:2] + struct.pack("!H", _checksum(icmp)) + icmp[4:]
    total = 20 + len(icmp)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0xC0, total, 0, 0, 64, 1, 0, router,
                      packet[12:16])
    hdr = hdr[:10] + struct.pack("!H", _checksum(hdr)) + hdr[12:]
    return hdr + icmp


class Plane:
    """The plane's state and loop (see the module notes)."""

    def __init__(self, run_dir: str) -> None:
        with open(os.path.join(run_dir, "state.json")) as f:
            state = json.load(f)
        self.run_dir = run_dir
        self.run = state["run"]
        self.settings = PlaneSettings(**state["plane"])
        self.nodes = state["nodes"]
        self.prefix_len = int(state["prefix_len"])
        self.router = socket.inet_aton(state["router"])
        self.tables = RouteTables.open(os.path.join(run_dir, "tables"))
        self.k_nodes = len(self.nodes)
        self.hop = self.settings.mode == "hop"
        self.fds: list[int] = []
        self.node_of_fd: dict[int, int] = {}
        self.by_addr = {socket.inet_aton(n["address"]): i for i, n in enumerate(self.nodes)}
        self.by_mac = {bytes.fromhex(n["mac"]): i for i, n in enumerate(self.nodes)}
        self.macs = [bytes.fromhex(n["mac"]) for n in self.nodes]
        self.flows: dict[int, Flow] = {}
        self.heap: list[tuple[int, int, int, bytes, Flow | None]] = []
        self.seq = 0
        self.rng = random.Random(self.settings.seed)
        self.stop = False
        self.counters = dict.fromkeys(
            ("rx_packets", "rx_bytes", "tx_packets", "tx_bytes", "drop_queue", "drop_loss",
             "drop_outage", "drop_unknown", "drop_write", "drop_other", "icmp_sent",
             "arp_replies", "stale_tables"), 0)
        self.late: list[int] = []
        self.late_seen = 0
        self.outliers: list[tuple[int, int, int]] = []
        self.wake_late_ns = 100_000.0  # mean timer lateness (EWMA), for the statistics
        self.wake_samples: list[int] = []
        self.wake_p99_ns = 200_000  # p99 of the last 256 timer wake-ups, refined as it runs
        self.wake_count = 0
        self.spin_used_ns = 0  # polling time in the current second
        self.spin_total_ns = 0
        self.icmp_next: dict[int, int] = {}
        self.started_ns = time.monotonic_ns()
        self.priority = "normal"

    # ---- set-up ---------------------------------------------------------------------------
    def build(self) -> None:
        """Create every node's device inside its namespace and configure it."""
        s = self.settings
        for i, node in enumerate(self.nodes):
            with _sys.in_netns(node["netns"]):
                _disable_ipv6("all")
                _disable_ipv6("default")
                fd = _sys.open_tun(DEVICE, tap=self.hop, persist=True)
                _disable_ipv6(DEVICE)
                if self.hop:
                    _sysctl("net/ipv4/ip_forward", "1")
                    for key in ("send_redirects", "accept_redirects", "rp_filter"):
                        _sysctl(f"net/ipv4/conf/all/{key}", "0")
                        _sysctl(f"net/ipv4/conf/{DEVICE}/{key}", "0")
                index = socket.if_nametoindex(DEVICE)
                with _netlink.Rtnl() as nl:
                    nl.set_link(index, mtu=s.mtu, alias=marker(self.run, node["name"]),
                                address=self.macs[i] if self.hop else None,
                                txqlen=s.device_queue)
                    nl.add_address(index, node["address"], self.prefix_len)
                    nl.set_link(index, up=True)
                    nl.flush()
            self.fds.append(fd)
            self.node_of_fd[fd] = i

    # ---- packets in -----------------------------------------------------------------------
    def _params(self, flow: Flow, k: int) -> None:
        """Refresh a flow's delay/rate from instant ``k`` (or the newest before it)."""
        got = None
        for back in range(self.tables.r - 1):
            got = self.tables.read(k - back, flow.i, flow.j)
            if got is not None:
                if back:
                    self.counters["stale_tables"] += 1
                break
        if got is None:  # the controller is further behind: the newest table it wrote
            newest = self.tables.written_k
            if 0 <= newest < k:
                got = self.tables.read(newest, flow.i, flow.j)
                self.counters["stale_tables"] += 1
        flow.k = k
        if got is None:
            flow.up = False
            return
        flow.set_path(got[0], got[1], self.settings)

    def _enqueue(self, i: int, j: int, data: bytes, now: int, k: int, ip: bytes) -> None:
        key = i * self.k_nodes + j
        flow = self.flows.get(key)
        if flow is None:
            flow = self.flows[key] = Flow(i, j)
        if flow.k != k:
            self._params(flow, k)
        down = self.tables.down
        if not flow.up or down[i] or down[j]:
            flow.drop_outage += 1
            self.counters["drop_outage"] += 1
            if self.settings.outage == "icmp" and not self.hop:
                self._icmp(i, ip, now)
            return
        loss = self.settings.loss
        if loss and self.rng.random() < loss:
            flow.drop_loss += 1
            self.counters["drop_loss"] += 1
            return
        release = flow.admit(now, len(data), self.settings.reorder)
        if release < 0:
            self.counters["drop_queue"] += 1
            return
        self.seq += 1
        heapq.heappush(self.heap, (release, self.seq, self.fds[j], data, flow))

    def _icmp(self, i: int, packet: bytes, now: int) -> None:
        if now < self.icmp_next.get(i, 0):
            return
        reply = icmp_unreachable(packet, self.router)
        if reply is None or packet[12:16] != socket.inet_aton(self.nodes[i]["address"]):
            return
        self.icmp_next[i] = now + int(1e9 / self.settings.icmp_per_s)
        try:
            os.write(self.fds[i], reply)
            self.counters["icmp_sent"] += 1
        except OSError:
            self.counters["drop_write"] += 1

    def _receive(self, fd: int, now: int, k: int) -> None:
        i = self.node_of_fd[fd]
        c = self.counters
        for _ in range(64):
            try:
                data = os.read(fd, 65536)
            except BlockingIOError:
                return
            except OSError:
                return
            c["rx_packets"] += 1
            c["rx_bytes"] += len(data)
            if self.hop:
                self._frame(i, data, now, k)
                continue
            if len(data) < 20 or data[0] >> 4 != 4:
                c["drop_other"] += 1  # not IPv4 (IPv6 is disabled on the interfaces)
                continue
            j = self.by_addr.get(data[16:20])
            if j is None or j == i:
                c["drop_unknown"] += 1
                continue
            self._enqueue(i, j, data, now, k, data)

    def _frame(self, i: int, frame: bytes, now: int, k: int) -> None:
        c = self.counters
        if len(frame) < 14:
            c["drop_other"] += 1
            return
        ethertype = struct.unpack_from("!H", frame, 12)[0]
        if ethertype == _ETH_P_ARP:
            self._arp(i, frame)
            return
        dst = frame[:6]
        ip = frame[14:] if ethertype == _ETH_P_IP else b""
        if dst[0] & 1:  # broadcast / multicast: to every current neighbour
            row = self._row(i, k)
            for j in range(self.k_nodes):
                if j != i and row is not None and row[j] != float("inf"):
                    self._enqueue(i, j, frame, now, k, ip)
            return
        dest = self.by_mac.get(dst)
        if dest is None or dest == i:
            c["drop_unknown"] += 1
            return
        self._enqueue(i, dest, frame, now, k, ip)

    def _row(self, i: int, k: int) -> Any:
        for back in range(self.tables.r - 1):
            r = (k - back) % self.tables.r
            if self.tables.slot_k(r) == k - back:
                return self.tables.delay[r][i].tolist()
        return None

    def _arp(self, i: int, frame: bytes) -> None:
        """Answer ARP requests for emulated nodes' addresses (proxy ARP: one broadcast domain
        whose frames reach only current neighbours)."""
        if len(frame) < 42 or struct.unpack_from("!H", frame, 20)[0] != 1:
            return
        sha, spa, tpa = frame[22:28], frame[28:32], frame[38:42]
        j = self.by_addr.get(tpa)
        if j is None or j == i:
            return
        mac = self.macs[j]
        reply = (sha + mac + struct.pack("!H", _ETH_P_ARP)
                 + struct.pack("!HHBBH", 1, _ETH_P_IP, 6, 4, 2) + mac + tpa + sha + spa)
        try:
            os.write(self.fds[i], reply)
            self.counters["arp_replies"] += 1
        except OSError:
            self.counters["drop_write"] += 1

    # ---- packets out ----------------------------------------------------------------------
    def _release(self, now: int) -> None:
        heap = self.heap
        c = self.counters
        while heap and heap[0][0] <= now:
            release, _, fd, data, flow = heapq.heappop(heap)
            try:
                os.write(fd, data)
            except OSError:
                c["drop_write"] += 1
                continue
            late = time.monotonic_ns() - release
            if late > 1_000_000 and len(self.outliers) < 100:
                self.outliers.append((release, late, now - release))
            c["tx_packets"] += 1
            c["tx_bytes"] += len(data)
            if flow is not None:
                flow.packets += 1
                flow.bytes += len(data)
            self.late_seen += 1
            if len(self.late) < _RESERVOIR:
                self.late.append(late)
            else:
                slot = self.rng.randrange(self.late_seen)
                if slot < _RESERVOIR:
                    self.late[slot] = late
            now = time.monotonic_ns()

    # ---- loop -----------------------------------------------------------------------------
    def _margin(self) -> int:
        """How long before a release to stop sleeping and poll instead: the recent p99 of the
        timer's lateness, within the spin budget (see the module notes)."""
        s = self.settings
        if not s.spin:
            return 0
        if self.spin_used_ns > s.spin_budget * 1e9:
            return 50_000
        return int(min(max(self.wake_p99_ns + 50_000, 50_000), s.spin_max_us * 1_000))

    def _timer_sample(self, late: int) -> None:
        w = self.wake_samples
        w.append(late)
        self.wake_late_ns += 0.05 * (late - self.wake_late_ns)
        if len(w) > 256:
            del w[:len(w) - 256]
        self.wake_count += 1
        if self.wake_count % 32 == 0:
            self.wake_p99_ns = sorted(w)[int(0.99 * (len(w) - 1))]

    def loop(self) -> None:
        ep = select.epoll()
        for fd in self.fds:
            ep.register(fd, select.EPOLLIN)
        epfd = ep.fileno()
        tables = self.tables
        mono = time.monotonic_ns
        next_stats = mono() + 1_000_000_000
        window = mono() + 1_000_000_000
        try:
            while not self.stop:
                now = mono()
                self._release(now)
                now = mono()
                if now >= window:
                    self.spin_total_ns += self.spin_used_ns
                    self.spin_used_ns = 0
                    window = now + 1_000_000_000
                spinning = False
                if self.heap:
                    wait = self.heap[0][0] - now
                    margin = self._margin()
                    spinning = wait <= margin
                    timeout = 0.0 if spinning else (wait - margin) / 1e9
                else:
                    timeout = 0.05
                woke_for = now + int(timeout * 1e9)
                try:
                    ready = select.select([epfd], [], [], timeout)[0]
                except InterruptedError:  # pragma: no cover - retried by Python anyway
                    ready = []
                after = mono()
                if spinning:
                    self.spin_used_ns += after - now
                elif not ready and self.heap:
                    self._timer_sample(after - woke_for)
                now = after
                if ready:
                    k = tables.instant_index(now)
                    for fd, _ in ep.poll(0):
                        self._receive(fd, now, k)
                # statistics (a few hundred µs) only when no release is due soon
                if now >= next_stats and (not self.heap or self.heap[0][0] - now > 3_000_000
                                          or now >= next_stats + 2_000_000_000):
                    self.write_stats()
                    gc.collect(0)
                    next_stats = mono() + 1_000_000_000
        finally:
            ep.close()

    def stats(self) -> dict[str, Any]:
        late = sorted(self.late)

        def pct(q: float) -> float | None:
            return round(late[min(len(late) - 1, int(q * len(late)))] / 1e3, 1) if late \
                else None

        now = time.monotonic_ns()
        k = self.tables.instant_index(now)
        flows = sorted(self.flows.values(), key=lambda f: -f.bytes)[:50]
        return {
            "pid": os.getpid(),
            "uptime_s": round((now - self.started_ns) / 1e9, 3),
            "emulated_ns": self.tables.emulated_ns(now),
            "instant": k,
            "priority": self.priority,
            "in_flight": len(self.heap),
            "counters": dict(self.counters),
            "release_late_us": {"p50": pct(0.5), "p99": pct(0.99),
                                "max": round(late[-1] / 1e3, 1) if late else None,
                                "samples": self.late_seen},
            "timer_late_us": {"mean": round(self.wake_late_ns / 1e3, 1),
                              "p99": round(self.wake_p99_ns / 1e3, 1)},
            "spin_s": round((self.spin_total_ns + self.spin_used_ns) / 1e9, 3),
            "outliers": [(r - self.tables.mono0_ns, late, pre) for r, late, pre in self.outliers],
            "flows": [{"src": self.nodes[f.i]["name"], "dst": self.nodes[f.j]["name"],
                       "packets": f.packets, "bytes": f.bytes, "drop_queue": f.drop_queue,
                       "drop_loss": f.drop_loss, "drop_outage": f.drop_outage,
                       "up": f.up, "delay_ms": round(f.delay_ns / 1e6, 3),
                       "rate_mbps": (round(8e3 / f.ns_per_byte, 3) if f.ns_per_byte else None)}
                      for f in flows],
        }

    def write_stats(self) -> None:
        path = os.path.join(self.run_dir, "stats.json")
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.stats(), f)
        os.replace(tmp, path)

    def close(self) -> None:
        for fd in self.fds:
            try:
                os.close(fd)
            except OSError:
                pass
        self.fds.clear()


def _sysctl(key: str, value: str) -> None:
    """Write ``/proc/sys/KEY`` of the current thread's namespace (missing keys are skipped)."""
    try:
        with open(f"/proc/sys/{key}", "w") as f:  # /proc/sys/net follows the thread's netns
            f.write(value)
    except OSError:
        pass


def _disable_ipv6(device: str) -> None:
    _sysctl(f"net/ipv6/conf/{device}/disable_ipv6", "1")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m orbemu.netemu.plane RUN_DIR", file=sys.stderr)
        return 2
    plane = Plane(args[0])

    def _stop(signum: int, frame: Any) -> None:
        plane.stop = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    if os.environ.get("ORBEMU_NETEMU_PDEATHSIG") == "1":
        _sys.set_parent_death_signal(signal.SIGTERM)
    _sys.set_timer_slack_ns(1)
    prio = plane.settings.realtime_priority
    if prio > 0:
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(prio))
            plane.priority = f"SCHED_FIFO {prio}"
        except (OSError, AttributeError):
            plane.priority = "normal (SCHED_FIFO refused)"
    try:
        plane.build()
    except OSError as exc:
        print(f"error: {exc}", flush=True)
        plane.close()
        return 1
    plane.write_stats()
    # packets make no reference cycles: no collector pauses in the loop (collected with stats)
    gc.collect()
    gc.freeze()
    gc.disable()
    print("ready", flush=True)
    try:
        plane.loop()
    finally:
        plane.write_stats()
        plane.close()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
