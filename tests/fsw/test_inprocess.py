"""The in-process runner: tick timing, state messages against independent propagation, requests,
compute budget and power, exceptions and restarts."""

from __future__ import annotations

import numpy as np
import pytest

from orbemu.engine import Emulation, MemorySink
from orbemu.fsw import AppSpec, AppsSetup
from orbemu.orbits.frames import itrf_to_geodetic
from orbemu.orbits.propagation import propagate
from orbemu.time import Time

from ..conftest import ONE_METRE
from .apps import Burner, Commander, CrashAt, Fast, PowerHungry, Recorder
from .conftest import START, S, events, points, run_apps, world


def test_ticks_follow_the_app_rate_whatever_the_step():
    # 1 Hz app, 10 s steps: ten ticks per step at whole seconds
    sink, summary, _ = run_apps(world(minutes=2, step_s=10), AppSpec(Recorder, sats=(0, 5)))
    ticks = points(sink, "tick", sat=5)
    assert [t for t, _ in ticks] == [START + j * S for j in range(120)]
    assert [v for _, v in ticks] == [float(j) for j in range(120)]
    assert summary.fsw["ticks"] == 240 and summary.fsw["faults"] == 0
    # the Tick message (subscribed) says the same
    assert [v for _, v in points(sink, "tick_msg", sat=5)] == [float(j) for j in range(120)]


def test_a_step_finer_than_the_tick_period_runs_ticks_in_some_steps_only():
    setup = world(minutes=0.5, step_s=0.25)
    sink, _summary, _ = run_apps(setup, AppSpec(Recorder, sats=(0,)))
    assert [t for t, _ in points(sink, "tick")] == [START + j * S for j in range(30)]
    # 4 Hz app, 1 s steps: four ticks per step
    sink, _, _ = run_apps(world(minutes=0.5, step_s=1), AppSpec(Fast, sats=(0,)))
    assert [t for t, _ in points(sink, "tick")] == [START + j * S // 4 for j in range(120)]


def test_orbit_state_matches_an_independent_propagation_inside_steps():
    setup = world(minutes=2, step_s=10)
    sink, _, _ = run_apps(setup, AppSpec(Fast, sats=(3,)))
    got = points(sink, "x_m")
    times = Time(np.array([t for t, _ in got], np.int64))
    ref = propagate(setup.elements.select([3]), times, frame="ITRF").position_m[0]
    x = np.array([v for _, v in got])
    # ticks between steps are Hermite-interpolated: well under a metre at 10 s steps
    assert np.max(np.abs(x - ref[:, 0])) < ONE_METRE


def test_state_messages_equal_the_housekeeping_records():
    setup = world(minutes=3, step_s=10)
    sink, _, _ = run_apps(setup, AppSpec(Recorder, sats=(2,)))
    hk = {r["time_ns"]: r for r in sink.tables["housekeeping"] if r["sat"] == 2}
    soc = dict(points(sink, "soc", sat=2))
    lat = dict(points(sink, "lat_deg", sat=2))
    assert len(hk) == 3
    for t, row in hk.items():
        assert soc[t] == pytest.approx(row["soc"], abs=1e-12)
        assert lat[t] == pytest.approx(row["lat_deg"], abs=1e-9)


def test_mode_and_payload_requests_act_at_the_tick():
    setup = world(minutes=0.25, step_s=1, hk_every_s=1)
    sink, _, _ = run_apps(setup, AppSpec(Commander, sats=(1,)))
    mode = {r["time_ns"]: r["mode"] for r in sink.tables["housekeeping"] if r["sat"] == 1}
    # asked at 2 s: Sun pointing from then (the attitude being slewed to); nadir again at 5 s.
    # Housekeeping at t is the state before the step starting at t acts: 3 s is the first.
    assert [mode[START + j * S] for j in range(8)] == [0, 0, 0, 1, 1, 1, 0, 0]
    other = {r["time_ns"]: r["mode"] for r in sink.tables["housekeeping"] if r["sat"] == 0}
    assert set(other.values()) == {0}


def test_requests_inside_a_coarse_step_act_at_their_own_time():
    # 10 s steps: the requests at 2 s and 5 s split the step there, so the last slew (to nadir,
    # asked at 5 s) ends when it ends with 1 s steps
    ends = []
    for step_s in (10, 1):
        _, _, emu = run_apps(world(minutes=1 / 6, step_s=step_s), AppSpec(Commander, sats=(1,)))
        ends.append(int(emu.state.attitude.slew_end_ns[1]))
    assert ends[0] > START + 5 * S
    assert abs(ends[0] - ends[1]) < 10**6  # 1 ms (the geometry at 5 s is interpolated)


def test_overruns_are_flagged_or_throttled():
    setup = world(minutes=2, step_s=1)
    sink, summary, _ = run_apps(setup, AppSpec(Burner, sats=(0,), params={"ms": 4.0}))
    assert summary.fsw["overruns"] == summary.fsw["ticks"] == 120
    flagged = events(sink, "app_overrun")
    # one event a minute of emulated time, counting what happened since the last one
    assert [e["time_ns"] for e in flagged] == [START, START + 60 * S]
    assert flagged[1]["detail"]["overruns"] == 60
    assert flagged[0]["detail"]["cpu_ms"] > flagged[0]["detail"]["budget_ms"] == 1.0
    sink, summary, _ = run_apps(setup, AppSpec(Burner, sats=(0,), params={"ms": 4.0},
                                               overrun="throttle"))
    s = summary.fsw
    assert s["ticks"] + s["skipped"] == 120
    # about three ticks skipped per tick run (4 ms used of a 1 ms budget)
    assert 0.6 < s["skipped"] / 120 < 0.85
    assert events(sink, "app_throttled")


def test_compute_power_follows_the_declared_budget():
    setup = world(minutes=1, step_s=1, hk_every_s=10)
    cls = setup.fleet.classes[0]
    base, _, _ = run_apps(setup, AppSpec(Recorder, sats=(0,), cpu_budget_ms=1.0))
    full, _, _ = run_apps(setup, AppSpec(PowerHungry, sats=(0,)))
    load = {(r["time_ns"], r["sat"]): r["power_out_w"] for r in base.tables["housekeeping"]}
    hungry = {(r["time_ns"], r["sat"]): r["power_out_w"] for r in full.tables["housekeeping"]}
    t = START + 30 * S
    # duty 1 (1 s of CPU a second) against 0.001 (1 ms a second): compute_w × 0.999 more
    assert hungry[(t, 0)] - load[(t, 0)] == pytest.approx(cls.loads.compute_w * 0.999,
                                                          rel=1e-9)
    # satellites without apps draw their whole compute load, as without flight software
    assert hungry[(t, 4)] == load[(t, 4)]
    none = MemorySink()
    Emulation(setup, none).run()
    plain = {(r["time_ns"], r["sat"]): r["power_out_w"] for r in none.tables["housekeeping"]}
    assert plain[(t, 4)] == load[(t, 4)] and plain[(t, 0)] == hungry[(t, 0)]


def test_an_exception_is_a_fault_and_the_app_restarts_at_its_next_tick():
    setup = world(minutes=0.25, step_s=1)
    sink, summary, _ = run_apps(setup, AppSpec(CrashAt, sats=(0,), params={"at": 3}))
    fault = events(sink, "app_fault")
    assert len(fault) == 1 and fault[0]["time_ns"] == START + 3 * S
    assert fault[0]["detail"]["cause"] == "exception" and "boom" in fault[0]["detail"]["error"]
    restart = events(sink, "app_restart")
    assert restart[0]["time_ns"] == START + 4 * S and restart[0]["detail"]["down_s"] == 1.0
    # what it published before raising is kept; the new life ticks on from 4 s
    assert points(sink, "last_words") == [(START + 3 * S, 3.0)]
    assert [v for _, v in points(sink, "before")] == [float(j) for j in range(15)]
    assert [v for _, v in points(sink, "life")] == [0.0, 1.0]
    assert summary.fsw["restarts"] == 1


def test_restart_policy_never_leaves_the_app_down():
    from orbemu.fsw import RestartPolicy
    setup = world(minutes=0.25, step_s=1)
    sink, summary, _ = run_apps(setup, AppSpec(CrashAt, sats=(0,), params={"at": 3},
                                               restart=RestartPolicy(policy="never")))
    assert events(sink, "app_failed") and not events(sink, "app_restart")
    assert [v for _, v in points(sink, "before")] == [0.0, 1.0, 2.0, 3.0]
    assert summary.fsw["status"] == {"failed": 1}


def test_apps_only_on_modelled_satellites():
    from dataclasses import replace

    from orbemu.errors import UsageError
    with pytest.raises(UsageError, match="modelled"):
        replace(world(), apps=AppsSetup((AppSpec(Recorder, sats=(40,)),)))


def test_state_is_not_available_in_on_start():
    from orbemu.fsw import App

    class Early(App):
        def on_start(self, ctx):
            ctx.telemetry("soc", ctx.power.soc)

    sink, _, _ = run_apps(world(minutes=0.1), AppSpec(Early, sats=(0,)))
    fault = events(sink, "app_fault")
    assert fault and "no state yet" in fault[0]["detail"]["error"]


def test_geodetic_state_is_consistent():
    setup = world(minutes=0.2, step_s=1)
    sink, _, _emu = run_apps(setup, AppSpec(Recorder, sats=(7,)))
    t, lat = points(sink, "lat_deg")[4]
    r = propagate(setup.elements.select([7]), Time(np.int64(t)), frame="ITRF").position_m
    assert lat == pytest.approx(np.degrees(itrf_to_geodetic(r.reshape(-1, 3))[0][0]),
                                abs=1e-6)


def test_a_run_with_apps_resumes_from_a_checkpoint_and_the_apps_start_again():
    from dataclasses import replace

    from orbemu.engine.config import RecordSetup
    setup = replace(world(minutes=3, step_s=10), records=RecordSetup(
        housekeeping_every_ns=60 * S, checkpoint_every_ns=60 * S),
        apps=AppsSetup((AppSpec(Recorder, sats=(0, 1)),)))
    sink = MemorySink()
    Emulation(setup, sink).run(until_step=9)   # the checkpoint at 60 s is behind it
    emu = Emulation.resume(setup, sink)
    summary = emu.run()
    assert summary.status == "completed"
    starts = [e["time_ns"] for e in events(sink, "app_start")]
    assert starts == [START, START, START + 60 * S, START + 60 * S]
    # every tick recorded once: the part after the checkpoint was dropped and written again
    for sat in (0, 1):
        assert [t for t, _ in points(sink, "tick", sat)] == [START + j * S for j in range(180)]
    # the restarted apps say so (`started` is published in on_start)
    assert [t for t, _ in points(sink, "started", 0)] == [START, START + 60 * S]
