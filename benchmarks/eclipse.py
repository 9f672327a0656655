"""Eclipse search: shadow entry/exit of every Starlink satellite (10,395) over 24 hours.

    python -m benchmarks.eclipse

Baseline, measured in the same run: Skyfield's ``is_sunlit`` (JPL DE421 from ``skyfield-data``)
searched with ``skyfield.searchlib.find_discrete`` at a 5-minute step, looped over 20 satellites
spread through the catalogue and scaled linearly to the whole set. Same shadow model ("point":
line of sight to the Sun's centre blocked by a spherical Earth); transitions are compared too.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from orbemu import load_elements
from orbemu.orbits.sun import find_eclipses
from orbemu.time import Time

START = Time.parse("2026-05-30T00:00:00Z")
DURATION_NS = 86_400 * 10**9
BASELINE_SATS = 20


def _skyfield(sats, index):
    import skyfield_data
    from skyfield.api import EarthSatellite, load
    from skyfield.jpllib import SpiceKernel
    from skyfield.searchlib import find_discrete

    ts = load.timescale(builtin=True)
    whole, frac = START.jd_utc()
    leap = float(START.tai_minus_utc_s()) / 86_400.0
    t0, t1 = ts.tai_jd(whole, frac + leap), ts.tai_jd(whole + 1.0, frac + leap)
    kernel = SpiceKernel(str(Path(skyfield_data.__file__).parent / "data" / "de421.bsp"))
    try:
        start = time.perf_counter()
        counts = []
        for i in index:
            sat = EarthSatellite.from_satrec(sats.satrecs[i], ts)

            def sunlit(t, sat=sat):
                return sat.at(t).is_sunlit(kernel)

            sunlit.step_days = 300.0 / 86_400.0
            t, _ = find_discrete(t0, t1, sunlit)
            counts.append(len(t))
        return time.perf_counter() - start, counts
    finally:
        kernel.close()


def main() -> None:
    sats = load_elements("starlink")  # bundled CelesTrak snapshot of 2026-05-30
    find_eclipses(sats.select(slice(0, 20)), START, 3600 * 10**9)  # compile/warm up
    t = time.perf_counter()
    eclipses = find_eclipses(sats, START, DURATION_NS, model="point")
    ours_s = time.perf_counter() - t
    index = np.linspace(0, len(sats) - 1, BASELINE_SATS).astype(int)
    sky_s, sky_counts = _skyfield(sats, index)
    sky_total_s = sky_s / BASELINE_SATS * len(sats)
    end_ns = int(START) + DURATION_NS
    mine = [eclipses.sat_index == i for i in index]
    ours_counts = [int(np.count_nonzero(k & (eclipses.entry.ns > int(START))))
                   + int(np.count_nonzero(k & (eclipses.exit.ns < end_ns))) for k in mine]
    print(f"satellites: {len(sats)}, 24 h, point-Sun shadow model")
    print(f"orbemu find_eclipses: {ours_s:.2f} s, {len(eclipses)} eclipses "
          f"({int(eclipses.partial.sum())} partial)")
    print(f"Skyfield is_sunlit + find_discrete: {sky_s:.2f} s for {BASELINE_SATS} satellites = "
          f"{sky_s / BASELINE_SATS * 1e3:.0f} ms/satellite -> {sky_total_s:.0f} s scaled")
    print(f"speed-up: {sky_total_s / ours_s:.0f}x")
    print(f"transitions of the {BASELINE_SATS} baseline satellites: orbemu {sum(ours_counts)}, "
          f"Skyfield {sum(sky_counts)}")


if __name__ == "__main__":
    main()
