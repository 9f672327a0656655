"""Imager: captures on a real constellation match an independent brute-force check."""

from __future__ import annotations

import math

import numpy as np
import pytest

from orbemu.constants import DEG, EARTH_RADIUS_M
from orbemu.orbits.frames import enu_matrix, geodetic_to_itrf, topocentric
from orbemu.spacecraft import (
    AttitudeMode,
    Commands,
    Environment,
    FleetParams,
    FleetState,
    ImagerSpec,
    SpacecraftClass,
    Targets,
    spacecraft_class,
    step_fleet,
    target_view_margin_rad,
)
from orbemu.spacecraft.classes import AttitudeSpec, BatterySpec, StorageSpec
from orbemu.spacecraft.imager import footprint_chord
from tests.spacecraft.conftest import IRIDIUM_STEP_S, circular_state

T0 = 1_780_000_000 * 10**9
NS = 10**9
#: Pairs closer than this to a visibility boundary are not judged (different formulas round
#: differently there); the test counts them and expects none.
KNIFE_EDGE_RAD = 1e-9

NADIR_IMAGER = ImagerSpec(swath_half_angle_deg=20.0, max_off_nadir_deg=40.0,
                          min_elevation_deg=20.0, min_sun_elevation_deg=0.0)
BIG = dict(battery=BatterySpec(capacity_wh=1e6, initial_soc=0.9),
           storage=StorageSpec(capacity_bits=1e18))


def fleet_classes() -> list[SpacecraftClass]:
    return [SpacecraftClass(name="nadir", imager=NADIR_IMAGER, **BIG),  # type: ignore[arg-type]
            SpacecraftClass(name="agile", imager=NADIR_IMAGER,
                            attitude=AttitudeSpec(default_mode="target", slew_rate_deg_s=2.0,
                                                  settle_s=5.0), **BIG)]  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def runs(iridium_track, cities):  # type: ignore[no-untyped-def]
    """The fleet over 3 h with the compiled kernels and with the numpy references."""
    tr = iridium_track
    n = tr.r.shape[0]
    params = FleetParams.from_classes(fleet_classes(), np.arange(n) % 2, targets=cities)
    out = {}
    for method in ("fast", "reference"):
        state = FleetState.initial(params, tr.times[0])
        records, modes = [], []
        for k in range(len(tr.times)):
            modes.append(state.attitude.mode.copy())
            state, rec = step_fleet(state, params, tr.env(k), IRIDIUM_STEP_S,
                                    Commands.default(n), method=method)  # type: ignore[arg-type]
            records.append(rec)
        out[method] = (state, records)
    return params, out


def test_compiled_captures_equal_the_numpy_reference(runs) -> None:  # type: ignore[no-untyped-def]
    _, out = runs
    (sa, ra), (sb, rb) = out["fast"], out["reference"]
    total = 0
    for a, b in zip(ra, rb, strict=True):
        assert np.array_equal(a.capture_sat, b.capture_sat)
        assert np.array_equal(a.capture_target, b.capture_target)
        assert np.array_equal(a.mode_changes.sat, b.mode_changes.sat)
        assert np.array_equal(a.mode_changes.to_target, b.mode_changes.to_target)
        np.testing.assert_allclose(a.mode_changes.slew_s, b.mode_changes.slew_s, atol=1e-6)
        total += len(a.capture_sat)
    assert np.array_equal(sa.imager.last_capture_ns, sb.imager.last_capture_ns)
    assert total > 300  # a few hours of Iridium over 1,000 cities


def sun_elevation(cities: Targets, sun: np.ndarray) -> np.ndarray:
    enu = enu_matrix(cities.lat_deg * DEG, cities.lon_deg * DEG)
    return np.arcsin(enu[:, 2] @ sun)


def test_captures_satisfy_the_geometry(runs, iridium_track, cities) -> None:  # type: ignore[no-untyped-def]
    """Every capture: elevation, off-nadir and Sun elevation checked with independent formulas
    (ENU topocentric coordinates, arccos); revisit interval respected."""
    params, out = runs
    tr = iridium_track
    _, records = out["fast"]
    site = geodetic_to_itrf(cities.lat_deg * DEG, cities.lon_deg * DEG, cities.alt_m)
    enu = enu_matrix(cities.lat_deg * DEG, cities.lon_deg * DEG)
    last = {}
    agile = params.class_index == 1
    for k, rec in enumerate(records):
        sun_el = sun_elevation(cities, tr.sun[k])
        for i, j in zip(rec.capture_sat, rec.capture_target, strict=True):
            r = tr.r[i, k]
            _, el, _ = topocentric(r, site[j], enu[j])
            d = site[j] - r
            off = math.acos(np.dot(-r, d) / np.linalg.norm(r) / np.linalg.norm(d))
            limit = 40.0 if agile[i] else 20.0
            assert el >= 20.0 * DEG - KNIFE_EDGE_RAD
            assert off <= limit * DEG + KNIFE_EDGE_RAD
            assert sun_el[j] >= -KNIFE_EDGE_RAD
            t = int(tr.times[k])
            assert j not in last or t - last[j] >= 3600 * NS
            last[j] = t


def test_nadir_captures_are_complete_and_the_best(runs, iridium_track, cities) -> None:  # type: ignore[no-untyped-def]
    """Nadir-mode satellites: captured iff some target is visible and available, and the one
    captured has the highest priority, then the shortest range (brute force, every pair)."""
    params, out = runs
    tr = iridium_track
    _, records = out["fast"]
    site = geodetic_to_itrf(cities.lat_deg * DEG, cities.lon_deg * DEG, cities.alt_m)
    up = enu_matrix(cities.lat_deg * DEG, cities.lon_deg * DEG)[:, 2]
    last = np.full(len(cities), -(2**62))
    nadir_sats = np.flatnonzero(params.class_index == 0)
    edges = checked = 0
    for k, rec in enumerate(records):
        t = int(tr.times[k])
        sun_el = sun_elevation(cities, tr.sun[k])
        captured = dict(zip(rec.capture_sat.tolist(), rec.capture_target.tolist(), strict=True))
        for i in range(params.n_sats):  # index order, as the rule says
            if i in nadir_sats:
                r = tr.r[i, k]
                if not np.isfinite(r).all():
                    assert i not in captured
                    continue
                d = site - r
                rng = np.linalg.norm(d, axis=1)
                el = np.arcsin(np.clip(-np.sum(up * d, axis=1) / rng, -1, 1))
                off = np.arccos(np.clip(-(d @ r) / np.linalg.norm(r) / rng, -1, 1))
                margin = np.minimum(np.minimum(el - 20 * DEG, 20 * DEG - off), sun_el)
                edges += int(np.sum(np.abs(margin) < KNIFE_EDGE_RAD))
                ok = (margin > 0) & (t - last >= 3600 * NS)
                cand = np.flatnonzero(ok)
                if cand.size == 0:
                    assert i not in captured
                else:
                    best = cand[np.lexsort((cand, rng[cand], -cities.priority[cand]))[0]]
                    assert captured.get(i) == best
                    checked += 1
            if i in captured:
                last[captured[i]] = t
    assert edges == 0
    assert checked > 50


def test_chord_prefilter_is_conservative() -> None:
    """Every visible pair lies within the search chord (random geometry, all pairs)."""
    rng = np.random.default_rng(11)
    m = 4000
    lat = np.degrees(np.arcsin(rng.uniform(-1, 1, m)))
    lon = rng.uniform(-180, 180, m)
    alt = rng.uniform(-400, 8000, m)
    t = Targets.from_arrays([str(i) for i in range(m)], lat, lon, alt)
    for alt_km, eta, eps in ((300, 60, 0), (500, 30, 30), (800, 5, 60), (1200, 45, 10),
                             (2000, 80, 0), (2000, 10, 0), (400, 89, 0)):
        n = 400
        u = rng.normal(size=(n, 3))
        r = u / np.linalg.norm(u, axis=1)[:, None] * (EARTH_RADIUS_M + alt_km * 1e3)
        margin = target_view_margin_rad(r[:, None], t.itrf_m[None], t.up[None], [1.0, 0, 0],
                                        half_angle_rad=eta * DEG, min_elevation_rad=eps * DEG,
                                        min_sun_elevation_rad=-math.pi)
        chord = footprint_chord(np.linalg.norm(r, axis=1), np.full(n, eta * DEG),
                                np.full(n, eps * DEG), t.min_radius_m)
        sep = np.linalg.norm(t.unit[None] - (r / np.linalg.norm(r, axis=1)[:, None])[:, None],
                             axis=2)
        vis = margin > 0
        assert vis.sum() > 0
        assert np.all(sep[vis] <= chord[np.nonzero(vis)[0]])
        # ... and not wildly larger than needed (the search stays local).
        assert np.max(chord) < 2.0 * np.max(sep[vis]) + 0.01


def single_pass(targets: Targets, cls: SpacecraftClass, steps: int, dt_s: float = 1.0,
                n: int = 1) -> list:  # type: ignore[type-arg]
    fp = FleetParams.from_classes(cls, n, targets=targets)
    r, v = circular_state(500e3, n=n)
    state = FleetState.initial(fp, T0)
    recs = []
    for _ in range(steps):
        env = Environment.compute(state.time_ns, r, v, sun_itrf=[1.0, 0.0, 0.0],
                                  sun_distance_m=1.5e11, illuminated=1.0)
        state, rec = step_fleet(state, fp, env, dt_s, Commands.default(n))
        recs.append(rec)
    return recs


def test_priority_then_range_then_revisit() -> None:
    # Three targets near the sub-satellite point (0°, 0°): b and c priority 2, c closer; a
    # priority 1 and closest of all.
    targets = Targets.from_arrays(["a", "b", "c"], [0.0, 0.5, 0.2], [0.0, 0.0, 0.0],
                                  priority=[1.0, 2.0, 2.0], revisit_s=[0.0, 100.0, 100.0])
    cls = SpacecraftClass(imager=ImagerSpec(swath_half_angle_deg=30.0, min_elevation_deg=10.0,
                                            min_sun_elevation_deg=-90.0))
    recs = single_pass(targets, cls, 4)
    assert [r.capture_target.tolist() for r in recs] == [[2], [1], [0], [0]]


def test_one_target_one_capture_per_step_in_index_order() -> None:
    targets = Targets.from_arrays(["a"], [0.0], [0.0], revisit_s=60.0)
    cls = SpacecraftClass(imager=ImagerSpec(swath_half_angle_deg=30.0, min_elevation_deg=10.0,
                                            min_sun_elevation_deg=-90.0))
    recs = single_pass(targets, cls, 3, n=3)
    assert recs[0].capture_sat.tolist() == [0] and recs[0].capture_target.tolist() == [0]
    assert len(recs[1].capture_sat) == 0


def test_no_capture_while_slewing_then_capture() -> None:
    """Target mode: pick the target, slew (off-nadir/rate + settle), capture once settled."""
    targets = Targets.from_arrays(["a"], [1.0], [0.0], revisit_s=1e6)
    cls = spacecraft_class("agile", {"attitude": {"default_mode": "target",
                                                  "slew_rate_deg_s": 1.0, "settle_s": 3.0},
                                     "imager": {"min_sun_elevation_deg": -90.0}})
    recs = single_pass(targets, cls, 20)
    ch = recs[0].mode_changes
    assert ch.to_mode.tolist() == [AttitudeMode.TARGET] and ch.to_target.tolist() == [0]
    first = next(k for k, r in enumerate(recs) if len(r.capture_sat))
    assert first == math.ceil(ch.slew_s[0])  # 1 s steps
    assert 3.0 < ch.slew_s[0] < 30.0
    # After the capture nothing else to see: it asks to go back to nadir.
    back = recs[first].mode_changes
    assert back.to_target.tolist() == [-1]
    assert sum(len(r.capture_sat) for r in recs) == 1


def test_daylight_rule() -> None:
    targets = Targets.from_arrays(["a"], [0.0], [0.0], revisit_s=0.0)
    cls = SpacecraftClass(imager=ImagerSpec(swath_half_angle_deg=30.0, min_elevation_deg=10.0,
                                            min_sun_elevation_deg=10.0))
    fp = FleetParams.from_classes(cls, 1, targets=targets)
    r, v = circular_state()
    for sun, expect in (([1.0, 0.0, 0.0], 1), ([-1.0, 0.0, 0.0], 0),
                        ([math.cos(85 * DEG), math.sin(85 * DEG), 0.0], 0)):
        state = FleetState.initial(fp, T0)
        env = Environment.compute(T0, r, v, sun_itrf=sun, sun_distance_m=1.5e11, illuminated=1.0)
        _, rec = step_fleet(state, fp, env, 1.0)
        assert len(rec.capture_sat) == expect
