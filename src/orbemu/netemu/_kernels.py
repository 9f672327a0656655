"""Per-update kernels of the controller: bottleneck capacities over whole shortest-path trees.

:meth:`Routes.bottleneck_bps` walks each (source, destination) path; for every pair of
thousands of emulated nodes that is ``K² × path length`` steps (0.3 s for 1,586 nodes).
:func:`tree_bottleneck_bps` computes the same numbers once per tree node — the bottleneck to
``v`` is ``min(bottleneck to parent(v), capacity of the arc into v)`` — about 30 times faster.
:func:`tree_bottleneck_reference` is the plain numpy version the tests compare against
(pointer doubling along the predecessor arcs).
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
import numpy.typing as npt

__all__ = ["tree_bottleneck_bps", "tree_bottleneck_reference"]

FloatArray = npt.NDArray[np.float64]


@numba.njit(cache=True, nogil=True)
def _trees(parc: Any, sources: Any, tail: Any, cap: Any, out: Any) -> None:  # pragma: no cover
    k, n = parc.shape
    stack = np.empty(n, np.int64)
    done = np.zeros(n, np.bool_)
    for s in range(k):
        done[:] = False
        src = sources[s]
        for v in range(n):
            if done[v]:
                continue
            top = 0
            u = v
            while not done[u] and parc[s, u] >= 0:
                stack[top] = u
                top += 1
                u = tail[parc[s, u]]
            if not done[u]:  # a root: the source (no limit) or an unreachable node
                out[s, u] = np.inf if u == src else 0.0
                done[u] = True
            b = out[s, u]
            for i in range(top - 1, -1, -1):
                x = stack[i]
                c = cap[parc[s, x]]
                if c < b:
                    b = c
                out[s, x] = b
                done[x] = True


def tree_bottleneck_bps(pred_arc: npt.ArrayLike, sources: npt.ArrayLike, tail: npt.ArrayLike,
                        capacity_bps: npt.ArrayLike) -> FloatArray:
    """(n_sources, n_nodes) smallest arc capacity on the tree path from each source to each
    node, bit/s (inf at the source, 0 where unreachable).

    ``pred_arc``: (n_sources, n_nodes) arc into each node (-1 at the source and where
    unreachable), as :attr:`Routes.pred_arc`; ``sources``: (n_sources,) node indices;
    ``tail``/``capacity_bps``: (n_arcs,) of the topology.
    """
    parc = np.ascontiguousarray(pred_arc, dtype=np.int32)
    out = np.empty(parc.shape, dtype=np.float64)
    _trees(parc, np.ascontiguousarray(sources, dtype=np.int64),
           np.ascontiguousarray(tail, dtype=np.int64),
           np.ascontiguousarray(capacity_bps, dtype=np.float64), out)
    return out


def tree_bottleneck_reference(pred_arc: npt.ArrayLike, sources: npt.ArrayLike,
                              tail: npt.ArrayLike, capacity_bps: npt.ArrayLike) -> FloatArray:
    """The same by pointer doubling in numpy (the reference for the tests)."""
    parc = np.asarray(pred_arc, dtype=np.int64)
    src = np.asarray(sources, dtype=np.int64)
    tail_a = np.asarray(tail, dtype=np.int64)
    cap = np.asarray(capacity_bps, dtype=np.float64)
    k, n = parc.shape
    rows = np.arange(k)[:, None]
    has = parc >= 0
    best = np.where(has, cap[np.maximum(parc, 0)], np.inf)
    up = np.where(has, tail_a[np.maximum(parc, 0)], np.arange(n)[None, :])  # roots: self
    for _ in range(int(np.ceil(np.log2(max(n, 2)))) + 1):
        best = np.minimum(best, best[rows, up])
        up = up[rows, up]
    # a node whose chain ends at a root other than the source is unreachable
    reach = up == src[:, None]
    return np.where(reach, best, 0.0)
