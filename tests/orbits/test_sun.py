"""The Sun's position and the Earth's shadow against JPL DE421 (through Skyfield) and geometry."""

from __future__ import annotations

import numpy as np
import pytest

from orbemu.constants import AU_M, EARTH_RADIUS_M, NS_PER_S, SUN_RADIUS_M
from orbemu.errors import UsageError
from orbemu.orbits.events import bisect_roots
from orbemu.orbits.propagation import SGP4Propagator
from orbemu.orbits.sun import (
    find_eclipses,
    illuminated_fraction,
    shadow_function,
    shadow_function_reference,
    sun_direction,
    sun_position_m,
)
from orbemu.time import Time, eop_coverage
from tests.conftest import ONE_SECOND_NS
from tests.orbits.references import (
    GEO_TLE,
    STARLINK_TLE,
    STATIONS_TLE,
    angle_between_deg,
    read_tle,
    skyfield_data_dir,
    skyfield_times,
    skyfield_timescale,
    skyfield_to_ns,
)

DAY_NS = 86_400 * ONE_SECOND_NS
#: Documented accuracy of the low-precision series (Meeus ch. 25).
SUN_DIRECTION_TOLERANCE_DEG = 0.01
SUN_DISTANCE_TOLERANCE_M = 1e-4 * AU_M


@pytest.fixture(scope="module")
def de421():
    from skyfield.jpllib import SpiceKernel

    kernel = SpiceKernel(str(skyfield_data_dir() / "de421.bsp"))
    yield kernel
    kernel.close()


def _skyfield_sun(de421, times, frame):
    t = skyfield_times(skyfield_timescale(), times)
    return (de421["sun"] - de421["earth"]).at(t).frame_xyz(frame).m.T


@pytest.mark.parametrize("frame", ["TEME", "TOD", "ITRF"])
def test_sun_matches_de421(de421, frame):
    from skyfield.framelib import itrs, true_equator_and_equinox_of_date
    from skyfield.sgp4lib import TEME

    sky_frame = {"TEME": TEME, "TOD": true_equator_and_equinox_of_date, "ITRF": itrs}[frame]
    # 1990–2050, 3000 instants at an irregular spacing (not locked to days or years). In ITRF
    # only up to the end of the bundled UT1 table: beyond it Skyfield extrapolates ΔT with its
    # long-term model and we hold the last value, and the Earth's rotation angle drifts apart.
    a = Time.parse("1990-01-01").ns
    b = eop_coverage().ut1_until.ns if frame == "ITRF" else Time.parse("2050-12-31").ns
    times = Time(np.linspace(a, b, 3000).astype(np.int64) + 12_345 * ONE_SECOND_NS)
    ref = _skyfield_sun(de421, times, sky_frame)
    unit, dist = sun_direction(times, frame=frame)
    assert np.allclose(np.linalg.norm(unit, axis=-1), 1.0)
    err = angle_between_deg(unit, ref)
    assert err.max() < SUN_DIRECTION_TOLERANCE_DEG
    assert np.median(err) < 0.004  # typically 0.003°: the 0.01° is a worst case
    assert np.abs(dist - np.linalg.norm(ref, axis=-1)).max() < SUN_DISTANCE_TOLERANCE_M
    np.testing.assert_allclose(sun_position_m(times, frame=frame), unit * dist[:, None])


def test_sun_scalar_time_and_aberration():
    t = Time.parse("2026-05-30T12:00:00Z")
    unit, dist = sun_direction(t)
    assert unit.shape == (3,) and dist.shape == ()
    apparent, _ = sun_direction(t, aberration=True)
    shift_arcsec = float(angle_between_deg(unit, apparent)) * 3600
    assert 20.0 < shift_arcsec < 21.0  # annual aberration 20.5″ (scaled by 1/R in au)
    with pytest.raises(UsageError):
        sun_direction(t, frame="GCRS")  # type: ignore[arg-type]


@pytest.mark.parametrize("model", ["cylindrical", "point", "penumbra", "umbra"])
def test_shadow_kernel_matches_numpy_reference(model):
    rng = np.random.default_rng(11)
    r = rng.normal(size=(40, 30, 3)) * 7e6
    s = rng.normal(size=(30, 3)) * AU_M
    r[2, 5] = np.nan
    ours = shadow_function(r, s, model)
    ref = shadow_function_reference(r, s, model)
    assert ours.shape == (40, 30)
    assert np.isnan(ours[2, 5]) and np.isnan(ref[2, 5])
    tol = 1e-6 if model == "cylindrical" else 1e-12  # a micrometre, or a picoradian
    np.testing.assert_allclose(ours, ref, rtol=0, atol=tol)
    # Other broadcast layouts go through the same kernel.
    np.testing.assert_allclose(shadow_function(r[:, 0], s[0], model), ref[:, 0], atol=tol)
    np.testing.assert_allclose(shadow_function(r[0, 0], s[0], model), ref[0, 0], atol=tol)


def _sat_on_shadow_axis(offset_m, alt_m=550e3):
    """Satellite positions behind the Earth at distance ``offset_m`` from the shadow axis."""
    sun = np.array([AU_M, 0.0, 0.0])
    x = -(EARTH_RADIUS_M + alt_m)
    return np.stack([np.full_like(offset_m, x), offset_m, np.zeros_like(offset_m)], -1), sun


def test_illuminated_fraction_geometry():
    r, sun = _sat_on_shadow_axis(np.linspace(0, 9e6, 2000))
    frac = illuminated_fraction(r, sun)
    assert frac[0] == 0.0 and frac[-1] == 1.0
    assert np.all(np.diff(frac) >= -1e-12)  # more light further from the axis
    g_point = shadow_function(r, sun, "point")
    g_pen = shadow_function(r, sun, "penumbra")
    g_umb = shadow_function(r, sun, "umbra")
    assert np.all(frac[g_umb < 0] == 0.0) and np.all(frac[g_pen > 0] == 1.0)
    partial = (g_umb > 0) & (g_pen < 0)
    assert np.all((frac[partial] > 0) & (frac[partial] < 1))
    # Where the limb crosses the Sun's centre, about half the disk is lit (the limb is nearly
    # straight at the Sun's 0.27° scale).
    def g_at(offset):
        return shadow_function(*_sat_on_shadow_axis(offset), "point")

    edge = bisect_roots(g_at, np.array([5e6]), np.array([8e6]))
    assert abs(float(illuminated_fraction(*_sat_on_shadow_axis(edge))[0]) - 0.5) < 0.005
    # The penumbra's angular width is the Sun's angular diameter.
    sun_diam = 2 * np.arcsin(SUN_RADIUS_M / AU_M)
    assert abs((g_umb - g_pen)[0] - sun_diam) < 1e-6
    # Cylinder and point-Sun boundaries differ only by the Sun's parallax (~9″ from LEO).
    inside_cyl = shadow_function(r, sun, "cylindrical") < 0
    assert abs(int(inside_cyl.sum()) - int((g_point < 0).sum())) <= 2
    assert np.array_equal(illuminated_fraction(r, sun, "point"), (g_point > 0).astype(float))
    with pytest.raises(UsageError):
        illuminated_fraction(r, sun, "umbra")  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        shadow_function(r, sun, "conical")  # type: ignore[arg-type]


# ---- eclipse search against Skyfield ------------------------------------------------------------

#: Window of the eclipse comparisons: one day.
START = Time.parse("2026-05-30T00:00:00Z")


def _skyfield_transitions(de421, satrec, start, duration_ns):
    """Instants (int ns UTC) where Skyfield's ``is_sunlit`` flips, found to 1 ms."""
    from skyfield.api import EarthSatellite
    from skyfield.searchlib import find_discrete

    ts = skyfield_timescale()
    sat = EarthSatellite.from_satrec(satrec, ts)

    def sunlit(t):
        return sat.at(t).is_sunlit(de421)

    sunlit.step_days = 300.0 / 86_400.0  # shorter than any LEO eclipse or sunlit arc here
    t, _ = find_discrete(skyfield_times(ts, start), skyfield_times(ts, start + duration_ns),
                         sunlit)
    return skyfield_to_ns(t)


def _our_transitions(eclipses, i):
    """Entries and exits of satellite ``i``, leaving out the window edges of partial ones."""
    k = eclipses.sat_index == i
    entry, exit_ = eclipses.entry.ns[k], eclipses.exit.ns[k]
    edges = np.concatenate([entry[entry != int(START)], exit_[exit_ != int(START + DAY_NS)]])
    return np.sort(edges)


@pytest.fixture(scope="module")
def eclipse_sample(shared_data_dir):
    starlink = read_tle(shared_data_dir / STARLINK_TLE, every=400)
    stations = read_tle(shared_data_dir / STATIONS_TLE)
    from orbemu.orbits.elements import ElementSet
    return ElementSet.concat([starlink, stations])


@pytest.fixture(scope="module")
def shared_data_dir():
    from tests.conftest import SHARED_DATA

    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data folder {SHARED_DATA} not present")
    return SHARED_DATA


def test_eclipse_times_match_skyfield(de421, eclipse_sample):
    """Entry/exit within 1 s of Skyfield's ``is_sunlit`` transitions (observed ≲ 0.3 s: the
    difference is the low-precision Sun, ~0.003° ≈ 0.1 s of LEO orbit)."""
    sats = eclipse_sample
    ours = find_eclipses(sats, START, DAY_NS, model="point")
    n_events = 0
    worst = 0.0
    for i, satrec in enumerate(sats.satrecs):
        ref = _skyfield_transitions(de421, satrec, START, DAY_NS)
        got = _our_transitions(ours, i)
        assert got.size == ref.size, f"{sats.names[i]}: {got.size} vs {ref.size} transitions"
        if got.size:
            worst = max(worst, float(np.abs(got - ref).max()) / NS_PER_S)
        n_events += got.size
    assert n_events > 500
    assert worst < 1.0


def test_conical_boundaries_bracket_the_point_model(eclipse_sample):
    """Penumbra starts before and umbra after the point-Sun entry, by the time the Sun's
    semi-diameter takes to set behind the limb (~4–15 s in LEO, longer at grazing geometry)."""
    sats = eclipse_sample.select(slice(0, 26))  # the Starlink part
    res = {m: find_eclipses(sats, START, DAY_NS, model=m) for m in ("penumbra", "point",
                                                                    "umbra", "cylindrical")}
    point, pen, umb, cyl = res["point"], res["penumbra"], res["umbra"], res["cylindrical"]
    assert len(point) == len(pen) == len(umb) == len(cyl)

    def by_satellite(e):
        order = np.lexsort((e.entry.ns, e.sat_index))
        return e.sat_index[order], e.entry.ns[order], e.exit.ns[order], e.partial[order]

    for a, b in ((pen, point), (point, umb)):
        sat_a, entry_a, exit_a, partial_a = by_satellite(a)
        sat_b, entry_b, exit_b, _ = by_satellite(b)
        assert np.array_equal(sat_a, sat_b)
        lead = (entry_b - entry_a)[~partial_a] / NS_PER_S
        lag = (exit_a - exit_b)[~partial_a] / NS_PER_S
        assert np.all((lead > 2) & (lead < 60)) and np.all((lag > 2) & (lag < 60))
    # The cylinder differs from the point Sun by the Sun's parallax only: well under a second.
    assert np.abs(by_satellite(cyl)[1] - by_satellite(point)[1]).max() < 0.2 * NS_PER_S


def test_eclipse_search_is_chunk_independent(eclipse_sample):
    sats = eclipse_sample.select(slice(0, 26))
    a = find_eclipses(sats, START, DAY_NS // 4)
    tiny = SGP4Propagator(chunk_bytes=26 * 49 * 7)  # seven instants per chunk
    b = find_eclipses(sats, START, DAY_NS // 4, propagator=tiny)
    assert np.array_equal(a.sat_index, b.sat_index)
    assert np.abs(a.entry.ns - b.entry.ns).max() < 1000  # 1 µs
    assert np.abs(a.exit.ns - b.exit.ns).max() < 1000


def test_eclipses_clipped_to_window_are_partial(eclipse_sample):
    some = find_eclipses(eclipse_sample.select(slice(0, 26)), START, DAY_NS)
    sats = eclipse_sample.select([some.sat_index[~some.partial][0]])
    full = find_eclipses(sats, START, DAY_NS)
    first = next(e for e in full if not e.partial)
    assert not first.partial and 1000 < first.duration_s < 3000
    mid = first.entry + (int(first.exit) - int(first.entry)) // 2
    late = find_eclipses(sats, mid, DAY_NS // 2)
    assert late.partial[0] and late.entry[0] == mid
    assert abs(int(late.exit[0]) - int(first.exit)) < ONE_SECOND_NS // 1000
    early = find_eclipses(sats, START, int(mid) - int(START))
    assert early.partial[-1] and early.exit[-1] == mid
    assert not early.partial[:-1].any()


def test_geo_eclipse_seasons(shared_data_dir):
    """GEO satellites see no eclipse near the solstice, and ~70-minute eclipses at the equinox
    (the Earth's shadow at 42,164 km subtends ±8.7°; the Sun's declination is 21.8° in late May)."""
    geo = read_tle(shared_data_dir / GEO_TLE, every=20)
    geo = geo.select((geo.inclination_rad < np.radians(0.1)) & (geo.eccentricity < 0.001))
    assert len(geo) >= 5
    solstice = find_eclipses(geo, Time.parse("2026-06-10T00:00:00Z"), DAY_NS)
    assert len(solstice) == 0
    equinox = find_eclipses(geo, Time.parse("2026-03-20T00:00:00Z"), DAY_NS)
    complete = equinox.duration_s[~equinox.partial]
    assert complete.size >= 1
    assert np.all((complete > 60 * 60) & (complete < 73 * 60))


def test_failed_propagation_is_not_an_eclipse():
    """A decayed satellite (SGP4 error mid-window) yields no spurious entries or exits."""
    from sgp4.api import Satrec

    from orbemu.orbits.elements import ElementSet

    # A very low orbit with heavy drag: SGP4 reports decay within hours.
    line1 = "1 99999U 26001A   26150.00000000  .99999999  00000-0  99999-1 0  9990"
    line2 = "2 99999  51.6000 100.0000 0001000  90.0000 270.0000 16.40000000    07"
    decayed = ElementSet.from_satrecs([Satrec.twoline2rv(line1, line2)])
    found = find_eclipses(decayed, Time.parse("2026-05-30T00:00:00Z"), 5 * DAY_NS)
    eph = SGP4Propagator().propagate(decayed, Time.range("2026-05-30T00:00:00Z", "5d", "10m"))
    assert (eph.status != 0).any()  # the premise: it does fail
    fail_ns = int(eph.times.ns[np.argmax(eph.status[0] != 0)])
    assert np.all(found.exit.ns <= fail_ns)
