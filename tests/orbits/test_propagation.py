"""Propagation entry points not covered elsewhere: sparse (satellite, instant) pairs."""

from __future__ import annotations

import numpy as np
import pytest

from orbemu.errors import UsageError
from orbemu.orbits.propagation import SGP4Propagator, sgp4_pairs
from orbemu.time import Time
from tests.conftest import ONE_SECOND_NS
from tests.orbits.references import STARLINK_TLE, read_tle

START = Time.parse("2026-05-30T00:00:00Z")


@pytest.mark.parametrize("frame", ["TEME", "ITRF"])
def test_sgp4_pairs_equal_full_propagation(shared_data, frame):
    """Each pair's state is the full product's state at the same (satellite, instant), bit for
    bit, whatever the order of the pairs (shuffled, repeated, or already time-major)."""
    sats = read_tle(shared_data / STARLINK_TLE, every=400)
    times = Time.range(START, 3 * 3600 * ONE_SECOND_NS, 97 * ONE_SECOND_NS)
    eph = SGP4Propagator().propagate(sats, times, frame=frame)
    rng = np.random.default_rng(3)
    sat = rng.integers(0, len(sats), 3000)
    tix = rng.integers(0, times.size, 3000)
    for s, t in ((sat, tix), (np.sort(sat)[np.argsort(np.argsort(tix))], np.sort(tix))):
        r, v, status = sgp4_pairs(sats, s, t, times, frame=frame)
        assert r.shape == v.shape == (s.size, 3) and status.shape == (s.size,)
        np.testing.assert_array_equal(r, eph.position_m[s, t])
        np.testing.assert_array_equal(v, eph.velocity_m_s[s, t])
        np.testing.assert_array_equal(status, eph.status[s, t])
    assert np.unique(tix).size > 100


def test_sgp4_pairs_edge_cases(shared_data):
    sats = read_tle(shared_data / STARLINK_TLE, every=2000)
    times = Time.range(START, 600 * ONE_SECOND_NS, 60 * ONE_SECOND_NS)
    r, v, status = sgp4_pairs(sats, [], [], times)
    assert r.shape == (0, 3) and v.shape == (0, 3) and status.shape == (0,)
    with pytest.raises(UsageError, match="must match"):
        sgp4_pairs(sats, [0, 1], [0], times)
    with pytest.raises(UsageError, match="frame"):
        sgp4_pairs(sats, [0], [0], times, frame="GCRS")  # type: ignore[arg-type]
