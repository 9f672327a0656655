"""The route tables shared by the controller and the plane (no root needed)."""

from __future__ import annotations

import numpy as np
import pytest

from orbemu.netemu.tables import RouteTables


@pytest.fixture
def tables(tmp_path):
    t = RouteTables.create(str(tmp_path / "tables"), 3, 4, 100_000_000, 1_767_225_600 * 10**9)
    yield t
    t.close()


def test_a_written_instant_reads_back_from_another_mapping(tables):
    delay = np.array([[0, 0.05, np.inf], [0.05, 0, 0.02], [np.inf, 0.02, 0]])
    rate = np.full((3, 3), 20e6)
    tables.write(7, 123, delay, rate)
    other = RouteTables.open(tables.path)
    try:
        assert other.read(7, 0, 1) == pytest.approx((0.05, 20e6), rel=1e-6)
        d, _r = other.read(7, 0, 2)
        assert d == np.inf
        assert other.written_k == 7
        assert other.read(6, 0, 1) is None  # never written
        assert other.read(11, 0, 1) is None  # the same slot, another instant
    finally:
        other.close()


def test_the_ring_forgets_old_instants(tables):
    for k in range(6):
        tables.write(k, k, np.full((3, 3), float(k)), np.ones((3, 3)))
    assert tables.read(1, 0, 1) is None  # overwritten by k = 5
    assert tables.read(5, 0, 1) == (5.0, 1.0)
    assert tables.read(2, 2, 2) == (2.0, 1.0)


def test_a_slot_being_written_is_not_read(tables):
    tables.write(3, 0, np.zeros((3, 3)), np.ones((3, 3)))
    tables._set_slot_k(3 % tables.r, -1)  # what a reader sees mid-write
    assert tables.read(3, 0, 1) is None


def test_the_clock_maps_monotonic_time_to_instants(tables):
    assert tables.instant_index(10**12) == 0  # not started
    tables.start_clock(5 * 10**9, 1.0)
    assert tables.instant_index(5 * 10**9) == 0
    assert tables.instant_index(5 * 10**9 + 99_999_999) == 0
    assert tables.instant_index(5 * 10**9 + 100_000_000) == 1
    assert tables.instant_index(7 * 10**9 + 50_000_000) == 20
    assert tables.emulated_ns(6 * 10**9) == tables.t0_ns + 10**9
    tables.start_clock(5 * 10**9, 10.0)  # paced: 10 emulated seconds per second
    assert tables.instant_index(6 * 10**9) == 100


def test_node_down_flags_are_shared(tables):
    other = RouteTables.open(tables.path)
    try:
        tables.down[1] = 1
        assert list(other.down) == [0, 1, 0]
    finally:
        other.close()


def test_a_foreign_file_is_refused(tmp_path):
    p = tmp_path / "x"
    p.write_bytes(b"\0" * 8192)
    with pytest.raises(ValueError, match="not an orbemu netemu table"):
        RouteTables.open(str(p))
