"""The typed messages flight apps receive: frozen dataclasses with units in every field name.

Two kinds:

**State** (sampled every tick; an app reads the latest with ``ctx.orbit``, ``ctx.power``... or
``ctx.latest(Orbit)``, and receives it in ``on_message`` before each tick when it lists the type
in ``App.subscriptions``):

- :class:`Tick` — the tick's time and numbers;
- :class:`Orbit` — position and velocity in ITRF, geodetic latitude, longitude, height;
- :class:`Attitude` — the attitude mode, slewing or not, the target pointed at;
- :class:`Sun` — the Sun direction (ITRF unit vector), illuminated fraction, eclipse;
- :class:`Power` — state of charge, battery energy, generated and consumed power, safe mode;
- :class:`Storage` — bits used and the capacity.

Positions are the satellite's at the tick (cubic Hermite between the engine's step states); the
other state is the satellite's at the start of the engine step holding the tick (the models hold
powers and rates over a step).

**Events** (delivered to ``on_message`` at the first tick at or after their ``time_ns``, only
to apps subscribing to the type):

- :class:`Image` — an image the payload took, with a synthetic preview tile
  (:mod:`orbemu.spacecraft.tiles`) and the real sensor's data volume;
- :class:`Telecommand` — a command from the ground that reached the satellite;
- :class:`GroundMessage` — a message from the ground to the apps (``app_message`` command);
- :class:`SatMessage` — a message from an app on another satellite, carried over the emulated
  network with its path delay;
- :class:`SendReport` — what became of a message this app sent (accepted with its delay, or
  refused with the reason).

Times are int ns UTC (``time_ns``); vectors are tuples of three floats.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "EVENT_TYPES",
    "MESSAGE_TYPES",
    "STATE_TYPES",
    "Attitude",
    "GroundMessage",
    "Image",
    "Orbit",
    "Power",
    "SatMessage",
    "SendReport",
    "Storage",
    "Sun",
    "Telecommand",
    "Tick",
]

Vector = tuple[float, float, float]

#: Attitude mode names by the engine's mode numbers (:class:`orbemu.spacecraft.AttitudeMode`).
MODE_NAMES = ("nadir", "sun", "target", "safe")


@dataclass(frozen=True, slots=True)
class Tick:
    """A tick: ``time_ns`` (UTC ns), ``tick`` (number since the run's start at the app's rate),
    ``step`` (the engine step holding it)."""

    time_ns: int
    tick: int
    step: int


@dataclass(frozen=True, slots=True)
class Orbit:
    """The satellite's position ``r_itrf_m`` (m) and velocity ``v_itrf_m_s`` (m/s) in ITRF, and
    its geodetic ``lat_deg``, ``lon_deg`` and height ``alt_m`` (WGS84)."""

    time_ns: int
    r_itrf_m: Vector
    v_itrf_m_s: Vector
    lat_deg: float
    lon_deg: float
    alt_m: float


@dataclass(frozen=True, slots=True)
class Attitude:
    """``mode`` (``nadir``, ``sun``, ``target``, ``safe``), ``slewing`` and the ``target`` row
    pointed at in target mode (−1 none)."""

    time_ns: int
    mode: str
    slewing: bool
    target: int


@dataclass(frozen=True, slots=True)
class Sun:
    """``sun_itrf`` (unit vector toward the Sun, ITRF), the ``illuminated_fraction`` of the solar
    disk seen from the satellite (0..1) and ``in_eclipse`` (fraction below 1)."""

    time_ns: int
    sun_itrf: Vector
    illuminated_fraction: float
    in_eclipse: bool


@dataclass(frozen=True, slots=True)
class Power:
    """``soc`` (state of charge 0..1), ``battery_wh``, ``power_in_w`` (generated) and
    ``power_out_w`` (loads) over the last step, ``safe_mode``."""

    time_ns: int
    soc: float
    battery_wh: float
    power_in_w: float
    power_out_w: float
    safe_mode: bool


@dataclass(frozen=True, slots=True)
class Storage:
    """Onboard storage: ``used_bits`` of ``capacity_bits`` (``fill`` = the ratio)."""

    time_ns: int
    used_bits: float
    capacity_bits: float

    @property
    def fill(self) -> float:
        return self.used_bits / self.capacity_bits if self.capacity_bits > 0 else 0.0


@dataclass(frozen=True, slots=True)
class Image:
    """An image the payload took at ``time_ns``.

    image_id: the run's image number (what ``ctx.downlink_image``/``ctx.discard_image`` take).
    target, target_name: the target row and name; lat_deg, lon_deg: the tile centre.
    bits: the real sensor's data volume of the scene (pixels × bands × bits ÷ compression).
    tile: a ``(pixels, pixels, bands)`` uint8 preview (reflectance × 255: blue, green, red,
    near infrared) of the scene for onboard processing; ground_size_m: its side on the ground.
    The ground truth (cloud and land fractions) stays with the engine.
    """

    time_ns: int
    image_id: int
    target: int
    target_name: str
    lat_deg: float
    lon_deg: float
    bits: float
    ground_size_m: float
    tile: Any = field(repr=False)


@dataclass(frozen=True, slots=True)
class Telecommand:
    """A ground command that reached the satellite at ``time_ns`` (sent at ``sent_ns``):
    ``command`` (``set_mode``, ``capture``, ``reboot``...) and its ``args``."""

    time_ns: int
    sent_ns: int
    command: str
    args: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class GroundMessage:
    """A message from the ground (the ``app_message`` command) that reached the satellite at
    ``time_ns``; ``payload`` bytes (the command's ``text`` in UTF-8)."""

    time_ns: int
    sent_ns: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class SatMessage:
    """A message from ``src`` (a satellite name; ``app``: the sending app) that arrived at
    ``time_ns`` after ``delay_ms`` over the network."""

    time_ns: int
    sent_ns: int
    src: str
    app: str
    payload: bytes
    delay_ms: float


@dataclass(frozen=True, slots=True)
class SendReport:
    """What became of a message sent to ``dst`` at ``sent_ns``: ``accepted`` with the path's
    one-way ``delay_ms`` (arrival at ``sent_ns + delay``), or refused with a ``reason``."""

    time_ns: int
    sent_ns: int
    dst: str
    accepted: bool
    delay_ms: float
    reason: str


STATE_TYPES: tuple[type, ...] = (Tick, Orbit, Attitude, Sun, Power, Storage)
EVENT_TYPES: tuple[type, ...] = (Image, Telecommand, GroundMessage, SatMessage, SendReport)
MESSAGE_TYPES: tuple[type, ...] = STATE_TYPES + EVENT_TYPES
