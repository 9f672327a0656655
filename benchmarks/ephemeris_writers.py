"""Ephemeris writers: the numba CSV rows against the csv module with f-strings, same run.

    python -m benchmarks.ephemeris_writers [--sats 2000] [--times 500]

Propagates a synthetic-but-real set (the bundled test TLEs repeated) and writes it as CSV with
orbemu's writer, as CSV with the standard library (the baseline: csv.writer and ``f"{v:.3f}"``,
the way one would write it by hand), as Parquet and as OEM. Prints rows/s and the ratio.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from pathlib import Path

import numpy as np
from sgp4.api import Satrec

from orbemu import ElementSet, Time, propagate
from orbemu.io.oem import write_oem
from orbemu.io.tables import write_ephemeris_csv, write_ephemeris_parquet

TLE = ("1 25544U 98067A   26150.51748228  .00011776  00000+0  21767-3 0  9998",
       "2 25544  51.6337  27.5746 0007245 114.7080 245.4664 15.49496548569014")


def baseline_csv(eph, path: Path) -> None:
    stamps = eph.times.iso("ms").tolist()
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["time_utc", "norad_id", "name", "x_m", "y_m", "z_m", "vx_m_s", "vy_m_s",
                    "vz_m_s"])
        for i in range(eph.n_sats):
            nid, name = int(eph.norad_ids[i]), str(eph.names[i])
            r, v = eph.position_m[i].tolist(), eph.velocity_m_s[i].tolist()
            for j, stamp in enumerate(stamps):
                w.writerow([stamp, nid, name, f"{r[j][0]:.3f}", f"{r[j][1]:.3f}",
                            f"{r[j][2]:.3f}", f"{v[j][0]:.6f}", f"{v[j][1]:.6f}",
                            f"{v[j][2]:.6f}"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sats", type=int, default=2000)
    parser.add_argument("--times", type=int, default=500)
    args = parser.parse_args()
    sat = Satrec.twoline2rv(*TLE)
    es = ElementSet.from_satrecs([sat] * args.sats, names=[f"SAT-{i}" for i in range(args.sats)],
                                 norad_ids=range(args.sats))
    times = Time.range("2026-05-30T12:00:00Z", args.times * 60 * 10**9, "60s", endpoint=False)
    eph = propagate(es, times)
    rows = eph.n_sats * eph.n_times
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        write_ephemeris_csv(eph.select(sats=[0], times=[0]), d / "warm.csv")  # compile numba
        results = {}
        for name, fn in [
            ("orbemu CSV", lambda: write_ephemeris_csv(eph, d / "a.csv")),
            ("baseline csv.writer", lambda: baseline_csv(eph, d / "b.csv")),
            ("orbemu Parquet", lambda: write_ephemeris_parquet(eph, d / "a.parquet")),
            ("orbemu OEM", lambda: write_oem(eph, d / "a.oem")),
        ]:
            t0 = time.perf_counter()
            fn()
            results[name] = time.perf_counter() - t0
        ours, theirs = (np.loadtxt(d / f, delimiter=",", skiprows=1, usecols=range(3, 6),
                                   max_rows=10_000) for f in ("a.csv", "b.csv"))
        diff_mm = float(np.max(np.abs(ours - theirs))) * 1000
    base = results["baseline csv.writer"]
    print(f"{args.sats} satellites × {args.times} instants = {rows:,} rows")
    for name, sec in results.items():
        print(f"  {name:22s} {sec:7.3f} s  {rows / sec / 1e6:6.2f} M rows/s  "
              f"{base / sec:5.1f}× baseline")
    print(f"  positions of the first 10,000 rows differ from the baseline by at most "
          f"{diff_mm:.3f} mm (both round to 1 mm)")


if __name__ == "__main__":
    main()
