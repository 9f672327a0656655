"""Designed constellations: Walker delta and Walker star shells as SGP4 element sets.

A Walker shell ``i: T/P/F`` has ``P`` planes of ``S = T/P`` satellites on circular orbits of one
altitude and inclination ``i``. Plane ``p`` has its ascending node at
``raan_offset + p · spread / P`` (``spread`` = 360° for *delta*, 180° for *star*); slot ``s`` of
plane ``p`` has mean anomaly (argument of latitude, for circular orbits)::

    M = mean_anomaly_offset + s · 360°/S + p · F · 360°/T  [+ 360°/S · odd_plane_shift_slots
                                                             if p is odd]

``F`` (0 … P−1) is Walker's phasing factor: each plane is ahead of the one before by ``F`` times
``360°/T``. ``odd_plane_shift_slots`` expresses the other common pattern, where only odd planes are
shifted (by half a slot in Hypatia's shells), which no Walker ``F`` can reproduce.

Output
------
An :class:`~orbemu.orbits.elements.ElementSet` in *plane-major* order, index
``plane · S + slot``, with ``plane``, ``slot`` and ``shell`` filled so that later stages build
+Grid links without guessing. Records are built with ``Satrec.sgp4init`` (WGS72, improved mode,
B* = ṅ = n̈ = 0: no drag, so a designed shell never decays).

Altitude and mean motion
------------------------
TLE/SGP4 mean motion is a *Kozai* mean motion. ``altitude_m`` is converted with Kepler's third
law and WGS72 constants: ``n_Kozai = sqrt(μ / (R + h)³)``, ``R`` = 6,378,135 m. This is the same
convention :attr:`ElementSet.mean_altitude_m` uses to turn a TLE back
into an altitude, so ``walker_delta(..., altitude_m=550e3).mean_altitude_m`` is 550 km again, and
designed shells compare like-for-like with real element sets (OneWeb's 1200 km shell reads
1,201.8 km this way, Starlink's 570 km shell 572.1 km). What SGP4 then flies differs by a few
hundred metres to a few km: measured for circular 550 km orbits, SGP4's orbit-averaged geocentric
radius minus R is 549.9 km at 53°, 551.5 km at 97.6° and 546.8 km at 0° (J2 terms; see
tests/orbits/test_walker.py), and at inclined orbits the instantaneous radius swings by up to ±7 km
within an orbit. The TLE's 1e-8 rev/day rounding moves the altitude by < 1 cm.

Eccentricity
------------
Default 0: SGP4 (Vallado's code) accepts e = 0 exactly and a TLE can carry it. Tools built on
PyEphem refuse e = 0, which is why Hypatia uses 1e-7, the smallest value a TLE can hold; pass
``eccentricity=1e-7`` to match them (the difference in position is below a metre).

TLE precision
-------------
With ``tle_precision=True`` (the default) every element is rounded to what a TLE can carry before
``sgp4init``: angles to 1e-4°, eccentricity to 1e-7, mean motion to 1e-8 rev/day, the epoch to
1e-8 day (864 µs). Writing the set as TLE and reading it back then gives the *same* records (and
positions to the micrometre), and a shell reproduces tools that generate TLE text (Hypatia) exactly.
With ``tle_precision=False`` the exact values are used (angles then differ from the TLE export by up
to 5e-5°, ≈ 6 m along track at LEO).
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from sgp4.api import WGS72, Satrec

from orbemu.constants import NS_PER_DAY, WGS72_A_M, WGS72_MU_M3_S2
from orbemu.errors import InputError
from orbemu.orbits.elements import ElementSet
from orbemu.time import Time

__all__ = [
    "DEFAULT_EPOCH",
    "MAX_CATALOG_NUMBER",
    "altitude_to_mean_motion_rev_day",
    "mean_motion_rev_day_to_altitude",
    "walker_delta",
    "walker_star",
]

#: Epoch of designed shells when none is given (a fixed instant keeps runs reproducible).
DEFAULT_EPOCH = Time.parse("2026-01-01T00:00:00Z")

#: Largest catalog number a TLE can carry (Alpha-5: "Z9999").
MAX_CATALOG_NUMBER = 339_999

# The conversions twoline2rv applies to TLE text; using the same ones makes records bit-identical.
_DEG2RAD = math.pi / 180.0
_XPDOTP = 1440.0 / (2.0 * math.pi)  # (rev/day) per (rad/min)
#: Days from 1949-12-31T00:00 UTC (sgp4init's epoch origin, JD 2433281.5) to the POSIX epoch.
_SGP4_EPOCH_ORIGIN_DAYS = 7306

Pattern = Literal["delta", "star"]


def altitude_to_mean_motion_rev_day(altitude_m: float) -> float:
    """Kozai mean motion (rev/day) of a circular orbit at ``altitude_m`` above WGS72's radius."""
    a = WGS72_A_M + altitude_m
    return math.sqrt(WGS72_MU_M3_S2 / a**3) * 86_400.0 / (2.0 * math.pi)


def mean_motion_rev_day_to_altitude(mean_motion_rev_day: float) -> float:
    """The inverse of :func:`altitude_to_mean_motion_rev_day` (metres)."""
    n = mean_motion_rev_day * 2.0 * math.pi / 86_400.0
    return float(np.cbrt(WGS72_MU_M3_S2 / (n * n))) - WGS72_A_M


def walker_delta(
    planes: int,
    sats_per_plane: int,
    phasing: int = 0,
    *,
    inclination_deg: float,
    altitude_m: float | None = None,
    mean_motion_rev_day: float | None = None,
    eccentricity: float = 0.0,
    arg_perigee_deg: float = 0.0,
    raan_spread_deg: float = 360.0,
    raan_offset_deg: float = 0.0,
    mean_anomaly_offset_deg: float = 0.0,
    odd_plane_shift_slots: float = 0.0,
    epoch: Time | str = DEFAULT_EPOCH,
    name_prefix: str = "WALKER",
    first_catalog_number: int = 1,
    tle_precision: bool = True,
) -> ElementSet:
    """A Walker delta shell ``i: T/P/F`` (planes spread over 360° of RAAN).

    Parameters
    ----------
    planes, sats_per_plane: ``P`` and ``S`` (``T = P·S`` satellites).
    phasing: Walker's ``F`` in 0 … P−1 (plane ``p+1`` leads plane ``p`` by ``F·360°/T``).
    inclination_deg: orbit inclination, 0 … 180°.
    altitude_m, mean_motion_rev_day: exactly one; altitude above WGS72's equatorial radius
        (converted to a Kozai mean motion, see the module notes) or the TLE mean motion.
    eccentricity: mean eccentricity, 0 ≤ e < 1 (default 0; 1e-7 matches Hypatia/PyEphem).
    arg_perigee_deg: argument of perigee, degrees.
    raan_spread_deg: the arc the planes' nodes are spread over (plane spacing = spread / P);
        360° for delta, 180° for star; any other value for irregular shells (Iridium: 189.6°).
    raan_offset_deg: RAAN of plane 0, degrees.
    mean_anomaly_offset_deg: mean anomaly of slot 0 of plane 0, degrees.
    odd_plane_shift_slots: extra shift of odd planes, in slots (Hypatia: 0.5 with ``phasing=0``).
    epoch: the element epoch (a ``Time`` or ISO 8601 UTC text); default :data:`DEFAULT_EPOCH`.
    name_prefix: names are ``"{prefix}-P{plane}-S{slot}"`` (zero-padded).
    first_catalog_number: catalog number of satellite 0; the rest follow in index order.
    tle_precision: round elements to what a TLE carries (see the module notes).

    Returns an :class:`ElementSet` in plane-major order (index = plane · S + slot).
    """
    return _walker("delta", planes, sats_per_plane, phasing, inclination_deg, altitude_m,
                   mean_motion_rev_day, eccentricity, arg_perigee_deg, raan_spread_deg,
                   raan_offset_deg, mean_anomaly_offset_deg, odd_plane_shift_slots, epoch,
                   name_prefix, first_catalog_number, tle_precision)


def walker_star(
    planes: int,
    sats_per_plane: int,
    phasing: int = 0,
    *,
    inclination_deg: float,
    altitude_m: float | None = None,
    mean_motion_rev_day: float | None = None,
    eccentricity: float = 0.0,
    arg_perigee_deg: float = 0.0,
    raan_spread_deg: float = 180.0,
    raan_offset_deg: float = 0.0,
    mean_anomaly_offset_deg: float = 0.0,
    odd_plane_shift_slots: float = 0.0,
    epoch: Time | str = DEFAULT_EPOCH,
    name_prefix: str = "WALKER",
    first_catalog_number: int = 1,
    tle_precision: bool = True,
) -> ElementSet:
    """A Walker star shell (near-polar planes spread over 180° of RAAN, so ascending and
    descending halves interleave; the first and last planes counter-rotate across the "seam").

    Parameters are those of :func:`walker_delta`; only the default ``raan_spread_deg`` differs.
    """
    return _walker("star", planes, sats_per_plane, phasing, inclination_deg, altitude_m,
                   mean_motion_rev_day, eccentricity, arg_perigee_deg, raan_spread_deg,
                   raan_offset_deg, mean_anomaly_offset_deg, odd_plane_shift_slots, epoch,
                   name_prefix, first_catalog_number, tle_precision)


def _bad(field: str, message: str, fix: str) -> InputError:
    return InputError(message, source="walker shell", field=field, fix=fix)


def _walker(
    pattern: Pattern,
    planes: int,
    sats_per_plane: int,
    phasing: int,
    inclination_deg: float,
    altitude_m: float | None,
    mean_motion_rev_day: float | None,
    eccentricity: float,
    arg_perigee_deg: float,
    raan_spread_deg: float,
    raan_offset_deg: float,
    mean_anomaly_offset_deg: float,
    odd_plane_shift_slots: float,
    epoch: Time | str,
    name_prefix: str,
    first_catalog_number: int,
    tle_precision: bool,
) -> ElementSet:
    # ---- validate what the user gave, naming the parameter, the value, the rule and the fix --
    for field, value in (("planes", planes), ("sats_per_plane", sats_per_plane)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise _bad(field, f"{field} = {value!r} must be a whole number ≥ 1",
                       f"pass e.g. {field}=22")
    if isinstance(phasing, bool) or not isinstance(phasing, (int, np.integer)) \
            or not 0 <= phasing < planes:
        raise _bad("phasing", f"phasing F = {phasing!r} must be a whole number in 0 … P−1 = "
                   f"{planes - 1}", "Walker's F counts phase steps of 360°/T between planes")
    if (altitude_m is None) == (mean_motion_rev_day is None):
        raise _bad("altitude_m", "give exactly one of altitude_m and mean_motion_rev_day "
                   f"(got altitude_m={altitude_m!r}, mean_motion_rev_day={mean_motion_rev_day!r})",
                   "e.g. altitude_m=550e3 or mean_motion_rev_day=15.19")
    if not 0.0 <= inclination_deg <= 180.0:
        raise _bad("inclination_deg", f"inclination {inclination_deg!r}° is outside 0 … 180°",
                   "retrograde orbits use 90 … 180°")
    if not 0.0 <= eccentricity < 1.0:
        raise _bad("eccentricity", f"eccentricity {eccentricity!r} is outside 0 ≤ e < 1",
                   "designed shells are near-circular: use 0 (or 1e-7 for PyEphem tools)")
    if altitude_m is not None:
        if not altitude_m > 0.0:
            raise _bad("altitude_m", f"altitude {altitude_m!r} m must be above the surface",
                       "altitudes are in metres: 550 km is altitude_m=550e3")
        mean_motion_rev_day = altitude_to_mean_motion_rev_day(altitude_m)
    assert mean_motion_rev_day is not None
    if not 0.0 < mean_motion_rev_day < 100.0:
        raise _bad("mean_motion_rev_day", f"mean motion {mean_motion_rev_day!r} rev/day is "
                   "outside 0 … 100", "LEO is about 11–16 rev/day, GEO 1.0027 rev/day")
    semi_major_m = mean_motion_rev_day_to_altitude(mean_motion_rev_day) + WGS72_A_M
    if semi_major_m * (1.0 - eccentricity) <= WGS72_A_M:
        raise _bad("eccentricity", f"perigee radius {semi_major_m * (1 - eccentricity):.0f} m is "
                   f"below the Earth's radius ({WGS72_A_M:.0f} m)",
                   "lower the eccentricity or raise the orbit")
    total = planes * sats_per_plane
    last = first_catalog_number + total - 1
    if first_catalog_number < 1 or last > MAX_CATALOG_NUMBER:
        raise _bad("first_catalog_number", f"catalog numbers {first_catalog_number} … {last} "
                   f"leave 1 … {MAX_CATALOG_NUMBER} (what a TLE can carry)",
                   "choose a smaller first_catalog_number")
    epoch_t = Time.parse(epoch, field="epoch") if isinstance(epoch, str) else Time(epoch)
    if epoch_t.ndim != 0:
        raise _bad("epoch", f"epoch must be one instant, got shape {epoch_t.shape}",
                   "pass a scalar Time")

    # ---- the pattern, as arrays in plane-major order ------------------------------------------
    plane = np.repeat(np.arange(planes, dtype=np.int32), sats_per_plane)
    slot = np.tile(np.arange(sats_per_plane, dtype=np.int32), planes)
    slot_deg = 360.0 / sats_per_plane
    raan_deg = raan_offset_deg + plane * (raan_spread_deg / planes)
    anomaly_deg = (mean_anomaly_offset_deg + slot * slot_deg + plane * (phasing * 360.0 / total)
                   + np.where(plane % 2 == 1, odd_plane_shift_slots * slot_deg, 0.0))
    raan_deg = np.mod(raan_deg, 360.0)
    anomaly_deg = np.mod(anomaly_deg, 360.0)
    argp_deg = math.fmod(arg_perigee_deg, 360.0) % 360.0
    incl_deg, ecc, n_rev_day = float(inclination_deg), float(eccentricity), mean_motion_rev_day
    epoch_ns = int(epoch_t.ns)
    if tle_precision:
        raan_deg, anomaly_deg = _round_angle(raan_deg), _round_angle(anomaly_deg)
        argp_deg = float(_round_angle(np.array(argp_deg)))
        incl_deg, ecc = float(f"{incl_deg:.4f}"), float(f"{ecc:.7f}")
        n_rev_day = float(f"{n_rev_day:.8f}")
        tick = NS_PER_DAY // 100_000_000  # 1e-8 day = 864 µs
        day_start = epoch_ns - epoch_ns % NS_PER_DAY
        epoch_ns = day_start + round((epoch_ns - day_start) / tick) * tick

    # sgp4init's epoch: days since 1949-12-31 00:00 UTC, split to keep the fraction exact.
    whole_days, rest_ns = divmod(epoch_ns + _SGP4_EPOCH_ORIGIN_DAYS * NS_PER_DAY, NS_PER_DAY)
    sgp4_epoch = whole_days + rest_ns / NS_PER_DAY
    no_kozai = n_rev_day / _XPDOTP
    satrecs = []
    for k in range(total):
        sat = Satrec()
        sat.sgp4init(WGS72, "i", first_catalog_number + k, sgp4_epoch, 0.0, 0.0, 0.0, ecc,
                     argp_deg * _DEG2RAD, incl_deg * _DEG2RAD, float(anomaly_deg[k]) * _DEG2RAD,
                     no_kozai, float(raan_deg[k]) * _DEG2RAD)
        sat.classification = "U"
        sat.intldesg = ""
        satrecs.append(sat)

    pw, sw = len(str(planes - 1)), len(str(sats_per_plane - 1))
    names = [f"{name_prefix}-P{p:0{pw}d}-S{s:0{sw}d}" for p, s in zip(plane, slot, strict=True)]
    alt_km = (semi_major_m - WGS72_A_M) / 1e3
    source = (f"walker {pattern} {incl_deg:g}°: {total}/{planes}/{phasing} at {alt_km:.1f} km "
              f"({n_rev_day:.8f} rev/day)")
    return ElementSet.from_satrecs(
        satrecs,
        names=names,
        norad_ids=range(first_catalog_number, first_catalog_number + total),
        plane=plane,
        slot=slot,
        intl_designators=[""] * total,
        source=source,
    )


def _round_angle(deg: np.ndarray) -> np.ndarray:
    """Degrees as a TLE writes them (``%.4f``, read back as float), in [0, 360): 359.99996°
    becomes 0°, not 360°. Formatting, not ``np.round``, so the value is the TLE text's exactly."""
    flat = np.asarray(deg, dtype=np.float64).ravel()
    out = np.array([float(f"{v:.4f}") for v in flat]).reshape(np.shape(deg))
    return np.where(out >= 360.0, out - 360.0, out)
