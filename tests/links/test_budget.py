"""Link budgets against the textbook, the ITU-R Recommendations and an independent implementation.

Independent reference values marked "itur" were computed with the ``itur`` package 0.4.0
(iportillo/ITU-Rpy: P.676-12, P.838-3, P.839-4, P.618-13) on 2026-11-22; it is not a dependency.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from orbemu import GroundNodes
from orbemu.constants import EARTH_RADIUS_M
from orbemu.errors import UsageError
from orbemu.links import ground_links
from orbemu.links.budget import (
    DVBS2_MODCODS,
    KA_GATEWAY_DOWNLINK,
    KU_USER_DOWNLINK,
    OPTICAL_ISL,
    RadioLink,
    dvbs2_rate,
    fspl_db,
    gaseous_attenuation_db,
    gaseous_zenith_attenuation_db,
    ground_link_capacity,
    optical_capacity_bps,
    radio_budget,
    rain_attenuation_db,
    rain_coefficients,
    rain_height_m,
    shannon_rate_bps,
)

GHZ = 1e9


def test_fspl_textbook():
    # FSPL = 20 log10(d_km) + 20 log10(f_GHz) + 92.45 dB
    assert fspl_db(1e3, 1 * GHZ) == pytest.approx(92.448, abs=1e-3)
    assert fspl_db(35_786e3, 12 * GHZ) == pytest.approx(
        20 * math.log10(35_786) + 20 * math.log10(12) + 92.448, abs=1e-3)
    assert fspl_db(550e3, 11.7 * GHZ) == pytest.approx(168.62, abs=0.01)
    assert fspl_db(2e6, 2e10) - fspl_db(1e6, 2e10) == pytest.approx(6.0206, abs=1e-4)


@pytest.mark.parametrize(("f_ghz", "itur_db"), [
    (12.0, 0.0589), (20.0, 0.2440), (22.235, 0.4869), (30.0, 0.2287), (40.0, 0.3875),
    (50.0, 1.5446)])
def test_gaseous_zenith_against_p676_12(f_ghz, itur_db):
    """P.676-10 Annex 2 here vs the P.676-12 approximation (itur), standard atmosphere."""
    assert gaseous_zenith_attenuation_db(f_ghz * GHZ) == pytest.approx(itur_db, rel=0.08)


def test_gaseous_slant_scaling_and_validity():
    z = gaseous_zenith_attenuation_db(20 * GHZ)
    assert gaseous_attenuation_db(math.radians(30), 20 * GHZ) == pytest.approx(2 * z)
    # held at the 5° value below 5°
    assert gaseous_attenuation_db(math.radians(1), 20 * GHZ) == pytest.approx(
        z / math.sin(math.radians(5)))
    # more water vapour, more loss near the 22 GHz line
    assert gaseous_zenith_attenuation_db(22 * GHZ, water_vapour_g_m3=20.0) > 2 * \
        gaseous_zenith_attenuation_db(22 * GHZ)
    assert np.isnan(gaseous_zenith_attenuation_db(60 * GHZ))


def test_p838_coefficients():
    # P.838-3's printed table at 12, 20 and 30 GHz: k_H, α_H, k_V, α_V
    for f, kh, ah, kv, av in [(12, 0.02386, 1.1825, 0.02455, 1.1216),
                              (20, 0.09164, 1.0568, 0.09611, 0.9847),
                              (30, 0.2403, 0.9485, 0.2291, 0.9129)]:
        k, a = rain_coefficients(f * GHZ, 0.0, 0.0)
        assert (float(k), float(a)) == pytest.approx((kh, ah), rel=2e-4)
        k, a = rain_coefficients(f * GHZ, 0.0, 90.0)
        assert (float(k), float(a)) == pytest.approx((kv, av), rel=2e-4)
    # other frequencies, elevations and tilts, against the itur implementation
    for f, tilt, el, k_ref, a_ref in [(11.7, 45, 30, 0.022118, 1.16156),
                                      (19.0, 0, 40, 0.081991, 1.05257),
                                      (28.75, 90, 60, 0.211967, 0.93694),
                                      (14.25, 45, 30, 0.041319, 1.09520)]:
        k, a = rain_coefficients(f * GHZ, math.radians(el), tilt)
        assert float(k) == pytest.approx(k_ref, rel=1e-4)
        assert float(a) == pytest.approx(a_ref, rel=1e-4)
    with pytest.raises(UsageError, match="1–1000 GHz"):
        rain_coefficients(0.5 * GHZ)


def test_p839_2_rain_height():
    rad = math.radians
    assert rain_height_m(rad(0.0), rad(20.0)) == pytest.approx(5000.0)
    assert rain_height_m(rad(50.0), rad(100.0)) == pytest.approx((5.0 - 0.075 * 27) * 1e3)
    assert rain_height_m(rad(51.5), rad(-0.1)) == pytest.approx((3.2 - 0.075 * 16.5) * 1e3)
    assert rain_height_m(rad(-40.0), rad(0.0)) == pytest.approx((5.0 + 0.1 * -19) * 1e3)
    assert rain_height_m(rad(-80.0), rad(0.0)) == 0.0


@pytest.mark.parametrize(("lat", "lon", "f", "el", "rate", "hr_km", "itur_db"), [
    (51.5, -0.1, 12, 30, 30, 2.4543, 5.1125),
    (51.5, -0.1, 20, 40, 30, 2.4543, 12.0740),
    (3.1, 101.7, 12, 40, 120, 4.9581, 19.3486),
    (3.1, 101.7, 30, 50, 120, 4.9581, 85.2412),
    (40.4, -3.7, 28.75, 30, 25, 3.0048, 25.1629),
    (-33.9, 151.2, 18.95, 60, 50, 3.4177, 17.5088),
    (45, 10, 14.25, 20, 40, 3.2610, 13.2940),
])
def test_p618_rain_attenuation_against_itur(lat, lon, f, el, rate, hr_km, itur_db):
    """P.618-13 steps 2–9 with the same rain height as the reference (P.839-4 maps)."""
    a = rain_attenuation_db(f * GHZ, math.radians(el), rate, math.radians(lat), math.radians(lon),
                            rain_height_above_sea_m=hr_km * 1e3)
    assert float(a) == pytest.approx(itur_db, rel=1e-3)


def test_rain_magnitudes_in_the_published_range():
    """Ku band at 30° in London with R0.01 ≈ 30 mm/h: 0.01 % fades are a few dB (P.618
    predictions for temperate Europe are 3–8 dB); Ka band fades several times larger."""
    lat, lon = math.radians(51.5), math.radians(-0.1)
    ku = float(rain_attenuation_db(12 * GHZ, math.radians(30), 30.0, lat, lon))
    ka = float(rain_attenuation_db(20 * GHZ, math.radians(30), 30.0, lat, lon))
    assert 3.0 < ku < 8.0
    assert 2.0 * ku < ka < 4.0 * ku
    assert rain_attenuation_db(12 * GHZ, 0.5, 0.0, lat) == 0.0
    assert rain_attenuation_db(12 * GHZ, 0.5, 30.0, lat, station_alt_m=6000.0) == 0.0


def test_modcod_table_monotone():
    by_mod: dict[str, list[tuple[float, float]]] = {}
    for m in DVBS2_MODCODS:
        mod, rate = m.name.split()
        num, den = (int(x) for x in rate.split("/"))
        by_mod.setdefault(mod, []).append((num / den, m.esn0_db, m.efficiency_bit_sym))
    for rows in by_mod.values():
        rows.sort()
        assert all(b[1] > a[1] and b[2] > a[2] for a, b in itertools.pairwise(rows))
    es = np.linspace(-5.0, 20.0, 2501)
    rate, eff = dvbs2_rate(es, 1.0)
    assert np.all(np.diff(eff) >= 0.0)
    used = np.unique(eff[eff > 0])
    assert len(used) == 22          # 6 are dominated (e.g. QPSK 8/9 by 8PSK 3/5)
    assert dvbs2_rate(1.00, 1e6)[1] == pytest.approx(0.988858)        # QPSK 1/2 exactly
    assert dvbs2_rate(0.99, 1e6)[1] == pytest.approx(0.789412)        # QPSK 2/5 just below
    assert dvbs2_rate(1.5, 1e6, implementation_margin_db=1.0)[1] == pytest.approx(0.789412)
    assert dvbs2_rate(-3.0, 1e6)[0] == 0.0
    assert dvbs2_rate(30.0, 100e6)[0] == pytest.approx(445.3027e6)
    assert np.isnan(dvbs2_rate(np.nan, 1e6)[0])


def test_shannon():
    assert shannon_rate_bps(0.0, 1e6) == pytest.approx(1e6)
    assert shannon_rate_bps(10 * math.log10(3), 2e6) == pytest.approx(4e6)
    assert shannon_rate_bps(3.0, 1e6, implementation_margin_db=3.0) == pytest.approx(1e6)


def _slant_range(el_rad, alt_m=550e3):
    return -EARTH_RADIUS_M * np.sin(el_rad) + np.sqrt(
        (EARTH_RADIUS_M + alt_m) ** 2 - (EARTH_RADIUS_M * np.cos(el_rad)) ** 2)


def test_rate_increases_with_elevation():
    el = np.radians(np.linspace(25.0, 90.0, 14))
    d = _slant_range(el)
    for link in (KU_USER_DOWNLINK, KA_GATEWAY_DOWNLINK):
        for rain in (0.0, 25.0):
            b = radio_budget(link, d, el, rain_rate_mm_h=rain, lat_rad=math.radians(45.0))
            assert np.all(np.diff(b.esn0_db) > 0)
            assert np.all(np.diff(b.rate_bps) >= 0)
            s = radio_budget(link, d, el, rain_rate_mm_h=rain, lat_rad=math.radians(45.0),
                             rate_model="shannon")
            assert np.all(np.diff(s.rate_bps) > 0)
            assert np.all(s.rate_bps > b.rate_bps)   # DVB-S2 with margin stays under Shannon
    dry = radio_budget(KU_USER_DOWNLINK, d, el)
    wet = radio_budget(KU_USER_DOWNLINK, d, el, rain_rate_mm_h=50.0, lat_rad=math.radians(10))
    assert np.all(wet.rate_bps <= dry.rate_bps) and np.any(wet.rate_bps < dry.rate_bps)
    np.testing.assert_allclose(dry.cn0_dbhz - wet.cn0_dbhz, wet.rain_db)
    with pytest.raises(UsageError, match="rate_model"):
        radio_budget(KU_USER_DOWNLINK, d, el, rate_model="magic")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="positive"):
        RadioLink("bad", 0.0, 1e6, KU_USER_DOWNLINK.transmitter, KU_USER_DOWNLINK.receiver)


def test_ground_link_capacity_and_optical():
    nodes = GroundNodes.from_arrays(["a", "b"], [0.0, 45.0], [0.0, 0.0], min_elevation_deg=25.0)
    el = np.radians([30.0, 80.0])
    sats = []
    for i, e in enumerate(el):
        g = nodes.itrf_m[i]
        enu = nodes.enu[i]
        sats.append(g + _slant_range(e) * (np.cos(e) * enu[1] + np.sin(e) * enu[2]))
    links = ground_links(nodes, np.array(sats))
    assert links.node.tolist() == [0, 1] and links.sat.tolist() == [0, 1]
    np.testing.assert_allclose(links.elevation_rad, el, atol=1e-9)
    cap = ground_link_capacity(links, nodes, KU_USER_DOWNLINK, rain_rate_mm_h=[0.0, 40.0])
    assert np.all(cap.capacity_bps > 0) and np.all(np.isfinite(cap.capacity_bps))
    ref = radio_budget(KU_USER_DOWNLINK, links.length_m, links.elevation_rad,
                       rain_rate_mm_h=np.array([0.0, 40.0])[links.node],
                       lat_rad=np.radians(nodes.lat_deg[links.node]))
    np.testing.assert_allclose(cap.capacity_bps, ref.rate_bps)
    d = np.array([100e3, OPTICAL_ISL.max_range_m, OPTICAL_ISL.max_range_m + 1.0, np.nan])
    assert optical_capacity_bps(OPTICAL_ISL, d).tolist() == [100e9, 100e9, 0.0, 0.0]
