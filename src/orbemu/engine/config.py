"""The plain inputs of an :class:`~orbemu.engine.emulation.Emulation`.

Everything here is library objects and numbers — an :class:`~orbemu.orbits.elements.ElementSet`,
:class:`~orbemu.orbits.ground_nodes.GroundNodes`, spacecraft classes, index arrays, int ns — so the
engine knows nothing of YAML or files. The scenario adapter
(:func:`orbemu.scenario.build.build_emulation`) fills these from a scenario file; a script can
fill them directly.

Indices: ``sat`` is a row of ``EmulationSetup.elements``; ``node`` a row of
``EmulationSetup.ground``. Times are int ns UTC; durations int ns (``*_ns``) or float seconds
(``*_s``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from orbemu.engine.faults import FaultSpec
from orbemu.errors import UsageError
from orbemu.links.isl import IslPlan
from orbemu.orbits.elements import ElementSet
from orbemu.orbits.ground_nodes import GroundNodes
from orbemu.spacecraft.classes import SpacecraftClass
from orbemu.spacecraft.targets import Targets

__all__ = [
    "COMMANDS",
    "CommandSpec",
    "ContactSetup",
    "EmulationSetup",
    "FleetSetup",
    "NetworkSetup",
    "RecordSetup",
]

IntArray = npt.NDArray[np.int64]

#: Commands the engine executes (``CommandSpec.command``).
COMMANDS = ("set_mode", "capture", "downlink", "reboot", "safe_mode", "set_param")


def _ints(values: npt.ArrayLike, name: str) -> IntArray:
    arr = np.asarray(values, dtype=np.int64).reshape(-1)
    if np.any(arr < 0):
        raise UsageError(f"{name} must be non-negative indices")
    return arr


@dataclass(frozen=True, eq=False)
class FleetSetup:
    """The modelled satellites (power, storage, attitude, imager, radio).

    sats: (m,) satellite indices, increasing. classes: the spacecraft classes; class_index: (m,)
    class row of each. targets: imaging targets. eclipse_model: shadow model of the eclipse
    detector (``point``, ``penumbra``, ``umbra``, ``cylindrical``).
    """

    sats: IntArray
    classes: tuple[SpacecraftClass, ...]
    class_index: IntArray
    targets: Targets = field(default_factory=Targets.empty)
    eclipse_model: Literal["point", "penumbra", "umbra", "cylindrical"] = "point"

    def __post_init__(self) -> None:
        sats = _ints(self.sats, "FleetSetup.sats")
        if sats.size > 1 and np.any(np.diff(sats) <= 0):
            raise UsageError("FleetSetup.sats must be increasing")
        object.__setattr__(self, "sats", sats)
        idx = _ints(self.class_index, "FleetSetup.class_index")
        if idx.shape != sats.shape:
            raise UsageError(f"FleetSetup.class_index has {idx.size} entries for {sats.size} "
                             "satellites")
        if idx.size and idx.max() >= len(self.classes):
            raise UsageError("FleetSetup.class_index refers to a missing class")
        object.__setattr__(self, "class_index", idx)


@dataclass(frozen=True, eq=False)
class ContactSetup:
    """Ground-station contacts of the modelled satellites.

    stations: (s,) ground-node indices of the stations. antennas, setup_s: per station.
    scheduler: ``greedy`` (by value, fast) or ``optimal`` (MILP, bounded by ``time_limit_s``).
    slew_rate_deg_s: antenna slew rate (the gap between two contacts of an antenna is
    ``setup_s`` + the slew). min_duration_s: windows shorter than this are not scheduled.
    uplink_commands: commands go up as telecommand packets during contacts and run when they
    arrive; False: they run at the time they are sent.
    """

    stations: IntArray
    antennas: IntArray
    setup_s: npt.NDArray[np.float64]
    scheduler: Literal["greedy", "optimal"] = "greedy"
    time_limit_s: float = 60.0
    slew_rate_deg_s: float = 3.0
    min_duration_s: float = 30.0
    samples_per_window: int = 21
    uplink_commands: bool = True

    def __post_init__(self) -> None:
        st = _ints(self.stations, "ContactSetup.stations")
        object.__setattr__(self, "stations", st)
        object.__setattr__(self, "antennas",
                           np.broadcast_to(np.asarray(self.antennas, np.int64), st.shape).copy())
        object.__setattr__(self, "setup_s",
                           np.broadcast_to(np.asarray(self.setup_s, np.float64), st.shape).copy())
        if self.scheduler not in ("greedy", "optimal"):
            raise UsageError(f"scheduler must be 'greedy' or 'optimal', got {self.scheduler!r}")


@dataclass(frozen=True, eq=False)
class NetworkSetup:
    """The relay network and the endpoint pairs whose paths are monitored.

    relay: (r,) satellite indices of the relay constellation(s). nodes: ground-node indices in
    the network (gateways, PoPs, sites, destinations). isl: ``plus-grid`` or ``none``; the
    ``isl_*`` and ``grazing_alt_m`` as :func:`orbemu.links.plus_grid`. gsl_*: the ground-link
    policy and caps (:func:`orbemu.links.select_links`); the nodes' own elevation thresholds
    and ranges apply. ground_relay: paths may transit ground nodes. monitor: (src, dst)
    ground-node index pairs, labelled by ``monitor_labels``. interval_ns: network metrics
    cadence (a multiple of the step). isl_plan: an ISL plan already resolved for ``relay``
    (:func:`orbemu.engine.network.relay_isl_plan`; None: resolved when the run is built).
    """

    relay: IntArray
    nodes: IntArray
    monitor: tuple[tuple[int, int], ...] = ()
    monitor_labels: tuple[tuple[str, str], ...] = ()
    interval_ns: int = 60 * 10**9
    isl: Literal["plus-grid", "none"] = "plus-grid"
    isl_max_range_m: float = 5.0e6
    isl_capacity_bps: float = 100e9
    grazing_alt_m: float = 80e3
    isl_cross: Literal["auto", "slot", "phase"] = "auto"
    isl_seam: Literal["auto", "open", "closed"] = "auto"
    isl_slot_shift: int = 0
    gsl_policy: Literal["all", "nearest", "highest", "longest"] = "nearest"
    gsl_per_node: int | None = 1
    gsl_per_sat: int | None = None
    gsl_capacity_bps: float = 20e9
    ground_relay: bool = False
    isl_plan: IslPlan | None = None
    isl_plan_note: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "relay", _ints(self.relay, "NetworkSetup.relay"))
        object.__setattr__(self, "nodes", _ints(self.nodes, "NetworkSetup.nodes"))
        if self.interval_ns <= 0:
            raise UsageError("NetworkSetup.interval_ns must be > 0")
        labels = self.monitor_labels or tuple((f"node:{a}", f"node:{b}")
                                              for a, b in self.monitor)
        if len(labels) != len(self.monitor):
            raise UsageError("monitor_labels must label every monitored pair")
        object.__setattr__(self, "monitor_labels", tuple(labels))
        for a, b in self.monitor:
            if a not in set(self.nodes.tolist()) or b not in set(self.nodes.tolist()):
                raise UsageError(f"monitored pair ({a}, {b}) names nodes outside the network")


@dataclass(frozen=True)
class CommandSpec:
    """A command sent at ``time_ns`` to satellites ``sats`` (and again every ``every_ns``).

    command: one of :data:`COMMANDS`. args: ``set_mode`` — ``attitude`` (nadir, sun, target)
    and/or ``mode`` (idle: payload off; imaging: payload on and capturing; downlink; safe);
    ``capture`` — ``target`` (a target index); ``reboot`` — ``duration_s``; ``set_param`` —
    ``path`` (``network.gsl.min_elevation_deg``) and ``value``. target: the name in records.
    """

    time_ns: int
    sats: tuple[int, ...]
    command: str
    args: Mapping[str, Any] = field(default_factory=dict)
    every_ns: int | None = None
    target: str = ""

    def __post_init__(self) -> None:
        if self.command not in COMMANDS:
            raise UsageError(f"command must be one of {', '.join(COMMANDS)}, got "
                             f"{self.command!r}")
        if self.every_ns is not None and self.every_ns <= 0:
            raise UsageError("CommandSpec.every_ns must be > 0")


@dataclass(frozen=True)
class RecordSetup:
    """What is recorded: ``streams`` (housekeeping, events, contacts, packets, network),
    housekeeping cadence, checkpoint interval (None: none) and the commit interval (simulated
    time between durable commits: what builds the sink uses it, e.g.
    :func:`orbemu.scenario.build.run_sink`; the engine only ends steps)."""

    streams: frozenset[str] = frozenset(("housekeeping", "events", "contacts", "packets",
                                         "network"))
    housekeeping_every_ns: int = 60 * 10**9
    checkpoint_every_ns: int | None = None
    commit_every_ns: int | None = 600 * 10**9


@dataclass(frozen=True, eq=False)
class EmulationSetup:
    """Everything an emulation is built from (see the module notes).

    elements: every satellite (n). roles: (n,) relay, eo or tracked. constellation: (n,) name of
    each satellite's constellation. class_name: (n,) spacecraft class name ("" unmodelled).
    ground: every ground node (g) with its role and thresholds. start_ns, duration_ns, step_ns:
    the window. fleet, contacts, network: the parts (None: absent). faults, commands.
    clock: ``max``, ``paced`` or ``realtime`` (speed for paced). seed: the run's random seed.
    records: what to record. scenario_text/scenario_source/metadata: what the run database
    keeps about its origin.
    """

    name: str
    elements: ElementSet
    start_ns: int
    duration_ns: int
    step_ns: int
    ground: GroundNodes
    roles: npt.NDArray[np.object_] | None = None
    constellation: npt.NDArray[np.object_] | None = None
    class_name: npt.NDArray[np.object_] | None = None
    fleet: FleetSetup | None = None
    contacts: ContactSetup | None = None
    network: NetworkSetup | None = None
    faults: tuple[FaultSpec, ...] = ()
    commands: tuple[CommandSpec, ...] = ()
    clock: Literal["max", "paced", "realtime"] = "max"
    speed: float | None = None
    seed: int = 0
    records: RecordSetup = field(default_factory=RecordSetup)
    scenario_text: str = ""
    scenario_source: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.step_ns <= 0 or self.duration_ns <= 0:
            raise UsageError("step_ns and duration_ns must be > 0")
        if self.duration_ns % self.step_ns:
            raise UsageError("duration_ns must be a whole number of steps")
        n = len(self.elements)
        for name in ("roles", "constellation", "class_name"):
            value = getattr(self, name)
            if value is None:
                default = {"roles": "tracked", "constellation": "", "class_name": ""}[name]
                arr = np.empty(n, dtype=object)
                arr[:] = default
                object.__setattr__(self, name, arr)
            elif len(value) != n:
                raise UsageError(f"EmulationSetup.{name} has {len(value)} entries for {n} "
                                 "satellites")
        if self.fleet is not None and self.fleet.sats.size and self.fleet.sats.max() >= n:
            raise UsageError("FleetSetup.sats refers to a missing satellite")
        if self.network is not None:
            if self.network.relay.size and self.network.relay.max() >= n:
                raise UsageError("NetworkSetup.relay refers to a missing satellite")
            if self.network.interval_ns % self.step_ns:
                raise UsageError("the network interval must be a multiple of the step")
        hk = self.records.housekeeping_every_ns
        if hk <= 0 or hk % self.step_ns:
            raise UsageError("the housekeeping interval must be a positive multiple of the step")
        cp = self.records.checkpoint_every_ns
        if cp is not None and (cp <= 0 or cp % self.step_ns):
            raise UsageError("the checkpoint interval must be a positive multiple of the step")

    @property
    def n_steps(self) -> int:
        return self.duration_ns // self.step_ns

    @property
    def end_ns(self) -> int:
        return self.start_ns + self.duration_ns
