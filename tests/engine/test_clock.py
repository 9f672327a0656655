"""The simulation clock's pacing logic, driven by a fake wall clock (no real time measured)."""

from __future__ import annotations

import pytest

from orbemu.engine.clock import SimClock
from orbemu.errors import UsageError

S = 10**9
MS = 10**6


class FakeWall:
    """A wall clock that advances only when told (compute time) or when slept on; sleeps land
    ``overshoot_ns`` late."""

    def __init__(self, overshoot_ns: int = 0) -> None:
        self.t = 1_000 * S
        self.overshoot_ns = overshoot_ns
        self.slept: list[int] = []

    def now_ns(self) -> int:
        return self.t

    def sleep_until_ns(self, deadline_ns: int) -> None:
        if deadline_ns > self.t:
            self.slept.append(deadline_ns - self.t)
            self.t = deadline_ns + self.overshoot_ns

    def work(self, ns: int) -> None:
        self.t += ns


def test_max_mode_never_waits_and_measures_speed():
    wall = FakeWall()
    clock = SimClock("max", wall=wall)
    clock.start(0)
    for k in range(1, 11):
        wall.work(2 * MS)           # 2 ms of computing per 10 s step
        assert clock.pace(k * 10 * S) == 0
    st = clock.stats()
    assert wall.slept == []
    assert st.steps == 10 and st.overruns == 0
    assert st.speed == pytest.approx(100 * S / (20 * MS))   # 5000x
    assert st.target_speed == float("inf")


def test_paced_mode_sleeps_to_the_schedule():
    wall = FakeWall()
    clock = SimClock("paced", 10.0, wall=wall)   # 10 simulated s per wall s
    clock.start(0)
    for k in range(1, 6):
        wall.work(30 * MS)
        assert clock.pace(k * S) == 0             # each 1 s step is due 100 ms after the last
    assert wall.slept == [70 * MS] * 5
    st = clock.stats()
    assert st.speed == pytest.approx(10.0)
    assert st.overruns == 0 and st.lateness_p99_ms == 0.0


def test_overruns_are_counted_not_hidden_and_the_schedule_is_kept():
    wall = FakeWall()
    clock = SimClock("realtime", wall=wall)      # 100 ms steps at 1x
    clock.start(0)
    late = []
    for k, work in enumerate([50, 150, 20, 20, 300], start=1):
        wall.work(work * MS)
        late.append(clock.pace(k * 100 * MS))
    # step 2 ends at 200 ms wall (due 200) ... walk it through:
    # 1: 50 <= 100 sleep -> 100; 2: 250 > 200 late 50; 3: 270 <= 300 -> 300;
    # 4: 320 <= 400 -> 400; 5: 700 > 500 late 200
    assert late == [0, 50 * MS, 0, 0, 200 * MS]
    st = clock.stats()
    assert st.overruns == 2
    assert st.lateness_max_ms == pytest.approx(200.0)
    assert st.lateness_p50_ms == 0.0


def test_sleep_overshoot_is_lateness():
    wall = FakeWall(overshoot_ns=MS // 2)
    clock = SimClock("realtime", wall=wall)
    clock.start(5 * S)
    for k in range(1, 101):
        wall.work(10 * MS)
        clock.pace(5 * S + k * 100 * MS)
    st = clock.stats()
    assert st.overruns == 0
    assert st.lateness_p50_ms == pytest.approx(0.5) and st.lateness_p99_ms == pytest.approx(0.5)


def test_restart_anchors_a_new_schedule():
    wall = FakeWall()
    clock = SimClock("paced", 2.0, wall=wall)
    clock.start(0)
    wall.work(10 * S)                            # a long pause (e.g. a resume later)
    clock.start(100 * S)
    wall.work(MS)
    assert clock.pace(102 * S) == 0
    assert wall.slept[-1] == 1 * S - MS


def test_bad_settings():
    with pytest.raises(UsageError):
        SimClock("fast")  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        SimClock("paced", 0.0)
    with pytest.raises(UsageError):
        SimClock("max").pace(0)
