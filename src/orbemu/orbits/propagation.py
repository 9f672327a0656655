"""Propagators: element sets × instants → :class:`~orbemu.orbits.ephemeris.Ephemeris`.

Every propagator follows the :class:`Propagator` protocol: it declares its output ``frame`` and
an ``accuracy`` note, and ``propagate(elements, times)`` returns an ephemeris of shape
``(len(elements), len(times), 3)``. Failures of single samples are data (NaN plus a status code),
never exceptions mid-batch.

- :class:`SGP4Propagator`: python-sgp4's vectorized C++ ``SatrecArray`` writing straight into the
  output; ``iter_chunks`` streams a long window in time chunks of bounded memory
  (:data:`DEFAULT_CHUNK_BYTES`). TEME out, optionally ITRF.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt
from sgp4.api import SatrecArray

from orbemu.errors import UsageError
from orbemu.orbits.elements import ElementSet
from orbemu.orbits.ephemeris import Ephemeris
from orbemu.orbits.frames import earth_rotation_terms, finish_sgp4_states
from orbemu.time import Time

__all__ = [
    "DEFAULT_CHUNK_BYTES",
    "ProgressCallback",
    "Propagator",
    "SGP4Propagator",
    "propagate",
    "sgp4_pairs",
]

#: Budget for the temporaries of one SGP4 call (positions + velocities + status), bytes.
DEFAULT_CHUNK_BYTES = 64 * 2**20

#: ``callback(done, total)`` called after each chunk, in units of instants.
ProgressCallback = Callable[[int, int], None]

OutputFrame = Literal["TEME", "ITRF"]


@runtime_checkable
class Propagator(Protocol):
    """What every propagator provides."""

    # Read-only members, so frozen dataclasses satisfy the protocol.
    @property
    def frame(self) -> str:
        """The frame ``propagate`` returns by default ("TEME" for SGP4 and the J2 propagator)."""
        ...

    @property
    def accuracy(self) -> str:
        """A one-line statement of the propagator's accuracy, for summaries and docs."""
        ...

    def propagate(self, elements: ElementSet, times: Time) -> Ephemeris: ...


@dataclass(frozen=True)
class SGP4Propagator:
    """SGP4/SDP4 via python-sgp4's ``SatrecArray`` (the C++ reference code of Vallado et al.).

    The C++ kernel writes straight into the output arrays, block by block of satellites; a single
    fused numba pass then converts km → m, marks failed samples NaN and, for ITRF output, rotates
    the frame. No other temporaries exist, so memory is the output plus O(n_times).

    Parameters
    ----------
    block_sats: satellites per SGP4 call (granularity of progress reports).
    chunk_bytes: for :meth:`iter_chunks`, the bound on one time chunk's buffers.
    """

    block_sats: int = 512
    chunk_bytes: int = DEFAULT_CHUNK_BYTES
    frame: str = "TEME"
    accuracy: str = ("SGP4 reproduces the element set's own model exactly (Vallado's test "
                     "vectors to < 1 mm); the model's error against truth is ~1 km at epoch "
                     "growing by a few km per day")

    def chunk_times(self, n_sats: int) -> int:
        """How many instants one chunk of :meth:`iter_chunks` covers for ``n_sats`` satellites."""
        per_instant = max(n_sats, 1) * (3 * 8 * 2 + 1)
        return max(1, int(self.chunk_bytes // per_instant))

    def iter_chunks(
        self, elements: ElementSet, times: Time, *, frame: OutputFrame = "TEME"
    ) -> Iterator[tuple[slice, npt.NDArray[np.float64], npt.NDArray[np.float64],
                        npt.NDArray[np.int8]]]:
        """Stream the window: yield ``(time_slice, r_m, v_m_s, status)`` chunk by chunk.

        The arrays are shaped ``(n_sats, chunk, 3)`` and are *reused* for the next chunk: copy
        what you keep. Memory stays at :attr:`chunk_bytes` however long the window.
        """
        _check_frame(frame)
        times = _as_1d(times)
        n = len(elements)
        if n == 0:
            return
        sats = elements.satrec_array()
        jd, fr = times.jd_utc()
        step = self.chunk_times(n)
        buffers = (np.empty((n, step, 3)), np.empty((n, step, 3)), np.empty((n, step), np.uint8))
        for start in range(0, times.size, step):
            sl = slice(start, min(start + step, times.size))
            c = sl.stop - sl.start
            r = buffers[0][:, :c] if c == step else np.empty((n, c, 3))
            v = buffers[1][:, :c] if c == step else np.empty((n, c, 3))
            e = buffers[2][:, :c] if c == step else np.empty((n, c), np.uint8)
            _run_sgp4(sats, jd[sl], fr[sl], e, r, v)
            rotation = earth_rotation_terms(times[sl]) if frame == "ITRF" else None
            finish_sgp4_states(r, v, e, scale=1000.0, rotation=rotation)
            yield sl, r, v, e.view(np.int8)

    def propagate(
        self,
        elements: ElementSet,
        times: Time,
        *,
        frame: OutputFrame = "TEME",
        progress: ProgressCallback | None = None,
    ) -> Ephemeris:
        """States of every satellite at every instant, in ``frame`` ("TEME" or "ITRF").

        ``progress(done, total)`` is called after each block, counting satellites.
        """
        _check_frame(frame)
        times = _as_1d(times)
        n, t = len(elements), times.size
        position = np.empty((n, t, 3))
        velocity = np.empty((n, t, 3))
        status = np.zeros((n, t), dtype=np.uint8)
        jd, fr = times.jd_utc()
        rotation = earth_rotation_terms(times) if frame == "ITRF" else None
        for a in range(0, n, self.block_sats):
            b = min(a + self.block_sats, n)
            _run_sgp4(_block_array(elements, a, b), jd, fr, status[a:b], position[a:b],
                      velocity[a:b])
            finish_sgp4_states(position[a:b], velocity[a:b], status[a:b], scale=1000.0,
                               rotation=rotation)
            if progress is not None:
                progress(b, n)
        return Ephemeris(
            times=times,
            position_m=position,
            velocity_m_s=velocity,
            frame=frame,
            status=status.view(np.int8),
            norad_ids=elements.norad_ids.copy(),
            names=elements.names.copy(),
        )


def _check_frame(frame: str) -> None:
    if frame not in ("TEME", "ITRF"):
        raise UsageError(f"frame must be 'TEME' or 'ITRF', got {frame!r}")


def _as_1d(times: Time) -> Time:
    if times.ndim == 0:
        return times[np.newaxis]
    if times.ndim != 1:
        raise UsageError(f"propagation needs a 1-D Time array, got shape {times.shape}")
    return times


def _block_array(elements: ElementSet, a: int, b: int) -> SatrecArray:
    if a == 0 and b == len(elements):
        return elements.satrec_array()
    key = f"satrec_array:{a}:{b}"
    cache = elements._cache
    if key not in cache:
        cache[key] = SatrecArray(list(elements.satrecs[a:b]))
    return cache[key]


def _run_sgp4(sats: SatrecArray, jd: npt.NDArray[np.float64], fr: npt.NDArray[np.float64],
              e: npt.NDArray[np.uint8], r: npt.NDArray[np.float64],
              v: npt.NDArray[np.float64]) -> None:
    """SGP4 into caller-owned C-contiguous arrays (python-sgp4's ``SatrecArray._sgp4``).

    ``SatrecArray.sgp4`` allocates its outputs and is otherwise exactly this call; writing in place
    saves a copy of the whole ephemeris. Falls back to the public call if the private one is gone.
    """
    jd = np.ascontiguousarray(jd, dtype=np.float64)
    fr = np.ascontiguousarray(fr, dtype=np.float64)
    inplace = getattr(sats, "_sgp4", None)
    if inplace is not None and r.flags.c_contiguous and v.flags.c_contiguous \
            and e.flags.c_contiguous:
        inplace(jd, fr, e, r, v)
    else:  # pragma: no cover - only on a python-sgp4 without the private entry point
        e[...], r[...], v[...] = sats.sgp4(jd, fr)


def propagate(
    elements: ElementSet,
    times: Time,
    *,
    frame: OutputFrame = "TEME",
    propagator: Propagator | None = None,
    progress: ProgressCallback | None = None,
) -> Ephemeris:
    """Propagate ``elements`` to ``times`` (SGP4 unless another propagator is given)."""
    prop = propagator if propagator is not None else SGP4Propagator()
    if isinstance(prop, SGP4Propagator):
        return prop.propagate(elements, times, frame=frame, progress=progress)
    eph = prop.propagate(elements, times)
    return eph.to_itrf() if frame == "ITRF" else eph


def sgp4_pairs(
    elements: ElementSet,
    sat_index: npt.ArrayLike,
    time_index: npt.ArrayLike,
    times: Time,
    *,
    frame: OutputFrame = "TEME",
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.int8]]:
    """SGP4 states of satellite ``sat_index[p]`` at ``times[time_index[p]]`` for each pair ``p``.

    For sparse needs (each satellite at a few instants of a grid, different ones per satellite)
    where :meth:`SGP4Propagator.propagate` would compute the whole ``satellites × instants``
    product. One SGP4 call per distinct instant, over just the satellites needed there; the
    results are bit-identical to :meth:`SGP4Propagator.propagate`'s at the same instants.

    Returns ``(r_m (P, 3), v_m_s (P, 3), status (P,))`` in ``frame`` ("TEME" or "ITRF"), NaN
    states where SGP4 failed (status ≠ 0).
    """
    _check_frame(frame)
    times = _as_1d(times)
    sat = np.asarray(sat_index, dtype=np.int64).ravel()
    tix = np.asarray(time_index, dtype=np.int64).ravel()
    if sat.shape != tix.shape:
        raise UsageError(f"sat_index and time_index must match, got {sat.shape} and {tix.shape}")
    n_pairs = sat.size
    r = np.empty((n_pairs, 3))
    v = np.empty((n_pairs, 3))
    e = np.zeros(n_pairs, np.uint8)
    if n_pairs == 0:
        return r, v, e.view(np.int8)
    # Time-major: one contiguous run of pairs per instant (callers often pass them so).
    in_order = bool(np.all(tix[1:] >= tix[:-1]))
    order = np.arange(n_pairs) if in_order else np.lexsort((sat, tix))
    s_sorted, t_sorted = (sat, tix) if in_order else (sat[order], tix[order])
    cuts = np.flatnonzero(np.diff(t_sorted)) + 1
    starts = np.concatenate([[0], cuts])
    stops = np.concatenate([cuts, [n_pairs]])
    used = t_sorted[starts]
    jd, fr = times[used].jd_utc()
    rs, vs, es = np.empty((n_pairs, 1, 3)), np.empty((n_pairs, 1, 3)), np.empty((n_pairs, 1),
                                                                                  np.uint8)
    satrecs = elements.satrecs
    for g, (a, b) in enumerate(zip(starts.tolist(), stops.tolist(), strict=True)):
        arr = SatrecArray([satrecs[i] for i in s_sorted[a:b].tolist()])
        _run_sgp4(arr, jd[g:g + 1], fr[g:g + 1], es[a:b], rs[a:b], vs[a:b])
    # As one satellite at n_pairs instants: the frame terms of each pair's own instant.
    rotation = None
    if frame == "ITRF":
        group = np.repeat(np.arange(used.size), stops - starts)
        rotation = tuple(np.ascontiguousarray(term[group])
                         for term in earth_rotation_terms(times[used]))
    finish_sgp4_states(rs.reshape(1, n_pairs, 3), vs.reshape(1, n_pairs, 3),
                       es.reshape(1, n_pairs), scale=1000.0, rotation=rotation)
    if in_order:
        return rs[:, 0], vs[:, 0], es[:, 0].view(np.int8)
    r[order] = rs[:, 0]
    v[order] = vs[:, 0]
    e[order] = es[:, 0]
    return r, v, e.view(np.int8)
