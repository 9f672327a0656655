"""The event-finding machinery: Hermite interpolation, vectorized bisection and golden section."""

from __future__ import annotations

import numpy as np
import pytest

from orbemu.errors import UsageError
from orbemu.orbits.events import (
    bisect_roots,
    default_coarse_step_ns,
    golden_maximum,
    hermite_position,
    hermite_position_reference,
    make_grid,
)
from orbemu.orbits.propagation import SGP4Propagator
from orbemu.time import Time
from tests.conftest import ONE_SECOND_NS
from tests.orbits.references import GEO_TLE, STARLINK_TLE, read_tle


def test_hermite_kernel_matches_numpy_reference():
    rng = np.random.default_rng(3)
    q = 1000
    args = [rng.normal(size=(q, 3)) * 7e6, rng.normal(size=(q, 3)) * 7e3,
            rng.normal(size=(q, 3)) * 7e6, rng.normal(size=(q, 3)) * 7e3,
            rng.uniform(1, 600, q), rng.uniform(0, 1, q)]
    np.testing.assert_allclose(hermite_position(*args), hermite_position_reference(*args),
                               rtol=0, atol=1e-6)


def test_hermite_reproduces_cubics_exactly():
    """A cubic Hermite interpolant is exact for cubic trajectories (any coefficients)."""
    rng = np.random.default_rng(4)
    c = rng.normal(size=(4, 5, 3)) * np.array([7e6, 7e3, 10.0, 0.1])[:, None, None]
    h = rng.uniform(10, 300, 5)

    def pos(t):
        return c[0] + c[1] * t[:, None] + c[2] * t[:, None] ** 2 + c[3] * t[:, None] ** 3

    def vel(t):
        return c[1] + 2 * c[2] * t[:, None] + 3 * c[3] * t[:, None] ** 2

    s = rng.uniform(0, 1, 5)
    zero = np.zeros(5)
    got = hermite_position(pos(zero), vel(zero), pos(h), vel(h), h, s)
    np.testing.assert_allclose(got, pos(s * h), rtol=0, atol=1e-5)


def test_hermite_interpolation_of_sgp4_at_default_step(shared_data):
    """The accuracy the pass and eclipse searches rely on: ≲ 10 m in LEO at the default step."""
    sats = read_tle(shared_data / STARLINK_TLE, every=100)
    step = default_coarse_step_ns(sats)
    grid = Time.range("2026-05-30T00:00:00Z", "6h", step)
    mids = Time(grid.ns[:-1] + step // 2)
    prop = SGP4Propagator()
    ends = prop.propagate(sats, grid, frame="ITRF")
    truth = prop.propagate(sats, mids, frame="ITRF")
    r, v = ends.position_m, ends.velocity_m_s
    q = r[:, :-1].reshape(-1, 3).shape[0]
    got = hermite_position(r[:, :-1].reshape(-1, 3), v[:, :-1].reshape(-1, 3),
                           r[:, 1:].reshape(-1, 3), v[:, 1:].reshape(-1, 3),
                           np.full(q, step / 1e9), np.full(q, 0.5))
    err = np.linalg.norm(got - truth.position_m.reshape(-1, 3), axis=-1)
    assert np.nanmax(err) < 10.0


def test_default_coarse_step(shared_data):
    starlink = read_tle(shared_data / STARLINK_TLE, every=10)
    geo = read_tle(shared_data / GEO_TLE, every=10)
    assert 100 * ONE_SECOND_NS <= default_coarse_step_ns(starlink) <= 130 * ONE_SECOND_NS
    assert default_coarse_step_ns(geo.select(geo.eccentricity < 0.01)) == 600 * ONE_SECOND_NS
    assert default_coarse_step_ns(starlink.select([])) == 600 * ONE_SECOND_NS


def test_bisect_roots_vectorized():
    lo = np.array([3.0, 6.0, 0.5, 9.0])
    hi = np.array([3.5, 6.5, 2.0, 10.0])
    offset = np.array([0.0, 0.0, 0.5, 0.0])

    def f(t):
        return np.sin(t) - offset

    roots = bisect_roots(f, lo, hi)
    # Bisection to 1 ms, then linear interpolation inside the bracket: far better than 1 ms.
    np.testing.assert_allclose(roots, [np.pi, 2 * np.pi, np.pi / 6, 3 * np.pi], atol=1e-6)
    # A kinked function (|t| − 1) still lands within the tolerance.
    kink = bisect_roots(lambda t: np.abs(t - 0.3) - 0.2, np.array([0.3]), np.array([5.0]),
                        tolerance_s=1e-3)
    assert abs(kink[0] - 0.5) < 1e-3
    assert bisect_roots(f, np.zeros(0), np.zeros(0)).size == 0


def test_golden_maximum_vectorized():
    peak = np.array([1.0, 2.5, -3.0])

    def f(t):
        return -((t - peak) ** 2) + 7.0

    t, v = golden_maximum(f, peak - np.array([1.0, 0.1, 3.0]), peak + np.array([2.0, 5.0, 0.5]),
                          tolerance_s=1e-6)
    np.testing.assert_allclose(t, peak, atol=1e-6)
    t, _ = golden_maximum(f, peak - 1.0, peak + 1.0)  # default tolerance: a millisecond
    np.testing.assert_allclose(t, peak, atol=1e-3)
    np.testing.assert_allclose(v, 7.0, atol=1e-9)
    # Monotonic: the higher end, exactly.
    t, v = golden_maximum(lambda t: t, np.array([0.0, 3.0]), np.array([10.0, 4.0]))
    assert list(t) == [10.0, 4.0] and list(v) == [10.0, 4.0]


def test_grid_includes_window_end():
    grid = make_grid(Time.parse("2026-05-30T00:00:00Z"), 1000 * ONE_SECOND_NS,
                     300 * ONE_SECOND_NS)
    times = grid.times()
    assert grid.n_intervals == 4
    assert list((times.ns - int(grid.start)) // ONE_SECOND_NS) == [0, 300, 600, 900, 1000]
    assert list(grid.interval_of(np.array([0.0, 299.9, 300.0, 999.0, 1000.0, 5000.0]))) == \
        [0, 0, 1, 3, 3, 3]


def test_grid_rejects_bad_windows():
    start = Time.parse("2026-05-30T00:00:00Z")
    with pytest.raises(UsageError):
        make_grid(start, 0, ONE_SECOND_NS)
    with pytest.raises(UsageError):
        make_grid(start, ONE_SECOND_NS, 0)
    with pytest.raises(UsageError):
        make_grid(Time.range(start, "1m", "1s"), ONE_SECOND_NS, ONE_SECOND_NS)
