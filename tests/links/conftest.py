"""Fixtures for the links tests: real Starlink positions, Hypatia's cities, designed shells."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from sgp4.api import WGS72, Satrec

from orbemu import ElementSet, GroundNodes, Time, propagate
from orbemu.constants import WGS72_A_M, WGS72_MU_M3_S2
from tests.conftest import SHARED_DATA

STARLINK_TLE = SHARED_DATA / "tle" / "celestrak_starlink_2026-05-30.tle"
CITIES = SHARED_DATA / "ground" / "hypatia_cities_top1000.basic.txt"
#: An instant inside the Starlink snapshot's epoch span.
AT = "2026-05-30T12:00:00Z"
#: sgp4init counts epochs in days from 1949-12-31 00:00 UT.
_SGP4_EPOCH0_JD = 2433281.5


def read_tle(path: Path) -> ElementSet:
    """Minimal three-line TLE reading (the io package owns the real reader)."""
    lines = [ln for ln in path.read_text().splitlines() if ln.strip()]
    sats, names = [], []
    for i in range(0, len(lines) - 2, 3):
        names.append(lines[i].strip())
        sats.append(Satrec.twoline2rv(lines[i + 1], lines[i + 2]))
    return ElementSet.from_satrecs(sats, names=names, source=path.name)


def read_cities(path: Path, min_elevation_deg: float = 25.0) -> GroundNodes:
    """Hypatia's ``id,name,lat,lon,alt`` city list."""
    rows = [ln.split(",") for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    return GroundNodes.from_arrays([r[1] for r in rows], [float(r[2]) for r in rows],
                                   [float(r[3]) for r in rows], [float(r[4]) for r in rows],
                                   min_elevation_deg=min_elevation_deg, roles="city",
                                   source=path.name)


@pytest.fixture(scope="session")
def starlink() -> ElementSet:
    if not STARLINK_TLE.is_file():
        pytest.skip(f"shared data {STARLINK_TLE} not present")
    return read_tle(STARLINK_TLE)


@pytest.fixture(scope="session")
def cities() -> GroundNodes:
    if not CITIES.is_file():
        pytest.skip(f"shared data {CITIES} not present")
    return read_cities(CITIES)


@pytest.fixture(scope="session")
def starlink_itrf(starlink: ElementSet) -> tuple[np.ndarray, np.ndarray]:
    """(n, 3) ITRF positions and velocities of Starlink at ``AT``."""
    eph = propagate(starlink, Time.parse(AT), frame="ITRF")
    return eph.position_m[:, 0].copy(), eph.velocity_m_s[:, 0].copy()


def walker_shell(
    planes: int,
    sats_per_plane: int,
    phasing: int,
    *,
    inclination_deg: float,
    alt_m: float,
    at: Time,
    raan_span_deg: float = 360.0,
    raan0_deg: float = 0.0,
    epoch_spread_days: float = 2.0,
    seed: int = 0,
    first_satnum: int = 90000,
) -> ElementSet:
    """A Walker shell i:T/P/F built with ``Satrec.sgp4init``, plane-major order.

    Elements are given at epochs scattered over ``epoch_spread_days`` before ``at`` and carried
    back from the designed pattern at ``at`` with SGP4's own secular rates, so at ``at`` the
    nodes are exactly ``raan0 + p·span/P`` and the arguments of latitude
    ``2π·s/S + 2π·F·p/(P·S)`` (up to SGP4's short-period terms).
    """
    rng = np.random.default_rng(seed)
    a = WGS72_A_M + alt_m
    n_rad_min = math.sqrt(WGS72_MU_M3_S2 / a**3) * 60.0
    inc = math.radians(inclination_deg)
    whole, frac = at.jd_utc()
    at_days = float(whole) + float(frac) - _SGP4_EPOCH0_JD
    probe = Satrec()
    probe.sgp4init(WGS72, "i", 1, at_days, 0.0, 0.0, 0.0, 1e-4, 0.0, inc, 0.0, n_rad_min, 0.0)
    total = planes * sats_per_plane
    sats, plane, slot = [], [], []
    for p in range(planes):
        for s in range(sats_per_plane):
            dt_min = float(rng.uniform(0.0, epoch_spread_days)) * 1440.0
            node = math.radians(raan0_deg + p * raan_span_deg / planes)
            u = 2 * math.pi * s / sats_per_plane + 2 * math.pi * phasing * p / total
            sat = Satrec()
            sat.sgp4init(WGS72, "i", first_satnum + len(sats), at_days - dt_min / 1440.0, 0.0,
                         0.0, 0.0, 1e-4, (-probe.argpdot * dt_min) % (2 * math.pi), inc,
                         (u - probe.mdot * dt_min) % (2 * math.pi), n_rad_min,
                         (node - probe.nodedot * dt_min) % (2 * math.pi))
            sats.append(sat)
            plane.append(p)
            slot.append(s)
    return ElementSet.from_satrecs(sats, plane=plane, slot=slot, source="walker-test")
