"""Network step benchmark: the whole pipeline of one instant, and long windows in parallel.

    python -m benchmarks.network_step             # ≈ 4 min on 2 cores
    python -m benchmarks.network_step --quick     # fewer repeats, no scaling runs
    python -m benchmarks.network_step --scaling   # only workers and memory

One full step for the real Starlink snapshot (bundled ``starlink``, 10,395 satellites):
propagate (SGP4 at the instant, or Hermite interpolation with the SGP4 knots amortised over a
run of 1 s steps), rotate to ITRF, ground visibility for 1,000 ground nodes (Hypatia's top-1000
cities, 25°, every visible satellite usable: ≈ 53,000 links), the +Grid ISLs over the inferred
planes, the topology refill, shortest paths from 100 sources (every 10th city) and the 100 × 99
paths between them (delay, hops, bottleneck, node lists).

Baselines in the same run, on the same inputs:

- numpy + scipy: the same SGP4 positions; visibility of every node × satellite pair in numpy
  (chunks of 50 nodes); ISL lengths in numpy; the graph as a ``scipy.sparse`` matrix with the
  ground rule built in (``reference_shortest_paths``) and ``scipy.sparse.csgraph.dijkstra`` from
  the 100 sources; the 9,900 paths extracted with numpy, one hop of every path per iteration.
- networkx per pair, in the style of Hypatia: the step's graph built edge by edge into a
  ``networkx.Graph`` and ``networkx.shortest_path`` per pair; a few pairs are timed and scaled
  to 9,900 (visibility is given to it by numpy, which only helps it).

Then: a 30-minute window of 1 s steps (1,801 instants, 20 pairs) with 1 and 2 worker processes
(wall time), and peak memory (RSS) of a latency run against the window length.

Times are CPU time of the benchmark process (the machine is shared; CPU time leaves out waits
for a core), best of a few repeats; the scaling runs are wall time.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import time
from collections.abc import Callable

import numpy as np

from orbemu.constants import DEG, EARTH_RADIUS_M, NS_PER_S
from orbemu.io.elements import load_elements
from orbemu.io.ground import load_ground_nodes
from orbemu.links.isl import isl_links
from orbemu.links.visibility import ground_links
from orbemu.network.routing import pair_paths, reference_shortest_paths
from orbemu.network.simulation import NetworkConfig, NetworkSimulation, PositionStream
from orbemu.orbits.frames import teme_to_itrf
from orbemu.orbits.propagation import SGP4Propagator
from orbemu.time import Time

T0 = "2026-05-30T12:00:00Z"
N_SOURCES = 100


def cpu_ms(fn: Callable[[], object], repeat: int = 5) -> float:
    fn()
    best = np.inf
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return 1e3 * best


# ---- baselines -----------------------------------------------------------------------------------


def numpy_visibility(nodes, r_sat, chunk=50):
    """Every node × satellite pair in numpy: range and elevation (sin) test, 25°."""
    r_node = nodes.itrf_m
    up = nodes.enu[:, 2, :]
    s_min = np.sin(nodes.min_elevation_deg * DEG)
    out_node, out_sat, out_len = [], [], []
    for a in range(0, len(nodes), chunk):
        d = r_sat[None, :, :] - r_node[a:a + chunk, None, :]
        dist = np.sqrt(np.einsum("ijk,ijk->ij", d, d))
        sin_el = np.einsum("ijk,ik->ij", d, up[a:a + chunk]) / dist
        i, j = np.nonzero(sin_el >= s_min[a:a + chunk, None])
        out_node.append(i + a)
        out_sat.append(j)
        out_len.append(dist[i, j])
    return np.concatenate(out_node), np.concatenate(out_sat), np.concatenate(out_len)


def numpy_isl(pairs, r, clear_m):
    a, b = r[pairs[:, 0]], r[pairs[:, 1]]
    d = b - a
    length = np.linalg.norm(d, axis=1)
    t = np.clip(-np.einsum("ij,ij->i", a, d) / np.einsum("ij,ij->i", d, d), 0.0, 1.0)
    closest = np.linalg.norm(a + t[:, None] * d, axis=1)
    return np.where(closest >= clear_m, length, np.nan)


def numpy_paths(pred, sources, n_sats):
    """All 100 × 99 paths by walking every path one hop per iteration (numpy)."""
    k = sources.size
    rows, cols = np.nonzero(~np.eye(k, dtype=bool))
    dst = sources[cols]
    cur = dst.copy()
    hops = np.zeros(rows.size, np.int64)
    nodes = [cur.copy()]
    active = pred[rows, cur] >= 0
    while active.any():
        nxt = pred[rows[active], cur[active]]
        cur[active] = nxt
        hops[active] += 1
        nodes.append(np.where(active, cur, -1))
        active &= cur != sources[rows]
        active[active] = pred[rows[active], cur[active]] >= 0
    return hops, np.stack(nodes, axis=1)


def scipy_step(sim, times, sources):
    """The straightforward numpy + scipy version of one step."""
    from orbemu.network.topology import TopologyBuilder

    eph = SGP4Propagator().propagate(sim.elements, times)
    r = teme_to_itrf(eph.position_m, eph.velocity_m_s, times)[0][:, 0, :]
    node, sat, length = numpy_visibility(sim.ground, r)
    isl_len = numpy_isl(sim.plan.pairs, r, EARTH_RADIUS_M + sim.config.grazing_alt_m)
    topo = TopologyBuilder(sim.n_sats, sim.n_ground, sim.plan.pairs).build(
        isl_len, node, sat, length)
    dist, pred = reference_shortest_paths(topo, sources)
    hops, _nodes = numpy_paths(pred, sources, sim.n_sats)
    return dist, hops


def networkx_pairs(sim, r, sources, n_pairs=5):
    """Hypatia style: a networkx graph of the step, shortest_path per pair; returns
    (graph build ms, ms per pair)."""
    import networkx as nx

    node, sat, length = numpy_visibility(sim.ground, r)
    isl_len = numpy_isl(sim.plan.pairs, r, EARTH_RADIUS_M + sim.config.grazing_alt_m)
    t0 = time.process_time()
    g = nx.Graph()
    g.add_nodes_from(range(sim.n_sats + sim.n_ground))
    for (a, b), d in zip(sim.plan.pairs.tolist(), isl_len.tolist(), strict=True):
        if d == d:
            g.add_edge(a, b, weight=d)
    for n_, s_, d in zip(node.tolist(), sat.tolist(), length.tolist(), strict=True):
        g.add_edge(sim.n_sats + n_, s_, weight=d)
    build = time.process_time() - t0
    rng = np.random.default_rng(1)
    t0 = time.process_time()
    for _ in range(n_pairs):
        a, b = rng.choice(sources, 2, replace=False)
        nx.shortest_path(g, int(a), int(b), weight="weight")
    per_pair = (time.process_time() - t0) / n_pairs
    return 1e3 * build, 1e3 * per_pair


# ---- orbemu --------------------------------------------------------------------------------------


def orbemu_phases(sim, times_run, sources, repeat):
    """Per-phase CPU ms of one step, and the interpolated propagation amortised over a run."""
    t = times_run[:1]
    out = {}
    out["propagate: SGP4 at the instant + ITRF"] = cpu_ms(
        lambda: list(PositionStream(sim.elements, "sgp4").iter_chunks(t)), repeat)
    stream = PositionStream(sim.elements, nominal_step_ns=NS_PER_S)
    t0 = time.process_time()
    last = None
    for _sl, r_chunk, _v in stream.iter_chunks(times_run):
        last = r_chunk[:, -1, :]
    out["propagate: Hermite + ITRF, knots amortised"] = (
        1e3 * (time.process_time() - t0) / times_run.size)
    r = np.ascontiguousarray(last)
    gsl = ground_links(sim.ground, r).with_capacity(1e9)
    out["ground visibility, 1,000 nodes (3-D grid)"] = cpu_ms(
        lambda: ground_links(sim.ground, r), repeat)
    isl = isl_links(sim.plan, r)
    out["ISL lengths (+Grid)"] = cpu_ms(lambda: isl_links(sim.plan, r), repeat)
    topo = sim.builder.build_links(isl, gsl)
    out["topology refill"] = cpu_ms(lambda: sim.builder.build_links(isl, gsl), repeat)
    nodes = topo.ground_node_index(sources)
    out["100 trees + 9,900 paths (pair_paths)"] = cpu_ms(lambda: pair_paths(topo, nodes),
                                                        repeat)
    return out, r, topo, len(gsl)


def full_step_ms(sim, times, sources):
    """The whole pipeline through NetworkSimulation.steps + pair_paths, CPU ms per step."""
    nodes = sources + sim.n_sats
    t0 = time.process_time()
    for step in sim.steps(times):
        pair_paths(step.topology, nodes)
    return 1e3 * (time.process_time() - t0) / times.size


def scaling(elements, cities, quick):
    """Wall time of 1 and 2 worker processes over a window, the CPU time they used, and the
    machine's own ceiling measured at the same time (two busy loops vs one)."""
    import resource

    from orbemu.distributed import LatencyJob, iter_latency_chunks

    pairs = np.column_stack([np.arange(0, 200, 10), np.arange(5, 205, 10)])
    times = Time.range(T0, "2m" if quick else "30m", "1s")
    job = LatencyJob.create(elements, cities, NetworkConfig(), times, pairs)
    before = _two_core_ceiling()
    walls, cpus = {}, {}
    for workers in (1, 2):
        c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        p0 = time.process_time()
        t0 = time.perf_counter()
        for _ in iter_latency_chunks(job, times, workers=workers):  # default chunking
            pass
        walls[workers] = time.perf_counter() - t0
        c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus[workers] = (time.process_time() - p0 + c1.ru_utime + c1.ru_stime
                         - c0.ru_utime - c0.ru_stime)
    return times.size, walls, cpus, (before, _two_core_ceiling())


_BUSY = "import time\nt=time.perf_counter()\nx=0\nfor i in range(30_000_000): x+=i\n" \
        "print(time.perf_counter()-t)"


def _two_core_ceiling() -> float:
    """Throughput of two CPU-bound processes relative to one, on this machine, now."""
    one = float(subprocess.run([sys.executable, "-c", _BUSY], capture_output=True, text=True,
                               check=True).stdout)
    procs = [subprocess.Popen([sys.executable, "-c", _BUSY], stdout=subprocess.PIPE, text=True)
             for _ in range(2)]
    both = max(float(p.communicate()[0]) for p in procs)
    return 2 * one / both


_RSS = """
import resource, sys, numpy as np
from orbemu.io.elements import load_elements
from orbemu.io.ground import load_ground_nodes
from orbemu.network.simulation import NetworkConfig
from orbemu.distributed import LatencyJob, iter_latency_chunks
from orbemu.time import Time
els = load_elements("starlink"); cities = load_ground_nodes("cities-top100")
times = Time.range("2026-05-30T12:00:00Z", sys.argv[1], "1s")
pairs = np.array([[24, 66], [27, 9]])
job = LatencyJob.create(els, cities, NetworkConfig(chunk_bytes=16 * 2**20), times, pairs)
n = 0
for part in iter_latency_chunks(job, times, chunk_steps=300):
    n += part.n_steps  # streamed (written and dropped, as the CLI does)
print(n, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def peak_rss_mb(window: str) -> float:
    res = subprocess.run([sys.executable, "-c", _RSS, window], capture_output=True, text=True,
                         check=True)
    return float(res.stdout.split()[1])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--scaling", action="store_true", help="only the worker scaling and RSS")
    args = ap.parse_args(argv)
    if args.scaling:
        run_scaling(load_elements("starlink"), load_ground_nodes("cities-top1000"), False)
        return
    repeat = 2 if args.quick else 5
    elements = load_elements("starlink")
    cities = load_ground_nodes("cities-top1000")
    sources = np.arange(0, 1000, 1000 // N_SOURCES)
    sim = NetworkSimulation(elements, cities, at=Time.parse(T0))
    times = Time.range(T0, "59s", "1s")
    print(f"machine: {platform.machine()} {platform.processor() or ''}, Python "
          f"{platform.python_version()}, load {open('/proc/loadavg').read().split()[:3]}")
    print("\n".join(sim.describe()))

    phases, r, topo, n_gsl = orbemu_phases(sim, times, sources, repeat)
    print(f"\none step: {elements.n_sats if hasattr(elements, 'n_sats') else len(elements)} "
          f"satellites, {len(cities)} ground nodes, {n_gsl} ground links, {len(sim.plan)} ISLs,"
          f" {N_SOURCES} sources, 9,900 paths   (CPU ms, best of {repeat})")
    for k, v in phases.items():
        print(f"  {k:<46} {v:8.2f}")
    route = sum(v for k, v in phases.items() if not k.startswith("propagate"))
    sgp4_step = phases["propagate: SGP4 at the instant + ITRF"] + route
    interp_step = phases["propagate: Hermite + ITRF, knots amortised"] + route
    print(f"  {'step with SGP4 per instant':<46} {sgp4_step:8.2f}  ({1e3 / sgp4_step:.1f} "
          "steps/s)")
    print(f"  {'step with interpolation':<46} {interp_step:8.2f}  ({1e3 / interp_step:.1f} "
          "steps/s)")
    stepped = full_step_ms(sim, times[:20], sources)
    print(f"  {'NetworkSimulation.steps + pair_paths, 20 steps':<46} {stepped:8.2f}  "
          f"({1e3 / stepped:.1f} steps/s)")

    t = Time.parse(T0)
    base = cpu_ms(lambda: scipy_step(sim, t, topo.ground_node_index(sources)),
                  max(1, repeat // 2))
    print(f"\nnumpy + scipy step (SGP4, numpy visibility, scipy dijkstra, numpy paths): "
          f"{base:.0f} ms → orbemu {base / sgp4_step:.1f}× (SGP4 per instant), "
          f"{base / interp_step:.1f}× (interpolated)")
    build_ms, pair_ms = networkx_pairs(sim, r, topo.ground_node_index(sources))
    nx_step = build_ms + 9900 * pair_ms
    print(f"networkx (Hypatia style): graph {build_ms:.0f} ms + {pair_ms:.0f} ms per pair "
          f"(5 timed) × 9,900 ≈ {nx_step / 1e3:.0f} s per step → orbemu "
          f"{nx_step / interp_step:,.0f}×")
    if args.quick:
        return
    run_scaling(elements, cities, args.quick)


def run_scaling(elements, cities, quick):
    n, walls, cpus, ceiling = scaling(elements, cities, quick)
    print(f"\n{n} instants × 20 pairs: 1 worker {walls[1]:.1f} s wall ({cpus[1]:.1f} s CPU), "
          f"2 workers {walls[2]:.1f} s wall ({cpus[2]:.1f} s CPU) → {walls[1] / walls[2]:.2f}×; "
          f"this machine's ceiling (two busy loops vs one) before {ceiling[0]:.2f}×, after "
          f"{ceiling[1]:.2f}×")
    for window in ("5m", "30m"):
        print(f"peak RSS of a streamed latency run over {window}: {peak_rss_mb(window):.0f} MB")


if __name__ == "__main__":
    main()
