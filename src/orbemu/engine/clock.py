"""The simulation clock: integer-nanosecond simulated time, paced against a wall clock.

Simulated time is an ``int`` of nanoseconds (UTC, POSIX epoch, as :class:`~orbemu.time.Time`);
the engine advances it and calls :meth:`SimClock.pace` whenever it has finished computing
everything up to a simulated instant. The clock decides how long to wait:

- ``max`` — never waits (lockstep, as fast as the machine allows);
- ``paced`` — ``speed`` simulated seconds per wall-clock second;
- ``realtime`` — ``paced`` at speed 1.

Pacing keeps an absolute schedule: simulated instant ``s`` is due at wall time
``wall_origin + (s − sim_origin) / speed``. When the computation reaches ``s`` before it is due,
the clock sleeps until then (``time.sleep`` for all but the last :data:`SPIN_NS`, then a spin on
``time.perf_counter_ns`` to land within microseconds). When it reaches ``s`` after it was due,
that step is an **overrun**: it is counted, its lateness recorded, and the clock does not wait —
nothing is hidden and the schedule is not shifted, so the following steps catch up if they can.
Lateness (``wall time reached − wall time due``, ≥ 0 for every paced step: a sleep lands slightly
late, an overrun is late by its excess) is kept for every step and summarised as p50/p99/max.

The wall clock is injected (:class:`WallClock`), so tests drive the pacing logic with a fake
clock and never measure real time. In ``max`` mode the clock still measures the achieved speed
(simulated seconds per wall-clock second).
"""

from __future__ import annotations

import time
from array import array
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from orbemu.constants import NS_PER_S
from orbemu.errors import UsageError

__all__ = [
    "SPIN_NS",
    "ClockMode",
    "ClockStats",
    "SimClock",
    "SystemWallClock",
    "WallClock",
]

ClockMode = Literal["max", "paced", "realtime"]

#: The last part of a wait spent spinning rather than sleeping, ns (``time.sleep`` overshoots
#: by up to a millisecond or more on a loaded machine; a spin does not).
SPIN_NS = 1_500_000


class WallClock(Protocol):
    """A monotonic wall clock the simulation clock reads and waits on."""

    def now_ns(self) -> int:
        """Monotonic wall time, ns (arbitrary origin)."""

    def sleep_until_ns(self, deadline_ns: int) -> None:
        """Return at (or as soon as possible after) wall time ``deadline_ns``."""


class SystemWallClock:
    """The machine's clock: ``time.perf_counter_ns``; sleeps then spins the last
    ``spin_ns`` nanoseconds."""

    def __init__(self, spin_ns: int = SPIN_NS) -> None:
        self.spin_ns = int(spin_ns)

    def now_ns(self) -> int:
        return time.perf_counter_ns()

    def sleep_until_ns(self, deadline_ns: int) -> None:
        while True:
            remaining = deadline_ns - time.perf_counter_ns()
            if remaining <= 0:
                return
            if remaining > self.spin_ns:
                time.sleep((remaining - self.spin_ns) / NS_PER_S)


@dataclass(frozen=True)
class ClockStats:
    """What the clock saw over a run (or the part since the last resume).

    steps: paced instants (calls of :meth:`SimClock.pace`).
    sim_elapsed_ns, wall_elapsed_ns: simulated and wall-clock time covered.
    speed: achieved speed, simulated seconds per wall-clock second (``inf`` if no wall time).
    target_speed: the requested speed (``inf`` in ``max`` mode).
    overruns: paced steps whose computation finished after they were due.
    lateness_p50_ms, lateness_p99_ms, lateness_max_ms: lateness of paced steps (NaN in ``max``
        mode or before any step).
    """

    mode: str
    steps: int
    sim_elapsed_ns: int
    wall_elapsed_ns: int
    speed: float
    target_speed: float
    overruns: int
    lateness_p50_ms: float
    lateness_p99_ms: float
    lateness_max_ms: float


class SimClock:
    """Paces simulated time against a wall clock (see the module notes).

    Parameters
    ----------
    mode: ``"max"``, ``"paced"`` or ``"realtime"``.
    speed: simulated seconds per wall second for ``paced`` (> 0); ignored otherwise.
    wall: the wall clock (default :class:`SystemWallClock`).
    """

    def __init__(self, mode: ClockMode = "max", speed: float | None = None, *,
                 wall: WallClock | None = None) -> None:
        if mode not in ("max", "paced", "realtime"):
            raise UsageError(f"clock mode must be 'max', 'paced' or 'realtime', got {mode!r}")
        if mode == "paced":
            if speed is None or not speed > 0 or not np.isfinite(speed):
                raise UsageError(f"paced mode needs a finite speed > 0, got {speed!r}")
        self.mode: ClockMode = mode
        self.speed = float(speed) if mode == "paced" and speed is not None else (
            1.0 if mode == "realtime" else float("inf"))
        self.wall: WallClock = wall if wall is not None else SystemWallClock()
        self._sim_origin: int | None = None
        self._wall_origin = 0
        self._last_sim = 0
        self._last_wall = 0
        self._steps = 0
        self._overruns = 0
        self._lateness = array("q")

    @property
    def paced(self) -> bool:
        return self.mode != "max"

    @property
    def overruns(self) -> int:
        """Paced steps that finished after they were due, so far."""
        return self._overruns

    def start(self, sim_ns: int) -> None:
        """Anchor the schedule: simulated instant ``sim_ns`` is now (call at the start of a run
        and again after a resume)."""
        self._sim_origin = int(sim_ns)
        self._wall_origin = self.wall.now_ns()
        self._last_sim = int(sim_ns)
        self._last_wall = self._wall_origin

    def due_ns(self, sim_ns: int) -> int:
        """Wall time at which simulated instant ``sim_ns`` is due (paced modes)."""
        if self._sim_origin is None:
            raise UsageError("call SimClock.start() first")
        return self._wall_origin + round((int(sim_ns) - self._sim_origin) / self.speed)

    def pace(self, sim_ns: int) -> int:
        """The engine has computed everything up to ``sim_ns``: wait until it is due (paced
        modes) and return the lateness in ns (0 in ``max`` mode)."""
        if self._sim_origin is None:
            raise UsageError("call SimClock.start() first")
        sim_ns = int(sim_ns)
        late = 0
        if self.paced:
            due = self.due_ns(sim_ns)
            reached = self.wall.now_ns()
            if reached > due:
                self._overruns += 1
                late = reached - due
                self._last_wall = reached
            else:
                self.wall.sleep_until_ns(due)
                woke = self.wall.now_ns()
                late = max(woke - due, 0)
                self._last_wall = woke
            self._lateness.append(late)
        else:
            self._last_wall = self.wall.now_ns()
        self._last_sim = sim_ns
        self._steps += 1
        return late

    def set_rate(self, mode: ClockMode, speed: float | None = None) -> None:
        """Change the pacing during a run (a live console's speed control): the schedule is
        re-anchored at the last paced instant, so the new rate applies from now on and the
        steps computed before are not judged against it. Counters and lateness are kept;
        :meth:`speed_now` then measures since the change."""
        probe = SimClock(mode, speed, wall=self.wall)  # validates mode and speed
        self.mode, self.speed = probe.mode, probe.speed
        if self._sim_origin is not None:
            self._sim_origin = self._last_sim
            self._wall_origin = self.wall.now_ns()
            self._last_wall = self._wall_origin

    def exclude(self, wall_ns: int) -> None:
        """Leave ``wall_ns`` of wall time out of the schedule (a pause): the instants after it
        are due that much later, and the achieved speed does not count it."""
        if self._sim_origin is not None and wall_ns > 0:
            self._wall_origin += int(wall_ns)
            self._last_wall += int(wall_ns)

    def speed_now(self) -> float:
        """Achieved speed so far (simulated s per wall s; ``inf`` before any wall time)."""
        if self._sim_origin is None:
            return float("nan")
        wall = self._last_wall - self._wall_origin
        sim = self._last_sim - self._sim_origin
        return sim / wall if wall > 0 else float("inf")

    def stats(self) -> ClockStats:
        """The figures so far (see :class:`ClockStats`)."""
        origin = self._sim_origin if self._sim_origin is not None else self._last_sim
        late = np.frombuffer(self._lateness, dtype=np.int64) if len(self._lateness) else None
        def pct(q: float) -> float:
            return float(np.percentile(late, q)) / 1e6 if late is not None else float("nan")
        return ClockStats(
            mode=self.mode if self.mode != "paced" else f"{self.speed:g}x",
            steps=self._steps, sim_elapsed_ns=self._last_sim - origin,
            wall_elapsed_ns=self._last_wall - self._wall_origin, speed=self.speed_now(),
            target_speed=self.speed, overruns=self._overruns,
            lateness_p50_ms=pct(50), lateness_p99_ms=pct(99),
            lateness_max_ms=float(late.max()) / 1e6 if late is not None else float("nan"))
