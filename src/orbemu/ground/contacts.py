"""Contact windows: when each satellite can talk to each station, and how much it can send.

:func:`contact_windows` finds the passes of many satellites over many stations
(:func:`~orbemu.orbits.passes.find_passes`: AOS/TCA/LOS within 1 s of Skyfield, with the
stations' elevation thresholds, azimuth masks and range limits), cuts them around station
outages, and evaluates each station's :class:`~orbemu.ground.stations.LinkProfile` along each
window. The result is a columnar :class:`ContactWindows`, sorted by AOS.

Rate along a window (the compact representation)
------------------------------------------------
Each window is sampled at ``K`` instants evenly spaced from its AOS to its LOS
(``samples_per_window``, default 21: every ~30 s of a 10-minute pass). At each sample the
satellite's ITRF position (SGP4 or the given propagator) gives the slant range and elevation, and
the link budget gives the achievable downlink and uplink rates. The rate *between* samples is
taken as the straight line through them: :meth:`ContactWindows.rate_bps` interpolates it and
:meth:`ContactWindows.volume_bits` integrates it exactly (so a constant rate integrates exactly,
and the full-window volume is the trapezoid rule on the samples). DVB-S2 rates are steps (one per
MODCOD change); the linear model smooths each step over one sample spacing, an error of at most
one MODCOD step × one spacing per change (≲ 1 % of a pass's volume at the default spacing).

Rate samples are stored as float32 (7 significant digits); volumes and the statistics are
computed in float64. Memory: ``2·K·4`` bytes per window (170 B at K = 21).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from orbemu.constants import DEG, NS_PER_S
from orbemu.errors import UsageError
from orbemu.ground.stations import GroundStations
from orbemu.orbits.elements import ElementSet
from orbemu.orbits.passes import Passes, find_passes
from orbemu.orbits.propagation import Propagator, propagate
from orbemu.time import Time

__all__ = ["Contact", "ContactWindows", "contact_windows", "contact_windows_from_passes"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Direction = Literal["down", "up"]

#: Default number of rate samples per window (AOS and LOS included).
DEFAULT_SAMPLES_PER_WINDOW = 21


@dataclass(frozen=True)
class Contact:
    """One contact window (a row of :class:`ContactWindows`)."""

    sat_index: int
    station_index: int
    satellite_name: str
    station_name: str
    aos: Time
    tca: Time
    los: Time
    max_elevation_deg: float
    volume_down_bits: float
    volume_up_bits: float
    mean_down_bps: float
    peak_down_bps: float

    @property
    def duration_s(self) -> float:
        return (int(self.los) - int(self.aos)) / NS_PER_S


@dataclass(frozen=True, eq=False)
class ContactWindows:
    """Contact windows of satellites over stations, columnar, sorted by AOS.

    Attributes (``w`` windows, ``K`` samples per window)
    ----------
    sat, station: (w,) indices into the searched :class:`ElementSet` and :class:`GroundStations`.
    aos_ns, tca_ns, los_ns: (w,) int64 UTC ns of acquisition, maximum elevation, loss. A pass cut
        by a station outage gives one window per piece (``tca_ns`` is then the highest sample).
    max_elevation_deg: (w,) degrees.
    partial: (w,) True where the window is clipped by the search window or an outage.
    aos_az_deg, aos_el_deg, los_az_deg, los_el_deg: (w,) pointing at AOS and LOS (for slew).
    volume_down_bits, volume_up_bits: (w,) achievable volume over the whole window, bits.
    mean_down_bps, peak_down_bps, mean_up_bps: (w,) volume / duration and the highest sample.
    rate_down_bps, rate_up_bps: (w, K) float32 rate samples, evenly spaced from AOS to LOS.
    window_start_ns, window_end_ns: the searched window.
    set_norad_ids, set_names: identity of every satellite of the searched set.
    station_names: names of every station of the searched set.
    """

    sat: IntArray
    station: IntArray
    aos_ns: IntArray
    tca_ns: IntArray
    los_ns: IntArray
    max_elevation_deg: FloatArray
    partial: npt.NDArray[np.bool_]
    aos_az_deg: FloatArray
    aos_el_deg: FloatArray
    los_az_deg: FloatArray
    los_el_deg: FloatArray
    volume_down_bits: FloatArray
    volume_up_bits: FloatArray
    mean_down_bps: FloatArray
    peak_down_bps: FloatArray
    mean_up_bps: FloatArray
    rate_down_bps: npt.NDArray[np.float32]
    rate_up_bps: npt.NDArray[np.float32]
    window_start_ns: int
    window_end_ns: int
    set_norad_ids: IntArray
    set_names: npt.NDArray[np.object_]
    station_names: npt.NDArray[np.object_]

    def __len__(self) -> int:
        return int(self.sat.size)

    def __repr__(self) -> str:
        return (f"ContactWindows(<{len(self)} windows of {np.unique(self.sat).size} satellites "
                f"over {np.unique(self.station).size} stations, "
                f"{float(self.volume_down_bits.sum()) / 8e12:.3f} TB down>)")

    @property
    def n_samples(self) -> int:
        return int(self.rate_down_bps.shape[1])

    @property
    def duration_s(self) -> FloatArray:
        """(w,) LOS − AOS, seconds."""
        return (self.los_ns - self.aos_ns) / NS_PER_S

    @property
    def aos(self) -> Time:
        return Time(self.aos_ns)

    @property
    def los(self) -> Time:
        return Time(self.los_ns)

    def select(self, mask: npt.ArrayLike) -> ContactWindows:
        """The windows where ``mask`` (boolean or indices) selects, in AOS order."""
        idx = np.sort(np.atleast_1d(np.arange(len(self))[np.asarray(mask)]))
        cols = {name: getattr(self, name)[idx] for name in _ROW_FIELDS}
        return ContactWindows(**cols, window_start_ns=self.window_start_ns,
                              window_end_ns=self.window_end_ns,
                              set_norad_ids=self.set_norad_ids, set_names=self.set_names,
                              station_names=self.station_names)

    def rows(self) -> Iterator[Contact]:
        for i in range(len(self)):
            yield Contact(int(self.sat[i]), int(self.station[i]),
                          str(self.set_names[self.sat[i]]),
                          str(self.station_names[self.station[i]]), Time(self.aos_ns[i]),
                          Time(self.tca_ns[i]), Time(self.los_ns[i]),
                          float(self.max_elevation_deg[i]), float(self.volume_down_bits[i]),
                          float(self.volume_up_bits[i]), float(self.mean_down_bps[i]),
                          float(self.peak_down_bps[i]))

    __iter__ = rows

    # ---- the rate model ------------------------------------------------------------------
    def _samples(self, direction: Direction) -> npt.NDArray[np.float32]:
        if direction == "down":
            return self.rate_down_bps
        if direction == "up":
            return self.rate_up_bps
        raise UsageError(f"direction must be 'down' or 'up', got {direction!r}")

    def _position(self, index: IntArray, t_ns: npt.ArrayLike) -> tuple[IntArray, FloatArray,
                                                                          FloatArray]:
        """Sample interval ``j`` (0..K-2), fraction ``u`` in it and spacing (s) of each time."""
        k = self.n_samples
        aos = self.aos_ns[index]
        h_s = (self.los_ns[index] - aos) / NS_PER_S / (k - 1)
        x = (np.asarray(t_ns, np.int64) - aos) / NS_PER_S
        with np.errstate(divide="ignore", invalid="ignore"):
            pos = np.where(h_s > 0, x / h_s, 0.0)
        pos = np.clip(pos, 0.0, k - 1)
        j = np.minimum(np.floor(pos).astype(np.int64), k - 2)
        return j, pos - j, h_s

    def rate_bps(self, index: npt.ArrayLike, t_ns: npt.ArrayLike,
                 direction: Direction = "down") -> FloatArray:
        """Rate of windows ``index`` at times ``t_ns`` (broadcast), bit/s; 0 outside them."""
        index = np.asarray(index, np.int64)
        t = np.asarray(t_ns, np.int64)
        index, t = np.broadcast_arrays(index, t)
        f = self._samples(direction)
        j, u, _ = self._position(index, t)
        r = (1.0 - u) * f[index, j] + u * f[index, j + 1]
        inside = (t >= self.aos_ns[index]) & (t <= self.los_ns[index])
        return np.where(inside, r, 0.0)

    def volume_bits(self, index: npt.ArrayLike, t0_ns: npt.ArrayLike, t1_ns: npt.ArrayLike,
                    direction: Direction = "down") -> FloatArray:
        """Volume windows ``index`` can carry in ``[t0, t1]`` (clipped to each window), bits.

        The exact integral of the piecewise-linear rate (see the module docstring).
        """
        index = np.asarray(index, np.int64)
        index, a, b = np.broadcast_arrays(index, np.asarray(t0_ns, np.int64),
                                          np.asarray(t1_ns, np.int64))
        a = np.clip(a, self.aos_ns[index], self.los_ns[index])
        b = np.clip(b, self.aos_ns[index], self.los_ns[index])
        return np.maximum(self._cumulative(index, b, direction)
                          - self._cumulative(index, a, direction), 0.0)

    def _cumulative(self, index: IntArray, t: IntArray, direction: Direction) -> FloatArray:
        """∫ rate from AOS to ``t`` (inside the window), bits."""
        # Only the rows asked for: the engine calls this every step for the active contacts.
        f = self._samples(direction)[index.ravel()].astype(np.float64)
        j, u, h = (x.ravel() for x in self._position(index, t))
        trap = 0.5 * (f[:, 1:] + f[:, :-1])  # per sample interval, × h
        cum = np.concatenate([np.zeros((f.shape[0], 1)), np.cumsum(trap, axis=1)], axis=1)
        r = np.arange(f.shape[0])
        f0, f1 = f[r, j], f[r, j + 1]
        return (h * (cum[r, j] + f0 * u + 0.5 * (f1 - f0) * u * u)).reshape(index.shape)


_ROW_FIELDS = ("sat", "station", "aos_ns", "tca_ns", "los_ns", "max_elevation_deg", "partial",
               "aos_az_deg", "aos_el_deg", "los_az_deg", "los_el_deg", "volume_down_bits",
               "volume_up_bits", "mean_down_bps", "peak_down_bps", "mean_up_bps",
               "rate_down_bps", "rate_up_bps")


def contact_windows(
    elements: ElementSet,
    stations: GroundStations,
    start: Time,
    duration_ns: int,
    *,
    samples_per_window: int = DEFAULT_SAMPLES_PER_WINDOW,
    min_duration_s: float = 0.0,
    propagator: Propagator | None = None,
) -> ContactWindows:
    """Contact windows of every satellite over every station in ``[start, start + duration]``.

    Parameters
    ----------
    elements: the satellites (n).
    stations: the stations (m): their nodes define visibility, their profiles the rates,
        their outages cut the windows.
    start, duration_ns: the window (scalar ``Time``, integer ns).
    samples_per_window: rate samples per window, ≥ 2 (see the module docstring).
    min_duration_s: drop windows shorter than this (after outage cuts), seconds.
    propagator: as for :func:`find_passes` (default SGP4).
    """
    passes = find_passes(elements, stations.nodes, start, duration_ns, propagator=propagator)
    return contact_windows_from_passes(passes, elements, stations,
                                       samples_per_window=samples_per_window,
                                       min_duration_s=min_duration_s, propagator=propagator)


def _cut_outages(stations: GroundStations, station: IntArray, aos: IntArray, los: IntArray,
                 partial: npt.NDArray[np.bool_]) -> tuple[IntArray, IntArray, IntArray,
                                                          npt.NDArray[np.bool_], IntArray]:
    """Remove outage intervals from windows: ``(row, aos, los, partial, cut)`` per piece, where
    ``row`` is the source window and ``cut`` marks pieces shortened by an outage."""
    row = np.arange(station.size)
    cut = np.zeros(station.size, bool)
    # One pass per outage (outages are few; each pass is vectorized over the windows).
    for k, o0, o1 in zip(stations.outage_station, stations.outage_start_ns,
                         stations.outage_end_ns, strict=True):
        hit = (station[row] == k) & (aos < o1) & (los > o0)
        if not hit.any():
            continue
        keep = ~hit
        h = np.flatnonzero(hit)
        before = h[aos[h] < o0]
        after = h[los[h] > o1]
        row = np.concatenate([row[keep], row[before], row[after]])
        new_aos = np.concatenate([aos[keep], aos[before], np.full(after.size, o1)])
        new_los = np.concatenate([los[keep], np.full(before.size, o0), los[after]])
        partial = np.concatenate([partial[keep], np.ones(before.size + after.size, bool)])
        cut = np.concatenate([cut[keep], np.ones(before.size + after.size, bool)])
        aos, los = new_aos, new_los
    return row, aos, los, partial, cut


def contact_windows_from_passes(
    passes: Passes,
    elements: ElementSet,
    stations: GroundStations,
    *,
    samples_per_window: int = DEFAULT_SAMPLES_PER_WINDOW,
    min_duration_s: float = 0.0,
    propagator: Propagator | None = None,
) -> ContactWindows:
    """:func:`contact_windows` from passes already found (of ``elements`` over
    ``stations.nodes``)."""
    if not isinstance(stations, GroundStations):
        raise UsageError(f"stations must be GroundStations, got {type(stations).__name__}")
    if samples_per_window < 2:
        raise UsageError(f"samples_per_window must be ≥ 2, got {samples_per_window}")
    if len(passes) and (int(passes.node_index.max()) >= len(stations)
                        or int(passes.sat_index.max()) >= len(elements)):
        raise UsageError("passes do not belong to these elements and stations (index out of "
                         "range)")
    k = samples_per_window
    src, aos, los, partial, cut = _cut_outages(stations, passes.node_index, passes.aos.ns,
                                               passes.los.ns, passes.partial)
    keep = (los - aos) >= max(min_duration_s * NS_PER_S, 0.0)
    keep &= stations.antennas[passes.node_index[src]] > 0
    src, aos, los, partial, cut = src[keep], aos[keep], los[keep], partial[keep], cut[keep]
    sat = passes.sat_index[src]
    station = passes.node_index[src]
    w = src.size
    # Sample times: K evenly spaced instants from AOS to LOS (integer ns).
    frac = np.linspace(0.0, 1.0, k)
    t = aos[:, None] + np.round((los - aos)[:, None] * frac[None, :]).astype(np.int64)
    t[:, -1] = los
    r = np.full((w, k, 3), np.nan)
    order = np.argsort(sat, kind="stable")
    bounds = np.flatnonzero(np.diff(sat[order])) + 1
    # One propagation per satellite that has windows, at all its sample times (not a per-step
    # path: contact planning runs once per scenario).
    for rows in np.split(order, bounds) if w else []:
        i = int(sat[rows[0]])
        times = t[rows].ravel()
        eph = propagate(elements.select([i]), Time(times), frame="ITRF", propagator=propagator)
        r[rows] = eph.position_m[0].reshape(rows.size, k, 3)
    nodes = stations.nodes
    d = r - nodes.itrf_m[station][:, None, :]
    enu = np.einsum("wij,wkj->wki", nodes.enu[station], d)
    rng = np.sqrt(np.einsum("wki,wki->wk", enu, enu))
    with np.errstate(invalid="ignore"):
        el = np.arcsin(np.clip(enu[..., 2] / rng, -1.0, 1.0))
    az = np.mod(np.arctan2(enu[..., 0], enu[..., 1]), 2 * np.pi)
    down = np.zeros((w, k))
    up = np.zeros((w, k))
    profile_ids = np.array([id(p) for p in stations.profiles], dtype=np.int64)
    for pid in np.unique(profile_ids):
        rows = np.flatnonzero(profile_ids[station] == pid)
        if rows.size == 0:
            continue
        prof = stations.profiles[int(np.flatnonzero(profile_ids == pid)[0])]
        st = station[rows][:, None]
        down[rows], up[rows] = prof.rates_bps(
            rng[rows], np.maximum(el[rows], 0.0), lat_rad=nodes.lat_deg[st] * DEG,
            lon_rad=nodes.lon_deg[st] * DEG, station_alt_m=nodes.alt_m[st])
    bad = ~np.isfinite(rng)
    down[bad] = 0.0
    up[bad] = 0.0
    dur_s = (los - aos) / NS_PER_S
    h = dur_s / (k - 1)
    vol_down = h * (down.sum(axis=1) - 0.5 * (down[:, 0] + down[:, -1]))
    vol_up = h * (up.sum(axis=1) - 0.5 * (up[:, 0] + up[:, -1]))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_down = np.where(dur_s > 0, vol_down / dur_s, down[:, 0] if w else 0.0)
        mean_up = np.where(dur_s > 0, vol_up / dur_s, up[:, 0] if w else 0.0)
    # TCA and maximum elevation from the pass unless an outage cut the window (then the
    # highest sample).
    el_deg = np.degrees(el)
    top = np.nanargmax(np.where(np.isfinite(el_deg), el_deg, -np.inf), axis=1) if w else (
        np.zeros(0, np.int64))
    tca = np.where(cut, t[np.arange(w), top], passes.tca.ns[src])
    max_el = np.where(cut, el_deg[np.arange(w), top], passes.max_elevation_deg[src])
    az_deg = np.degrees(az)
    order = np.lexsort((station, sat, aos))
    cols = dict(sat=sat, station=station, aos_ns=aos, tca_ns=tca, los_ns=los,
                max_elevation_deg=max_el, partial=partial, aos_az_deg=az_deg[:, 0],
                aos_el_deg=el_deg[:, 0], los_az_deg=az_deg[:, -1], los_el_deg=el_deg[:, -1],
                volume_down_bits=vol_down, volume_up_bits=vol_up, mean_down_bps=mean_down,
                peak_down_bps=down.max(axis=1) if w else np.zeros(0), mean_up_bps=mean_up,
                rate_down_bps=down.astype(np.float32), rate_up_bps=up.astype(np.float32))
    cols = {name: np.ascontiguousarray(v[order]) for name, v in cols.items()}
    for name in ("sat", "station", "aos_ns", "tca_ns", "los_ns"):
        cols[name] = cols[name].astype(np.int64)
    return ContactWindows(**cols, window_start_ns=int(passes.window_start),
                          window_end_ns=int(passes.window_end),
                          set_norad_ids=passes.set_norad_ids, set_names=passes.set_names,
                          station_names=stations.nodes.names.copy())
