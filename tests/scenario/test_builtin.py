"""The scenarios shipped with orbemu: every one validates and resolves."""

from __future__ import annotations

import numpy as np
import pytest

from orbemu.errors import DataError
from orbemu.scenario import (
    DEFAULT,
    check_scenario,
    list_scenarios,
    load_scenario,
    resolve_scenario,
    show_scenario,
)

NAMES = [info.name for info in list_scenarios()]


def test_list_has_the_default_first_and_descriptions():
    infos = list_scenarios()
    assert infos[0].name == DEFAULT and infos[0].default
    assert sum(info.default for info in infos) == 1
    assert len(infos) >= 3
    assert all(len(info.description) > 20 for info in infos)


@pytest.mark.parametrize("name", NAMES)
def test_every_builtin_validates(name):
    sc = check_scenario(name)
    assert sc.name == name
    assert sc.source_path == f"builtin:{name}"
    assert show_scenario(name) == sc.source_text


@pytest.mark.parametrize("name", NAMES)
def test_every_builtin_resolves(name):
    world = resolve_scenario(load_scenario(name))
    sc = world.scenario
    assert len(world.elements) == len(world.roles) == len(world.constellation) > 0
    assert len(np.unique(world.ground.names)) == len(world.ground)
    assert len(world.times()) == sc.run.n_steps + 1
    # every monitored endpoint is a ground node of the scenario
    for pair in sc.network.monitor:
        for end in (pair.src, pair.dst):
            assert world.ground.index_of(end.name) >= 0


def test_the_default_is_the_edge_to_cloud_story():
    world = resolve_scenario(load_scenario("default"))
    sc = world.scenario
    assert sc.name == DEFAULT
    roles = set(world.ground.roles)
    assert {"station", "gateway", "site", "cloud"} <= roles
    starlink = world.select_satellites("constellation:starlink")
    eo = world.select_satellites("role:eo")
    assert len(starlink) == 10_395
    assert 12 <= len(eo) <= 24
    assert set(world.roles[eo]) == {"eo"}
    # a few simulated hours; the EO class has an imager; the relay satellites are not modelled
    assert 1 <= sc.run.duration_ns / 3.6e12 <= 6
    assert sc.spacecraft_class("eo-smallsat").imager is not None
    assert sc.spacecraft_models("eo-smallsat").radio.downlink_rate_bps == 3.2e8
    assert sc.constellations[0].spacecraft is None
    # the start is the newest element epoch (Starlink's snapshot)
    assert world.start == world.elements.epoch_span()[1]
    # Walker catalog numbers do not collide with Starlink's
    assert len(np.unique(world.elements.norad_ids)) == len(world.elements)


def test_unknown_builtin():
    with pytest.raises(DataError, match="Built-in: atacama-edge"):
        show_scenario("nope")
