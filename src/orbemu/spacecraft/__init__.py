"""Spacecraft models, vectorized over satellites: power, storage, attitude modes, imager.

Models layer: imports orbits (and base); never engine, io or cli. Every model keeps its state as
arrays over satellites (frozen dataclasses of ``(n_sats,)`` arrays) and advances with a pure
``step``-style function; :func:`step_fleet` runs them all in a documented order.

- :mod:`.classes` — :class:`SpacecraftClass` (per-class parameters with scenario names) and
  :func:`spacecraft_class` (build + validate from a mapping);
- :mod:`.power` — solar arrays, battery, loads, safe mode;
- :mod:`.storage` — onboard data storage;
- :mod:`.attitude` — attitude modes and slews;
- :mod:`.targets`, :mod:`.imager` — imaging targets and the Earth-observation imager;
- :mod:`.fleet` — :class:`FleetParams`, :class:`FleetState`, :class:`Environment`,
  :class:`Commands`, :class:`StepRecord` and :func:`step_fleet`.
"""

from orbemu.spacecraft.attitude import AttitudeMode
from orbemu.spacecraft.classes import (
    AttitudeSpec,
    BatterySpec,
    ImagerSpec,
    LoadsSpec,
    RadioSpec,
    SolarArraySpec,
    SpacecraftClass,
    StorageSpec,
    spacecraft_class,
)
from orbemu.spacecraft.fleet import (
    Commands,
    Environment,
    FleetParams,
    FleetState,
    StepRecord,
    degrade_battery,
    force_safe_mode,
    set_alive,
    step_fleet,
)
from orbemu.spacecraft.imager import target_view_margin_rad
from orbemu.spacecraft.power import battery_margin_wh, safe_exit_margin_wh, sunlit_margin_rad
from orbemu.spacecraft.storage import storage_margin_bits
from orbemu.spacecraft.targets import Targets

__all__ = [
    "AttitudeMode",
    "AttitudeSpec",
    "BatterySpec",
    "Commands",
    "Environment",
    "FleetParams",
    "FleetState",
    "ImagerSpec",
    "LoadsSpec",
    "RadioSpec",
    "SolarArraySpec",
    "SpacecraftClass",
    "StepRecord",
    "StorageSpec",
    "Targets",
    "battery_margin_wh",
    "degrade_battery",
    "force_safe_mode",
    "safe_exit_margin_wh",
    "set_alive",
    "spacecraft_class",
    "step_fleet",
    "storage_margin_bits",
    "sunlit_margin_rad",
    "target_view_margin_rad",
]
