"""Fixtures for the io tests: a few real element sets built with python-sgp4 directly."""

from __future__ import annotations

import numpy as np
import pytest
from sgp4.api import Satrec

from orbemu import ElementSet, Ephemeris, Time, propagate

# Real CelesTrak GP elements (celestrak.org, derived from USSPACECOM/18 SDS GP data), copied from
# shared/data/tle (stations 2026-05-30, geo 2026-05-30): a LEO station, a LEO module and a GEO
# relay, so frames, names with spaces/parentheses and deep-space SGP4 are all exercised.
TLES = """\
ISS (ZARYA)
1 25544U 98067A   26150.51748228  .00011776  00000+0  21767-3 0  9998
2 25544  51.6337  27.5746 0007245 114.7080 245.4664 15.49496548569014
CSS (TIANHE)
1 48274U 21035A   26150.44047304  .00029586  00000+0  35725-3 0  9990
2 48274  41.4693  69.9411 0010598 308.7458  51.2433 15.60022969290393
TDRS 3
1 19548U 88091B   26150.42208977 -.00000296  00000+0  00000+0 0  9992
2 19548  12.6156 341.1225 0039238 356.7275  12.9243  1.00281048125214
"""


def elements_from_tle_text(text: str) -> ElementSet:
    lines = [ln.rstrip() for ln in text.strip().splitlines()]
    sats, names = [], []
    for i in range(0, len(lines), 3):
        sats.append(Satrec.twoline2rv(lines[i + 1], lines[i + 2]))
        names.append(lines[i].strip())
    return ElementSet.from_satrecs(sats, names=names, source="test TLEs")


@pytest.fixture(scope="session")
def elements() -> ElementSet:
    return elements_from_tle_text(TLES)


@pytest.fixture(scope="session")
def times() -> Time:
    return Time.range("2026-05-30T12:00:00Z", "95m", "60s")


@pytest.fixture(scope="session")
def ephemeris(elements: ElementSet, times: Time) -> Ephemeris:
    return propagate(elements, times)


def with_failures(eph: Ephemeris, cells: list[tuple[int, int]], code: int = 6) -> Ephemeris:
    """The same ephemeris with some samples marked failed (as SGP4 does: NaN + status code)."""
    status = eph.status.copy()
    position = eph.position_m.copy()
    velocity = eph.velocity_m_s.copy()
    for i, j in cells:
        status[i, j] = code
        position[i, j] = np.nan
        velocity[i, j] = np.nan
    return Ephemeris(times=eph.times, position_m=position, velocity_m_s=velocity,
                     frame=eph.frame, status=status, norad_ids=eph.norad_ids, names=eph.names)
