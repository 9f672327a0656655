"""Attitude: minimal rotations, the nadir frame, slew durations, compiled == numpy."""

from __future__ import annotations

import math

import numpy as np
import pytest

from orbemu.constants import DEG, EARTH_ROTATION_RAD_S
from orbemu.spacecraft import AttitudeMode, FleetParams, SpacecraftClass, spacecraft_class
from orbemu.spacecraft.attitude import (
    AttitudeState,
    _frames,
    array_cosine,
    attitude_geometry,
    boresight,
    min_rotation,
    request_modes,
    rotate,
    slew_angle_rad,
)
from tests.spacecraft.conftest import circular_state

T0 = 1_780_000_000 * 10**9
NS = 10**9


def random_units(rng: np.random.Generator, n: int) -> np.ndarray:
    x = rng.normal(size=(n, 3))
    return x / np.linalg.norm(x, axis=1)[:, None]


def test_min_rotation_takes_a_onto_b_by_the_angle_between_them() -> None:
    rng = np.random.default_rng(1)
    a = random_units(rng, 1000)
    b = random_units(rng, 1000)
    b[:10] = -a[:10]  # opposite: a half turn
    b[10:20] = a[10:20]  # identical: no turn
    q = min_rotation(a, b)
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(rotate(q, a), b, atol=1e-9)
    angle = 2 * np.arccos(np.clip(np.abs(q[:, 0]), 0, 1))
    expect = np.arccos(np.clip(np.sum(a * b, axis=1), -1, 1))
    np.testing.assert_allclose(angle, expect, atol=1e-6)


def test_nadir_frame_follows_the_inertial_velocity(iridium_track) -> None:  # type: ignore[no-untyped-def]
    tr = iridium_track
    n = tr.r.shape[0]
    fp = FleetParams.from_classes(spacecraft_class("c", {"solar_array": {"normal": "velocity"}}),
                                  n)
    k = 10
    r, v = tr.r[:, k], tr.v[:, k]
    ok = np.isfinite(r).all(axis=1)
    geom = attitude_geometry(r, v, tr.sun[k], fp.attitude)
    nadir, along, _ = _frames(geom)
    np.testing.assert_allclose(nadir[ok], -r[ok] / np.linalg.norm(r[ok], axis=1)[:, None],
                               atol=1e-15)
    v_in = v + np.cross([0.0, 0.0, EARTH_ROTATION_RAD_S], r)
    v_hat = v_in / np.linalg.norm(v_in, axis=1)[:, None]
    # Near-circular orbits: +x within 0.3° of the inertial velocity, orthogonal to nadir.
    cosang = np.sum(along[ok] * v_hat[ok], axis=1)
    assert np.all(cosang > math.cos(0.3 * DEG))
    np.testing.assert_allclose(np.sum(along[ok] * nadir[ok], axis=1), 0.0, atol=1e-12)


def one_sat(**attitude: object) -> tuple[FleetParams, np.ndarray, np.ndarray]:
    cls = spacecraft_class("c", {"attitude": attitude} if attitude else {})
    r, v = circular_state(500e3)
    return FleetParams.from_classes(cls, 1), r, v


def test_slew_to_a_target_takes_off_nadir_angle_over_rate_plus_settle() -> None:
    fp, r, v = one_sat(slew_rate_deg_s=2.0, settle_s=5.0)
    # A target 200 km north of the sub-satellite point: off-nadir angle from plain geometry.
    lat = 200e3 / 6371e3
    tgt = np.array([[6371e3 * math.cos(lat), 0.0, 6371e3 * math.sin(lat)]])
    d = tgt[0] - r[0]
    off_nadir = math.acos(np.dot(-r[0], d) / np.linalg.norm(r[0]) / np.linalg.norm(d))
    geom = attitude_geometry(r, v, [1.0, 0.0, 0.0], fp.attitude, tgt)
    s0 = AttitudeState.initial(fp.attitude, T0)
    s1, ch = request_modes(s0, fp.attitude, geom, T0, [AttitudeMode.TARGET], [0])
    expect_s = math.degrees(off_nadir) / 2.0 + 5.0
    assert len(ch) == 1 and ch.slew_s[0] == pytest.approx(expect_s, abs=1e-9)
    assert s1.slew_end_ns[0] == T0 + round(expect_s * NS)
    assert s1.slewing(T0 + round(expect_s * NS) - 1)[0]
    assert not s1.slewing(T0 + round(expect_s * NS))[0]
    np.testing.assert_allclose(boresight(geom, s1.mode, s1.target)[0], d / np.linalg.norm(d),
                               atol=1e-12)
    # Pure: the old state is untouched; the same request again changes nothing.
    assert s0.mode[0] == AttitudeMode.NADIR
    s2, ch2 = request_modes(s1, fp.attitude, geom, T0, [AttitudeMode.TARGET], [0])
    assert len(ch2) == 0 and s2 is s1


def test_slew_to_the_sun_and_queued_requests() -> None:
    fp, r, v = one_sat(slew_rate_deg_s=1.0, settle_s=10.0)
    sun = np.array([math.cos(70 * DEG), 0.0, math.sin(70 * DEG)])
    geom = attitude_geometry(r, v, sun, fp.attitude)
    s0 = AttitudeState.initial(fp.attitude, T0)
    # Zenith array (−z, along r̂ in nadir attitude) onto the Sun: a 70° turn.
    s1, ch = request_modes(s0, fp.attitude, geom, T0, [AttitudeMode.SUN])
    assert ch.slew_s[0] == pytest.approx(80.0, abs=1e-9)
    # In Sun pointing the boresight (+z) faces away from the Sun.
    np.testing.assert_allclose(boresight(geom, s1.mode, s1.target)[0], -sun, atol=1e-12)
    # Back to nadir 20 s later: queued behind the first slew, another 80 s.
    s2, ch2 = request_modes(s1, fp.attitude, geom, T0 + 20 * NS, [AttitudeMode.NADIR])
    assert ch2.slew_s[0] == pytest.approx(80.0, abs=1e-9)
    assert s2.slew_end_ns[0] == T0 + 160 * NS
    assert s2.prev_mode[0] == AttitudeMode.SUN
    # While slewing, the array counts at the worse end (nadir: the zenith array 70° from the
    # Sun), not Sun pointing's 1; and nadir again once settled.
    c = array_cosine(s2, geom, T0 + 100 * NS)
    assert c[0] == pytest.approx(math.cos(70 * DEG), abs=1e-12)
    assert array_cosine(s2, geom, T0 + 160 * NS)[0] == pytest.approx(math.cos(70 * DEG))
    assert array_cosine(s1, geom, T0 + 80 * NS)[0] == 1.0


@pytest.mark.parametrize("array", [{"normal": "zenith"}, {"normal": "orbit_normal"},
                                   {"normal": (0.3, -0.2, 0.9)},
                                   {"tracking_axis": "orbit_normal"},
                                   {"tracking_axis": (0.1, 0.9, -0.2)}])
def test_compiled_matches_numpy(iridium_track, array) -> None:  # type: ignore[no-untyped-def]
    tr = iridium_track
    n = tr.r.shape[0]
    rng = np.random.default_rng(3)
    cls = spacecraft_class("c", {"solar_array": array})
    fp = FleetParams.from_classes(cls, n)
    targets = tr.r[rng.integers(0, n, 50), 0] * 0.93  # points under some satellites
    modes = np.array([0, 1, 2, 3])
    for k in (0, 150, 300):
        geom = attitude_geometry(tr.r[:, k], tr.v[:, k], tr.sun[k], fp.attitude, targets)
        mode = rng.choice(modes, n).astype(np.int8)
        target = np.where(mode == 2, rng.integers(-1, 50, n), -1).astype(np.int32)
        prev = rng.choice(modes, n).astype(np.int8)
        prev_t = np.where(prev == 2, rng.integers(-1, 50, n), -1).astype(np.int32)
        end = np.where(rng.random(n) < 0.5, T0 + NS, T0).astype(np.int64)
        st = AttitudeState(mode, target, prev, prev_t, end)
        a = array_cosine(st, geom, T0)
        b = array_cosine(st, geom, T0, method="reference")
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
        sats = np.arange(n)
        a = slew_angle_rad(geom, sats, prev, prev_t, mode, target)
        b = slew_angle_rad(geom, sats, prev, prev_t, mode, target, method="reference")
        ok = np.isfinite(tr.r[:, k]).all(axis=1)
        np.testing.assert_allclose(a[ok], b[ok], rtol=0, atol=1e-7)


def test_nan_state_gives_no_power_and_a_half_turn_slew() -> None:
    fp = FleetParams.from_classes(SpacecraftClass(), 2)
    r, v = circular_state(n=2)
    r[1] = np.nan
    geom = attitude_geometry(r, v, [1.0, 0.0, 0.0], fp.attitude)
    s0 = AttitudeState.initial(fp.attitude, T0)
    c = array_cosine(s0, geom, T0)
    assert c[0] == pytest.approx(1.0) and c[1] == 0.0
    _, ch = request_modes(s0, fp.attitude, geom, T0, [1, 1])
    rate = fp.attitude.slew_rate_rad_s[1]
    assert ch.slew_s[1] == pytest.approx(math.pi / rate + fp.attitude.settle_s[1])
