"""The AI payload end to end: collect tiles by running the emulator, train, drop the weights into
the onboard app, run again on a held-out window and score the decisions against the truth."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from orbemu.engine import MemorySink
from orbemu.fsw.cloud import CLOUDY_FRACTION, tile_features, train_cloud_model
from orbemu.fsw.evaluate import payload_summary
from orbemu.fsw.examples import TileCollector
from orbemu.scenario import load_scenario, resolve_scenario
from orbemu.scenario.build import build_emulation
from orbemu.scenario.model import Scenario

FILTER = {"app": "orbemu.fsw.examples:CloudFilter", "satellites": "constellation:imager",
          "images": "app"}


def _scenario(start: str, hours: float, apps: list[dict[str, Any]]) -> Scenario:
    data = load_scenario("eo-cloud-filter").model_dump(mode="json", by_alias=True)
    data["run"]["start"] = start
    data["run"]["duration"] = f"{hours:g}h"
    data["apps"] = {"entries": apps, "tile_pixels": 24}
    return Scenario.model_validate(data)


def _run(sc: Scenario) -> tuple[Any, Any, MemorySink]:
    sink = MemorySink()
    emu = build_emulation(resolve_scenario(sc), sink)
    return emu, emu.run(), sink


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    TileCollector.tiles.clear()
    emu, _, _ = _run(_scenario("2026-06-01T00:00:00Z", 3, [
        {**FILTER, "app": "orbemu.fsw.examples:TileCollector"}]))
    ids = sorted(TileCollector.tiles)
    assert len(ids) > 150
    x = tile_features(np.stack([TileCollector.tiles[i] for i in ids]))
    y = np.array([emu.apps.images[i].cloud_fraction >= CLOUDY_FRACTION for i in ids])
    path = tmp_path_factory.mktemp("model") / "cloud.npz"
    train_cloud_model(x, y).save(path)
    return path


@pytest.fixture(scope="module")
def held_out(weights):
    """Baseline and trained filters on another day (other clouds)."""
    start = "2026-06-03T00:00:00Z"
    return (_run(_scenario(start, 2, [FILTER])),
            _run(_scenario(start, 2, [{**FILTER, "params": {"weights": str(weights)}}])))


def test_the_trained_filter_beats_the_baseline_on_a_held_out_window(held_out):
    (_, _base, base_sink), (_, trained, trained_sink) = held_out
    b = payload_summary(base_sink.tables["events"])
    t = payload_summary(trained_sink.tables["events"])
    assert b.images == t.images > 80  # the same captures: filtering does not change them
    assert t.scores.f1 > b.scores.f1 + 0.05
    assert t.scores.precision > b.scores.precision  # fewer clear images thrown away
    assert 0.1 < t.volume_saved < 0.7
    # what the record says is what the host counted
    assert trained.fsw["payload"].scores == t.scores


def test_discarded_images_free_storage_and_kept_ones_go_down_with_their_latency(held_out):
    (_, _, _), (emu, summary, sink) = held_out
    recs = list(emu.apps.images.values())
    assert {r.decision for r in recs} <= {"downlink", "discard", None}
    # images awaiting a decision are what the host holds in storage (the last tick's captures)
    held = np.zeros(emu.apps.m)
    for r in recs:
        if r.decision is None:
            held[r.row] += r.bits
    assert emu.apps.held_bits == pytest.approx(held, abs=1.0)
    delivered = [e for e in sink.tables["events"] if e["kind"] == "image_delivered"]
    assert delivered
    for e in delivered:
        d = e["detail"]
        assert d["decision"] == "downlink"
        assert e["time_ns"] - d["capture_ns"] == pytest.approx(d["latency_s"] * 1e9, abs=1.0)
    # the packets table saw the same images go down (payload APID, latency from capture)
    pay = [p for p in sink.tables["packets"] if p["apid"] == 0x020]
    assert sum(p["count"] for p in pay) >= sum(r.n_packets for r in recs
                                               if r.delivered_ns is not None)
    # nothing discarded was downlinked
    assert all(r.delivered_ns is None for r in recs if r.decision == "discard")
    assert summary.fsw["images"] == len(recs)


def test_payload_summary_reads_stored_events():
    import json
    rows = [
        {"kind": "image_decision", "detail": json.dumps(
            {"image_id": 1, "bits": 8e9, "decision": "discard", "cloud_fraction": 0.9})},
        {"kind": "image_decision", "detail": json.dumps(
            {"image_id": 2, "bits": 8e9, "decision": "downlink", "cloud_fraction": 0.1})},
        {"kind": "image_decision", "detail": json.dumps(
            {"image_id": 3, "bits": 8e9, "decision": "downlink", "cloud_fraction": 0.5})},
        {"kind": "image_delivered", "detail": json.dumps({"image_id": 2, "latency_s": 600.0})},
        {"kind": "aos", "detail": None},
    ]
    p = payload_summary(rows)
    assert (p.images, p.downlinked, p.discarded, p.delivered) == (3, 2, 1, 1)
    assert p.volume_saved == pytest.approx(1 / 3)
    assert (p.scores.tp, p.scores.fp, p.scores.fn, p.scores.tn) == (1, 0, 1, 1)
    assert p.latency_p50_s == 600.0 and p.useful_delivered == 1
    assert dict(p.table())["data volume saved"].startswith("33.3 %")
