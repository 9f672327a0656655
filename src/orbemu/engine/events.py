"""Scheduled events at exact times, and first-class event detectors.

Two mechanisms put events in a run:

**Scheduled events** (:class:`Schedule`): things that happen at a known instant — a scripted or
random fault starting or ending, a command sent. They sit in a heap keyed by
``(time_ns, order, seq)``; the engine's loop advances to the *earlier* of the next step boundary
and the next scheduled event, so an event at 01:00:03.5 is applied at exactly that instant (the
step is split there), never rounded to a step. Events at the same instant are applied by
``order`` (:data:`ORDER`: fault ends, then fault starts, then commands) and then in the order
they were scheduled (``seq``), so a run is reproducible.

**Detectors** (:class:`Detector`): things that happen when a quantity crosses zero — eclipse
entry, a battery running low, a satellite rising over a station. A detector is, in the manner of
Orekit's ``EventDetector``, a *switching function* ``g`` over a set of items (satellites,
satellite–station pairs, ISLs), positive on one side of the event and negative on the other, a
*tolerance* in time, and a *handler* that turns crossings into records (and may act on the
engine). At the end of every (sub-)step ``[t0, t1]`` the engine gives each detector the frames
at both ends; the detector evaluates ``g(t1)`` for all its items at once, finds the sign changes
against ``g(t0)`` vectorized, and refines only those items' crossing times by bisection
(:func:`refine_crossings`, using :func:`orbemu.orbits.events.bisect_roots`) on ``g`` evaluated
*inside* the step from interpolated state: cubic Hermite positions between the two frames'
positions and velocities (≪ 1 mm at 10 s steps), linearly interpolated Sun direction, and linear
battery/storage levels (exact: powers and rates are held over a step). Refinement stops when the
bracket or the last correction is below the tolerance; a linear ``g`` gets its exact root.

Conventions: ``g ≥ 0`` counts as the positive side; NaN (unknown state: failed propagation, a
satellite not modelled) never produces a crossing. A crossing is *rising* when ``g`` goes from
negative to non-negative. Two crossings inside one step cancel (a pass shorter than a step is
not seen): the step bounds the shortest event a detector resolves. When the engine changes state
discontinuously (a fault degrading a battery), it calls :meth:`Detector.reseed` at that instant:
crossings it causes are reported at exactly that time.

Detectors keep their last values; :meth:`Detector.state`/:meth:`Detector.restore` carry them
through checkpoints. The concrete detectors (eclipse, contact visibility, battery low, storage
full, ISL link up/down, handover) are in :mod:`orbemu.engine.detectors`.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from orbemu.constants import NS_PER_S
from orbemu.errors import UsageError
from orbemu.orbits.events import bisect_roots

__all__ = [
    "ORDER",
    "Crossings",
    "Detector",
    "Schedule",
    "Scheduled",
    "find_sign_changes",
    "refine_crossings",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Regula-falsi iterations before the slow items are bisected.
MAX_REFINE_ITERATIONS = 12

#: Order of scheduled events at one instant (lower first).
ORDER = {"fault_end": 0, "fault_start": 1, "command": 2}


@dataclass(frozen=True, order=True)
class Scheduled:
    """One scheduled event: ``time_ns`` (UTC ns), its ``order`` among events of that instant,
    a sequence number, the ``kind`` and its ``data``."""

    time_ns: int
    order: int
    seq: int
    kind: str = field(compare=False)
    data: Any = field(compare=False, default=None)


class Schedule:
    """A heap of :class:`Scheduled` events (see the module notes)."""

    def __init__(self) -> None:
        self._heap: list[Scheduled] = []
        self._seq = 0

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, time_ns: int, kind: str, data: Any = None, *, order: int | None = None
             ) -> Scheduled:
        """Schedule ``kind`` at ``time_ns``; ``order`` defaults to :data:`ORDER` of the kind."""
        item = Scheduled(int(time_ns), ORDER.get(kind, 9) if order is None else int(order),
                         self._seq, kind, data)
        self._seq += 1
        heapq.heappush(self._heap, item)
        return item

    def next_time(self) -> int | None:
        """Instant of the earliest pending event, or None."""
        return self._heap[0].time_ns if self._heap else None

    def pop_due(self, time_ns: int) -> list[Scheduled]:
        """Remove and return every event at or before ``time_ns``, in order."""
        out = []
        while self._heap and self._heap[0].time_ns <= time_ns:
            out.append(heapq.heappop(self._heap))
        return out

    def state(self) -> tuple[list[Scheduled], int]:
        """What a checkpoint needs (picklable)."""
        return (list(self._heap), self._seq)

    def restore(self, state: tuple[list[Scheduled], int]) -> None:
        heap, seq = state
        self._heap = list(heap)
        heapq.heapify(self._heap)
        self._seq = int(seq)


@dataclass(frozen=True, eq=False)
class Crossings:
    """Zero crossings found by one detector: ``item`` (k,) rows of its items, ``time_ns`` (k,)
    refined instants, ``rising`` (k,) True where ``g`` went from negative to non-negative."""

    detector: str
    item: IntArray
    time_ns: IntArray
    rising: BoolArray

    def __len__(self) -> int:
        return int(self.item.size)

    @classmethod
    def empty(cls, detector: str) -> Crossings:
        return cls(detector, np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, bool))


def find_sign_changes(g0: FloatArray, g1: FloatArray) -> tuple[IntArray, BoolArray]:
    """Items whose switching function changed side between two instants, and whether it rose.

    ``g ≥ 0`` is the positive side; an item with NaN at either end is skipped.
    """
    g0 = np.asarray(g0, np.float64)
    g1 = np.asarray(g1, np.float64)
    with np.errstate(invalid="ignore"):
        p0 = g0 >= 0
        p1 = g1 >= 0
    changed = (p0 != p1) & np.isfinite(g0) & np.isfinite(g1)
    items = np.flatnonzero(changed).astype(np.int64)
    return items, ~p0[items]


def refine_crossings(fn: Callable[[IntArray, FloatArray], FloatArray], items: IntArray,
                     t0_ns: int, t1_ns: int, tolerance_s: float, *,
                     g0: FloatArray | None = None, g1: FloatArray | None = None) -> IntArray:
    """Crossing instants of ``items`` inside ``[t0, t1]``, to ``tolerance_s``.

    ``fn(items, s)`` evaluates the switching function of ``items`` at fractions ``s`` ∈ [0, 1]
    of the interval (one value per item); ``g0``/``g1``, when known, are its values at the two
    ends (saving two evaluations). The root of each item is bracketed by the ends (their signs
    differ) and refined by regula falsi with the Illinois modification (the retained end's
    value is halved when the same end is kept twice), which converges superlinearly on smooth
    functions — typically 3–6 evaluations instead of bisection's ~14 for a 10 s step and 1 ms —
    and never leaves the bracket; items are dropped from the evaluation as they converge (the
    bracket or the last correction below the tolerance), and any still open after
    :data:`MAX_REFINE_ITERATIONS` are bisected to the tolerance. A linear ``g`` gets its exact
    root at the first evaluation. Returns int ns, within ``[t0, t1]``.
    """
    items = np.asarray(items, np.int64)
    k = items.size
    if k == 0:
        return np.zeros(0, np.int64)
    h_s = (t1_ns - t0_ns) / NS_PER_S
    if h_s <= 0:
        return np.full(k, t0_ns, np.int64)
    tol = tolerance_s / h_s  # in fractions of the interval
    a = np.zeros(k)
    b = np.ones(k)
    fa = np.asarray(fn(items, a) if g0 is None else g0, np.float64).copy()
    fb = np.asarray(fn(items, b) if g1 is None else g1, np.float64).copy()
    pos_a = fa >= 0
    x = np.where(pos_a, 0.0, 1.0)  # current estimate
    side = np.zeros(k, np.int8)  # which end was kept last (-1 a, +1 b)
    open_ = np.ones(k, bool)
    for _ in range(MAX_REFINE_ITERATIONS):
        idx = np.flatnonzero(open_)
        if idx.size == 0:
            break
        with np.errstate(invalid="ignore", divide="ignore"):
            c = (a[idx] * fb[idx] - b[idx] * fa[idx]) / (fb[idx] - fa[idx])
        bad = ~np.isfinite(c) | (c <= a[idx]) | (c >= b[idx])
        c = np.where(bad, 0.5 * (a[idx] + b[idx]), c)
        fc = np.asarray(fn(items[idx], c), np.float64)
        fc = np.where(np.isfinite(fc), fc, -1.0)  # NaN counts as negative (as bisect_roots)
        same = (fc >= 0) == pos_a[idx]
        step = np.abs(c - x[idx])
        x[idx] = c
        # keep [c, b] where fc has a's sign, else [a, c]; Illinois: halve the kept end's value
        ia, ib = idx[same], idx[~same]
        a[ia], fa[ia] = c[same], fc[same]
        fb[ia] = np.where(side[ia] == 1, 0.5 * fb[ia], fb[ia])
        side[ia] = 1
        b[ib], fb[ib] = c[~same], fc[~same]
        fa[ib] = np.where(side[ib] == -1, 0.5 * fa[ib], fa[ib])
        side[ib] = -1
        done = ((b[idx] - a[idx]) <= tol) | (step <= 0.5 * tol) | (fc == 0.0)
        open_[idx[done]] = False
    rest = np.flatnonzero(open_)
    if rest.size:  # slow convergence (kinks): bisection within the current brackets
        lo, hi = a[rest] * h_s, b[rest] * h_s
        def in_seconds(t_s: FloatArray) -> FloatArray:
            return np.asarray(fn(items[rest], np.clip(t_s / h_s, 0.0, 1.0)), np.float64)
        x[rest] = bisect_roots(in_seconds, lo, hi, tolerance_s=tolerance_s) / h_s
    t = t0_ns + np.rint(np.clip(x, 0.0, 1.0) * (t1_ns - t0_ns)).astype(np.int64)
    return np.clip(t, t0_ns, t1_ns)


class Detector:
    """A switching function over a set of items, a tolerance, and a handler (module notes).

    Subclasses give :meth:`values` (``g`` of every item from one frame) and :meth:`values_at`
    (``g`` of some items at fractions of an interval between two frames); the base class keeps
    the last values, finds the sign changes and refines them. ``rising_kind``/``falling_kind``
    name the events of each direction (None: that direction is not reported). ``handler``, if
    given, is called with every non-empty :class:`Crossings` (the engine's hook).
    """

    name: str = "detector"
    rising_kind: str | None = None
    falling_kind: str | None = None

    def __init__(self, *, tolerance_s: float = 1e-3,
                 handler: Callable[[Crossings], None] | None = None) -> None:
        if not tolerance_s > 0:
            raise UsageError(f"detector tolerance must be > 0 s, got {tolerance_s}")
        self.tolerance_s = float(tolerance_s)
        self.handler = handler
        self.last: FloatArray | None = None

    # ---- to implement --------------------------------------------------------------------
    def values(self, frame: Any) -> FloatArray:
        """``g`` of every item at ``frame``'s instant."""
        raise NotImplementedError

    def values_at(self, items: IntArray, frame0: Any, frame1: Any, s: FloatArray
                  ) -> FloatArray:
        """``g`` of ``items`` at fractions ``s`` (one per item) of the interval between two
        frames, from interpolated state."""
        raise NotImplementedError

    # ---- driving ---------------------------------------------------------------------------
    def start(self, frame: Any) -> None:
        """Take the values at the first instant (no crossings)."""
        self.last = np.asarray(self.values(frame), np.float64)

    def step(self, frame0: Any, frame1: Any) -> Crossings:
        """Crossings between two frames (the values at ``frame0`` are the stored ones)."""
        g1 = np.asarray(self.values(frame1), np.float64)
        g0 = self.last if self.last is not None else g1
        self.last = g1
        if g0.shape != g1.shape:
            raise UsageError(f"detector {self.name}: item count changed ({g0.shape} → "
                             f"{g1.shape})")
        items, rising = find_sign_changes(g0, g1)
        if items.size == 0:
            return Crossings.empty(self.name)
        t0, t1 = int(frame0.time_ns), int(frame1.time_ns)
        times = refine_crossings(lambda it, s: self.values_at(it, frame0, frame1, s), items,
                                 t0, t1, self.tolerance_s, g0=g0[items], g1=g1[items])
        return self._emit(Crossings(self.name, items, times, rising))

    def reseed(self, frame: Any) -> Crossings:
        """The state changed discontinuously at ``frame``'s instant: crossings it caused are
        reported at that instant."""
        g = np.asarray(self.values(frame), np.float64)
        g0 = self.last if self.last is not None else g
        self.last = g
        items, rising = find_sign_changes(g0, g)
        if items.size == 0:
            return Crossings.empty(self.name)
        times = np.full(items.size, int(frame.time_ns), np.int64)
        return self._emit(Crossings(self.name, items, times, rising))

    def _emit(self, crossings: Crossings) -> Crossings:
        if self.handler is not None and len(crossings):
            self.handler(crossings)
        return crossings

    def state(self) -> Any:
        return None if self.last is None else self.last.copy()

    def restore(self, state: Any) -> None:
        self.last = None if state is None else np.asarray(state, np.float64).copy()
