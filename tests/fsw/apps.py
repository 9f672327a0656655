"""Apps for the tests (importable by the app processes as ``tests.fsw.apps:Name``)."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

from orbemu.fsw import App, Image, Power, SatMessage, SendReport, Telecommand, Tick
from orbemu.fsw.app import AppContext


class Recorder(App):
    """Publishes the tick number, the tick's time offset and what it receives."""

    rate_hz = 1.0
    cpu_budget_ms = 50.0
    subscriptions = (Tick, Telecommand, SatMessage, SendReport)

    def on_start(self, ctx: AppContext) -> None:
        ctx.telemetry("started", float(ctx.restarts))

    def on_tick(self, ctx: AppContext) -> None:
        ctx.telemetry("tick", float(ctx.tick))
        ctx.telemetry("soc", ctx.power.soc)
        ctx.telemetry("lat_deg", ctx.orbit.lat_deg)

    def on_message(self, ctx: AppContext, msg: Any) -> None:
        if isinstance(msg, Tick):
            ctx.telemetry("tick_msg", float(msg.tick))
        elif isinstance(msg, Telecommand):
            ctx.telemetry("telecommand", float(msg.time_ns - msg.sent_ns) / 1e9)
            ctx.event("got_telecommand", command=msg.command)
        elif isinstance(msg, SatMessage):
            ctx.telemetry("msg_delay_ms", msg.delay_ms)
        elif isinstance(msg, SendReport):
            ctx.telemetry("report_ok", 1.0 if msg.accepted else 0.0)


class CrashAt(App):
    """Publishes ``before`` every tick; on its first life, at tick ``params.at`` it publishes
    ``last_words`` and then fails ``params.how``: exception, exit, segv, kill, hang, memory.
    With ``params.always`` every life fails at its first tick from ``at`` on."""

    rate_hz = 1.0
    cpu_budget_ms = 50.0

    def on_start(self, ctx: AppContext) -> None:
        ctx.telemetry("life", float(ctx.restarts))

    def on_tick(self, ctx: AppContext) -> None:
        ctx.telemetry("before", float(ctx.tick))
        at = int(ctx.params.get("at", 3))
        if (ctx.tick >= at if ctx.params.get("always") else
                ctx.restarts == 0 and ctx.tick == at):
            ctx.telemetry("last_words", float(ctx.tick))
            how = ctx.params.get("how", "exception")
            if how == "exception":
                raise RuntimeError("boom")
            if how == "exit":
                os._exit(7)
            if how == "segv":
                os.kill(os.getpid(), signal.SIGSEGV)
            if how == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            if how == "hang":
                while True:
                    time.sleep(0.05)
            if how == "memory":
                self.hog = bytearray(4 * 2**30)  # beyond the address-space limit
            if how == "rss":
                self.hog = b"\x01" * (300 * 2**20)  # touched: resident
        if ctx.params.get("slow_s"):
            time.sleep(float(ctx.params["slow_s"]))


class Burner(App):
    """Burns ``params.ms`` of CPU per tick (budget 1 ms)."""

    rate_hz = 1.0
    cpu_budget_ms = 1.0

    def on_tick(self, ctx: AppContext) -> None:
        end = time.thread_time() + float(ctx.params.get("ms", 5.0)) / 1e3
        while time.thread_time() < end:
            pass
        ctx.telemetry("burnt", 1.0)


class Commander(App):
    """Asks for Sun pointing at tick 2 and nadir at tick 5; switches the payload off at 7."""

    rate_hz = 1.0

    def on_tick(self, ctx: AppContext) -> None:
        if ctx.tick == 2:
            ctx.request_mode("sun")
        elif ctx.tick == 5:
            ctx.request_mode("nadir")
        elif ctx.tick == 7:
            ctx.set_payload(False)
        ctx.telemetry("mode", float({"nadir": 0, "sun": 1, "target": 2, "safe": 3}
                                    .get(ctx.attitude.mode, -1)))


class Fast(App):
    """Ticks at 4 Hz, publishing its tick number and the orbit's time."""

    rate_hz = 4.0

    def on_tick(self, ctx: AppContext) -> None:
        ctx.telemetry("tick", float(ctx.tick))
        ctx.telemetry("x_m", ctx.orbit.r_itrf_m[0])


class ImageKeeper(App):
    """Downlinks every image (priority 0) and records the tile's mean."""

    subscriptions = (Image,)

    def on_message(self, ctx: AppContext, msg: Any) -> None:
        ctx.telemetry("tile_mean", float(msg.tile.mean()))
        ctx.downlink_image(msg.image_id, priority=0)


class PowerHungry(App):
    """Declares a large CPU budget (the compute power follows the budget)."""

    cpu_budget_ms = 1000.0
    subscriptions = (Power,)

    def on_message(self, ctx: AppContext, msg: Any) -> None:
        ctx.telemetry("power_out_w", msg.power_out_w)


class NetProbe(App):
    """Publishes its network namespace (the inode of ``/proc/self/ns/net``) and whether a TCP
    connection to ``params['port']`` on 127.0.0.1 succeeds, then ticks."""

    rate_hz = 1.0
    cpu_budget_ms = 50.0

    def on_start(self, ctx: AppContext) -> None:
        import socket

        ctx.telemetry("netns_ino", float(os.stat("/proc/self/ns/net").st_ino))
        try:
            with socket.create_connection(("127.0.0.1", int(ctx.params["port"])), timeout=2.0):
                reached = 1.0
        except OSError:
            reached = 0.0
        ctx.telemetry("reached_host_port", reached)

    def on_tick(self, ctx: AppContext) -> None:
        ctx.telemetry("tick", float(ctx.tick))
