"""Inter-satellite links: a fixed plan of satellite pairs, and which of them are up at an instant.

An :class:`IslPlan` fixes the structure for a whole run (which pairs *may* link: the terminals
are pointed at fixed neighbours); :func:`isl_links` evaluates it at one instant. Plans:

- :func:`plus_grid`: the "+Grid" of Walker shells. Each satellite links to the previous and next
  slot of its own plane (a ring) and to one satellite in each adjacent plane of its shell. Two ways
  to pick the cross-plane neighbour (``cross=``):

  * ``"slot"``: the same slot in the next plane, shifted by ``slot_shift`` (designed shells,
    where every plane of a shell has the same slots 0..S-1);
  * ``"phase"``: the nearest satellite in argument of latitude at ``at`` (plus
    ``slot_shift`` slot spacings), matched one-to-one greedily from the closest pairs (real data,
    where planes hold different numbers of satellites);
  * ``"auto"`` (default): ``"slot"`` for shells whose planes are all full and equal, else
    ``"phase"``.

  Seams: in a Walker *star* shell (nodes spread over ~180°) the first and last planes move in
  opposite directions where they meet; no links cross that seam. In a *delta* shell (nodes over
  360°) the last plane links to the first; with ``cross="slot"`` the slot offset across the wrap
  is taken from the geometry (it is the Walker phasing F). ``seam="auto"`` decides from the nodes
  (:attr:`~orbemu.links.planes.ShellSummary.pattern` rule); ``"open"``/``"closed"`` force it.
- :meth:`IslPlan.from_pairs`: a user-given ``(k, 2)`` array of satellite indices (file readers
  belong to ``orbemu.io``).
- :meth:`IslPlan.none`: bent pipe, no ISLs.

Link rule at an instant (:func:`isl_lengths`): a planned link is up when the straight segment
between the satellites clears a sphere of radius ``EARTH_RADIUS_M + grazing_alt_m`` (a sphere,
not the ellipsoid: the WGS84 equatorial radius is the larger one, so the test is conservative by up
to the 21 km of polar flattening; 80 km grazing keeps the beam above the dense atmosphere) and
its length is at most the pair's ``max_range_m``. Down links have NaN length. Positions may be in
any frame (TEME or ITRF) as long as all satellites are in the same one at the same instant.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import ClassVar, Literal

import numba
import numpy as np
import numpy.typing as npt

from orbemu.constants import C_M_S, EARTH_RADIUS_M, TAU
from orbemu.errors import UsageError
from orbemu.links.kinds import LinkKind
from orbemu.links.planes import _argument_of_latitude, group_planes, raan_at_rad
from orbemu.orbits.elements import ElementSet
from orbemu.orbits.propagation import propagate
from orbemu.time import Time

__all__ = [
    "DEFAULT_GRAZING_ALT_M",
    "IslLinks",
    "IslPlan",
    "isl_lengths",
    "isl_links",
    "plus_grid",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int32]

#: Lowest altitude a laser/radio ISL beam may pass at, metres (top of the mesosphere).
DEFAULT_GRAZING_ALT_M = 80e3


@dataclass(frozen=True, eq=False)
class IslPlan:
    """The pairs of satellites that may link during a run.

    Attributes
    ----------
    pairs: (k, 2) int32 satellite indices, ``a < b`` in each row, rows sorted and unique.
    max_range_m: (k,) longest usable length per pair, metres (``inf``: line of sight only).
    capacity_bps: (k,) capacity of the pair when up, bits/s (``inf`` if not modelled).
    grazing_alt_m: the beam must clear ``EARTH_RADIUS_M + grazing_alt_m``.
    kind: ``"grid"``, ``"pairs"`` or ``"none"``.
    n_sats: size of the satellite set the indices refer to.
    """

    pairs: IntArray
    max_range_m: FloatArray
    capacity_bps: FloatArray
    grazing_alt_m: float
    kind: str
    n_sats: int

    def __post_init__(self) -> None:
        k = len(self.pairs)
        if self.pairs.shape != (k, 2):
            raise UsageError(f"IslPlan.pairs must be (k, 2), got {self.pairs.shape}")
        if self.max_range_m.shape != (k,) or self.capacity_bps.shape != (k,):
            raise UsageError("IslPlan.max_range_m and capacity_bps need one value per pair")

    def __len__(self) -> int:
        return len(self.pairs)

    def __repr__(self) -> str:
        return f"IslPlan(<{self.kind}: {len(self)} pairs over {self.n_sats} satellites>)"

    def degree(self) -> npt.NDArray[np.int64]:
        """(n_sats,) number of planned links per satellite."""
        return np.bincount(self.pairs.ravel(), minlength=self.n_sats)

    @classmethod
    def none(cls, n_sats: int) -> IslPlan:
        """No inter-satellite links (bent pipe)."""
        return cls(np.zeros((0, 2), np.int32), np.zeros(0), np.zeros(0),
                   DEFAULT_GRAZING_ALT_M, "none", int(n_sats))

    @classmethod
    def from_pairs(
        cls,
        pairs: npt.ArrayLike,
        n_sats: int,
        *,
        max_range_m: npt.ArrayLike = np.inf,
        capacity_bps: npt.ArrayLike = np.inf,
        grazing_alt_m: float = DEFAULT_GRAZING_ALT_M,
        kind: str = "pairs",
    ) -> IslPlan:
        """A plan from a ``(k, 2)`` array of satellite indices (order within a row is free).

        Duplicate pairs (either orientation) are merged, keeping the first one's range and
        capacity. Self-links and indices outside ``[0, n_sats)`` raise :class:`UsageError`.
        """
        p = np.asarray(pairs)
        if p.size == 0:
            p = np.zeros((0, 2), np.int64)
        if p.ndim != 2 or p.shape[1] != 2 or p.dtype.kind not in "iu":
            raise UsageError(f"ISL pairs must be an integer (k, 2) array, got shape {p.shape} "
                             f"dtype {p.dtype}")
        k = len(p)
        rng = np.broadcast_to(np.asarray(max_range_m, np.float64), (k,))
        cap = np.broadcast_to(np.asarray(capacity_bps, np.float64), (k,))
        bad = np.flatnonzero((p < 0).any(axis=1) | (p >= n_sats).any(axis=1))
        if bad.size:
            raise UsageError(f"ISL pair {int(bad[0])} = {p[bad[0]].tolist()} refers to a "
                             f"satellite outside 0..{n_sats - 1}")
        same = np.flatnonzero(p[:, 0] == p[:, 1])
        if same.size:
            raise UsageError(f"ISL pair {int(same[0])} links satellite {int(p[same[0], 0])} to "
                             "itself")
        lo, hi = p.min(axis=1).astype(np.int64), p.max(axis=1).astype(np.int64)
        key = lo * n_sats + hi
        _, first = np.unique(key, return_index=True)  # sorted by key = sorted by (a, b)
        out = np.column_stack([lo[first], hi[first]]).astype(np.int32)
        return cls(out.reshape(-1, 2), np.ascontiguousarray(rng[first]),
                   np.ascontiguousarray(cap[first]), float(grazing_alt_m), kind, int(n_sats))


@dataclass(frozen=True, eq=False)
class IslLinks:
    """The plan's links at one instant; every planned pair is present, down ones as NaN.

    Attributes
    ----------
    sat_a, sat_b: (k,) int32 the plan's pairs (``sat_a < sat_b``).
    length_m: (k,) length, metres; NaN where the link is down.
    capacity_bps: (k,) the plan's capacity where up, 0 where down.
    """

    sat_a: IntArray
    sat_b: IntArray
    length_m: FloatArray
    capacity_bps: FloatArray
    kind: ClassVar[LinkKind] = LinkKind.ISL

    def __len__(self) -> int:
        return len(self.sat_a)

    def __repr__(self) -> str:
        return f"IslLinks(<{int(self.up.sum())} of {len(self)} planned links up>)"

    @property
    def up(self) -> npt.NDArray[np.bool_]:
        """(k,) True where the link is usable."""
        return ~np.isnan(self.length_m)

    @property
    def delay_s(self) -> FloatArray:
        """(k,) one-way propagation delay in vacuum, seconds (NaN where down)."""
        return self.length_m / C_M_S


# ---- evaluation at one instant -----------------------------------------------------------------
def isl_lengths(
    plan: IslPlan,
    r_sat_m: npt.ArrayLike,
    *,
    method: Literal["numba", "reference"] = "numba",
) -> FloatArray:
    """(k,) length of each planned link at one instant, metres; NaN where it is down.

    ``r_sat_m``: (n_sats, 3) positions at one instant, any one frame (TEME or ITRF), metres.
    """
    r = np.ascontiguousarray(r_sat_m, dtype=np.float64)
    if r.ndim != 2 or r.shape[1] != 3 or r.shape[0] != plan.n_sats:
        raise UsageError(f"positions must be ({plan.n_sats}, 3) for this plan, got {r.shape}")
    clear_m = EARTH_RADIUS_M + plan.grazing_alt_m
    if method == "numba":
        return _isl_kernel(r, plan.pairs, plan.max_range_m, clear_m * clear_m)
    if method == "reference":
        return _isl_reference(r, plan.pairs, plan.max_range_m, clear_m)
    raise UsageError(f"method must be 'numba' or 'reference', got {method!r}")


def isl_links(plan: IslPlan, r_sat_m: npt.ArrayLike) -> IslLinks:
    """The plan at one instant as :class:`IslLinks` (length, delay, capacity per pair)."""
    length = isl_lengths(plan, r_sat_m)
    cap = np.where(np.isnan(length), 0.0, plan.capacity_bps)
    return IslLinks(plan.pairs[:, 0], plan.pairs[:, 1], length, cap)


def _isl_reference(r: FloatArray, pairs: IntArray, max_range: FloatArray,
                   clear_m: float) -> FloatArray:
    a, b = r[pairs[:, 0]], r[pairs[:, 1]]
    d = b - a
    length = np.linalg.norm(d, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.clip(-np.einsum("ij,ij->i", a, d) / np.einsum("ij,ij->i", d, d), 0.0, 1.0)
    closest = np.linalg.norm(a + t[:, None] * d, axis=1)
    up = (closest >= clear_m) & (length <= max_range)
    return np.where(up, length, np.nan)


@numba.njit(cache=True, nogil=True)
def _isl_kernel(r, pairs, max_range, clear2):  # pragma: no cover - numba
    out = np.empty(pairs.shape[0])
    for k in range(pairs.shape[0]):
        i, j = pairs[k, 0], pairs[k, 1]
        ax, ay, az = r[i, 0], r[i, 1], r[i, 2]
        dx, dy, dz = r[j, 0] - ax, r[j, 1] - ay, r[j, 2] - az
        dd = dx * dx + dy * dy + dz * dz
        length = math.sqrt(dd)
        # closest approach of the segment to the Earth's centre
        t = -(ax * dx + ay * dy + az * dz) / dd if dd > 0.0 else 0.0
        t = min(max(t, 0.0), 1.0)
        px, py, pz = ax + t * dx, ay + t * dy, az + t * dz
        if px * px + py * py + pz * pz >= clear2 and length <= max_range[k]:
            out[k] = length
        else:
            out[k] = np.nan
    return out


# ---- +Grid ---------------------------------------------------------------------------------------
def _shell_ids(elements: ElementSet, plane: IntArray) -> IntArray:
    """Shell of each satellite with a plane.

    The set's own ``shell`` numbers when it has them, each split further where its planes differ
    in mean inclination or altitude (:func:`~orbemu.links.planes.group_planes`, the rule
    :func:`~orbemu.links.planes.infer_planes` uses), so planes of different shells are never
    treated as neighbours even when the set does not say which shell they belong to.
    """
    shell = np.full(len(plane), -1, np.int32)
    known = plane >= 0
    planes, inverse = np.unique(plane[known], return_inverse=True)
    if planes.size == 0:
        return shell
    inc = np.degrees(elements.inclination_rad)[known]
    alt = elements.mean_altitude_m[known]
    c_inc = np.array([np.median(inc[inverse == k]) for k in range(planes.size)])
    c_alt = np.array([np.median(alt[inverse == k]) for k in range(planes.size)])
    geometric = group_planes(c_inc, c_alt)
    declared = getattr(elements, "shell", None)
    if declared is None:
        per_plane = np.zeros(planes.size, np.int64)
    else:
        d = np.asarray(declared, np.int64)[known]
        per_plane = np.array([np.bincount(d[inverse == k] - d.min()).argmax() + d.min()
                              for k in range(planes.size)])
    _, label = np.unique(np.column_stack([per_plane, geometric]), axis=0, return_inverse=True)
    shell[known] = label.reshape(-1)[inverse]
    return shell


def _circ_diff(a: FloatArray, b: float | FloatArray) -> FloatArray:
    """Signed difference a - b wrapped to (-π, π]."""
    return np.mod(np.asarray(a) - b + math.pi, TAU) - math.pi


def plus_grid(
    elements: ElementSet,
    *,
    at: Time | None = None,
    slot_shift: int = 0,
    cross: Literal["auto", "slot", "phase"] = "auto",
    seam: Literal["auto", "open", "closed"] = "auto",
    max_range_m: float = np.inf,
    capacity_bps: float = np.inf,
    grazing_alt_m: float = DEFAULT_GRAZING_ALT_M,
) -> IslPlan:
    """A +Grid plan from the elements' plane/slot structure.

    Parameters
    ----------
    elements: a set with ``plane``/``slot`` (designed shells, or after
        :func:`~orbemu.links.planes.infer_planes` and ``PlaneStructure.apply``); satellites with
        plane -1 get no ISLs. Planes are grouped into shells by mean inclination (within 0.1°) and
        altitude (within 10 km); within a shell, planes are adjacent when their numbers are
        consecutive.
    at: instant at which the geometry is read (seam pattern, wrap offset, phase matching);
        default: the latest element epoch.
    slot_shift: cross-plane link from slot ``s`` to slot ``s + slot_shift`` of the next plane
        (in ``"phase"`` mode: that many mean slot spacings ahead in argument of latitude).
    cross, seam: see the module notes.
    max_range_m, capacity_bps: per-link limits (e.g. an optical terminal's range and rate,
        :data:`orbemu.links.budget.OPTICAL_ISL`).
    grazing_alt_m: the line of sight must clear this altitude above ``EARTH_RADIUS_M``.
    """
    if cross not in ("auto", "slot", "phase"):
        raise UsageError(f"cross must be 'auto', 'slot' or 'phase', got {cross!r}")
    if seam not in ("auto", "open", "closed"):
        raise UsageError(f"seam must be 'auto', 'open' or 'closed', got {seam!r}")
    n = len(elements)
    plane, slot = elements.plane, elements.slot
    if not np.any(plane >= 0):
        raise UsageError(
            f"{elements!r} has no plane/slot structure; build it with "
            "orbemu.links.infer_planes(elements, at).apply(elements), or use a designed shell")
    if at is None:
        at = elements.epoch_span()[1]
    raan = raan_at_rad(elements, at)
    eph = propagate(elements, at, frame="TEME")
    r, v = eph.position_m[:, 0], eph.velocity_m_s[:, 0]
    u = np.full(n, np.nan)
    ok = np.all(np.isfinite(r), axis=1)
    if ok.any():
        u[ok] = _argument_of_latitude(r[ok], v[ok])
    shell = _shell_ids(elements, plane)
    pairs: list[npt.NDArray[np.int64]] = []
    for s in range(int(shell.max()) + 1):
        in_shell = np.flatnonzero(shell == s)
        planes = np.unique(plane[in_shell])
        members = [in_shell[plane[in_shell] == p] for p in planes]
        members = [m[np.argsort(slot[m], kind="stable")] for m in members]
        for m in members:  # intra-plane ring
            if len(m) >= 2:
                nxt = np.roll(m, -1)
                pairs.append(np.column_stack([m, nxt])[: len(m) if len(m) > 2 else 1])
        if len(members) < 2:
            continue
        sizes = {len(m) for m in members}
        full = len(sizes) == 1 and all(
            np.array_equal(slot[m], np.arange(len(m))) for m in members)
        mode = cross if cross != "auto" else ("slot" if full else "phase")
        if mode == "slot" and not full:
            raise UsageError(f"cross='slot' needs every plane of shell {s} to hold the same "
                             f"slots 0..S-1 (plane sizes {sorted(sizes)}); use cross='phase'")
        closed = _delta(raan, members) if seam == "auto" else seam == "closed"
        neighbours = list(itertools.pairwise(members))
        wrap = closed and len(members) > 2
        for k, (pa, pb) in enumerate(neighbours + ([(members[-1], members[0])] if wrap else [])):
            is_wrap = k == len(neighbours)
            if mode == "slot":
                n_slot = len(pa)
                offset = slot_shift
                if is_wrap:
                    offset += _best_offset(u[pa], u[pb])
                pairs.append(np.column_stack([pa, pb[(np.arange(n_slot) + offset) % n_slot]]))
            else:
                spacing = TAU / float(np.mean([len(m) for m in members]))
                pairs.append(_phase_match(pa, pb, u, slot_shift * spacing))
    if not pairs:
        return IslPlan.from_pairs(np.zeros((0, 2), np.int64), n, grazing_alt_m=grazing_alt_m,
                                  kind="grid")
    return IslPlan.from_pairs(np.concatenate(pairs), n, max_range_m=max_range_m,
                              capacity_bps=capacity_bps, grazing_alt_m=grazing_alt_m,
                              kind="grid")


def _delta(raan: FloatArray, members: list[npt.NDArray[np.int64]]) -> bool:
    """True when the shell's planes cover the full circle of nodes (Walker delta)."""
    c = np.sort(np.array([math.atan2(np.sin(raan[m]).mean(), np.cos(raan[m]).mean())
                          for m in members]) % TAU)
    gaps = np.diff(np.r_[c, c[0] + TAU])
    span = TAU - gaps.max()
    spacing = float(np.median(np.sort(gaps)[:-1]))
    return math.degrees(span + spacing) >= 270.0


def _best_offset(u_a: FloatArray, u_b: FloatArray) -> int:
    """Slot offset o minimizing the phase gap between slot s of plane a and s+o of plane b."""
    n = len(u_a)
    cost = [float(np.nanmean(np.abs(_circ_diff(u_b[(np.arange(n) + o) % n], u_a))))
            for o in range(n)]
    return int(np.argmin(cost))


def _phase_match(pa: npt.NDArray[np.int64], pb: npt.NDArray[np.int64], u: FloatArray,
                 lead: float) -> npt.NDArray[np.int64]:
    """One-to-one pairs between two planes, closest in argument of latitude first."""
    ua, ub = u[pa] + lead, u[pb]
    gap = np.abs(_circ_diff(ua[:, None], ub[None, :]))
    gap = np.where(np.isnan(gap), np.inf, gap)
    # candidates: each satellite's nearest in the other plane (both directions)
    cand = {(int(i), int(np.argmin(gap[i]))) for i in range(len(pa))}
    cand |= {(int(np.argmin(gap[:, j])), int(j)) for j in range(len(pb))}
    order = sorted(cand, key=lambda c: (gap[c], c))
    used_a: set[int] = set()
    used_b: set[int] = set()
    out = []
    for i, j in order:
        if i in used_a or j in used_b or not np.isfinite(gap[i, j]):
            continue
        used_a.add(i)
        used_b.add(j)
        out.append((pa[i], pb[j]))
    return np.array(out, np.int64).reshape(-1, 2)
