"""A small onboard cloud classifier (numpy only): tile features, logistic regression, metrics.

Onboard, the question is which images are worth the downlink: a tile under thick cloud (at least
:data:`CLOUDY_FRACTION` of it, :mod:`orbemu.spacecraft.tiles`) is not. Two classifiers answer
*cloudy?* from a preview tile:

- :class:`BrightnessRule` — the baseline an untrained filter would use: cloudy when the mean
  visible reflectance exceeds a threshold (bright deserts, snow and haze fool it);
- :class:`CloudModel` — logistic regression on :func:`tile_features` (band means and spreads,
  the fractions of bright, white and cloud-coloured pixels, vegetation index), standardised with
  the training set's statistics; :func:`train_cloud_model` fits it (Newton's method on the L2-
  regularised log-loss: a few milliseconds for thousands of tiles), :meth:`CloudModel.save` and
  :meth:`CloudModel.load` keep it in a ``.npz``.

Why numpy rather than ONNX Runtime or PyTorch: the model is 15 weights; its inference costs a
few microseconds over features that cost ~0.1 ms a tile, and it installs with orbemu's core.

:func:`detection_scores` gives precision, recall and F1 of *cloudy* detections against ground
truth (positive class: cloudy).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from orbemu.errors import InputError, UsageError

__all__ = [
    "CLOUDY_FRACTION",
    "FEATURES",
    "BrightnessRule",
    "CloudModel",
    "DetectionScores",
    "detection_scores",
    "tile_features",
    "train_cloud_model",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: A tile with at least this fraction of thick cloud is *cloudy* (not worth downlinking).
CLOUDY_FRACTION = 0.3
#: Names of the feature columns of :func:`tile_features`.
FEATURES = ("mean_blue", "mean_green", "mean_red", "mean_nir", "std_blue", "std_green",
            "std_red", "std_nir", "bright_fraction", "white_fraction", "cloudlike_fraction",
            "ndvi_mean", "nir_red_ratio", "blue_minus_red")


def tile_features(tiles: npt.ArrayLike) -> FloatArray:
    """``(k, len(FEATURES))`` features of ``(k, p, p, 4)`` uint8 tiles (or one ``(p, p, 4)``)."""
    t = np.asarray(tiles)
    if t.ndim == 3:
        t = t[None]
    if t.ndim != 4 or t.shape[-1] != 4:
        raise UsageError(f"tiles must be (k, p, p, 4) (blue, green, red, nir), got {t.shape}")
    r = t.reshape(t.shape[0], -1, 4).astype(np.float64) / 255.0
    mean = r.mean(axis=1)
    std = r.std(axis=1)
    vis = r[..., :3].mean(axis=-1)
    vmin = r[..., :3].min(axis=-1)
    vmax = r[..., :3].max(axis=-1)
    nir, red = r[..., 3], r[..., 2]
    bright = vis > 0.6
    white = bright & ((vmax - vmin) < 0.08)
    cloudlike = white & (nir > 0.85 * red)
    ndvi = (nir - red) / np.maximum(nir + red, 1e-6)
    return np.column_stack([
        mean, std, bright.mean(axis=1), white.mean(axis=1), cloudlike.mean(axis=1),
        ndvi.mean(axis=1), nir.mean(axis=1) / np.maximum(red.mean(axis=1), 1e-6),
        mean[:, 0] - mean[:, 2]])


@dataclass(frozen=True)
class BrightnessRule:
    """Cloudy when the mean visible reflectance exceeds ``threshold`` (the baseline)."""

    threshold: float = 0.3

    def predict_proba(self, features: FloatArray) -> FloatArray:
        vis = np.asarray(features)[:, :3].mean(axis=1)
        return (vis > self.threshold).astype(np.float64)

    def predict(self, features: FloatArray, threshold: float = 0.5) -> BoolArray:
        return self.predict_proba(features) >= threshold


@dataclass(frozen=True, eq=False)
class CloudModel:
    """Logistic regression on standardised :func:`tile_features`: ``p(cloudy) = σ(b + w·z)``,
    ``z = (x − mean) / scale``."""

    weights: FloatArray
    bias: float
    mean: FloatArray
    scale: FloatArray

    def predict_proba(self, features: FloatArray) -> FloatArray:
        z = (np.asarray(features, np.float64) - self.mean) / self.scale
        return 1.0 / (1.0 + np.exp(-(z @ self.weights + self.bias)))

    def predict(self, features: FloatArray, threshold: float = 0.5) -> BoolArray:
        return self.predict_proba(features) >= threshold

    def save(self, path: str | Path) -> None:
        np.savez(path, weights=self.weights, bias=np.float64(self.bias), mean=self.mean,
                 scale=self.scale, features=np.array(FEATURES))

    @classmethod
    def load(cls, path: str | Path) -> CloudModel:
        try:
            with np.load(path) as z:
                feats = tuple(str(x) for x in z["features"])
                if feats != FEATURES:
                    raise InputError("the model was trained on other features",
                                     source=str(path), field="features",
                                     fix="Train it again with this orbemu version")
                return cls(np.array(z["weights"]), float(z["bias"]), np.array(z["mean"]),
                           np.array(z["scale"]))
        except (OSError, KeyError, ValueError) as exc:
            raise InputError(f"cannot read a cloud model: {exc}", source=str(path),
                             fix="Give the .npz written by CloudModel.save / "
                                 "examples/train_cloud_model.py") from None


def train_cloud_model(features: FloatArray, cloudy: BoolArray, *, l2: float = 1e-2,
                      iterations: int = 50) -> CloudModel:
    """Fit :class:`CloudModel` by Newton's method on the L2-regularised mean log-loss."""
    x = np.asarray(features, np.float64)
    y = np.asarray(cloudy, np.float64)
    if x.ndim != 2 or x.shape[0] != y.size or x.shape[0] < 2:
        raise UsageError(f"need (k, f) features and (k,) labels, k ≥ 2; got {x.shape} and "
                         f"{y.shape}")
    mean = x.mean(axis=0)
    scale = np.where(x.std(axis=0) > 1e-12, x.std(axis=0), 1.0)
    z = np.column_stack([np.ones(x.shape[0]), (x - mean) / scale])
    k, f = z.shape
    theta = np.zeros(f)
    reg = np.full(f, l2)
    reg[0] = 0.0  # the bias is not regularised
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(z @ theta)))
        grad = z.T @ (p - y) / k + reg * theta
        hess = (z * (p * (1 - p))[:, None]).T @ z / k + np.diag(reg) + 1e-9 * np.eye(f)
        delta = np.linalg.solve(hess, grad)
        theta -= delta
        if np.max(np.abs(delta)) < 1e-10:
            break
    return CloudModel(theta[1:].copy(), float(theta[0]), mean, scale)


@dataclass(frozen=True)
class DetectionScores:
    """Cloudy detections against the truth: counts, ``precision``, ``recall``, ``f1``."""

    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else float("nan")

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else float("nan")

    @property
    def f1(self) -> float:
        d = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / d if d else float("nan")

    @property
    def accuracy(self) -> float:
        n = self.tp + self.fp + self.fn + self.tn
        return (self.tp + self.tn) / n if n else float("nan")


def detection_scores(predicted_cloudy: npt.ArrayLike, truly_cloudy: npt.ArrayLike
                     ) -> DetectionScores:
    p = np.asarray(predicted_cloudy, bool)
    y = np.asarray(truly_cloudy, bool)
    return DetectionScores(int(np.sum(p & y)), int(np.sum(p & ~y)), int(np.sum(~p & y)),
                           int(np.sum(~p & ~y)))
