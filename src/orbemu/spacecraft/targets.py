"""Imaging targets: fixed points on the Earth with priorities and a revisit interval.

A :class:`Targets` holds ``m`` points as arrays (the imaging counterpart of
:class:`~orbemu.orbits.ground_nodes.GroundNodes`); the row order is the target index used in
states and records. ``priority``: larger is more important. ``revisit_s``: once any satellite has
captured a target, no satellite captures it again before this many seconds have passed.

The geometry the imager needs (ITRF positions, geodetic up vectors, geocentric unit vectors and a
uniform 3-D grid of those unit vectors for candidate search) is computed once and cached.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from orbemu.constants import DEG
from orbemu.errors import UsageError
from orbemu.orbits.frames import enu_matrix, geodetic_to_itrf
from orbemu.orbits.ground_nodes import GroundNodes

__all__ = ["TargetGrid", "Targets"]

FloatArray = npt.NDArray[np.float64]

#: Default revisit interval: one capture of a target per day.
DEFAULT_REVISIT_S = 86_400.0
#: The candidate grid has at most this many cells along an axis (memory bound).
_MAX_CELLS_PER_AXIS = 64


@dataclass(frozen=True, eq=False)
class TargetGrid:
    """Target unit vectors counting-sorted into a cube of ``dims³`` cells over [−1, 1]³.

    ``cell_start[c] .. cell_start[c + 1]`` index ``items`` (target rows) of cell ``c``, with
    ``c = (ix · dims + iy) · dims + iz`` and ``ix = floor((x + 1) / cell)`` clipped.
    """

    dims: int
    cell: float
    cell_start: npt.NDArray[np.int64]
    items: npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class Targets:
    """``m`` imaging targets.

    Attributes
    ----------
    names: (m,) object array of str.
    lat_deg, lon_deg: (m,) WGS84 geodetic latitude and longitude, degrees.
    alt_m: (m,) height above the WGS84 ellipsoid, metres.
    priority: (m,) float; larger is captured first.
    revisit_s: (m,) minimum time between two captures of the target (by any satellite), s.
    """

    names: npt.NDArray[np.object_]
    lat_deg: FloatArray
    lon_deg: FloatArray
    alt_m: FloatArray
    priority: FloatArray
    revisit_s: FloatArray
    source: str = ""
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        m = len(self.names)
        for name in ("lat_deg", "lon_deg", "alt_m", "priority", "revisit_s"):
            if np.shape(getattr(self, name)) != (m,):
                raise UsageError(f"Targets.{name} must have shape ({m},), got "
                                 f"{np.shape(getattr(self, name))}")
        for name in ("lat_deg", "lon_deg", "alt_m", "priority", "revisit_s"):
            if not np.all(np.isfinite(getattr(self, name))):
                i = int(np.flatnonzero(~np.isfinite(getattr(self, name)))[0])
                raise UsageError(f"target {self.names[i]!r} has a non-finite {name}")
        if np.any(np.abs(self.lat_deg) > 90) or np.any(np.abs(self.lon_deg) > 180):
            i = int(np.flatnonzero((np.abs(self.lat_deg) > 90)
                                   | (np.abs(self.lon_deg) > 180))[0])
            raise UsageError(f"target {self.names[i]!r} has lat/lon out of range: "
                             f"{self.lat_deg[i]}, {self.lon_deg[i]}")
        if np.any(self.revisit_s < 0):
            raise UsageError("Targets.revisit_s must be >= 0")

    @classmethod
    def from_arrays(cls, names: Sequence[str], lat_deg: npt.ArrayLike, lon_deg: npt.ArrayLike,
                    alt_m: npt.ArrayLike = 0.0, *, priority: npt.ArrayLike = 1.0,
                    revisit_s: npt.ArrayLike = DEFAULT_REVISIT_S, source: str = "") -> Targets:
        """Build from plain values; scalars broadcast to every target."""
        m = len(names)

        def floats(x: npt.ArrayLike) -> FloatArray:
            return np.broadcast_to(np.asarray(x, dtype=np.float64), (m,)).copy()

        arr = np.empty(m, dtype=object)
        arr[:] = [str(x) for x in names]
        return cls(names=arr, lat_deg=floats(lat_deg), lon_deg=floats(lon_deg),
                   alt_m=floats(alt_m), priority=floats(priority),
                   revisit_s=floats(revisit_s), source=source)

    @classmethod
    def from_ground_nodes(cls, nodes: GroundNodes, *, priority: npt.ArrayLike = 1.0,
                          revisit_s: npt.ArrayLike = DEFAULT_REVISIT_S) -> Targets:
        """Targets at the positions of ground nodes (cities, sites...)."""
        return cls.from_arrays(list(nodes.names), nodes.lat_deg, nodes.lon_deg, nodes.alt_m,
                               priority=priority, revisit_s=revisit_s, source=nodes.source)

    @classmethod
    def empty(cls) -> Targets:
        return cls.from_arrays([], [], [])

    def __len__(self) -> int:
        return len(self.names)

    def __repr__(self) -> str:
        return f"Targets(<{len(self)} targets from {self.source or 'memory'}>)"

    # ---- geometry (cached) -------------------------------------------------------------------
    @property
    def itrf_m(self) -> FloatArray:
        """(m, 3) ITRF positions, metres."""
        if "itrf" not in self._cache:
            self._cache["itrf"] = np.ascontiguousarray(geodetic_to_itrf(
                self.lat_deg * DEG, self.lon_deg * DEG, self.alt_m).reshape(-1, 3))
        return self._cache["itrf"]

    @property
    def up(self) -> FloatArray:
        """(m, 3) geodetic up (ellipsoid normal) unit vectors, ITRF."""
        if "up" not in self._cache:
            self._cache["up"] = np.ascontiguousarray(
                enu_matrix(self.lat_deg * DEG, self.lon_deg * DEG).reshape(-1, 3, 3)[:, 2])
        return self._cache["up"]

    @property
    def unit(self) -> FloatArray:
        """(m, 3) geocentric unit vectors."""
        if "unit" not in self._cache:
            p = self.itrf_m
            self._cache["unit"] = p / np.sqrt(np.sum(p * p, axis=1))[:, None]
        return self._cache["unit"]

    @property
    def revisit_ns(self) -> npt.NDArray[np.int64]:
        """(m,) revisit intervals, integer ns."""
        if "revisit_ns" not in self._cache:
            self._cache["revisit_ns"] = np.round(self.revisit_s * 1e9).astype(np.int64)
        return self._cache["revisit_ns"]

    @property
    def min_radius_m(self) -> float:
        """Smallest geocentric distance of any target (inf for none)."""
        if "rmin" not in self._cache:
            p = self.itrf_m
            self._cache["rmin"] = (float(np.sqrt(np.min(np.sum(p * p, axis=1))))
                                   if len(self) else np.inf)
        return float(self._cache["rmin"])

    def grid(self, chord: float) -> TargetGrid:
        """The candidate grid for search radius ``chord`` (on the unit sphere), cached.

        Cells are at least ``chord`` wide (at most 64 per axis), so a box query around a point
        touches at most 3 cells per axis.
        """
        dims = int(np.clip(np.floor(2.0 / max(chord, 1e-9)), 1, _MAX_CELLS_PER_AXIS))
        key = f"grid{dims}"
        if key not in self._cache:
            cell = 2.0 / dims
            idx = np.clip(np.floor((self.unit + 1.0) / cell).astype(np.int64), 0, dims - 1)
            flat = (idx[:, 0] * dims + idx[:, 1]) * dims + idx[:, 2]
            order = np.argsort(flat, kind="stable")
            counts = np.bincount(flat, minlength=dims ** 3)
            start = np.zeros(dims ** 3 + 1, dtype=np.int64)
            np.cumsum(counts, out=start[1:])
            self._cache[key] = TargetGrid(dims=dims, cell=cell, cell_start=start,
                                          items=order.astype(np.int64))
        grid: TargetGrid = self._cache[key]
        return grid
