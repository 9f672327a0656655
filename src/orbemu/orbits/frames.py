"""Reference frames: TEME → ITRF → geodetic WGS84, and topocentric azimuth/elevation/range.

Conventions
-----------
- Positions in metres, velocities in m/s, angles in radians. Vector arrays end in a length-3 axis.
- Ephemeris arrays are shaped ``(n_sats, n_times, 3)``; per-time quantities are ``(n_times,)``
  and broadcast over the satellite axis.
- TEME is SGP4's output frame (True Equator, Mean Equinox). TEME → PEF is a rotation by the
  Greenwich mean sidereal angle of IAU 1982 (GMST82) evaluated at UT1 (AIAA 2006-6753,
  appendix C); PEF → ITRF applies IERS polar motion (x_p, y_p) when available. This is the
  transformation Vallado's ``teme2ecef`` and Skyfield's ``TEME``→``itrs`` use; the difference
  from the full IAU-2006 chain is at the centimetre level for SGP4 (whose own error is ~km).
- Geodetic coordinates are on the WGS84 ellipsoid (``orbemu.constants``).
"""

from __future__ import annotations

import math

import numba
import numpy as np
import numpy.typing as npt

from orbemu.constants import (
    JD_J2000,
    S_PER_DAY,
    TAU,
    WGS72_A_M,
    WGS72_E2,
    WGS84_A_M,
    WGS84_E2,
    WGS84_F,
)
from orbemu.errors import UsageError
from orbemu.time import Time

__all__ = [
    "earth_rotation_terms",
    "enu_matrix",
    "finish_sgp4_states",
    "geodetic_to_itrf",
    "gmst82_rad",
    "itrf_to_geodetic",
    "teme_to_itrf",
    "topocentric",
]

FloatArray = npt.NDArray[np.float64]


def gmst82_rad(times: Time) -> tuple[FloatArray, FloatArray]:
    """Greenwich mean sidereal angle (IAU 1982) at the given UTC instants, evaluated at UT1.

    Returns ``(theta_rad, theta_dot_rad_s)`` shaped like ``times``. ``theta`` is in [0, 2π).
    """
    whole, frac = times.ut1_jd()
    t = (whole - JD_J2000 + frac) / 36525.0
    g = 67310.54841 + (8640184.812866 + (0.093104 + (-6.2e-6) * t) * t) * t
    dg = 8640184.812866 + (0.093104 * 2.0 + (-6.2e-6 * 3.0) * t) * t
    theta = ((whole % 1.0) + frac + (g / S_PER_DAY) % 1.0) % 1.0 * TAU
    theta_dot = (1.0 + dg / (S_PER_DAY * 36525.0)) * TAU / S_PER_DAY
    return theta, theta_dot


@numba.njit(cache=True, nogil=True)
def _state_kernel(r, v, err, scale, rotate, cos_t, sin_t, wdot, xp, yp):  # pragma: no cover
    """In place on ``(n_sats, n_times, 3)`` arrays: scale (km → m), NaN where ``err`` != 0, and
    when ``rotate`` is set, TEME → PEF (R3(θ), with the ω × r velocity term) → ITRF (R1(−y_p)
    R2(−x_p)). One pass over memory: this is the whole cost of the ITRF output."""
    n_sats, n_times = r.shape[0], r.shape[1]
    nan = np.nan
    for i in range(n_sats):
        for j in range(n_times):
            if err[i, j] != 0:
                for k in range(3):
                    r[i, j, k] = nan
                    v[i, j, k] = nan
                continue
            x, y, z = r[i, j, 0] * scale, r[i, j, 1] * scale, r[i, j, 2] * scale
            vx, vy, vz = v[i, j, 0] * scale, v[i, j, 1] * scale, v[i, j, 2] * scale
            if rotate:
                c, s, w = cos_t[j], sin_t[j], wdot[j]
                px = c * x + s * y
                py = -s * x + c * y
                qx = c * vx + s * vy + w * py
                qy = -s * vx + c * vy - w * px
                cx, sx, cy, sy = math.cos(xp[j]), math.sin(xp[j]), math.cos(yp[j]), math.sin(yp[j])
                x1 = cx * px + sx * z
                z1 = -sx * px + cx * z
                x, y, z = x1, cy * py - sy * z1, sy * py + cy * z1
                u1 = cx * qx + sx * vz
                w1 = -sx * qx + cx * vz
                vx, vy, vz = u1, cy * qy - sy * w1, sy * qy + cy * w1
            r[i, j, 0], r[i, j, 1], r[i, j, 2] = x, y, z
            v[i, j, 0], v[i, j, 1], v[i, j, 2] = vx, vy, vz


def earth_rotation_terms(times: Time, *, polar_motion: bool = True) -> tuple[FloatArray, ...]:
    """Per-instant terms of TEME → ITRF: ``(cos θ, sin θ, dθ/dt [rad/s], x_p, y_p [rad])``."""
    theta, theta_dot = gmst82_rad(times)
    if polar_motion:
        xp, yp = times.polar_motion_rad()
    else:
        xp = yp = np.zeros(times.shape)
    as_c = np.ascontiguousarray
    return (as_c(np.cos(theta)), as_c(np.sin(theta)), as_c(theta_dot, dtype=np.float64),
            as_c(xp, dtype=np.float64), as_c(yp, dtype=np.float64))


def finish_sgp4_states(
    r: FloatArray,
    v: FloatArray,
    err: npt.NDArray[np.uint8],
    *,
    scale: float,
    rotation: tuple[FloatArray, ...] | None,
) -> None:
    """Scale raw states in place, NaN the failed samples and optionally rotate TEME → ITRF.

    ``r``, ``v``: C-contiguous ``(n_sats, n_times, 3)``; ``err``: ``(n_sats, n_times)`` uint8;
    ``rotation``: the :func:`earth_rotation_terms` of the ``n_times`` instants, or None for TEME.
    """
    if rotation is None:
        empty = np.zeros(0)
        _state_kernel(r, v, err, scale, False, empty, empty, empty, empty, empty)
    else:
        _state_kernel(r, v, err, scale, True, *rotation)


def teme_to_itrf(
    r_teme_m: FloatArray,
    v_teme_m_s: FloatArray,
    times: Time,
    *,
    polar_motion: bool = True,
    out: tuple[FloatArray, FloatArray] | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Rotate TEME states to ITRF.

    Parameters
    ----------
    r_teme_m, v_teme_m_s: ``(n_sats, n_times, 3)`` (or ``(n_times, 3)``) positions and velocities.
    times: the ``(n_times,)`` UTC instants of the second-to-last axis.
    polar_motion: apply IERS polar motion from the bundled table.
    out: optional preallocated ``(r, v)`` arrays of the same shape (may alias the inputs).

    Returns ``(r_itrf_m, v_itrf_m_s)`` of the same shape. NaN in, NaN out.
    """
    r = np.asarray(r_teme_m, dtype=np.float64)
    v = np.asarray(v_teme_m_s, dtype=np.float64)
    squeeze = r.ndim == 2
    if squeeze:
        r, v = r[None], v[None]
    t = times if times.ndim == 1 else times.__getitem__(np.newaxis)
    if r.ndim != 3 or r.shape[-1] != 3 or r.shape[1] != t.size or v.shape != r.shape:
        raise UsageError(
            f"teme_to_itrf needs (n_sats, n_times, 3) arrays matching {t.size} times; "
            f"got r {np.shape(r_teme_m)}, v {np.shape(v_teme_m_s)}"
        )
    if out is None:
        r_out, v_out = r.copy(), v.copy()
    else:
        r_out, v_out = out
        if squeeze:
            r_out, v_out = r_out[None], v_out[None]
        if not (r_out.flags.c_contiguous and v_out.flags.c_contiguous):
            raise UsageError("teme_to_itrf(out=...) needs C-contiguous arrays")
        if r_out is not r:
            r_out[...] = r
        if v_out is not v:
            v_out[...] = v
    err = np.zeros(r_out.shape[:2], dtype=np.uint8)
    finish_sgp4_states(r_out, v_out, err, scale=1.0,
                       rotation=earth_rotation_terms(t, polar_motion=polar_motion))
    if squeeze:
        return r_out[0], v_out[0]
    return r_out, v_out


@numba.njit(cache=True, nogil=True)
def _geodetic_kernel(x, y, z, lat, lon, alt):  # pragma: no cover
    a = WGS84_A_M
    e2 = WGS84_E2
    b = a * math.sqrt(1.0 - e2)
    ep2 = e2 / (1.0 - e2)
    for k in range(x.size):
        xk, yk, zk = x[k], y[k], z[k]
        p = math.hypot(xk, yk)
        lon[k] = math.atan2(yk, xk)
        if p < 1e-9:
            lat[k] = math.copysign(math.pi / 2, zk)
            alt[k] = abs(zk) - b
            continue
        # Bowring's start, then Newton-like refinement on the parametric latitude: converges to
        # well below a micrometre in two rounds for any point from the Earth's centre region to GEO.
        beta = math.atan2(zk, p * (1.0 - WGS84_F))
        phi = 0.0
        for _ in range(3):
            sb, cb = math.sin(beta), math.cos(beta)
            phi = math.atan2(zk + ep2 * b * sb * sb * sb, p - e2 * a * cb * cb * cb)
            beta = math.atan2((1.0 - WGS84_F) * math.sin(phi), math.cos(phi))
        sphi, cphi = math.sin(phi), math.cos(phi)
        n = a / math.sqrt(1.0 - e2 * sphi * sphi)
        if abs(cphi) > 1e-3:
            h = p / cphi - n
        else:
            h = zk / sphi - n * (1.0 - e2)
        lat[k] = phi
        alt[k] = h



def itrf_to_geodetic(r_itrf_m: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """ITRF (ECEF) positions ``(..., 3)`` in metres → WGS84 geodetic (lat_rad, lon_rad, alt_m).

    Longitude in (−π, π]. Round trip with :func:`geodetic_to_itrf` is exact to < 1 mm from the
    Earth's surface to beyond GEO (tested). NaN positions give NaN outputs.
    """
    r = np.asarray(r_itrf_m, dtype=np.float64)
    shape = r.shape[:-1]
    flat = r.reshape(-1, 3)
    x, y, z = (np.ascontiguousarray(flat[:, i]) for i in range(3))
    lat, lon, alt = np.empty(x.size), np.empty(x.size), np.empty(x.size)
    _geodetic_kernel(x, y, z, lat, lon, alt)
    return lat.reshape(shape), lon.reshape(shape), alt.reshape(shape)


#: Ellipsoids :func:`geodetic_to_itrf` accepts: (semi-major axis m, first eccentricity squared).
ELLIPSOIDS: dict[str, tuple[float, float]] = {
    "WGS84": (WGS84_A_M, WGS84_E2),
    "WGS72": (WGS72_A_M, WGS72_E2),
}


def geodetic_to_itrf(lat_rad: npt.ArrayLike, lon_rad: npt.ArrayLike,
                     alt_m: npt.ArrayLike = 0.0, *, ellipsoid: str = "WGS84") -> FloatArray:
    """Geodetic coordinates → ITRF (ECEF) positions ``(..., 3)`` in metres.

    ``ellipsoid`` is ``"WGS84"`` (orbemu's ground geodesy) or ``"WGS72"`` (for reproducing tools
    that place stations on SGP4's ellipsoid, e.g. Hypatia; the two differ by up to ~2 m).
    """
    if ellipsoid not in ELLIPSOIDS:
        raise UsageError(f"ellipsoid must be one of {sorted(ELLIPSOIDS)}, got {ellipsoid!r}")
    a, e2 = ELLIPSOIDS[ellipsoid]
    lat = np.asarray(lat_rad, dtype=np.float64)
    lon = np.asarray(lon_rad, dtype=np.float64)
    alt = np.asarray(alt_m, dtype=np.float64)
    sl, cl = np.sin(lat), np.cos(lat)
    n = a / np.sqrt(1.0 - e2 * sl * sl)
    x = (n + alt) * cl * np.cos(lon)
    y = (n + alt) * cl * np.sin(lon)
    z = (n * (1.0 - e2) + alt) * sl
    return np.stack(np.broadcast_arrays(x, y, z), axis=-1)


def enu_matrix(lat_rad: npt.ArrayLike, lon_rad: npt.ArrayLike) -> FloatArray:
    """Rotation matrices ITRF → local East-North-Up at geodetic (lat, lon): shape ``(..., 3, 3)``.

    Rows are the unit vectors east, north, up expressed in ITRF, so ``enu = M @ d_itrf``.
    """
    lat = np.asarray(lat_rad, dtype=np.float64)
    lon = np.asarray(lon_rad, dtype=np.float64)
    sl, cl, so, co = np.sin(lat), np.cos(lat), np.sin(lon), np.cos(lon)
    zero = np.zeros_like(sl * so)
    east = np.stack(np.broadcast_arrays(-so, co, zero), axis=-1)
    north = np.stack(np.broadcast_arrays(-sl * co, -sl * so, cl), axis=-1)
    up = np.stack(np.broadcast_arrays(cl * co, cl * so, sl), axis=-1)
    return np.stack([east, north, up], axis=-2)


def topocentric(
    r_target_itrf_m: FloatArray,
    site_itrf_m: FloatArray,
    site_enu: FloatArray,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Azimuth, elevation and range of targets seen from one site.

    Parameters
    ----------
    r_target_itrf_m: ``(..., 3)`` target positions in ITRF, metres.
    site_itrf_m: ``(3,)`` the site's ITRF position.
    site_enu: ``(3, 3)`` the site's :func:`enu_matrix`.

    Returns ``(azimuth_rad, elevation_rad, range_m)``; azimuth from north through east in [0, 2π).
    """
    d = np.asarray(r_target_itrf_m, dtype=np.float64) - np.asarray(site_itrf_m, dtype=np.float64)
    enu = d @ np.asarray(site_enu).T
    e, n, u = enu[..., 0], enu[..., 1], enu[..., 2]
    rng = np.sqrt(e * e + n * n + u * u)
    el = np.arcsin(np.clip(u / rng, -1.0, 1.0))
    az = np.arctan2(e, n) % TAU
    return az, el, rng
