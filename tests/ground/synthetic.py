"""Synthetic contact windows for scheduler and queue tests (no orbits needed)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from orbemu.ground.contacts import ContactWindows
from orbemu.ground.stations import GroundStations
from orbemu.orbits.ground_nodes import GroundNodes

NS = 10**9


def make_stations(n_stations: int, *, antennas: npt.ArrayLike = 1, setup_s: float = 0.0,
                  slew_fixed_s: float = 0.0, slew_rate_deg_s: float = np.inf) -> GroundStations:
    nodes = GroundNodes.from_arrays([f"S{k}" for k in range(n_stations)],
                                    np.linspace(-60, 60, n_stations), np.zeros(n_stations))
    return GroundStations.from_nodes(nodes, antennas=antennas, setup_s=setup_s,
                                     slew_fixed_s=slew_fixed_s, slew_rate_deg_s=slew_rate_deg_s)


def make_windows(sat: npt.ArrayLike, station: npt.ArrayLike, aos_s: npt.ArrayLike,
                 los_s: npt.ArrayLike, *, n_sats: int, n_stations: int,
                 rate_bps: npt.ArrayLike = 1e6, up_rate_bps: npt.ArrayLike = 1e4,
                 aos_az_deg: npt.ArrayLike = 0.0, los_az_deg: npt.ArrayLike = 0.0,
                 samples: int = 2) -> ContactWindows:
    """Windows with constant rates (so volume = rate × duration exactly)."""
    sat = np.asarray(sat, np.int64)
    w = sat.size
    station = np.asarray(station, np.int64)
    aos = np.round(np.asarray(aos_s, np.float64) * NS).astype(np.int64)
    los = np.round(np.asarray(los_s, np.float64) * NS).astype(np.int64)
    rate = np.broadcast_to(np.asarray(rate_bps, np.float64), (w,))
    up = np.broadcast_to(np.asarray(up_rate_bps, np.float64), (w,))
    dur = (los - aos) / NS
    order = np.lexsort((station, sat, aos))
    z = np.zeros(w)

    def b(x: npt.ArrayLike) -> np.ndarray:
        return np.broadcast_to(np.asarray(x, np.float64), (w,)).copy()

    cols = dict(sat=sat, station=station, aos_ns=aos, tca_ns=(aos + los) // 2, los_ns=los,
                max_elevation_deg=z + 45.0, partial=np.zeros(w, bool), aos_az_deg=b(aos_az_deg),
                aos_el_deg=z.copy(), los_az_deg=b(los_az_deg), los_el_deg=z.copy(),
                volume_down_bits=rate * dur, volume_up_bits=up * dur, mean_down_bps=rate.copy(),
                peak_down_bps=rate.copy(), mean_up_bps=up.copy(),
                rate_down_bps=np.repeat(rate[:, None], samples, 1).astype(np.float32),
                rate_up_bps=np.repeat(up[:, None], samples, 1).astype(np.float32))
    cols = {k: np.ascontiguousarray(v[order]) for k, v in cols.items()}
    return ContactWindows(**cols, window_start_ns=0, window_end_ns=int(los.max(initial=0)),
                          set_norad_ids=np.arange(n_sats, dtype=np.int64) + 1,
                          set_names=np.array([f"SAT{i}" for i in range(n_sats)], object),
                          station_names=np.array([f"S{k}" for k in range(n_stations)], object))
