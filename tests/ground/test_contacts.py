"""Contact windows against pass finding and the link budget; stations' models."""

from __future__ import annotations

import numpy as np
import pytest

from orbemu.constants import DEG
from orbemu.errors import UsageError
from orbemu.ground.contacts import contact_windows, contact_windows_from_passes
from orbemu.ground.stations import X_BAND_EO, GroundStations, LinkProfile
from orbemu.links.budget import radio_budget
from orbemu.orbits.frames import topocentric
from orbemu.orbits.ground_nodes import GroundNodes
from orbemu.orbits.passes import find_passes
from orbemu.orbits.propagation import propagate
from orbemu.orbits.walker import walker_delta
from orbemu.time import Time
from tests.conftest import ONE_SECOND_NS

START = Time.parse("2026-05-30T00:00:00Z")
DURATION_NS = 6 * 3600 * 10**9


@pytest.fixture(scope="module")
def sats():
    return walker_delta(3, 4, 1, inclination_deg=97.6, altitude_m=500e3, epoch=START)


@pytest.fixture(scope="module")
def nodes():
    return GroundNodes.from_arrays(["Svalbard", "Troll", "Hartebeesthoek"],
                                   [78.23, -72.01, -25.89], [15.41, 2.53, 27.69],
                                   [500.0, 1270.0, 1555.0], min_elevation_deg=5.0)


@pytest.fixture(scope="module")
def passes(sats, nodes):
    return find_passes(sats, nodes, START, DURATION_NS)


def test_windows_are_the_passes(sats, nodes, passes):
    st = GroundStations.from_nodes(nodes)
    cw = contact_windows(sats, st, START, DURATION_NS)
    assert len(cw) == len(passes) > 10
    # Same rows (both sorted by AOS, then satellite, then node).
    assert np.array_equal(cw.sat, passes.sat_index)
    assert np.array_equal(cw.station, passes.node_index)
    assert np.array_equal(cw.aos_ns, passes.aos.ns)
    assert np.array_equal(cw.los_ns, passes.los.ns)
    assert np.array_equal(cw.tca_ns, passes.tca.ns)
    assert np.allclose(cw.max_elevation_deg, passes.max_elevation_deg)
    # Pointing at AOS is at the elevation threshold (5°), within the interpolation error.
    full = ~cw.partial
    assert np.allclose(cw.aos_el_deg[full], 5.0, atol=0.05)
    assert np.allclose(cw.los_el_deg[full], 5.0, atol=0.05)


def test_constant_rate_volume_is_exact(sats, nodes, passes):
    st = GroundStations.from_nodes(nodes, profile=LinkProfile.fixed(2e6, 64e3))
    cw = contact_windows_from_passes(passes, sats, st, samples_per_window=5)
    assert np.array_equal(cw.volume_down_bits, 2e6 * cw.duration_s)
    assert np.array_equal(cw.volume_up_bits, 64e3 * cw.duration_s)
    assert np.allclose(cw.mean_down_bps, 2e6, rtol=1e-12) and np.all(cw.peak_down_bps == 2e6)
    i = np.arange(len(cw))
    mid = (cw.aos_ns + cw.los_ns) // 2
    assert np.allclose(cw.volume_bits(i, cw.aos_ns - 10**12, mid),
                       2e6 * (mid - cw.aos_ns) / 1e9, rtol=1e-12)
    assert np.all(cw.rate_bps(i, mid) == 2e6)
    assert np.all(cw.rate_bps(i, cw.los_ns + 1) == 0.0)


def test_budget_rates_along_the_pass(sats, nodes, passes):
    """Samples equal the budget at independently computed geometry; the volume integrates a
    dense evaluation of the budget within 1 %."""
    st = GroundStations.from_nodes(nodes, profile=X_BAND_EO)
    cw = contact_windows_from_passes(passes, sats, st, samples_per_window=11)
    j = int(np.argmax(cw.duration_s))
    s, k = int(cw.sat[j]), int(cw.station[j])
    dense = Time(np.linspace(cw.aos_ns[j], cw.los_ns[j], 2001).astype(np.int64))
    r = propagate(sats.select([s]), dense, frame="ITRF").position_m[0]
    _az, el, rng = topocentric(r, nodes.itrf_m[k], nodes.enu[k])
    rate = radio_budget(X_BAND_EO.downlink, rng, el, lat_rad=nodes.lat_deg[k] * DEG,
                        lon_rad=nodes.lon_deg[k] * DEG, station_alt_m=nodes.alt_m[k]).rate_bps
    samples = rate[::200]  # the 11 sample instants
    assert np.allclose(cw.rate_down_bps[j], samples, rtol=1e-6)
    dense_volume = np.trapezoid(rate, dense.ns / 1e9)
    assert cw.volume_down_bits[j] == pytest.approx(dense_volume, rel=0.01)
    assert 100e6 < cw.mean_down_bps[j] < cw.peak_down_bps[j] <= 400e6
    assert np.all(cw.rate_up_bps == np.float32(64e3))


def test_outages_cut_windows(sats, nodes, passes):
    base = GroundStations.from_nodes(nodes)
    j = int(np.argmax(passes.duration_s))
    k = int(passes.node_index[j])
    a, b = int(passes.aos.ns[j]), int(passes.los.ns[j])
    o0, o1 = a + (b - a) // 3, a + 2 * (b - a) // 3
    st = base.with_outages([(str(nodes.names[k]), o0, o1), (k, 0, 1)])
    cw = contact_windows_from_passes(passes, sats, st, samples_per_window=5)
    at_k = cw.station == k
    pk = passes.node_index == k
    overlap = np.clip(np.minimum(passes.los.ns[pk], o1) - np.maximum(passes.aos.ns[pk], o0), 0,
                      None)
    assert (cw.los_ns - cw.aos_ns)[at_k].sum() == (passes.los.ns - passes.aos.ns)[pk].sum() \
        - overlap.sum()
    assert not np.any(at_k & (cw.aos_ns < o1) & (cw.los_ns > o0))
    pieces = np.flatnonzero(at_k & (cw.sat == passes.sat_index[j]) & (cw.aos_ns >= a)
                            & (cw.los_ns <= b))
    assert [(cw.aos_ns[p], cw.los_ns[p]) for p in pieces] == [(a, o0), (o1, b)]
    assert cw.partial[pieces].all()
    # Whole outage: no windows at that station.
    st_all = base.with_outages([(k, int(START) - ONE_SECOND_NS, int(START) + DURATION_NS)])
    assert not np.any(contact_windows_from_passes(passes, sats, st_all).station == k)


def test_stations_slew_and_validation(nodes):
    st = GroundStations.from_nodes(nodes, setup_s=30.0, slew_fixed_s=5.0, slew_rate_deg_s=2.0)
    # Azimuth the short way round (350° → 10° is 20°); the slower axis sets the time.
    assert st.slew_s(0, 350.0, 10.0, 10.0, 20.0) == pytest.approx(5.0 + 20.0 / 2.0)
    assert st.slew_s(0, 0.0, 10.0, 0.0, 70.0) == pytest.approx(5.0 + 60.0 / 2.0)
    assert st.gap_s(0, 0.0, 5.0, 180.0, 5.0) == pytest.approx(30.0 + 5.0 + 90.0)
    assert st.max_gap_s[0] == pytest.approx(30.0 + 5.0 + 90.0)
    fixed = GroundStations.from_nodes(nodes, slew_fixed_s=20.0, slew_rate_deg_s=np.inf)
    assert fixed.slew_s(1, 0.0, 0.0, 180.0, 90.0) == 20.0
    with pytest.raises(UsageError, match="antennas"):
        GroundStations.from_nodes(nodes, antennas=[1, 2])
    with pytest.raises(UsageError, match="slew_rate"):
        GroundStations.from_nodes(nodes, slew_rate_deg_s=0.0)
    with pytest.raises(UsageError, match="setup_s"):
        GroundStations.from_nodes(nodes, setup_s=-1.0)
    with pytest.raises(UsageError, match="no ground node"):
        GroundStations.from_nodes(nodes, outages=[("Nowhere", 0, 1)])
    with pytest.raises(UsageError, match="rate"):
        LinkProfile.fixed(-1.0)


def test_zero_antenna_stations_give_no_windows(sats, nodes, passes):
    st = GroundStations.from_nodes(nodes, antennas=[1, 0, 1])
    cw = contact_windows_from_passes(passes, sats, st)
    assert not np.any(cw.station == 1)
    assert len(cw) == int(np.count_nonzero(passes.node_index != 1))
