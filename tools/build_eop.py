"""Build ``src/orbemu/data/eop.npz``: leap seconds, UT1 and polar motion, offline.

orbemu never downloads at run time, so Earth-orientation data ships with the package. This script
regenerates the file from two data packages on PyPI (run it when updating them, then commit the
result):

- Skyfield's bundled ``skyfield/data/iers.npz`` (MIT; IERS finals2000A data): the daily
  TT − UT1 (ΔT) table on a TT Julian-date grid, and the leap-second table (TAI − UTC).
- ``skyfield_data/data/finals2000A.all`` (MIT packaging of IERS Bulletin A data): daily polar
  motion x, y (arcseconds), including IERS predictions.

    python tools/build_eop.py          # needs skyfield and skyfield-data installed
"""

from __future__ import annotations

import importlib.resources
import re
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "src" / "orbemu" / "data" / "eop.npz"


def main() -> None:
    import skyfield
    import skyfield_data

    iers = np.load(importlib.resources.files("skyfield") / "data" / "iers.npz")
    tt_jd = iers["tt_jd_minus_arange"] + np.arange(len(iers["tt_jd_minus_arange"]))
    delta_t_s = (iers["delta_t_1e7"] / 1e7).round(7)
    leap_dates_jd = iers["leap_dates"]
    leap_offsets_s = iers["leap_offsets"]

    finals = Path(skyfield_data.__file__).parent / "data" / "finals2000A.all"
    pattern = re.compile(rb"(?m)^......(.........) . (.\d.......)......... (.\d.......)")
    rows = pattern.findall(finals.read_bytes())
    pm = np.array([(float(a), float(b), float(c)) for a, b, c in rows])
    np.savez_compressed(
        OUT,
        tt_jd=tt_jd,
        tt_minus_ut1_s=delta_t_s,
        leap_utc_jd=leap_dates_jd,
        tai_minus_utc_s=leap_offsets_s,
        pm_utc_mjd=pm[:, 0],
        pm_x_arcsec=pm[:, 1],
        pm_y_arcsec=pm[:, 2],
        source=np.array(
            f"skyfield {skyfield.__version__} data/iers.npz; "
            f"skyfield-data {getattr(skyfield_data, '__version__', '?')} finals2000A.all"
        ),
    )
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes); ΔT table {len(tt_jd)} days up to "
          f"JD(TT) {tt_jd[-1]:.1f}; polar motion {len(pm)} days up to MJD {pm[-1, 0]:.0f}")


if __name__ == "__main__":
    main()
