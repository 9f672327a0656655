"""Walker shells: structure, geometry, altitude convention, TLE precision, Hypatia reproduction.

References: the Walker pattern definition (Walker, "Satellite constellations", JBIS 37, 1984);
Hypatia's TLE text format for its Starlink shell (snkas/hypatia, satgenpy), rebuilt here from the
TLE field layout and parsed by python-sgp4's ``twoline2rv``.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sgp4.api import Satrec
from sgp4.exporter import export_tle

from orbemu.errors import InputError
from orbemu.orbits.elements import ElementSet
from orbemu.orbits.propagation import SGP4Propagator
from orbemu.orbits.walker import (
    DEFAULT_EPOCH,
    mean_motion_rev_day_to_altitude,
    walker_delta,
    walker_star,
)
from orbemu.time import Time
from tests.conftest import ONE_METRE, ONE_MILLIMETRE, ONE_SECOND_NS

DEG = np.pi / 180.0


def _angle_diff_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Signed a − b wrapped to (−180°, 180°]."""
    return (np.asarray(a) - np.asarray(b) + 180.0) % 360.0 - 180.0


def test_plane_major_structure_names_and_ids() -> None:
    es = walker_delta(6, 4, 1, inclination_deg=53.0, altitude_m=550e3, name_prefix="X",
                      first_catalog_number=1000)
    assert len(es) == 24
    assert es.plane.tolist() == [p for p in range(6) for _ in range(4)]
    assert es.slot.tolist() == list(range(4)) * 6
    assert es.has_structure and np.all(es.shell == 0)
    idx = es.plane * 4 + es.slot
    assert idx.tolist() == list(range(24))
    assert es.norad_ids.tolist() == list(range(1000, 1024))
    assert [s.satnum for s in es.satrecs] == list(range(1000, 1024))
    assert es.names[0] == "X-P0-S0" and es.names[-1] == "X-P5-S3"
    assert np.all(es.epochs.ns == DEFAULT_EPOCH.ns)
    assert all(d == "" for d in es.intl_designators)


@pytest.mark.parametrize(("maker", "spread"), [(walker_delta, 360.0), (walker_star, 180.0)])
def test_raan_and_phasing_follow_the_walker_pattern(maker, spread) -> None:
    planes, per_plane, phasing = 8, 9, 3
    es = maker(planes, per_plane, phasing, inclination_deg=60.0, altitude_m=700e3,
               raan_offset_deg=10.0, tle_precision=False)
    raan = es.raan_rad / DEG
    anomaly = es.mean_anomaly_rad / DEG
    expected_raan = (10.0 + es.plane * spread / planes) % 360.0
    assert np.max(np.abs(_angle_diff_deg(raan, expected_raan))) < 1e-9
    # Within a plane: 360°/S between slots; between planes: F · 360°/T.
    grid = anomaly.reshape(planes, per_plane)
    assert np.allclose(_angle_diff_deg(grid[:, 1:], grid[:, :-1]), 360.0 / per_plane)
    assert np.allclose(_angle_diff_deg(grid[1:, 0], grid[:-1, 0]),
                       phasing * 360.0 / (planes * per_plane))


def test_odd_plane_shift_and_geometry_from_propagated_states() -> None:
    """Check the pattern in SGP4's own output: orbit normals give the planes' nodes, positions
    give the in-plane spacing. SGP4's short-period terms move both by ≲ 0.1°."""
    es = walker_delta(4, 10, 0, inclination_deg=53.0, altitude_m=550e3,
                      odd_plane_shift_slots=0.5)
    eph = SGP4Propagator().propagate(es, es.epochs[:1])
    r, v = eph.position_m[:, 0], eph.velocity_m_s[:, 0]
    h = np.cross(r, v)
    node_deg = np.degrees(np.arctan2(h[:, 0], -h[:, 1]))
    incl_deg = np.degrees(np.arccos(h[:, 2] / np.linalg.norm(h, axis=1)))
    assert np.max(np.abs(_angle_diff_deg(node_deg, es.plane * 90.0))) < 0.1
    assert np.max(np.abs(incl_deg - 53.0)) < 0.1
    # Argument of latitude from the node line: slots 36° apart, odd planes 18° further on.
    node_vec = np.stack([np.cos(node_deg * DEG), np.sin(node_deg * DEG), np.zeros(len(es))], 1)
    hn = h / np.linalg.norm(h, axis=1)[:, None]
    u = np.degrees(np.arctan2(np.einsum("ij,ij->i", np.cross(node_vec, r), hn),
                              np.einsum("ij,ij->i", node_vec, r)))
    expected_u = es.slot * 36.0 + np.where(es.plane % 2 == 1, 18.0, 0.0)
    assert np.max(np.abs(_angle_diff_deg(u, expected_u))) < 0.1


def test_altitude_convention_round_trips_and_sgp4_mean_radius() -> None:
    """altitude_m is the Kozai/Kepler mean altitude ElementSet reports; SGP4's orbit-averaged
    radius differs by the J2 terms (values stated in orbemu.orbits.walker)."""
    for inc, mean_alt_km in ((53.0, 549.9), (97.6, 551.5), (0.0, 546.8)):
        es = walker_delta(1, 1, inclination_deg=inc, altitude_m=550e3)
        assert abs(es.mean_altitude_m[0] - 550e3) < 0.01 * ONE_METRE
        period_s = es.period_s[0]
        times = es.epochs[0] + np.arange(0, int(5 * period_s), 5, dtype=np.int64) * ONE_SECOND_NS
        radius = np.linalg.norm(SGP4Propagator().propagate(es, times).position_m[0], axis=-1)
        assert abs((radius.mean() - 6_378_135.0) / 1e3 - mean_alt_km) < 0.1


def test_mean_motion_input_is_kept_exactly() -> None:
    es = walker_delta(2, 2, inclination_deg=53.0, mean_motion_rev_day=15.19)
    assert es.satrecs[0].no_kozai * 1440.0 / (2 * np.pi) == pytest.approx(15.19, abs=1e-12)
    assert es.mean_altitude_m[0] == pytest.approx(mean_motion_rev_day_to_altitude(15.19))


def test_circular_orbits_propagate_and_match_hypatias_tiny_eccentricity() -> None:
    kwargs = dict(inclination_deg=53.0, altitude_m=550e3)
    zero = walker_delta(3, 3, **kwargs)
    tiny = walker_delta(3, 3, eccentricity=1e-7, **kwargs)
    times = zero.epochs[0] + np.arange(0, 86_400, 60, dtype=np.int64) * ONE_SECOND_NS
    a = SGP4Propagator().propagate(zero, times)
    b = SGP4Propagator().propagate(tiny, times)
    assert a.failed_samples() == 0 and b.failed_samples() == 0
    assert np.max(np.linalg.norm(a.position_m - b.position_m, axis=-1)) < ONE_METRE


def test_tle_export_round_trip_is_exact_with_tle_precision() -> None:
    """What the set exports as TLE text reads back to the same trajectory (< 1 mm over a day);
    without TLE rounding the export differs by metres."""
    times_s = np.arange(0, 86_400, 600, dtype=np.int64)
    for tle_precision, limit in ((True, ONE_MILLIMETRE), (False, 100 * ONE_METRE)):
        es = walker_delta(5, 7, 2, inclination_deg=51.9, altitude_m=630e3,
                          epoch=Time.parse("2026-05-30T12:34:56.789Z"),
                          tle_precision=tle_precision)
        back = ElementSet.from_satrecs([Satrec.twoline2rv(*export_tle(s)) for s in es.satrecs])
        times = es.epochs[0] + times_s * ONE_SECOND_NS
        d = np.linalg.norm(SGP4Propagator().propagate(es, times).position_m
                           - SGP4Propagator().propagate(back, times).position_m, axis=-1)
        assert d.max() < limit
        if not tle_precision:
            assert d.max() > ONE_MILLIMETRE  # the rounding is real, so the option matters


def _hypatia_style_tle(index: int, plane: int, slot: int) -> tuple[str, str]:
    """The TLE text Hypatia's generator writes for its Starlink shell (72 × 22, 53°,
    15.19 rev/day, e = 1e-7, epoch 2000 day 1.0, odd planes half a slot on), from the TLE field
    layout: angles in %8.4f, eccentricity as 7 digits, mean motion %11.8f, catalog numbers from 1.
    """

    def checksum(line: str) -> str:
        return str(sum(int(c) if c.isdigit() else (c == "-") for c in line) % 10)

    raan = plane * 360.0 / 72
    anomaly = (360.0 / 44 if plane % 2 else 0.0) + slot * 360 / 22
    num = index + 1
    line1 = f"1 {num:05d}U 00000ABC 00001.00000000  .00000000  00000-0  00000+0 0    0"
    ecc = f"{1e-7:.7f}"[2:]  # "0000001": the TLE drops the leading "0."
    line2 = (f"2 {num:05d} {53.0:8.4f} {raan:8.4f} {ecc} {0.0:8.4f} {anomaly:8.4f} "
             f"{15.19:11.8f}    0")
    return line1 + checksum(line1), line2 + checksum(line2)


def test_hypatia_starlink_shell_is_reproduced_exactly() -> None:
    es = walker_delta(72, 22, 0, inclination_deg=53.0, mean_motion_rev_day=15.19,
                      eccentricity=1e-7, odd_plane_shift_slots=0.5,
                      epoch=Time.parse("2000-01-01T00:00:00Z"))
    picks = [0, 1, 22, 23, 22 * 37 + 5, 22 * 71 + 21]
    ref = []
    for i in picks:
        line1, line2 = _hypatia_style_tle(i, i // 22, i % 22)
        assert len(line1) == len(line2) == 69
        ref.append(Satrec.twoline2rv(line1, line2))
    ref_set = ElementSet.from_satrecs(ref)
    assert np.all(ref_set.epochs.ns == es.epochs.ns[0])
    times = es.epochs[0] + np.arange(0, 2 * 86_400, 300, dtype=np.int64) * ONE_SECOND_NS
    ours = SGP4Propagator().propagate(es.select(picks), times)
    theirs = SGP4Propagator().propagate(ref_set, times)
    assert np.max(np.linalg.norm(ours.position_m - theirs.position_m, axis=-1)) < ONE_MILLIMETRE
    assert es.norad_ids[picks].tolist() == [i + 1 for i in picks]


def test_epoch_is_rounded_to_tle_precision_only_when_asked() -> None:
    epoch = Time.parse("2026-05-30T12:00:00.0005Z")
    rounded = walker_delta(1, 1, inclination_deg=10.0, altitude_m=500e3, epoch=epoch)
    exact = walker_delta(1, 1, inclination_deg=10.0, altitude_m=500e3, epoch=epoch,
                         tle_precision=False)
    tick_ns = 864_000  # 1e-8 day
    assert (rounded.epochs.ns[0] - Time.parse("2026-05-30").ns) % tick_ns == 0
    assert abs(int(rounded.epochs.ns[0]) - int(epoch.ns)) <= tick_ns // 2
    assert abs(int(exact.epochs.ns[0]) - int(epoch.ns)) < 1000  # sgp4init's float epoch: < 1 µs


@pytest.mark.parametrize(("kwargs", "field"), [
    (dict(planes=0), "planes"),
    (dict(sats_per_plane=2.5), "sats_per_plane"),
    (dict(phasing=6), "phasing"),
    (dict(altitude_m=None), "altitude_m"),
    (dict(mean_motion_rev_day=15.0), "altitude_m"),
    (dict(altitude_m=-5.0), "altitude_m"),
    (dict(inclination_deg=181.0), "inclination_deg"),
    (dict(eccentricity=1.0), "eccentricity"),
    (dict(eccentricity=0.5), "eccentricity"),  # perigee inside the Earth
    (dict(first_catalog_number=339_990), "first_catalog_number"),
    (dict(epoch="yesterday"), "epoch"),
])
def test_bad_parameters_say_which_and_why(kwargs, field) -> None:
    args = dict(planes=6, sats_per_plane=4, phasing=1, inclination_deg=53.0, altitude_m=550e3)
    args.update(kwargs)
    with pytest.raises(InputError) as info:
        walker_delta(args.pop("planes"), args.pop("sats_per_plane"), args.pop("phasing"), **args)
    assert info.value.field == field
    assert info.value.fix


def test_concat_keeps_planes_unique_and_shells_apart() -> None:
    a = walker_delta(3, 2, inclination_deg=53.0, altitude_m=550e3)
    b = walker_star(2, 2, inclination_deg=87.0, altitude_m=1200e3, first_catalog_number=7)
    both = ElementSet.concat([a, b])
    assert both.plane.tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    assert both.shell.tolist() == [0] * 6 + [1] * 4
    sub = both.select([9, 0])
    assert sub.shell.tolist() == [1, 0] and sub.plane.tolist() == [4, 0]
    restructured = both.with_structure(both.plane, both.slot)
    assert np.all(restructured.shell == 0)
    unknown = ElementSet.from_satrecs(list(a.satrecs))
    assert np.all(unknown.shell == -1)
    mixed = ElementSet.concat([unknown, b])
    assert mixed.plane.tolist() == [-1] * 6 + [0, 0, 1, 1]
    assert mixed.shell.tolist() == [-1] * 6 + [0] * 4


@settings(max_examples=40, deadline=None)
@given(planes=st.integers(1, 12), per_plane=st.integers(1, 12), data=st.data(),
       incl=st.floats(0.0, 180.0), alt_km=st.floats(300.0, 36_000.0),
       spread=st.sampled_from([360.0, 180.0, 189.6]), shift=st.sampled_from([0.0, 0.5]))
def test_walker_pattern_properties(planes, per_plane, data, incl, alt_km, spread, shift) -> None:
    phasing = data.draw(st.integers(0, planes - 1))
    es = walker_delta(planes, per_plane, phasing, inclination_deg=incl, altitude_m=alt_km * 1e3,
                      raan_spread_deg=spread, odd_plane_shift_slots=shift)
    assert len(es) == planes * per_plane
    assert np.array_equal(es.plane * per_plane + es.slot, np.arange(len(es)))
    assert np.allclose(np.degrees(es.inclination_rad), incl, atol=5e-5)
    assert np.allclose(es.mean_altitude_m, alt_km * 1e3, rtol=1e-8)
    raan = np.degrees(es.raan_rad)
    assert np.all((raan >= 0) & (raan < 360))
    assert np.max(np.abs(_angle_diff_deg(raan, es.plane * spread / planes))) < 1e-4
    # Slots of one plane are evenly spread: sorted anomalies step by 360°/S (to TLE rounding).
    anomaly = np.sort(np.degrees(es.mean_anomaly_rad).reshape(planes, per_plane), axis=1)
    gaps = np.diff(np.c_[anomaly, anomaly[:, :1] + 360.0], axis=1)
    assert np.allclose(gaps, 360.0 / per_plane, atol=2e-4)
