"""The engine loop: determinism, checkpoints and resume, exact event times, fault effects."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from orbemu.engine.config import CommandSpec
from orbemu.engine.emulation import Emulation
from orbemu.engine.faults import FaultSpec
from orbemu.engine.recorder import MemorySink
from orbemu.errors import InputError

from .conftest import START, S, make_setup


def run(setup, **kw):
    sink = MemorySink()
    summary = Emulation(setup, sink, **kw).run()
    return sink, summary


def events(sink, kind=None, subject=None):
    return [e for e in sink.tables["events"]
            if (kind is None or e["kind"] == kind) and (subject is None or e["subject"] == subject)]


def comparable(tables, drop_kinds=("run_resumed",)):
    out = {}
    for name, rows in tables.items():
        rows = [{k: v for k, v in r.items() if k != "step"} for r in rows
                if not (name == "events" and r["kind"] in drop_kinds)]
        out[name] = repr(rows)  # repr: NaN compares equal to NaN
    return out


@pytest.fixture(scope="module")
def straight():
    setup = make_setup(minutes=60, checkpoint_min=20)
    sink, summary = run(setup)
    return setup, sink, summary


def test_a_run_records_every_stream(straight):
    _setup, sink, summary = straight
    assert summary.status == "completed" and summary.steps == 360
    t = sink.tables
    assert len(t["satellites"]) == 92 and len(t["ground_nodes"]) == 9
    # housekeeping: the 12 modelled satellites every minute, 0..59 min
    assert len(t["housekeeping"]) == 12 * 60
    hk = t["housekeeping"][0]
    for col in ("alive", "x_m", "lat_deg", "mode", "soc", "battery_wh", "power_in_w",
                "power_out_w", "storage_bits", "in_contact", "captures"):
        assert col in hk
    assert len(t["network"]) == 2 * 60
    assert len(t["contact_plan"]) == summary.contacts_planned > 0
    assert len(t["contacts"]) == summary.contacts_planned
    assert {e["kind"] for e in t["events"]} >= {"run_start", "contact_start", "contact_end",
                                                "eclipse_entry", "aos", "los", "run_end"}
    assert summary.packets["down"] > 0 and summary.down_bits > 0
    # events of one step are stamped with it; HK packets flow only in contacts
    assert all(p["time_ns"] >= START for p in t["packets"])


def test_same_setup_same_records(straight):
    setup, sink, _ = straight
    again, _ = run(setup)
    assert comparable(again.tables) == comparable(sink.tables)


def test_checkpoint_then_resume_gives_identical_records(straight):
    setup, sink, _ = straight
    part = MemorySink()
    first = Emulation(setup, part)
    first.run(until_step=157)                  # the 20 min checkpoint is behind it
    assert sorted(part.checkpoints) == [120]
    resumed = Emulation.resume(setup, part)   # back to 20:00, the records after it dropped
    assert resumed.step_index == 120
    resumed.run()
    assert comparable(part.tables) == comparable(sink.tables)
    assert len(events(part, "run_resumed")) == 1


def test_resume_without_checkpoint_is_an_error():
    setup = make_setup(minutes=10, network=False, contacts=False)
    sink = MemorySink()
    Emulation(setup, sink).run(until_step=3)
    with pytest.raises(InputError, match="no checkpoint"):
        Emulation.resume(setup, sink)


def test_faults_and_commands_split_steps_at_exact_times():
    t_fault = START + 123_456_789_012           # not on the 10 s grid
    faults = (FaultSpec("seu", "reboot", t_fault, t_fault + 300 * S, sat=2, target="EO-P0-S2",
                        spec="seu:EO-P0-S2 reboot"),
              FaultSpec("battery", "degrade", t_fault, sat=3, fraction=0.5, target="EO-P0-S3",
                        spec="battery:EO-P0-S3 degrade to 50%"))
    cmd = CommandSpec(START + 33 * S + 1, (1,), "set_mode", {"attitude": "sun"},
                      target="EO-P0-S1")
    setup = make_setup(minutes=15, network=False, contacts=False, faults=faults,
                       commands=(cmd,))
    sink, _ = run(setup)
    starts = events(sink, "fault_start")
    assert [e["time_ns"] for e in starts] == [t_fault, t_fault]
    assert [e["subject"] for e in starts] == ["EO-P0-S2", "EO-P0-S3"]  # scheduling order
    safe = events(sink, "safe_mode_entry", "EO-P0-S2")
    assert safe[0]["time_ns"] == t_fault and safe[0]["detail"]["cause"] == "fault"
    assert events(sink, "fault_end", "EO-P0-S2")[0]["time_ns"] == t_fault + 300 * S
    assert events(sink, "command_executed", "EO-P0-S1")[0]["time_ns"] == START + 33 * S + 1
    hk = {(r["time_ns"], r["sat"]): r for r in sink.tables["housekeeping"]}
    after = START + 180 * S
    assert hk[(after, 2)]["safe_mode"] == 1 and hk[(after, 2)]["mode"] == 3
    assert hk[(after, 3)]["capacity_factor"] == pytest.approx(0.5)
    assert hk[(START + 120 * S, 3)]["capacity_factor"] == 1.0
    # the reboot ended after 5 minutes and the battery allowed the exit
    assert events(sink, "safe_mode_exit", "EO-P0-S2")[0]["time_ns"] >= t_fault + 300 * S
    assert hk[(START + 600 * S, 1)]["mode"] == 1      # Sun pointing from the command on


def test_a_satellite_lost_mid_contact_cuts_it_and_stops_everything():
    base = make_setup(minutes=45, network=False)
    plan = Emulation(base, MemorySink()).contacts.plan
    row = int(np.argmax(plan.end_ns - plan.start_ns))
    sat = int(plan.sat[row])
    t_cut = int(plan.start_ns[row] + (plan.end_ns[row] - plan.start_ns[row]) // 2) + 7
    if t_cut >= START + 45 * 60 * S:
        pytest.skip("no contact in the window")
    name = str(base.elements.names[sat])
    fault = FaultSpec("sat", "down", t_cut, None, sat=sat, target=name, spec=f"sat:{name} down")
    sink, summary = run(replace(base, faults=(fault,)))
    cut = next(c for c in sink.tables["contacts"] if c["contact"] == row)
    assert cut["status"] == "cut" and cut["end_ns"] == t_cut
    assert events(sink, "contact_cut")[0]["time_ns"] == t_cut
    later = [r for r in sink.tables["housekeeping"] if r["sat"] == sat and r["time_ns"] > t_cut]
    assert later and all(r["alive"] == 0 and r["captures"] == 0 for r in later)
    assert all(r["power_in_w"] == 0 and r["power_out_w"] == 0 for r in later[1:])
    # later contacts of that satellite are cancelled; no packet comes down after the cut
    mine = [c for c in sink.tables["contacts"] if c["sat"] == sat and c["contact"] != row]
    assert all(c["status"] == "cancelled" for c in mine)
    assert not [p for p in sink.tables["packets"] if p["sat"] == sat and p["time_ns"] > t_cut]
    assert summary.sats_alive == 91


def test_station_outage_cancels_its_contacts():
    base = make_setup(minutes=45, network=False)
    plan = Emulation(base, MemorySink()).contacts.plan
    st = int(np.bincount(plan.station).argmax())
    node = int(base.contacts.stations[st])
    name = str(base.ground.names[node])
    fault = FaultSpec("station", "down", START, START + 3600 * S, node=node, target=name,
                      spec=f"station:{name} down")
    sink, _ = run(replace(base, faults=(fault,)))
    theirs = [c for c in sink.tables["contacts"] if c["station"] == node]
    assert theirs and all(c["status"] == "cancelled" and c["volume_bits"] == 0 for c in theirs)
    others = [c for c in sink.tables["contacts"] if c["station"] != node]
    assert all(c["status"] == "completed" for c in others)


@pytest.fixture(scope="module")
def network_run():
    setup = make_setup(minutes=40, contacts=False)
    sink, _ = run(setup)
    return setup, sink


def _path_at(sink, t, dst="cloud:dest-b"):
    return next(r for r in sink.tables["network"] if r["time_ns"] == t and r["dst"] == dst)


def test_a_lost_relay_satellite_leaves_the_routes(network_run):
    setup, sink = network_run
    rows = [r for r in sink.tables["network"] if r["reachable"] and r["dst"] == "cloud:dest-b"]
    assert rows, "the monitored pair is never reachable"
    t = rows[len(rows) // 2]["time_ns"]
    hops = _path_at(sink, t)["path"].split(" > ")
    victim = hops[2] if len(hops) > 3 else hops[1]
    sat = int(np.flatnonzero(setup.elements.names == victim)[0])
    fault = FaultSpec("sat", "down", t - 30 * S, t + 600 * S, sat=sat, target=victim,
                      spec=f"sat:{victim} down")
    faulty, _ = run(replace(setup, faults=(fault,)))
    assert victim not in _path_at(faulty, t)["path"].split(" > ")
    before = _path_at(faulty, t - 60 * S)
    assert before["path"] == _path_at(sink, t - 60 * S)["path"]


def test_a_failed_isl_leaves_the_routes(network_run):
    setup, sink = network_run
    rows = [r for r in sink.tables["network"] if r["reachable"] and r["hops"] >= 4
            and r["dst"] == "cloud:dest-b"]
    if not rows:
        rows = [r for r in sink.tables["network"] if r["reachable"] and r["hops"] >= 4]
    assert rows
    r = rows[0]
    t, hops = r["time_ns"], r["path"].split(" > ")
    a, b = hops[1], hops[2]
    ia = int(np.flatnonzero(setup.elements.names == a)[0])
    ib = int(np.flatnonzero(setup.elements.names == b)[0])
    fault = FaultSpec("isl", "down", t - 5 * S, t + 300 * S, sat=ia, sat_b=ib,
                      target=f"{a}-{b}", spec=f"isl:{a},{b} down")
    faulty, _ = run(replace(setup, faults=(fault,)))
    new = _path_at(faulty, t, r["dst"])["path"].split(" > ")
    assert f"{a} > {b}" not in " > ".join(new) and f"{b} > {a}" not in " > ".join(new)
    down = events(faulty, "link_down", f"{a}-{b}") or events(faulty, "link_down", f"{b}-{a}")
    assert down and down[0]["time_ns"] == t - 5 * S and down[0]["detail"]["cause"] == "fault"


def test_a_destination_outage_makes_it_unreachable(network_run):
    setup, sink = network_run
    node = int(np.flatnonzero(setup.ground.names == "dest-b")[0])
    fault = FaultSpec("station", "down", START + 600 * S, START + 1200 * S, node=node,
                      target="dest-b", spec="station:dest-b down")
    faulty, _ = run(replace(setup, faults=(fault,)))
    during = [r for r in faulty.tables["network"] if r["dst"] == "cloud:dest-b"
              and START + 600 * S <= r["time_ns"] < START + 1200 * S]
    assert during and not any(r["reachable"] for r in during)
    other = [r for r in faulty.tables["network"] if r["dst"] == "cloud:dest-c"]
    assert repr([r["rtt_ms"] for r in other]) == repr(
        [r["rtt_ms"] for r in sink.tables["network"] if r["dst"] == "cloud:dest-c"])


def test_unknown_isl_pair_is_refused():
    setup = make_setup(minutes=10, contacts=False)
    bad = FaultSpec("isl", "down", START, sat=0, sat_b=1, target="EO-P0-S0-EO-P0-S1")
    with pytest.raises(InputError, match="no ISL"):
        Emulation(replace(setup, faults=(bad,)), MemorySink())


def test_an_upset_into_safe_mode_waits_for_a_command():
    t_fault = START + 60 * S
    fault = FaultSpec("seu", "safe", t_fault, sat=4, target="EO-P1-S0", spec="seu:EO-P1-S0 safe")
    release = CommandSpec(START + 400 * S, (4,), "set_mode", {"mode": "imaging"},
                          target="EO-P1-S0")
    base = make_setup(minutes=12, network=False, contacts=False, faults=(fault,))
    held, _ = run(base)
    hk = [r for r in held.tables["housekeeping"] if r["sat"] == 4]
    assert all(r["safe_mode"] == 1 for r in hk if r["time_ns"] > t_fault)
    assert not events(held, "safe_mode_exit")
    freed, _ = run(replace(base, commands=(release,)))
    exits = events(freed, "safe_mode_exit", "EO-P1-S0")
    assert exits and START + 400 * S <= exits[0]["time_ns"] <= START + 410 * S
