"""Storage: bounds, downlink, dropped data, conservation; full storage stops capture."""

from __future__ import annotations

import numpy as np
import pytest

from orbemu.errors import UsageError
from orbemu.spacecraft import (
    Commands,
    Environment,
    FleetParams,
    FleetState,
    ImagerSpec,
    SpacecraftClass,
    StorageSpec,
    Targets,
    spacecraft_class,
    step_fleet,
    storage_margin_bits,
)
from orbemu.spacecraft.storage import StorageParams, StorageState, has_room, step_storage
from tests.spacecraft.conftest import circular_state


def params(n: int, capacity_bits: float = 1000.0, hk_bps: float = 0.0) -> StorageParams:
    cls = spacecraft_class("c", {"storage": {"capacity_bits": capacity_bits,
                                             "housekeeping_rate_bps": hk_bps}})
    return StorageParams.from_classes([cls], np.zeros(n, np.intp))


def test_write_downlink_and_drop() -> None:
    p = params(4, capacity_bits=1000.0, hk_bps=10.0)
    s = StorageState.initial(p, [0.0, 500.0, 900.0, 1000.0])
    s1, flow = step_storage(s, p, [100.0, 0.0, 200.0, 0.0], [0.0, 300.0, 0.0, 5000.0], 2.0)
    # housekeeping 20 bits each; third overflows by 120; fourth empties completely.
    np.testing.assert_array_equal(flow.written_bits, [120.0, 20.0, 220.0, 20.0])
    np.testing.assert_array_equal(flow.downlinked_bits, [0.0, 300.0, 0.0, 1020.0])
    np.testing.assert_array_equal(flow.dropped_bits, [0.0, 0.0, 120.0, 0.0])
    np.testing.assert_array_equal(s1.used_bits, [120.0, 220.0, 1000.0, 0.0])
    np.testing.assert_array_equal(storage_margin_bits(s1, p), [880.0, 780.0, 0.0, 1000.0])
    np.testing.assert_array_equal(has_room(s1, p, 780.0), [True, True, False, True])


def test_bounds_and_conservation_over_random_steps() -> None:
    rng = np.random.default_rng(7)
    n = 200
    p = params(n, capacity_bits=1e9, hk_bps=1e3)
    s = StorageState.initial(p)
    for _ in range(300):
        produced = np.where(rng.random(n) < 0.3, rng.uniform(0, 5e8, n), 0.0)
        down = np.where(rng.random(n) < 0.2, rng.uniform(0, 2e9, n), 0.0)
        s, _ = step_storage(s, p, produced, down, 10.0)
        assert np.all(s.used_bits >= 0) and np.all(s.used_bits <= p.capacity_bits)
    np.testing.assert_allclose(s.used_bits, s.written_bits - s.downlinked_bits - s.dropped_bits,
                               rtol=0, atol=1e-3)
    assert s.dropped_bits.sum() > 0 and s.downlinked_bits.sum() > 0


def test_rejects_negative_volumes() -> None:
    p = params(1)
    s = StorageState.initial(p)
    with pytest.raises(UsageError):
        step_storage(s, p, [-1.0], [0.0], 1.0)
    with pytest.raises(UsageError):
        StorageState.initial(p, 2000.0)


def test_full_storage_stops_capture() -> None:
    """A satellite over a target captures while an image fits, then stops; downlink resumes it."""
    img = ImagerSpec(swath_half_angle_deg=10.0, min_elevation_deg=10.0,
                     min_sun_elevation_deg=-90.0, pixels_across=100, pixels_along=100, bands=1,
                     bits_per_pixel=8, compression_ratio=1.0)
    assert img.bits_per_image == 80_000
    cls = SpacecraftClass(imager=img, storage=StorageSpec(capacity_bits=200_000.0,
                                                          housekeeping_rate_bps=0.0))
    targets = Targets.from_arrays(["a"], [0.0], [0.0], revisit_s=0.0)
    fp = FleetParams.from_classes(cls, 1, targets=targets)
    r, v = circular_state()
    t0 = 1_780_000_000 * 10**9
    state = FleetState.initial(fp, t0)
    captured = []
    for k in range(6):
        rate = 1e5 if k == 3 else 0.0
        env = Environment.compute(state.time_ns, r, v, sun_itrf=[1.0, 0.0, 0.0],
                                  sun_distance_m=1.5e11, illuminated=1.0, downlink_rate_bps=rate)
        state, rec = step_fleet(state, fp, env, 1.0, Commands.default(1))
        captured.append(len(rec.capture_sat))
    # 2 images fit (160 kbit of 200); the third does not; 100 kbit go down during step 3 (after
    # its capture check), so one more fits at step 4 and none at step 5.
    assert captured == [1, 1, 0, 0, 1, 0]
    assert state.storage.dropped_bits[0] == 0.0
    assert state.storage.used_bits[0] == 140_000.0
