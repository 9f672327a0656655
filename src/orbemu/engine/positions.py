"""Satellite states and the Sun on the run's time grid, streamed ahead in chunks.

:class:`StateStream` serves the ITRF positions and velocities of a set of satellites at the
instants of a uniform grid (the steps, or the network instants), computed a chunk of instants at
a time by :class:`orbemu.network.simulation.PositionStream`: SGP4 on knots at multiples of each
satellite's knot step, cubic Hermite in TEME between them (≤ 1 m from SGP4), rotated to ITRF.
Memory stays bounded whatever the run's length, and a given instant gets bit-identical states
however the window is cut into chunks — so a run resumed from a checkpoint (which starts its
chunks at the checkpoint) reproduces the uninterrupted run exactly.

Between grid instants (a step split by a fault or command, a detector refining a crossing) the
engine interpolates with the cubic Hermite of the two neighbouring grid states
(:func:`orbemu.engine.detectors.interpolate_positions`), well under a millimetre at 10 s steps.

:class:`SunTable` holds the Sun's ITRF direction and distance at the grid instants, computed in
blocks, linearly interpolated in between.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import numpy.typing as npt

from orbemu.constants import NS_PER_S
from orbemu.network.simulation import PositionStream
from orbemu.orbits.elements import ElementSet
from orbemu.orbits.propagation import DEFAULT_CHUNK_BYTES
from orbemu.orbits.sun import sun_direction
from orbemu.time import Time

__all__ = ["StateStream", "SunTable"]

FloatArray = npt.NDArray[np.float64]


class StateStream:
    """ITRF states of ``elements`` at ``start_ns + k·step_ns``, ``k = 0 … n_points − 1``.

    :meth:`at` is meant for increasing ``k`` (it streams forward); asking for an earlier ``k``
    restarts the stream there (same numbers, more work).
    """

    def __init__(self, elements: ElementSet, start_ns: int, step_ns: int, n_points: int, *,
                 chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> None:
        self.elements = elements
        self.start_ns = int(start_ns)
        self.step_ns = int(step_ns)
        self.n_points = int(n_points)
        self.n = len(elements)
        self._stream = (PositionStream(elements, "interpolated", chunk_bytes,
                                       nominal_step_ns=self.step_ns) if self.n else None)
        self._it: Iterator[tuple[slice, FloatArray, FloatArray]] | None = None
        self._base = 0
        self._lo = self._hi = 0
        self._r: FloatArray | None = None
        self._v: FloatArray | None = None
        # the last instant of the previous chunk (copied: the stream reuses its buffers), so
        # that an instant between two chunks can be interpolated without restarting
        self._edge: tuple[int, FloatArray, FloatArray] | None = None

    def time_ns(self, k: int) -> int:
        return self.start_ns + k * self.step_ns

    def _restart(self, k: int) -> None:
        assert self._stream is not None
        grid = Time(self.start_ns + np.arange(k, self.n_points, dtype=np.int64) * self.step_ns)
        self._it = self._stream.iter_chunks(grid)
        self._base = k
        self._lo = self._hi = k

    def at(self, k: int) -> tuple[FloatArray, FloatArray]:
        """``(r, v)``, each ``(n, 3)`` (fresh arrays), at grid instant ``k``."""
        if not 0 <= k < self.n_points:
            raise IndexError(f"grid instant {k} outside 0..{self.n_points - 1}")
        if self.n == 0:
            return np.zeros((0, 3)), np.zeros((0, 3))
        if not self._lo <= k < self._hi:
            if self._it is None or k != self._hi:
                self._restart(k)
            assert self._it is not None
            if (self._r is not None and self._v is not None and self._hi > self._lo
                    and k == self._hi):
                j = self._hi - 1 - self._lo
                self._edge = (self._hi - 1, self._r[:, j, :].copy(), self._v[:, j, :].copy())
            sl, r, v = next(self._it)
            self._lo, self._hi = self._base + sl.start, self._base + sl.stop
            self._r, self._v = r, v
        assert self._r is not None and self._v is not None
        j = k - self._lo
        return self._r[:, j, :].copy(), self._v[:, j, :].copy()

    def _peek(self, k: int) -> tuple[FloatArray, FloatArray]:
        """States at grid instant ``k`` as views when the stream holds them (no copy)."""
        if self._lo <= k < self._hi and self._r is not None and self._v is not None:
            j = k - self._lo
            return self._r[:, j, :], self._v[:, j, :]
        if self._edge is not None and self._edge[0] == k:
            return self._edge[1], self._edge[2]
        return self.at(k)

    def covers(self, time_ns: int) -> bool:
        """Whether :meth:`positions_at` can answer for ``time_ns`` (inside the grid's span)."""
        return self.start_ns <= time_ns <= self.time_ns(self.n_points - 1)

    def positions_at(self, time_ns: int) -> FloatArray:
        """``(n, 3)`` ITRF positions, metres, at any instant of the grid's span: the grid
        states themselves at a grid instant, their cubic Hermite in between (≤ a few cm at
        60 s spacing in LEO). Reads what the stream already holds; it moves the stream
        forward only to the next grid instant, which the engine needs next anyway — so a
        live display costs no propagation of its own."""
        if not self.covers(time_ns):
            raise IndexError(f"instant {time_ns} ns outside the grid "
                             f"{self.start_ns}..{self.time_ns(self.n_points - 1)} ns")
        if self.n == 0:
            return np.zeros((0, 3))
        k, rem = divmod(int(time_ns) - self.start_ns, self.step_ns)
        if rem == 0:
            return self._peek(k)[0].copy()
        r0, v0 = self._peek(k)
        if not self._lo <= k + 1 < self._hi:
            r0, v0 = r0.copy(), v0.copy()  # (moving on to k + 1 may reuse the buffers)
        r1, v1 = self._peek(k + 1)
        h_s = self.step_ns / NS_PER_S
        s = rem / self.step_ns
        s2, s3 = s * s, s * s * s
        return ((2 * s3 - 3 * s2 + 1) * r0 + ((s3 - 2 * s2 + s) * h_s) * v0
                + (3 * s2 - 2 * s3) * r1 + ((s3 - s2) * h_s) * v1)


class SunTable:
    """The Sun's ITRF unit direction and distance at ``start_ns + k·step_ns``, computed in
    blocks of ``block`` instants."""

    def __init__(self, start_ns: int, step_ns: int, n_points: int, block: int = 2048) -> None:
        self.start_ns, self.step_ns, self.n_points = int(start_ns), int(step_ns), int(n_points)
        self.block = int(block)
        self._k0 = -1
        self._unit = np.zeros((0, 3))
        self._dist = np.zeros(0)

    def at(self, k: int) -> tuple[FloatArray, float]:
        if not self._k0 <= k < self._k0 + self._unit.shape[0]:
            k0 = k
            k1 = min(self.n_points, k0 + self.block)
            times = Time(self.start_ns + np.arange(k0, k1, dtype=np.int64) * self.step_ns)
            self._unit, self._dist = sun_direction(times, frame="ITRF")
            self._k0 = k0
        j = k - self._k0
        return self._unit[j].copy(), float(self._dist[j])

    def between(self, k: int, s: float) -> tuple[FloatArray, float]:
        """At fraction ``s`` of the way from instant ``k`` to ``k + 1`` (linear)."""
        u0, d0 = self.at(k)
        if s <= 0.0:
            return u0, d0
        u1, d1 = self.at(min(k + 1, self.n_points - 1))
        u = u0 * (1.0 - s) + u1 * s
        return u / np.linalg.norm(u), d0 * (1.0 - s) + d1 * s
