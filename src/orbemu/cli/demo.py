"""The default job of ``make demo`` (``orbemu demo --out out``).

1. Passes of the bundled ``stations`` element set (ISS, Tiangong and their visitors) over five
   bundled KSAT ground stations spread around the world, for the 24 h after the data's newest
   epoch → ``passes.csv``.
2. One orbit (95 min at 60 s) of the bundled Starlink snapshot, from its newest epoch →
   ``starlink_geodetic.csv`` (lat/lon/alt of every satellite at every minute), ``starlink.czml``
   (open it in CesiumJS) and ``ground_track.png``.

Everything runs offline from the bundled data. A summary lists counts, timings and file sizes,
and the data's attribution.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from orbemu.constants import NS_PER_S
from orbemu.errors import DataError
from orbemu.time import Time
from orbemu.units import format_duration_ns, parse_duration_ns

__all__ = ["DEMO_STATIONS", "run_demo"]

#: Ground stations of the demo, from the bundled KSAT list, spread in longitude and within reach
#: of the space stations' 41.5° and 51.6° orbits: Hawaii, Bavaria, South-East Asia, southern Africa
#: and New Zealand.
DEMO_STATIONS = ("Hawaii", "Weilheim", "Singapore", "Hartebeesthoek", "Awarua")
DEMO_GROUND_LIST = "ksat"
PASS_WINDOW = "24h"
#: A typical operational mask: passes lower than this are too short and too noisy to use.
MIN_ELEVATION_DEG = 10.0
ORBIT = "95m"
STEP = "60s"

Progress = Callable[[str, int], AbstractContextManager[Callable[[int, int], None]]]


def _size(path: Path) -> str:
    n = path.stat().st_size
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.1f} kB"


def _whole_second(t: Time) -> Time:
    return Time(int(t.ns) // NS_PER_S * NS_PER_S)


def demo_ground() -> Any:
    """The demo's stations, picked by name from the bundled KSAT list."""
    from orbemu.io.ground import load_ground_nodes

    nodes = load_ground_nodes(DEMO_GROUND_LIST)
    names = [str(n).lower() for n in nodes.names]
    missing = [s for s in DEMO_STATIONS if s.lower() not in names]
    if missing:
        raise DataError(f"demo stations {missing} are not in the bundled list "
                        f"{DEMO_GROUND_LIST!r}")
    return nodes.select([names.index(s.lower()) for s in DEMO_STATIONS])


def run_demo(out_dir: Path, *, out: Console, info: Callable[[str], None],
             progress: Progress) -> dict[str, Any]:
    """Run the demo into ``out_dir``; returns the summary figures (also printed)."""
    from orbemu.io.catalog import list_datasets
    from orbemu.io.czml import write_czml
    from orbemu.io.elements import load_elements
    from orbemu.io.tables import write_ephemeris_csv, write_passes_csv
    from orbemu.orbits.passes import find_passes
    from orbemu.orbits.propagation import SGP4Propagator
    from orbemu.report.plots import plot_ground_track

    out_dir.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    clock_all = time.perf_counter()

    # 1. passes of the space stations over the demo ground stations
    clock = time.perf_counter()
    stations_set = load_elements("stations")
    ground = demo_ground()
    timings["load data"] = time.perf_counter() - clock
    start = _whole_second(Time(int(stations_set.epochs.ns.max())))
    window_ns = parse_duration_ns(PASS_WINDOW)
    info(f"demo: passes of {len(stations_set)} satellites ('stations' set) over "
         f"{len(ground)} ground stations ({', '.join(map(str, ground.names))}) · start "
         f"{start.iso('s')} (newest element epoch) · {PASS_WINDOW} · min elevation "
         f"{MIN_ELEVATION_DEG:g}°")
    clock = time.perf_counter()
    with progress("passes", 1) as update:
        passes = find_passes(stations_set, ground, start, window_ns,
                             min_elevation_deg=MIN_ELEVATION_DEG, progress=update)
    timings["find passes"] = time.perf_counter() - clock
    passes_csv = out_dir / "passes.csv"
    n_passes = write_passes_csv(passes, passes_csv)

    # 2. one orbit of the Starlink snapshot
    clock = time.perf_counter()
    starlink = load_elements("starlink")
    timings["load data"] += time.perf_counter() - clock
    t0 = _whole_second(Time(int(starlink.epochs.ns.max())))
    times = Time.range(t0, ORBIT, STEP)
    info(f"demo: one orbit of {len(starlink)} Starlink satellites · start {t0.iso('s')} (newest "
         f"element epoch) · {ORBIT} at {STEP} ({times.size} instants) · SGP4, ITRF")
    clock = time.perf_counter()
    with progress("propagating Starlink", len(starlink)) as update:
        eph = SGP4Propagator().propagate(starlink, times, frame="ITRF", progress=update)
    timings["propagate"] = time.perf_counter() - clock

    files: list[tuple[Path, str]] = [(passes_csv, f"{n_passes} passes")]
    clock = time.perf_counter()
    eph_csv = out_dir / "starlink_geodetic.csv"
    rows = write_ephemeris_csv(eph, eph_csv, frame="geodetic")
    files.append((eph_csv, f"{rows} rows"))
    timings["write CSV"] = time.perf_counter() - clock

    clock = time.perf_counter()
    czml_path = out_dir / "starlink.czml"
    counts = write_czml(eph, czml_path, ground=ground, name="orbemu demo: Starlink, one orbit")
    stride = counts["stride"]
    files.append((czml_path, f"{counts['satellites']} satellites, {counts['stations']} stations"
                  + (f", positions every {format_duration_ns(stride * parse_duration_ns(STEP))}"
                     if stride > 1 else "")))
    timings["write CZML"] = time.perf_counter() - clock

    clock = time.perf_counter()
    png = out_dir / "ground_track.png"
    plot_ground_track(eph, png, ground=ground,
                      title=f"Starlink, one orbit from {t0.iso('s')}: 10 ground tracks, "
                            f"all {eph.n_sats} satellites at start")
    files.append((png, "ground tracks"))
    timings["plot"] = time.perf_counter() - clock
    total = time.perf_counter() - clock_all

    # summary
    table = Table(title="orbemu demo", title_justify="left")
    table.add_column("file")
    table.add_column("content")
    table.add_column("size", justify="right")
    for path, what in files:
        table.add_row(str(path), what, _size(path))
    out.print(table)
    per_station = np.bincount(np.asarray(passes.node_index, dtype=np.int64),
                              minlength=len(ground))
    out.print("passes per station: " + ", ".join(
        f"{ground.names[j]} {int(per_station[j])}" for j in range(len(ground))), markup=False)
    if eph.failed_samples():
        out.print(f"{eph.failed_samples()} Starlink samples failed in SGP4 "
                  f"({eph.status_summary()}); written as empty fields", markup=False)
    out.print("timings: " + ", ".join(f"{k} {v:.2f} s" for k, v in timings.items())
              + f"; total {total:.2f} s", markup=False)
    credits = {info.attribution for info in list_datasets()
               if info.name in ("stations", "starlink", DEMO_GROUND_LIST)}
    for line in sorted(credits):
        out.print(line, markup=False)
    return {"passes": n_passes, "rows": rows, "timings": timings, "files": [p for p, _ in files],
            "satellites": eph.n_sats, "instants": eph.n_times}
