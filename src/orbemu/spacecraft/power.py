"""Electrical power: solar arrays, battery state of charge, loads and safe mode.

Generation
----------
``generated_w = S₀ (1 au / d)² × area_m2 × efficiency × degradation × max(0, cos α) × f``

- ``S₀`` = :data:`~orbemu.constants.SOLAR_IRRADIANCE_W_M2` (1361 W/m², IAU 2015 B3), ``d`` the
  Sun's distance;
- ``α`` the angle between the array normal and the Sun, from the attitude mode
  (:func:`orbemu.spacecraft.attitude.array_cosine`: 1 in Sun pointing, the body-fixed normal in
  nadir mode, the normal turned with the boresight in target mode, the worse end while slewing;
  a single-axis tracking wing gives ``sin`` of the Sun's angle from its drive axis);
- ``f`` the visible fraction of the solar disk (:func:`orbemu.orbits.sun.illuminated_fraction`,
  conical shadow: 0 in umbra, partial in penumbra). Earth albedo and infrared are neglected.

Battery (per step of ``dt`` seconds, powers held constant over the step)
------------------------------------------------------------------------
With ``net = generated_w − load_w``: a surplus charges the battery at ``charge_efficiency``
(stored = net·dt·η_c), a deficit discharges it at ``discharge_efficiency`` (taken = |net|·dt/η_d).
The stored energy is kept in ``[min_soc, max_soc] × capacity_wh × capacity_factor``; what does not
fit is *curtailed* (surplus generation shunted) and what cannot be supplied below ``min_soc`` is
*unserved* (a brown-out of the loads). Both are reported per step (bus-side watt-hours), so

- surplus: ``Δcharge_wh = η_c (generated − load − curtailed)``
- deficit: ``Δcharge_wh = (generated − load + unserved) / η_d``

hold to rounding. ``capacity_factor`` (1 = new) is the battery's health: a fault lowers it with
:func:`degrade_battery` and the charge above the new ceiling is lost.

Safe mode (hysteresis)
----------------------
After the update, a satellite enters safe mode when its state of charge is below
``safe_enter_soc`` and leaves it when the state of charge is at least ``safe_exit_soc`` and any
hold set by :func:`force_safe_mode` (a fault, a reboot) has expired. Safe mode takes effect from
the next step: the fleet step then switches the payload and payload computer off, stops capture
and points the solar array at the Sun (attitude ``SAFE``). Heaters, the bus and the transmitter
(for contacts) stay as commanded.

Switching functions (value crossing zero = event)
-------------------------------------------------
- :func:`battery_margin_wh`: charge − safe_enter_soc·capacity: positive while healthy, crosses
  zero downward when the battery goes low (safe-mode entry).
- :func:`safe_exit_margin_wh`: charge − safe_exit_soc·capacity: crosses zero upward when safe
  mode may end.
- :func:`sunlit_margin_rad`: positive in sunlight, negative in shadow (eclipse entry = downward
  crossing), from :func:`orbemu.orbits.sun.shadow_function`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from orbemu.constants import AU_M, SOLAR_IRRADIANCE_W_M2
from orbemu.errors import UsageError
from orbemu.orbits.sun import ShadowModel, shadow_function
from orbemu.spacecraft.classes import SpacecraftClass, check_class_index, per_satellite

__all__ = [
    "Loads",
    "PowerParams",
    "PowerState",
    "PowerStep",
    "battery_margin_wh",
    "degrade_battery",
    "force_safe_mode",
    "load_w",
    "safe_exit_margin_wh",
    "soc",
    "solar_power_w",
    "step_power",
    "sunlit_margin_rad",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

_WH_PER_WS = 1.0 / 3600.0


@dataclass(frozen=True, eq=False)
class PowerParams:
    """Per-satellite power parameters, arrays of shape ``(n_sats,)`` (names as the classes')."""

    area_m2: FloatArray
    efficiency: FloatArray
    degradation: FloatArray
    capacity_wh: FloatArray
    charge_efficiency: FloatArray
    discharge_efficiency: FloatArray
    min_soc: FloatArray
    max_soc: FloatArray
    initial_soc: FloatArray
    safe_enter_soc: FloatArray
    safe_exit_soc: FloatArray
    bus_w: FloatArray
    payload_w: FloatArray
    transmitter_w: FloatArray
    heater_w: FloatArray
    compute_w: FloatArray
    slew_w: FloatArray

    @classmethod
    def from_classes(cls, classes: Sequence[SpacecraftClass],
                     class_index: npt.ArrayLike) -> PowerParams:
        idx = check_class_index(class_index, len(classes))

        def col(section: str, name: str) -> FloatArray:
            return per_satellite([getattr(getattr(c, section), name) for c in classes], idx)

        return cls(
            area_m2=col("solar_array", "area_m2"),
            efficiency=col("solar_array", "efficiency"),
            degradation=col("solar_array", "degradation"),
            **{name: col("battery", name) for name in (
                "capacity_wh", "charge_efficiency", "discharge_efficiency", "min_soc",
                "max_soc", "initial_soc", "safe_enter_soc", "safe_exit_soc")},
            **{name: col("loads", name) for name in (
                "bus_w", "payload_w", "transmitter_w", "heater_w", "compute_w", "slew_w")},
        )

    @property
    def n_sats(self) -> int:
        return int(self.capacity_wh.size)


@dataclass(frozen=True, eq=False)
class PowerState:
    """Battery and safe-mode state, arrays of shape ``(n_sats,)``.

    charge_wh: energy stored in the battery, Wh.
    capacity_factor: battery health, 1 = new (usable capacity = capacity_wh × this).
    safe_mode: True while in safe mode.
    safe_hold_until_ns: int64; safe mode cannot end before this instant (UTC ns).
    """

    charge_wh: FloatArray
    capacity_factor: FloatArray
    safe_mode: BoolArray
    safe_hold_until_ns: npt.NDArray[np.int64]

    @classmethod
    def initial(cls, params: PowerParams) -> PowerState:
        n = params.n_sats
        return cls(charge_wh=params.initial_soc * params.capacity_wh,
                   capacity_factor=np.ones(n), safe_mode=np.zeros(n, bool),
                   safe_hold_until_ns=np.full(n, np.iinfo(np.int64).min, np.int64))


@dataclass(frozen=True, eq=False)
class Loads:
    """Which loads are on during a step, ``(n_sats,)`` each (the bus is always on).

    payload, transmitter, heater: bool. compute: bool, or the fraction 0..1 of ``compute_w``
    drawn (flight software's CPU duty). slewing: fraction of the step (0..1) the reaction wheels
    spend slewing (a bool array works too).
    """

    payload: BoolArray
    transmitter: BoolArray
    heater: BoolArray
    compute: BoolArray | FloatArray
    slewing: BoolArray | FloatArray


@dataclass(frozen=True, eq=False)
class PowerStep:
    """What happened in one power step, ``(n_sats,)`` each (bus-side energies, Wh)."""

    generated_wh: FloatArray
    consumed_wh: FloatArray
    curtailed_wh: FloatArray
    unserved_wh: FloatArray
    safe_entered: BoolArray
    safe_exited: BoolArray


def solar_power_w(params: PowerParams, illuminated_fraction: npt.ArrayLike,
                  array_cosine: npt.ArrayLike, sun_distance_m: float | FloatArray
                  ) -> FloatArray:
    """``(n,)`` array output, watts (module docstring). NaN inputs give 0 (no valid state)."""
    flux = SOLAR_IRRADIANCE_W_M2 * (AU_M / np.asarray(sun_distance_m, np.float64)) ** 2
    # fmax turns NaN into 0: no valid state, no power.
    cosine = np.fmax(np.asarray(array_cosine, np.float64), 0.0)
    lit = np.minimum(np.fmax(np.asarray(illuminated_fraction, np.float64), 0.0), 1.0)
    return flux * params.area_m2 * params.efficiency * params.degradation * cosine * lit


def load_w(params: PowerParams, loads: Loads) -> FloatArray:
    """``(n,)`` total electrical load, watts."""
    return (params.bus_w + params.payload_w * loads.payload
            + params.transmitter_w * loads.transmitter + params.heater_w * loads.heater
            + params.compute_w * loads.compute + params.slew_w * loads.slewing)


def usable_capacity_wh(state: PowerState, params: PowerParams) -> FloatArray:
    return params.capacity_wh * state.capacity_factor


def soc(state: PowerState, params: PowerParams) -> FloatArray:
    """``(n,)`` state of charge, fraction of the usable capacity (0..1)."""
    cap = usable_capacity_wh(state, params)
    return np.divide(state.charge_wh, cap, out=np.zeros_like(cap), where=cap > 0)


def battery_margin_wh(state: PowerState, params: PowerParams) -> FloatArray:
    """Switching function: charge − safe_enter_soc × usable capacity (Wh); < 0 = battery low."""
    return state.charge_wh - params.safe_enter_soc * usable_capacity_wh(state, params)


def safe_exit_margin_wh(state: PowerState, params: PowerParams) -> FloatArray:
    """Switching function: charge − safe_exit_soc × usable capacity (Wh); ≥ 0 = may leave safe."""
    return state.charge_wh - params.safe_exit_soc * usable_capacity_wh(state, params)


def sunlit_margin_rad(r_itrf_m: npt.ArrayLike, sun_itrf: npt.ArrayLike,
                      sun_distance_m: float, model: ShadowModel = "penumbra") -> FloatArray:
    """Switching function of eclipse entry/exit, radians: > 0 sunlit, < 0 in the shadow.

    ``model="penumbra"`` crosses zero where the first of the solar disk is lost (where generation
    starts to fall); ``"umbra"`` where the last is; ``"point"`` at the Sun's centre (the usual
    eclipse of operations tools). ``r_itrf_m`` ``(n, 3)``; ``sun_itrf`` a unit vector.
    """
    sun = np.asarray(sun_itrf, np.float64) * sun_distance_m
    return shadow_function(np.asarray(r_itrf_m, np.float64), sun, model)


def step_power(state: PowerState, params: PowerParams, generated_w: npt.ArrayLike,
               load_w: npt.ArrayLike, dt_s: float, t_end_ns: int
               ) -> tuple[PowerState, PowerStep]:
    """Advance the battery over ``dt_s`` seconds with constant powers; update safe mode.

    ``generated_w``, ``load_w``: ``(n,)`` watts. ``t_end_ns``: the instant the step ends (for
    safe-mode holds). Returns the new state and the step's energy flows (module docstring).
    """
    if not dt_s >= 0:
        raise UsageError(f"dt_s must be >= 0, got {dt_s}")
    gen_wh = np.asarray(generated_w, np.float64) * (dt_s * _WH_PER_WS)
    load_wh = np.asarray(load_w, np.float64) * (dt_s * _WH_PER_WS)
    net = gen_wh - load_wh
    surplus = net >= 0
    delta = np.where(surplus, net * params.charge_efficiency, net / params.discharge_efficiency)
    cap = usable_capacity_wh(state, params)
    e_max = params.max_soc * cap
    e_min = params.min_soc * cap
    raw = state.charge_wh + delta
    charge = np.minimum(np.maximum(raw, e_min), e_max)
    curtailed = np.maximum(raw - e_max, 0.0) / params.charge_efficiency
    unserved = np.maximum(e_min - raw, 0.0) * params.discharge_efficiency
    # Thresholds compared in energy (no division by a capacity that a fault may have zeroed).
    enter = ~state.safe_mode & (charge < params.safe_enter_soc * cap)
    leave = state.safe_mode & (charge >= params.safe_exit_soc * cap) & (
        state.safe_hold_until_ns <= t_end_ns)
    safe = (state.safe_mode | enter) & ~leave
    new = PowerState(charge_wh=charge, capacity_factor=state.capacity_factor, safe_mode=safe,
                     safe_hold_until_ns=state.safe_hold_until_ns)
    return new, PowerStep(generated_wh=gen_wh, consumed_wh=load_wh, curtailed_wh=curtailed,
                          unserved_wh=unserved, safe_entered=enter, safe_exited=leave)


def degrade_battery(state: PowerState, sats: npt.ArrayLike, factor: npt.ArrayLike,
                    params: PowerParams) -> tuple[PowerState, FloatArray]:
    """Multiply the battery health of satellites ``sats`` by ``factor`` (0..1).

    Charge above the new ``max_soc`` ceiling is lost. Returns the new state and the ``(n,)``
    energy lost, Wh.
    """
    f = np.asarray(factor, np.float64)
    if np.any((f < 0) | (f > 1)):
        raise UsageError(f"battery degradation factor must be in [0, 1], got {factor!r}")
    health = state.capacity_factor.copy()
    idx = np.asarray(sats)
    health[idx] = health[idx] * f
    ceiling = params.max_soc * params.capacity_wh * health
    charge = np.minimum(state.charge_wh, ceiling)
    return replace(state, capacity_factor=health, charge_wh=charge), state.charge_wh - charge


def force_safe_mode(state: PowerState, sats: npt.ArrayLike, until_ns: int | npt.ArrayLike
                    ) -> PowerState:
    """Put ``sats`` in safe mode (a fault, a reboot, a ground command) held until ``until_ns``.

    Safe mode then ends at the first step end at or after ``until_ns`` whose state of charge is
    at least ``safe_exit_soc``.
    """
    safe = state.safe_mode.copy()
    hold = state.safe_hold_until_ns.copy()
    idx = np.asarray(sats)
    safe[idx] = True
    hold[idx] = np.maximum(hold[idx], np.asarray(until_ns, np.int64))
    return replace(state, safe_mode=safe, safe_hold_until_ns=hold)
