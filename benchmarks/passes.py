"""Pass finding: every Starlink satellite (10,395) over ground stations for 24 hours.

    python -m benchmarks.passes

Two cases: one station (Zurich, minimum elevation 25°), and ten stations spread over the globe.
Baseline, measured in the same run: Skyfield's ``EarthSatellite.find_events`` looped over a
sample of satellites spread through the catalogue (and over the stations), scaled linearly to
the whole set — Skyfield handles one satellite and one station per call, so its cost is linear
in both. Each timing is the median of three runs; the pass counts of the sample are compared.
"""

from __future__ import annotations

import time

import numpy as np

from orbemu import load_elements
from orbemu.orbits.ground_nodes import GroundNodes
from orbemu.orbits.passes import find_passes
from orbemu.time import Time

START = Time.parse("2026-05-30T00:00:00Z")
DURATION_NS = 86_400 * 10**9
MIN_ELEVATION_DEG = 25.0
STATIONS = GroundNodes.from_arrays(
    ["Zurich", "Svalbard", "Singapore", "Punta Arenas", "Boulder", "Hawaii", "Cape Town",
     "Tokyo", "Perth", "Sao Paulo"],
    [47.38, 78.23, 1.35, -53.16, 40.02, 19.82, -33.92, 35.68, -31.95, -23.55],
    [8.54, 15.41, 103.82, -70.92, -105.27, -155.47, 18.42, 139.69, 115.86, -46.63],
    [408.0, 500.0, 15.0, 30.0, 1655.0, 4200.0, 10.0, 40.0, 20.0, 760.0],
    min_elevation_deg=MIN_ELEVATION_DEG,
)
REPEATS = 3


def _median_time(fn):
    times = []
    out = None
    for _ in range(REPEATS):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times)), out


def _skyfield_passes(sats, index, stations):
    """Median time of looping ``find_events`` over ``index`` × ``stations``, and the risings."""
    from skyfield.api import EarthSatellite, load, wgs84

    ts = load.timescale(builtin=True)
    whole, frac = START.jd_utc()
    leap = float(START.tai_minus_utc_s()) / 86_400.0
    t0 = ts.tai_jd(whole, frac + leap)
    t1 = ts.tai_jd(whole + 1.0, frac + leap)
    topos = [wgs84.latlon(stations.lat_deg[k], stations.lon_deg[k],
                          elevation_m=stations.alt_m[k]) for k in range(len(stations))]
    sat_objs = [EarthSatellite.from_satrec(sats.satrecs[i], ts) for i in index]

    def run():
        rises = 0
        for sat in sat_objs:
            for place in topos:
                _, events = sat.find_events(place, t0, t1, altitude_degrees=MIN_ELEVATION_DEG)
                rises += int(np.count_nonzero(events == 0))
        return rises

    return _median_time(run)


def _case(sats, stations, n_baseline):
    ours_s, passes = _median_time(lambda: find_passes(sats, stations, START, DURATION_NS))
    index = np.linspace(0, len(sats) - 1, n_baseline).astype(int)
    sky_s, sky_rises = _skyfield_passes(sats, index, stations)
    sky_total_s = sky_s / n_baseline * len(sats)
    sample = np.isin(passes.sat_index, index) & (passes.aos.ns > int(START))  # risings
    per_pair_ours = ours_s / (len(sats) * len(stations)) * 1e6
    per_pair_sky = sky_s / (n_baseline * len(stations)) * 1e6
    print(f"{len(stations)} station(s), {len(sats)} satellites, 24 h, min elevation "
          f"{MIN_ELEVATION_DEG:.0f}°")
    print(f"  orbemu find_passes: {ours_s:.2f} s, {len(passes)} passes "
          f"({int(passes.partial.sum())} partial)")
    print(f"  Skyfield find_events: {sky_s:.2f} s for {n_baseline} satellites -> "
          f"{sky_total_s:.1f} s scaled to {len(sats)}")
    print(f"  speed-up: {sky_total_s / ours_s:.0f}x; per satellite-station-day "
          f"{per_pair_ours:.0f} µs vs {per_pair_sky:.0f} µs")
    print(f"  risings of the {n_baseline} sampled satellites: orbemu {int(sample.sum())}, "
          f"Skyfield {sky_rises}")


def main() -> None:
    sats = load_elements("starlink")  # bundled CelesTrak snapshot of 2026-05-30
    find_passes(sats.select(slice(0, 20)), STATIONS, START, 3600 * 10**9)  # compile/warm up
    _case(sats, STATIONS.select([0]), 50)
    _case(sats, STATIONS, 20)


if __name__ == "__main__":
    main()
