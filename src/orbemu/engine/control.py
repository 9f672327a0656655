"""Steering a running emulation from other threads: pause, single steps, speed, faults, stop.

A console (the web API, a notebook) runs :meth:`Emulation.run(control=...)
<orbemu.engine.emulation.Emulation.run>` in a background thread and keeps the
:class:`EmulationControl`. Its command methods (:meth:`~EmulationControl.pause`,
:meth:`~EmulationControl.resume`, :meth:`~EmulationControl.step`,
:meth:`~EmulationControl.set_rate`, :meth:`~EmulationControl.inject`,
:meth:`~EmulationControl.stop`) only record the request under a lock and return; the loop takes
the requests at the next step boundary (:meth:`~EmulationControl.before_step`), so the engine's
state is only ever changed by its own thread, between steps, and a run steered this way records
exactly what the same commands at the same boundaries would give.

- **pause** holds the loop at the next boundary; the paused wall time is left out of the clock's
  schedule (:meth:`~orbemu.engine.clock.SimClock.exclude`), so a paced run does not race to
  catch up. A pacing sleep in progress is cut short, so a pause takes effect within one step's
  computation, not one step of wall time (10 s in real time at 10 s steps).
- **step** (``n`` steps while paused) runs them unpaced and pauses again: simulated time
  advances by exactly ``n`` steps.
- **set_rate** switches the clock (``max``, ``realtime``, ``paced`` at a speed), re-anchoring
  its schedule (:meth:`~orbemu.engine.clock.SimClock.set_rate`).
- **inject** adds a :class:`~orbemu.engine.faults.FaultSpec` through the engine's own fault path
  (:meth:`~orbemu.engine.emulation.Emulation.inject_fault`, the same
  :class:`~orbemu.engine.faults.FaultInjector` and schedule as the scenario's faults); a start
  already past is moved to the boundary. Returns a future with the fault's index.
- **stop** ends the run at the next boundary with a checkpoint (status ``stopped``).

Observers (``control.observers``: callables taking the emulation) are called by the loop's thread
after every step, when the loop pauses, after a fault is injected while paused, and once at
the end. They must return quickly (copy what they need, publish it, return): the web API's
observer takes a snapshot at most at its clients' rate and swaps it into a slot that the
network side reads, so a slow client never slows the engine. An observer that raises is
dropped (its error kept in :attr:`EmulationControl.observer_errors`); the run goes on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from orbemu.constants import NS_PER_S
from orbemu.engine.clock import SPIN_NS, ClockMode, SimClock, SystemWallClock, WallClock
from orbemu.engine.faults import FaultSpec
from orbemu.errors import UsageError

if TYPE_CHECKING:
    from orbemu.engine.emulation import Emulation

__all__ = ["EmulationControl", "Observer"]

Observer = Callable[["Emulation"], None]


class _WakeableWall:
    """The system wall clock whose waits end early when ``wake`` is set (a command came)."""

    def __init__(self, inner: WallClock, wake: threading.Event, spin_ns: int = SPIN_NS) -> None:
        self.inner = inner
        self.wake = wake
        self.spin_ns = spin_ns

    def now_ns(self) -> int:
        return self.inner.now_ns()

    def sleep_until_ns(self, deadline_ns: int) -> None:
        while True:
            remaining = deadline_ns - self.inner.now_ns()
            if remaining <= 0 or self.wake.is_set():
                return
            if remaining > self.spin_ns:
                self.wake.wait((remaining - self.spin_ns) / NS_PER_S)


class EmulationControl:
    """Thread-safe commands for a running :class:`~orbemu.engine.emulation.Emulation` (see the
    module notes). ``paused``: start paused (the run waits at step 0 for a resume or a step)."""

    def __init__(self, *, paused: bool = False) -> None:
        self._cond = threading.Condition()
        self._wake = threading.Event()
        self._paused = bool(paused)
        self._steps = 0
        self._stop = False
        self._rate: tuple[ClockMode, float | None] | None = None
        self._faults: list[tuple[FaultSpec, Future[tuple[int, FaultSpec]]]] = []
        self._stepping: tuple[ClockMode, float | None] | None = None  # rate before single steps
        self._pause_wall: int | None = None
        self._announced_pause = False
        self.state = "created"
        self.observers: list[Observer] = []
        self.observer_errors: list[str] = []

    # ---- commands (any thread) -------------------------------------------------------------
    @property
    def paused(self) -> bool:
        with self._cond:
            return self._paused

    def _command(self) -> None:
        if self.state in ("stopped", "completed", "failed"):
            raise UsageError(f"the run is {self.state}: it takes no more commands")
        self._wake.set()
        self._cond.notify_all()

    def pause(self) -> None:
        """Hold the run at the next step boundary."""
        with self._cond:
            self._paused = True
            self._steps = 0
            self._command()

    def resume(self) -> None:
        """Let a paused run go on."""
        with self._cond:
            self._paused = False
            self._steps = 0
            self._command()

    def step(self, n: int = 1) -> None:
        """Run ``n`` steps (unpaced) and pause; a running run pauses first."""
        n = int(n)
        if n < 1:
            raise UsageError(f"step count must be ≥ 1, got {n}")
        with self._cond:
            self._paused = True
            self._steps += n
            self._command()

    def set_rate(self, mode: ClockMode, speed: float | None = None) -> None:
        """Pace the run at ``mode`` (``max``, ``realtime``, ``paced`` with ``speed``)."""
        SimClock(mode, speed)  # validate now, in the caller's thread
        with self._cond:
            self._rate = (mode, speed)
            self._command()

    def inject(self, fault: FaultSpec) -> Future[tuple[int, FaultSpec]]:
        """Add ``fault`` at the next step boundary; the future gives ``(index, fault as
        scheduled)`` or the error that refused it."""
        future: Future[tuple[int, FaultSpec]] = Future()
        with self._cond:
            self._command()
            self._faults.append((fault, future))
        return future

    def stop(self) -> None:
        """End the run at the next step boundary (after a checkpoint)."""
        with self._cond:
            self._stop = True
            self._command()

    # ---- the loop's side (the thread running Emulation.run) ----------------------------------
    def _notify(self, emu: Emulation) -> None:
        for obs in list(self.observers):
            try:
                obs(emu)
            except Exception as exc:  # an observer must not stop the run
                self.observer_errors.append(f"{type(exc).__name__}: {exc}")
                self.observers.remove(obs)

    def _take(self, emu: Emulation) -> bool:
        """Apply what is pending (under the lock); True if something changed the run."""
        changed = False
        if self._rate is not None:
            mode, speed = self._rate
            self._rate = None
            if self._stepping is not None:
                self._stepping = (mode, speed)  # applies when the steps end
            else:
                emu.clock.set_rate(mode, speed)
        faults, self._faults = self._faults, []
        for fault, future in faults:
            try:
                future.set_result(emu.inject_fault(fault))
                changed = True
            except Exception as exc:
                future.set_exception(exc)
        return changed

    def _wrap_wall(self, emu: Emulation) -> None:
        if isinstance(emu.clock.wall, SystemWallClock):
            emu.clock.wall = _WakeableWall(emu.clock.wall, self._wake, emu.clock.wall.spin_ns)

    def before_step(self, emu: Emulation) -> bool:
        """Called by the loop before each step: applies pending commands, waits while paused;
        False: stop the run."""
        notify = False
        with self._cond:
            if self.state == "created":
                self._wrap_wall(emu)
            while True:
                self._wake.clear()
                if self._take(emu) and self._paused:
                    notify = True
                if self._stop:
                    self.state = "stopping"
                    return False
                if not self._paused:
                    self._leave_pause(emu)
                    self.state = "running"
                    return True
                if self._steps > 0:
                    self._steps -= 1
                    if self._stepping is None:
                        self._stepping = (emu.clock.mode, self._target_speed(emu))
                        emu.clock.set_rate("max")
                    self.state = "stepping"
                    return True
                if self._pause_wall is None:
                    self._pause_wall = emu.clock.wall.now_ns()
                self.state = "paused"
                if not self._announced_pause or notify:
                    self._announced_pause = True
                    notify = False
                    self._cond.release()
                    try:
                        self._notify(emu)
                    finally:
                        self._cond.acquire()
                    continue  # a command may have come while the observers ran
                self._cond.wait()

    @staticmethod
    def _target_speed(emu: Emulation) -> float | None:
        return emu.clock.speed if emu.clock.mode == "paced" else None

    def _leave_pause(self, emu: Emulation) -> None:
        if self._stepping is not None:
            mode, speed = self._stepping
            self._stepping = None
            emu.clock.set_rate(mode, speed)  # re-anchors: the pause is left out
        elif self._pause_wall is not None:
            emu.clock.exclude(emu.clock.wall.now_ns() - self._pause_wall)
        self._pause_wall = None
        self._announced_pause = False

    def after_step(self, emu: Emulation) -> None:
        """Called by the loop after each step: the observers."""
        with self._cond:
            if self._paused and self._steps == 0 and not self._stop:
                self.state = "paused"  # the last of the single steps: the loop waits next
        self._notify(emu)

    def finished(self, emu: Emulation) -> None:
        """Called once when the run ends (completed or stopped)."""
        with self._cond:
            self.state = emu.status if emu.status in ("completed", "stopped") else "failed"
            pending, self._faults = self._faults, []
        for _, future in pending:
            future.set_exception(UsageError(f"the run is {self.state}: fault not injected"))
        self._notify(emu)

    def failed(self, exc: BaseException) -> None:
        """The loop raised: refuse what is pending."""
        with self._cond:
            self.state = "failed"
            pending, self._faults = self._faults, []
        for _, future in pending:
            future.set_exception(UsageError(f"the run failed ({exc}): fault not injected"))

    def describe(self) -> dict[str, Any]:
        with self._cond:
            return {"state": self.state, "paused": self._paused, "pending_steps": self._steps,
                    "stop_requested": self._stop}
