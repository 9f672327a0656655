"""Inter-satellite links: plans, line of sight, range, the numba kernel against numpy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orbemu import ElementSet, Time, propagate
from orbemu.constants import C_M_S, EARTH_RADIUS_M
from orbemu.errors import UsageError
from orbemu.links import IslPlan, LinkKind, infer_planes, isl_lengths, isl_links, plus_grid
from orbemu.links.budget import OPTICAL_ISL
from tests.conftest import ONE_MILLIMETRE
from tests.links.conftest import AT, walker_shell


def _pairs(plan: IslPlan) -> set[tuple[int, int]]:
    return {(int(a), int(b)) for a, b in plan.pairs}


def test_line_of_sight_boundary():
    """Two satellites at radius r, central angle θ: the chord's lowest point is r·cos(θ/2)."""
    r = EARTH_RADIUS_M + 550e3
    clear = EARTH_RADIUS_M + 80e3
    theta_max = 2 * math.acos(clear / r)
    thetas = np.array([0.1, 0.5, theta_max - 1e-6, theta_max + 1e-6, 1.5, math.pi])
    pos = [np.zeros(3)]
    for th in thetas:
        pos.append(r * np.array([math.cos(th), math.sin(th), 0.0]))
    pos[0] = np.array([r, 0.0, 0.0])
    plan = IslPlan.from_pairs([[0, k] for k in range(1, len(pos))], len(pos))
    for method in ("numba", "reference"):
        length = isl_lengths(plan, np.array(pos), method=method)
        up = np.isfinite(length)
        assert up.tolist() == [True, True, True, False, False, False]
        np.testing.assert_allclose(length[up], 2 * r * np.sin(thetas[up] / 2), rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), max_range_km=st.floats(500.0, 20_000.0))
def test_kernel_equals_reference_on_random_shells(seed, max_range_km):
    rng = np.random.default_rng(seed)
    n = 200
    r = rng.normal(size=(n, 3))
    r *= (rng.uniform(6_500e3, 8_000e3, n) / np.linalg.norm(r, axis=1))[:, None]
    r[rng.random(n) < 0.05] = np.nan
    pairs = rng.integers(0, n, size=(400, 2))
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    plan = IslPlan.from_pairs(pairs, n, max_range_m=max_range_km * 1e3)
    a = isl_lengths(plan, r)
    b = isl_lengths(plan, r, method="reference")
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
    np.testing.assert_allclose(a, b, rtol=0, atol=ONE_MILLIMETRE)
    assert np.all(a[np.isfinite(a)] <= max_range_km * 1e3)


def test_from_pairs_normalizes_and_rejects():
    plan = IslPlan.from_pairs([[3, 1], [1, 3], [0, 2], [2, 0], [4, 0]], 5,
                              max_range_m=[1.0, 2.0, 3.0, 4.0, 5.0])
    assert plan.pairs.tolist() == [[0, 2], [0, 4], [1, 3]]
    assert plan.max_range_m.tolist() == [3.0, 5.0, 1.0]   # first occurrence kept
    assert plan.degree().tolist() == [2, 1, 1, 1, 1]
    with pytest.raises(UsageError, match="itself"):
        IslPlan.from_pairs([[1, 1]], 3)
    with pytest.raises(UsageError, match=r"outside 0\.\.2"):
        IslPlan.from_pairs([[0, 3]], 3)
    with pytest.raises(UsageError, match=r"\(k, 2\)"):
        IslPlan.from_pairs([[0.0, 1.0]], 3)
    empty = IslPlan.none(10)
    assert len(empty) == 0 and empty.kind == "none"
    assert len(isl_links(empty, np.zeros((10, 3)))) == 0
    with pytest.raises(UsageError, match=r"\(10, 3\)"):
        isl_lengths(empty, np.zeros((9, 3)))


def test_plus_grid_on_a_walker_delta_shell():
    at = Time.parse(AT)
    P, S, F = 12, 10, 5
    es = walker_shell(P, S, F, inclination_deg=53.0, alt_m=550e3, at=at)
    idx = {(int(p), int(s)): k for k, (p, s) in enumerate(zip(es.plane, es.slot, strict=True))}
    for shift in (0, 1):
        plan = plus_grid(es, at=at, slot_shift=shift)
        assert plan.kind == "grid" and len(plan) == 2 * P * S
        assert np.all(plan.degree() == 4)
        pairs = _pairs(plan)
        for p in range(P):
            for s in range(S):
                me = idx[p, s]
                ring = tuple(sorted((me, idx[p, (s + 1) % S])))
                assert ring in pairs
                if p < P - 1:
                    assert tuple(sorted((me, idx[p + 1, (s + shift) % S]))) in pairs
                else:  # across the wrap the Walker phasing F moves the slots
                    assert tuple(sorted((me, idx[0, (s + shift + F) % S]))) in pairs
    # geometry: with shift 0 the wrap links are as long as any other cross-plane link
    plan = plus_grid(es, at=at)
    r = propagate(es, at, frame="TEME").position_m[:, 0]
    length = isl_lengths(plan, r)
    assert np.all(np.isfinite(length))
    pa, pb = es.plane[plan.pairs[:, 0]], es.plane[plan.pairs[:, 1]]
    wrap = (pa == 0) & (pb == P - 1)
    inner = (pa != pb) & ~wrap
    assert wrap.sum() == S
    assert length[wrap].max() < 1.02 * length[inner].max()
    assert length[wrap].min() > 0.98 * length[inner].min()


def test_plus_grid_on_a_walker_star_shell_has_an_open_seam():
    at = Time.parse(AT)
    P, S = 6, 11
    es = walker_shell(P, S, 2, inclination_deg=86.4, alt_m=780e3, at=at, raan_span_deg=180.0)
    plan = plus_grid(es, at=at)
    first_last = [(a, b) for a, b in plan.pairs
                  if {int(es.plane[a]), int(es.plane[b])} == {0, P - 1}]
    assert first_last == []
    deg = plan.degree()
    edge = (es.plane == 0) | (es.plane == P - 1)
    assert np.all(deg[edge] == 3) and np.all(deg[~edge] == 4)
    closed = plus_grid(es, at=at, seam="closed")
    assert len(closed) == len(plan) + S
    with pytest.raises(UsageError, match="seam"):
        plus_grid(es, seam="half")  # type: ignore[arg-type]


def test_plus_grid_needs_structure(starlink):
    with pytest.raises(UsageError, match="infer_planes"):
        plus_grid(starlink)


def test_plus_grid_on_real_starlink(starlink, starlink_itrf):
    at = Time.parse(AT)
    structured = infer_planes(starlink, at).apply(starlink)
    plan = plus_grid(structured, at=at, max_range_m=OPTICAL_ISL.max_range_m,
                     capacity_bps=OPTICAL_ISL.rate_bps)
    deg = plan.degree()
    assert deg.max() <= 4
    assert np.all(deg[structured.plane < 0] == 0)
    assert np.mean(deg[structured.plane >= 0] == 4) > 0.4
    r, _ = starlink_itrf
    links = isl_links(plan, r)
    assert links.kind is LinkKind.ISL
    assert links.up.mean() > 0.95
    np.testing.assert_array_equal(np.isnan(links.length_m), ~links.up)
    np.testing.assert_allclose(links.delay_s[links.up] * C_M_S, links.length_m[links.up])
    assert np.all(links.capacity_bps[links.up] == OPTICAL_ISL.rate_bps)
    assert np.all(links.capacity_bps[~links.up] == 0.0)
    assert np.nanmax(links.length_m) <= OPTICAL_ISL.max_range_m
    # ITRF and TEME give the same lengths (a rotation)
    teme = propagate(starlink, at, frame="TEME").position_m[:, 0]
    np.testing.assert_allclose(isl_lengths(plan, teme), links.length_m, rtol=0, atol=1e-3)
    ref = isl_lengths(plan, r, method="reference")
    np.testing.assert_allclose(ref, links.length_m, rtol=0, atol=ONE_MILLIMETRE)


def test_plus_grid_keeps_shells_apart_without_shell_numbers():
    """Two designed shells joined with global plane numbers but no shell numbers: planes of
    different inclination/altitude are never neighbours, and each shell wraps on itself."""
    at = Time.parse(AT)
    low = walker_shell(8, 6, 1, inclination_deg=53.0, alt_m=550e3, at=at, seed=1)
    high = walker_shell(5, 7, 2, inclination_deg=70.0, alt_m=570e3, at=at, seed=2,
                        first_satnum=95000)
    sats = list(low.satrecs) + list(high.satrecs)
    joined = ElementSet.from_satrecs(sats).with_structure(
        np.r_[low.plane, high.plane + 8], np.r_[low.slot, high.slot])
    plan = plus_grid(joined, at=at)
    shell_of = np.r_[np.zeros(len(low), int), np.ones(len(high), int)]
    assert np.all(shell_of[plan.pairs[:, 0]] == shell_of[plan.pairs[:, 1]])
    assert np.all(plan.degree() == 4)
    assert len(plan) == 2 * len(joined)
