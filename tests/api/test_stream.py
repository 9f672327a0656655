"""The WebSocket stream: full state first, binary snapshots that hold the run's positions,
events, rates, and latest-wins delivery to a slow client."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from orbemu.api.runs import Publisher
from orbemu.api.snapshot import decode_snapshot, encode_snapshot
from orbemu.engine.recorder import Event
from orbemu.orbits.propagation import propagate
from orbemu.time import Time

websockets = pytest.importorskip("websockets.sync.client")


def test_snapshot_encoding_round_trips():
    pos = np.arange(30, dtype=np.float64).reshape(10, 3) * 1e6
    header = {"type": "snapshot", "step": 3, "speed": float("inf"), "x": np.int64(7)}
    data = encode_snapshot(header, pos)
    assert data[:4] == b"ORB1" and (len(data) - 8) % 4 == 0
    h, p = decode_snapshot(data)
    assert h == {"type": "snapshot", "step": 3, "speed": None, "x": 7}  # inf is null in JSON
    assert p.dtype == np.float32 and np.array_equal(p, pos.astype(np.float32))


def test_events_are_buffered_once_and_a_slow_reader_is_told_what_it_missed():
    pub = Publisher(max_events=10)
    pub.add_events([Event(i, "aos", f"s{i}") for i in range(25)])
    events, skipped, last = pub.events_since(0, limit=100)
    assert last == 25 and skipped == 15 and [e["seq"] for e in events] == list(range(16, 26))
    events, skipped, last = pub.events_since(20, limit=3)
    assert [e["seq"] for e in events] == [23, 24, 25] and skipped == 2
    assert pub.events_since(25) == ([], 0, 25)
    assert events[0]["time_ns"] == "22" and events[0]["subject"] == "s22"


def test_rates_are_bounded_and_the_fastest_client_sets_the_pace():
    pub = Publisher()
    assert not pub.due()  # nobody watching: no snapshots unless forced
    assert pub.set_rate(1, 1000.0) == 20.0 and pub.set_rate(2, 0.0) == 0.1
    assert pub.due()  # the first one is due at once
    assert pub.due(force=True)
    pub.drop(1)
    pub.drop(2)
    assert pub.clients == 0


def test_a_publication_wakes_each_event_loop_once_for_all_its_clients():
    class Loop:  # records what the engine's thread hands over
        def __init__(self):
            self.calls = []

        def call_soon_threadsafe(self, fn, *args):
            self.calls.append((fn, args))

    class Flag:
        def __init__(self):
            self.is_set = False

        def set(self):
            self.is_set = True

    a, b = Loop(), Loop()
    flags = [Flag() for _ in range(4)]
    pub = Publisher()
    for i, (loop, flag) in enumerate(zip((a, a, a, b), flags, strict=True)):
        pub.subscribe(i, loop, flag)
    pub.drop(3)  # (b's only client left)
    pub.subscribe(4, b, flags[3])
    header = {"seq": 1, "step": 0, "time_ns": "0", "wall_s": 0.0}
    pub.publish(header, np.zeros((2, 3)))
    assert len(a.calls) == 1 and len(b.calls) == 1  # one system call per loop, not per client
    assert not any(f.is_set for f in flags)
    for fn, args in a.calls + b.calls:
        fn(*args)
    assert all(f.is_set for f in flags)


def _messages(ws, until, limit_s=120.0):
    """Messages (decoded) until ``until(msg)`` is true."""
    out = []
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        raw = ws.recv(timeout=limit_s)
        msg = decode_snapshot(raw) if isinstance(raw, bytes) else json.loads(raw)
        out.append(msg)
        if until(msg):
            return out
    raise AssertionError("the stream did not deliver in time")


def _is_snap(msg):
    return isinstance(msg, tuple)


def test_the_stream_gives_the_state_then_snapshots_of_the_run(api):
    rid = api.start(paused=True)
    api.wait(rid, lambda s: s["state"] == "paused")
    with websockets.connect(f"{api.ws_url}/api/runs/{rid}/stream", max_size=None) as ws:
        ws.send(json.dumps({"type": "hello", "rate": 20}))
        first = _messages(ws, _is_snap)
        kinds = [m["type"] if isinstance(m, dict) else "snapshot" for m in first]
        assert kinds[:2] == ["status", "state"] and kinds[-1] == "snapshot"
        state = first[1]
        assert state["satellites"]["count"] == 52 and len(state["satellites"]["names"]) == 52
        assert state["ground"]["count"] == 9 and len(state["isl_pairs"]) == 2 * 96
        assert [m["src"] for m in state["monitor"]] == ["site:mine", "site:mine"]
        assert len(state["contact_plan"]["sat"]) == 5
        assert state["start_ns"] == "1767225600000000000"
        h, pos = first[-1]
        assert h["step"] == 0 and h["state"] == "paused" and pos.shape == (52, 3)
        ws.send(json.dumps({"type": "control", "action": "step", "n": 7}))
        snaps = _messages(ws, lambda m: _is_snap(m) and m[0]["step"] == 7
                          and m[0]["state"] == "paused")
        h, pos = snaps[-1]
        t = int(h["time_ns"])
        assert t == 1767225600000000000 + 7 * 10**10
        # the positions are the run's satellites at that instant (float32 on the wire)
        from orbemu.scenario import resolve_scenario
        from orbemu.scenario.loader import parse_scenario_text

        from .conftest import WORLD

        world = resolve_scenario(parse_scenario_text(WORLD, "world.yaml"))
        ref = propagate(world.elements, Time(np.array([t])), frame="ITRF").position_m[:, 0]
        assert np.max(np.abs(pos - ref)) < 1.0  # metres
        # the monitored paths: satellites and ground nodes of the run, with RTTs
        assert h["net_time_ms"] == (t - 10**10) / 1e6  # the last network instant (30 s)
        p = h["paths"][1]  # mine -> dc-south is reachable then (a sparse 48-satellite shell)
        assert p["nodes"][0] == -(state["ground"]["names"].index("mine") + 1)
        assert p["nodes"][-1] == -(state["ground"]["names"].index("dc-south") + 1)
        assert p["reachable"] and p["rtt_ms"] > 0 and p["hops"] == len(p["nodes"]) - 1
        ws.send(json.dumps({"type": "rate", "hz": 500, "id": "r"}))
        ack = _messages(ws, lambda m: isinstance(m, dict) and m.get("type") == "ack")[-1]
        assert ack["rate"] == 20.0 and ack["id"] == "r"
        ws.send(json.dumps({"type": "control", "action": "fault",
                            "spec": "station:svalbard down for 20m"}))
        ack = _messages(ws, lambda m: isinstance(m, dict) and m.get("type") == "ack")[-1]
        assert ack["fault"]["target"] == "svalbard"
        ws.send(json.dumps({"type": "control", "action": "step", "n": 1}))
        evs = _messages(ws, lambda m: isinstance(m, dict) and m.get("type") == "events"
                        and any(e["kind"] == "fault_start" for e in m["events"]))
        fault = next(e for e in evs[-1]["events"] if e["kind"] == "fault_start")
        assert fault["subject"] == "svalbard" and fault["time_ns"] == str(t)
        ws.send(json.dumps({"type": "control", "action": "warp"}))
        err = _messages(ws, lambda m: isinstance(m, dict) and m.get("type") == "error")[-1]
        assert err["status"] == 400 and "unknown control action" in err["message"]
    api.client.post(f"/api/runs/{rid}/stop").raise_for_status()


def test_a_slow_client_gets_the_latest_snapshot_and_does_not_hold_the_run(api):
    rid = api.start(paused=True)
    api.wait(rid, lambda s: s["state"] == "paused")
    with websockets.connect(f"{api.ws_url}/api/runs/{rid}/stream", max_size=None) as ws:
        ws.send(json.dumps({"type": "hello", "rate": 20}))
        _messages(ws, _is_snap)
        api.client.post(f"/api/runs/{rid}/resume").raise_for_status()
        # the client reads nothing while the run goes to its end
        st = api.wait(rid, lambda s: s["state"] == "completed")
        assert st["step"] == 360
        seqs, steps = [], []
        snaps = _messages(ws, lambda m: _is_snap(m) and m[0]["step"] == 360)
        for h, _ in (m for m in snaps if _is_snap(m)):
            seqs.append(h["seq"])
            steps.append(h["step"])
    assert seqs == sorted(seqs) and steps == sorted(steps)  # never an older one
    assert len(steps) < 360  # coalesced: not one per step
