"""Links per instant: ground visibility (numba grid vs numpy all pairs) and ISL evaluation.

1,000 ground nodes (Hypatia's top-1000 cities, 25° minimum elevation) × the real Starlink
snapshot (10,395 satellites, CelesTrak 2026-05-30), and a +Grid ISL plan over the inferred
planes. Each kernel is timed against its numpy reference in the same run; read the ratios.

    python -m benchmarks.visibility [--instants 20]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sgp4.api import Satrec

from orbemu import ElementSet, GroundNodes, Time, propagate
from orbemu.links import (
    OPTICAL_ISL,
    ground_links,
    infer_planes,
    isl_lengths,
    plus_grid,
    select_links,
)

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TLE = DATA / "tle" / "celestrak_starlink_2026-05-30.tle"
CITIES = DATA / "ground" / "hypatia_cities_top1000.basic.txt"
START = "2026-05-30T12:00:00Z"


def load() -> tuple[ElementSet, GroundNodes]:
    lines = [ln for ln in TLE.read_text().splitlines() if ln.strip()]
    sats = [Satrec.twoline2rv(lines[i + 1], lines[i + 2]) for i in range(0, len(lines) - 2, 3)]
    names = [lines[i].strip() for i in range(0, len(lines) - 2, 3)]
    rows = [ln.split(",") for ln in CITIES.read_text(encoding="utf-8").splitlines() if ln.strip()]
    nodes = GroundNodes.from_arrays([r[1] for r in rows], [float(r[2]) for r in rows],
                                    [float(r[3]) for r in rows], min_elevation_deg=25.0)
    return ElementSet.from_satrecs(sats, names=names), nodes


def timed(fn: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``repeat`` calls, milliseconds (after one warm-up call)."""
    fn()
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(runs)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instants", type=int, default=20, help="instants timed (1 min apart)")
    args = parser.parse_args(argv)
    if not TLE.is_file() or not CITIES.is_file():
        print(f"skipped: shared data not found under {DATA}")
        return
    elements, nodes = load()
    times = Time.range(Time.parse(START), f"{args.instants - 1}m", "60s")
    eph = propagate(elements, times, frame="ITRF")
    r_all = np.ascontiguousarray(eph.position_m.transpose(1, 0, 2))  # (t, n, 3)
    structured = infer_planes(elements, times[0]).apply(elements)
    plan = plus_grid(structured, at=times[0], max_range_m=OPTICAL_ISL.max_range_m)

    grid_ms, ref_ms, sel_ms, isl_ms, isl_ref_ms, prop_ms, n_links = [], [], [], [], [], [], []
    for k in range(len(times)):
        r = r_all[k]
        grid_ms.append(timed(lambda r=r: ground_links(nodes, r), 5))
        links = ground_links(nodes, r)
        n_links.append(len(links))
        sel_ms.append(timed(lambda links=links: select_links(links, "nearest"), 5))
        isl_ms.append(timed(lambda r=r: isl_lengths(plan, r), 5))
        isl_ref_ms.append(timed(lambda r=r: isl_lengths(plan, r, method="reference"), 3))
        prop_ms.append(timed(lambda k=k: propagate(elements, times[k], frame="ITRF"), 3))
        if k < 3:  # the all-pairs reference is slow: a few instants are enough
            ref_ms.append(timed(lambda r=r: ground_links(nodes, r, method="reference"), 1))

    med = statistics.median
    print(f"{len(elements)} satellites × {len(nodes)} ground nodes (25° min elevation), "
          f"{len(times)} instants; median ms per instant")
    print(f"  visible links per instant        {med(n_links):10.0f}")
    print(f"  ground_links numba grid          {med(grid_ms):10.2f} ms")
    print(f"  ground_links numpy all pairs     {med(ref_ms):10.2f} ms   "
          f"ratio {med(ref_ms) / med(grid_ms):5.1f}x")
    print(f"  select_links nearest, 1 per node {med(sel_ms):10.2f} ms")
    print(f"  ISL +Grid {len(plan)} pairs, numba   {med(isl_ms):10.3f} ms")
    print(f"  ISL +Grid numpy reference        {med(isl_ref_ms):10.3f} ms   "
          f"ratio {med(isl_ref_ms) / med(isl_ms):5.1f}x")
    print(f"  baseline: SGP4 + ITRF, 1 instant {med(prop_ms):10.2f} ms   "
          f"visibility/SGP4 {med(grid_ms) / med(prop_ms):5.2f}")


if __name__ == "__main__":
    main()
