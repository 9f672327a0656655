"""The reference bus client in Python: runs an :class:`~orbemu.fsw.App` against a bus endpoint.

This is what an out-of-process app is (the engine starts ``orbemu.fsw.client`` in a child
process for each one), and what a developer runs by hand to attach an app to a satellite whose
apps section says ``runner: bus``::

    python -m orbemu.fsw.client --connect 127.0.0.1:47000 --app mypkg.apps:PowerWatch

The session (``docs/bus-protocol.md``): connect, send ``bus-hello``; receive ``bus-config`` and
run ``on_start``, answer ``bus-step-done`` (step :data:`~orbemu.fsw.bus.START_STEP`); then for
every step: ``bus-state`` (one per tick time) and ``bus-deliver`` packets arrive, then
``bus-time`` says which ticks to run; the client runs them — messages due first, then
``on_tick`` — publishing as it goes (each publish is sent at once, so nothing published is lost
if the app crashes later), and answers ``bus-step-done`` with the CPU time the step used
(``getrusage`` of the process). ``bus-stop`` runs ``on_stop`` and ends the session.

An exception in the app ends the process with exit code 3 after printing the traceback (the
engine records it as a crash and restarts the app per its policy).
"""

from __future__ import annotations

import argparse
import bisect
import os
import resource
import socket
import sys
import time
import traceback
from typing import Any

import numpy as np

from orbemu.fsw import messages as m
from orbemu.fsw.app import App, AppContext, load_app_class
from orbemu.fsw.bus import (
    START_STEP,
    STATE_DTYPE,
    STOP_STEP,
    BusCodec,
    PacketStream,
    decode_deliver,
    decode_time,
    subscription_mask,
)

__all__ = ["BusClient", "BusContext", "main"]

_STATE_TYPES = frozenset(m.STATE_TYPES)


class BusContext(AppContext):
    """The app's context in a bus client: each output is sent at once as a packet."""

    __slots__ = ("_client",)

    def __init__(self, client: BusClient, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._client = client

    def _emit(self, op: tuple[Any, ...]) -> None:
        self._client.send(self._client.codec.op(op))


def _cpu_ns() -> int:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return round((r.ru_utime + r.ru_stime) * 1e9)


class BusClient:
    """Runs ``app`` against the endpoint at ``host:port`` (module notes).

    ``name``: the app's name in the hello (default: the class's ``name`` or class name);
    ``rate_hz``/``cpu_budget_ms``: what the hello announces (default: the class's).
    """

    def __init__(self, app: App, host: str, port: int, *, name: str | None = None) -> None:
        self.app = app
        self.host, self.port = host, int(port)
        cls = type(app)
        self.name = name or cls.name or cls.__name__
        self.codec = BusCodec()
        self.stream = PacketStream(source="engine")
        self.sock: socket.socket | None = None
        self.ctx: BusContext | None = None
        self.states: dict[int, Any] = {}
        self.last_state: Any = None
        self.inbox: list[tuple[int, int, Any]] = []
        self._seq = 0
        self.subs = tuple(cls.subscriptions)
        self.state_subs = tuple(t for t in self.subs if t in _STATE_TYPES)
        self.event_subs = frozenset(t for t in self.subs if t not in _STATE_TYPES)

    # ---- connection ------------------------------------------------------------------------
    def connect(self, timeout_s: float = 30.0, *, fd: int | None = None) -> None:
        """Connect (retrying while the endpoint is not up yet) and introduce the app.

        ``fd``: a TCP connection to the endpoint that this process inherited, instead of
        connecting (the engine opens it for an app in its own network namespace, from which the
        endpoint cannot be reached)."""
        if fd is not None:
            self.sock = socket.socket(fileno=fd)
        deadline = time.monotonic() + timeout_s
        while self.sock is None:
            try:
                self.sock = socket.create_connection((self.host, self.port), timeout=5.0)
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.sock.settimeout(None)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        cls = type(self.app)
        self.send(self.codec.hello(self.name, float(cls.rate_hz), float(cls.cpu_budget_ms),
                                   subscription_mask(self.subs), os.getpid()))

    def send(self, data: bytes) -> None:
        assert self.sock is not None
        self.sock.sendall(data)

    def _packets(self) -> Any:
        assert self.sock is not None
        while True:
            data = self.sock.recv(1 << 18)
            if not data:
                return
            yield from self.stream.feed(data)

    # ---- the session -----------------------------------------------------------------------
    def run(self) -> int:
        """Serve the session until ``bus-stop`` (0) or the engine closes the connection (1)."""
        if self.sock is None:
            self.connect()
        for pkt in self._packets():
            name = pkt.name
            if name == "bus-state":
                rec = np.frombuffer(pkt.data, STATE_DTYPE)[0]
                self.states[int(pkt.time_ns or 0)] = self.last_state = rec
            elif name == "bus-deliver":
                msg = decode_deliver(pkt)
                self._seq += 1
                bisect.insort(self.inbox, (msg.time_ns, self._seq, msg))
            elif name == "bus-time":
                self._step(decode_time(pkt))
            elif name == "bus-config":
                self._configure(pkt)
            elif name == "bus-stop":
                assert self.ctx is not None
                cpu0 = _cpu_ns()
                self.ctx.time_ns = int(pkt.time_ns or 0)
                self.app.on_stop(self.ctx)
                self.send(self.codec.step_done(int(pkt.time_ns or 0), STOP_STEP,
                                               _cpu_ns() - cpu0, 0))
                return 0
        return 1

    def _configure(self, pkt: Any) -> None:
        import json

        cfg = json.loads(pkt.data.decode())
        self.ctx = BusContext(self, sat=cfg["sat"], sat_index=cfg["sat_index"],
                              app=cfg.get("app", self.name), params=cfg.get("params", {}),
                              targets=cfg.get("targets", []), restarts=cfg.get("restart", 0))
        self.ctx.time_ns = int(pkt.time_ns or 0)
        cpu0 = _cpu_ns()
        self.app.on_start(self.ctx)
        self.send(self.codec.step_done(int(pkt.time_ns or 0), START_STEP, _cpu_ns() - cpu0, 0))

    def _step(self, tm: dict[str, int]) -> None:
        ctx = self.ctx
        assert ctx is not None, "bus-time before bus-config"
        cpu0 = _cpu_ns()
        app = self.app
        ran = 0
        for i in range(tm["n_ticks"]):
            t = tm["first_tick_ns"] + i * tm["period_ns"]
            rec = self.states.get(t, self.last_state)
            ctx._set(t, tm["first_tick"] + i, tm["step"], rec)
            while self.inbox and self.inbox[0][0] <= t:
                _, _, msg = self.inbox.pop(0)
                if type(msg) in self.event_subs:
                    app.on_message(ctx, msg)
            for kind in self.state_subs:
                app.on_message(ctx, ctx.latest(kind))
            app.on_tick(ctx)
            ran += 1
        last = tm["first_tick_ns"] + (tm["n_ticks"] - 1) * tm["period_ns"]
        for k in [k for k in self.states if k < last]:
            del self.states[k]
        self.send(self.codec.step_done(tm["t0_ns"], tm["step"], _cpu_ns() - cpu0, ran))


def main(argv: list[str] | None = None) -> int:
    """``python -m orbemu.fsw.client --connect HOST:PORT --app module:Class [--name N]
    [--fd N]``."""
    ap = argparse.ArgumentParser(prog="orbemu.fsw.client", description=__doc__.split("\n")[0])
    ap.add_argument("--connect", required=True, help="the satellite's bus endpoint HOST:PORT")
    ap.add_argument("--fd", type=int, default=None,
                    help="an inherited connection to the endpoint (instead of connecting)")
    ap.add_argument("--app", required=True, help="module:Class or path/to/file.py:Class")
    ap.add_argument("--name", default=None, help="the app's name (default: the class's)")
    ap.add_argument("--sat", default="", help="the satellite (informational)")
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds to wait to connect")
    args = ap.parse_args(argv)
    host, _, port = args.connect.rpartition(":")
    cls = load_app_class(args.app)
    client = BusClient(cls(), host or "127.0.0.1", int(port), name=args.name)
    try:
        client.connect(args.timeout, fd=args.fd)
        return client.run()
    except (ConnectionError, BrokenPipeError) as exc:
        print(f"orbemu.fsw.client: connection lost: {exc}", file=sys.stderr)
        return 1
    except Exception:
        traceback.print_exc()
        sys.stderr.flush()
        return 3


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
