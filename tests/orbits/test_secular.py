"""The secular model (SGP4 without periodic terms) against SGP4, and its numpy twin."""

from __future__ import annotations

import numpy as np

from orbemu import load_elements
from orbemu.orbits.propagation import SGP4Propagator
from orbemu.orbits.secular import (
    secular_elements,
    secular_error_bound_m,
    secular_positions,
    secular_positions_reference,
)
from orbemu.time import Time
from tests.conftest import ONE_METRE, ONE_SECOND_NS

START = Time.parse("2026-05-30T00:00:00Z")
DAY_NS = 86_400 * ONE_SECOND_NS


def _sample(sats):
    """Every 4th satellite plus the 60 with the strongest drag (decaying ones included)."""
    drag = np.argsort(-np.abs(secular_elements(sats).drag_cubic_per_s3))[:60]
    return sats.select(np.union1d(np.arange(0, len(sats), 4), drag))


def test_bound_holds_against_sgp4_for_starlink():
    sats = _sample(load_elements("starlink"))
    times = Time.range(START, DAY_NS + 1, 180 * ONE_SECOND_NS)
    bound = secular_error_bound_m(sats, int(START), int(START) + DAY_NS)
    covered = np.isfinite(bound)
    assert covered.mean() > 0.99
    eph = SGP4Propagator().propagate(sats, times)
    ours = secular_positions(sats, times.ns)
    err = np.linalg.norm(ours - eph.position_m, axis=-1).max(axis=1)
    assert np.all(err[covered] <= bound[covered])
    # The bound is not vacuous: tens of kilometres, not thousands.
    assert np.median(bound[covered]) < 60_000 * ONE_METRE
    assert np.median(err[covered]) > 1_000 * ONE_METRE  # the periodic terms are really left out


def test_itrf_rotation_and_kernel_match_reference():
    sats = load_elements("starlink").select(np.arange(0, 10_000, 97))
    t_ns = int(START) + np.arange(0, DAY_NS, 600 * ONE_SECOND_NS)
    teme = secular_positions(sats, t_ns)
    ref = secular_positions_reference(sats, t_ns)
    # The kernel expands the ellipse to second order in e (< 0.0037 here): metres.
    assert np.abs(teme - ref).max() < 50 * ONE_METRE
    theta = np.linspace(0.0, 6.0, t_ns.size)
    itrf = secular_positions(sats, t_ns, theta)
    c, s = np.cos(theta), np.sin(theta)
    rotated = np.stack([c * teme[..., 0] + s * teme[..., 1], -s * teme[..., 0] + c * teme[..., 1],
                        teme[..., 2]], axis=-1)
    assert np.abs(itrf - rotated).max() < 1e-3 * ONE_METRE


def test_uncovered_satellites_get_infinite_bound():
    sats = load_elements("starlink").select([0, 1])
    sec = secular_elements(sats)
    assert sec.usable.all()
    far = int(START) + 400 * DAY_NS  # the cubic drag term outgrows MAX_BOUND_M
    assert np.isinf(secular_error_bound_m(sats, far, far + DAY_NS)).any() or \
        np.all(sec.drag_cubic_per_s3 == 0)
