"""ElementSet: the orbital elements of N satellites, as SGP4 records plus identity and structure.

An ``ElementSet`` is what every reader (TLE, OMM) and every generator (Walker shells) returns and
what every propagator takes. It is immutable; ``select`` returns a new set.

Fields are arrays of length ``n`` in one fixed order (the order of the input file, or plane-major
for designed shells); that order is the satellite index used by every later stage (ephemeris rows,
graph node ids, ``path`` columns in the CLI).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt
from sgp4.api import Satrec, SatrecArray

from orbemu.constants import NS_PER_DAY, WGS72_A_M, WGS72_MU_M3_S2
from orbemu.errors import Rejection, UsageError
from orbemu.time import Time

__all__ = ["ElementSet"]

_UNKNOWN = -1


def _satrec_epoch_ns(sat: Satrec) -> int:
    """The element epoch of an SGP4 record as POSIX UTC ns."""
    t = Time.from_jd(sat.jdsatepoch, sat.jdsatepochF)
    return int(t.ns)


def _default_shell(plane: npt.NDArray[np.int32]) -> npt.NDArray[np.int32]:
    return np.where(np.asarray(plane) >= 0, 0, _UNKNOWN).astype(np.int32)


@dataclass(frozen=True, eq=False)
class ElementSet:
    """Orbital elements of ``n`` satellites.

    Attributes
    ----------
    satrecs: the SGP4 records, one per satellite (python-sgp4 ``Satrec``).
    norad_ids: (n,) int64 catalog numbers (up to 9 digits for OMM-only objects).
    names: (n,) object array of str; the TLE line-0 / OMM OBJECT_NAME, or a generated name.
    epochs: (n,) ``Time`` of each element set.
    plane, slot: (n,) int32 orbital plane and slot-in-plane indices for designed shells (or after
        plane inference); -1 where unknown. Later stages build +Grid ISLs from these. Plane numbers
        are unique across the whole set (a second shell's planes follow the first's).
    intl_designators: (n,) object array of str (``"1998-067A"``), ``""`` where unknown.
    source: a short description of where the set came from (file name or generator).
    rejections: records a lenient load skipped, and why.
    notes: other things the loader wants the user to know (duplicates resolved, ...).
    shell: (n,) int32 index of the shell each satellite belongs to (0, 1, ... in a multi-shell
        set; -1 where the plane is unknown). A +Grid ring wraps around within one shell: the
        planes of shell ``k`` are the contiguous numbers ``plane[shell == k]``. Defaults to 0
        wherever ``plane`` is known.
    """

    satrecs: tuple[Satrec, ...]
    norad_ids: npt.NDArray[np.int64]
    names: npt.NDArray[np.object_]
    epochs: Time
    plane: npt.NDArray[np.int32]
    slot: npt.NDArray[np.int32]
    intl_designators: npt.NDArray[np.object_]
    source: str = ""
    rejections: tuple[Rejection, ...] = ()
    notes: tuple[str, ...] = ()
    shell: npt.NDArray[np.int32] | None = None
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        n = len(self.satrecs)
        if self.shell is None:
            object.__setattr__(self, "shell", _default_shell(self.plane))
        for name in ("norad_ids", "names", "plane", "slot", "intl_designators", "shell"):
            arr = getattr(self, name)
            if len(arr) != n:
                raise UsageError(f"ElementSet.{name} has {len(arr)} entries for {n} satellites")
        if self.epochs.shape != (n,):
            raise UsageError(f"ElementSet.epochs has shape {self.epochs.shape}, expected ({n},)")

    # ---- construction ---------------------------------------------------------------------------
    @classmethod
    def from_satrecs(
        cls,
        satrecs: Sequence[Satrec],
        *,
        names: Iterable[str] | None = None,
        norad_ids: Iterable[int] | None = None,
        plane: Iterable[int] | None = None,
        slot: Iterable[int] | None = None,
        intl_designators: Iterable[str] | None = None,
        source: str = "",
        rejections: Sequence[Rejection] = (),
        notes: Sequence[str] = (),
    ) -> ElementSet:
        """Build a set from SGP4 records; missing metadata gets neutral defaults."""
        sats = tuple(satrecs)
        n = len(sats)
        ids = (np.array([s.satnum for s in sats], dtype=np.int64) if norad_ids is None
               else np.fromiter(norad_ids, dtype=np.int64, count=n))
        name_arr = np.empty(n, dtype=object)
        name_arr[:] = (list(names) if names is not None else [f"SAT-{i}" for i in ids])
        intl = np.empty(n, dtype=object)
        intl[:] = (list(intl_designators) if intl_designators is not None
                   else [getattr(s, "intldesg", "") or "" for s in sats])
        epochs = Time(np.array([_satrec_epoch_ns(s) for s in sats], dtype=np.int64))
        plane_arr = (np.full(n, _UNKNOWN, np.int32) if plane is None
                     else np.fromiter(plane, dtype=np.int32, count=n))
        slot_arr = (np.full(n, _UNKNOWN, np.int32) if slot is None
                    else np.fromiter(slot, dtype=np.int32, count=n))
        return cls(
            satrecs=sats,
            norad_ids=ids,
            names=name_arr,
            epochs=epochs,
            plane=plane_arr,
            slot=slot_arr,
            intl_designators=intl,
            source=source,
            rejections=tuple(rejections),
            notes=tuple(notes),
        )

    @classmethod
    def concat(cls, sets: Sequence[ElementSet], *, source: str | None = None) -> ElementSet:
        """Join sets end to end (indices of the second follow the first).

        Known plane and shell numbers of each later set are shifted past those of the sets before
        it, so ``(plane, slot)`` stays unique and each input keeps its own shell(s).
        """
        if not sets:
            raise UsageError("ElementSet.concat needs at least one set")
        planes, shells = [], []
        plane_offset = shell_offset = 0
        for es in sets:
            shell = es.shell_index
            planes.append(np.where(es.plane >= 0, es.plane + plane_offset, es.plane))
            shells.append(np.where(shell >= 0, shell + shell_offset, shell))
            if np.any(es.plane >= 0):
                plane_offset += int(es.plane.max()) + 1
            if np.any(shell >= 0):
                shell_offset += int(shell.max()) + 1
        return cls(
            satrecs=tuple(s for es in sets for s in es.satrecs),
            norad_ids=np.concatenate([es.norad_ids for es in sets]),
            names=np.concatenate([es.names for es in sets]),
            epochs=Time(np.concatenate([es.epochs.ns for es in sets])),
            plane=np.concatenate(planes).astype(np.int32),
            slot=np.concatenate([es.slot for es in sets]),
            intl_designators=np.concatenate([es.intl_designators for es in sets]),
            source=source if source is not None else " + ".join(es.source for es in sets),
            rejections=tuple(r for es in sets for r in es.rejections),
            notes=tuple(n for es in sets for n in es.notes),
            shell=np.concatenate(shells).astype(np.int32),
        )

    # ---- size and selection ------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.satrecs)

    def __repr__(self) -> str:
        return f"ElementSet(<{len(self)} satellites from {self.source or 'memory'}>)"

    def select(self, index: Any) -> ElementSet:
        """A subset by integer indices, a boolean mask or a slice (order as given)."""
        idx = np.arange(len(self))[index]
        idx = np.atleast_1d(idx)
        return ElementSet(
            satrecs=tuple(self.satrecs[i] for i in idx),
            norad_ids=self.norad_ids[idx],
            names=self.names[idx],
            epochs=self.epochs[idx],
            plane=self.plane[idx],
            slot=self.slot[idx],
            intl_designators=self.intl_designators[idx],
            source=self.source,
            rejections=self.rejections,
            notes=self.notes,
            shell=self.shell_index[idx],
        )

    def index_of(self, key: int | str) -> int:
        """The index of a satellite by catalog number or exact name."""
        if isinstance(key, (int, np.integer)):
            hits = np.flatnonzero(self.norad_ids == key)
        else:
            hits = np.flatnonzero(self.names == key)
            if hits.size == 0 and key.strip().isdigit():
                hits = np.flatnonzero(self.norad_ids == int(key))
        if hits.size == 0:
            raise UsageError(f"no satellite {key!r} in {self!r}")
        return int(hits[0])

    def with_structure(self, plane: npt.ArrayLike, slot: npt.ArrayLike,
                       shell: npt.ArrayLike | None = None) -> ElementSet:
        """The same set with plane/slot (and optionally shell) indices attached (e.g. after plane
        inference); ``shell`` defaults to 0 wherever the plane is known."""
        plane_arr = np.asarray(plane, np.int32)
        shell_arr = _default_shell(plane_arr) if shell is None else np.asarray(shell, np.int32)
        return replace(self, plane=plane_arr, slot=np.asarray(slot, np.int32), shell=shell_arr,
                       _cache={})

    @property
    def shell_index(self) -> npt.NDArray[np.int32]:
        """The ``shell`` array (never None after construction; typed for mypy)."""
        assert self.shell is not None
        return self.shell

    @property
    def has_structure(self) -> bool:
        """True when every satellite has a plane and a slot."""
        return bool(len(self)) and bool(np.all(self.plane >= 0) and np.all(self.slot >= 0))

    # ---- SGP4 -----------------------------------------------------------------------------------
    def satrec_array(self) -> SatrecArray:
        """The vectorized SGP4 record array (built once per set)."""
        if "satrec_array" not in self._cache:
            self._cache["satrec_array"] = SatrecArray(list(self.satrecs))
        return self._cache["satrec_array"]

    # ---- mean elements (SGP4/Kozai mean elements at epoch; radians, SI) -----------------------
    def _field(self, name: str) -> npt.NDArray[np.float64]:
        key = f"field:{name}"
        if key not in self._cache:
            self._cache[key] = np.array([getattr(s, name) for s in self.satrecs], dtype=np.float64)
        return self._cache[key]

    @property
    def inclination_rad(self) -> npt.NDArray[np.float64]:
        return self._field("inclo")

    @property
    def raan_rad(self) -> npt.NDArray[np.float64]:
        return self._field("nodeo")

    @property
    def eccentricity(self) -> npt.NDArray[np.float64]:
        return self._field("ecco")

    @property
    def arg_perigee_rad(self) -> npt.NDArray[np.float64]:
        return self._field("argpo")

    @property
    def mean_anomaly_rad(self) -> npt.NDArray[np.float64]:
        return self._field("mo")

    @property
    def mean_motion_rad_s(self) -> npt.NDArray[np.float64]:
        """Kozai mean motion as in the TLE, converted from rad/min to rad/s."""
        return self._field("no_kozai") / 60.0

    @property
    def bstar_per_earth_radius(self) -> npt.NDArray[np.float64]:
        return self._field("bstar")

    @property
    def semi_major_axis_m(self) -> npt.NDArray[np.float64]:
        """Semi-major axis from the mean motion (WGS72 μ, SGP4's model), metres."""
        n = self.mean_motion_rad_s
        with np.errstate(divide="ignore"):
            return np.cbrt(WGS72_MU_M3_S2 / (n * n))

    @property
    def mean_altitude_m(self) -> npt.NDArray[np.float64]:
        """Semi-major axis minus SGP4's Earth radius: a mean altitude, metres."""
        return self.semi_major_axis_m - WGS72_A_M

    @property
    def period_s(self) -> npt.NDArray[np.float64]:
        return 2.0 * np.pi / self.mean_motion_rad_s

    def epoch_span(self) -> tuple[Time, Time]:
        """Earliest and latest element epoch."""
        return Time(self.epochs.ns.min()), Time(self.epochs.ns.max())

    def age_days(self, at: Time) -> npt.NDArray[np.float64]:
        """Age of each element set at ``at`` (days; negative when ``at`` precedes the epoch)."""
        return (int(at) - self.epochs.ns) / NS_PER_DAY
