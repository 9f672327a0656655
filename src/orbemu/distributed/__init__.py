"""Distributed execution: long windows cut into time chunks, run in worker processes or on a
Dask cluster, with results identical to one run in one process.

- :func:`run_latency` / :func:`iter_latency_chunks` (``chunks.py``): a latency run over
  ``workers`` spawned processes or ``scheduler="tcp://HOST:PORT"`` (Dask distributed).
- :func:`pack_elements` / :func:`unpack_elements`: element sets across process boundaries.
"""

from orbemu.distributed.chunks import (
    LatencyJob,
    chunk_bounds,
    iter_latency_chunks,
    pack_elements,
    run_latency,
    unpack_elements,
)

__all__ = [
    "LatencyJob",
    "chunk_bounds",
    "iter_latency_chunks",
    "pack_elements",
    "run_latency",
    "unpack_elements",
]
