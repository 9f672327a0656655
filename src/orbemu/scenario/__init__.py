"""Scenarios: YAML files describing a run, validated into frozen pydantic models.

An adapter (it reads files and may use the engine and below). Needs the ``scenario`` extra
(``pydantic``, ``PyYAML``); ``orbemu run`` needs it too. ::

    from orbemu.scenario import load_scenario, resolve_scenario
    sc = load_scenario("default")              # or a path to a YAML file
    sc.run.step_ns, sc.constellations[1].walker.planes
    world = resolve_scenario(sc)               # ElementSet, GroundNodes, targets, faults...

- :mod:`~orbemu.scenario.model`: the sections (:class:`Scenario` and its parts);
- :mod:`~orbemu.scenario.loader`: YAML with line numbers, every error at once
  (:class:`~orbemu.errors.ScenarioError`: file, line, YAML path, value, expected, fix);
- :mod:`~orbemu.scenario.faults`: the fault model and the ``--fault`` one-line grammar;
- :mod:`~orbemu.scenario.builtin`: the scenarios shipped with orbemu;
- :mod:`~orbemu.scenario.resolve`: loading what a scenario names into domain objects.
"""

from __future__ import annotations

try:
    import pydantic  # noqa: F401
    import yaml  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the installation
    from orbemu.errors import UnavailableError

    raise UnavailableError(
        f"scenario files need pydantic and PyYAML ({exc.name} is missing); "
        "install them with: pip install 'orbemu[scenario]'") from None

from pathlib import Path

from orbemu.scenario._types import At
from orbemu.scenario.builtin import DEFAULT, ScenarioInfo, list_scenarios, show_scenario
from orbemu.scenario.faults import (
    FAULT_GRAMMAR,
    Fault,
    RandomFault,
    parse_fault_spec,
    sample_random_faults,
)
from orbemu.scenario.loader import load_scenario, parse_scenario_text, with_overrides
from orbemu.scenario.model import (
    Attitude,
    Battery,
    Clock,
    Command,
    Constellation,
    Endpoint,
    EndpointPair,
    Faults,
    Ground,
    GroundSource,
    GslSettings,
    Imager,
    IslSettings,
    Loads,
    NetworkSettings,
    Outputs,
    Radio,
    RunSettings,
    Scenario,
    SolarArray,
    SpacecraftClass,
    Storage,
    TargetSource,
    Walker,
)
from orbemu.scenario.resolve import ResolvedScenario, resolve_scenario
from orbemu.spacecraft.targets import Targets

__all__ = [
    "DEFAULT",
    "FAULT_GRAMMAR",
    "At",
    "Attitude",
    "Battery",
    "Clock",
    "Command",
    "Constellation",
    "Endpoint",
    "EndpointPair",
    "Fault",
    "Faults",
    "Ground",
    "GroundSource",
    "GslSettings",
    "Imager",
    "IslSettings",
    "Loads",
    "NetworkSettings",
    "Outputs",
    "Radio",
    "RandomFault",
    "ResolvedScenario",
    "RunSettings",
    "Scenario",
    "ScenarioInfo",
    "SolarArray",
    "SpacecraftClass",
    "Storage",
    "TargetSource",
    "Targets",
    "Walker",
    "check_scenario",
    "list_scenarios",
    "load_scenario",
    "parse_fault_spec",
    "parse_scenario_text",
    "resolve_scenario",
    "sample_random_faults",
    "show_scenario",
    "with_overrides",
]


def check_scenario(path: str | Path) -> Scenario:
    """Validate a scenario file (or built-in name) and return it; raises
    :class:`~orbemu.errors.ScenarioError` listing every problem. ``orbemu scenario check``."""
    return load_scenario(path)
