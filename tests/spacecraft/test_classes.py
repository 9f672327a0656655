"""Spacecraft classes from scenario mappings: defaults, validation, per-satellite arrays."""

from __future__ import annotations

import numpy as np
import pytest

from orbemu.errors import InputError, UsageError
from orbemu.spacecraft import FleetParams, ImagerSpec, SpacecraftClass, spacecraft_class

EO = {
    "solar_array": {"area_m2": 1.2, "efficiency": 0.3, "degradation": 0.85,
                    "normal": "orbit_normal"},
    "battery": {"capacity_wh": 400, "initial_soc": 0.7},
    "loads": {"bus_w": 20, "payload_w": 60},
    "storage": {"capacity_bits": 4e12},
    "attitude": {"slew_rate_deg_s": 3, "settle_s": 5, "default_mode": "Target"},
    "imager": {"pixels_across": 12000, "pixels_along": 12000, "bands": 5, "bits_per_pixel": 12,
               "compression_ratio": 3.0},
}


def test_build_from_a_mapping() -> None:
    c = spacecraft_class("eo", EO)
    assert c.solar_array.area_m2 == 1.2 and c.solar_array.normal_body() == (0.0, -1.0, 0.0)
    assert c.battery.capacity_wh == 400 and c.battery.min_soc == 0.2  # default kept
    assert c.attitude.default_mode == "target"
    assert c.imager is not None
    # 12,000 × 12,000 pixels × 5 bands × 12 bit / 3 = 2.88 Gbit per scene.
    assert c.imager.bits_per_image == 12000 * 12000 * 5 * 12 / 3.0 == 2.88e9
    assert spacecraft_class("relay", {"imager": None}).imager is None


def test_normal_as_numbers_is_normalised() -> None:
    c = spacecraft_class("c", {"solar_array": {"normal": [0, 3, 4]}})
    assert c.solar_array.normal_body() == pytest.approx((0.0, 0.6, 0.8))


@pytest.mark.parametrize(("data", "field", "words"), [
    ({"batery": {}}, "sats.eo.batery", "did you mean 'battery'"),
    ({"battery": {"capacity_whh": 3}}, "sats.eo.battery.capacity_whh", "capacity_wh"),
    ({"battery": {"capacity_wh": -5}}, "sats.eo.battery.capacity_wh", "> 0"),
    ({"battery": {"capacity_wh": "big"}}, "sats.eo.battery.capacity_wh", "number"),
    ({"battery": {"safe_enter_soc": 0.7}}, "sats.eo.battery", "safe_enter_soc < safe_exit_soc"),
    ({"battery": {"initial_soc": 0.1}}, "sats.eo.battery.initial_soc", "between min_soc"),
    ({"solar_array": {"normal": "zenit"}}, "sats.eo.solar_array.normal", "did you mean 'zenith'"),
    ({"solar_array": {"normal": [0, 0, 0]}}, "sats.eo.solar_array.normal", "non-zero"),
    ({"attitude": {"default_mode": "inertial"}}, "sats.eo.attitude.default_mode", "nadir"),
    ({"imager": {"bands": 2.5}}, "sats.eo.imager.bands", "integer"),
    ({"imager": {"min_elevation_deg": -5}}, "sats.eo.imager.min_elevation_deg", ">= 0"),
    ({"imager": 3}, "sats.eo.imager", "mapping"),
])
def test_errors_name_the_file_the_path_and_the_fix(data, field, words) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError) as info:
        spacecraft_class("eo", data, source="mission.yaml", path="sats.eo")
    err = info.value
    assert err.source == "mission.yaml"
    assert err.field == field
    assert words in str(err)


def test_direct_construction_validates_too() -> None:
    with pytest.raises(InputError):
        SpacecraftClass(imager=ImagerSpec(compression_ratio=0.5))


def test_fleet_params_broadcast_classes() -> None:
    a = spacecraft_class("a", EO)
    b = spacecraft_class("b", {"imager": None, "battery": {"capacity_wh": 50}})
    fp = FleetParams.from_classes([a, b], [0, 1, 1, 0])
    np.testing.assert_array_equal(fp.power.capacity_wh, [400, 50, 50, 400])
    np.testing.assert_array_equal(fp.imager.has_imager, [True, False, False, True])
    np.testing.assert_array_equal(fp.imager.bits_per_image, [2.88e9, 0, 0, 2.88e9])
    np.testing.assert_allclose(fp.attitude.slew_rate_rad_s[0], np.radians(3.0))
    with pytest.raises(UsageError):
        FleetParams.from_classes([a, b], [0, 2])
    with pytest.raises(UsageError):
        FleetParams.from_classes([a, b], 3)
