"""Orbital planes and slots of real element sets (TLE/OMM carry no structure).

:func:`infer_planes` groups the satellites of an :class:`~orbemu.orbits.elements.ElementSet` into
shells, planes and slots at one instant, so +Grid inter-satellite links can be planned for real
constellations the way they are for designed Walker shells.

Method
------
1. **Common instant.** Element epochs differ by days and the node of a LEO orbit precesses by
   several degrees a day under J2, so each right ascension of the ascending node (RAAN) is carried
   to ``at`` with SGP4's own secular nodal rate (``Satrec.nodedot``: J2 and J4, from the mean
   elements): ``Ω(at) = Ω₀ + Ω̇·(at − epoch)``. Inclination and altitude are the mean elements
   (inclination has no secular drift; the altitude is from the mean motion). The argument of
   latitude ``u`` (angle from the ascending node to the satellite, in the orbit plane) comes from
   the SGP4 state at ``at``; it only orders satellites within a plane.
2. **Planes** are density clusters (DBSCAN: core points have at least ``min_neighbours`` others
   within the tolerance ellipsoid, clusters are connected cores plus the border points next to
   them) in (inclination, altitude, RAAN on the circle), scaled by ``inclination_tol_deg``,
   ``altitude_tol_m`` and ``raan_tol_deg``. Clusters smaller than ``min_sats_per_plane`` and
   isolated satellites (orbit raising, deorbiting, spares drifting between planes) get plane -1.
3. **Shells** are groups of planes whose mean inclination and altitude are within the same
   tolerances (single linkage). Shells are numbered by inclination then altitude; planes within a
   shell by RAAN, starting after the widest RAAN gap (for a Walker star shell that gap is the
   counter-rotating seam, so the seam falls between the last and first plane); plane numbers run
   on across shells.
4. **Slots** number each plane's satellites by increasing ``u`` from the ascending node.

Designed Walker shells are recovered exactly up to relabeling (tested); see :class:`PlaneStructure`
for what it reports on real data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from orbemu.constants import NS_PER_S, TAU
from orbemu.errors import UsageError
from orbemu.orbits.elements import ElementSet
from orbemu.orbits.propagation import propagate
from orbemu.time import Time

__all__ = ["PlaneStructure", "ShellSummary", "group_planes", "infer_planes", "raan_at_rad"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int32]


@dataclass(frozen=True)
class ShellSummary:
    """One inferred shell: its planes, satellites and mean orbit."""

    shell: int
    inclination_deg: float
    altitude_m: float
    n_planes: int
    n_sats: int
    min_sats_per_plane: int
    max_sats_per_plane: int
    raan_span_deg: float
    raan_spacing_deg: float

    @property
    def pattern(self) -> str:
        """``"star"`` when the planes' nodes plus one spacing cover under 270° of RAAN (the first
        and last planes then meet at a counter-rotating seam), else ``"delta"``."""
        return "star" if self.raan_span_deg + self.raan_spacing_deg < 270.0 else "delta"


@dataclass(frozen=True, eq=False)
class PlaneStructure:
    """The result of :func:`infer_planes`.

    Attributes
    ----------
    plane, slot, shell: (n,) int32 indices; -1 for satellites in no plane.
    raan_rad: (n,) mean RAAN at ``at`` (secular rates applied), radians in ``[0, 2π)``.
    arg_latitude_rad: (n,) argument of latitude at ``at`` (osculating), radians in ``[0, 2π)``.
    inclination_rad, altitude_m: (n,) mean inclination and altitude used for clustering.
    at: the common instant.
    shells: one :class:`ShellSummary` per shell.
    """

    plane: IntArray
    slot: IntArray
    shell: IntArray
    raan_rad: FloatArray
    arg_latitude_rad: FloatArray
    inclination_rad: FloatArray
    altitude_m: FloatArray
    at: Time
    shells: tuple[ShellSummary, ...]

    @property
    def n_planes(self) -> int:
        return int(self.plane.max()) + 1 if self.plane.size and self.plane.max() >= 0 else 0

    @property
    def n_shells(self) -> int:
        return len(self.shells)

    @property
    def n_unassigned(self) -> int:
        return int(np.count_nonzero(self.plane < 0))

    def apply(self, elements: ElementSet) -> ElementSet:
        """``elements`` with this plane/slot structure attached."""
        if len(elements) != self.plane.size:
            raise UsageError(f"structure is for {self.plane.size} satellites, set has "
                             f"{len(elements)}")
        attach: Any = elements.with_structure
        try:
            return attach(self.plane, self.slot, shell=self.shell)
        except TypeError:  # an ElementSet without shell numbers: plane/slot only
            return attach(self.plane, self.slot)

    def summary(self) -> str:
        """A few lines for reports: shells, planes and satellites without a plane."""
        lines = [f"{self.n_shells} shells, {self.n_planes} planes, "
                 f"{self.plane.size - self.n_unassigned} satellites in planes, "
                 f"{self.n_unassigned} in none"]
        for s in self.shells:
            lines.append(f"  shell {s.shell}: {s.inclination_deg:.2f}° {s.altitude_m / 1e3:.0f} km,"
                         f" {s.n_planes} planes × {s.min_sats_per_plane}–{s.max_sats_per_plane}"
                         f" sats ({s.n_sats}), nodes span {s.raan_span_deg:.0f}° ({s.pattern})")
        return "\n".join(lines)


def raan_at_rad(elements: ElementSet, at: Time) -> FloatArray:
    """(n,) mean RAAN of each satellite carried to ``at`` with SGP4's secular nodal rate."""
    nodedot_rad_min = np.array([s.nodedot for s in elements.satrecs], np.float64)
    dt_min = (int(at) - elements.epochs.ns) / (60.0 * NS_PER_S)
    return np.mod(elements.raan_rad + nodedot_rad_min * dt_min, TAU)


def _argument_of_latitude(r: FloatArray, v: FloatArray) -> FloatArray:
    h = np.cross(r, v)
    node = np.stack([-h[:, 1], h[:, 0], np.zeros(len(h))], axis=1)
    node /= np.linalg.norm(node, axis=1)[:, None]
    h_hat = h / np.linalg.norm(h, axis=1)[:, None]
    y = np.cross(h_hat, node)
    return np.mod(np.arctan2(np.einsum("ij,ij->i", r, y), np.einsum("ij,ij->i", r, node)), TAU)


def _components(n: int, pairs: npt.NDArray[np.int64]) -> IntArray:
    if pairs.size == 0:
        return np.arange(n, dtype=np.int32)
    adj = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    return connected_components(adj, directed=False)[1].astype(np.int32)


def _dbscan(x: FloatArray, min_neighbours: int) -> IntArray:
    """DBSCAN with eps = 1 on pre-scaled points; -1 for noise. Labels in order of first point."""
    n = len(x)
    tree = cKDTree(x)
    pairs = tree.query_pairs(1.0, output_type="ndarray").astype(np.int64)
    degree = np.bincount(pairs.ravel(), minlength=n)
    core = degree >= min_neighbours
    labels = np.full(n, -1, np.int32)
    core_idx = np.flatnonzero(core)
    if core_idx.size == 0:
        return labels
    both = core[pairs[:, 0]] & core[pairs[:, 1]]
    remap = np.full(n, -1, np.int64)
    remap[core_idx] = np.arange(core_idx.size)
    comp = _components(core_idx.size, remap[pairs[both]])
    labels[core_idx] = comp
    # Border points join the cluster of their nearest core neighbour.
    border = np.flatnonzero(~core & (degree > 0))
    if border.size:
        core_tree = cKDTree(x[core_idx])
        dist, nearest = core_tree.query(x[border], distance_upper_bound=1.0)
        ok = np.isfinite(dist)
        labels[border[ok]] = comp[nearest[ok]]
    return labels


def _circular_mean(angle: FloatArray) -> float:
    return float(np.mod(math.atan2(np.sin(angle).mean(), np.cos(angle).mean()), TAU))


def infer_planes(
    elements: ElementSet,
    at: Time,
    *,
    inclination_tol_deg: float = 0.1,
    altitude_tol_m: float = 10e3,
    raan_tol_deg: float = 0.5,
    min_neighbours: int = 2,
    min_sats_per_plane: int = 3,
) -> PlaneStructure:
    """Shells, planes and slots of ``elements`` at the instant ``at`` (see the module notes).

    Returns a :class:`PlaneStructure`; ``structure.apply(elements)`` attaches plane/slot.
    Tolerances are the neighbourhood of the density clustering: two satellites are neighbours
    when ``(Δi/inclination_tol)² + (Δalt/altitude_tol)² + (ΔΩ/raan_tol)² <= 1``.
    """
    if at.ndim != 0:
        raise UsageError("infer_planes needs one instant 'at'")
    n = len(elements)
    eph = propagate(elements, at, frame="TEME")
    r, v = eph.position_m[:, 0], eph.velocity_m_s[:, 0]
    ok = np.all(np.isfinite(r), axis=1)
    inc = elements.inclination_rad
    alt = elements.mean_altitude_m
    raan = raan_at_rad(elements, at)
    u = np.full(n, np.nan)
    if ok.any():
        u[ok] = _argument_of_latitude(r[ok], v[ok])
    plane = np.full(n, -1, np.int32)
    slot = np.full(n, -1, np.int32)
    shell = np.full(n, -1, np.int32)
    shells: list[ShellSummary] = []
    idx = np.flatnonzero(ok & np.isfinite(alt))
    if idx.size:
        scale_raan = 1.0 / math.radians(raan_tol_deg)
        x = np.column_stack([np.degrees(inc[idx]) / inclination_tol_deg,
                             alt[idx] / altitude_tol_m,
                             np.cos(raan[idx]) * scale_raan, np.sin(raan[idx]) * scale_raan])
        labels = _dbscan(x, min_neighbours)
        sizes = np.bincount(labels[labels >= 0]) if (labels >= 0).any() else np.zeros(0, int)
        good = np.flatnonzero(sizes >= min_sats_per_plane)
        members = [idx[labels == c] for c in good]
        shells = _number(members, inc, alt, raan, u, plane, slot, shell,
                         inclination_tol_deg, altitude_tol_m)
    return PlaneStructure(plane=plane, slot=slot, shell=shell, raan_rad=raan,
                          arg_latitude_rad=np.where(np.isfinite(u), u, np.nan),
                          inclination_rad=inc.copy(), altitude_m=alt.copy(), at=at,
                          shells=tuple(shells))


def group_planes(inclination_deg: FloatArray, altitude_m: FloatArray,
                 inclination_tol_deg: float = 0.1, altitude_tol_m: float = 10e3) -> IntArray:
    """Shell label of each plane: single linkage of the planes' median inclination and altitude
    (neighbours when ``(Δi/inclination_tol)² + (Δalt/altitude_tol)² <= 1``)."""
    pts = np.column_stack([np.asarray(inclination_deg) / inclination_tol_deg,
                           np.asarray(altitude_m) / altitude_tol_m])
    pairs = cKDTree(pts).query_pairs(1.0, output_type="ndarray").astype(np.int64)
    return _components(len(pts), pairs)


def _number(members: list[npt.NDArray[np.int64]], inc: FloatArray, alt: FloatArray,
            raan: FloatArray, u: FloatArray, plane: IntArray, slot: IntArray, shell: IntArray,
            inclination_tol_deg: float, altitude_tol_m: float) -> list[ShellSummary]:
    """Group clusters into shells and write plane/slot/shell numbers in place."""
    if not members:
        return []
    c_inc = np.array([np.degrees(np.median(inc[m])) for m in members])
    c_alt = np.array([np.median(alt[m]) for m in members])
    c_raan = np.array([_circular_mean(raan[m]) for m in members])
    comp = group_planes(c_inc, c_alt, inclination_tol_deg, altitude_tol_m)
    groups = [np.flatnonzero(comp == k) for k in range(comp.max() + 1)]
    groups.sort(key=lambda g: (float(np.mean(c_inc[g])), float(np.mean(c_alt[g]))))
    out: list[ShellSummary] = []
    next_plane = 0
    for s, g in enumerate(groups):
        # Planes by RAAN, starting after the widest gap between consecutive nodes.
        order = g[np.argsort(c_raan[g], kind="stable")]
        ang = c_raan[order]
        gaps = np.mod(np.diff(np.r_[ang, ang[0] + TAU]), TAU) if len(ang) > 1 else np.array([TAU])
        first = (int(np.argmax(gaps)) + 1) % len(order)
        order = np.roll(order, -first)
        span = float(np.degrees(TAU - gaps.max())) if len(ang) > 1 else 0.0
        spacing = float(np.degrees(np.median(np.sort(gaps)[:-1]))) if len(ang) > 1 else 360.0
        counts = []
        for c in order:
            sats = members[c]
            sats = sats[np.argsort(u[sats], kind="stable")]
            plane[sats] = next_plane
            slot[sats] = np.arange(len(sats), dtype=np.int32)
            shell[sats] = s
            counts.append(len(sats))
            next_plane += 1
        all_sats = np.concatenate([members[c] for c in order])
        out.append(ShellSummary(shell=s, inclination_deg=float(np.degrees(np.median(
            inc[all_sats]))), altitude_m=float(np.median(alt[all_sats])), n_planes=len(order),
            n_sats=int(all_sats.size), min_sats_per_plane=min(counts),
            max_sats_per_plane=max(counts), raan_span_deg=span,
            raan_spacing_deg=spacing))
    return out
