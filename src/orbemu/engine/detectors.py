"""The engine's event detectors (the machinery is in :mod:`orbemu.engine.events`).

Fleet detectors run at the end of every (sub-)step on :class:`FleetFrame`\\ s, over the modelled
satellites (a lost satellite's ``g`` is NaN: no events):

=====================  ====================================  ==================================
detector               switching function g (≥ 0 side)       state inside a step
=====================  ====================================  ==================================
:class:`Eclipse`       sunlit margin, rad (sunlit)           Hermite positions, Sun lerp
                       (:func:`~orbemu.spacecraft.sunlit_margin_rad`, the chosen shadow model)
:class:`BatteryLow`    charge − safe-entry level, Wh         linear (powers held over a step)
                       (:func:`~orbemu.spacecraft.battery_margin_wh`)
:class:`StorageFull`   free bits − one image, bits           linear
:class:`Visibility`    elevation margin over the station's   Hermite positions
                       mask and range, degrees (visible)
=====================  ====================================  ==================================

:class:`Visibility` (contact windows opening and closing: ``aos``/``los``) works on
satellite–station pairs: at each frame the visible pairs come from the spatial-grid search
:func:`orbemu.links.ground_links` (cost ∝ satellites, not pairs); a pair that appeared or
disappeared has crossed, and only those pairs are refined. The network detectors (ISL link
up/down, handover) live in :mod:`orbemu.engine.network`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from orbemu.constants import NS_PER_S
from orbemu.engine.events import Crossings, Detector, refine_crossings
from orbemu.links.visibility import ground_links
from orbemu.orbits.events import hermite_position
from orbemu.orbits.ground_nodes import GroundNodes
from orbemu.orbits.sun import shadow_function
from orbemu.spacecraft.fleet import FleetParams, FleetState
from orbemu.spacecraft.power import battery_margin_wh, sunlit_margin_rad
from orbemu.spacecraft.storage import storage_margin_bits

__all__ = [
    "BatteryLow",
    "Eclipse",
    "FleetFrame",
    "StorageFull",
    "Visibility",
    "elevation_margin_deg",
    "interpolate_positions",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class FleetFrame:
    """The modelled satellites at one instant: ``r``/``v`` (m, 3) ITRF m and m/s, the Sun's
    ITRF unit direction and distance, the fleet state and parameters."""

    time_ns: int
    r: FloatArray
    v: FloatArray
    sun: FloatArray
    sun_distance_m: float
    state: FleetState
    params: FleetParams


def interpolate_positions(items: IntArray, r0: FloatArray, v0: FloatArray, r1: FloatArray,
                          v1: FloatArray, h_s: float, s: FloatArray) -> FloatArray:
    """Cubic Hermite positions of rows ``items`` at fractions ``s`` of an interval of ``h_s``
    seconds between two states (ITRF velocities are the derivatives of ITRF positions)."""
    items = np.asarray(items, np.int64)
    if h_s <= 0:
        return r0[items].copy()
    return hermite_position(r0[items], v0[items], r1[items], v1[items],
                            np.full(items.size, h_s), np.asarray(s, np.float64))


def _sun_between(f0: FleetFrame, f1: FleetFrame, s: FloatArray) -> tuple[FloatArray, FloatArray]:
    """(k, 3) unit Sun directions and (k,) distances, linear in between (the Sun turns 0.04°
    an hour: a chord error of 1e-10 rad over a step)."""
    s = np.asarray(s, np.float64)[:, None]
    u = f0.sun[None, :] * (1 - s) + f1.sun[None, :] * s
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    d = f0.sun_distance_m * (1 - s[:, 0]) + f1.sun_distance_m * s[:, 0]
    return u, d


class _FleetDetector(Detector):
    def __init__(self, names: npt.NDArray[np.object_], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.names = names

    def subjects(self, items: IntArray) -> list[str]:
        return [str(self.names[i]) for i in items]

    def details(self, crossings: Crossings) -> list[dict[str, Any] | None]:
        return [None] * len(crossings)


class Eclipse(_FleetDetector):
    """Shadow entry (falling) and exit (rising) of the modelled satellites."""

    name = "eclipse"
    rising_kind = "eclipse_exit"
    falling_kind = "eclipse_entry"

    def __init__(self, names: npt.NDArray[np.object_], model: str = "point", **kw: Any) -> None:
        super().__init__(names, **kw)
        self.model = model

    def values(self, frame: FleetFrame) -> FloatArray:
        g = sunlit_margin_rad(frame.r, frame.sun, frame.sun_distance_m,
                              model=self.model)  # type: ignore[arg-type]
        return np.where(frame.state.alive, g, np.nan)

    def values_at(self, items: IntArray, f0: FleetFrame, f1: FleetFrame, s: FloatArray
                  ) -> FloatArray:
        h = (f1.time_ns - f0.time_ns) / NS_PER_S
        r = interpolate_positions(items, f0.r, f0.v, f1.r, f1.v, h, s)
        u, d = _sun_between(f0, f1, s)
        return shadow_function(r, u * d[:, None], self.model)  # type: ignore[arg-type]


class BatteryLow(_FleetDetector):
    """The state of charge crossing the safe-mode entry threshold (``battery_low`` falling,
    ``battery_recovered`` rising)."""

    name = "battery"
    rising_kind = "battery_recovered"
    falling_kind = "battery_low"

    def values(self, frame: FleetFrame) -> FloatArray:
        g = battery_margin_wh(frame.state.power, frame.params.power)
        return np.where(frame.state.alive, g, np.nan)

    def values_at(self, items: IntArray, f0: FleetFrame, f1: FleetFrame, s: FloatArray
                  ) -> FloatArray:
        g0 = battery_margin_wh(f0.state.power, f0.params.power)[items]
        g1 = battery_margin_wh(f1.state.power, f1.params.power)[items]
        return g0 + np.asarray(s) * (g1 - g0)


class StorageFull(_FleetDetector):
    """Onboard storage unable to take one more image (``storage_full`` falling,
    ``storage_available`` rising)."""

    name = "storage"
    rising_kind = "storage_available"
    falling_kind = "storage_full"

    def _g(self, frame: FleetFrame) -> FloatArray:
        need = np.maximum(frame.params.imager.bits_per_image, 1.0)
        return storage_margin_bits(frame.state.storage, frame.params.storage) - need

    def values(self, frame: FleetFrame) -> FloatArray:
        return np.where(frame.state.alive, self._g(frame), np.nan)

    def values_at(self, items: IntArray, f0: FleetFrame, f1: FleetFrame, s: FloatArray
                  ) -> FloatArray:
        g0 = self._g(f0)[items]
        g1 = self._g(f1)[items]
        return g0 + np.asarray(s) * (g1 - g0)


def elevation_margin_deg(nodes: GroundNodes, node: IntArray, r_itrf_m: FloatArray
                         ) -> FloatArray:
    """(k,) visibility switching function of satellites at ``r_itrf_m`` (k, 3) from ``node``
    (k,): elevation minus the node's threshold toward that azimuth (mask), degrees; where the
    node has a range limit, the range margin scaled to degrees (90° per limit) when smaller.
    ≥ 0 exactly when :func:`orbemu.links.ground_links` counts the pair visible."""
    node = np.asarray(node, np.int64)
    d = np.asarray(r_itrf_m, np.float64) - nodes.itrf_m[node]
    enu = np.einsum("kij,kj->ki", nodes.enu[node], d)
    rng = np.linalg.norm(d, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        el = np.degrees(np.arcsin(np.clip(enu[:, 2] / rng, -1.0, 1.0)))
    az = np.mod(np.arctan2(enu[:, 0], enu[:, 1]), 2 * np.pi)
    g = el - nodes.min_elevation_at_deg(node, az)
    max_range = nodes.max_range_m[node]
    finite = np.isfinite(max_range)
    if finite.any():
        with np.errstate(invalid="ignore", divide="ignore"):
            g = np.minimum(g, np.where(finite, (max_range - rng) / (max_range / 90.0), np.inf))
    return g


class Visibility(Detector):
    """Contact windows opening (``aos``, rising) and closing (``los``, falling) between the
    modelled satellites and the stations (items are pairs ``sat × n_stations + station``)."""

    name = "visibility"
    rising_kind = "aos"
    falling_kind = "los"

    def __init__(self, stations: GroundNodes, sat_names: npt.NDArray[np.object_],
                 **kw: Any) -> None:
        super().__init__(**kw)
        self.stations = stations
        self.sat_names = sat_names
        self.keys: IntArray = np.zeros(0, np.int64)

    def _visible(self, frame: FleetFrame) -> IntArray:
        m = len(self.stations)
        if m == 0 or frame.r.shape[0] == 0:
            return np.zeros(0, np.int64)
        r = np.where(frame.state.alive[:, None], frame.r, np.nan)
        links = ground_links(self.stations, r)
        return np.sort(links.sat.astype(np.int64) * m + links.node)

    def values(self, frame: FleetFrame) -> FloatArray:  # pragma: no cover - not dense
        raise NotImplementedError("Visibility works on pair sets")

    def values_at(self, items: IntArray, f0: FleetFrame, f1: FleetFrame, s: FloatArray
                  ) -> FloatArray:
        m = len(self.stations)
        sat, node = items // m, items % m
        h = (f1.time_ns - f0.time_ns) / NS_PER_S
        r = interpolate_positions(sat, f0.r, f0.v, f1.r, f1.v, h, s)
        return elevation_margin_deg(self.stations, node, r)

    def start(self, frame: FleetFrame) -> None:
        self.keys = self._visible(frame)

    def _changes(self, keys: IntArray) -> tuple[IntArray, npt.NDArray[np.bool_]]:
        gained = np.setdiff1d(keys, self.keys, assume_unique=True)
        lost = np.setdiff1d(self.keys, keys, assume_unique=True)
        self.keys = keys
        items = np.concatenate([gained, lost])
        rising = np.concatenate([np.ones(gained.size, bool), np.zeros(lost.size, bool)])
        order = np.argsort(items, kind="stable")
        return items[order], rising[order]

    def step(self, frame0: FleetFrame, frame1: FleetFrame) -> Crossings:
        items, rising = self._changes(self._visible(frame1))
        if items.size == 0:
            return Crossings.empty(self.name)
        # A satellite that died or came back within the interval: its change is at frame1.
        m = len(self.stations)
        sat = items // m
        alive_both = frame0.state.alive[sat] & frame1.state.alive[sat]
        times = np.full(items.size, int(frame1.time_ns), np.int64)
        geo = np.flatnonzero(alive_both)
        if geo.size:
            times[geo] = refine_crossings(
                lambda it, s: self.values_at(it, frame0, frame1, s), items[geo],
                int(frame0.time_ns), int(frame1.time_ns), self.tolerance_s)
        return self._emit(Crossings(self.name, items, times, rising))

    def reseed(self, frame: FleetFrame) -> Crossings:
        items, rising = self._changes(self._visible(frame))
        times = np.full(items.size, int(frame.time_ns), np.int64)
        return self._emit(Crossings(self.name, items, times, rising))

    def subjects(self, items: IntArray) -> list[str]:
        m = len(self.stations)
        return [f"{self.sat_names[i // m]}@{self.stations.names[i % m]}" for i in items]

    def details(self, crossings: Crossings) -> list[dict[str, Any] | None]:
        return [None] * len(crossings)

    def state(self) -> Any:
        return self.keys.copy()

    def restore(self, state: Any) -> None:
        self.keys = np.asarray(state, np.int64).copy()
