"""Synthetic Earth-observation tiles: deterministic land, water and cloud scenes with ground truth.

What an imager sees over a target at a capture, made here (nothing is downloaded): a small
multispectral *preview* tile of the scene — ``pixels × pixels`` pixels in four bands (blue,
green, red, near infrared; reflectance × 255 as uint8) — for onboard processing, with its ground
truth: the fraction of the tile under thick cloud and the fraction that is land. The data volume
of the real scene is the imager's (:attr:`~orbemu.spacecraft.classes.ImagerSpec.bits_per_image`:
pixels × bands × bit depth ÷ compression); the preview is what an onboard model can afford to
look at.

The world is procedural and fixed by a seed: value noise on the unit sphere (a hash of the
integer lattice, trilinear with smoothstep weights), summed over octaves of feature sizes from
thousands of kilometres to a kilometre (fractal Brownian motion):

- **land/water**: ``fbm(p) > threshold`` (about 30 % land); land is vegetated or bare
  (desert — bright in every band, the hard case for a brightness-only cloud test), the bare
  share rising in the subtropics;
- **clouds**: a density field advected by a wind (so a target imaged twice shows different
  clouds), biased by latitude (the intertropical convergence zone and the mid-latitude storm
  tracks cloudier, the subtropics clearer); opacity ``α = smoothstep`` of the density; a pixel is
  *thick cloud* where ``α ≥ 0.5``;
- **radiometry**: ``(1 − α) · surface + α · cloud`` per band, plus sensor noise (uniform,
  σ = 0.01 reflectance, drawn from the same hash: deterministic).

Octaves whose features are much larger than the tile (over 16 tile sizes) are evaluated once at
the tile's centre: they do not vary across it, and it keeps a 64 × 64 tile at about a
millisecond. Coordinates: geodetic latitude/longitude on a sphere of radius
:data:`~orbemu.constants.EARTH_RADIUS_M` (a tile's geometry, not geodesy).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from orbemu.constants import EARTH_RADIUS_M, NS_PER_S
from orbemu.errors import UsageError

__all__ = ["BANDS", "Tiles", "render_tiles"]

FloatArray = npt.NDArray[np.float64]

#: Band order of a tile's last axis.
BANDS = ("blue", "green", "red", "nir")
# Surface and cloud reflectances per band (illustrative, of the right order for each cover).
_WATER = np.array([0.07, 0.06, 0.04, 0.02])
_VEGETATION = np.array([0.04, 0.08, 0.05, 0.40])
_BARE = np.array([0.30, 0.40, 0.50, 0.55])
_SNOW = np.array([0.86, 0.84, 0.80, 0.60])
_CLOUD = np.array([0.78, 0.79, 0.78, 0.75])
_NOISE = 0.01
_LAND_THRESHOLD = 0.12
_R_KM = EARTH_RADIUS_M / 1e3
# Octave feature sizes (km) and amplitudes.
_LAND_OCTAVES = tuple((3000.0 / 2**i, 0.55**i) for i in range(9))
_COVER_OCTAVES = tuple((1500.0 / 2**i, 0.6**i) for i in range(6))
_TEXTURE_OCTAVES = ((8.0, 1.0), (4.0, 0.6))
_CLOUD_OCTAVES = tuple((1200.0 / 2**i, 0.72**i) for i in range(10))
_CIRRUS_OCTAVES = tuple((600.0 / 2**i, 0.6**i) for i in range(6))
_WIND_KM_H = np.array([28.0, -17.0, 9.0])  # displacement of the cloud field, km per hour
#: Noise fields are evaluated on a grid of at most this many points a side, then bilinearly
#: interpolated to the tile's pixels (the finest features are ~2 km; a tile is ~10–40 km).
_GRID = 16

_M1 = np.uint64(0x9E3779B97F4A7C15)
_M2 = np.uint64(0xC2B2AE3D27D4EB4F)
_M3 = np.uint64(0x165667B19E3779F9)
_M4 = 0x27D4EB2F165667C5
_F1 = np.uint64(0xFF51AFD7ED558CCD)
_F2 = np.uint64(0xC4CEB9FE1A85EC53)
_S33 = np.uint64(33)
_S11 = np.uint64(11)
_MASK = 0xFFFFFFFFFFFFFFFF


@dataclass(frozen=True, eq=False)
class Tiles:
    """``k`` rendered tiles.

    pixels: ``(k, p, p, 4)`` uint8, reflectance × 255 in :data:`BANDS` order (row 0 north,
    column 0 west). cloud_fraction, land_fraction: ``(k,)`` ground truth (thick cloud α ≥ 0.5;
    land under it counts as land). ground_size_m: ``(k,)`` side of each tile on the ground.
    """

    pixels: npt.NDArray[np.uint8]
    cloud_fraction: FloatArray
    land_fraction: FloatArray
    ground_size_m: FloatArray

    def __len__(self) -> int:
        return int(self.pixels.shape[0])


def _hash01(ix: npt.NDArray[np.int64], iy: npt.NDArray[np.int64], iz: npt.NDArray[np.int64],
            salt: int) -> FloatArray:
    """Uniform [0, 1) per integer lattice point (a splitmix64-style mix; deterministic)."""
    h = (ix.view(np.uint64) * _M1) ^ (iy.view(np.uint64) * _M2) ^ (iz.view(np.uint64) * _M3)
    h = h ^ np.uint64((salt * _M4) & _MASK)
    h ^= h >> _S33
    h *= _F1
    h ^= h >> _S33
    h *= _F2
    h ^= h >> _S33
    return (h >> _S11).astype(np.float64) * (1.0 / 2**53)


def _value_noise(q: FloatArray, salt: int) -> FloatArray:
    """Value noise in [−1, 1] at points ``q`` (..., 3) (lattice spacing 1)."""
    base = np.floor(q)
    f = q - base
    i = base.astype(np.int64)
    w = f * f * (3.0 - 2.0 * f)
    out = np.zeros(q.shape[:-1])
    for dx in (0, 1):
        wx = w[..., 0] if dx else 1.0 - w[..., 0]
        for dy in (0, 1):
            wy = w[..., 1] if dy else 1.0 - w[..., 1]
            for dz in (0, 1):
                wz = w[..., 2] if dz else 1.0 - w[..., 2]
                out += wx * wy * wz * _hash01(i[..., 0] + dx, i[..., 1] + dy, i[..., 2] + dz,
                                              salt)
    return 2.0 * out - 1.0


def _fbm(p_km: FloatArray, centre_km: FloatArray, octaves: tuple[tuple[float, float], ...],
         salt: int, tile_km: FloatArray) -> FloatArray:
    """Sum of octaves at points ``p_km`` (k, n, 3); octaves far larger than a tile are evaluated
    at its centre ``centre_km`` (k, 3). Normalised by the amplitudes' sum."""
    total = np.zeros(p_km.shape[:-1])
    norm = 0.0
    big = float(np.max(tile_km)) * 16.0
    for j, (size_km, amp) in enumerate(octaves):
        s = salt * 131 + j
        if size_km > big:
            total += amp * _value_noise(centre_km / size_km, s)[:, None]
        else:
            total += amp * _value_noise(p_km / size_km, s)
        norm += amp
    return total / norm


def _unit(lat: FloatArray, lon: FloatArray) -> FloatArray:
    c = np.cos(lat)
    return np.stack([c * np.cos(lon), c * np.sin(lon), np.sin(lat)], axis=-1)


def _smoothstep(a: float, b: float, x: FloatArray) -> FloatArray:
    t = np.clip((x - a) / (b - a), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _cloud_bias(lat_deg: FloatArray) -> FloatArray:
    """Latitude climatology of cloudiness added to the density (ITCZ and storm tracks up,
    subtropical highs down)."""
    a = np.abs(lat_deg)
    return (0.16 * np.exp(-((a - 4.0) / 9.0) ** 2) - 0.20 * np.exp(-((a - 25.0) / 9.0) ** 2)
            + 0.12 * np.exp(-((a - 55.0) / 12.0) ** 2))


def _upsample(field: FloatArray, g: int, p: int) -> FloatArray:
    """Bilinear interpolation of ``(k, g*g)`` grid values (cell centres) to ``(k, p*p)``."""
    if g == p:
        return field
    k = field.shape[0]
    f = field.reshape(k, g, g)
    x = np.clip((np.arange(p) + 0.5) * g / p - 0.5, 0.0, g - 1.0)
    i0 = np.minimum(np.floor(x).astype(np.int64), g - 2)
    w = x - i0
    rows = f[:, i0, :] * (1 - w)[None, :, None] + f[:, i0 + 1, :] * w[None, :, None]
    out = rows[:, :, i0] * (1 - w)[None, None, :] + rows[:, :, i0 + 1] * w[None, None, :]
    return out.reshape(k, p * p)


def _grid_points(lat: FloatArray, lon: FloatArray, size: FloatArray, n: int) -> FloatArray:
    """(k, n*n, 3) points (km, Earth-centred) at the centres of an n × n grid over each tile
    (row 0 north, column 0 west)."""
    off = (np.arange(n) + 0.5) / n - 0.5
    east = off[None, None, :] * size[:, None, None]
    north = -off[None, :, None] * size[:, None, None]
    lat0 = np.radians(lat)[:, None, None]
    lon0 = np.radians(lon)[:, None, None]
    plat = lat0 + north / EARTH_RADIUS_M
    plon = lon0 + east / (EARTH_RADIUS_M * np.maximum(np.cos(lat0), 1e-3))
    plat, plon = np.broadcast_arrays(plat, plon)
    return _unit(plat, plon).reshape(lat.size, n * n, 3) * _R_KM


def render_tiles(lat_deg: npt.ArrayLike, lon_deg: npt.ArrayLike, time_ns: npt.ArrayLike,
                 ground_size_m: npt.ArrayLike, *, pixels: int = 64, seed: int = 0) -> Tiles:
    """Tiles centred at ``lat_deg``/``lon_deg`` (k,) at ``time_ns`` (k,) (int ns UTC) covering
    ``ground_size_m`` (k,) on a side, ``pixels`` × ``pixels`` each (module notes). Pure and
    deterministic: the same inputs and seed give the same bytes."""
    lat = np.atleast_1d(np.asarray(lat_deg, np.float64))
    k = lat.size
    lon = np.broadcast_to(np.asarray(lon_deg, np.float64), (k,))
    t_ns = np.broadcast_to(np.asarray(time_ns, np.int64), (k,))
    size = np.broadcast_to(np.asarray(ground_size_m, np.float64), (k,)).copy()
    if not 2 <= int(pixels) <= 120:
        raise UsageError(f"pixels must be 2..120 (a preview tile), got {pixels}")
    if np.any(~np.isfinite(lat)) or np.any(np.abs(lat) > 90) or np.any(~(size > 0)):
        raise UsageError("tiles need finite latitudes in [-90, 90] and ground sizes > 0")
    p = int(pixels)
    g = min(p, _GRID)
    pts = _grid_points(lat, lon, size, g)
    centre = _unit(np.radians(lat), np.radians(lon)) * _R_KM
    tile_km = size / 1e3
    salt = int(seed) * 7919

    def field(octaves: tuple[tuple[float, float], ...], s: int, shift: FloatArray | None = None
              ) -> FloatArray:
        if shift is None:
            return _upsample(_fbm(pts, centre, octaves, salt + s, tile_km), g, p)
        return _upsample(_fbm(pts + shift[:, None, :], centre + shift, octaves, salt + s,
                              tile_km), g, p)

    # surface: water or land; land is vegetated, bare (arid belts) or snow (high latitudes)
    land = field(_LAND_OCTAVES, 1) > _LAND_THRESHOLD
    abs_lat = np.abs(lat)[:, None]
    arid = 0.35 * np.exp(-((abs_lat - 24.0) / 10.0) ** 2) - 0.1
    cover = field(_COVER_OCTAVES, 2)
    bare_w = _smoothstep(-0.05, 0.10, cover + arid)
    snow_w = _smoothstep(0.0, 0.15, cover + (abs_lat - 62.0) / 20.0)
    texture = 1.0 + 0.12 * field(_TEXTURE_OCTAVES, 3)
    land_refl = ((1.0 - bare_w)[..., None] * _VEGETATION + bare_w[..., None] * _BARE)
    land_refl = (1.0 - snow_w)[..., None] * land_refl + snow_w[..., None] * _SNOW
    surface = np.where(land[..., None], land_refl * texture[..., None],
                       _WATER * (1.0 + 0.05 * (texture[..., None] - 1.0)))
    # clouds, advected by the wind: thin cirrus (never "thick"), then thick cloud
    hours = (t_ns - 1_700_000_000 * NS_PER_S) / (3600.0 * NS_PER_S)
    shift = hours[:, None] * _WIND_KM_H
    thin = 0.4 * _smoothstep(0.05, 0.35, field(_CIRRUS_OCTAVES, 5, 0.5 * shift))
    density = field(_CLOUD_OCTAVES, 4, shift) + _cloud_bias(lat)[:, None]
    alpha = 0.95 * _smoothstep(0.0, 0.14, density)
    refl = (1.0 - thin[..., None]) * surface + thin[..., None] * _CLOUD
    refl = (1.0 - alpha[..., None]) * refl + alpha[..., None] * _CLOUD
    # sensor noise, deterministic: a hash of (tile position and time, pixel, band)
    idx = np.arange(p * p * 4, dtype=np.int64).reshape(1, p * p, 4)
    tkey = (np.round(lat * 1e5).astype(np.int64) * 1_000_003
            + np.round(lon * 1e5).astype(np.int64) + t_ns // NS_PER_S * 7)[:, None, None]
    tk = np.broadcast_to(tkey, (k, p * p, 4))
    ix = np.broadcast_to(idx, (k, p * p, 4))
    u = _hash01(tk, ix, np.ones_like(ix), salt + 5)
    refl = refl + _NOISE * np.sqrt(12.0) * (u - 0.5)  # uniform, standard deviation _NOISE
    pix = np.clip(np.rint(refl * 255.0), 0, 255).astype(np.uint8).reshape(k, p, p, 4)
    return Tiles(pixels=pix, cloud_fraction=(alpha >= 0.5).mean(axis=1),
                 land_fraction=land.mean(axis=1), ground_size_m=size)
