"""The fleet step: determinism, checkpoints, lost satellites, commands, bounds (hypothesis)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orbemu.constants import EARTH_RADIUS_M
from orbemu.errors import UsageError
from orbemu.spacecraft import (
    AttitudeMode,
    Commands,
    Environment,
    FleetParams,
    FleetState,
    SpacecraftClass,
    Targets,
    degrade_battery,
    force_safe_mode,
    set_alive,
    spacecraft_class,
    step_fleet,
)
from tests.spacecraft.conftest import IRIDIUM_STEP_S

T0 = 1_780_000_000 * 10**9


def mixed_params(n: int, targets: Targets) -> FleetParams:
    eo = SpacecraftClass(name="eo")
    agile = spacecraft_class("agile", {"attitude": {"default_mode": "target"},
                                       "battery": {"capacity_wh": 40.0, "initial_soc": 0.5}})
    relay = spacecraft_class("relay", {"imager": None, "solar_array": {"normal": "orbit_normal"}})
    return FleetParams.from_classes([eo, agile, relay], np.arange(n) % 3, targets=targets)


def run(params: FleetParams, track, steps: int, start: FleetState | None = None,  # type: ignore[no-untyped-def]
        first: int = 0) -> tuple[FleetState, list]:  # type: ignore[type-arg]
    n = params.n_sats
    state = start if start is not None else FleetState.initial(params, track.times[first])
    recs = []
    for k in range(first, first + steps):
        rate = np.where((np.arange(n) + k) % 7 == 0, 50e6, 0.0)
        state, rec = step_fleet(state, params, track.env(k, downlink_rate_bps=rate),
                                IRIDIUM_STEP_S, Commands.default(n))
        recs.append(rec)
    return state, recs


def same_records(a: list, b: list) -> None:  # type: ignore[type-arg]
    for ra, rb in zip(a, b, strict=True):
        for name in ("capture_sat", "capture_target", "capture_bits", "safe_entered",
                     "safe_exited", "generated_w", "load_w", "soc", "used_bits",
                     "downlinked_bits", "dropped_bits", "array_cosine"):
            assert np.array_equal(getattr(ra, name), getattr(rb, name)), name
        assert np.array_equal(ra.mode_changes.end_ns, rb.mode_changes.end_ns)


def test_deterministic(iridium_track, cities) -> None:  # type: ignore[no-untyped-def]
    params = mixed_params(iridium_track.r.shape[0], cities)
    s1, r1 = run(params, iridium_track, 120)
    s2, r2 = run(mixed_params(iridium_track.r.shape[0], cities), iridium_track, 120)
    same_records(r1, r2)
    a, b = s1.to_arrays(), s2.to_arrays()
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    assert sum(len(r.capture_sat) for r in r1) > 0


def test_checkpoint_resume_is_identical(iridium_track, cities, tmp_path) -> None:  # type: ignore[no-untyped-def]
    params = mixed_params(iridium_track.r.shape[0], cities)
    full, recs = run(params, iridium_track, 100)
    half, _ = run(params, iridium_track, 50)
    np.savez(tmp_path / "ckpt.npz", **half.to_arrays())
    with np.load(tmp_path / "ckpt.npz") as z:
        restored = FleetState.from_arrays(dict(z))
    resumed, recs2 = run(params, iridium_track, 50, start=restored, first=50)
    same_records(recs[50:], recs2)
    assert resumed.time_ns == full.time_ns


def test_lost_satellites_do_nothing(iridium_track, cities) -> None:  # type: ignore[no-untyped-def]
    n = iridium_track.r.shape[0]
    params = mixed_params(n, cities)
    state = set_alive(FleetState.initial(params, iridium_track.times[0]), [0, 1], False)
    end, recs = run(params, iridium_track, 60, start=state)
    assert all(0 not in r.capture_sat and 1 not in r.capture_sat for r in recs)
    assert all(r.load_w[0] == 0 and r.generated_w[1] == 0 for r in recs)
    assert end.power.charge_wh[0] == state.power.charge_wh[0]
    assert end.storage.used_bits[0] == 0.0


def test_faults_between_steps(iridium_track, cities) -> None:  # type: ignore[no-untyped-def]
    n = iridium_track.r.shape[0]
    params = mixed_params(n, cities)
    state = FleetState.initial(params, iridium_track.times[0])
    state = force_safe_mode(state, [3], int(iridium_track.times[20]))
    state = degrade_battery(state, params, [4], 0.5)
    end, recs = run(params, iridium_track, 40, start=state)
    assert recs[0].mode_changes.sat.tolist().count(3) == 1
    assert all(3 not in r.capture_sat for r in recs[:20])
    assert end.power.capacity_factor[4] == 0.5
    assert any(3 in r.safe_exited for r in recs[19:])


def test_commanded_modes_and_targets() -> None:
    targets = Targets.from_arrays(["a", "b"], [0.5, -0.5], [0.0, 0.0], revisit_s=0.0)
    params = FleetParams.from_classes(SpacecraftClass(), 2, targets=targets)
    r = np.array([[EARTH_RADIUS_M + 500e3, 0, 0]] * 2)
    v = np.array([[0.0, 7600.0, 0.0]] * 2)
    state = FleetState.initial(params, T0)
    env = Environment.compute(T0, r, v, sun_itrf=[1.0, 0, 0], sun_distance_m=1.5e11,
                              illuminated=1.0)
    cmd = Commands.default(2, mode=[AttitudeMode.TARGET, AttitudeMode.SUN], target=[1, -1])
    state, rec = step_fleet(state, params, env, 1.0, cmd)
    assert state.attitude.mode.tolist() == [AttitudeMode.TARGET, AttitudeMode.SUN]
    assert state.attitude.target.tolist() == [1, -1]
    assert rec.mode_changes.sat.tolist() == [0, 1]
    with pytest.raises(UsageError):
        step_fleet(state, params, env, 1.0, cmd)  # env is at T0, the state at T0 + 1 s
    bad = Commands.default(2, mode=AttitudeMode.SAFE)
    env1 = Environment.compute(state.time_ns, r, v, sun_itrf=[1.0, 0, 0], sun_distance_m=1.5e11,
                               illuminated=1.0)
    with pytest.raises(UsageError):
        step_fleet(state, params, env1, 1.0, bad)


# ---- property test: random classes, geometry and commands keep every state in bounds -----------

fractions = st.floats(0.0, 1.0)


@st.composite
def scenarios(draw):  # type: ignore[no-untyped-def]
    n = draw(st.integers(1, 6))
    m = draw(st.integers(0, 8))
    lo = draw(st.floats(0.0, 0.3))
    enter = lo + draw(st.floats(0.01, 0.2))
    leave = enter + draw(st.floats(0.01, 0.3))
    top = min(1.0, leave + draw(st.floats(0.0, 0.3)))
    cls = spacecraft_class("p", {
        "battery": {"capacity_wh": draw(st.floats(0.5, 500.0)), "min_soc": lo,
                    "safe_enter_soc": enter, "safe_exit_soc": leave, "max_soc": top,
                    "initial_soc": draw(st.floats(lo, top)),
                    "charge_efficiency": draw(st.floats(0.5, 1.0)),
                    "discharge_efficiency": draw(st.floats(0.5, 1.0))},
        "storage": {"capacity_bits": draw(st.floats(0.0, 1e10)),
                    "housekeeping_rate_bps": draw(st.floats(0.0, 1e6))},
        "attitude": {"default_mode": draw(st.sampled_from(["nadir", "sun", "target"])),
                     "slew_rate_deg_s": draw(st.floats(0.1, 10.0)),
                     "settle_s": draw(st.floats(0.0, 30.0))},
        "imager": {"swath_half_angle_deg": draw(st.floats(0.0, 60.0)),
                   "max_off_nadir_deg": draw(st.floats(0.0, 70.0)),
                   "min_elevation_deg": draw(st.floats(0.0, 60.0)),
                   "min_sun_elevation_deg": draw(st.floats(-90.0, 30.0)),
                   "pixels_across": draw(st.integers(1, 20000))},
    })
    seed = draw(st.integers(0, 2**32 - 1))
    steps = draw(st.integers(1, 8))
    dt = draw(st.sampled_from([0.5, 1.0, 10.0, 60.0, 900.0]))
    return n, m, cls, seed, steps, dt


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_state_stays_in_bounds(case) -> None:  # type: ignore[no-untyped-def]
    n, m, cls, seed, steps, dt = case
    rng = np.random.default_rng(seed)
    lat = np.degrees(np.arcsin(rng.uniform(-1, 1, m)))
    targets = Targets.from_arrays([str(i) for i in range(m)], lat, rng.uniform(-180, 180, m),
                                  priority=rng.integers(0, 3, m), revisit_s=rng.uniform(0, 60, m))
    params = FleetParams.from_classes(cls, n, targets=targets)
    state = FleetState.initial(params, T0)
    cap = params.power.capacity_wh
    for _ in range(steps):
        u = rng.normal(size=(n, 3))
        u /= np.linalg.norm(u, axis=1)[:, None]
        r = u * (EARTH_RADIUS_M + rng.uniform(200e3, 2000e3, (n, 1)))
        v = np.cross(u, rng.normal(size=3)) * 7e3
        r[rng.random(n) < 0.1] = np.nan
        lit = np.where(rng.random(n) < 0.1, np.nan, rng.uniform(0, 1, n))
        env = Environment.compute(state.time_ns, r, v, sun_itrf=rng.normal(size=3),
                                  sun_distance_m=1.5e11, illuminated=lit,
                                  downlink_rate_bps=rng.choice([0.0, 1e3, 1e9], n))
        cmd = Commands.default(n, mode=rng.integers(-1, 3, n), target=rng.integers(-1, m, n)
                               if m else -1, capture=rng.random(n) < 0.8,
                               payload_on=rng.random(n) < 0.8, heater_on=rng.random(n) < 0.5)
        if rng.random() < 0.2:
            state = force_safe_mode(state, [0], state.time_ns + 10**9)
        was_safe = state.power.safe_mode.copy()
        before = state.time_ns
        state, rec = step_fleet(state, params, env, dt, cmd)
        assert state.time_ns == before + round(dt * 1e9)
        usable = cap * state.power.capacity_factor
        eps = 1e-9 * usable
        assert np.all(state.power.charge_wh >= params.power.min_soc * usable - eps)
        assert np.all(state.power.charge_wh <= params.power.max_soc * usable + eps)
        assert np.all((rec.soc >= 0) & (rec.soc <= 1 + 1e-12))
        assert np.all(state.storage.used_bits >= 0)
        assert np.all(state.storage.used_bits <= params.storage.capacity_bits)
        assert np.all(np.isfinite(rec.generated_w) & (rec.generated_w >= 0))
        assert np.all((rec.array_cosine >= 0) & (rec.array_cosine <= 1))
        assert set(state.attitude.mode.tolist()) <= {0, 1, 2, 3}
        assert np.all((state.attitude.target >= -1) & (state.attitude.target < max(m, 1)))
        assert len(set(rec.capture_sat.tolist())) == len(rec.capture_sat)
        for i in rec.capture_sat:
            assert cmd.capture[i] and cmd.payload_on[i] and not was_safe[i]
            assert np.isfinite(r[i]).all()
        assert np.all(state.attitude.mode[state.power.safe_mode & was_safe]
                      == AttitudeMode.SAFE)


def test_release_storage_deletes_bits_and_stops_at_empty():
    from orbemu.spacecraft.fleet import release_storage
    from orbemu.spacecraft.storage import StorageState

    params = FleetParams.from_classes(SpacecraftClass(), 3)
    state = FleetState.initial(params, 0)
    state = replace(state, storage=StorageState.initial(params.storage, [1e9, 2e9, 0.0]))
    out = release_storage(state, [0, 1, 1, 2], [4e8, 5e8, 5e8, 1.0])
    assert out.storage.used_bits.tolist() == [6e8, 1e9, 0.0]
    assert state.storage.used_bits.tolist() == [1e9, 2e9, 0.0]  # pure
