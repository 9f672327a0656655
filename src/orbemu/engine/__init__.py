"""The emulation engine: clock, loop, events, faults, recorder (engine layer).

Imports the models (spacecraft, ground), comms, network, links, orbits and base layers; never
the adapters (store, scenario, io) or the faces. ::

    from orbemu.engine import Emulation, EmulationSetup, MemorySink
    emu = Emulation(setup, sink)          # setup: plain inputs (orbemu.engine.config)
    summary = emu.run()                   # or Emulation.resume(setup, sink).run()

- :mod:`.clock` — :class:`SimClock`: integer-ns simulated time; ``max``, ``paced``, ``realtime``;
  achieved speed, overruns, lateness;
- :mod:`.events` — :class:`Schedule` (events at exact times) and :class:`Detector` (switching
  function, tolerance, handler); :mod:`.detectors` — eclipse, visibility (AOS/LOS), battery
  low, storage full; :mod:`.network` — relay-network metrics, ISL link and handover detectors;
- :mod:`.faults` — :class:`FaultSpec`, :class:`FaultInjector`;
- :mod:`.contacts` — the contact plan and its execution with CCSDS packet queues;
- :mod:`.recorder` — :class:`Sink` (the interface the SQLite store implements), :class:`Event`,
  :class:`RunInfo`, :class:`MemorySink`;
- :mod:`.config` — :class:`EmulationSetup` and its parts; :mod:`.emulation` — :class:`Emulation`;
- :mod:`.control` — :class:`EmulationControl`: pause, step, speed, faults and stop from other
  threads, observers after each step (the web console).
"""

from orbemu.engine.clock import ClockStats, SimClock, SystemWallClock, WallClock
from orbemu.engine.config import (
    CommandSpec,
    ContactSetup,
    EmulationSetup,
    FleetSetup,
    NetworkSetup,
    RecordSetup,
)
from orbemu.engine.control import EmulationControl
from orbemu.engine.emulation import Emulation, EmulationStatus, RunSummary
from orbemu.engine.events import Crossings, Detector, Schedule
from orbemu.engine.faults import FaultInjector, FaultSpec
from orbemu.engine.recorder import EVENT_KINDS, Event, MemorySink, RunInfo, Sink

__all__ = [
    "EVENT_KINDS",
    "ClockStats",
    "CommandSpec",
    "ContactSetup",
    "Crossings",
    "Detector",
    "Emulation",
    "EmulationControl",
    "EmulationSetup",
    "EmulationStatus",
    "Event",
    "FaultInjector",
    "FaultSpec",
    "FleetSetup",
    "MemorySink",
    "NetworkSetup",
    "RecordSetup",
    "RunInfo",
    "RunSummary",
    "Schedule",
    "SimClock",
    "Sink",
    "SystemWallClock",
    "WallClock",
]
