"""orbemu — an orbital emulator: real orbits, links, networks, spacecraft and ground operations.

The front door. Everything a user scripts against is importable from here::

    import orbemu
    sats = orbemu.load_elements("starlink")            # bundled CelesTrak snapshot
    times = orbemu.Time.range("2026-05-30T12:00:00Z", "95m", "60s")
    eph = orbemu.propagate(sats, times, frame="ITRF")  # (n_sats, n_times, 3) metres

Layers and conventions are described in ``docs/design.md``.
"""

from orbemu.distributed import run_latency
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
from orbemu.links import (
    GroundLinks,
    HandoverTracker,
    IslLinks,
    IslPlan,
    LinkKind,
    ground_links,
    infer_planes,
    isl_links,
    plus_grid,
    select_links,
)
from orbemu.network import (
    Failure,
    FailureSchedule,
    LatencySeries,
    LatencySummary,
    NetworkConfig,
    NetworkSimulation,
    Routes,
    Topology,
    TopologyBuilder,
    forwarding_changes,
    latency_series,
    max_min_fair,
    pair_paths,
    shortest_paths,
    summarize,
)
from orbemu.orbits.elements import ElementSet
from orbemu.orbits.ephemeris import Ephemeris
from orbemu.orbits.ground_nodes import GroundNodes
from orbemu.orbits.interpolation import InterpolatedPropagator
from orbemu.orbits.kepler import J2Propagator
from orbemu.orbits.passes import Passes, find_passes
from orbemu.orbits.presets import list_presets, walker_preset
from orbemu.orbits.propagation import Propagator, SGP4Propagator, propagate
from orbemu.orbits.sun import Eclipses, find_eclipses
from orbemu.orbits.walker import walker_delta, walker_star
from orbemu.time import Time
from orbemu.units import parse_distance_m, parse_duration_ns

__version__ = "0.1.0"

__all__ = [
    "DataError",
    "Eclipses",
    "ElementSet",
    "Ephemeris",
    "Failure",
    "FailureSchedule",
    "GroundLinks",
    "GroundNodes",
    "HandoverTracker",
    "InputError",
    "InterpolatedPropagator",
    "IslLinks",
    "IslPlan",
    "J2Propagator",
    "LatencySeries",
    "LatencySummary",
    "LinkKind",
    "NetworkConfig",
    "NetworkSimulation",
    "OrbemuError",
    "Passes",
    "Propagator",
    "Rejection",
    "Routes",
    "SGP4Propagator",
    "ScenarioError",
    "Time",
    "Topology",
    "TopologyBuilder",
    "UnavailableError",
    "UsageError",
    "__version__",
    "find_eclipses",
    "find_passes",
    "forwarding_changes",
    "ground_links",
    "infer_planes",
    "isl_links",
    "latency_series",
    "list_presets",
    "load_elements",
    "load_ground_nodes",
    "max_min_fair",
    "pair_paths",
    "parse_distance_m",
    "parse_duration_ns",
    "plus_grid",
    "propagate",
    "run_latency",
    "select_links",
    "shortest_paths",
    "summarize",
    "walker_delta",
    "walker_preset",
    "walker_star",
]
