"""Plane inference: designed Walker shells recovered exactly; what it finds on real Starlink."""

from __future__ import annotations

import numpy as np
import pytest

from orbemu import ElementSet, Time
from orbemu.errors import UsageError
from orbemu.links import infer_planes
from orbemu.links.planes import raan_at_rad
from tests.links.conftest import AT, walker_shell


def assert_recovers(found_plane, found_slot, true_plane, true_slot) -> None:
    """Same partition into planes, and within each plane the same cyclic slot order."""
    assert np.all(found_plane >= 0)
    for p in np.unique(true_plane):
        members = true_plane == p
        assert np.unique(found_plane[members]).size == 1            # one plane ...
        q = found_plane[members][0]
        assert np.count_nonzero(found_plane == q) == members.sum()   # ... and nothing else
        n = members.sum()
        shift = (found_slot[members] - true_slot[members]) % n
        assert np.unique(shift).size == 1                            # slots up to rotation


@pytest.mark.parametrize(("planes", "per_plane", "phasing", "inc", "span"), [
    (24, 22, 5, 53.0, 360.0),      # Walker delta
    (6, 11, 2, 86.4, 180.0),       # Walker star (Iridium-like)
    (72, 22, 39, 53.0, 360.0),     # Starlink shell 1 size, F > P/2
])
def test_walker_shell_recovered_exactly(planes, per_plane, phasing, inc, span):
    at = Time.parse(AT)
    es = walker_shell(planes, per_plane, phasing, inclination_deg=inc, alt_m=550e3, at=at,
                      raan_span_deg=span, raan0_deg=17.0, epoch_spread_days=3.0)
    perm = np.random.default_rng(1).permutation(len(es))
    shuffled = es.select(perm)
    found = infer_planes(shuffled, at)
    assert_recovers(found.plane, found.slot, shuffled.plane, shuffled.slot)
    assert found.n_planes == planes and found.n_shells == 1 and found.n_unassigned == 0
    shell = found.shells[0]
    assert shell.pattern == ("delta" if span == 360.0 else "star")
    assert shell.min_sats_per_plane == shell.max_sats_per_plane == per_plane
    # planes numbered in RAAN order, slots in argument-of-latitude order
    order = np.argsort(found.plane * 10 + found.slot / per_plane)
    u = found.arg_latitude_rad[order].reshape(planes, per_plane)
    assert np.all(np.diff(u, axis=1) > 0)


def test_raan_is_carried_to_the_common_instant():
    """Elements at epochs days apart agree on the node only after the J2 precession."""
    at = Time.parse(AT)
    es = walker_shell(4, 5, 1, inclination_deg=53.0, alt_m=550e3, at=at, epoch_spread_days=3.0)
    raan = raan_at_rad(es, at).reshape(4, 5)
    spread = np.ptp(np.unwrap(raan, axis=1), axis=1)
    assert np.all(np.degrees(spread) < 1e-6)
    raw = es.raan_rad.reshape(4, 5)
    assert np.all(np.degrees(np.ptp(np.unwrap(raw, axis=1), axis=1)) > 1.0)  # ~4.5°/day drift


def test_two_shells_and_stragglers():
    at = Time.parse(AT)
    low = walker_shell(10, 8, 1, inclination_deg=53.0, alt_m=550e3, at=at, seed=1)
    high = walker_shell(6, 10, 2, inclination_deg=70.0, alt_m=570e3, at=at, seed=2,
                        first_satnum=95000)
    lone = walker_shell(1, 1, 0, inclination_deg=97.6, alt_m=400e3, at=at, first_satnum=99000)
    es = ElementSet.concat([low, high, lone])
    found = infer_planes(es, at)
    assert found.n_shells == 2 and found.n_planes == 16
    assert found.n_unassigned == 1 and found.plane[-1] == -1 and found.slot[-1] == -1
    assert [s.n_planes for s in found.shells] == [10, 6]
    assert found.shells[1].inclination_deg == pytest.approx(70.0, abs=1e-6)
    assert found.shells[0].altitude_m == pytest.approx(550e3, abs=1e3)
    structured = found.apply(es)
    np.testing.assert_array_equal(structured.plane, found.plane)
    with pytest.raises(UsageError):
        found.apply(low)
    assert "2 shells, 16 planes" in found.summary()


def test_real_starlink_structure(starlink):
    """What inference finds in the 2026-05-30 CelesTrak Starlink snapshot (10,395 satellites)."""
    found = infer_planes(starlink, Time.parse(AT))
    # most satellites sit in planes; the rest are raising, lowering or drifting
    assert found.n_unassigned < 0.08 * len(starlink)
    big = [s for s in found.shells if s.n_sats >= 300]
    assert len(big) >= 6
    # the 53.2° / 540 km shell is the full 72-plane Gen1 shell (5° between nodes)
    s540 = [s for s in big if abs(s.inclination_deg - 53.2) < 0.05 and
            abs(s.altitude_m - 540e3) < 15e3]
    assert len(s540) == 1 and s540[0].n_planes == 72 and s540[0].pattern == "delta"
    assert s540[0].raan_spacing_deg == pytest.approx(5.0, abs=0.1)
    # slots are a permutation 0..k-1 inside every plane
    for p in range(found.n_planes):
        slots = np.sort(found.slot[found.plane == p])
        np.testing.assert_array_equal(slots, np.arange(slots.size))
