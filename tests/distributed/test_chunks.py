"""Chunked execution: identical results in-process, in spawned processes and on Dask."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from orbemu.distributed import (
    LatencyJob,
    chunk_bounds,
    iter_latency_chunks,
    pack_elements,
    run_latency,
    unpack_elements,
)
from orbemu.io.elements import load_elements
from orbemu.io.ground import load_ground_nodes
from orbemu.network.analysis import LatencySeries, latency_series
from orbemu.network.simulation import NetworkConfig, NetworkSimulation
from orbemu.orbits.presets import walker_preset
from orbemu.orbits.propagation import propagate
from orbemu.time import Time

FIELDS = ("rtt_ms", "one_way_ms", "hops", "bottleneck_bps", "reachable", "path_ptr",
          "path_nodes", "path_changed", "src_handover", "dst_handover")


def assert_same(a: LatencySeries, b: LatencySeries) -> None:
    assert np.array_equal(a.times.ns, b.times.ns)
    for name in FIELDS:
        assert np.array_equal(getattr(a, name), getattr(b, name), equal_nan=True), name


@pytest.fixture(scope="module")
def case():
    elements = walker_preset("hypatia-starlink-550")
    cities = load_ground_nodes("cities-top100")
    pairs = np.array([[24, 66], [27, 9], [84, 0]])  # Paris–Luanda, London–New York, Sydney–Tokyo
    times = Time.range("2000-01-01T00:00:00Z", "3m", "2s")
    config = NetworkConfig(max_gsl_range_m=1_089_686.0)
    sim = NetworkSimulation(elements, cities, config)
    return elements, cities, pairs, times, config, latency_series(sim, times, pairs)


def test_packed_elements_propagate_bit_identically():
    for name in ("starlink", "geo"):
        elements = load_elements(name)
        elements = elements.select(np.arange(0, len(elements), 7))
        again = unpack_elements(pack_elements(elements))
        times = Time.range("2026-05-30T00:00:00Z", "3h", "17m")
        a = propagate(elements, times).position_m
        b = propagate(again, times).position_m
        assert np.array_equal(a, b, equal_nan=True)
        assert np.array_equal(again.norad_ids, elements.norad_ids)
        assert np.array_equal(again.epochs.ns, elements.epochs.ns)


def test_chunk_bounds():
    assert chunk_bounds(7, 3) == [(0, 3), (3, 6), (6, 7)]
    assert chunk_bounds(0, 3) == []


def test_in_process_chunks_equal_one_run(case):
    elements, cities, pairs, times, config, whole = case
    seen = []
    got = run_latency(elements, cities, config, times, pairs, chunk_steps=13,
                      progress=lambda done, total: seen.append((done, total)))
    assert_same(got, whole)
    assert seen[-1] == (times.size, times.size) and len(seen) == -(-times.size // 13)
    assert whole.path_changed.any()  # boundaries matter: there are changes to count


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_two_processes_equal_one_run(case, method, monkeypatch):
    from orbemu.distributed import chunks

    if method == "fork" and chunks._start_method() != "fork":
        pytest.skip("fork is used only on Linux with no other thread running")
    monkeypatch.setattr(chunks, "_start_method", lambda: method)
    elements, cities, pairs, times, config, whole = case
    got = run_latency(elements, cities, config, times, pairs, workers=2, chunk_steps=20)
    assert_same(got, whole)


def test_fork_only_without_other_threads():
    import threading

    from orbemu.distributed import chunks

    alone = threading.active_count() == 1
    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:
        assert chunks._start_method() == "spawn"  # another thread: never fork
    finally:
        stop.set()
        t.join()
    if sys.platform.startswith("linux") and alone:
        assert chunks._start_method() == "fork"


def test_dask_local_cluster_equals_one_run(case):
    distributed = pytest.importorskip("distributed")
    elements, cities, pairs, times, config, whole = case
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        job = LatencyJob.create(elements, cities, config, times, pairs)
        parts = list(iter_latency_chunks(job, times, scheduler=cluster.scheduler_address,
                                         chunk_steps=25))
    assert len(parts) == -(-times.size // 25)
    assert_same(LatencySeries.concat(parts), whole)
