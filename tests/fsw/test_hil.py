"""Hardware in the loop: a satellite driven only through its bus endpoint, the run paced in real
time. The "hardware" is the reference Python client in another process; the wall clock is a
fake one (a real-time run of 20 emulated minutes would take 20 minutes)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import pytest

from orbemu.engine import Emulation, MemorySink
from orbemu.engine.config import CommandSpec
from orbemu.fsw import AppSpec, AppsSetup

from ..engine.test_clock import FakeWall
from .conftest import START, S, events, points, world

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux sockets")


def test_a_hil_satellite_is_driven_through_its_bus_in_real_time():
    setup = world(minutes=20, step_s=10, contacts=True)
    setup = replace(setup, contacts=replace(setup.contacts, uplink_commands=False),
                    commands=(CommandSpec(START + 60 * S, (0, 1), "set_mode",
                                          {"attitude": "sun"}, target="pair"),),
                    apps=AppsSetup((AppSpec(sats=(0,), hil=True, start_timeout_s=60.0),)))
    sink = MemorySink()
    emu = Emulation(setup, sink, wall=FakeWall())
    assert any("hardware in the loop" in n and "real time" in n for n in emu.notes)
    (address,) = emu.apps.endpoints().values()
    hw = subprocess.Popen([sys.executable, "-m", "orbemu.fsw.client", "--connect", address,
                           "--app", "tests.fsw.apps:Recorder", "--name", "bench-unit"],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        summary = emu.run()
    finally:
        out = hw.communicate(timeout=30)[0]
    assert hw.returncode == 0, out.decode()
    assert summary.clock.mode == "realtime"
    assert events(sink, "hil")[0]["detail"]["satellites"] == ["EO-P0-S0"]
    # its telemetry is what the hardware published, tick by tick
    assert [t for t, _ in points(sink, "tick", 0)] == [START + j * S for j in range(1200)]
    # the command reached the hardware as a telecommand (stamped 60 s, when it arrived; handed
    # over at the first tick of the next step); the model's attitude did not obey it
    assert points(sink, "telecommand", 0) == [(START + 70 * S, 0.0)]
    mode = {(r["time_ns"], r["sat"]): r["mode"] for r in sink.tables["housekeeping"]}
    assert mode[(START + 120 * S, 0)] == 0 and mode[(START + 120 * S, 1)] == 1
    # the engine queues no housekeeping packets for it: the hardware's own telemetry goes down
    queued = {e.apid for q in emu.contacts.down._queues[0] for e in q}
    sent = {p["apid"] for p in sink.tables["packets"] if p["sat"] == 0}
    assert 0x010 not in queued | sent and 0x030 in queued | sent
    other = {e.apid for q in emu.contacts.down._queues[1] for e in q}
    assert 0x010 in other | {p["apid"] for p in sink.tables["packets"] if p["sat"] == 1}


def test_a_hil_endpoint_nobody_connects_to_is_a_start_fault():
    setup = replace(world(minutes=0.05, step_s=1),
                    apps=AppsSetup((AppSpec(sats=(0,), hil=True, start_timeout_s=0.5),)))
    sink = MemorySink()
    summary = Emulation(setup, sink, wall=FakeWall()).run()
    assert summary.status == "completed"
    assert events(sink, "app_fault")[0]["detail"]["cause"] == "start"
