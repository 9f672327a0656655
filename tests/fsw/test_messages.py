"""Messages between satellites over the emulated network, ground messages and telecommands."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from orbemu.constants import C_M_S
from orbemu.engine.config import CommandSpec
from orbemu.fsw import AppSpec
from orbemu.fsw.examples import Pinger
from orbemu.orbits.propagation import propagate
from orbemu.time import Time

from .apps import Recorder
from .conftest import START, S, events, points, run_apps, world


@pytest.fixture(scope="module")
def relay_world():
    """EO-P0-S0 and the first eight relay satellites are modelled (the relay ones carry the
    network: +Grid ISLs)."""
    base = world(minutes=2, step_s=1, network=True)
    sats = np.array([0, *range(12, 20)], np.int64)
    fleet = replace(base.fleet, sats=sats, class_index=np.zeros(sats.size, np.int64))
    return replace(base, fleet=fleet)


def test_a_message_arrives_after_the_path_delay(relay_world):
    sink, summary, _ = run_apps(
        relay_world,
        AppSpec(Pinger, sats=(12,), params={"peer": "RL-P0-S1", "every": 10}),
        AppSpec(Recorder, sats=(13,)))
    sent = events(sink, "app_message")
    assert [e["time_ns"] for e in sent] == [START + j * 10 * S for j in range(12)]
    # neighbours in a plane: one ISL; the route is the network's at its last instant (every
    # 60 s): the delay is the ISL's length then over c, from an independent propagation
    r = propagate(relay_world.elements.select([12, 13]), Time(np.array([START, START + 60 * S])),
                  frame="ITRF").position_m
    delay_ms = np.linalg.norm(r[0] - r[1], axis=1) / C_M_S * 1e3
    got = points(sink, "msg_delay_ms", 13)
    assert len(got) == 12
    for (t, d), e in zip(got, sent, strict=True):
        assert d == pytest.approx(delay_ms[0 if e["time_ns"] < START + 60 * S else 1],
                                  abs=1e-9)
        # handed over at the receiver's first tick at or after the arrival
        arrival = e["time_ns"] + d * 1e6
        assert arrival <= t < arrival + S
    assert summary.fsw["messages_sent"] == 12


@pytest.mark.parametrize(("peer", "reason"), [
    ("EO-P0-S0", "EO-P0-S0 is not in the relay network"),
    ("nobody", "no satellite named 'nobody'"),
    ("RL-P0-S5", "no app on RL-P0-S5 listens for SatMessage"),
])
def test_a_message_with_no_route_is_refused_with_the_reason(relay_world, peer, reason):
    sink, summary, _ = run_apps(
        replace(relay_world, duration_ns=5 * S),
        AppSpec(Pinger, sats=(12,), params={"peer": peer, "every": 2}),
        AppSpec(Recorder, sats=(0,)))
    refused = events(sink, "app_message_refused")
    assert [e["time_ns"] for e in refused] == [START, START + 2 * S, START + 4 * S]
    assert reason in refused[0]["detail"]["reason"]
    # the sender hears of it (a SendReport) at its next tick
    assert [t for t, _ in points(sink, "ping_refused", 12)] == [START + S, START + 3 * S]
    assert summary.fsw["messages_refused"] == 3


def test_telecommands_and_ground_messages_reach_the_apps():
    setup = replace(world(minutes=0.5, step_s=1),
                    commands=(CommandSpec(START + 5 * S, (2,), "set_mode", {"attitude": "sun"}),
                              CommandSpec(START + 9 * S, (2,), "app_message",
                                          {"text": "hello"})))

    from orbemu.fsw import App, GroundMessage

    class Listener(App):
        subscriptions = (GroundMessage,)

        def on_message(self, ctx, msg):
            ctx.telemetry("ground_msg_bytes", len(msg.payload))
            ctx.event("ground", text=msg.payload.decode())

    sink, _, _ = run_apps(setup, AppSpec(Recorder, sats=(2,)), AppSpec(Listener, sats=(2,)))
    # without contacts in the setup commands run when sent (5 s): delivered at the next tick
    assert points(sink, "telecommand", 2) == [(START + 6 * S, 0.0)]  # sent = arrived
    assert events(sink, "app_event")[0]["detail"] == {"kind": "got_telecommand",
                                                      "command": "set_mode"}
    assert points(sink, "ground_msg_bytes", 2) == [(START + 10 * S, 5.0)]
    ground = [e for e in events(sink, "app_event") if e["detail"]["kind"] == "ground"]
    assert ground[0]["detail"]["text"] == "hello"
