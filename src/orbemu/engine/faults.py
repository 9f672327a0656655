"""Faults applied at exact times: what each one does to the spacecraft, the network and contacts.

The engine takes faults as plain :class:`FaultSpec` records (indices, not names: the scenario
adapter resolves names and draws the random ones from the scenario's seed, so a scenario and seed
give the same faults). :class:`FaultInjector` schedules a ``fault_start`` and, when the fault has
a duration, a ``fault_end`` event for each (:class:`~orbemu.engine.events.Schedule`), and applies
them when the loop reaches their instant. Overlapping faults of one element are counted, so an
element is down while *any* fault holds it down.

==========  =========  =============================================================================
kind        effect     what happens
==========  =========  =============================================================================
sat         down       the satellite is lost: ``alive`` false (no loads, no generation, no
                       capture, no downlink), contacts in progress are cut and later ones
                       cancelled, and every link it has is down in the network (routes avoid
                       it); back at the end
isl         down       the ISL between two satellites of the relay network is down (routes avoid it;
                       a ``link_down`` event); back at the end
station     down       the ground node is out: its contacts are cut/cancelled, the network's
                       links to it are down (a gateway outage moves routes elsewhere); back at
                       the end
battery     degrade    the battery keeps ``fraction`` of its capacity (charge above it is lost) —
                       capacity fade is permanent: a duration is ignored
seu         reboot     single-event upset: the satellite reboots into safe mode (payload and payload
                       computer off) held for the duration (default :data:`DEFAULT_REBOOT_S`); safe
                       mode then ends when the battery allows
seu         safe       single-event upset leaving the satellite in safe mode until a command
                       (``set_mode``) releases it, or for the duration if one is given
==========  =========  =============================================================================

Battery and upset faults act on modelled satellites (those with a spacecraft class); on another
satellite they are recorded with no effect. Each application produces ``fault_start`` /
``fault_end`` events naming the target, with the kind, effect, the one-line spec and the origin
(scripted, random or command line).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from orbemu.constants import NS_PER_S
from orbemu.engine.events import Schedule
from orbemu.engine.recorder import Event
from orbemu.errors import UsageError

__all__ = ["DEFAULT_REBOOT_S", "FaultInjector", "FaultSpec", "FaultState"]

IntArray = npt.NDArray[np.int64]

#: Reboot time of an SEU ``reboot`` without a duration, seconds.
DEFAULT_REBOOT_S = 120.0

_KINDS = {"sat": ("down",), "isl": ("down",), "station": ("down",), "battery": ("degrade",),
          "seu": ("reboot", "safe")}
_NEVER = np.iinfo(np.int64).max


@dataclass(frozen=True)
class FaultSpec:
    """One fault, resolved to indices.

    kind, effect: see the module table. start_ns: when it strikes (UTC ns). end_ns: when it
    ends (None: the end of the run). sat: satellite index (sat, battery, seu; one end of an
    isl); sat_b: the other end of an isl; node: ground-node index (station). fraction:
    capacity kept by a battery degradation. target: the name shown in records. spec: the
    one-line form (``sat:STARLINK-1008 down at 01:00 for 30m``). origin: scripted, random or
    cli.
    """

    kind: Literal["sat", "isl", "station", "battery", "seu"]
    effect: str
    start_ns: int
    end_ns: int | None = None
    sat: int = -1
    sat_b: int = -1
    node: int = -1
    fraction: float | None = None
    target: str = ""
    spec: str = ""
    origin: str = "scripted"

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise UsageError(f"fault kind must be one of {', '.join(_KINDS)}, got {self.kind!r}")
        if self.effect not in _KINDS[self.kind]:
            raise UsageError(f"a {self.kind} fault cannot be {self.effect!r}")
        if self.end_ns is not None and self.end_ns <= self.start_ns:
            raise UsageError(f"fault {self.spec or self.kind} ends before it starts")
        if self.kind in ("sat", "battery", "seu") and self.sat < 0:
            raise UsageError(f"a {self.kind} fault needs a satellite index")
        if self.kind == "isl" and (self.sat < 0 or self.sat_b < 0):
            raise UsageError("an isl fault needs both satellites (sat, sat_b)")
        if self.kind == "station" and self.node < 0:
            raise UsageError("a station fault needs a ground-node index")
        if self.kind == "battery" and not (self.fraction is not None
                                           and 0.0 < self.fraction <= 1.0):
            raise UsageError("a battery fault needs 0 < fraction <= 1")


class FaultState:
    """What faults hold down now: counts per satellite, ISL row and ground node (> 0: down)."""

    def __init__(self, n_sats: int, n_isl: int, n_ground: int) -> None:
        self.sat_down = np.zeros(n_sats, np.int32)
        self.isl_down = np.zeros(n_isl, np.int32)
        self.ground_down = np.zeros(n_ground, np.int32)
        self.active: set[int] = set()

    @property
    def sat_alive(self) -> npt.NDArray[np.bool_]:
        return self.sat_down == 0

    @property
    def ground_up(self) -> npt.NDArray[np.bool_]:
        return self.ground_down == 0

    def state(self) -> dict[str, Any]:
        return {"sat_down": self.sat_down.copy(), "isl_down": self.isl_down.copy(),
                "ground_down": self.ground_down.copy(), "active": sorted(self.active)}

    def restore(self, state: dict[str, Any]) -> None:
        self.sat_down = np.array(state["sat_down"], np.int32)
        self.isl_down = np.array(state["isl_down"], np.int32)
        self.ground_down = np.array(state["ground_down"], np.int32)
        self.active = set(state["active"])


@dataclass(frozen=True)
class FaultEffects:
    """What one application changed (for the engine to follow up): satellites that died or
    came back, ground nodes that went down or up, ISL rows, and the fleet-level actions."""

    sats_down: tuple[int, ...] = ()
    sats_up: tuple[int, ...] = ()
    nodes_down: tuple[int, ...] = ()
    nodes_up: tuple[int, ...] = ()
    isl_down: tuple[int, ...] = ()
    isl_up: tuple[int, ...] = ()
    degrade: tuple[tuple[int, float], ...] = ()
    safe_until: tuple[tuple[int, int], ...] = ()


class FaultInjector:
    """Schedules faults and applies them (see the module notes).

    ``isl_row``: maps a satellite pair ``(a, b)`` (either order) to its row in the relay
    network's ISL plan, or -1 when the plan has no such link (the fault is then refused).
    """

    def __init__(self, faults: Sequence[FaultSpec], n_sats: int, n_ground: int, *,
                 isl_row: Callable[[int, int], int] | None = None, n_isl: int = 0,
                 end_ns: int | None = None) -> None:
        self.faults = tuple(faults)
        self.state = FaultState(n_sats, n_isl, n_ground)
        self.end_ns = end_ns
        self._isl_row = isl_row
        self._isl_rows: list[int] = []
        for f in self.faults:
            if f.kind in ("sat", "battery", "seu") and not 0 <= f.sat < n_sats:
                raise UsageError(f"fault {f.spec}: satellite index {f.sat} out of range")
            if f.kind == "station" and not 0 <= f.node < n_ground:
                raise UsageError(f"fault {f.spec}: ground-node index {f.node} out of range")
            row = -1
            if f.kind == "isl":
                row = isl_row(f.sat, f.sat_b) if isl_row is not None else -1
                if row < 0:
                    from orbemu.errors import InputError
                    raise InputError(f"fault {f.spec or f.target!r}: the relay network has no "
                                     f"ISL between these satellites",
                                     fix="Name two satellites of the relay network's ISL plan "
                                         "(neighbours in the +Grid)")
            self._isl_rows.append(row)

    def add(self, fault: FaultSpec) -> int:
        """Add a fault during a run (a live console's injection); returns its index. The
        caller pushes its start and end on the schedule (:meth:`schedule_one`). Refused like
        the faults given at the start (index out of range, an ISL the plan lacks)."""
        n_sats, n_ground = self.state.sat_down.size, self.state.ground_down.size
        if fault.kind in ("sat", "battery", "seu") and not 0 <= fault.sat < n_sats:
            raise UsageError(f"fault {fault.spec}: satellite index {fault.sat} out of range")
        if fault.kind == "station" and not 0 <= fault.node < n_ground:
            raise UsageError(f"fault {fault.spec}: ground-node index {fault.node} out of range")
        row = -1
        if fault.kind == "isl":
            row = self._isl_row(fault.sat, fault.sat_b) if self._isl_row is not None else -1
            if row < 0:
                from orbemu.errors import InputError
                raise InputError(f"fault {fault.spec or fault.target!r}: the relay network has "
                                 "no ISL between these satellites",
                                 fix="Name two satellites of the relay network's ISL plan "
                                     "(neighbours in the +Grid)")
        self.faults = (*self.faults, fault)
        self._isl_rows.append(row)
        return len(self.faults) - 1

    def schedule_one(self, schedule: Schedule, index: int) -> None:
        """Push the start (and end) of fault ``index``."""
        f = self.faults[index]
        schedule.push(f.start_ns, "fault_start", index)
        if f.end_ns is not None and f.kind != "battery":
            schedule.push(f.end_ns, "fault_end", index)

    def schedule(self, schedule: Schedule, after_ns: int | None = None) -> None:
        """Push the start and end of every fault (those after ``after_ns`` when given)."""
        for i, f in enumerate(self.faults):
            if after_ns is None or f.start_ns >= after_ns:
                schedule.push(f.start_ns, "fault_start", i)
            if f.end_ns is not None and f.kind != "battery" and (
                    after_ns is None or f.end_ns >= after_ns):
                schedule.push(f.end_ns, "fault_end", i)

    def apply(self, index: int, time_ns: int, starting: bool, *,
              modelled: Callable[[int], bool]) -> tuple[FaultEffects, Event]:
        """Apply the start (or end) of fault ``index`` at ``time_ns``; returns what changed and
        the event to record. ``modelled(sat)``: whether the satellite has spacecraft models."""
        f = self.faults[index]
        st = self.state
        detail: dict[str, Any] = {"kind": f.kind, "effect": f.effect, "spec": f.spec,
                                  "origin": f.origin, "fault": index}
        sign = 1 if starting else -1
        effects = FaultEffects()
        if f.kind == "sat":
            before = st.sat_down[f.sat]
            st.sat_down[f.sat] += sign
            if starting and before == 0:
                effects = FaultEffects(sats_down=(f.sat,))
            elif not starting and st.sat_down[f.sat] == 0:
                effects = FaultEffects(sats_up=(f.sat,))
        elif f.kind == "station":
            before = st.ground_down[f.node]
            st.ground_down[f.node] += sign
            if starting and before == 0:
                effects = FaultEffects(nodes_down=(f.node,))
            elif not starting and st.ground_down[f.node] == 0:
                effects = FaultEffects(nodes_up=(f.node,))
        elif f.kind == "isl":
            row = self._isl_rows[index]
            before = st.isl_down[row]
            st.isl_down[row] += sign
            if starting and before == 0:
                effects = FaultEffects(isl_down=(row,))
            elif not starting and st.isl_down[row] == 0:
                effects = FaultEffects(isl_up=(row,))
        elif not starting:
            pass  # an upset's safe-mode hold was set at its start; capacity fade stays
        elif not modelled(f.sat):
            detail["note"] = "satellite without spacecraft models: no effect"
        elif f.kind == "battery":
            assert f.fraction is not None
            effects = FaultEffects(degrade=((f.sat, float(f.fraction)),))
            if f.end_ns is not None:
                detail["note"] = "capacity fade is permanent; the duration is ignored"
        else:  # seu
            if f.effect == "reboot":
                until = (f.end_ns if f.end_ns is not None
                         else time_ns + round(DEFAULT_REBOOT_S * NS_PER_S))
            else:
                until = f.end_ns if f.end_ns is not None else _NEVER
            effects = FaultEffects(safe_until=((f.sat, int(until)),))
            detail["until_ns"] = None if until == _NEVER else int(until)
        if starting:
            st.active.add(index)
        else:
            st.active.discard(index)
        kind = "fault_start" if starting else "fault_end"
        return effects, Event(int(time_ns), kind, f.target, detail)

    def table(self) -> dict[str, Any]:
        """The faults as columns for :meth:`~orbemu.engine.recorder.Sink.write_faults`."""
        fs = self.faults
        return {"fault": np.arange(len(fs)), "kind": [f.kind for f in fs],
                "target": [f.target for f in fs], "effect": [f.effect for f in fs],
                "start_ns": np.array([f.start_ns for f in fs], np.int64),
                "end_ns": np.array([-1 if f.end_ns is None else f.end_ns for f in fs],
                                   np.int64),
                "fraction": np.array([np.nan if f.fraction is None else f.fraction
                                      for f in fs]),
                "origin": [f.origin for f in fs], "spec": [f.spec for f in fs]}


def pair_rows(pairs: npt.ArrayLike) -> Callable[[int, int], int]:
    """A look-up ``(a, b) -> row`` over a ``(k, 2)`` pair array (either order; −1 if absent)."""
    arr = np.asarray(pairs, np.int64).reshape(-1, 2)
    table = {(min(int(a), int(b)), max(int(a), int(b))): i for i, (a, b) in enumerate(arr)}
    return lambda a, b: table.get((min(a, b), max(a, b)), -1)
