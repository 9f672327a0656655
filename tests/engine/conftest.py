"""A small synthetic world for engine tests: an EO shell with stations and targets, and a
relay shell with a site and two destinations."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from orbemu.engine.config import (
    ContactSetup,
    EmulationSetup,
    FleetSetup,
    NetworkSetup,
    RecordSetup,
)
from orbemu.orbits.elements import ElementSet
from orbemu.orbits.ground_nodes import GroundNodes
from orbemu.orbits.walker import walker_delta
from orbemu.spacecraft import SpacecraftClass, spacecraft_class
from orbemu.spacecraft.targets import Targets

S = 10**9
START = 1_780_000_000 * S  # 2026-05-28T20:26:40Z
EPOCH = "2026-05-28T18:00:00Z"

STATIONS = (("Svalbard", 78.23, 15.39), ("Troll", -72.01, 2.53), ("Tromso", 69.66, 18.94),
            ("Hartebeesthoek", -25.89, 27.69))
NETWORK = (("site-a", -24.27, -69.07, "site"), ("dest-b", 39.04, -77.49, "cloud"),
           ("dest-c", -23.55, -46.63, "cloud"), ("gw-1", -33.4, -70.6, "gateway"),
           ("gw-2", 25.8, -80.2, "gateway"))


def eo_class(**sections: Any) -> SpacecraftClass:
    base = {"battery": {"capacity_wh": 120.0, "initial_soc": 0.9},
            "radio": {"housekeeping_interval_s": 60}}
    base.update(sections)
    return spacecraft_class("eo", base)


def world_elements() -> tuple[ElementSet, int, int]:
    eo = walker_delta(3, 4, 1, inclination_deg=97.6, altitude_m=550e3, epoch=EPOCH,
                      name_prefix="EO")
    relay = walker_delta(8, 10, 1, inclination_deg=53.0, altitude_m=550e3, epoch=EPOCH,
                         name_prefix="RL", first_catalog_number=100)
    return ElementSet.concat([eo, relay], source="test"), len(eo), len(relay)


def world_ground() -> GroundNodes:
    st = GroundNodes.from_arrays([s[0] for s in STATIONS], [s[1] for s in STATIONS],
                                 [s[2] for s in STATIONS], min_elevation_deg=5.0,
                                 roles="station")
    net = GroundNodes.from_arrays([s[0] for s in NETWORK], [s[1] for s in NETWORK],
                                  [s[2] for s in NETWORK], min_elevation_deg=25.0,
                                  roles=[s[3] for s in NETWORK])
    return GroundNodes.concat([st, net], source="test")


def make_setup(*, minutes: int = 120, step_s: int = 10, faults: tuple = (),
               commands: tuple = (), checkpoint_min: int | None = None,
               network: bool = True, contacts: bool = True, cls: SpacecraftClass | None = None,
               hk_every_s: int = 60, net_every_s: int = 60) -> EmulationSetup:
    el, n_eo, n_relay = world_elements()
    ground = world_ground()
    targets = Targets.from_arrays(["atacama", "andes", "pampa", "sahara", "gobi"],
                                  [-23.5, -32.6, -36.0, 23.0, 42.0],
                                  [-68.2, -70.0, -62.0, 10.0, 105.0], priority=[3, 2, 1, 1, 1],
                                  revisit_s=3600.0)
    fleet = FleetSetup(sats=np.arange(n_eo), classes=(cls or eo_class(),),
                       class_index=np.zeros(n_eo, np.int64), targets=targets)
    stations = np.arange(len(STATIONS))
    nodes = np.arange(len(STATIONS), len(ground))
    roles = np.array(["eo"] * n_eo + ["relay"] * n_relay, dtype=object)
    const = np.array(["eo"] * n_eo + ["relay"] * n_relay, dtype=object)
    cname = np.array(["eo"] * n_eo + [""] * n_relay, dtype=object)
    site, b, c = nodes[0], nodes[1], nodes[2]
    return EmulationSetup(
        name="test-world", elements=el, start_ns=START, duration_ns=minutes * 60 * S,
        step_ns=step_s * S, ground=ground, roles=roles, constellation=const, class_name=cname,
        fleet=fleet,
        contacts=ContactSetup(stations=stations, antennas=np.ones(len(stations), np.int64),
                              setup_s=np.full(len(stations), 60.0)) if contacts else None,
        network=NetworkSetup(relay=np.arange(n_eo, n_eo + n_relay), nodes=nodes,
                             monitor=((site, b), (site, c)),
                             monitor_labels=(("site:site-a", "cloud:dest-b"),
                                             ("site:site-a", "cloud:dest-c")),
                             interval_ns=net_every_s * S, gsl_policy="nearest",
                             gsl_per_node=1) if network else None,
        faults=tuple(faults), commands=tuple(commands), seed=3,
        records=RecordSetup(housekeeping_every_ns=hk_every_s * S,
                            checkpoint_every_ns=None if checkpoint_min is None
                            else checkpoint_min * 60 * S))


@pytest.fixture(scope="session")
def base_setup() -> EmulationSetup:
    return make_setup()


def with_(setup: EmulationSetup, **kw: Any) -> EmulationSetup:
    return replace(setup, **kw)
