"""Distributed execution: long windows cut into time chunks, run in worker processes or on a
Dask cluster, with results identical to one run in one process.

- :func:`run_latency` / :func:`iter_latency_chunks` (``chunks.py``): a latency run over
  ``workers`` spawned processes or ``scheduler="tcp://HOST:PORT"`` (Dask distributed).
- :func:`run_site` / :class:`SiteJob`: the same for a remote-site run
  (:mod:`orbemu.network.site`).
- :func:`pack_elements` / :func:`unpack_elements`: element sets across process boundaries.
"""

from orbemu.distributed.chunks import (
    LatencyJob,
    SiteJob,
    chunk_bounds,
    iter_latency_chunks,
    pack_elements,
    run_latency,
    run_site,
    unpack_elements,
)

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
