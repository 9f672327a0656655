"""Spacecraft classes: the per-class parameters a scenario file gives, validated.

A :class:`SpacecraftClass` groups the parameters of one kind of satellite (a bus with its solar
array, battery, loads, storage, attitude control and optionally an imager). A fleet is a list of
classes plus a class index per satellite; every model turns that into arrays of shape
``(n_sats,)`` (``PowerParams.from_classes`` and friends, :class:`orbemu.spacecraft.FleetParams`).

Field names are the keys a scenario YAML uses, units in every name::

    spacecraft_classes:
      eo-sat:
        solar_array: {area_m2: 0.6, efficiency: 0.295, degradation: 0.9, normal: zenith,
                      tracking_axis: null}
        battery: {capacity_wh: 150, charge_efficiency: 0.95, discharge_efficiency: 0.95,
                  min_soc: 0.2, max_soc: 1.0, initial_soc: 0.9,
                  safe_enter_soc: 0.35, safe_exit_soc: 0.6}
        loads: {bus_w: 15, payload_w: 25, transmitter_w: 30, heater_w: 5, compute_w: 8,
                slew_w: 4}
        storage: {capacity_bits: 1.0e12, housekeeping_rate_bps: 4000}
        attitude: {slew_rate_deg_s: 1.5, settle_s: 10, default_mode: nadir}
        imager: {swath_half_angle_deg: 2.0, max_off_nadir_deg: 30, min_elevation_deg: 30,
                 min_sun_elevation_deg: 10, pixels_across: 6600, pixels_along: 4400,
                 bands: 4, bits_per_pixel: 12, compression_ratio: 2.0}
        radio: {downlink_rate_bps: 1.5e8, uplink_rate_bps: 64000, housekeeping_interval_s: 60}

:func:`spacecraft_class` builds a class from such a mapping and raises
:class:`~orbemu.errors.InputError` naming the key path, the value, the rule and the fix (with a
close match for a misspelt key). The defaults describe a generic ~100 kg Earth-observation
smallsat; they are illustrative orders of magnitude, not a particular spacecraft.

Body frame (used by ``solar_array.normal`` and ``solar_array.tracking_axis``): in nadir mode the
body axes are the local orbital frame — ``+z`` toward the Earth's centre (the imager boresight),
``+y`` along the negative orbit normal (−r×v), ``+x`` completing the triad (along the velocity
for a circular orbit). Named directions: ``zenith`` (−z, a body-mounted array on the anti-Earth
face), ``nadir`` (+z), ``velocity`` (+x), ``anti_velocity`` (−x), ``orbit_normal`` (−y, toward
r×v), ``anti_orbit_normal`` (+y); or any three numbers (normalised).

A body-mounted array (``tracking_axis: null``, the default) faces ``normal``. A single-axis
Sun-tracking wing (``tracking_axis: orbit_normal``, as on many LEO buses) turns about that body
axis to face the Sun as well as it can: its cosine is ``sqrt(1 − (ŝ·axis)²)`` (``normal`` is then
ignored).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import numpy.typing as npt

from orbemu.errors import InputError, UsageError

__all__ = [
    "ARRAY_NORMALS",
    "FIELD_RANGES",
    "SECTIONS",
    "AttitudeSpec",
    "BatterySpec",
    "ImagerSpec",
    "LoadsSpec",
    "RadioSpec",
    "SolarArraySpec",
    "SpacecraftClass",
    "StorageSpec",
    "per_satellite",
    "spacecraft_class",
]

#: Named solar-array normals in body axes (see the module docstring for the body frame).
ARRAY_NORMALS: dict[str, tuple[float, float, float]] = {
    "zenith": (0.0, 0.0, -1.0),
    "nadir": (0.0, 0.0, 1.0),
    "velocity": (1.0, 0.0, 0.0),
    "anti_velocity": (-1.0, 0.0, 0.0),
    "orbit_normal": (0.0, -1.0, 0.0),
    "anti_orbit_normal": (0.0, 1.0, 0.0),
}

#: Attitude mode names a scenario may use for ``attitude.default_mode``.
MODE_NAMES = ("nadir", "sun", "target")


@dataclass(frozen=True)
class SolarArraySpec:
    """Solar array: output = irradiance × area_m2 × efficiency × degradation × max(0, cos)."""

    #: Cell area facing the Sun, m².
    area_m2: float = 0.6
    #: Cell efficiency at the operating temperature (triple-junction GaAs ≈ 0.28–0.30).
    efficiency: float = 0.295
    #: Everything else multiplied in: packing, wiring, temperature, radiation aging (1 = none).
    degradation: float = 0.9
    #: Array normal in body axes (body-mounted array): a name of :data:`ARRAY_NORMALS` or three
    #: numbers.
    normal: str | tuple[float, float, float] = "zenith"
    #: Drive axis of a single-axis Sun-tracking array (same forms), or None for body-mounted.
    tracking_axis: str | tuple[float, float, float] | None = None

    def normal_body(self) -> tuple[float, float, float]:
        """The unit normal (or, when tracking, the unit drive axis) in body axes."""
        spec = self.normal if self.tracking_axis is None else self.tracking_axis
        v = ARRAY_NORMALS[spec] if isinstance(spec, str) else spec
        n = math.sqrt(sum(x * x for x in v))
        return (v[0] / n, v[1] / n, v[2] / n)


@dataclass(frozen=True)
class BatterySpec:
    """Battery: capacity, efficiencies and the state-of-charge thresholds (fractions 0..1)."""

    capacity_wh: float = 150.0
    #: Energy stored per energy delivered to the battery from the bus.
    charge_efficiency: float = 0.95
    #: Energy delivered to the bus per energy taken from the battery.
    discharge_efficiency: float = 0.95
    #: Depth-of-discharge floor: below it loads go unserved (brown-out is counted, not hidden).
    min_soc: float = 0.2
    #: Charge ceiling: excess generation is shunted (counted as curtailed).
    max_soc: float = 1.0
    initial_soc: float = 0.9
    #: Safe mode starts when the state of charge falls below this ...
    safe_enter_soc: float = 0.35
    #: ... and ends when it is back at or above this (hysteresis; > safe_enter_soc).
    safe_exit_soc: float = 0.6


@dataclass(frozen=True)
class LoadsSpec:
    """Electrical loads, watts, drawn while each is on (the engine says what is on)."""

    #: Always on (avionics, ADCS at rest, receiver).
    bus_w: float = 15.0
    #: Imager on.
    payload_w: float = 25.0
    #: Downlink transmitter on.
    transmitter_w: float = 30.0
    #: Heaters on (survival heaters stay on in safe mode).
    heater_w: float = 5.0
    #: Payload computer on (off in safe mode).
    compute_w: float = 8.0
    #: Extra drawn by the reaction wheels while slewing.
    slew_w: float = 4.0


@dataclass(frozen=True)
class StorageSpec:
    """Onboard mass memory."""

    capacity_bits: float = 1.0e12
    #: Telemetry and housekeeping data written continuously, bits/s.
    housekeeping_rate_bps: float = 4000.0


@dataclass(frozen=True)
class AttitudeSpec:
    """Attitude control as modes with slews (no dynamics)."""

    #: Eigen-axis slew rate, degrees per second.
    slew_rate_deg_s: float = 1.5
    #: Settling time added to every slew, seconds.
    settle_s: float = 10.0
    #: Mode at the start and after safe mode ends: ``nadir``, ``sun`` or ``target``.
    default_mode: str = "nadir"


@dataclass(frozen=True)
class ImagerSpec:
    """Earth-observation imager (a framing or push-broom camera taking one scene per capture).

    A scene is ``pixels_across × pixels_along`` pixels in ``bands`` spectral bands of
    ``bits_per_pixel`` bits, compressed by ``compression_ratio`` (2 for lossless-ish CCSDS 122,
    4–8 lossy): :attr:`bits_per_image`.
    """

    #: Half-angle of the nadir swath seen from the satellite (targets captured in nadir mode).
    swath_half_angle_deg: float = 2.0
    #: Largest off-nadir angle the satellite may point at a target (target mode).
    max_off_nadir_deg: float = 30.0
    #: Smallest elevation of the satellite seen from the target (≥ 0: the line of sight
    #: must clear the Earth).
    min_elevation_deg: float = 30.0
    #: Smallest Sun elevation at the target (optical imagers need daylight); −90 disables.
    min_sun_elevation_deg: float = 10.0
    pixels_across: int = 6600
    pixels_along: int = 4400
    bands: int = 4
    bits_per_pixel: int = 12
    compression_ratio: float = 2.0

    @property
    def bits_per_image(self) -> float:
        """Stored size of one scene, bits (after compression)."""
        return (float(self.pixels_across) * self.pixels_along * self.bands
                * self.bits_per_pixel / self.compression_ratio)


@dataclass(frozen=True)
class RadioSpec:
    """The radio to ground stations (used by the engine's contacts, not by the models here)."""

    #: Highest downlink rate of the transmitter, bit/s (a station's link budget may allow less).
    downlink_rate_bps: float = 150e6
    #: Highest uplink (telecommand) rate of the receiver, bit/s.
    uplink_rate_bps: float = 64e3
    #: Interval between two housekeeping packets, seconds.
    housekeeping_interval_s: float = 60.0


@dataclass(frozen=True)
class SpacecraftClass:
    """One kind of satellite; ``imager=None`` for a satellite without one."""

    name: str = "default"
    solar_array: SolarArraySpec = field(default_factory=SolarArraySpec)
    battery: BatterySpec = field(default_factory=BatterySpec)
    loads: LoadsSpec = field(default_factory=LoadsSpec)
    storage: StorageSpec = field(default_factory=StorageSpec)
    attitude: AttitudeSpec = field(default_factory=AttitudeSpec)
    imager: ImagerSpec | None = field(default_factory=ImagerSpec)
    radio: RadioSpec = field(default_factory=RadioSpec)

    def __post_init__(self) -> None:
        _validate(self, source=None, path=self.name)

    @classmethod
    def from_dict(cls, name: str, data: Mapping[str, Any], *, source: str | None = None,
                  path: str | None = None) -> SpacecraftClass:
        """Same as :func:`spacecraft_class`."""
        return spacecraft_class(name, data, source=source, path=path)


# ---- validation --------------------------------------------------------------------------------

_SECTIONS: dict[str, type] = {
    "solar_array": SolarArraySpec,
    "battery": BatterySpec,
    "loads": LoadsSpec,
    "storage": StorageSpec,
    "attitude": AttitudeSpec,
    "imager": ImagerSpec,
    "radio": RadioSpec,
}
#: The sections of a class and the dataclass of each (the scenario schema mirrors these).
SECTIONS = _SECTIONS

#: (low, high, low inclusive, high inclusive) per numeric field; None = unbounded.
_RANGES: dict[str, tuple[float | None, float | None, bool, bool]] = {
    "area_m2": (0.0, None, True, True),
    "efficiency": (0.0, 1.0, False, True),
    "degradation": (0.0, 1.0, True, True),
    "capacity_wh": (0.0, None, False, True),
    "charge_efficiency": (0.0, 1.0, False, True),
    "discharge_efficiency": (0.0, 1.0, False, True),
    "min_soc": (0.0, 1.0, True, False),
    "max_soc": (0.0, 1.0, False, True),
    "initial_soc": (0.0, 1.0, True, True),
    "safe_enter_soc": (0.0, 1.0, True, True),
    "safe_exit_soc": (0.0, 1.0, True, True),
    "bus_w": (0.0, None, True, True),
    "payload_w": (0.0, None, True, True),
    "transmitter_w": (0.0, None, True, True),
    "heater_w": (0.0, None, True, True),
    "compute_w": (0.0, None, True, True),
    "slew_w": (0.0, None, True, True),
    "capacity_bits": (0.0, None, True, True),
    "housekeeping_rate_bps": (0.0, None, True, True),
    "slew_rate_deg_s": (0.0, 180.0, False, True),
    "settle_s": (0.0, None, True, True),
    "swath_half_angle_deg": (0.0, 90.0, True, False),
    "max_off_nadir_deg": (0.0, 90.0, True, False),
    "min_elevation_deg": (0.0, 90.0, True, True),
    "min_sun_elevation_deg": (-90.0, 90.0, True, True),
    "pixels_across": (1, None, True, True),
    "pixels_along": (1, None, True, True),
    "bands": (1, None, True, True),
    "bits_per_pixel": (1, 64, True, True),
    "compression_ratio": (1.0, None, True, True),
    "downlink_rate_bps": (0.0, None, False, True),
    "uplink_rate_bps": (0.0, None, False, True),
    "housekeeping_interval_s": (0.0, None, False, True),
}
#: Allowed range of every numeric field: ``(low, high, low inclusive, high inclusive)``.
FIELD_RANGES = _RANGES
_INTEGER_FIELDS = {"pixels_across", "pixels_along", "bands", "bits_per_pixel"}


def _fail(message: str, *, source: str | None, field_path: str, fix: str) -> InputError:
    return InputError(message, source=source, field=field_path, fix=fix)


def _describe(rule: tuple[float | None, float | None, bool, bool]) -> str:
    lo, hi, lo_inc, hi_inc = rule
    parts = []
    if lo is not None:
        parts.append(f"{'>=' if lo_inc else '>'} {lo:g}")
    if hi is not None:
        parts.append(f"{'<=' if hi_inc else '<'} {hi:g}")
    return " and ".join(parts)


def _check_number(value: Any, name: str, *, source: str | None, field_path: str) -> float:
    integer = name in _INTEGER_FIELDS
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise _fail(f"expected a number, got {value!r}", source=source, field_path=field_path,
                    fix=f"Give {name} as a number")
    if integer and float(value) != int(value):
        raise _fail(f"expected a whole number, got {value!r}", source=source,
                    field_path=field_path, fix=f"Give {name} as an integer")
    x = float(value)
    rule = _RANGES.get(name)
    ok = math.isfinite(x)
    if ok and rule is not None:
        lo, hi, lo_inc, hi_inc = rule
        if lo is not None:
            ok = x >= lo if lo_inc else x > lo
        if ok and hi is not None:
            ok = x <= hi if hi_inc else x < hi
    if not ok:
        raise _fail(f"{value!r} is out of range", source=source, field_path=field_path,
                    fix=f"{name} must be finite and {_describe(rule) if rule else 'finite'}")
    return x


def _check_normal(value: Any, *, source: str | None, field_path: str
                  ) -> str | tuple[float, float, float]:
    if isinstance(value, str):
        if value not in ARRAY_NORMALS:
            close = difflib.get_close_matches(value, list(ARRAY_NORMALS), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise _fail(f"unknown array normal {value!r}{hint}", source=source,
                        field_path=field_path,
                        fix=f"Use one of {', '.join(ARRAY_NORMALS)} or three numbers")
        return value
    try:
        v = tuple(float(x) for x in value)
    except (TypeError, ValueError):
        v = ()
    if len(v) != 3 or not all(math.isfinite(x) for x in v) or sum(x * x for x in v) == 0.0:
        raise _fail(f"expected a name or three numbers (a non-zero body vector), got {value!r}",
                    source=source, field_path=field_path,
                    fix=f"Use one of {', '.join(ARRAY_NORMALS)} or e.g. [0, 0, -1]")
    return (v[0], v[1], v[2])


def _validate(cls: SpacecraftClass, *, source: str | None, path: str) -> None:
    """Check every field of a built class (ranges and cross-field rules)."""
    for section, spec in (("solar_array", cls.solar_array), ("battery", cls.battery),
                          ("loads", cls.loads), ("storage", cls.storage),
                          ("attitude", cls.attitude), ("imager", cls.imager),
                          ("radio", cls.radio)):
        if spec is None:
            continue
        for f in fields(spec):
            value = getattr(spec, f.name)
            fp = f"{path}.{section}.{f.name}"
            if f.name == "tracking_axis":
                if value is not None:
                    _check_normal(value, source=source, field_path=fp)
            elif f.name == "normal":
                _check_normal(value, source=source, field_path=fp)
            elif f.name == "default_mode":
                if value not in MODE_NAMES:
                    raise _fail(f"unknown attitude mode {value!r}", source=source,
                                field_path=fp, fix=f"Use one of {', '.join(MODE_NAMES)}")
            else:
                _check_number(value, f.name, source=source, field_path=fp)
    b = cls.battery
    bp = f"{path}.battery"
    if not b.min_soc < b.safe_enter_soc < b.safe_exit_soc <= b.max_soc:
        raise _fail(
            f"thresholds out of order: min_soc {b.min_soc:g}, safe_enter_soc "
            f"{b.safe_enter_soc:g}, safe_exit_soc {b.safe_exit_soc:g}, max_soc {b.max_soc:g}",
            source=source, field_path=bp,
            fix="Need min_soc < safe_enter_soc < safe_exit_soc <= max_soc")
    if not b.min_soc <= b.initial_soc <= b.max_soc:
        raise _fail(f"initial_soc {b.initial_soc:g} is outside [min_soc {b.min_soc:g}, "
                    f"max_soc {b.max_soc:g}]", source=source, field_path=f"{bp}.initial_soc",
                    fix="Choose an initial state of charge between min_soc and max_soc")


def spacecraft_class(name: str, data: Mapping[str, Any] | None, *, source: str | None = None,
                     path: str | None = None) -> SpacecraftClass:
    """Build and validate a :class:`SpacecraftClass` from a scenario mapping.

    ``data`` holds any of the sections ``solar_array``, ``battery``, ``loads``, ``storage``,
    ``attitude``, ``imager``, ``radio`` (each a mapping of the fields above; missing fields take the
    defaults; ``imager: null`` for none). ``source`` is the file name and ``path`` the key path
    of the class in it (default: ``name``), used in error messages.
    """
    where = path if path is not None else name
    data = {} if data is None else data
    if not isinstance(data, Mapping):
        raise _fail(f"expected a mapping of sections, got {type(data).__name__}", source=source,
                    field_path=where, fix=f"Sections are {', '.join(_SECTIONS)}")
    built: dict[str, Any] = {}
    for key, value in data.items():
        if key not in _SECTIONS:
            close = difflib.get_close_matches(str(key), list(_SECTIONS), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise _fail(f"unknown section {key!r}{hint}", source=source,
                        field_path=f"{where}.{key}", fix=f"Sections are {', '.join(_SECTIONS)}")
        spec_type = _SECTIONS[key]
        if value is None and key == "imager":
            built[key] = None
            continue
        if not isinstance(value, Mapping):
            raise _fail(f"expected a mapping, got {value!r}", source=source,
                        field_path=f"{where}.{key}",
                        fix=f"Give {key} as key: value pairs")
        names = [f.name for f in fields(spec_type)]
        kwargs: dict[str, Any] = {}
        for k, v in value.items():
            fp = f"{where}.{key}.{k}"
            if k not in names:
                close = difflib.get_close_matches(str(k), names, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise _fail(f"unknown field {k!r}{hint}", source=source, field_path=fp,
                            fix=f"Fields of {key} are {', '.join(names)}")
            if k == "normal" or (k == "tracking_axis" and v is not None):
                kwargs[k] = _check_normal(v, source=source, field_path=fp)
            elif k == "tracking_axis":
                kwargs[k] = None
            elif k == "default_mode":
                if not isinstance(v, str) or v.lower() not in MODE_NAMES:
                    raise _fail(f"unknown attitude mode {v!r}", source=source, field_path=fp,
                                fix=f"Use one of {', '.join(MODE_NAMES)}")
                kwargs[k] = v.lower()
            else:
                x = _check_number(v, k, source=source, field_path=fp)
                kwargs[k] = int(x) if k in _INTEGER_FIELDS else x
        built[key] = spec_type(**kwargs)
    try:
        return SpacecraftClass(name=name, **built)
    except InputError as exc:  # re-raise with the file and the key path of the class in it
        field_path = exc.field or ""
        if field_path == name or field_path.startswith(f"{name}."):
            field_path = where + field_path[len(name):]
        raise InputError(exc.message, source=source, field=field_path, fix=exc.fix) from None


def per_satellite(values: Sequence[float] | npt.ArrayLike,
                  class_index: npt.NDArray[np.intp]) -> npt.NDArray[np.float64]:
    """Broadcast one value per class to one per satellite: ``values[class_index]``."""
    arr = np.asarray(values, dtype=np.float64)
    return arr[class_index]


def check_class_index(class_index: npt.ArrayLike, n_classes: int) -> npt.NDArray[np.intp]:
    """Validate a class index per satellite (``(n_sats,)`` integers in ``[0, n_classes)``)."""
    idx = np.asarray(class_index)
    if idx.ndim != 1 or (idx.size and idx.dtype.kind not in "iu"):
        raise UsageError(f"class_index must be a 1-D integer array, got shape {idx.shape} "
                         f"dtype {idx.dtype}")
    if n_classes == 0:
        raise UsageError("need at least one spacecraft class")
    if idx.size and (idx.min() < 0 or idx.max() >= n_classes):
        raise UsageError(f"class_index values must be in [0, {n_classes}), got "
                         f"{int(idx.min())}..{int(idx.max())}")
    return idx.astype(np.intp)
