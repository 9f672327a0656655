"""Ground stations as an operations description: antennas, setup and slew, link, availability.

:class:`GroundStations` wraps a :class:`~orbemu.orbits.ground_nodes.GroundNodes` set (where the
stations are and what they see: elevation thresholds, azimuth masks, range limits) with what
operations needs to know about each station, as arrays of one entry per station (row order of
the nodes):

- ``antennas``: how many satellites the station can track at once (identical antennas).
- ``setup_s``: time an antenna needs between the end of one contact and the start of the next
  (configuration, ranging, handover of the baseband chain), seconds.
- Slew: after a contact the antenna must also move from where the last satellite set (its LOS
  azimuth/elevation) to where the next one rises (its AOS azimuth/elevation). The model is
  ``slew_s = slew_fixed_s + max(|Δazimuth|, |Δelevation|) / slew_rate_deg_s`` — an az/el mount
  drives both axes at once, so the slower axis sets the time; ``|Δazimuth|`` is the shorter
  way round (≤ 180°; cable wrap is not modelled). ``slew_rate_deg_s = inf`` gives a fixed slew
  time. The gap an antenna needs between two contacts is ``setup_s + slew_s``; the first contact
  of an antenna needs none (an idle antenna is set up and pointed in advance).
- ``profiles``: per-station :class:`LinkProfile` — the downlink and uplink as a
  :class:`~orbemu.links.budget.RadioLink` (rate from the link budget at each geometry) or as a
  fixed rate.
- Outages: intervals when a station is unavailable (faults, maintenance), columnar
  ``(station, start_ns, end_ns)``; contact windows are cut around them.

All times are integer nanoseconds (``Time`` at the edges), durations in seconds (``*_s``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from orbemu.errors import UsageError
from orbemu.links.budget import RadioLink, RadioTerminal, radio_budget
from orbemu.orbits.ground_nodes import GroundNodes
from orbemu.time import Time

__all__ = [
    "S_BAND_TC_UPLINK_BPS",
    "X_BAND_EO",
    "X_BAND_EO_DOWNLINK",
    "X_BAND_EO_SATELLITE",
    "X_BAND_STATION",
    "GroundStations",
    "LinkProfile",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
RateModel = Literal["dvbs2", "shannon"]


@dataclass(frozen=True)
class LinkProfile:
    """The radio links between a station and the satellites it serves.

    Each direction is either a :class:`RadioLink` (rate from :func:`radio_budget` at the
    slant range and elevation of the moment: DVB-S2 MODCODs or Shannon) or a fixed rate in
    bit/s (``downlink_rate_bps``/``uplink_rate_bps``, used when the link is ``None``).
    ``rain_rate_mm_h`` applies to the budget (0 = clear sky).
    """

    name: str
    downlink: RadioLink | None = None
    uplink: RadioLink | None = None
    downlink_rate_bps: float = 0.0
    uplink_rate_bps: float = 0.0
    rate_model: RateModel = "dvbs2"
    rain_rate_mm_h: float = 0.0

    def __post_init__(self) -> None:
        for what in ("downlink", "uplink"):
            rate = getattr(self, f"{what}_rate_bps")
            if not (math.isfinite(rate) and rate >= 0.0):
                raise UsageError(f"link profile {self.name!r}: {what}_rate_bps must be finite "
                                 f"and ≥ 0, got {rate}")
        if self.rate_model not in ("dvbs2", "shannon"):
            raise UsageError(f"link profile {self.name!r}: rate_model must be 'dvbs2' or "
                             f"'shannon', got {self.rate_model!r}")

    @classmethod
    def fixed(cls, downlink_rate_bps: float, uplink_rate_bps: float = 0.0, *,
              name: str = "fixed") -> LinkProfile:
        """Constant rates whenever the satellite is in view, bit/s."""
        return cls(name, downlink_rate_bps=float(downlink_rate_bps),
                   uplink_rate_bps=float(uplink_rate_bps))

    def rates_bps(self, range_m: npt.ArrayLike, elevation_rad: npt.ArrayLike, *,
                  lat_rad: npt.ArrayLike = 0.0, lon_rad: npt.ArrayLike = 0.0,
                  station_alt_m: npt.ArrayLike = 0.0) -> tuple[FloatArray, FloatArray]:
        """``(downlink_bps, uplink_bps)`` at these geometries (arrays broadcast together).

        NaN geometry (a failed propagation) gives rate 0.
        """
        shape = np.broadcast(np.asarray(range_m), np.asarray(elevation_rad)).shape
        out = []
        for link, fixed in ((self.downlink, self.downlink_rate_bps),
                            (self.uplink, self.uplink_rate_bps)):
            if link is None:
                out.append(np.full(shape, fixed))
                continue
            res = radio_budget(link, range_m, elevation_rad, rain_rate_mm_h=self.rain_rate_mm_h,
                               lat_rad=lat_rad, lon_rad=lon_rad, station_alt_m=station_alt_m,
                               rate_model=self.rate_model)
            out.append(np.nan_to_num(np.broadcast_to(res.rate_bps, shape).astype(np.float64),
                                     nan=0.0))
        return out[0], out[1]


#: X-band Earth-observation payload downlink transmitter (illustrative: ~10 W into a shaped-beam
#: antenna). G/T is irrelevant for a downlink-only terminal.
X_BAND_EO_SATELLITE = RadioTerminal("x-band-eo-satellite", eirp_dbw=13.0, g_over_t_db_k=-20.0)
#: A 7.3 m class X/S-band commercial station dish (illustrative).
X_BAND_STATION = RadioTerminal("x-band-station", eirp_dbw=60.0, g_over_t_db_k=31.0)
#: X-band EO downlink, 8.15 GHz, 100 MHz (DVB-S2 ACM: ≈ 250–370 Mbit/s from 2,500 to 1,000 km).
X_BAND_EO_DOWNLINK = RadioLink("x-band-eo-downlink", 8.15e9, 100e6, X_BAND_EO_SATELLITE,
                               X_BAND_STATION)
#: S-band telecommand uplink rate (64 kbit/s, a common TC rate), bit/s.
S_BAND_TC_UPLINK_BPS = 64e3
#: The default profile of an EO ground network: X-band budgeted downlink, fixed S-band TC uplink.
X_BAND_EO = LinkProfile("x-band-eo", downlink=X_BAND_EO_DOWNLINK,
                        uplink_rate_bps=S_BAND_TC_UPLINK_BPS)


def _per_station(name: str, value: npt.ArrayLike, m: int, dtype: type) -> npt.NDArray[Any]:
    arr: npt.NDArray[Any] = np.asarray(value, dtype=dtype)
    if arr.ndim > 1 or (arr.ndim == 1 and arr.size != m):
        raise UsageError(f"GroundStations.{name} needs a scalar or {m} values (one per "
                         f"station), got shape {arr.shape}")
    return np.broadcast_to(arr, (m,)).copy()


@dataclass(frozen=True, eq=False)
class GroundStations:
    """Operations description of ``m`` stations (see the module docstring).

    Attributes
    ----------
    nodes: the stations' :class:`GroundNodes` (position, elevation threshold, mask, range).
    antennas: (m,) int64 ≥ 0, antennas per station (0 = the station takes no contacts).
    setup_s: (m,) float, setup time between consecutive contacts of one antenna, s.
    slew_fixed_s: (m,) float, fixed part of the slew time, s.
    slew_rate_deg_s: (m,) float > 0, axis rate of the slew model, deg/s (``inf``: fixed time).
    profiles: (m,) tuple of :class:`LinkProfile`, one per station (may repeat one object).
    outage_station, outage_start_ns, outage_end_ns: (o,) station unavailability intervals
        ``[start, end)`` in ns, sorted by station then start.
    """

    nodes: GroundNodes
    antennas: IntArray
    setup_s: FloatArray
    slew_fixed_s: FloatArray
    slew_rate_deg_s: FloatArray
    profiles: tuple[LinkProfile, ...]
    outage_station: IntArray
    outage_start_ns: IntArray
    outage_end_ns: IntArray

    def __post_init__(self) -> None:
        m = len(self.nodes)
        for name in ("antennas", "setup_s", "slew_fixed_s", "slew_rate_deg_s", "profiles"):
            if len(getattr(self, name)) != m:
                raise UsageError(f"GroundStations.{name} has {len(getattr(self, name))} "
                                 f"entries for {m} stations")
        if np.any(self.antennas < 0):
            raise UsageError(f"GroundStations.antennas must be ≥ 0, got {self.antennas.min()}")
        for name in ("setup_s", "slew_fixed_s"):
            v = getattr(self, name)
            if np.any(~np.isfinite(v) | (v < 0)):
                raise UsageError(f"GroundStations.{name} must be finite and ≥ 0 seconds")
        if np.any(~(self.slew_rate_deg_s > 0)):
            raise UsageError("GroundStations.slew_rate_deg_s must be > 0 deg/s (inf for a "
                             "fixed slew time)")
        if not (self.outage_station.size == self.outage_start_ns.size
                == self.outage_end_ns.size):
            raise UsageError("GroundStations outage arrays differ in length")
        if self.outage_station.size and (np.any(self.outage_station < 0)
                                         or np.any(self.outage_station >= m)):
            raise UsageError(f"GroundStations outage station index out of range 0..{m - 1}")
        if np.any(self.outage_end_ns < self.outage_start_ns):
            raise UsageError("GroundStations outage ends before it starts")

    @classmethod
    def from_nodes(
        cls,
        nodes: GroundNodes,
        *,
        antennas: npt.ArrayLike = 1,
        setup_s: npt.ArrayLike = 60.0,
        slew_fixed_s: npt.ArrayLike = 0.0,
        slew_rate_deg_s: npt.ArrayLike = 3.0,
        profile: LinkProfile | Sequence[LinkProfile] = X_BAND_EO,
        outages: Sequence[tuple[int | str, Time | int, Time | int]] = (),
    ) -> GroundStations:
        """Stations at ``nodes``; scalars apply to every station.

        ``outages``: ``(station index or name, start, end)`` triples (``Time`` or ns).
        Defaults: one antenna, 60 s setup, 3°/s slew (typical of 5–7 m dishes), X-band EO link.
        """
        if not isinstance(nodes, GroundNodes):
            raise UsageError(f"nodes must be GroundNodes, got {type(nodes).__name__}")
        m = len(nodes)
        profs = (profile,) * m if isinstance(profile, LinkProfile) else tuple(profile)
        if len(profs) != m or not all(isinstance(p, LinkProfile) for p in profs):
            raise UsageError(f"profile must be one LinkProfile or {m} of them")
        ant = _per_station("antennas", antennas, m, np.float64)
        if np.any(ant != np.round(ant)):
            raise UsageError("GroundStations.antennas must be whole numbers")
        st, s0, s1 = [], [], []
        for station, start, end in outages:
            st.append(nodes.index_of(station) if isinstance(station, str) else int(station))
            s0.append(int(start))
            s1.append(int(end))
        o_st, o_s0, o_s1 = (np.asarray(x, dtype=np.int64) for x in (st, s0, s1))
        order = np.lexsort((o_s0, o_st))
        return cls(nodes=nodes, antennas=ant.astype(np.int64),
                   setup_s=_per_station("setup_s", setup_s, m, np.float64),
                   slew_fixed_s=_per_station("slew_fixed_s", slew_fixed_s, m, np.float64),
                   slew_rate_deg_s=_per_station("slew_rate_deg_s", slew_rate_deg_s, m,
                                                np.float64),
                   profiles=profs, outage_station=o_st[order], outage_start_ns=o_s0[order],
                   outage_end_ns=o_s1[order])

    def __len__(self) -> int:
        return len(self.nodes)

    def __repr__(self) -> str:
        return (f"GroundStations(<{len(self)} stations, {int(self.antennas.sum())} antennas, "
                f"{self.outage_station.size} outages>)")

    @property
    def names(self) -> npt.NDArray[np.object_]:
        return self.nodes.names

    def with_outages(self, outages: Sequence[tuple[int | str, Time | int, Time | int]]
                     ) -> GroundStations:
        """A copy with these outages added (e.g. from a fault schedule)."""
        extra = GroundStations.from_nodes(self.nodes, outages=outages)
        st = np.concatenate([self.outage_station, extra.outage_station])
        s0 = np.concatenate([self.outage_start_ns, extra.outage_start_ns])
        s1 = np.concatenate([self.outage_end_ns, extra.outage_end_ns])
        order = np.lexsort((s0, st))
        return replace(self, outage_station=st[order], outage_start_ns=s0[order],
                       outage_end_ns=s1[order])

    def slew_s(self, station: npt.ArrayLike, from_az_deg: npt.ArrayLike,
               from_el_deg: npt.ArrayLike, to_az_deg: npt.ArrayLike,
               to_el_deg: npt.ArrayLike) -> FloatArray:
        """Slew time of ``station``'s antenna between two pointings (arrays broadcast), s."""
        k = np.asarray(station)
        daz = np.abs(np.mod(np.asarray(to_az_deg, np.float64) - np.asarray(from_az_deg, np.float64)
                            + 180.0, 360.0) - 180.0)
        delv = np.abs(np.asarray(to_el_deg, np.float64) - np.asarray(from_el_deg, np.float64))
        return self.slew_fixed_s[k] + np.maximum(daz, delv) / self.slew_rate_deg_s[k]

    @property
    def max_gap_s(self) -> FloatArray:
        """(m,) the longest gap an antenna can need between contacts: setup + the slowest
        slew (180° of azimuth), s."""
        return self.setup_s + self.slew_fixed_s + 180.0 / self.slew_rate_deg_s

    def gap_s(self, station: npt.ArrayLike, from_az_deg: npt.ArrayLike,
              from_el_deg: npt.ArrayLike, to_az_deg: npt.ArrayLike,
              to_el_deg: npt.ArrayLike) -> FloatArray:
        """Setup + slew between a contact ending and the next starting on one antenna, s."""
        k = np.asarray(station)
        return self.setup_s[k] + self.slew_s(k, from_az_deg, from_el_deg, to_az_deg, to_el_deg)
