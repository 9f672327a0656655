"""Power: generation (cos law, shadow, 1/r²), battery energy balance, clamps, safe mode."""

from __future__ import annotations

import math

import numpy as np
import pytest

from orbemu.constants import AU_M, DEG, SOLAR_IRRADIANCE_W_M2
from orbemu.errors import UsageError
from orbemu.spacecraft import (
    AttitudeMode,
    Commands,
    Environment,
    FleetParams,
    FleetState,
    SpacecraftClass,
    spacecraft_class,
    step_fleet,
)
from orbemu.spacecraft.attitude import (
    AttitudeState,
    array_cosine,
    attitude_geometry,
    slew_angle_rad,
)
from orbemu.spacecraft.power import (
    PowerParams,
    PowerState,
    battery_margin_wh,
    degrade_battery,
    force_safe_mode,
    safe_exit_margin_wh,
    soc,
    solar_power_w,
    step_power,
    sunlit_margin_rad,
)
from tests.spacecraft.conftest import circular_state

#: Energies are compared to a micro-watt-hour.
ONE_UWH = 1e-6
T0 = 1_780_000_000 * 10**9


def params_for(n: int, **battery: float) -> PowerParams:
    cls = spacecraft_class("c", {"battery": battery} if battery else {})
    return PowerParams.from_classes([cls], np.zeros(n, np.intp))


def test_irradiance_area_efficiency_and_inverse_square() -> None:
    p = params_for(3)
    gen = solar_power_w(p, [1.0, 1.0, 0.5], [1.0, 0.5, 1.0], AU_M)
    full = SOLAR_IRRADIANCE_W_M2 * 0.6 * 0.295 * 0.9  # the default class
    np.testing.assert_allclose(gen, [full, full / 2, full / 2], rtol=1e-12)
    # 1/r²: at perihelion (0.983 au) about 3.5 % more.
    at_peri = solar_power_w(p, 1.0, 1.0, 0.983 * AU_M)
    np.testing.assert_allclose(at_peri, full / 0.983**2, rtol=1e-12)


def test_cos_law_with_a_zenith_array_in_nadir_mode() -> None:
    """Zenith-facing array over (0°, 0°): the cosine is that of the Sun's angle from zenith."""
    angles = np.radians([0.0, 30.0, 60.0, 89.0, 91.0, 120.0, 180.0])
    n = angles.size
    r, v = circular_state(n=n)
    cls = SpacecraftClass()
    fp = FleetParams.from_classes(cls, n)
    state = AttitudeState.initial(fp.attitude, T0)
    got = np.empty(n)
    for i, a in enumerate(angles):
        sun = np.array([math.cos(a), math.sin(a), 0.0])
        geom = attitude_geometry(r, v, sun, fp.attitude)
        got[i] = array_cosine(state, geom, T0)[i]
    np.testing.assert_allclose(got, np.maximum(np.cos(angles), 0.0), atol=1e-12)


def test_tracking_wing_follows_the_beta_angle() -> None:
    """A wing turning about the orbit normal sees cos β (β: Sun above the orbit plane) wherever
    the Sun is along the orbit; Sun pointing turns the body by β."""
    r, v = circular_state(n=1)
    cls = spacecraft_class("w", {"solar_array": {"tracking_axis": "orbit_normal"}})
    fp = FleetParams.from_classes(cls, 1)
    state = AttitudeState.initial(fp.attitude, T0)
    for beta in (0.0, 20.0, 60.0, 90.0):
        for along in (0.0, 45.0, 170.0):
            b, a = beta * DEG, along * DEG
            sun = np.array([math.cos(b) * math.cos(a), math.cos(b) * math.sin(a), math.sin(b)])
            geom = attitude_geometry(r, v, sun, fp.attitude)
            c = array_cosine(state, geom, T0)[0]
            assert c == pytest.approx(math.cos(b), abs=1e-12)
            assert c == pytest.approx(array_cosine(state, geom, T0, method="reference")[0],
                                      abs=1e-12)
            angle = slew_angle_rad(geom, [0], [0], [-1], [AttitudeMode.SUN], [-1])[0]
            assert angle == pytest.approx(b, abs=1e-7)


def test_sun_pointing_maximises_power(iridium_track) -> None:  # type: ignore[no-untyped-def]
    """On real geometry, no mode gives a larger array cosine than SUN pointing (= 1)."""
    tr = iridium_track
    n = tr.r.shape[0]
    for array in ({"normal": "zenith"}, {"normal": "orbit_normal"}, {"normal": "velocity"},
                  {"tracking_axis": "orbit_normal"}):
        cls = spacecraft_class("c", {"solar_array": array})
        fp = FleetParams.from_classes(cls, n)
        for k in (0, 100, 200):
            geom = attitude_geometry(tr.r[:, k], tr.v[:, k], tr.sun[k], fp.attitude,
                                     np.zeros((0, 3)))
            base = AttitudeState.initial(fp.attitude, T0)
            nadir = array_cosine(base, geom, T0)
            sun_state = AttitudeState(np.full(n, AttitudeMode.SUN, np.int8), base.target,
                                      base.prev_mode, base.prev_target, base.slew_end_ns)
            sun = array_cosine(sun_state, geom, T0)
            assert np.all(sun == 1.0)
            assert np.all(nadir <= sun)
            assert np.all(nadir >= 0.0)


def test_environment_fills_in_the_sun_and_the_shadow(iridium_track) -> None:  # type: ignore[no-untyped-def]
    """Environment.compute without a Sun: the orbits layer's Sun and conical shadow; the eclipse
    switching function agrees in sign with the illuminated fraction."""
    tr = iridium_track
    k = 40
    env = Environment.compute(tr.times[k], tr.r[:, k], tr.v[:, k])
    np.testing.assert_allclose(env.sun_itrf, tr.sun[k], atol=1e-15)
    assert env.sun_distance_m == pytest.approx(tr.sun_distance_m[k])
    np.testing.assert_allclose(env.illuminated_fraction, tr.lit[:, k], atol=1e-12)
    margin = sunlit_margin_rad(env.r_itrf_m, env.sun_itrf, env.sun_distance_m, "penumbra")
    umbra = sunlit_margin_rad(env.r_itrf_m, env.sun_itrf, env.sun_distance_m, "umbra")
    ok = np.isfinite(margin)
    assert np.all((env.illuminated_fraction[ok] == 1.0) == (margin[ok] > 0))
    assert np.all((env.illuminated_fraction[ok] == 0.0) == (umbra[ok] < 0))
    assert (margin[ok] < 0).any() and (margin[ok] > 0).any()


def test_no_generation_in_umbra(iridium_track) -> None:  # type: ignore[no-untyped-def]
    tr = iridium_track
    n = tr.r.shape[0]
    fp = FleetParams.from_classes(SpacecraftClass(), n)
    state = FleetState.initial(fp, tr.times[0])
    umbra_seen = lit_seen = 0
    for k in range(0, 60):
        env = tr.env(k)
        state, rec = step_fleet(state, fp, env, 30.0, Commands.default(n))
        umbra = tr.lit[:, k] == 0.0
        assert np.all(rec.generated_w[umbra] == 0.0)
        umbra_seen += int(umbra.sum())
        sunlit = (tr.lit[:, k] == 1.0) & (rec.array_cosine > 0.1)
        assert np.all(rec.generated_w[sunlit] > 0.0)
        lit_seen += int(sunlit.sum())
    assert umbra_seen > 100 and lit_seen > 100  # the window has both


@pytest.mark.parametrize("seed", range(5))
def test_energy_balance(seed: int) -> None:
    """Δcharge = η_c (gen − load − curtailed) on a surplus, (gen − load + unserved)/η_d else."""
    rng = np.random.default_rng(seed)
    n = 500
    p = params_for(n, charge_efficiency=0.93, discharge_efficiency=0.9)
    s0 = PowerState(charge_wh=rng.uniform(0.2, 1.0, n) * p.capacity_wh, capacity_factor=np.ones(n),
                    safe_mode=np.zeros(n, bool), safe_hold_until_ns=np.zeros(n, np.int64))
    gen = rng.uniform(0, 300, n)
    load = rng.uniform(0, 300, n)
    dt = float(rng.choice([1.0, 10.0, 600.0, 3600.0]))
    s1, step = step_power(s0, p, gen, load, dt, T0)
    gen_wh, load_wh = gen * dt / 3600, load * dt / 3600
    np.testing.assert_allclose(step.generated_wh, gen_wh, rtol=1e-14)
    np.testing.assert_allclose(step.consumed_wh, load_wh, rtol=1e-14)
    delta = s1.charge_wh - s0.charge_wh
    surplus = gen >= load
    expect = np.where(surplus, 0.93 * (gen_wh - load_wh - step.curtailed_wh),
                      (gen_wh - load_wh + step.unserved_wh) / 0.9)
    np.testing.assert_allclose(delta, expect, rtol=0, atol=ONE_UWH)
    # Curtailment only at the ceiling, unserved load only at the floor.
    assert np.all(step.curtailed_wh[s1.charge_wh < p.max_soc * p.capacity_wh - ONE_UWH] == 0)
    assert np.all(step.unserved_wh[s1.charge_wh > p.min_soc * p.capacity_wh + ONE_UWH] == 0)
    assert (step.curtailed_wh > 0).any() or dt < 600
    assert np.all(step.curtailed_wh[~surplus] == 0) and np.all(step.unserved_wh[surplus] == 0)


def test_state_of_charge_clamps() -> None:
    p = params_for(2, min_soc=0.2, max_soc=0.95, initial_soc=0.5, safe_enter_soc=0.3,
                   safe_exit_soc=0.6)
    s = PowerState.initial(p)
    s, step = step_power(s, p, [1e4, 0.0], [0.0, 1e4], 3600.0, T0)
    np.testing.assert_allclose(soc(s, p), [0.95, 0.2], rtol=1e-15)
    assert step.curtailed_wh[0] > 0 and step.unserved_wh[1] > 0
    # Stays clamped.
    s, _ = step_power(s, p, [1e4, 0.0], [0.0, 1e4], 3600.0, T0)
    np.testing.assert_allclose(soc(s, p), [0.95, 0.2], rtol=1e-15)


def test_safe_mode_hysteresis() -> None:
    """Enter below safe_enter_soc, stay until safe_exit_soc, not before; margins cross zero."""
    p = params_for(1, capacity_wh=100.0, charge_efficiency=1.0, discharge_efficiency=1.0,
                   min_soc=0.1, max_soc=1.0, initial_soc=0.5, safe_enter_soc=0.3,
                   safe_exit_soc=0.6)
    s = PowerState.initial(p)
    history = []
    # Discharge 1 Wh per step for 30 steps, then charge 1 Wh per step for 40 steps.
    for k in range(70):
        gen, load = (0.0, 3600.0) if k < 30 else (3600.0, 0.0)
        margin_before = battery_margin_wh(s, p)[0]
        s, step = step_power(s, p, [gen], [load], 1.0, T0 + k)
        history.append((soc(s, p)[0], bool(s.safe_mode[0]), bool(step.safe_entered[0]),
                        bool(step.safe_exited[0]), margin_before))
    socs = np.array([h[0] for h in history])
    safe = np.array([h[1] for h in history])
    entered = [k for k, h in enumerate(history) if h[2]]
    exited = [k for k, h in enumerate(history) if h[3]]
    assert len(entered) == 1 and len(exited) == 1
    assert socs[entered[0]] < 0.3 <= socs[entered[0] - 1]
    assert socs[exited[0]] >= 0.6 > socs[exited[0] - 1]
    # In safe mode exactly between entry and exit, including the climb from 0.3 to 0.6.
    assert np.array_equal(safe, (np.arange(70) >= entered[0]) & (np.arange(70) < exited[0]))
    assert np.any(safe & (socs > 0.3) & (socs < 0.6))
    assert np.any(~safe & (socs > 0.3) & (socs < 0.6))
    # The switching function is negative exactly when the state of charge is below entry.
    s_low = PowerState(np.array([29.0]), np.ones(1), np.zeros(1, bool), np.zeros(1, np.int64))
    assert battery_margin_wh(s_low, p)[0] == pytest.approx(-1.0)
    assert safe_exit_margin_wh(s_low, p)[0] == pytest.approx(-31.0)


def test_forced_safe_mode_is_held_until_its_time() -> None:
    p = params_for(1)
    s = force_safe_mode(PowerState.initial(p), [0], T0 + 100)
    s, step = step_power(s, p, [0.0], [0.0], 1.0, T0 + 50)
    assert s.safe_mode[0] and not step.safe_exited[0]
    s, step = step_power(s, p, [0.0], [0.0], 1.0, T0 + 100)
    assert not s.safe_mode[0] and step.safe_exited[0]


def test_battery_degradation_caps_the_charge() -> None:
    p = params_for(2, initial_soc=1.0)
    s = PowerState.initial(p)
    s2, lost = degrade_battery(s, [1], 0.5, p)
    assert s2.capacity_factor.tolist() == [1.0, 0.5]
    np.testing.assert_allclose(s2.charge_wh, [p.capacity_wh[0], p.capacity_wh[1] * 0.5])
    np.testing.assert_allclose(lost, [0.0, p.capacity_wh[1] * 0.5])
    np.testing.assert_allclose(soc(s2, p), [1.0, 1.0])
    with pytest.raises(UsageError):
        degrade_battery(s, [0], 1.5, p)


def test_safe_mode_in_the_fleet_points_at_the_sun_and_sheds_the_payload() -> None:
    """A battery near its threshold in shadow: safe mode, SAFE attitude, payload and compute off."""
    cls = spacecraft_class("c", {"battery": {"capacity_wh": 10.0, "initial_soc": 0.36}})
    r, v = circular_state(n=1)
    fp = FleetParams.from_classes(cls, 1)
    state = FleetState.initial(fp, T0)
    sun = np.array([math.cos(60 * DEG), math.sin(60 * DEG), 0.0])
    dark = Environment.compute(T0, r, v, sun_itrf=sun, sun_distance_m=AU_M, illuminated=0.0)
    state, rec = step_fleet(state, fp, dark, 10.0)
    full_load = rec.load_w[0]
    assert len(rec.safe_entered) == 0 or rec.safe_entered.tolist() == [0]
    for _ in range(20):
        if state.power.safe_mode[0]:
            break
        env = Environment.compute(state.time_ns, r, v, sun_itrf=sun, sun_distance_m=AU_M,
                                  illuminated=0.0)
        state, rec = step_fleet(state, fp, env, 10.0)
    assert state.power.safe_mode[0]
    env = Environment.compute(state.time_ns, r, v, sun_itrf=sun, sun_distance_m=AU_M,
                              illuminated=1.0)
    state, rec = step_fleet(state, fp, env, 10.0)
    assert state.attitude.mode[0] == AttitudeMode.SAFE
    assert len(rec.mode_changes) == 1 and rec.mode_changes.to_mode[0] == AttitudeMode.SAFE
    c = cls.loads
    # Payload and compute off; a slew is under way the whole step (nadir → Sun: 60° at 1.5°/s
    # + 10 s settling = 50 s).
    assert rec.load_w[0] == pytest.approx(c.bus_w + c.heater_w + c.slew_w)
    assert full_load == pytest.approx(c.bus_w + c.payload_w + c.heater_w + c.compute_w)
    # The worse end of the slew: nadir attitude with the zenith array at 60° from the Sun.
    assert rec.array_cosine[0] == pytest.approx(0.5)
