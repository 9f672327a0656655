"""Time-chunked execution of a latency run: in this process, in worker processes, or on Dask.

A long window is cut into chunks of consecutive instants. Each chunk is computed independently
— positions, links, topology and routes of its instants — by whichever executor runs it:

- ``workers=1`` and no scheduler: here, chunk after chunk (memory bounded by one chunk);
- ``workers=N``: ``N`` processes — this one and a
  :class:`concurrent.futures.ProcessPoolExecutor` of ``N - 1`` others, forked where that is
  safe, else spawned (SGP4 and the numba kernels hold the GIL, so threads would not help);
- ``scheduler="tcp://HOST:PORT"``: the same chunks as tasks on a Dask distributed cluster
  (``pip install 'orbemu[distributed]'``).

Results are identical whichever executor ran them: a chunk after the first starts one instant
early (that instant only seeds the comparison with the previous instant, so path changes and
handovers at chunk boundaries are counted as in one long run), and positions do not depend on
where a chunk starts (:class:`~orbemu.network.simulation.PositionStream`). The ISL plan is
resolved once, here, and shipped with the job.

Element sets hold python-sgp4 ``Satrec`` objects, which do not pickle; :func:`pack_elements`
ships the SGP4 inputs instead and :func:`unpack_elements` rebuilds bit-identical records with
``Satrec.sgp4init`` (same arguments as ``twoline2rv`` passes, and the original epoch split).
"""

from __future__ import annotations

import math
import multiprocessing
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from sgp4.api import WGS72, Satrec

from orbemu.errors import UnavailableError, UsageError
from orbemu.links.isl import IslPlan
from orbemu.network.analysis import LatencySeries, latency_series
from orbemu.network.simulation import NetworkConfig, NetworkSimulation, resolve_isl_plan
from orbemu.network.site import SitePlan, SiteSeries, site_series
from orbemu.orbits.elements import ElementSet
from orbemu.orbits.ground_nodes import GroundNodes
from orbemu.time import Time

__all__ = [
    "LatencyJob",
    "SiteJob",
    "chunk_bounds",
    "iter_latency_chunks",
    "pack_elements",
    "run_latency",
    "run_site",
    "unpack_elements",
]

ProgressCallback = Callable[[int, int], None]

_SATREC_ARGS = ("bstar", "ndot", "nddot", "ecco", "argpo", "inclo", "mo", "no_kozai", "nodeo")
_META = ("norad_ids", "names", "plane", "slot", "intl_designators", "shell")


def pack_elements(elements: ElementSet) -> dict[str, Any]:
    """A picklable form of ``elements`` (arrays only)."""
    sats = elements.satrecs
    out: dict[str, Any] = {name: np.array([getattr(s, name) for s in sats], np.float64)
                           for name in _SATREC_ARGS}
    out["satnum"] = np.array([s.satnum for s in sats], np.int64)
    out["opsmode"] = np.array([s.operationmode for s in sats], dtype=object)
    out["jdsatepoch"] = np.array([s.jdsatepoch for s in sats], np.float64)
    out["jdsatepochF"] = np.array([s.jdsatepochF for s in sats], np.float64)
    for name in _META:
        out[name] = getattr(elements, name)
    out["epochs_ns"] = elements.epochs.ns
    out["source"] = elements.source
    out["notes"] = elements.notes
    return out


def unpack_elements(packed: dict[str, Any]) -> ElementSet:
    """The :class:`ElementSet` of :func:`pack_elements`, with bit-identical SGP4 records."""
    sats = []
    for i in range(packed["satnum"].size):
        s = Satrec()
        jd, fr = float(packed["jdsatepoch"][i]), float(packed["jdsatepochF"][i])
        s.sgp4init(WGS72, str(packed["opsmode"][i]), int(packed["satnum"][i]),
                   (jd + fr) - 2433281.5, *(float(packed[a][i]) for a in _SATREC_ARGS))
        s.jdsatepoch, s.jdsatepochF = jd, fr  # the original split of the epoch
        sats.append(s)
    return ElementSet(satrecs=tuple(sats), norad_ids=packed["norad_ids"], names=packed["names"],
                      epochs=Time(packed["epochs_ns"]), plane=packed["plane"],
                      slot=packed["slot"], intl_designators=packed["intl_designators"],
                      source=packed["source"], notes=tuple(packed["notes"]),
                      shell=packed["shell"])


@dataclass(frozen=True, eq=False)
class LatencyJob:
    """Everything a worker needs to compute chunks of one latency run (picklable)."""

    elements: dict[str, Any]
    ground: GroundNodes
    config: NetworkConfig
    plan: IslPlan
    plan_note: str
    pairs: npt.NDArray[np.int64]
    nominal_step_ns: int | None
    token: str = field(default_factory=lambda: uuid.uuid4().hex)

    @classmethod
    def create(cls, elements: ElementSet, ground: GroundNodes, config: NetworkConfig,
               times: Time, pairs: npt.ArrayLike, *,
               simulation: NetworkSimulation | None = None) -> LatencyJob:
        """Resolve the ISL plan once (or take ``simulation``'s) and pack the job."""
        if simulation is None:
            plan, note = resolve_isl_plan(elements, config, at=None)
        else:
            plan, note = simulation.plan, simulation.plan_note
        nominal = None
        if times.size > 1:
            nominal = int((int(times.ns[-1]) - int(times.ns[0])) // (times.size - 1))
        return cls(pack_elements(elements), ground, config, plan, note,
                   np.asarray(pairs, np.int64).reshape(-1, 2), nominal)

    def simulation(self) -> NetworkSimulation:
        return NetworkSimulation(unpack_elements(self.elements), self.ground, self.config,
                                 plan=self.plan, plan_note=self.plan_note)

    def compute(self, sim: NetworkSimulation, times: Time, warmup: int) -> Any:
        """One chunk's result (here: the pairs' :class:`LatencySeries`)."""
        return latency_series(sim, times, self.pairs, warmup=warmup,
                              nominal_step_ns=self.nominal_step_ns)


@dataclass(frozen=True, eq=False)
class SiteJob(LatencyJob):
    """A remote-site run (:mod:`orbemu.network.site`): each chunk yields a
    :class:`~orbemu.network.site.SiteSeries` of the plan's flows. ``pairs`` holds the
    (site, gateway) pairs the routes are searched for."""

    site_plan: SitePlan | None = None

    @classmethod
    def for_plan(cls, elements: ElementSet, ground: GroundNodes, config: NetworkConfig,
                 times: Time, plan: SitePlan, *,
                 simulation: NetworkSimulation | None = None) -> SiteJob:
        """Resolve the ISL plan once (or take ``simulation``'s) and pack the job."""
        base = LatencyJob.create(elements, ground, config, times,
                                 np.stack(np.meshgrid(plan.sites, plan.gateways,
                                                      indexing="ij"), -1).reshape(-1, 2),
                                 simulation=simulation)
        return cls(base.elements, base.ground, base.config, base.plan, base.plan_note,
                   base.pairs, base.nominal_step_ns, site_plan=plan)

    def compute(self, sim: NetworkSimulation, times: Time, warmup: int) -> Any:
        assert self.site_plan is not None
        return site_series(sim, times, self.site_plan, warmup=warmup,
                           nominal_step_ns=self.nominal_step_ns)


#: Per worker process: the simulation of the job it last ran (built once per job).
_WORKER: dict[str, NetworkSimulation] = {}


def _simulation_for(job: LatencyJob) -> NetworkSimulation:
    sim = _WORKER.get(job.token)
    if sim is None:
        _WORKER.clear()
        sim = _WORKER[job.token] = job.simulation()
    return sim


_JOB: dict[str, LatencyJob] = {}


def _init_pool(job: LatencyJob) -> None:
    _JOB["job"] = job
    _simulation_for(job)


def _run_chunk(job: LatencyJob | None, times_ns: npt.NDArray[np.int64], warmup: int) -> Any:
    """One chunk (top-level so that spawned processes and Dask workers can import it): a
    :class:`LatencySeries`, or what the job's :meth:`~LatencyJob.compute` returns."""
    if job is None:
        job = _JOB["job"]
    sim = _simulation_for(job)
    return job.compute(sim, Time(times_ns), warmup)


def chunk_bounds(n_times: int, chunk_steps: int) -> list[tuple[int, int]]:
    """``[start, stop)`` index ranges of the chunks of a window of ``n_times`` instants."""
    if chunk_steps < 1:
        raise UsageError(f"chunk_steps must be >= 1, got {chunk_steps}")
    return [(a, min(a + chunk_steps, n_times)) for a in range(0, n_times, chunk_steps)]


def _default_chunk_steps(n_times: int, workers: int) -> int:
    # many chunks per worker balance the load: the last chunk to finish sets the wall time, and
    # a spawned worker starts a second or two late (4 per worker left one 225-step chunk,
    # ~2.5 s, of imbalance on a 30-minute window: 1.50x with 2 workers); each chunk pays one
    # warm-up instant, so not below 30 steps; at most an hour of 1 s steps per chunk bounds the
    # memory a chunk's results take
    return int(min(max(math.ceil(n_times / (16 * max(workers, 1))), 30), 3600))


def iter_latency_chunks(
    job: LatencyJob,
    times: Time,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    chunk_steps: int | None = None,
    progress: ProgressCallback | None = None,
) -> Iterator[Any]:
    """Compute the chunks of ``times`` and yield their series in time order (a
    :class:`LatencySeries` per chunk, or a :class:`~orbemu.network.site.SiteSeries` for a
    :class:`SiteJob`).

    ``progress(done_instants, total_instants)`` is called as chunks finish (in any order).
    """
    times = times[np.newaxis] if times.ndim == 0 else times
    if workers < 1:
        raise UsageError(f"workers must be >= 1, got {workers}")
    n = times.size
    steps = chunk_steps if chunk_steps is not None else _default_chunk_steps(n, workers)
    bounds = chunk_bounds(n, steps)
    # every chunk but the first starts one instant early (warm-up for the change counts)
    tasks = [(times.ns[max(a - 1, 0):b], 1 if a > 0 else 0) for a, b in bounds]
    sizes = [b - a for a, b in bounds]
    if scheduler is not None:
        yield from _dask(job, tasks, sizes, scheduler, progress)
    elif workers == 1:
        done = 0
        for t, w in tasks:
            part = _run_chunk(job, t, w)
            done += part.n_steps
            if progress is not None:
                progress(done, n)
            yield part
    else:
        yield from _processes(job, tasks, sizes, workers, progress)


def _in_order(futures: list[Any], sizes: list[int], wait_some: Callable[[set[Any]], set[Any]],
              result: Callable[[Any], LatencySeries],
              progress: ProgressCallback | None) -> Iterator[LatencySeries]:
    total = sum(sizes)
    index = {id(f): i for i, f in enumerate(futures)}
    ready: dict[int, LatencySeries] = {}
    pending = set(futures)
    done = nxt = 0
    while nxt < len(futures):
        for f in wait_some(pending):
            pending.discard(f)
            i = index[id(f)]
            ready[i] = result(f)
            done += sizes[i]
            if progress is not None:
                progress(done, total)
        while nxt in ready:
            yield ready.pop(nxt)
            nxt += 1


def _start_method() -> str:
    """``fork`` where it is safe — Linux, and no other thread in this process (a thread holding
    a lock at the fork would leave it locked forever in the child) — else ``spawn``. A forked
    worker starts with everything this process has loaded (imports, numba kernels, the job):
    about 1.5 s of CPU sooner than a spawned one, which on a 30-minute window took two workers
    from 1.55–1.67x to 1.68–1.77x one (`python -m benchmarks.network_step --scaling`)."""
    if sys.platform.startswith("linux") and threading.active_count() == 1:
        return "fork"
    return "spawn"


def _processes(job: LatencyJob, tasks: list[tuple[Any, int]], sizes: list[int], workers: int,
               progress: ProgressCallback | None) -> Iterator[LatencySeries]:
    """``workers - 1`` worker processes (forked, or spawned: :func:`_start_method`) take chunks
    from the front; this process, which has everything loaded already, works too, taking chunks
    from the back that no worker has started (a spawned worker first spends a second or two
    importing and loading kernels)."""
    ctx = multiprocessing.get_context(_start_method())
    total = sum(sizes)
    with ProcessPoolExecutor(max_workers=workers - 1, mp_context=ctx, initializer=_init_pool,
                             initargs=(job,)) as pool:
        futures = [pool.submit(_run_chunk, None, t, w) for t, w in tasks]
        local: dict[int, LatencySeries] = {}
        try:
            done_local = 0
            for i in reversed(range(len(futures))):
                if not futures[i].cancel():  # a worker has it already: the rest too
                    break
                local[i] = _run_chunk(job, *tasks[i])
                done_local += sizes[i]
                if progress is not None:
                    finished = sum(sizes[k] for k, f in enumerate(futures)
                                   if k not in local and f.done())
                    progress(done_local + finished, total)
            remote = [k for k in range(len(futures)) if k not in local]
            reported = done_local + sum(sizes[k] for k in remote if futures[k].done())
            for k in range(len(futures)):
                if k in local:
                    yield local.pop(k)
                    continue
                was_done = futures[k].done()
                part = futures[k].result()
                if not was_done:
                    reported += sizes[k]
                    if progress is not None:
                        progress(reported, total)
                yield part
        finally:
            for f in futures:
                f.cancel()


def _dask(job: LatencyJob, tasks: list[tuple[Any, int]], sizes: list[int], scheduler: str,
          progress: ProgressCallback | None) -> Iterator[LatencySeries]:
    try:
        from distributed import Client, as_completed
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise UnavailableError(
            "running on a Dask cluster needs the 'distributed' package: "
            "pip install 'orbemu[distributed]'") from exc
    with Client(scheduler, set_as_default=False) as client:
        remote_job = client.scatter(job, broadcast=True)
        futures = [client.submit(_run_chunk, remote_job, t, w, pure=False) for t, w in tasks]
        finished = as_completed(futures, loop=client.loop)

        def wait_some(pending: set[Any]) -> set[Any]:
            return {next(finished)}

        try:
            yield from _in_order(futures, sizes, wait_some, lambda f: f.result(), progress)
        finally:
            client.cancel(futures)


def run_latency(
    elements: ElementSet,
    ground: GroundNodes,
    config: NetworkConfig,
    times: Time,
    pairs: npt.ArrayLike,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    chunk_steps: int | None = None,
    progress: ProgressCallback | None = None,
) -> LatencySeries:
    """The latency series of ``pairs`` over ``times``, computed in chunks by the chosen
    executor (see the module notes); the same result whichever runs it."""
    job = LatencyJob.create(elements, ground, config, times, pairs)
    parts = list(iter_latency_chunks(job, times, workers=workers, scheduler=scheduler,
                                     chunk_steps=chunk_steps, progress=progress))
    return LatencySeries.concat(parts)


def run_site(
    elements: ElementSet,
    ground: GroundNodes,
    config: NetworkConfig,
    times: Time,
    plan: SitePlan,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    chunk_steps: int | None = None,
    progress: ProgressCallback | None = None,
) -> SiteSeries:
    """The :class:`~orbemu.network.site.SiteSeries` of ``plan`` over ``times``, computed in
    chunks by the chosen executor; the same result whichever runs it."""
    job = SiteJob.for_plan(elements, ground, config, times, plan)
    parts = list(iter_latency_chunks(job, times, workers=workers, scheduler=scheduler,
                                     chunk_steps=chunk_steps, progress=progress))
    return SiteSeries.concat(parts)
