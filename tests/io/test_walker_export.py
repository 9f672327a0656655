"""Designed shells exported as TLE and OMM read back to the same trajectories.

Walker sets are built at TLE precision (orbemu.orbits.walker), so a TLE round trip reproduces
them; OMM carries more digits than TLE, so it does too."""

from __future__ import annotations

import io

import numpy as np
import pytest

from orbemu.io.omm import parse_omm_text, write_omm
from orbemu.io.tle import read_tle, write_tle
from orbemu.orbits.presets import walker_preset
from orbemu.orbits.propagation import SGP4Propagator
from tests.conftest import ONE_MILLIMETRE, ONE_SECOND_NS


def _max_distance_m(a, b) -> float:
    times = a.epochs[0] + np.arange(0, 86_400, 900, dtype=np.int64) * ONE_SECOND_NS
    ra = SGP4Propagator().propagate(a, times).position_m
    rb = SGP4Propagator().propagate(b, times).position_m
    return float(np.max(np.linalg.norm(ra - rb, axis=-1)))


@pytest.mark.parametrize("preset", ["hypatia-starlink-550", "iridium", "kuiper"])
def test_tle_round_trip(preset) -> None:
    es = walker_preset(preset)
    es = es.select(slice(0, len(es), max(1, len(es) // 200)))
    buf = io.StringIO()
    write_tle(es, buf)
    back = read_tle(buf.getvalue(), name=f"{preset}.tle")
    assert back.names.tolist() == es.names.tolist()
    assert back.norad_ids.tolist() == es.norad_ids.tolist()
    assert np.array_equal(back.epochs.ns, es.epochs.ns)
    assert _max_distance_m(es, back) < ONE_MILLIMETRE


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_omm_round_trip(fmt) -> None:
    es = walker_preset("oneweb")
    buf = io.StringIO()
    write_omm(es, buf, format=fmt)
    back = parse_omm_text(buf.getvalue(), source=f"oneweb.{fmt}")
    assert back.norad_ids.tolist() == es.norad_ids.tolist()
    assert _max_distance_m(es, back) < ONE_MILLIMETRE
