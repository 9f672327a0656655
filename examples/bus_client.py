"""A bus client written against the protocol itself (no orbemu import): what a bench computer or
a flight-software framework would do to run on an emulated satellite.

    python examples/bus_client.py 127.0.0.1 47000 [--name bench]

Connects to a satellite's bus endpoint (``docs/bus-protocol.md``), introduces itself, and for
every step the engine announces publishes, at each tick, the state of charge and latitude it read
from the last ``bus-state``, and a message if the battery runs low it asks for Sun pointing; then
answers ``bus-step-done``. Everything is ``struct``: a C, Rust or Ada client is the same code.
For Python apps, ``orbemu.fsw.client`` does all this for any ``orbemu.fsw.App``.
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import struct

HELLO, CONFIG, TIME, STATE, DELIVER, STOP = 0x600, 0x601, 0x602, 0x603, 0x604, 0x605
STEP_DONE, TELEMETRY, REQUEST = 0x610, 0x611, 0x612
START_STEP, STOP_STEP = 0xFFFFFFFF, 0xFFFFFFFE
LAT_DEG, SOC = 52, 114  # offsets in the state record


class Bus:
    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.create_connection((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.seq: dict[int, int] = {}
        self.buf = b""

    def send(self, apid: int, time_ns: int, data: bytes) -> None:
        """One telemetry Space Packet: version 0, type 0, secondary header, unsegmented."""
        seq = self.seq.get(apid, 0)
        self.seq[apid] = (seq + 1) & 0x3FFF
        body = struct.pack(">Q", time_ns) + data
        self.sock.sendall(struct.pack(">HHH", (1 << 11) | apid, (3 << 14) | seq,
                                      len(body) - 1) + body)

    def packets(self):
        while True:
            while len(self.buf) >= 6:
                total = 7 + struct.unpack_from(">H", self.buf, 4)[0]
                if len(self.buf) < total:
                    break
                head, self.buf = self.buf[:total], self.buf[total:]
                apid = struct.unpack_from(">H", head)[0] & 0x7FF
                yield apid, struct.unpack_from(">Q", head, 6)[0], head[14:]
            data = self.sock.recv(1 << 16)
            if not data:
                return
            self.buf += data


def str8(text: str) -> bytes:
    raw = text.encode()
    return bytes((len(raw),)) + raw


def cpu_ns() -> int:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return round((r.ru_utime + r.ru_stime) * 1e9)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--name", default="bench")
    args = ap.parse_args()
    bus = Bus(args.host, args.port)
    bus.send(HELLO, 0, struct.pack(">H", 1) + str8(args.name)
             + struct.pack(">ddII", 1.0, 10.0, 0, os.getpid()))
    state = bytes(162)
    for apid, t, data in bus.packets():
        if apid == CONFIG:
            bus.send(STEP_DONE, t, struct.pack(">IQI", START_STEP, 0, 0))
        elif apid == STATE:
            state = data
        elif apid == TIME:
            c0 = cpu_ns()
            step, _t1, n, first_ns, period, _first = struct.unpack_from(">IQIQQQ", data)
            soc = struct.unpack_from(">d", state, SOC)[0]
            lat = struct.unpack_from(">d", state, LAT_DEG)[0]
            for i in range(n):
                tick = first_ns + i * period
                bus.send(TELEMETRY, tick, struct.pack(">H", 2) + str8("bench.soc")
                         + struct.pack(">d", soc) + str8("bench.lat_deg")
                         + struct.pack(">d", lat))
                if soc < 0.5:  # ask for Sun pointing: request kind 1, mode 1, no target
                    bus.send(REQUEST, tick, struct.pack(">BBi", 1, 1, -1))
            bus.send(STEP_DONE, t, struct.pack(">IQI", step, cpu_ns() - c0, n))
        elif apid == STOP:
            bus.send(STEP_DONE, t, struct.pack(">IQI", STOP_STEP, 0, 0))
            return 0
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
