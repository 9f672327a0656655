"""Independent references for the orbits tests: Skyfield set up offline, and real element sets.

Skyfield (https://rhodesmill.org/skyfield/) is the reference for frames, pass times and eclipses.
It is set up here exactly once per test session and without any download:

- timescale: Skyfield's builtin ΔT/leap-second tables, plus IERS polar motion from the
  ``finals2000A.all`` shipped in the ``skyfield-data`` wheel (the same IERS data our bundled
  ``eop.npz`` is built from, see ``tools/build_eop.py``);
- ephemeris: JPL DE421 from the same wheel (Sun and Earth for eclipses).

TLE files are read with python-sgp4's ``Satrec.twoline2rv`` (not with orbemu's own reader, so the
reference path shares no code with the code under test beyond the SGP4 kernel itself).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np
from sgp4.api import Satrec

from orbemu.orbits.elements import ElementSet
from orbemu.time import Time

STARLINK_TLE = "tle/celestrak_starlink_2026-05-30.tle"
STATIONS_TLE = "tle/celestrak_stations_2026-05-30.tle"
GEO_TLE = "tle/celestrak_geo_2026-05-30.tle"


def skyfield_data_dir() -> Path:
    # Not ``skyfield_data.get_skyfield_data_path()``: it warns once the bundled finals file is
    # past its nominal expiry, and warnings are errors here. The data themselves are what we want.
    import skyfield_data

    return Path(skyfield_data.__file__).parent / "data"


@functools.cache
def skyfield_timescale() -> Any:
    """Skyfield's builtin timescale with IERS polar motion installed (offline)."""
    from skyfield.api import load
    from skyfield.data import iers

    ts = load.timescale(builtin=True)
    with open(skyfield_data_dir() / "finals2000A.all", "rb") as f:
        finals = iers.parse_x_y_dut1_from_finals_all(f)
    iers.install_polar_motion_table(ts, finals)
    return ts


def skyfield_times(ts: Any, times: Time) -> Any:
    """The same UTC instants as a Skyfield ``Time`` (exact to the nanosecond's float rounding)."""
    whole, frac = times.jd_utc()
    # Skyfield's utc=(...) path would go through calendar fields; the UTC Julian date pair is
    # exact here because our instants are whole nanoseconds and no leap second is crossed.
    tai_minus_utc = times.tai_minus_utc_s()
    return ts.tai_jd(whole, frac + tai_minus_utc / 86_400.0)


def skyfield_to_ns(t: Any) -> np.ndarray:
    """A Skyfield ``Time`` array → int64 ns UTC (the inverse of :func:`skyfield_times`)."""
    tai_ns = np.round(((np.asarray(t.whole) - 2_440_587.5) + np.asarray(t.tai_fraction))
                      * 86_400e9).astype(np.int64)
    leap = Time(tai_ns).tai_minus_utc_s()  # constant across a window without a leap second
    return tai_ns - np.round(leap * 1e9).astype(np.int64)


@functools.cache
def read_tle(path: Path, *, every: int = 1, limit: int | None = None) -> ElementSet:
    """Every ``every``-th satellite of a 3-line TLE file as an ElementSet (sgp4's parser).

    Cached: tests share one parsed set per file and stride."""
    lines = [ln.rstrip() for ln in path.read_text().splitlines() if ln.strip()]
    names, sats = [], []
    for i in range(0, len(lines) - 2, 3):
        if (i // 3) % every:
            continue
        names.append(lines[i].removeprefix("0 ").strip())
        sats.append(Satrec.twoline2rv(lines[i + 1], lines[i + 2]))
        if limit is not None and len(sats) >= limit:
            break
    return ElementSet.from_satrecs(sats, names=names, source=path.name)


def angle_between_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle between vectors along the last axis, degrees (stable for tiny angles)."""
    cross = np.linalg.norm(np.cross(a, b), axis=-1)
    dot = np.sum(a * b, axis=-1)
    return np.degrees(np.arctan2(cross, dot))
