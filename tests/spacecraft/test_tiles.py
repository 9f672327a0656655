"""Synthetic EO tiles: deterministic, physically ordered radiometry, truth consistent with the
pixels, clouds that move while the land stays."""

from __future__ import annotations

import numpy as np
import pytest

from orbemu.errors import UsageError
from orbemu.spacecraft.tiles import render_tiles

T0 = 1_780_000_000 * 10**9


def _random_places(k: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    lat = np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, k)))  # uniform over the sphere
    lon = rng.uniform(-180.0, 180.0, k)
    t = T0 + rng.integers(0, 5 * 86_400, k) * 10**9
    return lat, lon, t


@pytest.fixture(scope="module")
def sample():
    lat, lon, t = _random_places(400, 1)
    return lat, lon, t, render_tiles(lat, lon, t, 20e3, pixels=32, seed=5)


def test_tiles_are_deterministic_and_seeded(sample):
    lat, lon, t, tiles = sample
    again = render_tiles(lat[:20], lon[:20], t[:20], 20e3, pixels=32, seed=5)
    assert np.array_equal(again.pixels, tiles.pixels[:20])
    other = render_tiles(lat[:20], lon[:20], t[:20], 20e3, pixels=32, seed=6)
    assert not np.array_equal(other.pixels, tiles.pixels[:20])
    assert tiles.pixels.shape == (400, 32, 32, 4) and tiles.pixels.dtype == np.uint8


def test_the_land_stays_and_the_clouds_move(sample):
    lat, lon, t, tiles = sample
    later = render_tiles(lat, lon, t + 6 * 3600 * 10**9, 20e3, pixels=32, seed=5)
    assert np.array_equal(later.land_fraction, tiles.land_fraction)
    changed = np.abs(later.cloud_fraction - tiles.cloud_fraction) > 0.2
    assert 0.1 < changed.mean() < 0.9


def test_the_world_has_plausible_proportions(sample):
    lat, _, _, tiles = sample
    land = (tiles.land_fraction > 0.5).mean()
    cloudy = (tiles.cloud_fraction >= 0.3).mean()
    assert 0.15 < land < 0.45          # Earth: 29 % land
    assert 0.25 < cloudy < 0.6         # Earth: about two thirds cloud-covered at any time
    a = np.abs(lat)
    tropics = (tiles.cloud_fraction[a < 10] >= 0.3).mean()
    subtropics = (tiles.cloud_fraction[(a > 15) & (a < 35)] >= 0.3).mean()
    assert tropics > subtropics + 0.2  # the ITCZ against the subtropical highs


def test_truth_agrees_with_the_pixels(sample):
    lat, _, _, tiles = sample
    r = tiles.pixels.astype(float) / 255
    vis = r[..., :3].mean(axis=-1)
    spread = r[..., :3].max(axis=-1) - r[..., :3].min(axis=-1)
    white = ((vis > 0.6) & (spread < 0.08)).mean(axis=(1, 2))
    keep = np.abs(lat) < 55  # snow is white too
    assert np.corrcoef(white[keep], tiles.cloud_fraction[keep])[0, 1] > 0.9
    clear = tiles.cloud_fraction == 0
    water = clear & (tiles.land_fraction == 0)
    # water without thick cloud is dark in the near infrared (0.02, plus haze); land is not
    assert r[water][..., 3].mean() < 0.12
    land = clear & (tiles.land_fraction == 1)
    assert r[land][..., 3].mean() > 0.3


def test_bad_inputs_are_refused():
    with pytest.raises(UsageError, match="pixels"):
        render_tiles(0.0, 0.0, T0, 1e4, pixels=500)
    with pytest.raises(UsageError, match="latitudes"):
        render_tiles(95.0, 0.0, T0, 1e4)
    with pytest.raises(UsageError, match="ground sizes"):
        render_tiles(0.0, 0.0, T0, 0.0)


def test_poles_and_the_date_line_render():
    tiles = render_tiles([90.0, -90.0, 0.0, 0.0], [0.0, 0.0, 179.99, -179.99], T0, 15e3,
                         pixels=16)
    assert np.isfinite(tiles.cloud_fraction).all() and tiles.pixels.shape == (4, 16, 16, 4)
