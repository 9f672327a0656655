"""The scenario schema: frozen pydantic models, one per section of a scenario file.

A scenario file is YAML; :func:`orbemu.scenario.load_scenario` validates it into
:class:`Scenario`. Every field name carries its unit (``altitude_km``, ``capacity_wh``,
``slew_rate_deg_s``); durations are written with a unit in YAML (``step: 10s``) and held as int
nanoseconds in fields ending ``_ns`` (the YAML key is the name without ``_ns``). Every section
has defaults, so a minimal scenario is a name and one constellation::

    name: my-shell
    constellations:
      - walker: {planes: 6, sats_per_plane: 11, altitude_km: 780, inclination_deg: 86.4}

Sections and what they map to:

- ``run`` (:class:`RunSettings`): window, step, clock mode, checkpoints.
- ``constellations`` (:class:`Constellation`): a bundled element set
  (:func:`orbemu.io.catalog.list_datasets`), a file (TLE/OMM, relative to the scenario file), a
  Walker shell (:func:`orbemu.orbits.walker.walker_delta`/``walker_star``) or a preset
  (:func:`orbemu.orbits.presets.walker_preset`); a selection; a ``role`` and spacecraft class.
- ``ground`` (:class:`Ground`): stations, gateways, PoPs, remote sites and cloud destinations
  (→ :class:`~orbemu.orbits.ground_nodes.GroundNodes` roles ``station``, ``gateway``, ``pop``,
  ``site``, ``cloud``).
- ``spacecraft`` (:class:`SpacecraftClass` by name): the sections of
  :class:`orbemu.spacecraft.SpacecraftClass` — solar_array, battery, loads, storage, attitude,
  imager, radio — with the same field names.
- ``targets`` (:class:`TargetSource`): lat/lon points with priorities, inline or CSV.
- ``network`` (:class:`NetworkSettings`): ISLs (→ :func:`orbemu.links.plus_grid`), ground-link
  policy (→ :func:`orbemu.links.select_links`), ground relaying, endpoint pairs to monitor.
- ``schedules`` (:class:`Command`), ``faults`` (:class:`Faults`), ``outputs`` (:class:`Outputs`).
- ``apps`` (:class:`Apps`): flight software on the modelled satellites (→ :mod:`orbemu.fsw`):
  which app, on which satellites, in which runner, with its rate, CPU budget, restart policy and
  limits; ``hil: true`` for hardware in the loop.
- ``netemu`` (:class:`NetemuSection`): live network emulation in Linux namespaces
  (``orbemu netemu up``; :mod:`orbemu.netemu`).
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import typing
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    Field,
    PrivateAttr,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)

from orbemu.errors import InputError
from orbemu.io.catalog import list_datasets
from orbemu.orbits.presets import list_presets
from orbemu.scenario._types import (
    AtField,
    Duration,
    OptionalDuration,
    ScenarioModel,
    UtcNs,
    problem,
)
from orbemu.scenario.faults import Fault, RandomFault
from orbemu.spacecraft.classes import (
    FIELD_RANGES,
    AttitudeSpec,
    BatterySpec,
    ImagerSpec,
    LoadsSpec,
    RadioSpec,
    SolarArraySpec,
    StorageSpec,
    spacecraft_class,
)
from orbemu.spacecraft.classes import SpacecraftClass as ModelsSpacecraftClass

__all__ = [
    "ENDPOINT_KINDS",
    "GROUND_ROLES",
    "AppEntry",
    "Apps",
    "Attitude",
    "Battery",
    "Clock",
    "Command",
    "Constellation",
    "Endpoint",
    "EndpointPair",
    "Faults",
    "Ground",
    "GroundSelection",
    "GroundSource",
    "GslSettings",
    "Imager",
    "IslSettings",
    "Loads",
    "NetemuSection",
    "NetworkSettings",
    "Outputs",
    "Radio",
    "RunSettings",
    "Satellites",
    "Scenario",
    "SolarArray",
    "SpacecraftClass",
    "Storage",
    "TargetSource",
    "Walker",
]

Role = Literal["relay", "eo", "tracked"]
#: The sections of ``ground`` and the GroundNodes role each gives its nodes.
GROUND_ROLES: dict[str, str] = {"stations": "station", "gateways": "gateway", "pops": "pop",
                                "sites": "site", "destinations": "cloud"}
#: Endpoint kinds in ``network.monitor`` (``site:NAME``) → the ground section they name.
ENDPOINT_KINDS: dict[str, str] = {"site": "sites", "cloud": "destinations",
                                  "station": "stations", "gateway": "gateways", "pop": "pops"}
_RECORDS = ("housekeeping", "events", "contacts", "packets", "network")
Record = Literal["housekeeping", "events", "contacts", "packets", "network"]


def _names_hint(name: str, names: list[str]) -> str:
    close = difflib.get_close_matches(name.lower(), names, n=1, cutoff=0.6)
    return f" — did you mean {close[0]!r}?" if close else ""


def _resolve_path(value: str, info: ValidationInfo) -> str:
    """A path relative to the scenario file (``context['base_dir']``), which must exist.
    With ``context['confine_dir']`` (an uploaded scenario) it must be a relative path that
    stays inside that folder (no ``..``, no absolute path, no link out of it)."""
    base = (info.context or {}).get("base_dir")
    confine = (info.context or {}).get("confine_dir")
    if confine is not None:
        inside = False
        try:
            root = Path(confine).resolve()
            path = (root / value).resolve()
            inside = (not Path(value).is_absolute() and not value.startswith("~")
                      and path.is_relative_to(root))
        except (OSError, RuntimeError, ValueError):
            pass
        if not inside:
            raise problem(f"file {value!r} is outside the scenario's folder",
                          "An uploaded scenario may only name files uploaded with it (a plain "
                          "file name)")
    try:
        path = Path(value).expanduser()
        if not path.is_absolute() and base is not None:
            path = Path(base) / path
        found = path.is_file()
    except (OSError, RuntimeError, ValueError):  # name too long, unknown ~user, NUL byte
        found = False
        path = Path(base or ".") / "?"
    if not found:
        where = f" (looked in {path.parent.resolve()})" if base is not None else ""
        raise problem(f"file {value!r} not found{where}",
                      "Give a path relative to the scenario file, or an absolute path")
    return str(path.resolve())


# ---- run ---------------------------------------------------------------------------------------
class Clock(ScenarioModel):
    """How simulated time advances against the wall clock.

    ``mode``: ``max`` (as fast as possible, lockstep), ``realtime`` (1 s per s) or ``paced``
    (``speed`` simulated seconds per wall-clock second). YAML: ``max``, ``realtime`` or ``10x``.
    """

    mode: Literal["max", "realtime", "paced"] = "max"
    speed: float | None = Field(None, gt=0.0, le=1e9)

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        if isinstance(data, str):
            text = data.strip().lower()
            if text in ("max", "realtime"):
                return {"mode": text}
            match = re.fullmatch(r"(\d+(?:\.\d*)?|\.\d+)\s*x", text)
            if match:
                return {"mode": "paced", "speed": float(match.group(1))}
            raise problem(f"cannot read clock {data!r}",
                          "Write max (as fast as possible), realtime, or a speed factor such "
                          "as 10x")
        if isinstance(data, (int, float)) and not isinstance(data, bool):
            raise problem(f"a clock speed needs an x, got {data!r}", f"Write {data}x")
        return data

    @model_validator(mode="after")
    def _speed(self) -> Clock:
        if (self.mode == "paced") != (self.speed is not None):
            raise problem("speed goes with (and only with) mode paced",
                          "Write clock: 10x, clock: max or clock: realtime")
        return self

    def __str__(self) -> str:
        return f"{self.speed:g}x" if self.mode == "paced" else self.mode


class RunSettings(ScenarioModel):
    """The run window and pacing.

    Attributes
    ----------
    start_ns: first instant, int ns UTC (YAML ``start``: ISO UTC text, or ``epoch`` — the default
        — for the newest element epoch of the loaded constellations): ``None`` means ``epoch``.
    duration_ns: simulated length (YAML ``duration``, default ``3h``).
    step_ns: fixed step (YAML ``step``, default ``10s``).
    clock: :class:`Clock` (YAML ``clock``: ``max``, ``realtime`` or ``10x``).
    checkpoint_every_ns: checkpoint interval in simulated time (YAML ``checkpoint_every``);
        ``None``: no checkpoints. A multiple of the step.
    """

    start_ns: UtcNs = Field(None, alias="start",
                            description="ISO UTC time (2026-05-30T18:00:00Z) or 'epoch'")
    duration_ns: Duration = Field("3h", alias="duration", gt=0,
                                  description="the simulated length, e.g. 3h")
    step_ns: Duration = Field("10s", alias="step", gt=0, description="the fixed step, e.g. 10s")
    clock: Clock = Field(Clock(), description="max, realtime or a speed factor such as 10x")
    checkpoint_every_ns: OptionalDuration = Field(
        None, alias="checkpoint_every", description="checkpoint interval, e.g. 30m")

    @field_validator("start_ns", mode="before")
    @classmethod
    def _start(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and value.strip().lower() == "epoch"):
            return None
        return value  # UtcNs parses the text (and writes it back as text)

    @model_validator(mode="after")
    def _steps(self) -> RunSettings:
        if self.step_ns > self.duration_ns:
            raise problem("the step is longer than the run",
                          "Make step shorter than duration")
        every = self.checkpoint_every_ns
        if every is not None and (every <= 0 or every % self.step_ns):
            raise problem("checkpoint_every must be a positive multiple of the step",
                          "e.g. checkpoint_every: 30m with step: 10s")
        return self

    @property
    def n_steps(self) -> int:
        """Number of steps (``duration // step``; the run covers ``n_steps + 1`` instants)."""
        return self.duration_ns // self.step_ns


# ---- constellations --------------------------------------------------------------------------
class Walker(ScenarioModel):
    """A Walker shell (→ :func:`orbemu.orbits.walker.walker_delta` / ``walker_star``).

    Exactly one of ``altitude_km`` and ``mean_motion_rev_day``. ``raan_spread_deg`` defaults to
    the pattern's (360° delta, 180° star). ``epoch``: ISO UTC (default: the designs' fixed epoch,
    2026-01-01). ``first_catalog_number``: default: after the constellations listed before.
    """

    pattern: Literal["delta", "star"] = Field("delta", description="delta or star")
    planes: int = Field(ge=1, le=1000, description="number of orbital planes")
    sats_per_plane: int = Field(ge=1, le=1000, description="satellites in each plane")
    phasing: int = Field(0, ge=0, description="Walker's F, 0 … planes-1")
    altitude_km: float | None = Field(None, gt=80.0, le=100_000.0,
                                      description="altitude above the equator, km")
    mean_motion_rev_day: float | None = Field(None, gt=0.5, lt=17.0,
                                              description="TLE mean motion, rev/day")
    inclination_deg: float = Field(ge=0.0, le=180.0, description="inclination, degrees")
    eccentricity: float = Field(0.0, ge=0.0, lt=1.0)
    arg_perigee_deg: float = Field(0.0, ge=-360.0, le=360.0)
    raan_spread_deg: float | None = Field(None, gt=0.0, le=360.0)
    raan_offset_deg: float = Field(0.0, ge=-360.0, le=360.0)
    mean_anomaly_offset_deg: float = Field(0.0, ge=-360.0, le=360.0)
    odd_plane_shift_slots: float = Field(0.0, ge=-1.0, le=1.0)
    epoch_ns: UtcNs = Field(None, alias="epoch", description="element epoch, ISO UTC")
    first_catalog_number: int | None = Field(None, ge=1, le=339_999)

    @model_validator(mode="after")
    def _shape(self) -> Walker:
        if (self.altitude_km is None) == (self.mean_motion_rev_day is None):
            raise problem("give exactly one of altitude_km and mean_motion_rev_day",
                          "e.g. altitude_km: 550")
        if self.phasing >= self.planes:
            raise problem(f"phasing must be below planes ({self.planes}), got {self.phasing}",
                          f"Use a phasing F in 0 … {self.planes - 1}")
        if self.planes * self.sats_per_plane > 100_000:
            raise problem(f"{self.planes * self.sats_per_plane} satellites in one shell",
                          "Keep a shell under 100,000 satellites")
        return self

    @property
    def n_sats(self) -> int:
        return self.planes * self.sats_per_plane


class Satellites(ScenarioModel):
    """Which satellites of a set to keep (all of them when absent). Filters apply in order:
    ``ids`` (catalog numbers), ``names`` (exact or glob patterns such as ``STARLINK-1*``), then
    the first ``count``."""

    ids: tuple[int, ...] | None = Field(None, description="catalog numbers to keep")
    names: tuple[str, ...] | None = Field(None, description="names or glob patterns to keep")
    count: int | None = Field(None, ge=1, description="keep the first N")


class Constellation(ScenarioModel):
    """One set of satellites: exactly one of ``dataset``, ``file``, ``walker``, ``preset``.

    A bare string in YAML is shorthand: a bundled name (``- starlink``) or, if it looks like a
    path, a file (``- sats/my.tle``).

    Attributes
    ----------
    name: unique name (default: the dataset/preset name, the file stem, or ``walker``);
        Walker satellites are named ``{NAME}-P{plane}-S{slot}`` (upper case).
    dataset: a bundled element set (``starlink``, ``oneweb``, ``iridium-next``...).
    file: a TLE/3LE/OMM file, relative to the scenario file (stored resolved, absolute).
    walker: a :class:`Walker` shell. preset: a named design (``kuiper``, ``starlink-gen1``...).
    epoch_ns: epoch of a preset (YAML ``epoch``; default the preset's own).
    select: a :class:`Satellites` filter.
    role: ``relay`` (carries network traffic: ISLs, routes), ``eo`` (an Earth-observation fleet
        operated from ground stations: power, storage, imaging, contacts) or ``tracked``
        (propagated and recorded only).
    spacecraft: the spacecraft class (a key of the ``spacecraft`` section); default: the
        built-in defaults of :class:`SpacecraftClass`.
    """

    name: str = Field("", max_length=64, description="a unique name for this constellation")
    dataset: str | None = Field(None, description="a bundled element set, e.g. starlink")
    file: str | None = Field(None, description="a TLE/OMM file relative to the scenario file")
    walker: Walker | None = Field(None, description="a Walker shell")
    preset: str | None = Field(None, description="a named design, e.g. kuiper")
    epoch_ns: UtcNs = Field(None, alias="epoch", description="epoch of a preset, ISO UTC")
    select: Satellites | None = None
    role: Role = Field("relay", description="relay, eo or tracked")
    spacecraft: str | None = Field(None, description="a class of the spacecraft section")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, str):
            text = data.strip()
            looks_like_path = "/" in text or "\\" in text or re.search(
                r"\.(tle|txt|3le|json|xml|csv|kvn|gz|xz)$", text, re.IGNORECASE)
            data = {"file": text} if looks_like_path else {"dataset": text}
        if isinstance(data, dict) and not data.get("name"):
            name = ""
            if isinstance(data.get("dataset"), str):
                name = data["dataset"]
            elif isinstance(data.get("preset"), str):
                name = data["preset"]
            elif isinstance(data.get("file"), str):
                name = Path(data["file"]).name.split(".")[0]
            elif "walker" in data:
                name = "walker"
            if name:
                return {**data, "name": name}
        return data

    @field_validator("dataset")
    @classmethod
    def _dataset(cls, value: str | None) -> str | None:
        if value is None:
            return None
        names = [d.name for d in list_datasets("elements")]
        key = value.strip().lower()
        if key not in names:
            raise problem(f"no bundled element set {value!r}{_names_hint(key, names)}",
                          f"Bundled sets: {', '.join(names)}; or use file: PATH")
        return key

    @field_validator("preset")
    @classmethod
    def _preset(cls, value: str | None) -> str | None:
        if value is None:
            return None
        names = sorted(list_presets())
        key = value.strip().lower().replace("_", "-").replace(" ", "-")
        if key not in names:
            raise problem(f"no constellation preset {value!r}{_names_hint(key, names)}",
                          f"Presets: {', '.join(names)}")
        return key

    @field_validator("file")
    @classmethod
    def _file(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else _resolve_path(value, info)

    @model_validator(mode="after")
    def _one_source(self) -> Constellation:
        given = [k for k in ("dataset", "file", "walker", "preset") if getattr(self, k)]
        if len(given) != 1:
            what = "none" if not given else " and ".join(given)
            raise problem(f"a constellation needs exactly one of dataset, file, walker, preset;"
                          f" got {what}", "e.g. dataset: starlink, or walker: {planes: ...}")
        if self.epoch_ns is not None and self.preset is None:
            raise problem("epoch applies to a preset only",
                          "Set walker.epoch for a Walker shell; files carry their own epochs")
        if not self.name:
            raise problem("a constellation needs a name", "Add name: ...")
        return self

    @property
    def source_kind(self) -> str:
        """``dataset``, ``file``, ``walker`` or ``preset``."""
        return next(k for k in ("dataset", "file", "walker", "preset") if getattr(self, k))


# ---- ground ----------------------------------------------------------------------------------
class GroundSelection(ScenarioModel):
    """Which nodes of a list to keep: ``names`` (exact or glob), then the first ``count``."""

    names: tuple[str, ...] | None = Field(None, description="names or glob patterns to keep")
    count: int | None = Field(None, ge=1, description="keep the first N")


class GroundSource(ScenarioModel):
    """Ground nodes: exactly one of ``dataset`` (a bundled list: ``ksat``, ``commercial``,
    ``starlink-gateways``...), ``file`` (CSV, Hypatia ``.basic.txt``, GeoJSON; relative to the
    scenario file) or one inline point (``name`` with ``lat_deg``, ``lon_deg``, ``alt_m``).

    The settings apply to every node of the source: ``min_elevation_deg`` (default: the file's
    column, else ``network.gsl.min_elevation_deg`` for gateways/sites/pops/destinations and 5°
    for stations), ``max_range_km``, ``mask_deg`` (``[[azimuth_deg, min_elevation_deg], ...]``
    points, linear and periodic in azimuth), ``antennas`` (parallel contacts of a station) and
    ``setup_s`` (antenna slew/setup time between two contacts). ``description`` is free text
    (e.g. "containerized datacenter in a copper mine").
    """

    dataset: str | None = Field(None, description="a bundled ground list, e.g. ksat")
    file: str | None = Field(None, description="a ground-node file relative to the scenario")
    name: str | None = Field(None, min_length=1, max_length=64,
                             description="name of one inline node")
    lat_deg: float | None = Field(None, ge=-90.0, le=90.0, description="geodetic latitude, deg")
    lon_deg: float | None = Field(None, ge=-180.0, le=180.0,
                                  description="geodetic longitude, deg (east positive)")
    alt_m: float = Field(0.0, ge=-500.0, le=9000.0, description="height above the ellipsoid, m")
    select: GroundSelection | None = None
    min_elevation_deg: float | None = Field(None, ge=-5.0, le=90.0)
    max_range_km: float | None = Field(None, gt=0.0)
    mask_deg: tuple[tuple[float, float], ...] | None = Field(
        None, min_length=1, description="[[azimuth_deg, min_elevation_deg], ...]")
    antennas: int = Field(1, ge=1, le=64, description="antennas (parallel contacts)")
    setup_s: float = Field(60.0, ge=0.0, le=3600.0,
                           description="antenna slew/setup time between contacts, s")
    description: str = ""

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, str):
            text = data.strip()
            looks_like_path = "/" in text or re.search(
                r"\.(csv|txt|json|geojson|gz|xz)$", text, re.IGNORECASE)
            return {"file": text} if looks_like_path else {"dataset": text}
        return data

    @field_validator("dataset")
    @classmethod
    def _dataset(cls, value: str | None) -> str | None:
        if value is None:
            return None
        names = [d.name for d in list_datasets("ground")]
        key = value.strip().lower()
        if key not in names:
            raise problem(f"no bundled ground list {value!r}{_names_hint(key, names)}",
                          f"Bundled lists: {', '.join(names)}; or use file: PATH, or an "
                          "inline point {name, lat_deg, lon_deg}")
        return key

    @field_validator("file")
    @classmethod
    def _file(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else _resolve_path(value, info)

    @field_validator("mask_deg")
    @classmethod
    def _mask(cls, value: tuple[tuple[float, float], ...] | None) -> Any:
        for az, el in value or ():
            if not (-360.0 <= az <= 360.0 and -5.0 <= el <= 90.0):
                raise problem(f"mask point [{az}, {el}] out of range",
                              "Points are [azimuth_deg 0…360, min_elevation_deg -5…90]")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> GroundSource:
        given = [k for k in ("dataset", "file", "name") if getattr(self, k)]
        if len(given) != 1:
            what = "none" if not given else " and ".join(given)
            raise problem(f"a ground entry needs exactly one of dataset, file, name; got {what}",
                          "e.g. dataset: ksat, or name: X with lat_deg and lon_deg")
        inline = self.name is not None
        if inline and (self.lat_deg is None or self.lon_deg is None):
            raise problem(f"inline node {self.name!r} needs lat_deg and lon_deg",
                          "Add lat_deg: and lon_deg: (degrees)")
        if not inline and (self.lat_deg is not None or self.lon_deg is not None):
            raise problem("lat_deg/lon_deg apply to an inline node only",
                          "Remove them, or give name: instead of dataset/file")
        if inline and self.select is not None:
            raise problem("select applies to a dataset or file", "Remove select")
        return self


class Ground(ScenarioModel):
    """Ground nodes by role: ``stations`` (contacts with EO spacecraft), ``gateways`` and
    ``pops`` (the relay network's ground segment), ``sites`` (remote sites the network serves,
    e.g. a containerized datacenter) and ``destinations`` (cloud regions as ground points)."""

    stations: tuple[GroundSource, ...] = ()
    gateways: tuple[GroundSource, ...] = ()
    pops: tuple[GroundSource, ...] = ()
    sites: tuple[GroundSource, ...] = ()
    destinations: tuple[GroundSource, ...] = ()

    def sections(self) -> list[tuple[str, str, tuple[GroundSource, ...]]]:
        """``(section, role, sources)`` in a fixed order."""
        return [(sec, role, getattr(self, sec)) for sec, role in GROUND_ROLES.items()]


# ---- spacecraft ------------------------------------------------------------------------------
# One source of truth: the sections and fields of a spacecraft class are those of
# orbemu.spacecraft.classes (SolarArraySpec, BatterySpec, ...), with their defaults and ranges
# (FIELD_RANGES). The pydantic models below are generated from those dataclasses so a scenario
# file is checked field by field with line-accurate errors; SpacecraftClass then builds the
# model's own class with orbemu.spacecraft.spacecraft_class, which checks the rules across fields.
AttitudeMode = Literal["nadir", "sun", "target"]
_DIRECTION = str | tuple[float, float, float]


def _mirror(spec: type, doc: str) -> type[ScenarioModel]:
    """A frozen pydantic model with the fields, defaults and ranges of dataclass ``spec``."""
    hints = typing.get_type_hints(spec)
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(spec):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        kw: dict[str, Any] = {}
        rule = FIELD_RANGES.get(f.name)
        if rule is not None:
            lo, hi, lo_inc, hi_inc = rule
            if lo is not None:
                kw["ge" if lo_inc else "gt"] = lo
            if hi is not None:
                kw["le" if hi_inc else "lt"] = hi
        ann: Any = hints[f.name]
        if f.name == "normal":
            ann = _DIRECTION
        elif f.name == "tracking_axis":
            ann = _DIRECTION | None
        elif f.name == "default_mode":
            ann = AttitudeMode
        fields[f.name] = (ann, Field(default, **kw))
    name = spec.__name__.removesuffix("Spec")
    model = create_model(name, __base__=ScenarioModel, __module__=__name__, **fields)
    model.__doc__ = doc
    return model


SolarArray = _mirror(SolarArraySpec, "Solar array (:class:`orbemu.spacecraft.SolarArraySpec`).")
Battery = _mirror(BatterySpec, "Battery (:class:`orbemu.spacecraft.BatterySpec`).")
Loads = _mirror(LoadsSpec, "Electrical loads, W (:class:`orbemu.spacecraft.LoadsSpec`).")
Storage = _mirror(StorageSpec, "Onboard storage (:class:`orbemu.spacecraft.StorageSpec`).")
Attitude = _mirror(AttitudeSpec, "Attitude modes and slews "
                   "(:class:`orbemu.spacecraft.AttitudeSpec`).")
Imager = _mirror(ImagerSpec, "Earth-observation imager (:class:`orbemu.spacecraft.ImagerSpec`).")
Radio = _mirror(RadioSpec, "Radio to ground stations (:class:`orbemu.spacecraft.RadioSpec`).")


class SpacecraftClass(ScenarioModel):
    """A class of spacecraft (a key of the ``spacecraft`` section): the sections and field names
    of :class:`orbemu.spacecraft.SpacecraftClass` — ``solar_array``, ``battery``, ``loads``,
    ``storage``, ``attitude``, ``imager`` (``null`` for none), ``radio`` — each field with the
    models' default when absent. :meth:`build` gives the models' class."""

    solar_array: SolarArray = SolarArray()  # type: ignore[valid-type]
    battery: Battery = Battery()  # type: ignore[valid-type]
    loads: Loads = Loads()  # type: ignore[valid-type]
    storage: Storage = Storage()  # type: ignore[valid-type]
    attitude: Attitude = Attitude()  # type: ignore[valid-type]
    imager: Imager | None = Imager()  # type: ignore[valid-type]
    radio: Radio = Radio()  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _rules(self) -> SpacecraftClass:
        try:
            self.build("class")
        except InputError as exc:
            where = (exc.field or "").removeprefix("class").lstrip(".")
            raise problem(f"{where + ': ' if where else ''}{exc.message}", exc.fix) from None
        return self

    def build(self, name: str) -> ModelsSpacecraftClass:
        """The spacecraft models' class (:func:`orbemu.spacecraft.spacecraft_class`)."""
        data = self.model_dump()
        return spacecraft_class(name, data)


# ---- targets -------------------------------------------------------------------------------
class TargetSource(ScenarioModel):
    """Imaging targets: one inline point (``name``, ``lat_deg``, ``lon_deg``, ``priority``) or a
    CSV ``file`` with columns ``name,lat_deg,lon_deg[,priority][,revisit_s]`` (header required;
    relative to the scenario file). ``priority``: weight, higher is more important (default 1).
    ``revisit_s``: a target is not imaged again sooner (default one day; a CSV column wins)."""

    name: str | None = Field(None, min_length=1, max_length=64)
    lat_deg: float | None = Field(None, ge=-90.0, le=90.0)
    lon_deg: float | None = Field(None, ge=-180.0, le=180.0)
    priority: float = Field(1.0, gt=0.0, le=1e6, description="weight; higher first")
    revisit_s: float = Field(86_400.0, ge=0.0, le=1e9,
                             description="minimum time between two captures, s")
    file: str | None = Field(None, description="CSV with name,lat_deg,lon_deg[,priority]")

    @field_validator("file")
    @classmethod
    def _file(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else _resolve_path(value, info)

    @model_validator(mode="after")
    def _one(self) -> TargetSource:
        if (self.file is None) == (self.name is None):
            raise problem("a target is either a file or an inline point with a name",
                          "e.g. {name: Santiago, lat_deg: -33.45, lon_deg: -70.66} or "
                          "file: targets.csv")
        if self.name is not None and (self.lat_deg is None or self.lon_deg is None):
            raise problem(f"target {self.name!r} needs lat_deg and lon_deg",
                          "Add lat_deg: and lon_deg: (degrees)")
        if self.file is not None and (self.lat_deg is not None or self.lon_deg is not None):
            raise problem("lat_deg/lon_deg apply to an inline target only", "Remove them")
        return self


# ---- network ---------------------------------------------------------------------------------
class IslSettings(ScenarioModel):
    """Inter-satellite links of relay constellations (→ :func:`orbemu.links.plus_grid`).

    ``mode``: ``plus-grid`` or ``none`` (bent pipe). ``max_range_km`` (default 5,000 km, the
    optical terminal), ``capacity_gbps`` (default 100), ``grazing_alt_km`` (line of sight above
    this altitude, default 80 km), ``cross``/``seam``/``slot_shift`` as in ``plus_grid``.
    """

    mode: Literal["plus-grid", "none"] = "plus-grid"
    max_range_km: float | None = Field(5000.0, gt=0.0)
    capacity_gbps: float = Field(100.0, gt=0.0, le=1e6)
    grazing_alt_km: float = Field(80.0, ge=0.0, le=1000.0)
    cross: Literal["auto", "slot", "phase"] = "auto"
    seam: Literal["auto", "open", "closed"] = "auto"
    slot_shift: int = Field(0, ge=-1000, le=1000)


class GslSettings(ScenarioModel):
    """Ground–satellite links of the relay network (→ :func:`orbemu.links.select_links`):
    ``policy`` (all, nearest, highest, longest), caps per ground node and per satellite,
    ``min_elevation_deg`` (default for gateways/PoPs/sites/destinations that give none) and
    ``max_range_km``."""

    policy: Literal["all", "nearest", "highest", "longest"] = "nearest"
    max_per_node: int | None = Field(1, ge=1)
    max_per_sat: int | None = Field(None, ge=1)
    min_elevation_deg: float = Field(25.0, ge=0.0, le=90.0)
    max_range_km: float | None = Field(None, gt=0.0)


class Endpoint(ScenarioModel):
    """One end of a monitored path: ``kind`` (site, cloud, station, gateway, pop) and the node
    ``name``. YAML: ``site:Escondida``."""

    kind: Literal["site", "cloud", "station", "gateway", "pop"]
    name: str = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        if isinstance(data, str):
            kind, sep, name = data.partition(":")
            if not sep:
                raise problem(f"endpoint {data!r} has no KIND: prefix",
                              f"Write KIND:NAME with KIND one of {', '.join(ENDPOINT_KINDS)}")
            return {"kind": kind.strip().lower(), "name": name.strip()}
        return data

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}"


class EndpointPair(ScenarioModel):
    """A path to monitor (RTT, hops, reachability): YAML ``site:A -> cloud:B`` or
    ``{src: site:A, dst: cloud:B}``."""

    src: Endpoint
    dst: Endpoint

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        if isinstance(data, str):
            src, sep, dst = data.partition("->")
            if not sep:
                raise problem(f"cannot read endpoint pair {data!r}",
                              "Write 'site:NAME -> cloud:NAME'")
            return {"src": src.strip(), "dst": dst.strip()}
        return data

    def __str__(self) -> str:
        return f"{self.src} -> {self.dst}"


class NetworkSettings(ScenarioModel):
    """The relay network: which constellations relay (default: every ``role: relay`` one),
    ISLs, ground links, whether paths may bounce through ground nodes (``ground_relay``), and the
    endpoint pairs whose RTT/hops/reachability are recorded (``monitor``)."""

    constellations: tuple[str, ...] | None = Field(
        None, description="names of the relay constellations (default: role relay)")
    isl: IslSettings = IslSettings()
    gsl: GslSettings = GslSettings()
    ground_relay: bool = False
    monitor: tuple[EndpointPair, ...] = ()


# ---- live network emulation ------------------------------------------------------------
class NetemuSection(ScenarioModel):
    """Live network emulation (``orbemu netemu up``; :mod:`orbemu.netemu`): real programs in
    network namespaces, packets carried with the emulated routes' delay, capacity and outages.

    ``nodes``: which nodes get a namespace — selectors ``site:NAME``, ``cloud:NAME``,
    ``gateway:*``, ``ground:NAME``, ``sat:NAME`` (globs allowed); default: the endpoints of
    ``network.monitor``, else every site and destination. ``mode``: ``path`` (end-to-end delay
    per route) or ``hop`` (every satellite of the relay constellations gets a namespace and
    forwards; ``routing``: ``static`` installs the model's routes, ``none`` leaves routing to
    your daemons). ``update_interval``: emulated time between route updates (≤ 100ms).
    ``queue_ms``: bottleneck queue limit as drain time; ``loss``: random loss probability;
    ``outage``: ``icmp`` (host unreachable to the sender) or ``silence``; ``reorder``: packets
    on a new, shorter path may overtake those in flight; ``mtu``, ``prefix`` (addressing plan).
    ``gsl_capacity_mbps``/``isl_capacity_mbps``: link rates in the emulation (default: the
    network's), e.g. 20 for a 20 Mbit/s ground link. ``start``: ``run`` (the run's start, the
    default), ``now`` (the wall clock) or an ISO UTC time.
    """

    nodes: tuple[str, ...] | None = Field(None, description="node selectors, e.g. site:NAME")
    mode: Literal["path", "hop"] = "path"
    routing: Literal["static", "none"] = "static"
    update_interval_ns: Duration = Field("100ms", alias="update_interval", gt=0,
                                         le=10 * 10**9, description="e.g. 100ms")
    queue_ms: float = Field(100.0, gt=0.0, le=60_000.0)
    loss: float = Field(0.0, ge=0.0, le=1.0)
    outage: Literal["icmp", "silence"] = "icmp"
    reorder: bool = False
    mtu: int = Field(1500, ge=576, le=65535)
    prefix: str = Field("10.64.0.0/10", description="the emulation's IPv4 network")
    gsl_capacity_mbps: float | None = Field(None, gt=0.0, le=1e7)
    isl_capacity_mbps: float | None = Field(None, gt=0.0, le=1e8)
    start: str = Field("run", description="run, now, or an ISO UTC time")


# ---- schedules, faults, outputs --------------------------------------------------------------
class Command(ScenarioModel):
    """A command sent at a time (and optionally every ``every``).

    ``target``: a satellite name or catalog number, ``constellation:NAME``, ``class:NAME`` or
    ``all``. ``command``: ``set_mode`` (args ``mode``: idle/imaging/downlink/safe, or
    ``attitude``: nadir/sun/target), ``capture`` (args ``target``: a target name), ``downlink``,
    ``reboot``, ``safe_mode``, ``set_param`` (args ``path``, ``value``: change a scenario
    parameter during the run, e.g. ``network.gsl.min_elevation_deg``).
    """

    at: AtField = Field(description="an offset from the start (30m, 01:30) or ISO UTC time")
    target: str = Field(min_length=1, description="satellite, constellation:NAME, class:NAME "
                        "or all")
    command: Literal["set_mode", "capture", "downlink", "reboot", "safe_mode", "set_param"]
    args: dict[str, str | int | float | bool] = Field(default_factory=dict)
    every_ns: OptionalDuration = Field(None, alias="every",
                                       description="repeat interval, e.g. 90m")


class Faults(ScenarioModel):
    """Faults: ``scripted`` (a list of :class:`~orbemu.scenario.faults.Fault`, each a mapping or
    a one-line spec) and ``random`` (:class:`~orbemu.scenario.faults.RandomFault` rates), drawn
    with ``seed`` (default: the scenario seed). A bare list is shorthand for ``scripted``."""

    scripted: tuple[Fault, ...] = ()
    random: tuple[RandomFault, ...] = ()
    seed: int | None = Field(None, ge=0, lt=2**63)

    @model_validator(mode="before")
    @classmethod
    def _list(cls, data: Any) -> Any:
        return {"scripted": data} if isinstance(data, list) else data


class Outputs(ScenarioModel):
    """What a run records, and where.

    ``dir``: the run folder (default: ``runs/<scenario name>``; relative to the working
    directory; the CLI's ``--out`` wins). ``record``: which record streams to keep.
    ``housekeeping_every_ns``/``network_every_ns``: decimation of housekeeping and network
    metrics (YAML ``housekeeping_every``/``network_every``; multiples of the step).
    ``commit_every_ns``: simulated time between database commits (YAML ``commit_every``): a crash
    loses at most this much. ``report``: write the HTML/PNG report at the end.
    """

    dir: str | None = Field(None, description="the run folder")
    record: tuple[Record, ...] = _RECORDS
    housekeeping_every_ns: Duration = Field("60s", alias="housekeeping_every", gt=0)
    network_every_ns: Duration = Field("60s", alias="network_every", gt=0)
    commit_every_ns: Duration = Field("10m", alias="commit_every", gt=0)
    report: bool = True


# ---- flight software --------------------------------------------------------------------------
class AppRestart(ScenarioModel):
    """What happens when an app fails (:class:`orbemu.fsw.RestartPolicy`): ``policy``
    (``never``/``on-failure``), ``max_restarts``, ``backoff`` (emulated time before the restart,
    multiplied by ``backoff_factor`` after each)."""

    policy: Literal["never", "on-failure"] = "on-failure"
    max_restarts: int = Field(5, ge=0, le=1_000_000)
    backoff_ns: Duration = Field("0s", alias="backoff", description="e.g. 0s, 5s")
    backoff_factor: float = Field(2.0, ge=1.0, le=1000.0)


class AppLimits(ScenarioModel):
    """Resource limits of an app process (:class:`orbemu.fsw.ProcessLimits`)."""

    memory_mb: float | None = Field(1024.0, gt=0.0, description="address space (RLIMIT_AS)")
    rss_mb: float | None = Field(None, gt=0.0, description="resident set watch")
    cpu_s: float | None = Field(None, gt=0.0, description="CPU seconds (RLIMIT_CPU)")
    open_files: int | None = Field(256, ge=16, le=1_000_000)


class AppBus(ScenarioModel):
    """A satellite's bus endpoint: ``host`` and ``port`` (0: any free port; otherwise ``port +
    k`` for the k-th satellite of the entry)."""

    host: str = "127.0.0.1"
    port: int = Field(0, ge=0, le=65535)


class AppEntry(ScenarioModel):
    """One app on a set of satellites (:class:`orbemu.fsw.AppSpec`).

    ``app``: ``module:Class`` or ``path/to/file.py:Class`` (relative to the scenario file);
    ``command``: any other program speaking the bus protocol (``{host}``, ``{port}``, ``{sat}``
    are replaced). ``satellites``: a selector as in ``schedules`` (``all`` — every modelled
    satellite —, ``constellation:NAME``, ``class:NAME``, a name...), modelled satellites only.
    ``runner``: ``inprocess``, ``process`` or ``bus`` (the engine waits for a program to
    connect);
    ``hil: true`` — hardware in the loop (runner ``bus``, the run paced in real time).
    ``images``: ``auto`` or ``app`` (the apps decide which images go down).
    ``network`` (``runner: process``): ``host``, ``isolated`` (its own network namespace, only
    a loopback) or ``netns:NAME`` (e.g. an ``orbemu netemu`` node's namespace); needs root.
    """

    app: str | None = Field(None, description="module:Class or file.py:Class")
    command: tuple[str, ...] | None = Field(None, description="a program and its arguments")
    name: str | None = Field(None, min_length=1, max_length=64)
    satellites: str = Field("all", min_length=1, description="which satellites run it")
    runner: Literal["inprocess", "process", "bus"] = "inprocess"
    hil: bool = False
    rate_hz: float | None = Field(None, gt=0.0, le=1e4)
    cpu_budget_ms: float | None = Field(None, gt=0.0, le=1e6)
    overrun: Literal["flag", "throttle"] = "flag"
    images: Literal["auto", "app"] = "auto"
    params: dict[str, Any] = Field(default_factory=dict)
    restart: AppRestart = AppRestart()
    limits: AppLimits = AppLimits()
    tick_timeout_ns: Duration = Field("10s", alias="tick_timeout", gt=0)
    start_timeout_ns: Duration = Field("30s", alias="start_timeout", gt=0)
    bus: AppBus = AppBus()
    network: str = Field("host", pattern=r"^(host|isolated|netns:[A-Za-z0-9_.\-]{1,64})$",
                         description="process apps: host, isolated (a network namespace of "
                                     "its own) or netns:NAME (join /run/netns/NAME)")

    @field_validator("app")
    @classmethod
    def _app(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        where, sep, attr = value.rpartition(":")
        if not sep or not where or not attr.isidentifier():
            raise problem(f"app {value!r} is not module:Class or file.py:Class",
                          "e.g. orbemu.fsw.examples:CloudFilter, or apps/mine.py:MyApp")
        if where.endswith(".py"):
            return f"{_resolve_path(where, info)}:{attr}"
        return value

    @model_validator(mode="after")
    def _program(self) -> AppEntry:
        if self.hil and self.runner == "inprocess":
            object.__setattr__(self, "runner", "bus")
        if self.runner != "bus" and not (self.app or self.command):
            raise problem(f"a {self.runner} app needs app: (a Python class) or command: (a "
                          "program)", "e.g. app: orbemu.fsw.examples:Heartbeat")
        if self.runner == "inprocess" and self.command:
            raise problem("command: runs a program: use runner: process (or bus)",
                          "Set runner: process")
        return self


class Apps(ScenarioModel):
    """The flight software (:class:`orbemu.fsw.AppsSetup`): ``entries`` (a list of
    :class:`AppEntry`; a bare list is shorthand for it), ``compute_duty`` (``budget``:
    deterministic, or ``measured``), ``cpu_scale`` (flight computer vs this machine, measured
    mode), ``tile_pixels`` (side of the image preview tiles)."""

    entries: tuple[AppEntry, ...] = ()
    compute_duty: Literal["budget", "measured"] = "budget"
    cpu_scale: float = Field(1.0, gt=0.0, le=1e6)
    tile_pixels: int = Field(64, ge=2, le=120)

    @model_validator(mode="before")
    @classmethod
    def _list(cls, data: Any) -> Any:
        return {"entries": data} if isinstance(data, list) else data


class Scenario(ScenarioModel):
    """A validated scenario (see the module notes for the sections).

    Load one with :func:`orbemu.scenario.load_scenario` (file or built-in name), which also
    checks cross-references (spacecraft classes, monitored endpoints, multiples of the step) and
    reports every problem with its line. ``source_text``/``source_path`` keep what it was loaded
    from (the run database stores the text).
    """

    version: Literal[1] = Field(1, description="scenario format version (1)")
    name: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$",
                      description="a short name: letters, digits, '-', '_', '.'")
    description: str = ""
    seed: int = Field(0, ge=0, lt=2**63, description="random seed (integer ≥ 0)")
    run: RunSettings = RunSettings()
    constellations: tuple[Constellation, ...] = Field(min_length=1)
    spacecraft: dict[str, SpacecraftClass] = Field(default_factory=dict)
    ground: Ground = Ground()
    targets: tuple[TargetSource, ...] = ()
    network: NetworkSettings = NetworkSettings()
    schedules: tuple[Command, ...] = ()
    faults: Faults = Faults()
    outputs: Outputs = Outputs()
    apps: Apps = Apps()
    netemu: NetemuSection | None = None

    _source_text: str = PrivateAttr("")
    _source_path: str | None = PrivateAttr(None)
    _lines: dict[tuple[Any, ...], int] = PrivateAttr(default_factory=dict)

    @property
    def source_text(self) -> str:
        """The YAML text it was loaded from (``""`` when built in Python)."""
        return self._source_text

    @property
    def source_path(self) -> str | None:
        """The file it was loaded from (``builtin:NAME`` for a built-in; None from Python)."""
        return self._source_path

    def yaml_path(self, path: tuple[Any, ...]) -> tuple[Any, ...]:
        """The path as written in the file it was loaded from: model paths such as
        ``('faults', 'scripted', 1)`` become ``('faults', 1)`` when the file used the shorthand.
        (The path unchanged when built in Python.)"""
        if not self._lines:
            return path
        cur: tuple[Any, ...] = ()
        for part in path:
            if (*cur, part) in self._lines:
                cur += (part,)
        return cur

    def line_of(self, path: tuple[Any, ...]) -> int | None:
        """The line of a model path in the file it was loaded from (the nearest enclosing key's
        line; None when built in Python)."""
        return self._lines.get(self.yaml_path(path)) if self._lines else None

    @model_validator(mode="after")
    def _references(self, info: ValidationInfo) -> Scenario:
        if (info.context or {}).get("defer_references"):
            return self
        from orbemu.scenario.checks import reference_problems
        found = reference_problems(self)
        if found:
            listing = "; ".join(f"{path}: {message}" for path, message, _, _ in found)
            raise problem(listing, found[0][3])
        return self

    # ---- conveniences for the engine --------------------------------------------------------
    @property
    def fault_seed(self) -> int:
        """Seed of random faults (``faults.seed`` or the scenario seed)."""
        return self.seed if self.faults.seed is None else self.faults.seed

    def spacecraft_class(self, name: str | None) -> SpacecraftClass:
        """The class ``name`` (``None``: the defaults)."""
        return SpacecraftClass() if name is None else self.spacecraft[name]

    def spacecraft_models(self, name: str | None) -> ModelsSpacecraftClass:
        """The spacecraft models' class for ``name`` (``None``: the defaults)."""
        return self.spacecraft_class(name).build(name or "default")

    def relay_constellations(self) -> tuple[Constellation, ...]:
        """The constellations of the relay network."""
        names = self.network.constellations
        if names is None:
            return tuple(c for c in self.constellations if c.role == "relay")
        return tuple(c for c in self.constellations if c.name in names)

    def to_yaml(self) -> str:
        """The validated scenario, defaults filled in, as YAML (durations as text)."""
        import yaml
        data = self.model_dump(mode="json", by_alias=True)
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
