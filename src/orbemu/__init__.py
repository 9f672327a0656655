"""orbemu — an orbital emulator: real orbits, links, networks, spacecraft and ground operations.

The front door. Everything a user scripts against is importable from here::

    import orbemu
    sats = orbemu.load_elements("starlink")            # bundled CelesTrak snapshot
    times = orbemu.Time.range("2026-05-30T12:00:00Z", "95m", "60s")
    eph = orbemu.propagate(sats, times, frame="ITRF")  # (n_sats, n_times, 3) metres

Layers and conventions are described in ``docs/design.md``.
"""

from orbemu.errors import (
    DataError,
    InputError,
    OrbemuError,
    Rejection,
    ScenarioError,
    UnavailableError,
    UsageError,
)
from orbemu.io.elements import load_elements
from orbemu.io.ground import load_ground_nodes
from orbemu.orbits.elements import ElementSet
from orbemu.orbits.ephemeris import Ephemeris
from orbemu.orbits.ground_nodes import GroundNodes
from orbemu.orbits.passes import Passes, find_passes
from orbemu.orbits.propagation import Propagator, SGP4Propagator, propagate
from orbemu.time import Time
from orbemu.units import parse_distance_m, parse_duration_ns

__version__ = "0.1.0"

__all__ = [
    "DataError",
    "ElementSet",
    "Ephemeris",
    "GroundNodes",
    "InputError",
    "OrbemuError",
    "Passes",
    "Propagator",
    "Rejection",
    "SGP4Propagator",
    "ScenarioError",
    "Time",
    "UnavailableError",
    "UsageError",
    "__version__",
    "find_passes",
    "load_elements",
    "load_ground_nodes",
    "parse_distance_m",
    "parse_duration_ns",
    "propagate",
]
