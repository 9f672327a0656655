"""A fleet of spacecraft: parameters, state and one step of every model, as arrays.

The engine owns the clock and calls :func:`step_fleet` once per step for all satellites::

    params = FleetParams.from_classes([eo_class, relay_class], class_index, targets=targets)
    state = FleetState.initial(params, start_ns)
    for each step t -> t + dt:
        env = Environment.compute(t_ns, r_itrf_m, v_itrf_m_s, downlink_rate_bps=rates)
        state, record = step_fleet(state, params, env, dt_s, commands)
        sink(record)

Order inside a step at instant ``t`` (the environment describes ``t``; powers and rates are held
over ``[t, t + dt)``):

1. **attitude requests** — satellites in safe mode are sent to ``SAFE`` (Sun pointing), those
   whose safe mode ended back to their default mode, the others follow ``commands.mode``
   (``-1`` keeps the mode); each change starts a slew (:mod:`.attitude`);
2. **imager** — captures at ``t`` by satellites whose payload is active and attitude settled;
   TARGET-mode satellites then choose their next target, which starts a slew (:mod:`.imager`);
3. **storage** — images, housekeeping, then downlink (``downlink_rate_bps × contact_s``, when
   the transmitter is on), then overflow dropped (:mod:`.storage`);
4. **power** — array output from the attitude after the requests (worse end while slewing) and
   the illuminated fraction; loads from the commands with safe mode's overrides, plus the slew
   load for the part of the step spent slewing; battery update; safe mode entry/exit, effective
   from the next step (:mod:`.power`).

Safe mode switches the payload and payload computer off and stops capture. A satellite marked
not ``alive`` (lost) does nothing: no loads, no generation, no capture, no downlink, no mode
change. A satellite whose state is NaN (propagation failure) generates no power and captures
nothing, but its loads still draw.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from orbemu.constants import NS_PER_S
from orbemu.errors import UsageError
from orbemu.orbits.sun import illuminated_fraction, sun_direction
from orbemu.spacecraft import power as _power
from orbemu.spacecraft.attitude import (
    AttitudeChanges,
    AttitudeMode,
    AttitudeParams,
    AttitudeState,
    array_cosine,
    attitude_geometry,
    request_modes,
)
from orbemu.spacecraft.classes import SpacecraftClass, check_class_index
from orbemu.spacecraft.imager import ImagerParams, ImagerState, select_captures
from orbemu.spacecraft.power import Loads, PowerParams, PowerState, solar_power_w, step_power
from orbemu.spacecraft.storage import StorageParams, StorageState, has_room, step_storage
from orbemu.spacecraft.targets import Targets
from orbemu.time import Time

__all__ = [
    "Commands",
    "Environment",
    "FleetParams",
    "FleetState",
    "StepRecord",
    "degrade_battery",
    "force_safe_mode",
    "release_storage",
    "set_alive",
    "step_fleet",
]

_SAFE = int(AttitudeMode.SAFE)
_TARGET = int(AttitudeMode.TARGET)

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class FleetParams:
    """Parameters of ``n_sats`` satellites (each model's, ``(n_sats,)`` arrays) and the targets.

    classes: the spacecraft classes; class_index: ``(n_sats,)`` row of each satellite's class.
    """

    classes: tuple[SpacecraftClass, ...]
    class_index: npt.NDArray[np.intp]
    power: PowerParams
    storage: StorageParams
    attitude: AttitudeParams
    imager: ImagerParams
    targets: Targets

    @classmethod
    def from_classes(cls, classes: Sequence[SpacecraftClass] | SpacecraftClass,
                     class_index: npt.ArrayLike | int, *, targets: Targets | None = None
                     ) -> FleetParams:
        """Per-satellite arrays from classes.

        ``class_index``: ``(n_sats,)`` class row per satellite, or an ``int`` n to give all n
        satellites the single class in ``classes``.
        """
        cls_tuple = (classes,) if isinstance(classes, SpacecraftClass) else tuple(classes)
        if isinstance(class_index, int | np.integer):
            if len(cls_tuple) != 1:
                raise UsageError("an int class_index (a satellite count) needs exactly one class")
            class_index = np.zeros(int(class_index), np.intp)
        idx = check_class_index(class_index, len(cls_tuple))
        return cls(
            classes=cls_tuple,
            class_index=idx,
            power=PowerParams.from_classes(cls_tuple, idx),
            storage=StorageParams.from_classes(cls_tuple, idx),
            attitude=AttitudeParams.from_classes(cls_tuple, idx),
            imager=ImagerParams.from_classes(cls_tuple, idx),
            targets=targets if targets is not None else Targets.empty(),
        )

    @property
    def n_sats(self) -> int:
        return int(self.class_index.size)

    def with_targets(self, targets: Targets) -> FleetParams:
        return replace(self, targets=targets)


@dataclass(frozen=True, eq=False)
class FleetState:
    """Everything that changes, at instant ``time_ns``.

    power, storage, attitude: per satellite; imager: per target; alive: ``(n_sats,)`` bool.
    """

    time_ns: int
    power: PowerState
    storage: StorageState
    attitude: AttitudeState
    imager: ImagerState
    alive: BoolArray

    @classmethod
    def initial(cls, params: FleetParams, start: Time | int) -> FleetState:
        """Initial state: initial state of charge, empty storage, settled in the default mode."""
        t = int(start)
        return cls(time_ns=t, power=PowerState.initial(params.power),
                   storage=StorageState.initial(params.storage),
                   attitude=AttitudeState.initial(params.attitude, t),
                   imager=ImagerState.initial(params.targets),
                   alive=np.ones(params.n_sats, bool))

    def to_arrays(self) -> dict[str, npt.NDArray[Any]]:
        """Flat ``{"power.charge_wh": array, ...}`` for checkpoints (``np.savez``)."""
        out: dict[str, npt.NDArray[Any]] = {"time_ns": np.int64(self.time_ns) * np.ones((),
                                                                                     np.int64)}
        for part in ("power", "storage", "attitude", "imager"):
            obj = getattr(self, part)
            for f in fields(obj):
                out[f"{part}.{f.name}"] = getattr(obj, f.name)
        out["alive"] = self.alive
        return out

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, npt.ArrayLike]) -> FleetState:
        """Inverse of :meth:`to_arrays`."""
        parts: dict[str, Any] = {}
        for part, typ in (("power", PowerState), ("storage", StorageState),
                          ("attitude", AttitudeState), ("imager", ImagerState)):
            parts[part] = typ(**{f.name: np.array(arrays[f"{part}.{f.name}"])
                                 for f in fields(typ)})
        return cls(time_ns=int(np.asarray(arrays["time_ns"])), alive=np.array(arrays["alive"]),
                   **parts)


@dataclass(frozen=True, eq=False)
class Environment:
    """What the orbits and links layers tell the spacecraft at one instant.

    time_ns: the instant, UTC ns.
    r_itrf_m, v_itrf_m_s: ``(n, 3)`` satellite states, ITRF (NaN for a failed propagation).
    sun_itrf: ``(3,)`` unit geocentric Sun direction, ITRF; sun_distance_m: its distance.
    illuminated_fraction: ``(n,)`` visible fraction of the solar disk, 0..1.
    downlink_rate_bps: ``(n,)`` downlink rate available to each satellite (0 out of contact).
    contact_s: ``(n,)`` seconds of the step the downlink is available; None: the whole step
        wherever the rate is positive.
    """

    time_ns: int
    r_itrf_m: FloatArray
    v_itrf_m_s: FloatArray
    sun_itrf: FloatArray
    sun_distance_m: float
    illuminated_fraction: FloatArray
    downlink_rate_bps: FloatArray
    contact_s: FloatArray | None = None

    @classmethod
    def compute(cls, time: Time | int, r_itrf_m: npt.ArrayLike, v_itrf_m_s: npt.ArrayLike, *,
                downlink_rate_bps: npt.ArrayLike = 0.0, contact_s: npt.ArrayLike | None = None,
                sun_itrf: npt.ArrayLike | None = None, sun_distance_m: float | None = None,
                illuminated: npt.ArrayLike | None = None,
                shadow: Literal["conical", "cylindrical", "point"] = "conical") -> Environment:
        """Fill in the Sun and the shadow from :mod:`orbemu.orbits.sun` where not given.

        To save time per step the engine may compute the Sun for all its steps at once
        (``sun_direction(times, frame="ITRF")``) and pass ``sun_itrf`` and ``sun_distance_m``.
        """
        t = int(time)
        r = np.ascontiguousarray(r_itrf_m, dtype=np.float64)
        v = np.ascontiguousarray(v_itrf_m_s, dtype=np.float64)
        if r.ndim != 2 or r.shape[1] != 3 or v.shape != r.shape:
            raise UsageError(f"environment needs (n, 3) positions and velocities, got {r.shape} "
                             f"and {v.shape}")
        n = r.shape[0]
        if sun_itrf is None or sun_distance_m is None:
            unit, dist = sun_direction(Time(np.int64(t)), frame="ITRF")
            sun = np.asarray(unit, np.float64).reshape(3)
            dist_m = float(dist)
        else:
            sun = np.asarray(sun_itrf, np.float64).reshape(3)
            sun = sun / np.sqrt(sun @ sun)
            dist_m = float(sun_distance_m)
        if illuminated is None:
            lit = illuminated_fraction(r, sun * dist_m, model=shadow)
        else:
            lit = np.broadcast_to(np.asarray(illuminated, np.float64), (n,)).copy()
        rate = np.broadcast_to(np.asarray(downlink_rate_bps, np.float64), (n,)).copy()
        contact = (None if contact_s is None
                   else np.broadcast_to(np.asarray(contact_s, np.float64), (n,)).copy())
        return cls(time_ns=t, r_itrf_m=r, v_itrf_m_s=v, sun_itrf=sun, sun_distance_m=dist_m,
                   illuminated_fraction=lit, downlink_rate_bps=rate, contact_s=contact)


@dataclass(frozen=True, eq=False)
class Commands:
    """What the operators / flight software ask for this step, ``(n,)`` each.

    mode: int :class:`AttitudeMode` requested (``NADIR``, ``SUN``, ``TARGET``), −1 to keep.
    target: target row to point at in TARGET mode, −1 to let the satellite choose.
    capture: capture enabled.
    payload_on, compute_on, heater_on: loads switched on (payload and compute are forced off
        in safe mode).
    transmitter_on: transmitter on; None: on wherever ``env.downlink_rate_bps > 0``.
    compute_duty: fraction 0..1 of ``compute_w`` the payload computer draws where it is on
        (flight software's CPU duty); None: all of it.
    """

    mode: npt.NDArray[np.int64]
    target: npt.NDArray[np.int64]
    capture: BoolArray
    payload_on: BoolArray
    compute_on: BoolArray
    heater_on: BoolArray
    transmitter_on: BoolArray | None = None
    compute_duty: FloatArray | None = None

    @classmethod
    def default(cls, n_sats: int, *, mode: int | npt.ArrayLike = -1,
                target: int | npt.ArrayLike = -1, capture: bool | npt.ArrayLike = True,
                payload_on: bool | npt.ArrayLike = True, compute_on: bool | npt.ArrayLike = True,
                heater_on: bool | npt.ArrayLike = True,
                transmitter_on: bool | npt.ArrayLike | None = None) -> Commands:
        """Commands with scalars broadcast: by default keep modes, let satellites choose
        targets, everything on, transmitter on during contacts."""
        def ints(x: Any) -> npt.NDArray[np.int64]:
            return np.broadcast_to(np.asarray(x, np.int64), (n_sats,)).copy()

        def bools(x: Any) -> BoolArray:
            return np.broadcast_to(np.asarray(x, bool), (n_sats,)).copy()

        return cls(mode=ints(mode), target=ints(target), capture=bools(capture),
                   payload_on=bools(payload_on), compute_on=bools(compute_on),
                   heater_on=bools(heater_on),
                   transmitter_on=None if transmitter_on is None else bools(transmitter_on))


@dataclass(frozen=True, eq=False)
class StepRecord:
    """What happened in one step ``[time_ns, time_ns + dt)``, for the recorder.

    Events (``k`` rows each):
      capture_sat, capture_target, capture_bits — images taken at ``time_ns``;
      mode_changes — slews started (:class:`~orbemu.spacecraft.attitude.AttitudeChanges`);
      safe_entered, safe_exited — satellites entering / leaving safe mode at the step's end.
    Per satellite ``(n,)``:
      generated_w, load_w — powers held over the step; soc — state of charge at the end;
      unserved_wh, curtailed_wh — energy the battery could not supply / absorb;
      used_bits — storage at the end; downlinked_bits, dropped_bits — this step's flows;
      illuminated_fraction, array_cosine — the inputs of generation.
    """

    time_ns: int
    dt_s: float
    capture_sat: IntArray
    capture_target: IntArray
    capture_bits: FloatArray
    mode_changes: AttitudeChanges
    safe_entered: IntArray
    safe_exited: IntArray
    generated_w: FloatArray
    load_w: FloatArray
    soc: FloatArray
    unserved_wh: FloatArray
    curtailed_wh: FloatArray
    used_bits: FloatArray
    downlinked_bits: FloatArray
    dropped_bits: FloatArray
    illuminated_fraction: FloatArray
    array_cosine: FloatArray


def _check_env(env: Environment, n: int) -> None:
    if env.r_itrf_m.shape != (n, 3) or env.v_itrf_m_s.shape != (n, 3):
        raise UsageError(f"environment has states {env.r_itrf_m.shape} for {n} satellites")
    for name in ("illuminated_fraction", "downlink_rate_bps"):
        if np.shape(getattr(env, name)) != (n,):
            raise UsageError(f"environment.{name} must have shape ({n},), got "
                             f"{np.shape(getattr(env, name))}")


def step_fleet(state: FleetState, params: FleetParams, env: Environment, dt_s: float,
               commands: Commands | None = None, *,
               method: Literal["fast", "reference"] = "fast") -> tuple[FleetState, StepRecord]:
    """Advance every model of every satellite over ``[env.time_ns, env.time_ns + dt_s)``.

    ``state.time_ns`` must equal ``env.time_ns``; the new state is at ``time_ns + dt``
    (``dt`` rounded to whole nanoseconds). ``commands`` default to :meth:`Commands.default`.
    Deterministic and pure: inputs are not modified. See the module docstring for the order.
    ``method="reference"`` runs the numpy references of the compiled kernels (tests).
    """
    att_method: Literal["numba", "reference"] = "numba" if method == "fast" else "reference"
    img_method: Literal["grid", "reference"] = "grid" if method == "fast" else "reference"
    n = params.n_sats
    t = int(env.time_ns)
    if t != state.time_ns:
        raise UsageError(f"environment is at {t} ns but the fleet state at {state.time_ns} ns")
    if not dt_s >= 0:
        raise UsageError(f"dt_s must be >= 0, got {dt_s}")
    _check_env(env, n)
    cmd = commands if commands is not None else Commands.default(n)
    if np.any(cmd.mode >= _SAFE):
        raise UsageError("commands.mode may be -1, NADIR, SUN or TARGET; safe mode is entered "
                         "by the power model or force_safe_mode()")
    alive = state.alive
    safe = state.power.safe_mode
    att = state.attitude
    geom = attitude_geometry(env.r_itrf_m, env.v_itrf_m_s, env.sun_itrf, params.attitude,
                             params.targets.itrf_m)

    # 1. attitude requests: safe mode first, then the commands.
    in_safe_att = att.mode == _SAFE
    req = np.where(safe, np.where(in_safe_att, -1, _SAFE),
                   np.where(in_safe_att, params.attitude.default_mode, cmd.mode)).astype(np.int64)
    req_target = np.where(req == _TARGET, cmd.target, -1)
    # A satellite already in TARGET mode and asked for TARGET with no target keeps its own.
    keep_own = (req == _TARGET) & (att.mode == _TARGET) & (cmd.target < 0)
    req = np.where(keep_own | ~alive, -1, req)
    att, changes_1 = request_modes(att, params.attitude, geom, t, req, req_target,
                                   method=att_method)

    # 2. imager.
    bits_per_image = params.imager.bits_per_image
    valid = np.isfinite(env.r_itrf_m).all(axis=1)
    active = (alive & valid & params.imager.has_imager & cmd.payload_on & cmd.capture & ~safe
              & has_room(state.storage, params.storage, bits_per_image))
    imager_state, decision = select_captures(
        state.imager, params.imager, params.targets, env.r_itrf_m, env.sun_itrf, t,
        mode=att.mode, pointed=att.target, settled=~att.slewing(t), active=active,
        commanded_target=np.where(att.mode == _TARGET, cmd.target, -1), method=img_method)
    retarget = (att.mode == _TARGET) & (decision.want_target != att.target) & alive
    if retarget.any():
        att, changes_2 = request_modes(att, params.attitude, geom, t,
                                       np.where(retarget, _TARGET, -1), decision.want_target,
                                       method=att_method)
        changes = AttitudeChanges.concat([changes_1, changes_2])
    else:
        changes = changes_1
    captured = decision.capture >= 0
    produced = np.where(captured, bits_per_image, 0.0)

    # 3. storage.
    rate = np.fmax(env.downlink_rate_bps, 0.0)  # NaN or negative: no downlink
    tx_on = (rate > 0) if cmd.transmitter_on is None else cmd.transmitter_on
    tx_on = tx_on & alive
    contact = (np.where(rate > 0, dt_s, 0.0) if env.contact_s is None
               else np.clip(env.contact_s, 0.0, dt_s))
    downlink_cap = np.where(tx_on, rate * contact, 0.0)
    hk_scale = alive.astype(np.float64)
    storage_params = (params.storage if alive.all() else
                      replace(params.storage,
                              housekeeping_rate_bps=params.storage.housekeeping_rate_bps
                              * hk_scale))
    storage, flows = step_storage(state.storage, storage_params, produced, downlink_cap, dt_s)

    # 4. power.
    cosine = array_cosine(att, geom, t, method=att_method)
    lit = np.minimum(np.fmax(env.illuminated_fraction, 0.0), 1.0)  # NaN: no sunlight
    gen = solar_power_w(params.power, lit, cosine, env.sun_distance_m) * alive
    dt_ns = round(dt_s * NS_PER_S)
    # The wheels draw slew_w for the part of the step the slew (and settling) lasts.
    slew_fraction = (np.clip((att.slew_end_ns - t) / dt_ns, 0.0, 1.0) if dt_ns > 0
                     else att.slewing(t).astype(np.float64))
    compute: BoolArray | FloatArray = cmd.compute_on & ~safe
    if cmd.compute_duty is not None:
        compute = compute * np.clip(cmd.compute_duty, 0.0, 1.0)
    loads = Loads(payload=cmd.payload_on & ~safe & params.imager.has_imager,
                  transmitter=tx_on, heater=cmd.heater_on, compute=compute,
                  slewing=slew_fraction)
    load = _power.load_w(params.power, loads) * alive
    power, pstep = step_power(state.power, params.power, gen, load, dt_s, t + dt_ns)

    new_state = FleetState(time_ns=t + dt_ns, power=power, storage=storage, attitude=att,
                           imager=imager_state, alive=alive)
    cap_sat = np.flatnonzero(captured)
    record = StepRecord(
        time_ns=t, dt_s=dt_s, capture_sat=cap_sat, capture_target=decision.capture[cap_sat],
        capture_bits=bits_per_image[cap_sat], mode_changes=changes,
        safe_entered=np.flatnonzero(pstep.safe_entered),
        safe_exited=np.flatnonzero(pstep.safe_exited),
        generated_w=gen, load_w=load, soc=_power.soc(power, params.power),
        unserved_wh=pstep.unserved_wh, curtailed_wh=pstep.curtailed_wh,
        used_bits=storage.used_bits, downlinked_bits=flows.downlinked_bits,
        dropped_bits=flows.dropped_bits, illuminated_fraction=lit, array_cosine=cosine)
    return new_state, record


# ---- fault hooks (the engine's fault injector calls these between steps) -----------------------


def force_safe_mode(state: FleetState, sats: npt.ArrayLike, until_ns: int | npt.ArrayLike
                    ) -> FleetState:
    """Safe mode for ``sats`` (an upset, a reboot), held at least until ``until_ns``."""
    return replace(state, power=_power.force_safe_mode(state.power, sats, until_ns))


def degrade_battery(state: FleetState, params: FleetParams, sats: npt.ArrayLike,
                    factor: npt.ArrayLike) -> FleetState:
    """Multiply the battery capacity of ``sats`` by ``factor`` (0..1); excess charge is lost."""
    power, _ = _power.degrade_battery(state.power, sats, factor, params.power)
    return replace(state, power=power)


def set_alive(state: FleetState, sats: npt.ArrayLike, alive: bool) -> FleetState:
    """Mark ``sats`` lost (``alive=False``) or back (``True``)."""
    flags = state.alive.copy()
    flags[np.asarray(sats)] = alive
    return replace(state, alive=flags)



def release_storage(state: FleetState, sats: npt.ArrayLike, bits: npt.ArrayLike) -> FleetState:
    """Delete ``bits`` of stored data on ``sats`` (flight software discarding images); the
    stored volume does not go below zero."""
    used = state.storage.used_bits.copy()
    np.subtract.at(used, np.asarray(sats, np.int64), np.asarray(bits, np.float64))
    return replace(state, storage=replace(state.storage, used_bits=np.maximum(used, 0.0)))
