"""EmulationControl: pause, single steps, faults injected between steps, stop, observers."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from orbemu.engine.clock import SimClock
from orbemu.engine.control import EmulationControl
from orbemu.engine.emulation import Emulation
from orbemu.engine.faults import FaultSpec
from orbemu.engine.recorder import MemorySink
from orbemu.errors import InputError, UsageError

from .conftest import START, S, make_setup

TIMEOUT_S = 60


@pytest.fixture(scope="module")
def setup():
    return make_setup(minutes=20)


def _start(emu: Emulation, control: EmulationControl) -> threading.Thread:
    th = threading.Thread(target=emu.run, kwargs={"control": control}, daemon=True)
    th.start()
    return th


def _wait_paused(control: EmulationControl, emu: Emulation, step: int) -> None:
    seen = threading.Event()

    def obs(e: Emulation) -> None:
        if control.state == "paused" and e.step_index == step:
            seen.set()

    control.observers.append(obs)
    if not (control.state == "paused" and emu.step_index == step):
        assert seen.wait(TIMEOUT_S), f"not paused at step {step} (state {control.state})"
    control.observers.remove(obs)


def test_single_steps_advance_exactly_one_step(setup):
    emu = Emulation(setup, MemorySink())
    control = EmulationControl(paused=True)
    th = _start(emu, control)
    _wait_paused(control, emu, 0)
    assert emu.time_ns == START
    control.step()
    _wait_paused(control, emu, 1)
    assert emu.time_ns == START + setup.step_ns
    control.step(3)
    _wait_paused(control, emu, 4)
    assert emu.time_ns == START + 4 * setup.step_ns
    assert emu.clock.mode == "max"  # the run's own clock is back after the steps
    control.stop()
    th.join(TIMEOUT_S)
    assert emu.status == "stopped" and control.state == "stopped"
    assert emu.sink.status == "stopped"
    assert emu.sink.last_checkpoint()[0] == 4  # stopped with a checkpoint: resumable


def test_a_fault_injected_between_steps_records_as_a_scripted_one(setup):
    k = 30
    t = START + k * setup.step_ns
    fault = FaultSpec(kind="sat", effect="down", start_ns=t, end_ns=t + 300 * S, sat=1,
                      target="EO-P0-S1", spec="sat:EO-P0-S1 down at 5m for 5m")
    scripted = MemorySink()
    Emulation(setup.__class__(**{**setup.__dict__, "faults": (fault,)}), scripted).run()

    live = MemorySink()
    emu = Emulation(setup, live)
    emu.run(until_step=k)
    control = EmulationControl()
    future = control.inject(fault)
    emu.run(control=control)
    index, applied = future.result(TIMEOUT_S)
    assert index == 0 and applied == fault
    assert emu.injected == [fault]

    def events(sink):
        return [(e["time_ns"], e["kind"], e["subject"]) for e in sink.tables["events"]]

    assert events(live) == events(scripted)
    assert repr(live.tables["housekeeping"]) == repr(scripted.tables["housekeeping"])  # NaN too
    assert [r["target"] for r in live.tables["faults"]] == ["EO-P0-S1"]


def test_a_fault_in_the_past_starts_at_the_boundary_and_keeps_its_duration(setup):
    emu = Emulation(setup, MemorySink())
    emu.run(until_step=10)
    now = emu.time_ns
    f = FaultSpec(kind="sat", effect="down", start_ns=START, end_ns=START + 60 * S, sat=2,
                  target="EO-P0-S2")
    _, applied = emu.inject_fault(f)
    assert applied.start_ns == now and applied.end_ns == now + 60 * S


def test_bad_injections_are_refused_through_the_future(setup):
    emu = Emulation(setup, MemorySink())
    emu.run(until_step=2)
    control = EmulationControl(paused=True)
    th = _start(emu, control)
    _wait_paused(control, emu, 2)
    late = control.inject(FaultSpec(kind="sat", effect="down", start_ns=setup.end_ns + S,
                                    sat=0, target="EO-P0-S0"))
    with pytest.raises(InputError, match="after the run ends"):
        late.result(TIMEOUT_S)
    bad = control.inject(FaultSpec(kind="sat", effect="down", start_ns=START, sat=10**6,
                                   target="nobody"))
    with pytest.raises(UsageError, match="out of range"):
        bad.result(TIMEOUT_S)
    control.stop()
    th.join(TIMEOUT_S)
    with pytest.raises(UsageError, match="stopped"):
        control.pause()


def test_injected_faults_survive_a_checkpoint(setup):
    sink = MemorySink()
    emu = Emulation(setup, sink)
    emu.run(until_step=5)
    t = emu.time_ns
    f = FaultSpec(kind="sat", effect="down", start_ns=t + 100 * S, end_ns=t + 400 * S, sat=3,
                  target="EO-P1-S0")
    control = EmulationControl()
    control.inject(f)
    control.stop()
    emu.run(control=control)
    assert emu.status == "stopped"
    again = Emulation.resume(setup, sink)
    assert again.injected == [f] and again.faults.faults[-1] == f
    again.run()
    kinds = [(e["kind"], e["subject"]) for e in sink.tables["events"]]
    assert ("fault_start", "EO-P1-S0") in kinds and ("fault_end", "EO-P1-S0") in kinds


def test_observers_see_every_step_and_a_failing_one_is_dropped(setup):
    emu = Emulation(setup, MemorySink())
    control = EmulationControl()
    steps: list[int] = []
    control.observers.append(lambda e: steps.append(e.step_index))

    def broken(e):
        raise RuntimeError("boom")

    control.observers.append(broken)
    emu.run(control=control)
    assert steps == [*range(1, setup.n_steps + 1), setup.n_steps]  # + once at the end
    assert control.observer_errors == ["RuntimeError: boom"]
    assert emu.status == "completed" and control.state == "completed"


def test_set_rate_validates_and_switches_the_clock(setup):
    control = EmulationControl()
    with pytest.raises(UsageError):
        control.set_rate("paced", -1.0)
    emu = Emulation(setup, MemorySink())
    emu.run(until_step=1)
    control.set_rate("paced", 1e9)
    emu.run(until_step=3, control=control)
    assert emu.clock.mode == "paced" and emu.clock.speed == 1e9


class FakeWall:
    def __init__(self) -> None:
        self.t = 0

    def now_ns(self) -> int:
        return self.t

    def sleep_until_ns(self, deadline_ns: int) -> None:
        self.t = max(self.t, deadline_ns)


def test_a_pause_is_left_out_of_the_schedule():
    wall = FakeWall()
    clock = SimClock("realtime", wall=wall)
    clock.start(0)
    clock.pace(10 * S)
    assert wall.t == 10 * S
    wall.t += 100 * S  # paused for 100 s
    clock.exclude(100 * S)
    clock.pace(20 * S)
    assert clock.overruns == 0 and wall.t == 120 * S
    assert np.isclose(clock.speed_now(), 1.0)
    clock.set_rate("paced", 10.0)
    clock.pace(30 * S)
    assert wall.t == 121 * S and clock.overruns == 0
