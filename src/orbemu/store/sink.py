"""The sink interface: where an emulation's records go.

A :class:`Sink` receives records in column form (numpy arrays or sequences, one entry per
record), so a vectorized engine hands over a whole step at once; it decides how to batch and
when to make them durable. :class:`~orbemu.store.sqlite.SQLiteSink` is the one orbemu ships;
another backend (Parquet files, a time-series database, a network stream) implements the same
methods. ``Sink`` is a :class:`typing.Protocol`: implementations need not inherit from it, so a
lower layer (the engine) can hold one without importing this package.

Units are those of the column names: ``time_ns`` int ns UTC, ``rtt_ms``, ``latency_ms``,
``size_bytes``, ``volume_bits``, ``max_elevation_deg``. ``sat`` and ``station`` are indices into
the run's satellites and ground nodes (:meth:`Sink.write_satellites`,
:meth:`Sink.write_ground_nodes` give their names).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy.typing as npt

__all__ = ["Event", "RunInfo", "Sink"]

ArrayLike = npt.ArrayLike


@dataclass(frozen=True)
class RunInfo:
    """What a run is: stored once in the ``runs`` table.

    ``name``: run name (the scenario's). ``scenario_text``: the scenario YAML as loaded.
    ``seed``: the random seed. ``start_ns``/``step_ns``/``duration_ns``: the window (int ns).
    ``metadata``: anything else JSON-serializable (command line, host, scenario source path).
    Versions of orbemu, Python, numpy and SQLite are added by the sink.
    """

    name: str
    scenario_text: str = ""
    seed: int = 0
    start_ns: int = 0
    step_ns: int = 0
    duration_ns: int = 0
    scenario_source: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Event:
    """One event: ``time_ns`` (int ns UTC), ``kind`` (``eclipse_entry``, ``contact_start``,
    ``battery_low``, ``fault``...), ``subject`` (what it is about: a satellite or station name,
    a pair) and ``detail`` (JSON-serializable mapping)."""

    time_ns: int
    kind: str
    subject: str = ""
    detail: Mapping[str, Any] | None = None


@runtime_checkable
class Sink(Protocol):
    """Where records go. Calls within one step may come in any order; :meth:`end_step` marks a
    step complete, and everything written before a :meth:`flush` (or a commit that
    ``end_step`` decides on) survives a crash of the process."""

    def start_run(self, info: RunInfo) -> None:
        """Record what the run is (once, before any record)."""

    def write_satellites(self, names: Sequence[str], *, norad_ids: ArrayLike | None = None,
                         constellation: Sequence[str] | None = None,
                         role: Sequence[str] | None = None,
                         spacecraft_class: Sequence[str] | None = None) -> None:
        """The satellites, in index order (``sat`` = position)."""

    def write_ground_nodes(self, names: Sequence[str], *, roles: Sequence[str] | None = None,
                           lat_deg: ArrayLike | None = None, lon_deg: ArrayLike | None = None,
                           alt_m: ArrayLike | None = None) -> None:
        """The ground nodes, in index order (``station`` = position)."""

    def write_housekeeping(self, time_ns: int, sat: ArrayLike,
                           columns: Mapping[str, ArrayLike]) -> None:
        """One step of housekeeping: ``sat`` (n,) indices and ``columns`` name → (n,) values
        (``soc``, ``battery_wh``, ``storage_bits``, ``mode``...)."""

    def write_points(self, time_ns: ArrayLike, sat: ArrayLike, key: str | Sequence[str],
                     value: ArrayLike) -> None:
        """Sparse telemetry points (k,) (one key for all, or one per point)."""

    def write_events(self, events: Iterable[Event]) -> None:
        """Events (any order)."""

    def write_contacts(self, start_ns: ArrayLike, end_ns: ArrayLike, sat: ArrayLike,
                       station: ArrayLike, *, max_elevation_deg: ArrayLike | None = None,
                       volume_bits: ArrayLike | None = None,
                       antenna: ArrayLike | None = None) -> None:
        """Contacts (k,): a satellite–station window and the data it carried."""

    def write_packets(self, time_ns: ArrayLike, sat: ArrayLike, apid: ArrayLike,
                      direction: str | Sequence[str], size_bytes: ArrayLike,
                      latency_ms: ArrayLike | None = None) -> None:
        """Space packets (k,) up (``"up"``) or down (``"down"``)."""

    def write_network(self, time_ns: ArrayLike, src: Sequence[str], dst: Sequence[str],
                      rtt_ms: ArrayLike, hops: ArrayLike, reachable: ArrayLike) -> None:
        """Network metrics (k,) of monitored endpoint pairs (NaN RTT where unreachable)."""

    def write_checkpoint(self, step: int, time_ns: int, *, data: bytes | None = None,
                         path: str | None = None) -> None:
        """A checkpoint of the engine state (the bytes, or the path of a file holding them);
        durable at once."""

    def end_step(self, step: int, time_ns: int) -> None:
        """Step ``step`` (at ``time_ns``) is complete."""

    def flush(self) -> None:
        """Make everything written so far durable."""

    def close(self, status: str = "completed") -> None:
        """Flush, finish (indexes, run status) and release the backend."""
