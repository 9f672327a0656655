"""Dense ephemerides by Hermite interpolation (cubic or quintic) between SGP4 samples.

SGP4 costs a few hundred ns per satellite-state; a Hermite polynomial through the samples at two
neighbouring knots and their derivatives costs a few ns. Two orders, one mechanism:

- **cubic** (``order=3``): value and first derivative at each knot, derivatives from 5-knot
  differences. Error ≈ Hermite's remainder ``h⁴/384 · max|r⁗|`` with ``|r⁗| ≈ ω_p⁴ r_p`` at
  perigee: 0.3 m for a circular 550 km orbit at h = 60 s.
- **quintic** (``order=5``): value, first and second derivative at each knot, derivatives from
  8-knot polynomial fits. Its own remainder (``h⁶/46080 · max|r⁽⁶⁾|``, 0.003 m at 180 s LEO) is
  smaller than the fits' error, which sets the pace: ≈ 0.01 · (ω_p h)⁸ · r_p on circular orbits
  (:func:`hermite_error_bound_m`), 0.16 m at 180 s for 550 km. So the same ≤ 1 m budget allows
  3× longer knot steps (LEO 180 s, GPS 1200 s, GEO 1800 s) for ~30 % more work per state and
  at least 8 knots per table.

Knot derivatives. SGP4's velocity is *not* the derivative of its position (the short-period and
drag terms are differentiated only approximately; measured up to 0.25 m/s on Starlink and
0.85 m/s on the space stations), and a Hermite fit to it errs by up to 1.7 m at 60 s steps on
Starlink (cubic), 6.7 m at 180 s (quintic with J2 gravity as the second derivative), 7 m at
600 s on GEO (SDP4's lunar-solar terms). So both the position and the velocity are interpolated
as Hermite polynomials of their own knot samples, with knot derivatives from polynomial fits
through neighbouring knots (:func:`knot_derivatives`): positions then follow SGP4's positions
and velocities SGP4's velocities.

- :class:`HermiteEphemeris`: ≥ 5 (cubic) or ≥ 8 (quintic) evenly spaced knots →
  :meth:`~HermiteEphemeris.evaluate` at any instants inside their span. Outside it: NaN and
  status 20. A sample gets the first non-zero status among the knots its interval's derivatives
  use (an SGP4 failure spoils the samples whose derivative stencils reach it).
- :class:`InterpolatedPropagator`: a :class:`~orbemu.orbits.propagation.Propagator` that runs a
  base propagator (SGP4 by default) on knots covering the requested instants and interpolates.
  By default each satellite gets, per order, the largest knot step from :data:`KNOT_STEPS_S`
  whose error estimate is within half of ``max_error_m``, and the order whose knots plus
  interpolated states cost less for the requested window (:meth:`InterpolatedPropagator.plan`):
  quintic for windows long against the knot step at moderate density (1,000 s at 1 s), cubic
  for short windows (a quintic table needs ≥ 8 knots) and very dense long ones (where the
  per-state cost dominates). Satellites are grouped by (order, step).

Measured maximum errors against direct SGP4 over 6 h at 7 s sampling, automatic steps, cubic /
quintic (``tests/orbits/test_interpolation.py``, ``python -m benchmarks.propagation``):
Starlink (10,395 satellites, 2026-05-30) 0.45 / 0.17 m, OneWeb 0.35 / 0.13 m, Iridium 0.33 /
0.10 m, stations 0.42 / 0.12 m, GPS 0.30 / 0.22 m, Galileo 0.15 / 0.03 m, GEO (574) 0.44 /
0.45 m; velocities within 0.6 / 0.4 mm/s. Molniya, GTO and a decaying 200 km perigee over 24 h:
≤ 0.47 / 0.24 m. Where SGP4 itself is discontinuous no interpolation follows it: one GEO
(VIASAT-3 F2, inclination 0.04°) jumps by 14.5 m between two seconds once in 24 h, and
interpolation across the jump errs by 14 m (both orders).

Interpolation happens in TEME (inertial, smooth); ITRF output is rotated afterwards.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, field

import numba
import numpy as np
import numpy.typing as npt

from orbemu.constants import NS_PER_S, WGS72_MU_M3_S2
from orbemu.errors import UsageError
from orbemu.orbits.elements import ElementSet
from orbemu.orbits.ephemeris import Ephemeris, Frame
from orbemu.orbits.frames import teme_to_itrf
from orbemu.orbits.kepler import j2_mean_elements
from orbemu.orbits.propagation import DEFAULT_CHUNK_BYTES, Propagator, SGP4Propagator
from orbemu.time import Time

__all__ = [
    "DEFAULT_MAX_ERROR_M",
    "KNOT_STEPS_S",
    "ORDERS",
    "OUTSIDE_SPAN",
    "PAD_KNOTS",
    "QUINTIC_ERROR_COEFF",
    "STENCIL_HALF_WIDTH",
    "STENCIL_POINTS",
    "HermiteEphemeris",
    "InterpolatedPropagator",
    "hermite_error_bound_m",
    "knot_derivatives",
    "knot_step_for_orbits_s",
]

FloatArray = npt.NDArray[np.float64]

#: Status code of a sample outside the knots' span (see ``STATUS_MESSAGES``).
OUTSIDE_SPAN = 20
#: The knot steps the automatic choice picks from, seconds (divisors of an hour or a day, so
#: grids of different satellites line up).
KNOT_STEPS_S = (5, 10, 15, 20, 30, 60, 120, 180, 300, 600, 900, 1200, 1800, 3600)
#: Default error budget of :class:`InterpolatedPropagator`, metres.
DEFAULT_MAX_ERROR_M = 1.0
#: Hermite orders: 3 (cubic: value and first derivative at each knot) and 5 (quintic: value,
#: first and second derivative).
ORDERS = (3, 5)


#: Constant of the quintic error model ``C5 · (1 + 40 e) · (ω_p h)⁸ · r_p`` (see
#: :func:`hermite_error_bound_m`), fitted to measurements.
QUINTIC_ERROR_COEFF = 0.01


def hermite_error_bound_m(step_s: npt.ArrayLike, perigee_radius_m: npt.ArrayLike,
                          eccentricity: npt.ArrayLike, order: int = 3) -> FloatArray:
    """Interpolation error of a knot step ``h`` on an orbit with perigee radius ``r_p``, metres.

    ``order`` 3: ``h⁴/384 · ω_p⁴ r_p (1+e) = h⁴/384 · μ²(1+e)³/r_p⁵``, Hermite's cubic
    remainder with ``|r⁗| ≈ ω_p⁴ r_p (1+e)`` (exact for a circular Kepler orbit; the ``(1+e)``
    factors cover eccentric ones: measured 0.97 m on Molniya at 60 s, where ``(1+e)`` alone
    predicted 0.41 m and ``(1+e)³`` predicts 1.2 m).
    ``order`` 5: the model ``C5 · (1 + 40 e) · (ω_p h)⁸ · r_p`` with ``ω_p = √(μ(1+e)/r_p³)``
    (the angular rate at perigee) and ``C5`` = :data:`QUINTIC_ERROR_COEFF`. The eighth power is
    that of the 8-knot derivative fits, which dominate the quintic's own ``h⁶`` remainder at
    these steps. It is a fit, not a bound: over 6 h–24 h windows at 7 s sampling (real
    catalogs, every satellite), error / ``((ω_p h)⁸ r_p)`` measured 0.006–0.008 on circular LEO
    and MEO (Starlink, OneWeb, Iridium, GPS), 0.024 at e = 0.09, 0.030 at e = 0.17 (Galileo
    5/6), 0.27–0.31 at e = 0.72–0.73 (Molniya, GTO); the model is above all of them.
    """
    r_p = np.asarray(perigee_radius_m, dtype=np.float64)
    e = np.asarray(eccentricity, dtype=np.float64)
    h = np.asarray(step_s, dtype=np.float64)
    if order == 3:
        return h**4 / 384.0 * WGS72_MU_M3_S2**2 * (1.0 + e) ** 3 / r_p**5
    if order == 5:
        w_p = np.sqrt(WGS72_MU_M3_S2 * (1.0 + e) / r_p**3)
        return QUINTIC_ERROR_COEFF * (1.0 + 40.0 * e) * (w_p * h) ** 8 * r_p
    raise UsageError(f"Hermite order must be 3 (cubic) or 5 (quintic), got {order!r}")


def knot_step_for_orbits_s(elements: ElementSet, max_error_m: float = DEFAULT_MAX_ERROR_M,
                           order: int = 3) -> npt.NDArray[np.int64]:
    """Per satellite, the largest step of :data:`KNOT_STEPS_S` whose error
    (:func:`hermite_error_bound_m` for ``order``) is within half of ``max_error_m`` (the other
    half is margin for SGP4's non-Keplerian terms), seconds. Circular LEO at 550 km: cubic
    60 s, quintic 180 s; GPS: 300 s, 1200 s; GEO: 600 s, 1800 s."""
    r_p, e = _perigee(elements)
    steps = np.asarray(KNOT_STEPS_S, dtype=np.int64)
    ok = hermite_error_bound_m(steps[None, :], r_p[:, None], e[:, None],
                               order) <= 0.5 * max_error_m
    # Index of the last step that still meets the budget (the smallest step if none does).
    last_ok = np.where(ok.any(axis=1), ok.shape[1] - 1 - np.argmax(ok[:, ::-1], axis=1), 0)
    return steps[last_ok]


# ---- knot derivatives and the kernels --------------------------------------------------------

#: Knots per derivative fit (stencil) for each interpolation order. Cubic: 5-point differences
#: (fourth order). Quintic: 8-point fits (seventh order), whose error at 180 s LEO steps is
#: about that of the quintic Hermite remainder itself; 6 points would err 30× more.
STENCIL_POINTS = {3: 5, 5: 8}
#: Knots either side of a knot that its cubic derivative stencil reaches (a failure at a knot
#: spoils this many knots either side); quintic stencils reach 3 knots back and 4 ahead.
STENCIL_HALF_WIDTH = 2
#: Knots an :class:`InterpolatedPropagator` table adds beyond the instants on either side. One is
#: enough: the derivatives at the outermost used knot then come from a stencil one knot off the
#: end, and the fully one-sided stencil of the very first and last knots (cubic: 6× the central
#: error; quintic: 4× the pad-1 error, measured) is never used.
PAD_KNOTS = 1


@functools.lru_cache(maxsize=256)
def _fd_weights(z: float, n_points: int, max_derivative: int) -> FloatArray:
    """Fornberg's weights ``c[d, m]``: the ``d``-th derivative at ``z`` of the polynomial
    through samples at ``0, 1, …, n_points − 1`` is ``Σ_m c[d, m] f(m)`` (unit spacing)."""
    x = np.arange(n_points, dtype=np.float64)
    c = np.zeros((max_derivative + 1, n_points))
    c[0, 0] = 1.0
    c1, c4 = 1.0, x[0] - z
    for i in range(1, n_points):
        mn = min(i, max_derivative)
        c2, c5, c4 = 1.0, c4, x[i] - z
        for j in range(i):
            c3 = x[i] - x[j]
            c2 *= c3
            if j == i - 1:
                for d in range(mn, 0, -1):
                    c[d, i] = c1 * (d * c[d - 1, i - 1] - c5 * c[d, i - 1]) / c2
                c[0, i] = -c1 * c5 * c[0, i - 1] / c2
            for d in range(mn, 0, -1):
                c[d, j] = (c4 * c[d, j] - d * c[d - 1, j]) / c3
            c[0, j] = c4 * c[0, j] / c3
        c1 = c2
    c.setflags(write=False)  # cached: shared between calls
    return c


def _stencil_weights(n_knots: int, step_s: float, derivative: int, stencil: int
                     ) -> tuple[npt.NDArray[np.int64], FloatArray]:
    """Per knot: the first knot of its stencil and the ``stencil`` weights (1/s^derivative)."""
    if n_knots < stencil:
        raise UsageError(f"knot derivatives need at least {stencil} knots, got {n_knots}")
    lead = (stencil - 1) // 2
    start = np.clip(np.arange(n_knots) - lead, 0, n_knots - stencil).astype(np.int64)
    offsets = np.arange(n_knots) - start
    table = np.array([_fd_weights(float(z), stencil, derivative)[derivative]
                      for z in range(stencil)])
    return start, table[offsets] / step_s**derivative


@numba.njit(cache=True, nogil=True)
def _stencil_kernel(samples, start, weights, out):  # pragma: no cover - compiled
    """``out[i, k, c] = Σ_q weights[k, q] · samples[i, start[k] + q, c]`` (one pass over the
    samples; checked against :func:`_knot_derivatives_reference`)."""
    n, n_knots, m = samples.shape
    width = weights.shape[1]
    for i in range(n):
        for k in range(n_knots):
            s0 = start[k]
            for c in range(m):
                acc = 0.0
                for q in range(width):
                    acc += weights[k, q] * samples[i, s0 + q, c]
                out[i, k, c] = acc


def knot_derivatives(samples: FloatArray, step_s: float, *, derivative: int = 1,
                     stencil: int = 5, out: FloatArray | None = None) -> FloatArray:
    """The ``derivative``-th time derivative of ``(n_sats, n_knots, ...)`` samples on a uniform
    grid, from the polynomial through ``stencil`` neighbouring knots.

    Each knot ``i`` uses knots ``i − (stencil − 1)//2 …`` (centred, or one knot further ahead
    for an even stencil), shifted inwards at the two ends. Error ≈ ``C · h^(stencil − d) ·
    max|f^(stencil)|`` (5 points, first derivative: ``h⁴/30`` inside, about 6× that at the
    ends). NaN spreads to the knots whose stencil touches a NaN sample. ``out``: an array
    (or strided view) of the samples' shape ``(n_sats, n_knots, m)`` to write into.
    """
    start, weights = _stencil_weights(samples.shape[1], step_s, derivative, stencil)
    if out is not None:
        _stencil_kernel(np.asarray(samples, dtype=np.float64), start, weights, out)
        return out
    flat = np.ascontiguousarray(samples, dtype=np.float64).reshape(*samples.shape[:2], -1)
    result = np.empty_like(flat)
    _stencil_kernel(flat, start, weights, result)
    return result.reshape(samples.shape)


def _knot_derivatives_reference(samples: FloatArray, step_s: float, *, derivative: int = 1,
                                stencil: int = 5) -> FloatArray:
    """:func:`knot_derivatives` in plain numpy (a weighted sum of shifted slices)."""
    start, weights = _stencil_weights(samples.shape[1], step_s, derivative, stencil)
    out = np.zeros_like(samples)
    for q in range(stencil):
        out += weights[:, q].reshape(1, -1, *([1] * (samples.ndim - 2))) * samples[:, start + q]
    return out


def _stencil_status(status: npt.NDArray[np.int8], stencil: int) -> npt.NDArray[np.int8]:
    """Per knot, the first non-zero status among the knots its derivative stencil uses."""
    n = status.shape[1]
    lo = np.clip(np.arange(n) - (stencil - 1) // 2, 0, n - stencil)
    out = np.zeros_like(status)
    for offset in range(stencil - 1, -1, -1):  # first non-zero wins: fill from the far end back
        s = status[:, lo + offset]
        out = np.where(s != 0, s, out)
    return out


def _interval_terms(t0_ns: int, step_ns: int, n_knots: int, times_ns: npt.NDArray[np.int64],
                    order: int = 3) -> tuple[npt.NDArray[np.int64], FloatArray]:
    """Per instant: the knot interval (−1 outside the span) and the Hermite weights (h in
    seconds): cubic ``(h00, h·h10, h01, h·h11)`` for value, derivative at the interval's first
    knot, then at its second; quintic ``(H0, h·H1, h²·H2, H5, h·H4, h²·H3)`` for value, first
    and second derivative at the first knot, then at the second."""
    rel = times_ns - t0_ns
    k = rel // step_ns
    # The last knot closes the last interval (τ = 1 there) instead of opening a new one.
    k = np.where(rel == (n_knots - 1) * step_ns, n_knots - 2, k)
    inside = (rel >= 0) & (k <= n_knots - 2)
    tau = (rel - k * step_ns).astype(np.float64) / step_ns
    h = step_ns / NS_PER_S
    t2, t3 = tau * tau, tau * tau * tau
    if order == 3:
        w = np.empty((times_ns.size, 4))
        w[:, 0] = 2.0 * t3 - 3.0 * t2 + 1.0
        w[:, 1] = (t3 - 2.0 * t2 + tau) * h
        w[:, 2] = -2.0 * t3 + 3.0 * t2
        w[:, 3] = (t3 - t2) * h
    else:
        t4, t5 = t3 * tau, t3 * t2
        w = np.empty((times_ns.size, 6))
        w[:, 0] = 1.0 - 10.0 * t3 + 15.0 * t4 - 6.0 * t5
        w[:, 1] = (tau - 6.0 * t3 + 8.0 * t4 - 3.0 * t5) * h
        w[:, 2] = 0.5 * (t2 - 3.0 * t3 + 3.0 * t4 - t5) * h * h
        w[:, 3] = 10.0 * t3 - 15.0 * t4 + 6.0 * t5
        w[:, 4] = (-4.0 * t3 + 7.0 * t4 - 3.0 * t5) * h
        w[:, 5] = 0.5 * (t3 - 2.0 * t4 + t5) * h * h
    return np.where(inside, k, -1).astype(np.int64), w


def _runs(k: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Split instants into runs of consecutive entries sharing one interval: ``(starts, k)``
    with ``starts`` of length ``n_runs + 1`` (sorted instants give one run per interval)."""
    change = np.flatnonzero(np.diff(k) != 0) + 1
    starts = np.concatenate(([0], change, [k.size])).astype(np.int64)
    return starts, np.ascontiguousarray(k[starts[:-1]])


@numba.njit(cache=True, nogil=True)
def _hermite_kernel(rows, cols, table, kst, run_start, run_k, w, out_r, out_v,
                    out_st):  # pragma: no cover - compiled; checked against _hermite_reference
    """For source satellite ``i`` and instant ``jj`` (output element ``[rows[i], cols[jj]]``):
    position and velocity from knots ``a``, ``a + 1`` of ``table[i, knot] = (r, r', v, v')``,
    where instants ``run_start[q] … run_start[q+1]`` share the interval ``a = run_k[q]``.

    The two knots' 24 numbers are loaded once per run and kept in registers: the loop over the
    run's instants is then 24 multiply-adds and 6 stores per state (about twice as fast as
    indexing the table per instant). Measured ≈ 4 ns per state into reused buffers (quintic
    ≈ 5.3 ns), of which the stores alone take ≈ 1.5 ns: the arithmetic, not memory, sets the
    pace (LLVM does not vectorize across instants here; component-major and flattened
    variants measured no faster).
    """
    nan = np.nan
    n_sats, n_runs = table.shape[0], run_k.shape[0]
    for i in range(n_sats):
        o = rows[i]
        for q in range(n_runs):
            a = run_k[q]
            j0, j1 = run_start[q], run_start[q + 1]
            if a < 0:
                st = 20
            else:
                st = kst[i, a]
                if st == 0:
                    st = kst[i, a + 1]
            if st != 0:
                for jj in range(j0, j1):
                    j = cols[jj]
                    out_st[o, j] = st
                    for c in range(3):
                        out_r[o, j, c] = nan
                        out_v[o, j, c] = nan
                continue
            px0, py0, pz0 = table[i, a, 0, 0], table[i, a, 0, 1], table[i, a, 0, 2]
            dx0, dy0, dz0 = table[i, a, 1, 0], table[i, a, 1, 1], table[i, a, 1, 2]
            vx0, vy0, vz0 = table[i, a, 2, 0], table[i, a, 2, 1], table[i, a, 2, 2]
            ax0, ay0, az0 = table[i, a, 3, 0], table[i, a, 3, 1], table[i, a, 3, 2]
            px1, py1, pz1 = table[i, a + 1, 0, 0], table[i, a + 1, 0, 1], table[i, a + 1, 0, 2]
            dx1, dy1, dz1 = table[i, a + 1, 1, 0], table[i, a + 1, 1, 1], table[i, a + 1, 1, 2]
            vx1, vy1, vz1 = table[i, a + 1, 2, 0], table[i, a + 1, 2, 1], table[i, a + 1, 2, 2]
            ax1, ay1, az1 = table[i, a + 1, 3, 0], table[i, a + 1, 3, 1], table[i, a + 1, 3, 2]
            for jj in range(j0, j1):
                j = cols[jj]
                w0, w1, w2, w3 = w[jj, 0], w[jj, 1], w[jj, 2], w[jj, 3]
                out_r[o, j, 0] = w0 * px0 + w1 * dx0 + w2 * px1 + w3 * dx1
                out_r[o, j, 1] = w0 * py0 + w1 * dy0 + w2 * py1 + w3 * dy1
                out_r[o, j, 2] = w0 * pz0 + w1 * dz0 + w2 * pz1 + w3 * dz1
                out_v[o, j, 0] = w0 * vx0 + w1 * ax0 + w2 * vx1 + w3 * ax1
                out_v[o, j, 1] = w0 * vy0 + w1 * ay0 + w2 * vy1 + w3 * ay1
                out_v[o, j, 2] = w0 * vz0 + w1 * az0 + w2 * vz1 + w3 * az1
                out_st[o, j] = 0


@numba.njit(cache=True, nogil=True)
def _quintic_kernel(rows, cols, table, kst, run_start, run_k, w, out_r, out_v,
                    out_st):  # pragma: no cover - compiled; checked against _hermite_reference
    """:func:`_hermite_kernel` for quintic tables ``table[i, knot] = (r, r', r'', v, v', v'')``
    and six weights per instant: the two knots' 36 numbers are loaded once per run."""
    nan = np.nan
    n_sats, n_runs = table.shape[0], run_k.shape[0]
    for i in range(n_sats):
        o = rows[i]
        for q in range(n_runs):
            a = run_k[q]
            j0, j1 = run_start[q], run_start[q + 1]
            if a < 0:
                st = 20
            else:
                st = kst[i, a]
                if st == 0:
                    st = kst[i, a + 1]
            if st != 0:
                for jj in range(j0, j1):
                    j = cols[jj]
                    out_st[o, j] = st
                    for c in range(3):
                        out_r[o, j, c] = nan
                        out_v[o, j, c] = nan
                continue
            b = a + 1
            px0, py0, pz0 = table[i, a, 0, 0], table[i, a, 0, 1], table[i, a, 0, 2]
            dx0, dy0, dz0 = table[i, a, 1, 0], table[i, a, 1, 1], table[i, a, 1, 2]
            sx0, sy0, sz0 = table[i, a, 2, 0], table[i, a, 2, 1], table[i, a, 2, 2]
            vx0, vy0, vz0 = table[i, a, 3, 0], table[i, a, 3, 1], table[i, a, 3, 2]
            ax0, ay0, az0 = table[i, a, 4, 0], table[i, a, 4, 1], table[i, a, 4, 2]
            jx0, jy0, jz0 = table[i, a, 5, 0], table[i, a, 5, 1], table[i, a, 5, 2]
            px1, py1, pz1 = table[i, b, 0, 0], table[i, b, 0, 1], table[i, b, 0, 2]
            dx1, dy1, dz1 = table[i, b, 1, 0], table[i, b, 1, 1], table[i, b, 1, 2]
            sx1, sy1, sz1 = table[i, b, 2, 0], table[i, b, 2, 1], table[i, b, 2, 2]
            vx1, vy1, vz1 = table[i, b, 3, 0], table[i, b, 3, 1], table[i, b, 3, 2]
            ax1, ay1, az1 = table[i, b, 4, 0], table[i, b, 4, 1], table[i, b, 4, 2]
            jx1, jy1, jz1 = table[i, b, 5, 0], table[i, b, 5, 1], table[i, b, 5, 2]
            for jj in range(j0, j1):
                j = cols[jj]
                w0, w1, w2, w3, w4, w5 = w[jj, 0], w[jj, 1], w[jj, 2], w[jj, 3], w[jj, 4], w[jj, 5]
                out_r[o, j, 0] = w0 * px0 + w1 * dx0 + w2 * sx0 + w3 * px1 + w4 * dx1 + w5 * sx1
                out_r[o, j, 1] = w0 * py0 + w1 * dy0 + w2 * sy0 + w3 * py1 + w4 * dy1 + w5 * sy1
                out_r[o, j, 2] = w0 * pz0 + w1 * dz0 + w2 * sz0 + w3 * pz1 + w4 * dz1 + w5 * sz1
                out_v[o, j, 0] = w0 * vx0 + w1 * ax0 + w2 * jx0 + w3 * vx1 + w4 * ax1 + w5 * jx1
                out_v[o, j, 1] = w0 * vy0 + w1 * ay0 + w2 * jy0 + w3 * vy1 + w4 * ay1 + w5 * jy1
                out_v[o, j, 2] = w0 * vz0 + w1 * az0 + w2 * jz0 + w3 * vz1 + w4 * az1 + w5 * jz1
                out_st[o, j] = 0


def _hermite_reference(table: FloatArray, kst: npt.NDArray[np.int8], k: npt.NDArray[np.int64],
                       w: FloatArray) -> tuple[FloatArray, FloatArray, npt.NDArray[np.int8]]:
    """Plain numpy version of :func:`_hermite_kernel` / :func:`_quintic_kernel` (all rows,
    identity order): with ``nd`` values per knot and vector (2 cubic, 3 quintic), ``r = Σ_q
    w[q]·table[a, q] + w[nd + q]·table[a + 1, q]`` and ``v`` likewise from rows ``nd + q``."""
    inside = k >= 0
    a = np.where(inside, k, 0)
    lo, hi = table[:, a], table[:, a + 1]  # (n_sats, n_times, 2·nd, 3)
    nd = table.shape[2] // 2
    wc = w[None, :, :, None]
    # Terms summed left to right in the kernels' order (knot a's, then knot a + 1's).
    r = wc[:, :, 0] * lo[:, :, 0]
    v = wc[:, :, 0] * lo[:, :, nd]
    for q in range(1, 2 * nd):
        knot, row = (lo, q) if q < nd else (hi, q - nd)
        r = r + wc[:, :, q] * knot[:, :, row]
        v = v + wc[:, :, q] * knot[:, :, nd + row]
    st = np.where(kst[:, a] != 0, kst[:, a], kst[:, a + 1])
    st = np.where(inside[None, :], st, OUTSIDE_SPAN).astype(np.int8)
    r[st != 0] = np.nan
    v[st != 0] = np.nan
    return r, v, st


# ---- public types ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class HermiteEphemeris:
    """Uniformly spaced knots of ``n_sats`` satellites, ready for cubic or quintic Hermite
    interpolation.

    Both the position and the velocity are interpolated as Hermite polynomials of the knot
    samples. Their knot derivatives come from polynomial fits through neighbouring knots
    (:func:`knot_derivatives`: 5 knots for cubic, 8 for quintic), not from SGP4's own velocity:
    SGP4's velocity is not exactly the derivative of its position (measured up to 0.25 m/s on
    Starlink, 0.85 m/s on the space stations), and a Hermite fit to it would err by several
    metres (measured: 2.2 m at 60 s, 6.7 m at 180 s on Starlink with a quintic whose second
    derivative is J2 gravity at the knot).

    Attributes
    ----------
    t0: first knot; ``step_ns``: knot spacing; ``n_knots`` ≥ the stencil (5 cubic, 8 quintic).
    table: ``(n_sats, n_knots, 4, 3)`` for cubic: position (m), its derivative, velocity
        (m/s), its derivative; ``(n_sats, n_knots, 6, 3)`` for quintic: position, its first and
        second derivatives, velocity, its first and second derivatives; in ``frame`` (TEME).
    status: ``(n_sats, n_knots)`` int8: per knot, the first non-zero status among the knots its
        derivatives use (a failure spoils :data:`STENCIL_HALF_WIDTH` knots either side for
        cubic; 3 before and 4 after for quintic).
    frame, norad_ids, names: as in :class:`Ephemeris`.
    """

    t0: Time
    step_ns: int
    table: FloatArray
    status: npt.NDArray[np.int8]
    frame: Frame
    norad_ids: npt.NDArray[np.int64]
    names: npt.NDArray[np.object_]

    def __post_init__(self) -> None:
        if (self.table.ndim != 4 or self.table.shape[2:] not in ((4, 3), (6, 3))
                or self.table.shape[1] < STENCIL_POINTS[3 if self.table.shape[2] == 4 else 5]):
            raise UsageError(f"HermiteEphemeris.table must be (n_sats, n_knots ≥ 5, 4, 3) "
                             f"(cubic) or (n_sats, n_knots ≥ 8, 6, 3) (quintic), got "
                             f"{self.table.shape}")
        if self.status.shape != self.table.shape[:2]:
            raise UsageError(f"status {self.status.shape} does not match the table "
                             f"{self.table.shape[:2]}")
        if self.step_ns <= 0:
            raise UsageError(f"knot step must be positive, got {self.step_ns} ns")
        if self.frame != "TEME":
            raise UsageError(f"interpolate in an inertial frame (TEME), not {self.frame!r}: "
                             "Earth-fixed states rotate and need smaller steps")

    @classmethod
    def from_ephemeris(cls, eph: Ephemeris, order: int = 3) -> HermiteEphemeris:
        """Use the samples of a TEME ephemeris on uniformly spaced instants as knots (≥ 5 for
        ``order`` 3, cubic; ≥ 8 for ``order`` 5, quintic)."""
        if order not in STENCIL_POINTS:
            raise UsageError(f"Hermite order must be 3 (cubic) or 5 (quintic), got {order!r}")
        stencil = STENCIL_POINTS[order]
        ns = eph.times.ns
        steps = np.diff(ns)
        if ns.size < stencil or np.any(steps != steps[0]) or steps[0] <= 0:
            raise UsageError(f"order-{order} Hermite knots must be ≥ {stencil} increasing, evenly "
                             f"spaced instants; got {ns.size} instants with steps "
                             f"{np.unique(steps)[:3]} ns")
        step_ns = int(steps[0])
        h = step_ns / NS_PER_S
        nd = (order + 1) // 2  # values per knot and vector: the value and its derivatives
        table = np.empty((eph.n_sats, ns.size, 2 * nd, 3))
        for base, samples in ((0, eph.position_m), (nd, eph.velocity_m_s)):
            table[:, :, base] = samples
            for d in range(1, nd):
                knot_derivatives(samples, h, derivative=d, stencil=stencil,
                                 out=table[:, :, base + d])
        return cls(t0=eph.times[0], step_ns=step_ns, table=table,
                   status=_stencil_status(eph.status, stencil), frame=eph.frame,
                   norad_ids=eph.norad_ids, names=eph.names)

    @property
    def order(self) -> int:
        """3 (cubic) or 5 (quintic)."""
        return 3 if self.table.shape[2] == 4 else 5

    @property
    def n_sats(self) -> int:
        return int(self.table.shape[0])

    @property
    def n_knots(self) -> int:
        return int(self.table.shape[1])

    def span(self) -> tuple[Time, Time]:
        """First and last knot: the interval :meth:`evaluate` covers."""
        return self.t0, self.t0 + (self.n_knots - 1) * self.step_ns

    def evaluate(self, times: Time) -> Ephemeris:
        """States at ``times`` (``(n_times,)``), shaped ``(n_sats, n_times, 3)``, in TEME;
        NaN and status 20 outside :meth:`span`."""
        times = times[np.newaxis] if times.ndim == 0 else times
        n, t = self.n_sats, times.size
        out_r, out_v = np.empty((n, t, 3)), np.empty((n, t, 3))
        out_st = np.empty((n, t), np.int8)
        self.evaluate_into(np.arange(n, dtype=np.int64), np.arange(t, dtype=np.int64), times.ns,
                           out_r, out_v, out_st)
        return Ephemeris(times=times, position_m=out_r, velocity_m_s=out_v, frame=self.frame,
                         status=out_st, norad_ids=self.norad_ids.copy(), names=self.names.copy())

    def evaluate_reference(self, times: Time) -> Ephemeris:
        """:meth:`evaluate` in plain numpy (the reference the numba kernel is tested against)."""
        times = times[np.newaxis] if times.ndim == 0 else times
        k, w = _interval_terms(int(self.t0), self.step_ns, self.n_knots, times.ns, self.order)
        r, v, st = _hermite_reference(self.table, self.status, k, w)
        return Ephemeris(times=times, position_m=r, velocity_m_s=v, frame=self.frame, status=st,
                         norad_ids=self.norad_ids.copy(), names=self.names.copy())

    def evaluate_into(self, rows: npt.NDArray[np.int64], cols: npt.NDArray[np.int64],
                      times_ns: npt.NDArray[np.int64], out_r: FloatArray, out_v: FloatArray,
                      out_st: npt.NDArray[np.int8]) -> None:
        """Write satellite ``i``'s state at ``times_ns[j]`` into ``out_*[rows[i], cols[j]]``.

        The allocation-free form of :meth:`evaluate` for callers that reuse buffers: ``out_r``,
        ``out_v`` are C-contiguous float64 ``(n_rows, n_cols, 3)``, ``out_st`` int8
        ``(n_rows, n_cols)``; ``rows`` has ``n_sats`` entries, ``cols`` one per instant.
        """
        if len(rows) != self.n_sats or len(cols) != len(times_ns):
            raise UsageError(f"evaluate_into: {len(rows)} rows for {self.n_sats} satellites, "
                             f"{len(cols)} columns for {len(times_ns)} instants")
        k, w = _interval_terms(int(self.t0), self.step_ns, self.n_knots,
                               np.ascontiguousarray(times_ns, dtype=np.int64), self.order)
        run_start, run_k = _runs(k)
        kernel = _hermite_kernel if self.order == 3 else _quintic_kernel
        kernel(np.ascontiguousarray(rows, dtype=np.int64),
               np.ascontiguousarray(cols, dtype=np.int64), self.table, self.status, run_start,
               run_k, w, out_r, out_v, out_st)


class _GroupTables:
    """The satellites sharing one order and knot step, and the knot table currently covering
    part of the window (rebuilt, with :data:`PAD_KNOTS` knots of overlap, when instants leave
    it)."""

    def __init__(self, base: Propagator, elements: ElementSet, rows: npt.NDArray[np.int64],
                 step_ns: int, table_bytes: int, order: int) -> None:
        self.base, self.elements, self.rows, self.step_ns = base, elements, rows, step_ns
        self.order, self.stencil = order, STENCIL_POINTS[order]
        per_knot = max(len(rows), 1) * (order + 3) * 3 * 8  # the table and its source states
        self.max_knots = max(16, table_bytes // per_knot)
        self.table: HermiteEphemeris | None = None
        self.knots_built = 0

    def fill(self, times_ns: npt.NDArray[np.int64], cols: npt.NDArray[np.int64],
             out_r: FloatArray, out_v: FloatArray, out_st: npt.NDArray[np.int8],
             horizon_ns: int) -> None:
        """Evaluate ``times_ns`` into ``out_*[rows, cols]``; a new table reaches towards
        ``horizon_ns`` (the window's last instant), within the memory bound."""
        order = np.argsort(times_ns, kind="stable")
        t_sorted, cols_sorted = times_ns[order], cols[order]
        step, pad = self.step_ns, PAD_KNOTS
        j = 0
        while j < t_sorted.size:
            tab = self.table
            if tab is None or not (int(tab.t0) + pad * step <= t_sorted[j]
                                   <= int(tab.t0) + (tab.n_knots - 1 - pad) * step):
                first = (int(t_sorted[j]) // step - pad) * step
                last = max(int(t_sorted[-1]), horizon_ns)
                needed = -(-(last - first) // step) + 1 + pad
                n_knots = int(min(max(needed, self.stencil), self.max_knots))
                knots = Time(first + np.arange(n_knots, dtype=np.int64) * step)
                tab = HermiteEphemeris.from_ephemeris(self.base.propagate(self.elements, knots),
                                                      order=self.order)
                self.table = tab
                self.knots_built += n_knots
            cover_end = int(tab.t0) + (tab.n_knots - 1 - pad) * step
            end = int(np.searchsorted(t_sorted, cover_end, side="right"))
            tab.evaluate_into(self.rows, cols_sorted[j:end], t_sorted[j:end], out_r, out_v,
                              out_st)
            j = end


#: Relative costs for the automatic choice of order: one SGP4 knot (≈ 430 ns) against one
#: interpolated state (cubic ≈ 4 ns, quintic ≈ 5.3 ns into reused buffers, measured on the
#: benchmark machine), in cubic-state units.
_KNOT_COST = 100.0
_STATE_COST = {3: 1.0, 5: 1.3}


def _table_knots(span_ns: int, step_ns: npt.ArrayLike, order: int) -> npt.NDArray[np.int64]:
    """Knots one table needs to cover ``span_ns`` at ``step_ns`` (with padding)."""
    need = span_ns // np.asarray(step_ns, dtype=np.int64) + 2 + 2 * PAD_KNOTS
    return np.maximum(need, STENCIL_POINTS[order]).astype(np.int64)


@dataclass(frozen=True)
class InterpolatedPropagator:
    """A base propagator sampled on knots, Hermite-interpolated (cubic or quintic) in between.

    Parameters
    ----------
    base: the propagator run at the knots (TEME output); SGP4 by default.
    order: 3 (cubic), 5 (quintic) or None (default): per satellite, whichever costs less for
        the requested window within ``max_error_m`` (see below).
    knot_step_ns: one knot step for every satellite, or None (default) to choose per satellite
        from :data:`KNOT_STEPS_S` so the error estimate (:func:`hermite_error_bound_m`) stays
        within half of ``max_error_m``.
    max_error_m: the error budget for the automatic choices, metres.
    chunk_bytes: memory bound for one knot table and for one chunk of :meth:`iter_chunks`.

    Automatic order: quintic tables need ≥ 8 knots and cost ~30 % more per state, but allow
    3× longer steps on circular orbits (LEO 180 s instead of 60 s), so the choice compares
    ``knots × SGP4 cost + instants × kernel cost`` per satellite for the window at hand: a
    100 s window at 100 ms stays cubic (5 knots of 60 s); a 1,000 s window at 1 s becomes
    quintic (9 knots of 180 s instead of 20 of 60 s). With ``knot_step_ns`` given and
    ``order`` None: cubic where its error estimate at that step is within budget, else quintic.

    Knots sit on multiples of the step (counted from the POSIX epoch) with :data:`PAD_KNOTS`
    extra knot either side, so every requested instant is inside the span and its interval's
    derivatives come from (near-)central fits. Long windows are covered by successive tables
    of bounded size. When the instants are not denser than the knots would be, the base
    propagator is called directly instead (same or better accuracy).
    """

    base: Propagator = field(default_factory=SGP4Propagator)
    knot_step_ns: int | None = None
    max_error_m: float = DEFAULT_MAX_ERROR_M
    chunk_bytes: int = DEFAULT_CHUNK_BYTES
    order: int | None = None
    frame: str = "TEME"
    accuracy: str = ("Hermite (cubic or quintic) between SGP4 samples: ≤ 1 m from direct SGP4 "
                     "with the automatic knot steps (measured ≤ 0.45 m cubic, ≤ 0.45 m quintic "
                     "on 11,800 real satellites, except across SGP4's own discontinuities)")

    def __post_init__(self) -> None:
        if self.knot_step_ns is not None and self.knot_step_ns <= 0:
            raise UsageError(f"knot_step_ns must be positive, got {self.knot_step_ns}")
        if not self.max_error_m > 0:
            raise UsageError(f"max_error_m must be positive, got {self.max_error_m}")
        if self.order is not None and self.order not in ORDERS:
            raise UsageError(f"order must be 3 (cubic), 5 (quintic) or None (automatic), got "
                             f"{self.order!r}")
        if getattr(self.base, "frame", "TEME") != "TEME":
            raise UsageError("InterpolatedPropagator needs a base propagator with TEME output")

    def knot_steps_ns(self, elements: ElementSet, order: int = 3) -> npt.NDArray[np.int64]:
        """The ``(n_sats,)`` knot step of each satellite for Hermite ``order``, ns."""
        if self.knot_step_ns is not None:
            return np.full(len(elements), int(self.knot_step_ns), np.int64)
        return knot_step_for_orbits_s(elements, self.max_error_m, order) * NS_PER_S

    def plan(self, elements: ElementSet, times: Time
             ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Per satellite, the Hermite order and the knot step (ns) used for ``times``
        (``(n_sats,)`` each); a step of 0 means the base propagator at the instants directly."""
        times = _check(times, "TEME")
        n = len(elements)
        span = int(times.ns.max()) - int(times.ns.min()) if times.size else 0
        candidates = (self.order,) if self.order is not None else ORDERS
        steps = {o: self.knot_steps_ns(elements, o) for o in candidates}
        knots = {o: _table_knots(span, steps[o], o) for o in candidates}
        if self.order is not None:
            order = np.full(n, self.order, np.int64)
        elif self.knot_step_ns is not None:
            cubic_ok = _error_at(elements, self.knot_step_ns / NS_PER_S, 3) <= \
                0.5 * self.max_error_m
            order = np.where(cubic_ok, 3, 5).astype(np.int64)
        else:
            cost = {o: _KNOT_COST * knots[o] + _STATE_COST[o] * times.size for o in candidates}
            order = np.where(cost[5] < cost[3], 5, 3).astype(np.int64)
        step = np.zeros(n, np.int64)
        for o in candidates:
            sel = order == o
            step[sel] = np.where(knots[o][sel] >= times.size, 0, steps[o][sel])
        return order, step

    def _groups(self, elements: ElementSet, times: Time
                ) -> list[tuple[npt.NDArray[np.int64], ElementSet, _GroupTables | None]]:
        """(rows, sub-set, tables or None for "propagate directly") per (order, knot step)."""
        order, steps = self.plan(elements, times)
        out: list[tuple[npt.NDArray[np.int64], ElementSet, _GroupTables | None]] = []
        direct = np.flatnonzero(steps == 0).astype(np.int64)
        if direct.size:
            out.append((direct, elements.select(direct), None))
        key = order * (1 << 58) + steps  # steps < 2⁵⁸ ns (9 years)
        for k in np.unique(key[steps != 0]):
            rows = np.flatnonzero(key == k).astype(np.int64)
            group = elements if rows.size == len(elements) else elements.select(rows)
            out.append((rows, group, _GroupTables(self.base, group, rows, int(steps[rows[0]]),
                                                  self.chunk_bytes, int(order[rows[0]]))))
        return out

    def propagate(self, elements: ElementSet, times: Time, *, frame: Frame = "TEME"
                  ) -> Ephemeris:
        """States at ``times``, shaped ``(n_sats, n_times, 3)``, in ``frame`` (TEME or ITRF)."""
        times = _check(times, frame)
        n, t = len(elements), times.size
        out_r, out_v = np.empty((n, t, 3)), np.empty((n, t, 3))
        out_st = np.zeros((n, t), np.int8)
        if n and t:
            self._fill(self._groups(elements, times), times, np.arange(t, dtype=np.int64),
                       out_r, out_v, out_st, int(times.ns.max()))
        if frame == "ITRF":
            teme_to_itrf(out_r, out_v, times, out=(out_r, out_v))
        return Ephemeris(times=times, position_m=out_r, velocity_m_s=out_v, frame=frame,
                         status=out_st, norad_ids=elements.norad_ids.copy(),
                         names=elements.names.copy())

    def iter_chunks(self, elements: ElementSet, times: Time, *, frame: Frame = "TEME"
                    ) -> Iterator[tuple[slice, FloatArray, FloatArray, npt.NDArray[np.int8]]]:
        """Stream the window: yield ``(time_slice, r_m, v_m_s, status)`` chunk by chunk.

        As :meth:`SGP4Propagator.iter_chunks`: arrays ``(n_sats, chunk, 3)`` are *reused* for
        the next chunk (copy what you keep); memory stays near :attr:`chunk_bytes` (output
        buffers plus one knot table per knot step) however long the window.
        """
        times = _check(times, frame)
        n, t = len(elements), times.size
        if n == 0 or t == 0:
            return
        groups = self._groups(elements, times)
        horizon = int(times.ns.max())
        step = max(1, int(self.chunk_bytes // (n * (3 * 8 * 2 + 1))))
        buffers = (np.empty((n, step, 3)), np.empty((n, step, 3)), np.empty((n, step), np.int8))
        for start in range(0, t, step):
            sl = slice(start, min(start + step, t))
            c = sl.stop - sl.start
            r, v, e = (buffers if c == step else
                       (np.empty((n, c, 3)), np.empty((n, c, 3)), np.empty((n, c), np.int8)))
            self._fill(groups, times[sl], np.arange(c, dtype=np.int64), r, v, e, horizon)
            if frame == "ITRF":
                teme_to_itrf(r, v, times[sl], out=(r, v))
            yield sl, r, v, e

    def _fill(self, groups: list[tuple[npt.NDArray[np.int64], ElementSet, _GroupTables | None]],
              times: Time, cols: npt.NDArray[np.int64], out_r: FloatArray, out_v: FloatArray,
              out_st: npt.NDArray[np.int8], horizon_ns: int) -> None:
        for rows, group, tables in groups:
            if tables is None:
                eph = self.base.propagate(group, times)
                out_r[rows] = eph.position_m
                out_v[rows] = eph.velocity_m_s
                out_st[rows] = eph.status
            else:
                tables.fill(times.ns, cols, out_r, out_v, out_st, horizon_ns)


def _check(times: Time, frame: str) -> Time:
    if frame not in ("TEME", "ITRF"):
        raise UsageError(f"frame must be 'TEME' or 'ITRF', got {frame!r}")
    times = times[np.newaxis] if times.ndim == 0 else times
    if times.ndim != 1:
        raise UsageError(f"propagation needs a 1-D Time array, got shape {times.shape}")
    return times


def _perigee(elements: ElementSet) -> tuple[FloatArray, FloatArray]:
    """Mean perigee radius (m) and eccentricity of each satellite (NaN-safe)."""
    mean = j2_mean_elements(elements)
    e = np.clip(np.nan_to_num(mean.e, nan=0.0), 0.0, 0.99)
    return np.nan_to_num(mean.a_m * (1.0 - e), nan=6.5e6), e


def _error_at(elements: ElementSet, step_s: float, order: int) -> FloatArray:
    """:func:`hermite_error_bound_m` of each satellite at one step, metres."""
    r_p, e = _perigee(elements)
    return hermite_error_bound_m(step_s, r_p, e, order)
