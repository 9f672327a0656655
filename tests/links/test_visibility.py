"""Ground visibility: the numba grid against the numpy reference, and geometry from first
principles."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orbemu import GroundNodes
from orbemu.constants import C_M_S, WGS84_A_M, WGS84_E2
from orbemu.errors import UsageError
from orbemu.links import GroundLinks, LinkKind, ground_links
from orbemu.orbits.ground_nodes import MASK_BINS
from tests.conftest import ONE_METRE, ONE_MILLIMETRE

MICRORADIAN = 1e-6


def assert_same_links(a: GroundLinks, b: GroundLinks) -> None:
    np.testing.assert_array_equal(a.node, b.node)
    np.testing.assert_array_equal(a.sat, b.sat)
    np.testing.assert_allclose(a.length_m, b.length_m, rtol=0, atol=ONE_MILLIMETRE)
    np.testing.assert_allclose(a.elevation_rad, b.elevation_rad, rtol=0, atol=1e-12)
    np.testing.assert_allclose(a.azimuth_rad, b.azimuth_rad, rtol=0, atol=1e-12)


def test_grid_equals_reference_on_real_starlink(cities, starlink_itrf):
    r, _ = starlink_itrf
    grid = ground_links(cities, r)
    ref = ground_links(cities, r, method="reference")
    assert_same_links(grid, ref)
    # Starlink at 25° from 1,000 cities: tens of thousands of links, every city covered
    # between the shells' latitude limits.
    assert len(grid) > 20_000
    lat = cities.lat_deg
    covered = grid.links_per_node() > 0
    assert covered[np.abs(lat) < 50].all()
    # sorted by (node, sat), unique
    key = grid.node.astype(np.int64) * grid.n_sats + grid.sat
    assert np.all(np.diff(key) > 0)


@pytest.mark.parametrize("cell_m", [150e3, 600e3, 3_000e3])
def test_grid_is_exact_for_any_cell_size(cities, starlink_itrf, cell_m):
    r, _ = starlink_itrf
    sub = cities.select(slice(0, 1000, 7))
    assert_same_links(ground_links(sub, r, cell_m=cell_m),
                      ground_links(sub, r, method="reference"))


def test_grid_with_masks_ranges_nan_and_high_satellites(cities, starlink_itrf):
    """Masks, per-node range limits, failed satellites and GEO/MEO mixed into LEO."""
    r, _ = starlink_itrf
    rng = np.random.default_rng(7)
    sub = cities.select(slice(0, 300))
    mask = rng.uniform(0.0, 45.0, size=(len(sub), MASK_BINS))
    mask[::3] = -90.0
    nodes = GroundNodes.from_arrays(
        list(sub.names), sub.lat_deg, sub.lon_deg, sub.alt_m,
        min_elevation_deg=rng.uniform(-5.0, 40.0, len(sub)),
        max_range_m=np.where(rng.random(len(sub)) < 0.5, np.inf, rng.uniform(500e3, 3e6,
                                                                               len(sub))),
        mask_deg=mask)
    r = r.copy()
    r[rng.choice(len(r), 50, replace=False)] = np.nan
    high = rng.normal(size=(200, 3))
    high *= (rng.choice([26_560e3, 42_164e3], 200) / np.linalg.norm(high, axis=1))[:, None]
    r_all = np.vstack([r, high])
    grid = ground_links(nodes, r_all)
    assert_same_links(grid, ground_links(nodes, r_all, method="reference"))
    assert np.any(grid.sat >= len(r))            # the high ones are seen
    assert not np.any(np.isnan(grid.length_m))   # the failed ones are not
    finite = np.isfinite(nodes.max_range_m[grid.node])
    assert np.all(grid.length_m[finite] <= nodes.max_range_m[grid.node][finite])
    thr = nodes.min_elevation_at_deg(grid.node, grid.azimuth_rad)
    assert np.all(np.degrees(grid.elevation_rad) >= thr - 1e-9)


def _enu_by_hand(lat: float, lon: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    sl, cl, so, co = math.sin(lat), math.cos(lat), math.sin(lon), math.cos(lon)
    return (np.array([-so, co, 0.0]), np.array([-sl * co, -sl * so, cl]),
            np.array([cl * co, cl * so, sl]))


def _itrf_by_hand(lat: float, lon: float, alt: float) -> np.ndarray:
    n = WGS84_A_M / math.sqrt(1 - WGS84_E2 * math.sin(lat) ** 2)
    return np.array([(n + alt) * math.cos(lat) * math.cos(lon),
                     (n + alt) * math.cos(lat) * math.sin(lon),
                     (n * (1 - WGS84_E2) + alt) * math.sin(lat)])


@settings(max_examples=60, deadline=None)
@given(lat=st.floats(-89.0, 89.0), lon=st.floats(-180.0, 180.0), alt=st.floats(-100.0, 4000.0),
       el=st.floats(-10.0, 90.0), az=st.floats(0.0, 359.999), rng_km=st.floats(300.0, 3000.0),
       min_el=st.floats(0.0, 40.0))
def test_elevation_azimuth_range_from_first_principles(lat, lon, alt, el, az, rng_km, min_el):
    """Place a satellite at a chosen (az, el, range) in a hand-built ENU frame."""
    e, n, u = _enu_by_hand(math.radians(lat), math.radians(lon))
    g = _itrf_by_hand(math.radians(lat), math.radians(lon), alt)
    d = math.cos(math.radians(el)) * (math.sin(math.radians(az)) * e
                                      + math.cos(math.radians(az)) * n) \
        + math.sin(math.radians(el)) * u
    sat = (g + rng_km * 1e3 * d)[None, :]
    nodes = GroundNodes.from_arrays(["n"], [lat], [lon], [alt], min_elevation_deg=min_el)
    links = ground_links(nodes, sat)
    if abs(el - min_el) < 1e-6:
        return  # on the threshold itself either answer is right
    assert len(links) == (1 if el > min_el else 0)
    if len(links):
        assert links.length_m[0] == pytest.approx(rng_km * 1e3, abs=ONE_MILLIMETRE)
        assert links.elevation_rad[0] == pytest.approx(math.radians(el), abs=MICRORADIAN)
        if el < 89.9:
            daz = (links.azimuth_rad[0] - math.radians(az) + math.pi) % (2 * math.pi) - math.pi
            assert abs(daz) < 1e-5


def test_mask_blocks_one_side_only():
    mask = np.full(MASK_BINS, 5.0)
    mask[315:] = 40.0
    mask[:46] = 40.0            # 40° toward the north (315°..45°)
    nodes = GroundNodes.from_arrays(["s"], [0.0], [0.0], min_elevation_deg=10.0,
                                    mask_deg=mask[None, :])
    e, n, u = _enu_by_hand(0.0, 0.0)
    g = _itrf_by_hand(0.0, 0.0, 0.0)
    el = math.radians(30.0)
    north = g + 1e6 * (math.cos(el) * n + math.sin(el) * u)
    south = g + 1e6 * (-math.cos(el) * n + math.sin(el) * u)
    east_low = g + 1e6 * (math.cos(math.radians(7)) * e + math.sin(math.radians(7)) * u)
    links = ground_links(nodes, np.array([north, south, east_low]))
    assert links.sat.tolist() == [1]   # north is masked; east at 7° is below min_elevation 10°
    for method in ("grid", "reference"):
        assert ground_links(nodes, np.array([north, south]), method=method).sat.tolist() == [1]


def test_max_range_limits_links(cities, starlink_itrf):
    r, _ = starlink_itrf
    nodes = cities.select(slice(0, 50)).with_max_range(800e3)
    links = ground_links(nodes, r)
    assert len(links) > 0
    assert links.length_m.max() <= 800e3
    full = ground_links(cities.select(slice(0, 50)), r)
    assert len(full) > len(links)
    keep = full.length_m <= 800e3
    np.testing.assert_array_equal(full.sat[keep], links.sat)


def test_link_fields_and_kind(cities, starlink_itrf):
    r, _ = starlink_itrf
    links = ground_links(cities.select(slice(0, 10)), r)
    assert links.kind is LinkKind.GSL
    np.testing.assert_allclose(links.delay_s * C_M_S, links.length_m, rtol=1e-15)
    assert np.all(np.isinf(links.capacity_bps))
    off = links.node_offsets()
    assert off[-1] == len(links)
    for i in range(10):
        assert np.all(links.node[off[i]:off[i + 1]] == i)
    capped = links.with_capacity(5e8)
    assert np.all(capped.capacity_bps == 5e8)
    assert links.links_per_sat().sum() == len(links)
    # Everything above the horizon is within the LEO horizon distance.
    assert links.length_m.max() < 3_000e3 * ONE_METRE


def test_empty_inputs_and_bad_shapes(cities):
    none = ground_links(cities, np.zeros((0, 3)))
    assert len(none) == 0 and none.n_nodes == len(cities)
    all_nan = ground_links(cities.select(slice(0, 3)), np.full((4, 3), np.nan))
    assert len(all_nan) == 0
    with pytest.raises(UsageError, match=r"\(n_sats, 3\)"):
        ground_links(cities, np.zeros((4, 2, 3)))
    with pytest.raises(UsageError, match="method"):
        ground_links(cities, np.zeros((1, 3)), method="fast")  # type: ignore[arg-type]
