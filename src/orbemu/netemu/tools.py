"""Small network tools to run inside emulated nodes (nothing to install):

::

    python -m orbemu.netemu.tools ping DEST [-c COUNT] [-i INTERVAL_S] [--json]
    python -m orbemu.netemu.tools tcp-sink [--port 5201] [--bin-ms 100] [--json]
    python -m orbemu.netemu.tools tcp-send DEST [--port 5201] [--duration-s 10]
    python -m orbemu.netemu.tools udp-sink [--port 5202] [--count N] [--timeout-s T]
    python -m orbemu.netemu.tools udp-send DEST [--port 5202] [--rate-pps R] [--count N]
                                                [--size BYTES]

Fast start: ``python .../orbemu/netemu/tools.py ping DEST`` (:data:`SCRIPT`, :func:`tool_argv`)
runs the same without importing orbemu (standard library only).

``DEST`` is an address or the name of an emulated node of the run the process was started in
(``orbemu netemu exec`` sets ``ORBEMU_NETEMU_RUN``). ``ping`` sends ICMP echo requests like
iputils ``ping`` (raw socket, so root) and times replies with the kernel's receive timestamp
(``SO_TIMESTAMPNS``) and requests with its transmit timestamp (``SO_TIMESTAMPING``), so the
tool's own scheduling is not counted (as a capture would see it). With ``--json`` each reply is
one line: ``{"seq", "sent_ns" (CLOCK_REALTIME), "mono_ns" (CLOCK_MONOTONIC at sending), "rtt_ms"}``
or ``{"seq", "unreachable": true, "from"}``. ``tcp-sink`` prints the bytes received per bin with
the bin's monotonic start; ``udp-send``/``udp-sink`` measure one-way delay (send and kernel
receive timestamps on one machine's clock).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import struct
import sys
import time
from typing import Any

__all__ = ["SCRIPT", "main", "resolve", "tool_argv"]

#: This file: run it as a script (``python PATH ping ...``) to start in tens of milliseconds
#: (``python -m orbemu.netemu.tools`` imports the whole orbemu package first). It uses the
#: standard library only.
SCRIPT = os.path.abspath(__file__)
#: ``orbemu.netemu.namespaces.state_root()``'s default (kept here: no orbemu import).
DEFAULT_STATE_ROOT = "/dev/shm/orbemu-netemu"


def tool_argv(*args: str, python: str | None = None) -> list[str]:
    """The argv that runs one tool with ``python`` (default: this interpreter)."""
    return [python or sys.executable, SCRIPT, *args]

_SO_TIMESTAMPNS = 35  # socket.SO_TIMESTAMPNS is missing from some Python builds
_SO_TIMESTAMPING = 37
# TX_SOFTWARE | SOFTWARE | OPT_ID | OPT_TSONLY: a software timestamp when each packet leaves
# the interface, numbered by send order, on the socket's error queue
_TX_STAMPS = (1 << 1) | (1 << 4) | (1 << 7) | (1 << 11)


def resolve(dest: str) -> str:
    """An address, or the address of emulated node ``dest`` of this process's run."""
    try:
        socket.inet_aton(dest)
        return dest
    except OSError:
        pass
    run = os.environ.get("ORBEMU_NETEMU_RUN", "main")
    root = os.environ.get("ORBEMU_NETEMU_DIR", DEFAULT_STATE_ROOT)
    try:
        with open(os.path.join(root, run, "state.json")) as f:
            state = json.load(f)
    except (OSError, ValueError):
        state = {}
    for node in state.get("nodes", []):
        if node["name"] == dest:
            return str(node["address"])
    try:
        return socket.gethostbyname(dest)
    except OSError:
        raise SystemExit(f"unknown destination {dest!r} (not an address, nor a node of run "
                         f"{run!r})") from None


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def _kernel_time_ns(ancillary: list[tuple[int, int, bytes]]) -> int | None:
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPNS and len(data) >= 16:
            sec, nsec = struct.unpack("qq", data[:16])
            return int(sec * 1_000_000_000 + nsec)
    return None


def _tx_stamps(sock: socket.socket, sent: dict[int, tuple[int, int]]) -> None:
    """Replace user-space send times by the kernel's (when the echo request left the
    interface): the tool's own scheduling delays are then not counted in the RTT. The
    monotonic send time moves by the same amount."""
    timeout = sock.gettimeout()
    sock.settimeout(0.0)  # with a timeout, Python would wait on the (data) queue instead
    try:
        _drain_tx_stamps(sock, sent)
    finally:
        sock.settimeout(timeout)


def _drain_tx_stamps(sock: socket.socket, sent: dict[int, tuple[int, int]]) -> None:
    while True:
        try:
            _, anc, _, _ = sock.recvmsg(1, 512, socket.MSG_ERRQUEUE)
        except OSError:  # BlockingIOError: the error queue is empty
            return
        stamp = counter = None
        for level, kind, data in anc:
            if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPING and len(data) >= 16:
                sec, nsec = struct.unpack_from("qq", data)
                stamp = sec * 1_000_000_000 + nsec
            elif level == socket.IPPROTO_IP and len(data) >= 16:  # IP_RECVERR
                _, origin, _, _, _, _, counter = struct.unpack_from("=IBBBBII", data)
                if origin != 4:  # SO_EE_ORIGIN_TIMESTAMPING
                    counter = None
        if stamp and counter is not None:
            seq = (counter + 1) & 0xFFFF  # requests are numbered 1, 2, ... in send order
            if seq in sent:
                t_user, mono = sent[seq]
                sent[seq] = (stamp, mono + (stamp - t_user))


def ping(dest: str, count: int, interval_s: float, size: int, timeout_s: float,
         as_json: bool) -> int:
    addr = resolve(dest)
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    sock.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
    try:
        sock.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPING, _TX_STAMPS)
    except OSError:
        pass  # the user-space send time is used
    ident = os.getpid() & 0xFFFF
    sent: dict[int, tuple[int, int]] = {}
    rtts: list[float] = []
    lost = 0
    if not as_json:
        print(f"PING {dest} ({addr}) {size} bytes of data.", flush=True)
    next_send = time.monotonic()
    seq = 0
    deadline = None
    while True:
        now = time.monotonic()
        if seq < count and now >= next_send:
            seq += 1
            payload = struct.pack("!Q", seq) + b"\x5a" * max(0, size - 8)
            header = struct.pack("!BBHHH", 8, 0, 0, ident, seq & 0xFFFF)
            csum = _checksum(header + payload)
            packet = struct.pack("!BBHHH", 8, 0, csum, ident, seq & 0xFFFF) + payload
            mono = time.monotonic_ns()
            t_sent = time.time_ns()
            sock.sendto(packet, (addr, 0))
            sent[seq & 0xFFFF] = (t_sent, mono)
            _tx_stamps(sock, sent)
            next_send += interval_s
            if seq == count:
                deadline = time.monotonic() + timeout_s
        wait = (next_send - time.monotonic()) if seq < count else (deadline or 0) - now
        if seq >= count and (not sent or (deadline is not None and now >= deadline)):
            break
        sock.settimeout(max(wait, 0.0005))
        try:
            data, anc, _, src = sock.recvmsg(65536, 256)
        except TimeoutError:
            continue
        t_recv = _kernel_time_ns(anc) or time.time_ns()
        _tx_stamps(sock, sent)
        ihl = (data[0] & 0x0F) * 4
        icmp_type = data[ihl]
        if icmp_type == 0:
            rid, rseq = struct.unpack_from("!HH", data, ihl + 4)
            if rid != ident or rseq not in sent:
                continue
            t_sent, mono = sent.pop(rseq)
            rtt = (t_recv - t_sent) / 1e6
            rtts.append(rtt)
            if as_json:
                print(json.dumps({"seq": rseq, "sent_ns": t_sent, "mono_ns": mono,
                                  "rtt_ms": rtt, "ttl": data[8]}), flush=True)
            else:
                print(f"{len(data) - ihl} bytes from {src[0]}: icmp_seq={rseq} ttl={data[8]} "
                      f"time={rtt:.3f} ms", flush=True)
        elif icmp_type in (3, 11) and len(data) >= ihl + 8 + 28:
            inner = data[ihl + 8:]
            iihl = (inner[0] & 0x0F) * 4
            if inner[9] != 1 or len(inner) < iihl + 8:
                continue
            rid, rseq = struct.unpack_from("!HH", inner, iihl + 4)
            if rid != ident or rseq not in sent:
                continue
            t_sent, mono = sent.pop(rseq)
            lost += 1
            what = "Destination Host Unreachable" if icmp_type == 3 else "Time to live exceeded"
            if as_json:
                print(json.dumps({"seq": rseq, "sent_ns": t_sent, "mono_ns": mono,
                                  "unreachable": True, "from": src[0]}), flush=True)
            else:
                print(f"From {src[0]} icmp_seq={rseq} {what}", flush=True)
    lost += len(sent)
    if not as_json:
        print(f"--- {dest} ping statistics ---")
        print(f"{seq} packets transmitted, {len(rtts)} received, "
              f"{100.0 * (seq - len(rtts)) / max(seq, 1):.0f}% packet loss")
        if rtts:
            rs = sorted(rtts)
            print(f"rtt min/avg/max = {rs[0]:.3f}/{sum(rs) / len(rs):.3f}/{rs[-1]:.3f} ms")
    return 0 if rtts else 1


def tcp_sink(port: int, bin_ms: float, as_json: bool, timeout_s: float) -> int:
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", port))
    srv.listen(1)
    srv.settimeout(timeout_s)
    print(json.dumps({"listening": port}) if as_json else f"listening on {port}", flush=True)
    conn, peer = srv.accept()
    conn.settimeout(timeout_s)
    bin_ns = int(bin_ms * 1e6)
    start = time.monotonic_ns()
    current = start
    count = 0
    total = 0
    bins: list[tuple[int, int]] = []
    while True:
        try:
            data = conn.recv(1 << 20)
        except TimeoutError:
            break
        now = time.monotonic_ns()
        while now >= current + bin_ns:
            bins.append((current, count))
            if as_json:
                print(json.dumps({"mono_ns": current, "bytes": count}), flush=True)
            current += bin_ns
            count = 0
        if not data:
            break
        count += len(data)
        total += len(data)
    bins.append((current, count))
    if as_json:
        print(json.dumps({"mono_ns": current, "bytes": count}), flush=True)
        print(json.dumps({"total_bytes": total, "seconds": (time.monotonic_ns() - start) / 1e9,
                          "peer": peer[0]}), flush=True)
    else:
        secs = (time.monotonic_ns() - start) / 1e9
        print(f"received {total} bytes from {peer[0]} in {secs:.2f} s "
              f"({8 * total / secs / 1e6:.2f} Mbit/s)")
    return 0


def tcp_send(dest: str, port: int, duration_s: float, connect_timeout_s: float) -> int:
    addr = resolve(dest)
    deadline = time.monotonic() + connect_timeout_s
    while True:
        try:
            sock = socket.create_connection((addr, port), timeout=5.0)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    sock.settimeout(None)
    block = b"\0" * 65536
    end = time.monotonic() + duration_s
    sent = 0
    sock.setblocking(False)
    import select
    while time.monotonic() < end:
        _, writable, _ = select.select([], [sock], [], max(0.0, min(0.1, end - time.monotonic())))
        if writable:
            try:
                sent += sock.send(block)
            except BlockingIOError:
                continue
    sock.setblocking(True)
    sock.shutdown(socket.SHUT_WR)
    sock.close()
    print(json.dumps({"sent_bytes": sent, "seconds": duration_s}), flush=True)
    return 0


def udp_sink(port: int, count: int, timeout_s: float, summary: bool) -> int:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.bind(("0.0.0.0", port))
    sock.settimeout(timeout_s)
    print(json.dumps({"listening": port}), flush=True)
    if summary:  # count only (throughput runs)
        got = total = 0
        first = last = 0
        while got < count:
            try:
                n = len(sock.recv(65536))
            except TimeoutError:
                break
            last = time.monotonic_ns()
            first = first or last
            got += 1
            total += n
        print(json.dumps({"received": got, "bytes": total, "first_mono_ns": first,
                          "last_mono_ns": last}), flush=True)
        return 0
    got = 0
    out = []
    while got < count:
        try:
            data, anc, _, _ = sock.recvmsg(65536, 256)
        except TimeoutError:
            break
        t = _kernel_time_ns(anc) or time.time_ns()
        if len(data) < 16:
            continue
        seq, sent = struct.unpack_from("!QQ", data)
        out.append(f"{seq} {sent} {t}")
        got += 1
        if len(out) >= 1000:
            sys.stdout.write("\n".join(out) + "\n")
            out.clear()
    if out:
        sys.stdout.write("\n".join(out) + "\n")
    sys.stdout.flush()
    return 0


def udp_send(dest: str, port: int, rate_pps: float, count: int, size: int,
             tx_stamps: bool) -> int:
    """Send ``count`` datagrams of ``size`` bytes stamped ``(seq, CLOCK_REALTIME ns)``, at
    ``rate_pps`` (0: as fast as possible). With ``tx_stamps``, print ``seq tx_ns`` lines: the
    kernel's transmit timestamps (the sender's own scheduling left out)."""
    addr = resolve(dest)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    if tx_stamps:
        sock.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPING, _TX_STAMPS)
    pad = b"\0" * max(0, size - 16)
    gap = 1.0 / rate_pps if rate_pps > 0 else 0.0
    t_next = time.monotonic()
    stamps: list[str] = []

    def drain() -> None:
        while True:
            try:
                _, anc, _, _ = sock.recvmsg(1, 512, socket.MSG_ERRQUEUE | socket.MSG_DONTWAIT)
            except OSError:
                return
            stamp = counter = None
            for level, kind, data in anc:
                if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPING and len(data) >= 16:
                    sec, nsec = struct.unpack_from("qq", data)
                    stamp = sec * 1_000_000_000 + nsec
                elif level == socket.IPPROTO_IP and len(data) >= 16:
                    counter = struct.unpack_from("=IBBBBII", data)[6]
            if stamp is not None and counter is not None:
                stamps.append(f"{counter} {stamp}")

    for seq in range(count):
        if gap:
            now = time.monotonic()
            if t_next > now:
                time.sleep(t_next - now)
            t_next += gap
        try:
            sock.sendto(struct.pack("!QQ", seq, time.time_ns()) + pad, (addr, port))
        except (BlockingIOError, OSError):
            continue  # buffer full in a flood: the datagram is lost before the network
        if tx_stamps:
            drain()
    if tx_stamps:
        time.sleep(0.05)
        drain()
        sys.stdout.write("\n".join(stamps) + "\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m orbemu.netemu.tools",
                                description="network tools for emulated nodes")
    sub = p.add_subparsers(dest="tool", required=True)
    a = sub.add_parser("ping", help="ICMP echo round-trip times")
    a.add_argument("dest")
    a.add_argument("-c", "--count", type=int, default=5)
    a.add_argument("-i", "--interval", type=float, default=1.0, help="seconds")
    a.add_argument("-s", "--size", type=int, default=56, help="payload bytes")
    a.add_argument("-W", "--timeout", type=float, default=2.0, help="seconds to wait at the end")
    a.add_argument("--json", action="store_true")
    a = sub.add_parser("tcp-sink", help="receive one TCP connection, report goodput per bin")
    a.add_argument("--port", type=int, default=5201)
    a.add_argument("--bin-ms", type=float, default=100.0)
    a.add_argument("--timeout-s", type=float, default=60.0)
    a.add_argument("--json", action="store_true")
    a = sub.add_parser("tcp-send", help="send as fast as TCP allows for a while")
    a.add_argument("dest")
    a.add_argument("--port", type=int, default=5201)
    a.add_argument("--duration-s", type=float, default=10.0)
    a.add_argument("--connect-timeout-s", type=float, default=10.0)
    a = sub.add_parser("udp-sink", help="receive stamped datagrams: 'seq sent_ns recv_ns'")
    a.add_argument("--port", type=int, default=5202)
    a.add_argument("--count", type=int, default=1000)
    a.add_argument("--timeout-s", type=float, default=5.0)
    a.add_argument("--summary", action="store_true", help="print only counts")
    a = sub.add_parser("udp-send", help="send stamped datagrams at a rate")
    a.add_argument("dest")
    a.add_argument("--port", type=int, default=5202)
    a.add_argument("--rate-pps", type=float, default=100.0)
    a.add_argument("--count", type=int, default=1000)
    a.add_argument("--size", type=int, default=64)
    a.add_argument("--tx-stamps", action="store_true",
                   help="print 'seq tx_ns': the kernel's transmit timestamps")
    args: Any = p.parse_args(argv)
    try:
        if args.tool == "ping":
            return ping(args.dest, args.count, args.interval, args.size, args.timeout,
                        args.json)
        if args.tool == "tcp-sink":
            return tcp_sink(args.port, args.bin_ms, args.json, args.timeout_s)
        if args.tool == "tcp-send":
            return tcp_send(args.dest, args.port, args.duration_s, args.connect_timeout_s)
        if args.tool == "udp-sink":
            return udp_sink(args.port, args.count, args.timeout_s, args.summary)
        return udp_send(args.dest, args.port, args.rate_pps, args.count, args.size,
                        args.tx_stamps)
    except KeyboardInterrupt:
        return 130
    except PermissionError as exc:
        print(f"error: {exc} (raw ICMP sockets need root)", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
