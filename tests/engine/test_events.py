"""Scheduled events at exact times; detector sign changes and their refinement."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from orbemu.engine.events import (
    Detector,
    Schedule,
    find_sign_changes,
    refine_crossings,
)

S = 10**9


def test_schedule_orders_by_time_then_kind_then_insertion():
    sch = Schedule()
    sch.push(5 * S, "command", "c1")
    sch.push(5 * S, "fault_start", "f1")
    sch.push(3 * S, "command", "c0")
    sch.push(5 * S, "fault_end", "e1")
    sch.push(5 * S, "command", "c2")
    sch.push(5 * S + 1, "fault_start", "late")
    assert sch.next_time() == 3 * S
    assert [e.data for e in sch.pop_due(3 * S)] == ["c0"]
    assert [e.data for e in sch.pop_due(5 * S)] == ["e1", "f1", "c1", "c2"]
    assert sch.next_time() == 5 * S + 1
    state = sch.state()
    again = Schedule()
    again.restore(state)
    again.push(5 * S + 1, "fault_end", "x")
    assert [e.data for e in again.pop_due(10 * S)] == ["x", "late"]


def test_sign_changes_skip_nan():
    g0 = np.array([1.0, -1.0, 0.0, 2.0, np.nan, -3.0])
    g1 = np.array([-1.0, 0.0, -0.5, 3.0, -1.0, -2.0])
    items, rising = find_sign_changes(g0, g1)
    assert items.tolist() == [0, 1, 2]
    assert rising.tolist() == [False, True, False]


def test_refinement_is_exact_for_linear_functions():
    t0, t1 = 100 * S, 110 * S
    roots = np.array([101.25, 109.999, 100.0001]) * S
    def g(items, s):
        t = t0 + s * (t1 - t0)
        return (t - roots[items]) / S
    out = refine_crossings(g, np.array([0, 1, 2]), t0, t1, tolerance_s=1.0)
    assert np.abs(out - roots).max() <= 1000       # within a microsecond


def test_refinement_of_a_curved_function_meets_the_tolerance():
    t0, t1 = 0, 60 * S
    def g(items, s):
        return np.cos(3.0 * s) - 0.2            # root at s = acos(0.2) / 3
    out = refine_crossings(g, np.array([0]), t0, t1, tolerance_s=1e-4)
    expected = np.arccos(0.2) / 3.0 * 60 * S
    assert abs(int(out[0]) - expected) < 1e-4 * S


@dataclass
class _Frame:
    time_ns: int
    x: np.ndarray


class _Level(Detector):
    """g = x − 1 with x linear between frames."""

    name = "level"
    rising_kind = "up"
    falling_kind = "down"

    def values(self, frame):
        return frame.x - 1.0

    def values_at(self, items, f0, f1, s):
        return f0.x[items] + s * (f1.x[items] - f0.x[items]) - 1.0


def test_detector_steps_reseeds_and_calls_its_handler():
    seen = []
    det = _Level(tolerance_s=1e-3, handler=seen.append)
    f0 = _Frame(0, np.array([0.0, 2.0, 5.0]))
    f1 = _Frame(10 * S, np.array([2.0, 0.0, 6.0]))
    det.start(f0)
    c = det.step(f0, f1)
    assert c.item.tolist() == [0, 1] and c.rising.tolist() == [True, False]
    assert c.time_ns.tolist() == [5 * S, 5 * S]
    f2 = _Frame(10 * S, np.array([2.0, 0.0, 0.5]))   # a jump at 10 s (a fault)
    c2 = det.reseed(f2)
    assert c2.item.tolist() == [2] and c2.time_ns.tolist() == [10 * S]
    assert len(seen) == 2
    restored = _Level()
    restored.restore(det.state())
    assert np.array_equal(restored.last, det.last)


def test_bad_tolerance():
    with pytest.raises(Exception, match="tolerance"):
        _Level(tolerance_s=0.0)
