"""Positions for live displays: read from the states the engine propagates anyway, equal to
SGP4 within a metre at every step, and reading them never changes the engine's own states."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from orbemu.engine.control import EmulationControl
from orbemu.engine.emulation import Emulation
from orbemu.engine.positions import StateStream
from orbemu.engine.recorder import MemorySink
from orbemu.orbits.propagation import propagate
from orbemu.orbits.walker import walker_delta
from orbemu.time import Time

from ..conftest import ONE_METRE
from .conftest import EPOCH, START, S, make_setup


def _sgp4_itrf(elements, times_ns):
    return propagate(elements, Time(np.asarray(times_ns, np.int64)), frame="ITRF").position_m


def test_a_stream_answers_between_its_instants_and_across_chunks_without_disturbing_them():
    el = walker_delta(2, 3, 1, inclination_deg=53.0, altitude_m=550e3, epoch=EPOCH)
    step, n_points = 60 * S, 40
    row_bytes = len(el) * 3 * 8 * 2
    # a chunk of 4 instants: the reads below cross chunk boundaries often
    stream = StateStream(el, START, step, n_points, chunk_bytes=4 * row_bytes)
    plain = StateStream(el, START, step, n_points, chunk_bytes=4 * row_bytes)
    asked, got = [], []
    for k in range(n_points - 1):
        r, v = stream.at(k)  # the engine's reads, in order
        r_ref, v_ref = plain.at(k)
        assert np.array_equal(r, r_ref) and np.array_equal(v, v_ref)  # bit-identical
        for frac in (0.0, 0.25, 0.5, 0.9):  # a display's reads, between the engine's
            t = START + k * step + int(frac * step)
            asked.append(t)
            got.append(stream.positions_at(t))
    ref = _sgp4_itrf(el, asked)
    err = np.linalg.norm(np.stack(got, axis=1) - ref, axis=2)
    assert err.max() < ONE_METRE
    assert stream.positions_at(START + (n_points - 1) * step).shape == (len(el), 3)
    assert not stream.covers(START + n_points * step) and not stream.covers(START - 1)


def test_positions_of_every_satellite_at_every_step_equal_sgp4():
    # fleet at the steps, relay at the network instants (60 s), tracked satellites at the
    # housekeeping instants (60 s), one satellite nobody propagates (SGP4 for it alone)
    setup = make_setup(minutes=15, net_every_s=60, hk_every_s=60)
    roles = setup.roles.copy()
    roles[10], roles[11] = "tracked", "spare"
    fleet = replace(setup.fleet, sats=np.arange(10), class_index=np.zeros(10, np.int64))
    setup = replace(setup, roles=roles, fleet=fleet)
    seen: dict[int, np.ndarray] = {}

    def observe(emu: Emulation) -> None:
        seen[emu.time_ns] = emu.positions_m()

    control = EmulationControl()
    control.observers.append(observe)
    emu = Emulation(setup, MemorySink())
    emu.run(control=control)
    assert not control.observer_errors
    assert emu.tracked.tolist() == [10] and emu._position_rest.tolist() == [11]
    times = sorted(seen)
    assert len(times) == setup.n_steps
    ref = _sgp4_itrf(setup.elements, times)
    got = np.stack([seen[t] for t in times], axis=1)
    assert np.linalg.norm(got - ref, axis=2).max() < ONE_METRE
    # mid-step (a fault's or a command's instant) too
    t = START + 95 * S
    assert np.linalg.norm(emu.positions_m(t) - _sgp4_itrf(setup.elements, [t])[:, 0],
                          axis=1).max() < ONE_METRE


def test_satellites_on_a_coarse_grid_get_sgp4():
    setup = make_setup(minutes=6, net_every_s=180, network=True, contacts=False)
    emu = Emulation(setup, MemorySink())
    emu.run(until_step=4)
    t = emu.time_ns  # 40 s: between two network instants 180 s apart
    got = emu.positions_m()
    assert emu._position_rest.size == setup.network.relay.size  # the relay: SGP4
    assert np.linalg.norm(got - _sgp4_itrf(setup.elements, [t])[:, 0], axis=1).max() < ONE_METRE
