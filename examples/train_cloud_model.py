"""Train the onboard cloud filter on data made by the emulator, drop it into the app, compare.

    python examples/train_cloud_model.py [--hours 12] [--eval-hours 6] [--out cloud-model.npz]

1. **Collect.** The built-in scenario ``eo-cloud-filter`` (12 SSO imagers, 600 places) runs
   with the :class:`~orbemu.fsw.examples.TileCollector` app on every satellite: each image's
   preview tile is kept; its ground truth (thick-cloud fraction) comes from the emulator's record
   (on a real mission: analysts labelling the first downlinks).
2. **Train** a logistic regression on the tiles' features (:mod:`orbemu.fsw.cloud`; numpy, a few
   milliseconds) and save its weights.
3. **Compare** on a later window (other days, other clouds): the same constellation with no
   filter (every image goes down), with the untrained filter (the brightness baseline), and with
   the trained model dropped into the app (``params: {weights: ...}``): images kept, data volume
   saved, cloudy-detection quality against the truth, clear images delivered and their latency
   from capture to ground (the downlink is scarce: 10 Mbit/s to 8 stations), data delivered.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

from orbemu.engine import MemorySink
from orbemu.fsw.cloud import CLOUDY_FRACTION, tile_features, train_cloud_model
from orbemu.fsw.evaluate import payload_summary
from orbemu.fsw.examples import TileCollector
from orbemu.scenario import load_scenario, resolve_scenario
from orbemu.scenario.build import build_emulation
from orbemu.scenario.model import Scenario

SCENARIO = "eo-cloud-filter"


def variant(start: str, hours: float, apps: list[dict[str, Any]] | None) -> Scenario:
    """The built-in scenario over another window, with other apps."""
    data = load_scenario(SCENARIO).model_dump(mode="json", by_alias=True)
    data["run"]["start"] = start
    data["run"]["duration"] = f"{hours:g}h"
    data["apps"] = {"entries": apps or [], "tile_pixels": 32}
    return Scenario.model_validate(data)


def run(sc: Scenario) -> tuple[Any, Any, MemorySink]:
    sink = MemorySink()
    emu = build_emulation(resolve_scenario(sc), sink)
    summary = emu.run()
    return emu, summary, sink


def collect(start: str, hours: float) -> tuple[np.ndarray, np.ndarray]:
    """Features and labels (cloudy?) of every image of a collection run."""
    TileCollector.tiles.clear()
    emu, _summary, _ = run(variant(start, hours, [
        {"app": "orbemu.fsw.examples:TileCollector", "satellites": "constellation:imager",
         "images": "app"}]))
    ids = sorted(TileCollector.tiles)
    x = tile_features(np.stack([TileCollector.tiles[i] for i in ids]))
    y = np.array([emu.apps.images[i].cloud_fraction >= CLOUDY_FRACTION for i in ids])
    return x, y


def compare(start: str, hours: float, weights: str) -> list[tuple[str, Any, Any]]:
    filt = {"app": "orbemu.fsw.examples:CloudFilter", "satellites": "constellation:imager",
            "images": "app"}
    rows = []
    for label, apps in (("no filter", [{**filt, "images": "auto"}]),
                        ("baseline (brightness)", [filt]),
                        ("trained model", [{**filt, "params": {"weights": weights}}])):
        t = time.perf_counter()
        emu, summary, _sink = run(variant(start, hours, apps))
        rows.append((label, summary, emu))
        print(f"  {label}: {time.perf_counter() - t:.1f} s", flush=True)
    return rows


def table(rows: list[tuple[str, Any, Any]]) -> str:
    head = ("run", "images", "downlinked", "volume saved", "precision", "recall", "F1",
            "clear delivered", "clear: capture→ground p50", "GB down")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, summary, emu in rows:
        recs = list(emu.apps.images.values())
        clear = [r for r in recs if r.delivered_ns is not None
                 and r.cloud_fraction < CLOUDY_FRACTION]
        p50 = (np.median([(r.delivered_ns - r.capture_ns) / 60e9 for r in clear])
               if clear else float("nan"))
        tail = f"{len(clear)} | {p50:.1f} min | {summary.down_bits / 8e9:.1f} |"
        if label == "no filter":
            lines.append(f"| {label} | {len(recs)} | {len(recs)} | 0 % | – | – | – | {tail}")
            continue
        p = payload_summary(emu.apps.image_events())
        s = p.scores
        lines.append(f"| {label} | {p.images} | {p.downlinked} | {100 * p.volume_saved:.1f} % "
                     f"| {s.precision:.3f} | {s.recall:.3f} | {s.f1:.3f} | {tail}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hours", type=float, default=12.0, help="collection window (h)")
    ap.add_argument("--eval-hours", type=float, default=6.0, help="comparison window (h)")
    ap.add_argument("--out", default="cloud-model.npz", help="where the weights go")
    args = ap.parse_args()
    t = time.perf_counter()
    x, y = collect("2026-06-01T00:00:00Z", args.hours)
    print(f"collected {len(y)} tiles ({100 * y.mean():.0f} % cloudy) in "
          f"{time.perf_counter() - t:.1f} s")
    model = train_cloud_model(x, y)
    model.save(args.out)
    print(f"trained on {len(y)} tiles, weights in {args.out}")
    print("comparing on 2026-06-03 (held out: other days, other clouds):")
    rows = compare("2026-06-03T00:00:00Z", args.eval_hours, args.out)
    print(table(rows))


if __name__ == "__main__":
    main()
