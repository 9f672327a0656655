"""Onboard data storage: payload data in, downlink out, never below 0 or above capacity.

Per step (``dt`` seconds), in this order:

1. images captured at the start of the step are written (the imager only captures when the
   whole image fits: :func:`has_room`), then housekeeping data (``housekeeping_rate_bps × dt``)
   and any other ``produced_bits`` the engine passes;
2. the downlink removes ``min(stored, downlink capacity)``, the capacity being the link rate ×
   the contact time in the step (the engine's, zero outside contacts);
3. whatever is still above ``capacity_bits`` is *dropped* (counted, never stored).

Volumes are float64 bits (exact integers up to 9·10¹⁵ bits ≈ 1 PB). Cumulative counters in the
state (``written_bits``, ``downlinked_bits``, ``dropped_bits``) obey
``used_bits = written − downlinked − dropped`` (to rounding).

Switching function: :func:`storage_margin_bits` = capacity − used (≥ 0; reaches 0 when full).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from orbemu.errors import UsageError
from orbemu.spacecraft.classes import SpacecraftClass, check_class_index, per_satellite

__all__ = [
    "StorageParams",
    "StorageState",
    "StorageStep",
    "has_room",
    "step_storage",
    "storage_margin_bits",
]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class StorageParams:
    """Per-satellite storage parameters, ``(n_sats,)`` each."""

    capacity_bits: FloatArray
    housekeeping_rate_bps: FloatArray

    @classmethod
    def from_classes(cls, classes: Sequence[SpacecraftClass],
                     class_index: npt.ArrayLike) -> StorageParams:
        idx = check_class_index(class_index, len(classes))
        return cls(
            capacity_bits=per_satellite([c.storage.capacity_bits for c in classes], idx),
            housekeeping_rate_bps=per_satellite([c.storage.housekeeping_rate_bps
                                                 for c in classes], idx),
        )

    @property
    def n_sats(self) -> int:
        return int(self.capacity_bits.size)


@dataclass(frozen=True, eq=False)
class StorageState:
    """Stored volume and cumulative counters, bits, ``(n_sats,)`` each."""

    used_bits: FloatArray
    written_bits: FloatArray
    downlinked_bits: FloatArray
    dropped_bits: FloatArray

    @classmethod
    def initial(cls, params: StorageParams, used_bits: npt.ArrayLike = 0.0) -> StorageState:
        n = params.n_sats
        used = np.broadcast_to(np.asarray(used_bits, np.float64), (n,)).copy()
        if np.any(used < 0) or np.any(used > params.capacity_bits):
            raise UsageError("initial stored volume must be within [0, capacity_bits]")
        return cls(used_bits=used, written_bits=used.copy(), downlinked_bits=np.zeros(n),
                   dropped_bits=np.zeros(n))


@dataclass(frozen=True, eq=False)
class StorageStep:
    """One step's flows, bits, ``(n_sats,)`` each."""

    written_bits: FloatArray
    downlinked_bits: FloatArray
    dropped_bits: FloatArray


def storage_margin_bits(state: StorageState, params: StorageParams) -> FloatArray:
    """Switching function: free space, bits (capacity − used); 0 when full."""
    return params.capacity_bits - state.used_bits


def has_room(state: StorageState, params: StorageParams, bits: npt.ArrayLike
             ) -> npt.NDArray[np.bool_]:
    """True where ``bits`` more fit (the imager's "storage not full" for one more image)."""
    return state.used_bits + np.asarray(bits, np.float64) <= params.capacity_bits


def step_storage(state: StorageState, params: StorageParams, produced_bits: npt.ArrayLike,
                 downlink_capacity_bits: npt.ArrayLike, dt_s: float) -> tuple[StorageState,
                                                                              StorageStep]:
    """Advance storage over one step (module docstring for the order).

    ``produced_bits``: ``(n,)`` payload data written this step (captured images and anything
    else), bits; housekeeping is added here from ``dt_s``. ``downlink_capacity_bits``: ``(n,)``
    what the downlink could carry this step (rate × contact seconds), bits.
    """
    if not dt_s >= 0:
        raise UsageError(f"dt_s must be >= 0, got {dt_s}")
    produced = np.asarray(produced_bits, np.float64)
    down_cap = np.asarray(downlink_capacity_bits, np.float64)
    if np.any(produced < 0) or np.any(down_cap < 0):
        raise UsageError("produced and downlink volumes must be >= 0")
    written = produced + params.housekeeping_rate_bps * dt_s
    total = state.used_bits + written
    down = np.minimum(total, np.fmax(down_cap, 0.0))  # NaN: no downlink
    after = total - down
    used = np.minimum(after, params.capacity_bits)
    dropped = after - used
    new = StorageState(used_bits=used, written_bits=state.written_bits + written,
                       downlinked_bits=state.downlinked_bits + down,
                       dropped_bits=state.dropped_bits + dropped)
    return new, StorageStep(written_bits=written, downlinked_bits=down, dropped_bits=dropped)
