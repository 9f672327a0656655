"""Pass finding against Skyfield's ``EarthSatellite.find_events``, brute force, and geometry.

Skyfield's own event times are bracketed to half a second (``find_events`` uses a 0.5 s
epsilon), so its AOS/TCA/LOS are compared within 1 s. Maximum elevations are compared with
Skyfield's altitude maximised on a 1 ms grid around its culmination, within 0.01°.
"""

from __future__ import annotations

import numpy as np
import pytest

from orbemu.constants import DEG
from orbemu.errors import UsageError
from orbemu.orbits.elements import ElementSet
from orbemu.orbits.events import (
    IntervalTable,
    default_coarse_step_ns,
    hermite_position,
    make_grid,
)
from orbemu.orbits.frames import topocentric
from orbemu.orbits.ground_nodes import GroundNodes
from orbemu.orbits.passes import (
    _fine_keep_kernel,
    _screen_kernel,
    _topo_kernel,
    find_passes,
    fine_keep_reference,
    motion_bounds,
    screen_reference,
    topo_reference,
)
from orbemu.orbits.propagation import SGP4Propagator
from orbemu.time import Time
from tests.conftest import ONE_SECOND_NS
from tests.orbits.references import (
    GEO_TLE,
    STARLINK_TLE,
    STATIONS_TLE,
    read_tle,
    skyfield_times,
    skyfield_timescale,
    skyfield_to_ns,
)

START = Time.parse("2026-05-30T00:00:00Z")
DAY_NS = 86_400 * ONE_SECOND_NS
TIME_TOLERANCE_NS = ONE_SECOND_NS
MAX_ELEVATION_TOLERANCE_DEG = 0.01

SITES = GroundNodes.from_arrays(
    ["Svalbard", "Singapore", "Punta Arenas", "Boulder"],
    [78.2298, 1.3521, -53.1638, 40.015],
    [15.4078, 103.8198, -70.9171, -105.27],
    [500.0, 15.0, 30.0, 1655.0],
)


def _skyfield_passes(satrec, ground, k, threshold_deg, start, duration_ns):
    """Complete passes per Skyfield: rows of (rise ns, culmination ns, set ns, max alt deg)."""
    from skyfield.api import EarthSatellite, wgs84

    ts = skyfield_timescale()
    sat = EarthSatellite.from_satrec(satrec, ts)
    topos = wgs84.latlon(ground.lat_deg[k], ground.lon_deg[k], elevation_m=ground.alt_m[k])
    t, events = sat.find_events(topos, skyfield_times(ts, start),
                                skyfield_times(ts, start + duration_ns),
                                altitude_degrees=threshold_deg)
    if len(events) == 0:
        return []
    ns = skyfield_to_ns(t)
    rows, current = [], None
    for when, event in zip(ns, events, strict=True):
        if event == 0:
            current = [when, []]
        elif event == 1 and current is not None:
            current[1].append(when)
        elif event == 2 and current is not None:
            peaks = np.array(current[1], dtype=np.int64)
            # The true maximum near each culmination: Skyfield's altitude maximised on a 10 ms
            # grid over ±1 s, then on a 0.1 ms grid around the best (near the zenith the peak
            # is a sharp V, so Skyfield's ±0.5 s culmination time alone is not enough).
            best_t, best_alt = 0, -90.0
            for peak in peaks:
                centre = int(peak)
                for half, step in ((100, 10_000_000), (100, 100_000)):
                    grid = centre + np.arange(-half, half + 1, dtype=np.int64) * step
                    alt = (sat - topos).at(skyfield_times(ts, Time(grid))).altaz()[0].degrees
                    centre = int(grid[np.argmax(alt)])
                if alt.max() > best_alt:
                    best_t, best_alt = int(peak), float(alt.max())
            rows.append((current[0], best_t, when, best_alt))
            current = None
    return rows


def _compare_with_skyfield(sats, ground, threshold_deg):
    ours = find_passes(sats, ground, START, DAY_NS, min_elevation_deg=threshold_deg)
    n_compared = 0
    worst = np.zeros(4)
    for i, satrec in enumerate(sats.satrecs):
        for k in range(len(ground)):
            ref = _skyfield_passes(satrec, ground, k, threshold_deg, START, DAY_NS)
            mine = ours.select((ours.sat_index == i) & (ours.node_index == k) & ~ours.partial)
            # A pass cresting within 0.01° of the threshold may exist for one tool only.
            ref = [r for r in ref if r[3] > threshold_deg + MAX_ELEVATION_TOLERANCE_DEG]
            keep = mine.max_elevation_deg > threshold_deg + MAX_ELEVATION_TOLERANCE_DEG
            mine = mine.select(keep)
            assert len(mine) == len(ref), (sats.names[i], ground.names[k])
            for row, (rise, peak, set_, alt) in zip(mine.rows(), ref, strict=True):
                diffs = [abs(int(row.aos) - rise), abs(int(row.tca) - peak),
                         abs(int(row.los) - set_)]
                worst[:3] = np.maximum(worst[:3], diffs)
                worst[3] = max(worst[3], abs(row.max_elevation_deg - alt))
                n_compared += 1
    assert max(worst[:3]) < TIME_TOLERANCE_NS, worst
    assert worst[3] < MAX_ELEVATION_TOLERANCE_DEG, worst
    return n_compared


def test_stations_passes_match_skyfield(shared_data):
    """The bundled space-stations set (ISS, CSS and friends) over four ground stations."""
    sats = read_tle(shared_data / STATIONS_TLE)
    assert _compare_with_skyfield(sats, SITES, 10.0) > 200


def test_starlink_passes_match_skyfield(shared_data):
    sats = read_tle(shared_data / STARLINK_TLE, every=300)
    assert _compare_with_skyfield(sats, SITES.select([0, 3]), 25.0) > 80


# ---- the compiled kernels against their numpy twins ---------------------------------------------


def test_screen_kernel_matches_reference(shared_data):
    sats = read_tle(shared_data / STARLINK_TLE, every=331)
    sub, step2 = 10, 119.0
    n2 = 36  # fine intervals: a 71.4-minute window, screened in 3.6 screening intervals
    grid1 = make_grid(START, int(n2 * step2 * ONE_SECOND_NS), int(sub * step2 * ONE_SECOND_NS))
    eph = SGP4Propagator().propagate(sats, grid1.times(), frame="ITRF")
    r, v = eph.position_m, eph.velocity_m_s
    r[3, 1] = np.nan  # a failed sample must not be kept (nor crash)
    t1 = grid1.point_s(np.arange(r.shape[1]))
    ground = SITES.with_max_range([np.inf, 2.0e6, np.inf, 1.5e6])
    lo = np.array([0.0, 10.0, 25.0, 40.0]) * DEG
    site, up = ground.itrf_m, np.ascontiguousarray(ground.enu[:, 2, :])
    v_max, err = motion_bounds(sats, grid1.step_s)
    args = (r, v, t1, 0, 0, sub, step2, grid1.duration_s, n2, site, up, np.sin(lo), np.cos(lo),
            ground.max_range_m, v_max, err)
    small = [np.empty(5, np.int64) for _ in range(3)]
    count = _screen_kernel(*args, *small)  # too small: counts all, writes what fits
    out = [np.empty(count, np.int64) for _ in range(3)]
    assert _screen_kernel(*args, *out) == count
    assert all(np.array_equal(a, b[:5]) for a, b in zip(small, out, strict=True))
    kept = set(zip(*(o.tolist() for o in out), strict=True))
    assert len(kept) == count
    ref = screen_reference(r, v, t1, 0, sub, step2, grid1.duration_s, n2, site, up, lo,
                           ground.max_range_m, v_max, err)
    assert kept == ref
    assert 0 < count < len(sats) * len(ground) * n2 // 3  # selective, not all or nothing
    assert not any(s == 3 and j2 < 2 * sub for s, _, j2 in kept)


def test_fine_keep_kernel_matches_reference(shared_data):
    sats = read_tle(shared_data / STARLINK_TLE, every=211)
    grid = make_grid(START, 6 * 3600 * ONE_SECOND_NS, 119 * ONE_SECOND_NS)
    eph = SGP4Propagator().propagate(sats, grid.times(), frame="ITRF")
    r, v = eph.position_m, eph.velocity_m_s
    n, c = eph.n_sats, eph.n_times
    sat = np.repeat(np.arange(n), (c - 1) * len(SITES))
    j = np.tile(np.repeat(np.arange(c - 1), len(SITES)), n)
    node = np.tile(np.arange(len(SITES)), n * (c - 1))
    x = np.concatenate([r[sat, j], v[sat, j], r[sat, j + 1], v[sat, j + 1]], axis=1)
    h = np.full(sat.size, 119.0)
    ground = SITES.with_max_range([np.inf, 2.0e6, np.inf, 1.5e6])
    lo = np.array([0.0, 10.0, 25.0, 40.0]) * DEG
    site, up = ground.itrf_m, np.ascontiguousarray(ground.enu[:, 2, :])
    v_max, err = motion_bounds(sats, 119.0)
    keep = np.empty(sat.size, bool)
    _fine_keep_kernel(x, h, node, site, up, np.sin(lo), np.cos(lo), ground.max_range_m,
                      v_max[sat], err[sat], 6, keep)
    ref = fine_keep_reference(x, h, node, site, up, lo, ground.max_range_m, v_max[sat],
                              err[sat], 6)
    assert np.array_equal(keep, ref)
    assert 0 < keep.sum() < keep.size // 5


@pytest.mark.parametrize("tle", [STARLINK_TLE, STATIONS_TLE])
def test_motion_bounds_hold_for_sgp4(shared_data, tle):
    """The speed and interpolation-error bounds the screening relies on, checked on SGP4."""
    sats = read_tle(shared_data / tle, every=101 if tle == STARLINK_TLE else 1)
    step = 1190.0
    v_max, err = motion_bounds(sats, step)
    times = Time.range(START, "1d", "1190s")
    eph = SGP4Propagator().propagate(sats, times, frame="ITRF")
    speed = np.linalg.norm(eph.velocity_m_s, axis=-1)
    ok = np.isfinite(speed).all(axis=1)
    assert np.all(speed[ok] <= v_max[ok, None])
    assert np.all(speed[ok].max(axis=1) > 0.9 * v_max[ok])  # and tight
    mids = Time(times.ns[:-1] + 595 * ONE_SECOND_NS)
    truth = SGP4Propagator().propagate(sats, mids, frame="ITRF").position_m
    r, v = eph.position_m, eph.velocity_m_s
    q = (r.shape[1] - 1) * r.shape[0]
    mid = hermite_position(r[:, :-1].reshape(q, 3), v[:, :-1].reshape(q, 3),
                           r[:, 1:].reshape(q, 3), v[:, 1:].reshape(q, 3), np.full(q, step),
                           np.full(q, 0.5)).reshape(truth.shape)
    miss = np.linalg.norm(mid - truth, axis=-1)[ok]
    assert np.all(miss <= err[ok, None])
    assert np.median(miss.max(axis=1) / err[ok]) > 0.2  # and the bound is not absurdly loose


def test_topo_kernel_matches_reference(shared_data):
    sats = read_tle(shared_data / STARLINK_TLE, every=500)
    grid = make_grid(START, 3600 * ONE_SECOND_NS, 120 * ONE_SECOND_NS)
    eph = SGP4Propagator().propagate(sats, grid.times(), frame="ITRF")
    n, c = eph.n_sats, eph.n_times
    key = np.repeat(np.arange(n), c - 1)
    j = np.tile(np.arange(c - 1), n)
    keep = (j % 7) != 3  # gaps: several segments per satellite
    key, j = key[keep], j[keep]
    r, v = eph.position_m, eph.velocity_m_s
    table = IntervalTable.from_states(grid, key, j, r[key, j], v[key, j], r[key, j + 1],
                                      v[key, j + 1])
    rng = np.random.default_rng(5)
    seg = rng.integers(0, table.n_segments, 5000)
    lo, hi = table.segment_span_s(seg)
    t = rng.uniform(lo - 30, hi + 30)  # a little outside too: clipped to the segment
    row_node = rng.integers(0, len(SITES), table.n_rows)
    t0 = grid.point_s(table.j)
    h = grid.point_s(table.j + 1) - t0
    el, az, dist = np.empty(seg.size), np.empty(seg.size), np.empty(seg.size)
    _topo_kernel(table.states, t0, h, table.j, row_node, table.seg_first, table.seg_last,
                 grid.step_s, grid.n_intervals, SITES.itrf_m, np.ascontiguousarray(SITES.enu),
                 seg, t, el, az, dist)
    ref = topo_reference(table, row_node, SITES.itrf_m, SITES.enu, seg, t)
    np.testing.assert_allclose(el, ref[0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.cos(az - ref[1]), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(dist, ref[2], rtol=1e-12)
    assert table.n_segments > n  # the gaps did split segments


# ---- behaviour -----------------------------------------------------------------------------------


@pytest.fixture
def starlink_30(shared_data):
    return read_tle(shared_data / STARLINK_TLE, every=347)


def test_no_pass_is_missed_brute_force(starlink_30):
    """Every second at which a satellite is above the threshold (sampled every 1 s by brute
    force) lies inside a found pass, and every found pass holds such seconds (or is shorter
    than the sampling)."""
    # Two plain thresholds, and a jagged azimuth mask (the finely scanned case).
    az = np.arange(0, 360, 10)
    jagged = GroundNodes.mask_from_points(az, np.where(az % 20 == 0, 35.0, 12.0))
    base = SITES.select([0, 3, 1]).with_min_elevation([5.0, 30.0, 10.0])
    masks = np.full((3, 360), -90.0)
    masks[2] = jagged
    ground = GroundNodes.from_arrays(base.names, base.lat_deg, base.lon_deg, base.alt_m,
                                     min_elevation_deg=base.min_elevation_deg, mask_deg=masks)
    duration = 6 * 3600 * ONE_SECOND_NS
    passes = find_passes(starlink_30, ground, START, duration)
    times = Time.range(START, duration, ONE_SECOND_NS)
    eph = SGP4Propagator().propagate(starlink_30, times, frame="ITRF")
    covered_seconds = 0
    for k in range(len(ground)):
        azimuth, el, _ = topocentric(eph.position_m, ground.itrf_m[k], ground.enu[k])
        up = np.degrees(el) >= ground.min_elevation_at_deg(np.full(el.shape, k), azimuth)
        sat, col = np.nonzero(up)
        t = times.ns[col]
        mine = passes.select(passes.node_index == k)
        inside = np.zeros(sat.size, bool)
        for p in mine.rows():  # a few dozen passes: fine to loop in a test
            inside |= (sat == p.sat_index) & (t >= int(p.aos)) & (t <= int(p.los))
            held = np.count_nonzero((sat == p.sat_index) & (t >= int(p.aos))
                                    & (t <= int(p.los)))
            assert held >= min(1, int(p.duration_s) - 1), p
        assert inside.all()
        covered_seconds += sat.size
    assert covered_seconds > 1000


def test_step_and_chunking_do_not_change_results(starlink_30):
    ground = SITES.with_min_elevation(10.0)
    base = find_passes(starlink_30, ground, START, DAY_NS // 4)
    fine = find_passes(starlink_30, ground, START, DAY_NS // 4, coarse_step_ns=30 * ONE_SECOND_NS)
    tiny = SGP4Propagator(chunk_bytes=len(starlink_30) * 49 * 5)  # five instants per chunk
    chunked = find_passes(starlink_30, ground, START, DAY_NS // 4, propagator=tiny)
    assert len(base) == len(fine) == len(chunked) > 10
    for other, tol_ns in ((fine, 20_000_000), (chunked, 1_000)):
        assert np.array_equal(base.sat_index, other.sat_index)
        assert np.array_equal(base.node_index, other.node_index)
        for a, b in ((base.aos, other.aos), (base.los, other.los), (base.tca, other.tca)):
            assert np.abs(a.ns - b.ns).max() < tol_ns
        assert np.abs(base.max_elevation_deg - other.max_elevation_deg).max() < 1e-3


def test_partial_passes_are_clipped_and_flagged(starlink_30):
    ground = SITES.select([3]).with_min_elevation(10.0)
    full = find_passes(starlink_30, ground, START, DAY_NS // 2)
    p = next(p for p in full if not p.partial and p.duration_s > 120)
    later = find_passes(starlink_30.select([p.sat_index]), ground, p.tca, DAY_NS // 4)
    first = next(iter(later))
    assert first.partial and first.aos == p.tca
    assert abs(int(first.los) - int(p.los)) < 1_000_000
    assert not later.partial[1:].any()
    earlier = find_passes(starlink_30.select([p.sat_index]), ground, START,
                          int(p.tca) - int(START))
    last = list(earlier)[-1]
    assert last.partial and last.los == p.tca
    assert abs(int(last.aos) - int(p.aos)) < 1_000_000
    # Cut at the TCA: the clipped pass peaks at the cut (the elevation is flat there).
    assert abs(int(last.tca) - int(last.los)) < 1_000_000
    assert abs(last.max_elevation_deg - p.max_elevation_deg) < 1e-3


def test_azimuth_mask(starlink_30):
    """A mask raising the northern sky up to 40° (10° to the south): masked passes lie inside
    unmasked ones, and at their (non-partial) AOS/LOS Skyfield's elevation equals the mask
    threshold toward Skyfield's azimuth."""
    from skyfield.api import EarthSatellite, wgs84

    az = np.arange(0, 360, 15)
    mask = GroundNodes.mask_from_points(az, 10 + 30 * np.maximum(np.cos(np.radians(az)), 0))
    site = SITES.select([3])
    masked = GroundNodes.from_arrays(site.names, site.lat_deg, site.lon_deg, site.alt_m,
                                     min_elevation_deg=10.0, mask_deg=mask[None, :])
    plain = find_passes(starlink_30, site.with_min_elevation(10.0), START, DAY_NS)
    got = find_passes(starlink_30, masked, START, DAY_NS)
    assert 0 < len(got) < len(plain) or np.sum(got.duration_s) < np.sum(plain.duration_s)
    ts = skyfield_timescale()
    topos = wgs84.latlon(site.lat_deg[0], site.lon_deg[0], elevation_m=site.alt_m[0])
    checked = 0
    for p in got.rows():
        slack = 1_000_000  # 1 ms: the two searches bisect independently
        outer = plain.select((plain.sat_index == p.sat_index)
                             & (plain.aos.ns <= int(p.aos) + slack)
                             & (plain.los.ns >= int(p.los) - slack))
        assert len(outer) == 1
        if p.partial:
            continue
        sat = EarthSatellite.from_satrec(starlink_30.satrecs[p.sat_index], ts)
        alt, az, _ = (sat - topos).at(skyfield_times(ts, Time([int(p.aos), int(p.los)]))).altaz()
        threshold = masked.min_elevation_at_deg(np.zeros(2, int), az.radians)
        np.testing.assert_allclose(alt.degrees, threshold, atol=1e-3)
        checked += 1
    assert checked > 3
    # An explicit min_elevation_deg replaces both the node threshold and the mask.
    override = find_passes(starlink_30, masked, START, DAY_NS, min_elevation_deg=10.0)
    assert np.array_equal(override.aos.ns, plain.aos.ns)


def test_max_range(starlink_30):
    from skyfield.api import EarthSatellite, wgs84

    site = SITES.select([3]).with_min_elevation(0.0)
    limited = site.with_max_range(1.5e6)
    plain = find_passes(starlink_30, site, START, DAY_NS // 2)
    got = find_passes(starlink_30, limited, START, DAY_NS // 2)
    assert 0 < len(got) <= len(plain)
    assert np.sum(got.duration_s) < 0.8 * np.sum(plain.duration_s)
    ts = skyfield_timescale()
    topos = wgs84.latlon(site.lat_deg[0], site.lon_deg[0], elevation_m=site.alt_m[0])
    for p in list(got.rows())[:10]:
        sat = EarthSatellite.from_satrec(starlink_30.satrecs[p.sat_index], ts)
        alt, _, dist = (sat - topos).at(skyfield_times(ts, Time([int(p.aos), int(p.tca),
                                                                 int(p.los)]))).altaz()
        # Within 10 m: the Hermite interpolation's own error (≲ 7 m) against Skyfield's SGP4.
        assert np.all(dist.m <= 1.5e6 + 10.0) and np.all(alt.degrees >= -1e-6)
        at_edge = np.abs(dist.m[[0, 2]] - 1.5e6) < 10.0
        assert at_edge.all() or p.partial


def test_geostationary_satellites_never_set(shared_data):
    geo = read_tle(shared_data / GEO_TLE, every=20)
    geo = geo.select((geo.inclination_rad < np.radians(0.1)) & (geo.eccentricity < 0.001))
    # A site under the first satellite sees it all day; its antipode never does.
    sub_lon = float(np.degrees(SGP4Propagator().propagate(geo.select([0]), START,
                                                          frame="ITRF").geodetic()[1][0, 0]))
    sites = GroundNodes.from_arrays(["under", "antipode"], [0.0, 0.0],
                                    [sub_lon, (sub_lon + 360) % 360 - 180], 0.0)
    found = find_passes(geo.select([0]), sites, START, DAY_NS, min_elevation_deg=5.0)
    assert len(found) == 1
    (p,) = found.rows()
    assert p.node_name == "under" and p.partial
    assert p.aos == START and p.los == START + DAY_NS
    assert p.max_elevation_deg > 85.0
    assert default_coarse_step_ns(geo) == 600 * ONE_SECOND_NS


def test_satellites_that_never_rise(shared_data):
    """The 53° Starlink shells never clear the South Pole's horizon (they stay ≥ 37° away)."""
    sats = read_tle(shared_data / STARLINK_TLE, every=50)
    sats = sats.select(sats.inclination_rad < np.radians(54))
    pole = GroundNodes.from_arrays(["Amundsen-Scott"], [-90.0], [0.0], [2835.0])
    assert len(sats) > 50
    assert len(find_passes(sats, pole, START, DAY_NS, min_elevation_deg=0.0)) == 0


def test_results_and_accessors(starlink_30):
    ground = SITES.with_min_elevation(25.0)
    calls = []
    found = find_passes(starlink_30, ground, START, DAY_NS // 4,
                        progress=lambda done, total: calls.append((done, total)))
    assert calls and calls[-1][0] == calls[-1][1]
    assert np.all(np.diff(found.aos.ns) >= 0)  # sorted by AOS
    assert np.all((found.aos.ns <= found.tca.ns) & (found.tca.ns <= found.los.ns))
    assert np.all(found.max_elevation_deg >= 25.0 - 1e-6)
    rows = list(found.rows())
    assert len(rows) == len(found)
    assert [r.norad_id for r in rows] == list(found.norad_ids)
    assert [r.satellite_name for r in rows] == list(found.satellite_names)
    assert [r.node_name for r in rows] == list(found.node_names)
    assert np.allclose([r.duration_s for r in rows], found.duration_s)
    assert "passes" in repr(found)


def test_empty_inputs(starlink_30):
    none = find_passes(starlink_30, SITES.select([]), START, DAY_NS)
    assert len(none) == 0 and list(none) == []
    no_sats = find_passes(starlink_30.select([]), SITES, START, DAY_NS)
    assert len(no_sats) == 0
    with pytest.raises(UsageError):
        find_passes(starlink_30, SITES, START, 0)
    with pytest.raises(UsageError):
        find_passes(starlink_30, SITES, START, DAY_NS, min_elevation_deg=95.0)
    with pytest.raises(UsageError):
        find_passes(starlink_30, "Boulder", START, DAY_NS)  # type: ignore[arg-type]


def test_elementset_concat_keeps_indices(starlink_30):
    """Satellite indices refer to the searched set (concatenation order)."""
    both = ElementSet.concat([starlink_30.select([0, 1]), starlink_30.select([2, 3])])
    found = find_passes(both, SITES, START, DAY_NS, min_elevation_deg=10.0)
    assert set(found.sat_index) <= {0, 1, 2, 3}
    assert set(found.norad_ids) <= set(both.norad_ids)


class _PlainSGP4:
    """An SGP4 propagator that is not an ``SGP4Propagator``: forces SGP4 screening."""

    frame = "TEME"
    accuracy = "SGP4"

    def propagate(self, elements, times):
        return SGP4Propagator().propagate(elements, times)


def test_secular_screening_misses_nothing(shared_data):
    """Screening with the secular model (the default) finds the same passes as screening with
    SGP4 states, and every 10 s sample above the threshold of a brute-force SGP4 scan lies in a
    found pass — on 300 Starlink satellites including the 60 with the strongest drag, with a
    horizon-grazing threshold (0°) and a high one (25°)."""
    from orbemu import load_elements
    from orbemu.orbits.secular import secular_elements

    sats = load_elements("starlink")
    drag = np.argsort(-np.abs(secular_elements(sats).drag_cubic_per_s3))[:60]
    sats = sats.select(np.union1d(np.linspace(0, len(sats) - 1, 240).astype(int), drag))
    ground = SITES.select([0, 3]).with_min_elevation([0.0, 25.0])
    duration = 8 * 3600 * ONE_SECOND_NS
    fast = find_passes(sats, ground, START, duration)
    slow = find_passes(sats, ground, START, duration, propagator=_PlainSGP4())
    assert len(fast) == len(slow) > 100
    assert np.array_equal(fast.sat_index, slow.sat_index)
    assert np.abs(fast.aos.ns - slow.aos.ns).max() < 1_000_000
    assert np.abs(fast.los.ns - slow.los.ns).max() < 1_000_000
    times = Time.range(START, duration, 10 * ONE_SECOND_NS)
    eph = SGP4Propagator().propagate(sats, times, frame="ITRF")
    for k in range(len(ground)):
        _, el, _ = topocentric(eph.position_m, ground.itrf_m[k], ground.enu[k])
        sat, col = np.nonzero(np.degrees(el) >= ground.min_elevation_deg[k])
        mine = fast.select(fast.node_index == k)
        # Each visible sample must fall in a pass of its satellite: passes sorted by (sat, aos).
        order = np.lexsort((mine.aos.ns, mine.sat_index))
        s_sorted, a_sorted = mine.sat_index[order], mine.aos.ns[order]
        l_sorted = mine.los.ns[order]
        t = times.ns[col]
        pos = np.searchsorted(s_sorted, sat, side="left")
        inside = np.zeros(sat.size, bool)
        for shift in range(8):  # at most a few passes of one satellite in 8 h over one site
            p = np.minimum(pos + shift, s_sorted.size - 1)
            inside |= (s_sorted[p] == sat) & (a_sorted[p] <= t) & (t <= l_sorted[p])
        assert inside.all()
        assert sat.size > 500
