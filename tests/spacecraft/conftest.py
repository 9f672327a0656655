"""Fixtures for the spacecraft tests: a real constellation over a few hours, real cities."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from orbemu import Time, load_elements, load_ground_nodes, propagate
from orbemu.constants import EARTH_RADIUS_M
from orbemu.orbits.sun import illuminated_fraction, sun_direction
from orbemu.spacecraft import Environment, Targets

#: Iridium NEXT (bundled CelesTrak snapshot, epochs 2026-09-06/07): 3 hours at 30 s.
IRIDIUM_START = "2026-09-07T00:00:00Z"
IRIDIUM_STEP_S = 30.0


@dataclass(frozen=True)
class Track:
    """ITRF states ``(n, t, 3)``, the Sun per instant and the illuminated fraction."""

    times: Time
    r: np.ndarray
    v: np.ndarray
    sun: np.ndarray
    sun_distance_m: np.ndarray
    lit: np.ndarray

    def env(self, k: int, **kwargs: object) -> Environment:
        return Environment.compute(self.times[k], self.r[:, k], self.v[:, k],
                                   sun_itrf=self.sun[k], sun_distance_m=float(
                                       self.sun_distance_m[k]),
                                   illuminated=self.lit[:, k], **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def iridium_track() -> Track:
    sats = load_elements("iridium-next")
    times = Time.range(IRIDIUM_START, "3h", "30s")
    eph = propagate(sats, times, frame="ITRF")
    sun, dist = sun_direction(times, frame="ITRF")
    lit = illuminated_fraction(eph.position_m, sun * dist[:, None])
    return Track(times, eph.position_m, eph.velocity_m_s, sun, dist, lit)


@pytest.fixture(scope="session")
def cities() -> Targets:
    """The 1,000 largest cities (Hypatia's list, bundled), priority by rank (top 100 first)."""
    nodes = load_ground_nodes("cities-top1000")
    rank = np.arange(len(nodes))
    return Targets.from_ground_nodes(nodes, priority=np.where(rank < 100, 3.0, 1.0),
                                     revisit_s=3600.0)


def circular_state(alt_m: float = 500e3, n: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Satellites over (lat 0, lon 0) on an equatorial orbit: r along x, v along y (east)."""
    r = np.tile([EARTH_RADIUS_M + alt_m, 0.0, 0.0], (n, 1))
    v = np.tile([0.0, 7600.0, 0.0], (n, 1))
    return r, v
