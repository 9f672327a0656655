"""Attitude as modes with slews: where the boresight and the solar array point, no dynamics.

Frames
------
Every vector is in the Earth-fixed ITRF (the frame targets and ground stations live in; the
engine passes satellite states in ITRF). The *nadir attitude* is the local orbital frame:
body ``+z`` toward the Earth's centre (the imager boresight), ``+y`` along −(r × v), ``+x``
completing the right-handed triad (the velocity direction for a circular orbit). The orbit
normal uses the inertial velocity, ``v_itrf + ω⊕ × r``, so the frame does not yaw with the
Earth's rotation.

Modes (:class:`AttitudeMode`)
-----------------------------
Every mode's attitude is the nadir attitude turned by the *smallest rotation* that aligns one
body axis with one direction (the remaining rotation about that direction is as close to nadir
as possible):

- ``NADIR``: the nadir attitude itself (boresight at the Earth's centre).
- ``SUN``: the solar-array normal onto the Sun (for a single-axis tracking wing, the best normal
  it can reach about its drive axis): the array's cosine is 1.
- ``TARGET``: the boresight onto the line of sight to the pointed target (a row of
  :class:`~orbemu.spacecraft.targets.Targets`); with no target (``-1``) as ``NADIR``.
- ``SAFE``: as ``SUN``; entered and left only by the power model's safe mode.

Slews
-----
Changing mode (or target) starts an eigen-axis slew: its duration is the rotation angle between
the two attitudes (that of the quaternion ``q₁* ⊗ q₂``, evaluated at the instant of the
request) divided by ``slew_rate_deg_s``, plus ``settle_s``. The payload cannot capture until the
slew and settling are over (``t >= slew_end_ns``). During a slew the solar array is taken at the
*worse* of its two end attitudes (the smaller cosine, both evaluated at the current geometry):
conservative without modelling the path. A request during a slew is queued behind it: it starts
from the attitude being slewed to, when the current slew ends.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numba
import numpy as np
import numpy.typing as npt

from orbemu.constants import DEG, EARTH_ROTATION_RAD_S, NS_PER_S
from orbemu.errors import UsageError
from orbemu.spacecraft.classes import SpacecraftClass, check_class_index, per_satellite

__all__ = [
    "AttitudeChanges",
    "AttitudeGeometry",
    "AttitudeMode",
    "AttitudeParams",
    "AttitudeState",
    "array_cosine",
    "attitude_geometry",
    "boresight",
    "min_rotation",
    "request_modes",
    "rotate",
    "slew_angle_rad",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Method = Literal["numba", "reference"]


class AttitudeMode(enum.IntEnum):
    """Attitude modes (values are what state arrays and records hold)."""

    NADIR = 0
    SUN = 1
    TARGET = 2
    SAFE = 3


_MODE_BY_NAME = {"nadir": AttitudeMode.NADIR, "sun": AttitudeMode.SUN,
                 "target": AttitudeMode.TARGET}


@dataclass(frozen=True, eq=False)
class AttitudeParams:
    """Per-satellite attitude parameters, arrays of shape ``(n_sats,)``.

    slew_rate_rad_s: eigen-axis slew rate, rad/s.
    settle_s: settling time added to every slew, s.
    default_mode: int8 :class:`AttitudeMode` at the start and after safe mode.
    array_normal_body: ``(n_sats, 3)`` unit solar-array normal in body axes (the drive axis
        where ``array_tracking``).
    array_tracking: ``(n_sats,)`` bool, single-axis Sun-tracking array.
    """

    slew_rate_rad_s: FloatArray
    settle_s: FloatArray
    default_mode: npt.NDArray[np.int8]
    array_normal_body: FloatArray
    array_tracking: npt.NDArray[np.bool_]

    @classmethod
    def from_classes(cls, classes: Sequence[SpacecraftClass],
                     class_index: npt.ArrayLike) -> AttitudeParams:
        idx = check_class_index(class_index, len(classes))
        return cls(
            slew_rate_rad_s=per_satellite([c.attitude.slew_rate_deg_s * DEG for c in classes],
                                          idx),
            settle_s=per_satellite([c.attitude.settle_s for c in classes], idx),
            default_mode=np.array([_MODE_BY_NAME[c.attitude.default_mode] for c in classes],
                                  dtype=np.int8)[idx],
            array_normal_body=np.array([c.solar_array.normal_body() for c in classes],
                                       dtype=np.float64).reshape(-1, 3)[idx],
            array_tracking=np.array([c.solar_array.tracking_axis is not None for c in classes],
                                    dtype=bool)[idx],
        )

    @property
    def n_sats(self) -> int:
        return int(self.settle_s.size)


@dataclass(frozen=True, eq=False)
class AttitudeState:
    """Attitude of every satellite, arrays of shape ``(n_sats,)``.

    mode: int8 :class:`AttitudeMode` commanded (being slewed to, or held).
    target: int32 pointed target row in TARGET mode, −1 for none.
    prev_mode, prev_target: the attitude the current slew started from (meaningful while
        ``t < slew_end_ns``).
    slew_end_ns: int64 UTC ns when the last slew and its settling end.
    """

    mode: npt.NDArray[np.int8]
    target: npt.NDArray[np.int32]
    prev_mode: npt.NDArray[np.int8]
    prev_target: npt.NDArray[np.int32]
    slew_end_ns: npt.NDArray[np.int64]

    @classmethod
    def initial(cls, params: AttitudeParams, start_ns: int) -> AttitudeState:
        """Every satellite settled in its default mode at ``start_ns``."""
        n = params.n_sats
        return cls(mode=params.default_mode.copy(), target=np.full(n, -1, np.int32),
                   prev_mode=params.default_mode.copy(), prev_target=np.full(n, -1, np.int32),
                   slew_end_ns=np.full(n, start_ns, np.int64))

    def slewing(self, t_ns: int) -> npt.NDArray[np.bool_]:
        """True where a slew (or its settling) is still under way at ``t_ns``."""
        return self.slew_end_ns > t_ns


@dataclass(frozen=True, eq=False)
class AttitudeGeometry:
    """The per-step inputs every attitude is built from (ITRF).

    r_m, v_m_s: ``(n, 3)`` satellite states (ITRF velocity; the orbit normal adds ω⊕ × r).
    sun: ``(3,)`` unit vector to the Sun.
    array_normal_body: ``(n, 3)`` solar-array normal (drive axis if tracking) in body axes.
    array_tracking: ``(n,)`` bool, single-axis Sun-tracking array.
    target_itrf_m: ``(m, 3)`` target positions (rows of the Targets), metres.
    """

    r_m: FloatArray
    v_m_s: FloatArray
    sun: FloatArray
    array_normal_body: FloatArray
    array_tracking: npt.NDArray[np.bool_]
    target_itrf_m: FloatArray
    _cache: dict[str, FloatArray] = field(default_factory=dict, repr=False, compare=False)


def attitude_geometry(r_itrf_m: FloatArray, v_itrf_m_s: FloatArray, sun_itrf: FloatArray,
                      params: AttitudeParams, target_itrf_m: FloatArray | None = None
                      ) -> AttitudeGeometry:
    """Bundle one step's ITRF states ``(n, 3)``, the Sun direction and the targets.

    ``sun_itrf`` is the geocentric Sun direction (any length; normalised here). A satellite with
    a NaN state gets NaN attitudes (no power, no capture downstream).
    """
    r = np.ascontiguousarray(r_itrf_m, dtype=np.float64)
    v = np.ascontiguousarray(v_itrf_m_s, dtype=np.float64)
    if r.ndim != 2 or r.shape[1] != 3 or v.shape != r.shape or r.shape[0] != params.n_sats:
        raise UsageError(f"attitude geometry needs ({params.n_sats}, 3) positions and "
                         f"velocities, got {r.shape} and {v.shape}")
    sun = np.asarray(sun_itrf, dtype=np.float64).reshape(3)
    sun = sun / np.sqrt(sun @ sun)
    tgt = (np.zeros((0, 3)) if target_itrf_m is None
           else np.ascontiguousarray(target_itrf_m, dtype=np.float64).reshape(-1, 3))
    return AttitudeGeometry(r_m=r, v_m_s=v, sun=sun,
                            array_normal_body=params.array_normal_body,
                            array_tracking=params.array_tracking, target_itrf_m=tgt)


# ---- compiled kernels (one satellite at a time, scalars) ----------------------------------------

_NADIR, _SUN, _TARGET, _SAFE = 0, 1, 2, 3


@numba.njit(cache=True, nogil=True)
def _unit3(x, y, z):  # pragma: no cover - numba
    n = math.sqrt(x * x + y * y + z * z)
    return x / n, y / n, z / n


@numba.njit(cache=True, nogil=True)
def _nadir_frame(rx, ry, rz, vx, vy, vz, nx, ny, nz):  # pragma: no cover - numba
    """Nadir (body +z) and the array normal (body ``n``) in nadir attitude, from ITRF r, v."""
    vx = vx - EARTH_ROTATION_RAD_S * ry  # inertial velocity in ITRF axes
    vy = vy + EARTH_ROTATION_RAD_S * rx
    k = -1.0 / math.sqrt(rx * rx + ry * ry + rz * rz)
    zx, zy, zz = rx * k, ry * k, rz * k
    hx, hy, hz = ry * vz - rz * vy, rz * vx - rx * vz, rx * vy - ry * vx
    k = -1.0 / math.sqrt(hx * hx + hy * hy + hz * hz)
    yx, yy, yz = hx * k, hy * k, hz * k
    xx, xy, xz = yy * zz - yz * zy, yz * zx - yx * zz, yx * zy - yy * zx
    return (zx, zy, zz, nx * xx + ny * yx + nz * zx, nx * xy + ny * yy + nz * zy,
            nx * xz + ny * yz + nz * zz)


# Helpers below take scalars only: passing arrays to a compiled call costs reference counting
# (~100 ns a call), which dominated the per-satellite loops.

@numba.njit(cache=True, nogil=True)
def _min_rotation1(ax, ay, az, bx, by, bz):  # pragma: no cover - numba
    """Scalar twin of :func:`min_rotation`."""
    w = 1.0 + (ax * bx + ay * by + az * bz)
    qx, qy, qz = ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx
    if w < 1e-12:
        ex, ey, ez = 0.0, 0.0, 0.0
        aax, aay, aaz = abs(ax), abs(ay), abs(az)
        if aax <= aay and aax <= aaz:
            ex = 1.0
        elif aay <= aaz:
            ey = 1.0
        else:
            ez = 1.0
        qx, qy, qz = _unit3(ay * ez - az * ey, az * ex - ax * ez, ax * ey - ay * ex)
        return 0.0, qx, qy, qz
    s = math.sqrt(2.0 * w)
    return w / s, qx / s, qy / s, qz / s


@numba.njit(cache=True, nogil=True)
def _rotate1(qw, qx, qy, qz, vx, vy, vz):  # pragma: no cover - numba
    tx = 2.0 * (qy * vz - qz * vy)
    ty = 2.0 * (qz * vx - qx * vz)
    tz = 2.0 * (qx * vy - qy * vx)
    return (vx + qw * tx + (qy * tz - qz * ty), vy + qw * ty + (qz * tx - qx * tz),
            vz + qw * tz + (qx * ty - qy * tx))


@numba.njit(cache=True, nogil=True)
def _tracking_normal1(ax, ay, az, sx, sy, sz):  # pragma: no cover - numba
    """Normal of a wing turning about axis ``a`` to face ``s``: ``s`` less its part along ``a``
    (any normal ⟂ a when the Sun is on the axis)."""
    c = ax * sx + ay * sy + az * sz
    nx, ny, nz = sx - c * ax, sy - c * ay, sz - c * az
    n2 = nx * nx + ny * ny + nz * nz
    if n2 < 1e-24:
        aax, aay, aaz = abs(ax), abs(ay), abs(az)
        if aax <= aay and aax <= aaz:
            return _unit3(0.0, az, -ay)
        if aay <= aaz:
            return _unit3(-az, 0.0, ax)
        return _unit3(ay, -ax, 0.0)
    k = 1.0 / math.sqrt(n2)
    return nx * k, ny * k, nz * k


@numba.njit(cache=True, nogil=True)
def _mode_quaternion1(mode, has_target, tracking, zx, zy, zz, ax, ay, az, sx, sy, sz, lx, ly,
                      lz):  # pragma: no cover - numba
    """Attitude relative to nadir: SUN/SAFE turn the array normal (``a``, or the tracking
    wing's best normal about axis ``a``) onto the Sun ``s``; TARGET with a target turns the
    boresight (nadir ``z``) onto the line of sight ``l``."""
    if mode == _SUN or mode == _SAFE:
        if tracking:
            ax, ay, az = _tracking_normal1(ax, ay, az, sx, sy, sz)
        return _min_rotation1(ax, ay, az, sx, sy, sz)
    if mode == _TARGET and has_target:
        return _min_rotation1(zx, zy, zz, lx, ly, lz)
    return 1.0, 0.0, 0.0, 0.0


@numba.njit(cache=True, nogil=True)
def _cosine1(mode, has_target, tracking, zx, zy, zz, ax, ay, az, sx, sy, sz, lx, ly,
             lz):  # pragma: no cover - numba
    """Array cosine in one attitude (arguments as :func:`_mode_quaternion1`)."""
    if mode == _SUN or mode == _SAFE:
        return 1.0
    if mode == _TARGET and has_target:
        qw, qx, qy, qz = _min_rotation1(zx, zy, zz, lx, ly, lz)
        ax, ay, az = _rotate1(qw, qx, qy, qz, ax, ay, az)
    if tracking:  # |a × s| = sin of the Sun's angle from the axis, accurate near 0 too
        cx, cy, cz = ay * sz - az * sy, az * sx - ax * sz, ax * sy - ay * sx
        return math.sqrt(cx * cx + cy * cy + cz * cz)
    return ax * sx + ay * sy + az * sz


@numba.njit(cache=True, nogil=True)
def _array_cosine_kernel(r, v, sun, nb, trk, tgt, mode, target, prev_mode, prev_target,
                         slewing, out):  # pragma: no cover - numba
    sx, sy, sz = sun[0], sun[1], sun[2]
    for i in range(r.shape[0]):
        rx, ry, rz = r[i, 0], r[i, 1], r[i, 2]
        zx, zy, zz, ax, ay, az = _nadir_frame(rx, ry, rz, v[i, 0], v[i, 1], v[i, 2],
                                              nb[i, 0], nb[i, 1], nb[i, 2])
        j = target[i]
        lx = ly = lz = 0.0
        if j >= 0:
            lx, ly, lz = _unit3(tgt[j, 0] - rx, tgt[j, 1] - ry, tgt[j, 2] - rz)
        c = _cosine1(mode[i], j >= 0, trk[i], zx, zy, zz, ax, ay, az, sx, sy, sz, lx, ly, lz)
        if slewing[i]:
            j = prev_target[i]
            if j >= 0:
                lx, ly, lz = _unit3(tgt[j, 0] - rx, tgt[j, 1] - ry, tgt[j, 2] - rz)
            c = min(c, _cosine1(prev_mode[i], j >= 0, trk[i], zx, zy, zz, ax, ay, az, sx, sy,
                                sz, lx, ly, lz))
        if c > 0.0:  # also drops NaN (no valid state)
            out[i] = c
        else:
            out[i] = 0.0


@numba.njit(cache=True, nogil=True)
def _slew_angle_kernel(r, v, sun, nb, trk, tgt, sats, from_mode, from_target, to_mode,
                       to_target, out):  # pragma: no cover - numba
    sx, sy, sz = sun[0], sun[1], sun[2]
    for k in range(sats.size):
        i = sats[k]
        rx, ry, rz = r[i, 0], r[i, 1], r[i, 2]
        zx, zy, zz, ax, ay, az = _nadir_frame(rx, ry, rz, v[i, 0], v[i, 1], v[i, 2],
                                              nb[i, 0], nb[i, 1], nb[i, 2])
        j = from_target[k]
        lx = ly = lz = 0.0
        if j >= 0:
            lx, ly, lz = _unit3(tgt[j, 0] - rx, tgt[j, 1] - ry, tgt[j, 2] - rz)
        aw, ax_, ay_, az_ = _mode_quaternion1(from_mode[k], j >= 0, trk[i], zx, zy, zz, ax, ay,
                                              az, sx, sy, sz, lx, ly, lz)
        j = to_target[k]
        if j >= 0:
            lx, ly, lz = _unit3(tgt[j, 0] - rx, tgt[j, 1] - ry, tgt[j, 2] - rz)
        bw, bx, by, bz = _mode_quaternion1(to_mode[k], j >= 0, trk[i], zx, zy, zz, ax, ay, az,
                                           sx, sy, sz, lx, ly, lz)
        # Relative rotation conj(a) ⊗ b: angle 2·atan2(|vector part|, |scalar part|), accurate
        # for small angles too (acos of the scalar part is not).
        w = aw * bw + ax_ * bx + ay_ * by + az_ * bz
        ux = aw * bx - bw * ax_ - (ay_ * bz - az_ * by)
        uy = aw * by - bw * ay_ - (az_ * bx - ax_ * bz)
        uz = aw * bz - bw * az_ - (ax_ * by - ay_ * bx)
        out[k] = 2.0 * math.atan2(math.sqrt(ux * ux + uy * uy + uz * uz), abs(w))


def _as(x: npt.ArrayLike, dtype: type, n: int) -> npt.NDArray[Any]:
    """``x`` as a contiguous ``(n,)`` array of ``dtype`` (no copy when it already is one)."""
    if (isinstance(x, np.ndarray) and x.shape == (n,) and x.dtype == dtype
            and x.flags.c_contiguous):
        return x
    return np.ascontiguousarray(np.broadcast_to(np.asarray(x, dtype), (n,)))


def slew_angle_rad(geom: AttitudeGeometry, sats: npt.ArrayLike, from_mode: npt.ArrayLike,
                   from_target: npt.ArrayLike, to_mode: npt.ArrayLike, to_target: npt.ArrayLike,
                   *, method: Method = "numba") -> FloatArray:
    """Eigen-axis rotation angle (rad) between two attitudes of satellites ``sats`` (NaN for a
    NaN state). ``method="reference"``: the numpy version."""
    sats = np.ascontiguousarray(sats, dtype=np.int64).reshape(-1)
    k = sats.size
    if method == "reference":
        q1 = _quaternions(geom, sats, _as(from_mode, np.int64, k), _as(from_target, np.int64, k))
        q2 = _quaternions(geom, sats, _as(to_mode, np.int64, k), _as(to_target, np.int64, k))
        w = np.sum(q1 * q2, axis=1)
        u = q1[:, :1] * q2[:, 1:] - q2[:, :1] * q1[:, 1:] - _cross(q1[:, 1:], q2[:, 1:])
        return 2.0 * np.arctan2(np.sqrt(_dot(u, u)), np.abs(w))
    _check_method(method)
    out = np.empty(k)
    _slew_angle_kernel(geom.r_m, geom.v_m_s, geom.sun, geom.array_normal_body,
                       geom.array_tracking, geom.target_itrf_m, sats, _as(from_mode, np.int64, k),
                       _as(from_target, np.int64, k), _as(to_mode, np.int64, k),
                       _as(to_target, np.int64, k), out)
    return out


def array_cosine(state: AttitudeState, geom: AttitudeGeometry, t_ns: int, *,
                 method: Method = "numba") -> FloatArray:
    """``(n,)`` cosine of the angle between the solar-array normal and the Sun, clipped at 0.

    Exactly 1 in SUN/SAFE pointing; while slewing, the smaller of the two end attitudes'
    cosines (module docstring). NaN geometry gives 0. ``method="reference"``: numpy.
    """
    slewing = state.slewing(t_ns)
    if method == "reference":
        return _array_cosine_reference(state, geom, slewing)
    _check_method(method)
    out = np.empty(state.mode.size)
    _array_cosine_kernel(geom.r_m, geom.v_m_s, geom.sun, geom.array_normal_body,
                         geom.array_tracking, geom.target_itrf_m, state.mode, state.target,
                         state.prev_mode, state.prev_target, slewing, out)
    return out


def _check_method(method: str) -> None:
    if method != "numba":
        raise UsageError(f"method must be 'numba' or 'reference', got {method!r}")


# ---- the numpy reference ---------------------------------------------------------------------


def _dot(a: FloatArray, b: FloatArray) -> FloatArray:
    return np.einsum("ij,ij->i", a, b)


def _cross(a: FloatArray, b: FloatArray) -> FloatArray:
    out = np.empty(np.broadcast_shapes(a.shape, b.shape))
    out[:, 0] = a[:, 1] * b[:, 2] - a[:, 2] * b[:, 1]
    out[:, 1] = a[:, 2] * b[:, 0] - a[:, 0] * b[:, 2]
    out[:, 2] = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]
    return out


def _unit(a: FloatArray) -> FloatArray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return a / np.sqrt(_dot(a, a))[:, None]


def min_rotation(a: FloatArray, b: FloatArray) -> FloatArray:
    """Quaternions ``(k, 4)`` (w, x, y, z) of the smallest rotations taking unit ``a`` onto ``b``.

    ``q = (1 + a·b, a × b) / sqrt(2 (1 + a·b))``; for opposite vectors a half turn about an axis
    perpendicular to ``a`` (``a`` crossed with the axis of its smallest component).
    """
    a = np.broadcast_to(a, np.broadcast_shapes(a.shape, b.shape))
    c = _dot(a, np.broadcast_to(b, a.shape))
    q = np.empty((a.shape[0], 4))
    q[:, 0] = 1.0 + c
    q[:, 1:] = _cross(a, b)
    opposite = q[:, 0] < 1e-12
    with np.errstate(invalid="ignore", divide="ignore"):
        q /= np.sqrt(2.0 * q[:, 0])[:, None]
    if opposite.any():
        ao = a[opposite]
        e = np.zeros_like(ao)
        e[np.arange(ao.shape[0]), np.argmin(np.abs(ao), axis=1)] = 1.0
        q[opposite, 0] = 0.0
        q[opposite, 1:] = _unit(_cross(ao, e))
    return q


def rotate(q: FloatArray, v: FloatArray) -> FloatArray:
    """Rotate vectors ``v`` (k, 3) by unit quaternions ``q`` (k, 4): v + 2w(u×v) + 2u×(u×v)."""
    u = q[:, 1:]
    t = 2.0 * _cross(u, v)
    return v + q[:, :1] * t + _cross(u, t)


def _frames(geom: AttitudeGeometry) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(nadir, array normal in nadir attitude, q_sun), numpy, cached on the geometry."""
    if "nadir" not in geom._cache:
        r, v = geom.r_m, geom.v_m_s
        # Inertial velocity in ITRF axes: the orbit normal must not yaw with the Earth.
        v_in = v.copy()
        v_in[:, 0] -= EARTH_ROTATION_RAD_S * r[:, 1]
        v_in[:, 1] += EARTH_ROTATION_RAD_S * r[:, 0]
        with np.errstate(invalid="ignore", divide="ignore"):
            z = r * (-1.0 / np.sqrt(_dot(r, r)))[:, None]
            h = _cross(r, v_in)
            y = h * (-1.0 / np.sqrt(_dot(h, h)))[:, None]
        x = _cross(y, z)
        nb = geom.array_normal_body
        geom._cache["nadir"] = z
        a = nb[:, :1] * x + nb[:, 1:2] * y + nb[:, 2:] * z
        geom._cache["array"] = a
        geom._cache["q_sun"] = min_rotation(_facing_normal(geom, a), geom.sun[None, :])
    return geom._cache["nadir"], geom._cache["array"], geom._cache["q_sun"]


def _facing_normal(geom: AttitudeGeometry, a: FloatArray) -> FloatArray:
    """The array normal that Sun pointing turns onto the Sun: ``a`` itself, or for a tracking
    wing about axis ``a`` the Sun direction less its part along the axis."""
    trk = geom.array_tracking
    if not trk.any():
        return a
    out = a.copy()
    at = a[trk]
    n = geom.sun[None, :] - (at @ geom.sun)[:, None] * at
    n2 = _dot(n, n)
    on_axis = n2 < 1e-24
    if on_axis.any():  # the Sun on the drive axis: any normal ⟂ axis
        ao = at[on_axis]
        e = np.zeros_like(ao)
        e[np.arange(ao.shape[0]), np.argmin(np.abs(ao), axis=1)] = 1.0
        n[on_axis] = _cross(ao, e)
        n2[on_axis] = _dot(n[on_axis], n[on_axis])
    out[trk] = n * (1.0 / np.sqrt(n2))[:, None]
    return out


def _line_of_sight(geom: AttitudeGeometry, sats: IntArray, target: npt.ArrayLike) -> FloatArray:
    return _unit(geom.target_itrf_m[np.asarray(target)] - geom.r_m[sats])


def _quaternions(geom: AttitudeGeometry, sats: IntArray, mode: npt.NDArray[Any],
                 target: npt.NDArray[Any]) -> FloatArray:
    """Attitude of rows ``sats`` in ``mode``/``target`` as quaternions relative to nadir."""
    nadir, _, q_sun = _frames(geom)
    q = np.zeros((sats.size, 4))
    q[:, 0] = 1.0
    sunlike = (mode == _SUN) | (mode == _SAFE)
    q[sunlike] = q_sun[sats[sunlike]]
    tgt = (mode == _TARGET) & (target >= 0)
    if tgt.any():
        s = sats[tgt]
        q[tgt] = min_rotation(nadir[s], _line_of_sight(geom, s, target[tgt]))
    return q


def _cosine_reference(geom: AttitudeGeometry, mode: npt.NDArray[Any],
                      target: npt.NDArray[Any]) -> FloatArray:
    nadir, array_nadir, _ = _frames(geom)
    sats = np.arange(mode.size)
    normal = array_nadir.copy()
    tgt = (mode == _TARGET) & (target >= 0)
    if tgt.any():
        s = sats[tgt]
        q = min_rotation(nadir[s], _line_of_sight(geom, s, target[tgt]))
        normal[tgt] = rotate(q, array_nadir[s])
    c = normal @ geom.sun
    trk = geom.array_tracking
    if trk.any():  # |a × s|: the sine of the Sun's angle from the drive axis
        cr = _cross(normal[trk], np.broadcast_to(geom.sun, (int(trk.sum()), 3)))
        c[trk] = np.sqrt(_dot(cr, cr))
    c[(mode == _SUN) | (mode == _SAFE)] = 1.0
    return c


def _array_cosine_reference(state: AttitudeState, geom: AttitudeGeometry,
                            slewing: npt.NDArray[np.bool_]) -> FloatArray:
    c = _cosine_reference(geom, state.mode, state.target)
    c_prev = _cosine_reference(geom, state.prev_mode, state.prev_target)
    c = np.where(slewing, np.minimum(c, c_prev), c)
    return np.where(c > 0.0, c, 0.0)


def boresight(geom: AttitudeGeometry, mode: npt.NDArray[np.int8],
              target: npt.NDArray[np.int32]) -> FloatArray:
    """``(n, 3)`` unit boresight (body +z) of every satellite in the given modes, ITRF."""
    nadir, _, q_sun = _frames(geom)
    sats = np.arange(mode.size)
    out = nadir.copy()
    sunlike = (mode == _SUN) | (mode == _SAFE)
    if sunlike.any():
        out[sunlike] = rotate(q_sun[sunlike], nadir[sunlike])
    tgt = (mode == _TARGET) & (target >= 0)
    if tgt.any():
        out[tgt] = _line_of_sight(geom, sats[tgt], target[tgt])
    return out


@dataclass(frozen=True, eq=False)
class AttitudeChanges:
    """Mode or target changes started in one step (``k`` rows).

    sat: (k,) satellite row; from_mode/to_mode: int8 modes; from_target/to_target: int32 target
    rows (−1 none); slew_s: (k,) slew + settle duration, seconds; end_ns: (k,) when it ends
    (later than ``t + slew_s`` when queued behind a slew under way).
    """

    sat: IntArray
    from_mode: npt.NDArray[np.int8]
    to_mode: npt.NDArray[np.int8]
    from_target: npt.NDArray[np.int32]
    to_target: npt.NDArray[np.int32]
    slew_s: FloatArray
    end_ns: IntArray

    def __len__(self) -> int:
        return int(self.sat.size)

    @classmethod
    def empty(cls) -> AttitudeChanges:
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int8), np.zeros(0, np.int8),
                   np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0), np.zeros(0, np.int64))

    @classmethod
    def concat(cls, parts: Sequence[AttitudeChanges]) -> AttitudeChanges:
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()
        if len(parts) == 1:
            return parts[0]
        return cls(*(np.concatenate([getattr(p, f) for p in parts])
                     for f in ("sat", "from_mode", "to_mode", "from_target", "to_target",
                               "slew_s", "end_ns")))


def request_modes(state: AttitudeState, params: AttitudeParams, geom: AttitudeGeometry,
                  t_ns: int, mode: npt.ArrayLike, target: npt.ArrayLike | None = None, *,
                  method: Method = "numba") -> tuple[AttitudeState, AttitudeChanges]:
    """Start slews where the requested ``mode`` (and, for TARGET, ``target``) differs.

    ``mode``: ``(n,)`` int, −1 keeps the current mode. ``target``: ``(n,)`` int target row for
    TARGET requests (−1: none, i.e. nadir-like until one is chosen); ignored for other modes.
    Returns the new state and the changes started. Pure: ``state`` is not modified.
    """
    n = state.mode.size
    req = np.asarray(mode, dtype=np.int64).reshape(-1)
    tgt = (np.full(n, -1, np.int64) if target is None
           else np.asarray(target, dtype=np.int64).reshape(-1))
    if req.size != n or tgt.size != n:
        raise UsageError(f"mode/target requests must have {n} entries, got {req.size}, "
                         f"{tgt.size}")
    tgt = np.where(req == _TARGET, tgt, -1)
    change = (req >= 0) & ((req != state.mode) | (tgt != state.target))
    sats = np.flatnonzero(change)
    if sats.size == 0:
        return state, AttitudeChanges.empty()
    from_mode, from_target = state.mode[sats], state.target[sats]
    to_mode, to_target = req[sats].astype(np.int8), tgt[sats].astype(np.int32)
    angle = slew_angle_rad(geom, sats, from_mode, from_target, to_mode, to_target,
                           method=method)
    # A satellite without a valid state (NaN) is charged the largest slew, a half turn.
    duration_s = (np.where(np.isnan(angle), np.pi, angle) / params.slew_rate_rad_s[sats]
                  + params.settle_s[sats])
    start_ns = np.maximum(state.slew_end_ns[sats], t_ns)  # queued behind a slew under way
    end_ns = start_ns + np.round(duration_s * NS_PER_S).astype(np.int64)
    new_mode = state.mode.copy()
    new_target = state.target.copy()
    prev_mode = state.prev_mode.copy()
    prev_target = state.prev_target.copy()
    slew_end = state.slew_end_ns.copy()
    new_mode[sats], new_target[sats] = to_mode, to_target
    prev_mode[sats], prev_target[sats] = from_mode, from_target
    slew_end[sats] = end_ns
    changes = AttitudeChanges(sat=sats, from_mode=from_mode, to_mode=to_mode,
                              from_target=from_target, to_target=to_target,
                              slew_s=duration_s, end_ns=end_ns)
    return AttitudeState(new_mode, new_target, prev_mode, prev_target, slew_end), changes
