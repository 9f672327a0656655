"""Scoring an onboard image filter from a run's record: volume saved, detection quality, latency.

The host writes an ``image_decision`` event when an app decides what to do with an image
(``downlink`` or ``discard``; ``auto`` images go down without a decision) and an
``image_delivered`` event when its last packet reaches the ground; both carry the image's ground
truth (``cloud_fraction``, ``land_fraction``), its ``bits`` (the real sensor's volume) and
``capture_ns``. :func:`payload_summary` reads them — from a :class:`~orbemu.engine.MemorySink`'s
rows, the SQLite store's ``events`` table or any rows with ``kind`` and ``detail`` — and says:

- how much data the filter kept off the downlink (bits discarded ÷ bits decided);
- how well it found the cloudy images against the truth (a discard is a *cloudy* detection:
  precision, recall, F1 — :func:`orbemu.fsw.cloud.detection_scores`);
- the latency from capture to ground of the images delivered (p50, p90, max).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from orbemu.fsw.cloud import CLOUDY_FRACTION, DetectionScores, detection_scores

__all__ = ["PayloadSummary", "payload_summary"]


@dataclass(frozen=True)
class PayloadSummary:
    """See :func:`payload_summary`. Bits are the real sensor's; latencies seconds."""

    images: int
    downlinked: int
    discarded: int
    delivered: int
    bits_decided: float
    bits_discarded: float
    scores: DetectionScores
    useful_delivered: int
    latency_p50_s: float
    latency_p90_s: float
    latency_max_s: float

    @property
    def volume_saved(self) -> float:
        """Fraction of the decided images' bits kept off the downlink."""
        return self.bits_discarded / self.bits_decided if self.bits_decided else 0.0

    def table(self) -> list[tuple[str, str]]:
        """Rows (label, value) for a report."""
        s = self.scores
        return [
            ("images decided", f"{self.images:,} ({self.downlinked:,} downlinked, "
                               f"{self.discarded:,} discarded)"),
            ("data volume saved", f"{100 * self.volume_saved:.1f} % "
                                  f"({self.bits_discarded / 8e9:,.2f} of "
                                  f"{self.bits_decided / 8e9:,.2f} GB)"),
            ("cloudy detection", f"precision {s.precision:.3f}, recall {s.recall:.3f}, "
                                 f"F1 {s.f1:.3f} (tp {s.tp}, fp {s.fp}, fn {s.fn}, tn {s.tn})"),
            ("delivered", f"{self.delivered:,} images ({self.useful_delivered:,} clear)"),
            ("capture → ground", f"p50 {self.latency_p50_s / 60:,.1f} min, p90 "
                                 f"{self.latency_p90_s / 60:,.1f} min, max "
                                 f"{self.latency_max_s / 60:,.1f} min"),
        ]


def _detail(row: Any) -> tuple[str, Mapping[str, Any]]:
    if isinstance(row, Mapping):
        kind, detail = row.get("kind"), row.get("detail")
    else:
        kind, detail = getattr(row, "kind", None), getattr(row, "detail", None)
    if isinstance(detail, str):
        detail = json.loads(detail)
    return str(kind), detail or {}


def payload_summary(events: Iterable[Any], *,
                    cloudy_fraction: float = CLOUDY_FRACTION) -> PayloadSummary:
    """Score the image decisions of a run from its events (module notes)."""
    decided: dict[int, Mapping[str, Any]] = {}
    latency: dict[int, float] = {}
    for row in events:
        kind, d = _detail(row)
        if kind == "image_decision":
            decided[int(d["image_id"])] = d
        elif kind == "image_delivered":
            latency[int(d["image_id"])] = float(d["latency_s"])
    recs = [d for d in decided.values() if d.get("decision") in ("downlink", "discard")]
    bits = np.array([float(d["bits"]) for d in recs])
    drop = np.array([d["decision"] == "discard" for d in recs], bool)
    cloudy = np.array([float(d["cloud_fraction"]) >= cloudy_fraction for d in recs], bool)
    lat = np.array(sorted(latency.values()))
    useful = sum(1 for i in latency if i in decided
                 and float(decided[i]["cloud_fraction"]) < cloudy_fraction)

    def pct(q: float) -> float:
        return float(np.percentile(lat, q)) if lat.size else float("nan")

    return PayloadSummary(
        images=len(recs), downlinked=int(np.count_nonzero(~drop)),
        discarded=int(np.count_nonzero(drop)), delivered=len(latency),
        bits_decided=float(bits.sum()), bits_discarded=float(bits[drop].sum()),
        scores=detection_scores(drop, cloudy), useful_delivered=useful,
        latency_p50_s=pct(50), latency_p90_s=pct(90),
        latency_max_s=float(lat.max()) if lat.size else float("nan"))
