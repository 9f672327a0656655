"""Route tables shared between the controller (writer) and the packet plane (reader).

The controller computes, for emulation instants ``t_k = t0 + k·interval``, the one-way delay
and the bottleneck rate between every pair of emulated nodes (path-level mode) or of every
direct link between them (hop-by-hop mode), and writes them into a ring of ``R`` slots of a
file mapped by both processes (in the run's state folder, on tmpfs). The plane reads slot
``k = floor((now − mono0)·speed / interval)``: the emulation clock is the monotonic clock
offset to ``t0`` (both in the header), so the two processes agree on emulated time without
messages.

Layout (little-endian)::

    header   4096 B   magic "OENETEMU", version, K nodes, R slots, interval_ns, t0_ns,
                      mono0_ns, speed, written_k
    down     K B      (rounded up to 4096) 1 = node forced down (live fault injection)
    slot r   64 B     k (−1 while being written), t_ns
             4·K·K B  delay_s float32 [i, j]  (inf: unreachable)
             4·K·K B  rate_bps float32 [i, j] (inf: no limit)

A slot is written with its ``k`` set to −1 first and to ``k`` last (a seqlock): a reader
that sees the same ``k`` before and after reading has consistent values. The writer keeps
at most ``R − 2`` slots ahead of the clock, so the slot in use is never overwritten.
"""

from __future__ import annotations

import mmap
import os
import struct
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["RouteTables"]

_MAGIC = b"OENETEMU"
_VERSION = 1
_HEADER = 4096
_SLOT_HEADER = 64
# magic, version, K, R, pad, interval_ns, t0_ns, mono0_ns, speed, written_k
_FMT = "=8sIIIIqqqdq"


def _round_page(n: int) -> int:
    return (n + 4095) // 4096 * 4096


class RouteTables:
    """The mapped file. Create with :meth:`create` (controller) or :meth:`open` (plane,
    tools)."""

    def __init__(self, path: str, mm: mmap.mmap, k_nodes: int, n_slots: int) -> None:
        self.path = path
        self.mm = mm
        self.k = k_nodes
        self.r = n_slots
        self._down_off = _HEADER
        self._slots_off = _HEADER + _round_page(k_nodes)
        self._slot_size = _round_page(_SLOT_HEADER + 8 * k_nodes * k_nodes)
        self.down: npt.NDArray[np.uint8] = np.frombuffer(mm, np.uint8, k_nodes,
                                                         self._down_off)
        self.delay: list[npt.NDArray[np.float32]] = []
        self.rate: list[npt.NDArray[np.float32]] = []
        for r in range(n_slots):
            base = self._slots_off + r * self._slot_size + _SLOT_HEADER
            kk = k_nodes * k_nodes
            self.delay.append(np.frombuffer(mm, np.float32, kk, base).reshape(k_nodes, k_nodes))
            self.rate.append(np.frombuffer(mm, np.float32, kk, base + 4 * kk)
                             .reshape(k_nodes, k_nodes))

    # ---- lifecycle ------------------------------------------------------------------------
    @staticmethod
    def size(k_nodes: int, n_slots: int) -> int:
        return (_HEADER + _round_page(k_nodes)
                + n_slots * _round_page(_SLOT_HEADER + 8 * k_nodes * k_nodes))

    @classmethod
    def create(cls, path: str, k_nodes: int, n_slots: int, interval_ns: int,
               t0_ns: int) -> RouteTables:
        if k_nodes < 1 or n_slots < 3 or interval_ns <= 0:
            raise ValueError("route tables need ≥ 1 node, ≥ 3 slots and a positive interval")
        size = cls.size(k_nodes, n_slots)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.ftruncate(fd, size)
            mm = mmap.mmap(fd, size)
        finally:
            os.close(fd)
        mm[:struct.calcsize(_FMT)] = struct.pack(_FMT, _MAGIC, _VERSION, k_nodes, n_slots, 0,
                                                 interval_ns, t0_ns, 0, 1.0, -1)
        tables = cls(path, mm, k_nodes, n_slots)
        for r in range(n_slots):
            tables._set_slot_k(r, -1)
        return tables

    @classmethod
    def open(cls, path: str) -> RouteTables:
        fd = os.open(path, os.O_RDWR)
        try:
            size = os.fstat(fd).st_size
            mm = mmap.mmap(fd, size)
        finally:
            os.close(fd)
        magic, version, k_nodes, n_slots = struct.unpack_from("=8sIII", mm, 0)
        if magic != _MAGIC or version != _VERSION:
            mm.close()
            raise ValueError(f"{path} is not an orbemu netemu table file")
        return cls(path, mm, k_nodes, n_slots)

    def close(self) -> None:
        self.delay.clear()
        self.rate.clear()
        del self.down
        try:
            self.mm.close()
        except BufferError:  # a view still alive elsewhere: the mapping goes with the process
            pass

    # ---- header ---------------------------------------------------------------------------
    def _header(self) -> tuple[Any, ...]:
        return struct.unpack_from(_FMT, self.mm, 0)

    @property
    def interval_ns(self) -> int:
        return int(self._header()[5])

    @property
    def t0_ns(self) -> int:
        return int(self._header()[6])

    @property
    def mono0_ns(self) -> int:
        """Monotonic clock reading at emulated ``t0`` (0: the clock is not started)."""
        return int(self._header()[7])

    @property
    def speed(self) -> float:
        return float(self._header()[8])

    @property
    def written_k(self) -> int:
        return int(self._header()[9])

    def start_clock(self, mono0_ns: int, speed: float = 1.0) -> None:
        """Tie emulated ``t0`` to the monotonic reading ``mono0_ns`` (pacing starts)."""
        struct.pack_into("=qd", self.mm, 40, mono0_ns, speed)

    def instant_index(self, mono_ns: int) -> int:
        """The slot index ``k`` in force at monotonic time ``mono_ns`` (0 before the start)."""
        h = self._header()
        if h[7] == 0:
            return 0
        return max(0, int((mono_ns - h[7]) * h[8]) // h[5])

    def emulated_ns(self, mono_ns: int) -> int:
        """Emulated instant (int ns UTC) at monotonic time ``mono_ns``."""
        h = self._header()
        return int(h[6] + (mono_ns - h[7]) * h[8]) if h[7] else int(h[6])

    # ---- slots ----------------------------------------------------------------------------
    def _slot_off(self, r: int) -> int:
        return self._slots_off + r * self._slot_size

    def _set_slot_k(self, r: int, k: int) -> None:
        struct.pack_into("=q", self.mm, self._slot_off(r), k)

    def slot_k(self, r: int) -> int:
        return int(struct.unpack_from("=q", self.mm, self._slot_off(r))[0])

    def write(self, k: int, t_ns: int, delay_s: npt.ArrayLike, rate_bps: npt.ArrayLike) -> None:
        """Write instant ``k`` (at ``t_ns``): (K, K) one-way delays (s, inf = unreachable) and
        rates (bit/s, inf = no limit)."""
        r = k % self.r
        self._set_slot_k(r, -1)
        self.delay[r][...] = delay_s
        self.rate[r][...] = rate_bps
        struct.pack_into("=q", self.mm, self._slot_off(r) + 8, t_ns)
        self._set_slot_k(r, k)
        struct.pack_into("=q", self.mm, 56, k)

    def read(self, k: int, i: int, j: int) -> tuple[float, float] | None:
        """``(delay_s, rate_bps)`` of pair ``(i, j)`` at instant ``k``, or None when slot ``k``
        is not (or no longer) there."""
        r = k % self.r
        if self.slot_k(r) != k:
            return None
        delay = float(self.delay[r][i, j])
        rate = float(self.rate[r][i, j])
        if self.slot_k(r) != k:
            return None
        return delay, rate
