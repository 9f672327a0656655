"""GroundNodes: stations, gateways, PoPs, user terminals, remote sites and cloud regions.

A ``GroundNodes`` holds ``m`` fixed points on the Earth as arrays (the ground counterpart of
:class:`~orbemu.orbits.elements.ElementSet`); the row order is the ground-node index used by every
later stage. It lives in the orbits layer because pass finding and link visibility need it.

Visibility rule of a node (used by passes and ground links): a satellite is visible when its
elevation is at least ``max(min_elevation_deg[i], mask(i, azimuth))`` and, if
``max_range_m[i]`` is finite, its slant range is at most that.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from orbemu.constants import DEG
from orbemu.errors import Rejection, UsageError
from orbemu.orbits.frames import enu_matrix, geodetic_to_itrf

__all__ = ["MASK_BINS", "GroundNodes"]

#: Azimuth masks are tabulated at every whole degree of azimuth 0..359 (linear in between).
MASK_BINS = 360

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class GroundNodes:
    """``m`` ground nodes.

    Attributes
    ----------
    names: (m,) object array of str, unique within the set.
    lat_deg, lon_deg: (m,) WGS84 geodetic latitude and longitude, degrees.
    alt_m: (m,) height above the WGS84 ellipsoid, metres.
    min_elevation_deg: (m,) minimum elevation for a usable link/pass, degrees.
    max_range_m: (m,) maximum slant range, metres; ``inf`` for no limit.
    roles: (m,) object array of str: ``station``, ``gateway``, ``pop``, ``city``, ``site``,
        ``cloud``, ``terminal`` (free text is allowed; these are the ones later stages know).
    networks: (m,) object array of str: the operator or list a node came from (``ksat``...).
    mask_deg: optional (m, 360) minimum elevation per whole degree of azimuth (north=0, east=90);
        rows without a mask hold -90. Combined with ``min_elevation_deg`` by ``max``.
    source: where the set came from.
    rejections: rows a lenient load skipped.
    """

    names: npt.NDArray[np.object_]
    lat_deg: FloatArray
    lon_deg: FloatArray
    alt_m: FloatArray
    min_elevation_deg: FloatArray
    max_range_m: FloatArray
    roles: npt.NDArray[np.object_]
    networks: npt.NDArray[np.object_]
    mask_deg: FloatArray | None = None
    source: str = ""
    rejections: tuple[Rejection, ...] = ()
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        m = len(self.names)
        for name in ("lat_deg", "lon_deg", "alt_m", "min_elevation_deg", "max_range_m",
                     "roles", "networks"):
            if len(getattr(self, name)) != m:
                raise UsageError(f"GroundNodes.{name} has {len(getattr(self, name))} entries "
                                 f"for {m} nodes")
        if self.mask_deg is not None and self.mask_deg.shape != (m, MASK_BINS):
            raise UsageError(f"GroundNodes.mask_deg must be ({m}, {MASK_BINS}), "
                             f"got {self.mask_deg.shape}")
        bad_lat = np.flatnonzero(np.abs(self.lat_deg) > 90)
        bad_lon = np.flatnonzero(np.abs(self.lon_deg) > 180)
        if bad_lat.size or bad_lon.size:
            i = int(bad_lat[0] if bad_lat.size else bad_lon[0])
            raise UsageError(f"ground node {self.names[i]!r} has lat/lon out of range: "
                             f"{self.lat_deg[i]}, {self.lon_deg[i]}")

    @classmethod
    def from_arrays(
        cls,
        names: Sequence[str],
        lat_deg: npt.ArrayLike,
        lon_deg: npt.ArrayLike,
        alt_m: npt.ArrayLike = 0.0,
        *,
        min_elevation_deg: npt.ArrayLike = 0.0,
        max_range_m: npt.ArrayLike = np.inf,
        roles: str | Sequence[str] = "station",
        networks: str | Sequence[str] = "",
        mask_deg: FloatArray | None = None,
        source: str = "",
        rejections: Sequence[Rejection] = (),
    ) -> GroundNodes:
        """Build from plain values; scalars broadcast to every node."""
        m = len(names)

        def floats(x: npt.ArrayLike) -> FloatArray:
            return np.broadcast_to(np.asarray(x, dtype=np.float64), (m,)).copy()

        def texts(x: str | Sequence[str]) -> npt.NDArray[np.object_]:
            out = np.empty(m, dtype=object)
            out[:] = [x] * m if isinstance(x, str) else list(x)
            return out

        return cls(
            names=texts(list(names)),
            lat_deg=floats(lat_deg),
            lon_deg=floats(lon_deg),
            alt_m=floats(alt_m),
            min_elevation_deg=floats(min_elevation_deg),
            max_range_m=floats(max_range_m),
            roles=texts(roles),
            networks=texts(networks),
            mask_deg=None if mask_deg is None else np.asarray(mask_deg, dtype=np.float64),
            source=source,
            rejections=tuple(rejections),
        )

    @classmethod
    def concat(cls, parts: Sequence[GroundNodes], *, source: str | None = None) -> GroundNodes:
        if not parts:
            raise UsageError("GroundNodes.concat needs at least one set")
        masks = None
        if any(p.mask_deg is not None for p in parts):
            masks = np.concatenate([p.mask_deg if p.mask_deg is not None
                                    else np.full((len(p), MASK_BINS), -90.0) for p in parts])
        return cls(
            names=np.concatenate([p.names for p in parts]),
            lat_deg=np.concatenate([p.lat_deg for p in parts]),
            lon_deg=np.concatenate([p.lon_deg for p in parts]),
            alt_m=np.concatenate([p.alt_m for p in parts]),
            min_elevation_deg=np.concatenate([p.min_elevation_deg for p in parts]),
            max_range_m=np.concatenate([p.max_range_m for p in parts]),
            roles=np.concatenate([p.roles for p in parts]),
            networks=np.concatenate([p.networks for p in parts]),
            mask_deg=masks,
            source=source if source is not None else " + ".join(p.source for p in parts),
            rejections=tuple(r for p in parts for r in p.rejections),
        )

    def __len__(self) -> int:
        return len(self.names)

    def __repr__(self) -> str:
        return f"GroundNodes(<{len(self)} nodes from {self.source or 'memory'}>)"

    def select(self, index: Any) -> GroundNodes:
        """A subset by indices, mask or slice."""
        idx = np.atleast_1d(np.arange(len(self))[index])
        return replace(
            self,
            names=self.names[idx], lat_deg=self.lat_deg[idx], lon_deg=self.lon_deg[idx],
            alt_m=self.alt_m[idx], min_elevation_deg=self.min_elevation_deg[idx],
            max_range_m=self.max_range_m[idx], roles=self.roles[idx],
            networks=self.networks[idx],
            mask_deg=None if self.mask_deg is None else self.mask_deg[idx],
            _cache={},
        )

    def index_of(self, name: str) -> int:
        hits = np.flatnonzero(self.names == name)
        if hits.size == 0:
            lowered = np.array([str(n).lower() for n in self.names])
            hits = np.flatnonzero(lowered == name.lower())
        if hits.size == 0:
            raise UsageError(f"no ground node named {name!r} in {self!r}")
        return int(hits[0])

    def with_min_elevation(self, min_elevation_deg: npt.ArrayLike) -> GroundNodes:
        m = len(self)
        return replace(self, min_elevation_deg=np.broadcast_to(
            np.asarray(min_elevation_deg, np.float64), (m,)).copy(), _cache={})

    def with_max_range(self, max_range_m: npt.ArrayLike) -> GroundNodes:
        m = len(self)
        return replace(self, max_range_m=np.broadcast_to(
            np.asarray(max_range_m, np.float64), (m,)).copy(), _cache={})

    # ---- geometry (cached) -------------------------------------------------------------------
    @property
    def itrf_m(self) -> FloatArray:
        """(m, 3) ITRF positions, metres."""
        if "itrf" not in self._cache:
            self._cache["itrf"] = geodetic_to_itrf(self.lat_deg * DEG, self.lon_deg * DEG,
                                                   self.alt_m)
        return self._cache["itrf"]

    @property
    def enu(self) -> FloatArray:
        """(m, 3, 3) ITRF → East-North-Up rotation per node."""
        if "enu" not in self._cache:
            self._cache["enu"] = enu_matrix(self.lat_deg * DEG, self.lon_deg * DEG)
        return self._cache["enu"]

    def min_elevation_at_deg(self, node: npt.ArrayLike, azimuth_rad: npt.ArrayLike) -> FloatArray:
        """The elevation threshold (deg) of ``node`` toward ``azimuth_rad`` (broadcasting)."""
        node = np.asarray(node)
        base = self.min_elevation_deg[node]
        if self.mask_deg is None:
            return np.broadcast_to(base, np.broadcast(node, azimuth_rad).shape).astype(float)
        az_deg = np.mod(np.degrees(azimuth_rad), 360.0)
        lo = np.floor(az_deg).astype(np.intp) % MASK_BINS
        hi = (lo + 1) % MASK_BINS
        w = az_deg - np.floor(az_deg)
        mask = self.mask_deg[node, lo] * (1 - w) + self.mask_deg[node, hi] * w
        return np.maximum(base, mask)

    @staticmethod
    def mask_from_points(
        azimuth_deg: Iterable[float], elevation_deg: Iterable[float]
    ) -> FloatArray:
        """A (360,) mask row from (azimuth, min elevation) points, linear and periodic."""
        az = np.asarray(list(azimuth_deg), dtype=np.float64) % 360.0
        el = np.asarray(list(elevation_deg), dtype=np.float64)
        if az.size == 0 or az.size != el.size:
            raise UsageError("a mask needs matching, non-empty azimuth and elevation lists")
        order = np.argsort(az)
        return np.interp(np.arange(MASK_BINS, dtype=np.float64), az[order], el[order],
                         period=360.0)
