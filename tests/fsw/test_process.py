"""Out-of-process apps: the same app gives the same records; crashes, hangs and memory blow-ups
are faults, the app restarts within a tick, and nothing it published is lost."""

from __future__ import annotations

import sys

import pytest

from orbemu.fsw import AppSpec, ProcessLimits, RestartPolicy

from .conftest import START, S, events, points, run_apps, world

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="app processes use Linux rlimits and /proc")


def _telemetry(sink):
    return sorted((r["time_ns"], r["sat"], r["key"], r["value"])
                  for r in sink.tables["telemetry"])


def test_the_same_app_gives_the_same_records_in_and_out_of_process():
    setup = world(minutes=0.5, step_s=1)
    local, s1, _ = run_apps(setup, AppSpec("tests.fsw.apps:Recorder", sats=(0, 3)))
    remote, s2, _ = run_apps(setup, AppSpec("tests.fsw.apps:Recorder", sats=(0, 3),
                                            runner="process"))
    assert _telemetry(local) == _telemetry(remote)
    assert len(_telemetry(remote)) == 2 * (1 + 30 * 4)  # started, then tick/tick_msg/soc/lat
    assert s1.fsw["ticks"] == s2.fsw["ticks"] == 60
    start = events(remote, "app_start")
    assert {e["detail"]["runner"] for e in start} == {"process"}
    assert all(e["detail"]["endpoint"].startswith("127.0.0.1:") for e in start)


@pytest.mark.parametrize(("how", "expect"), [("exit", {"exit_code": 7}),
                                             ("segv", {"signal": "SIGSEGV"}),
                                             ("kill", {"signal": "SIGKILL"}),
                                             ("exception", {"exit_code": 3})])
def test_a_crashed_app_restarts_within_a_second_and_loses_no_telemetry(how, expect):
    setup = world(minutes=0.2, step_s=1)
    sink, summary, _ = run_apps(setup, AppSpec("tests.fsw.apps:CrashAt", sats=(2,),
                                               runner="process",
                                               params={"at": 4, "how": how}))
    fault = events(sink, "app_fault")
    assert len(fault) == 1 and fault[0]["time_ns"] == START + 4 * S
    d = fault[0]["detail"]
    assert d["cause"] == "crash" and d["restart"] is True
    assert {k: d[k] for k in expect} == expect
    if how == "exception":
        assert "RuntimeError: boom" in d["log_tail"]
    restart = events(sink, "app_restart")
    assert len(restart) == 1 and restart[0]["detail"]["down_s"] <= 1.0
    # published before the crash, in the same tick: recorded
    assert points(sink, "last_words") == [(START + 4 * S, 4.0)]
    # every tick ran: 0..4 in the first life, 5..11 in the second
    assert [v for _, v in points(sink, "before")] == [float(j) for j in range(12)]
    assert [v for _, v in points(sink, "life")] == [0.0, 1.0]
    assert summary.fsw["restarts"] == 1 and summary.fsw["faults"] == 1


def test_a_hung_app_is_killed_after_its_tick_timeout_and_restarted():
    setup = world(minutes=0.15, step_s=1)
    sink, summary, _ = run_apps(setup, AppSpec("tests.fsw.apps:CrashAt", sats=(1,),
                                               runner="process", tick_timeout_s=1.0,
                                               params={"at": 3, "how": "hang"}))
    fault = events(sink, "app_fault")
    assert [f["detail"]["cause"] for f in fault] == ["hang"]
    assert fault[0]["time_ns"] == START + 3 * S
    assert points(sink, "last_words") == [(START + 3 * S, 3.0)]
    assert events(sink, "app_restart")[0]["time_ns"] == START + 4 * S
    # tick 3 never finished, but what it sent is kept; the new life runs 4..8
    assert [v for _, v in points(sink, "before")] == [float(j) for j in range(9)]
    assert summary.status == "completed"


def test_memory_beyond_the_limit_is_a_fault():
    setup = world(minutes=0.1, step_s=1)
    sink, _, _ = run_apps(setup, AppSpec("tests.fsw.apps:CrashAt", sats=(1,),
                                         runner="process",
                                         limits=ProcessLimits(memory_mb=1024.0),
                                         params={"at": 2, "how": "memory"}))
    fault = events(sink, "app_fault")
    assert [f["detail"]["cause"] for f in fault] == ["memory"]
    assert "MemoryError" in fault[0]["detail"]["log_tail"]
    assert events(sink, "app_restart")


def test_a_resident_set_beyond_the_watch_is_killed():
    setup = world(minutes=5 / 60, step_s=1)  # 5 ticks of 0.4 s wall: the watch looks on
    sink, _, _ = run_apps(setup, AppSpec("tests.fsw.apps:CrashAt", sats=(1,),
                                         runner="process",
                                         limits=ProcessLimits(memory_mb=None, rss_mb=200.0),
                                         params={"at": 1, "how": "rss", "slow_s": 0.4}))
    fault = events(sink, "app_fault")
    assert [f["detail"]["cause"] for f in fault] == ["memory"]
    assert fault[0]["detail"]["rss_mb"] > 200.0 == fault[0]["detail"]["limit_mb"]


def test_restarts_are_capped_and_backed_off():
    setup = world(minutes=0.25, step_s=1)
    policy = RestartPolicy(max_restarts=2, backoff_s=2.0, backoff_factor=2.0)
    sink, summary, _ = run_apps(setup, AppSpec("tests.fsw.apps:CrashAt", sats=(0,),
                                               runner="process", restart=policy,
                                               params={"at": 1, "how": "exit",
                                                       "always": True}))
    # every life crashes: at 1 s, again at 3 s (back after 2 s), at 7 s (after 4 s); then no
    # restart is left
    restart = events(sink, "app_restart")
    assert [e["time_ns"] for e in restart] == [START + 3 * S, START + 7 * S]
    assert [e["detail"]["down_s"] for e in restart] == [2.0, 4.0]
    assert [e["time_ns"] for e in events(sink, "app_fault")] == [START + t * S for t in (1, 3, 7)]
    assert [e["time_ns"] for e in events(sink, "app_failed")] == [START + 7 * S]
    assert summary.fsw["restarts"] == 2 and summary.fsw["status"] == {"failed": 1}


def test_an_app_process_that_never_connects_is_a_start_fault():
    setup = world(minutes=0.05, step_s=1)
    sink, summary, _ = run_apps(setup, AppSpec(sats=(0,), runner="process",
                                               command=(sys.executable, "-c", "pass"),
                                               start_timeout_s=1.0,
                                               restart=RestartPolicy(policy="never")))
    fault = events(sink, "app_fault")
    assert fault[0]["detail"]["cause"] == "start"
    assert events(sink, "app_failed")
    assert summary.status == "completed"


def test_images_with_their_tiles_reach_an_app_process_as_they_reach_one_in_process():
    from orbemu.engine import MemorySink
    from orbemu.scenario import load_scenario, resolve_scenario
    from orbemu.scenario.build import build_emulation
    from orbemu.scenario.model import Scenario

    def run(runner):
        data = load_scenario("eo-cloud-filter").model_dump(mode="json", by_alias=True)
        data["run"]["duration"] = "20m"
        data["apps"] = [{"app": "tests.fsw.apps:ImageKeeper", "satellites": "IMAGER-P0*",
                         "runner": runner, "images": "app"}]
        sink = MemorySink()
        emu = build_emulation(resolve_scenario(Scenario.model_validate(data)), sink)
        return emu.run(), sink

    (local, lsink), (remote, rsink) = run("inprocess"), run("process")
    means = sorted((r["time_ns"], r["sat"], r["value"]) for r in lsink.tables["telemetry"]
                   if r["key"] == "tile_mean")
    assert len(means) >= 5
    assert means == sorted((r["time_ns"], r["sat"], r["value"])
                           for r in rsink.tables["telemetry"] if r["key"] == "tile_mean")
    assert local.fsw["images_decided"] == remote.fsw["images_decided"] == len(means)
