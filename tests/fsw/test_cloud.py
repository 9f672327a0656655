"""The onboard cloud classifier: features, training, and the trained model beating the baseline
on held-out tiles."""

from __future__ import annotations

import numpy as np
import pytest

from orbemu.errors import InputError, UsageError
from orbemu.fsw.cloud import (
    CLOUDY_FRACTION,
    FEATURES,
    BrightnessRule,
    CloudModel,
    detection_scores,
    tile_features,
    train_cloud_model,
)
from orbemu.spacecraft.tiles import render_tiles


def _data(k: int, seed: int):
    rng = np.random.default_rng(seed)
    lat = np.degrees(np.arcsin(rng.uniform(-0.95, 0.95, k)))
    lon = rng.uniform(-180.0, 180.0, k)
    t = 1_780_000_000 * 10**9 + rng.integers(0, 10 * 86_400, k) * 10**9
    tiles = render_tiles(lat, lon, t, rng.uniform(8e3, 30e3, k), pixels=32, seed=11)
    return tile_features(tiles.pixels), tiles.cloud_fraction >= CLOUDY_FRACTION


@pytest.fixture(scope="module")
def split():
    return _data(700, 1), _data(500, 2)  # other places and times: held out


def test_features_have_their_names_and_meaning():
    white = np.full((2, 8, 8, 4), 220, np.uint8)
    dark = np.full((8, 8, 4), 10, np.uint8)
    f = tile_features(white)
    assert f.shape == (2, len(FEATURES))
    named = dict(zip(FEATURES, f[0], strict=True))
    assert named["bright_fraction"] == named["cloudlike_fraction"] == 1.0
    assert tile_features(dark)[0, FEATURES.index("bright_fraction")] == 0.0
    with pytest.raises(UsageError):
        tile_features(np.zeros((2, 8, 8, 3), np.uint8))


def test_the_trained_model_beats_the_brightness_baseline_on_held_out_tiles(split):
    (x, y), (xt, yt) = split
    assert 0.25 < yt.mean() < 0.6  # both classes well represented
    model = train_cloud_model(x, y)
    trained = detection_scores(model.predict(xt), yt)
    baseline = detection_scores(BrightnessRule().predict(xt), yt)
    assert trained.f1 > 0.9
    assert trained.f1 > baseline.f1 + 0.05
    # the baseline's trouble is false alarms (bright land, haze); the model keeps them down
    assert trained.precision > baseline.precision + 0.1


def test_a_model_is_saved_and_loaded(split, tmp_path):
    (x, y), _ = split
    model = train_cloud_model(x, y)
    model.save(tmp_path / "m.npz")
    again = CloudModel.load(tmp_path / "m.npz")
    assert np.array_equal(again.predict_proba(x), model.predict_proba(x))
    (tmp_path / "bad.npz").write_bytes(b"not a model")
    with pytest.raises(InputError, match="cannot read a cloud model"):
        CloudModel.load(tmp_path / "bad.npz")


def test_detection_scores_count_as_defined():
    s = detection_scores([1, 1, 0, 0, 1], [1, 0, 1, 0, 1])
    assert (s.tp, s.fp, s.fn, s.tn) == (2, 1, 1, 1)
    assert s.precision == pytest.approx(2 / 3) and s.recall == pytest.approx(2 / 3)
    assert s.f1 == pytest.approx(2 / 3) and s.accuracy == pytest.approx(3 / 5)
