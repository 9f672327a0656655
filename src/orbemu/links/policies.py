"""Ground-link policies (which visible links a network uses) and handovers between instants.

A policy orders the visible links of one instant; caps then take links greedily in that order:

- ``"all"``: every visible link (order ``(node, sat)``; with caps, lowest indices win);
- ``"nearest"``: shortest slant range first;
- ``"highest"``: highest elevation first;
- ``"longest"``: longest remaining visibility first (see :func:`remaining_visibility_s`).

:func:`select_links` walks the links in policy order over *all* nodes and takes a link when its
node has fewer than ``max_per_node`` links and its satellite fewer than ``max_per_sat``. Ties in
the policy's score are broken by node index, then satellite index, so the result is
deterministic. With only a per-node cap the walk is the same as taking each node's best
``max_per_node`` links, which is what the fast path does.

Handovers: :class:`HandoverTracker` compares each instant's selection with the previous one and
emits ``(time, node, old_sat, new_sat)`` records; ``old_sat = -1`` is a first acquisition,
``new_sat = -1`` a loss. When a node holds several links, the satellites it dropped and the ones
it gained at an instant are paired in increasing index order; unmatched ones are losses or
acquisitions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numba
import numpy as np
import numpy.typing as npt

from orbemu.errors import UsageError
from orbemu.links.visibility import GroundLinks
from orbemu.orbits.ground_nodes import GroundNodes
from orbemu.time import Time

__all__ = [
    "POLICIES",
    "HandoverTracker",
    "Handovers",
    "Policy",
    "handovers",
    "remaining_visibility_s",
    "select_links",
]

Policy = Literal["all", "nearest", "highest", "longest"]
POLICIES: tuple[str, ...] = ("all", "nearest", "highest", "longest")

FloatArray = npt.NDArray[np.float64]


# ---- look-ahead --------------------------------------------------------------------------------
def remaining_visibility_s(
    nodes: GroundNodes,
    links: GroundLinks,
    r_sat_itrf_m: npt.ArrayLike,
    v_sat_itrf_m_s: npt.ArrayLike,
) -> FloatArray:
    """Estimated time each link stays visible from now, seconds (g,).

    Model: the satellite moves on the great circle tangent to its Earth-fixed velocity at its
    current angular rate and radius (a circular orbit seen from the rotating Earth over the few
    minutes of a pass); the node sees it while the geocentric angle between them is below
    ``arccos(r_node cos e / r_sat) - e`` (spherical Earth, ``e`` the node's ``min_elevation_deg``;
    azimuth masks and range limits are not applied to the look-ahead). Against exit times found by
    propagating Starlink with SGP4 (2,000 links from 40 cities at 25°), the median error is about
    1 s and the worst about 8 s: good for ranking satellites, not for timing events.

    ``r_sat_itrf_m``/``v_sat_itrf_m_s`` are (n_sats, 3) ITRF position and velocity (the
    ephemeris of the same instant, ``frame="ITRF"``).
    """
    r = np.asarray(r_sat_itrf_m, np.float64)[links.sat]
    v = np.asarray(v_sat_itrf_m_s, np.float64)[links.sat]
    g = nodes.itrf_m[links.node]
    e = nodes.min_elevation_deg[links.node] * (math.pi / 180.0)
    r_norm = np.linalg.norm(r, axis=1)
    g_norm = np.linalg.norm(g, axis=1)
    h = np.cross(r, v)
    h_norm = np.linalg.norm(h, axis=1)
    omega = h_norm / (r_norm * r_norm)
    r_hat = r / r_norm[:, None]
    t_hat = np.cross(h / h_norm[:, None], r_hat)
    g_hat = g / g_norm[:, None]
    a = np.einsum("ij,ij->i", g_hat, r_hat)
    b = np.einsum("ij,ij->i", g_hat, t_hat)
    amp = np.hypot(a, b)
    phase = np.arctan2(b, a)
    cos_lam = np.cos(np.arccos(np.clip(g_norm * np.cos(e) / r_norm, -1.0, 1.0)) - e)
    with np.errstate(invalid="ignore", divide="ignore"):
        t_exit = (phase + np.arccos(np.clip(cos_lam / amp, -1.0, 1.0))) / omega
    return np.where(np.isfinite(t_exit), np.maximum(t_exit, 0.0), 0.0)


# ---- selection ---------------------------------------------------------------------------------
def _score(links: GroundLinks, policy: str, remaining_s: npt.ArrayLike | None) -> FloatArray:
    """Lower is better."""
    if policy == "all":
        return np.zeros(len(links))
    if policy == "nearest":
        return links.length_m
    if policy == "highest":
        return -links.elevation_rad
    if policy == "longest":
        if remaining_s is None:
            raise UsageError("policy 'longest' needs remaining_s: pass "
                             "remaining_visibility_s(nodes, links, r_itrf, v_itrf)")
        rem = np.asarray(remaining_s, np.float64)
        if rem.shape != (len(links),):
            raise UsageError(f"remaining_s must have one value per link ({len(links)}), "
                             f"got shape {rem.shape}")
        return -rem
    raise UsageError(f"unknown ground-link policy {policy!r}; use one of {', '.join(POLICIES)}")


def _check_cap(name: str, cap: int | None) -> int:
    if cap is None:
        return -1
    if int(cap) < 0:
        raise UsageError(f"{name} must be >= 0 or None (no limit), got {cap}")
    return int(cap)


def select_links(
    links: GroundLinks,
    policy: Policy = "nearest",
    *,
    max_per_node: int | None = 1,
    max_per_sat: int | None = None,
    remaining_s: npt.ArrayLike | None = None,
    method: Literal["numba", "reference"] = "numba",
) -> GroundLinks:
    """The links a policy keeps at one instant (a subset of ``links``, still sorted).

    Parameters
    ----------
    links: every visible link (:func:`~orbemu.links.visibility.ground_links`).
    policy: ``"all"``, ``"nearest"``, ``"highest"`` or ``"longest"`` (the order links are taken).
    max_per_node, max_per_sat: caps (``None`` = no limit). Defaults: one satellite per node.
    remaining_s: (g,) seconds of visibility left per link, for ``"longest"``.
    method: ``"numba"`` or ``"reference"`` (plain Python walk; for tests).
    """
    score = _score(links, policy, remaining_s)
    per_node = _check_cap("max_per_node", max_per_node)
    per_sat = _check_cap("max_per_sat", max_per_sat)
    if per_node < 0 and per_sat < 0:
        return links
    if method == "reference":
        keep = _select_reference(links, score, per_node, per_sat)
    elif method != "numba":
        raise UsageError(f"method must be 'numba' or 'reference', got {method!r}")
    elif per_sat < 0:
        keep = _per_node_best(links.node_offsets(), score, per_node)
    else:
        # Stable sort: links arrive in (node, sat) order, so ties keep that order.
        order = np.argsort(score, kind="stable")
        keep = _greedy(order, links.node, links.sat, links.n_nodes, links.n_sats, per_node,
                       per_sat)
    return links.select(keep)


def _select_reference(links: GroundLinks, score: FloatArray, per_node: int,
                      per_sat: int) -> npt.NDArray[np.bool_]:
    order = sorted(range(len(links)),
                   key=lambda k: (score[k], int(links.node[k]), int(links.sat[k])))
    n_cnt: dict[int, int] = {}
    s_cnt: dict[int, int] = {}
    keep = np.zeros(len(links), bool)
    for k in order:
        i, j = int(links.node[k]), int(links.sat[k])
        if (per_node < 0 or n_cnt.get(i, 0) < per_node) and \
                (per_sat < 0 or s_cnt.get(j, 0) < per_sat):
            keep[k] = True
            n_cnt[i] = n_cnt.get(i, 0) + 1
            s_cnt[j] = s_cnt.get(j, 0) + 1
    return keep


@numba.njit(cache=True, nogil=True)
def _greedy(order, node, sat, n_nodes, n_sats, per_node, per_sat):  # pragma: no cover - numba
    keep = np.zeros(order.size, np.bool_)
    n_cnt = np.zeros(n_nodes, np.int64)
    s_cnt = np.zeros(n_sats, np.int64)
    for q in range(order.size):
        k = order[q]
        i, j = node[k], sat[k]
        if (per_node < 0 or n_cnt[i] < per_node) and (per_sat < 0 or s_cnt[j] < per_sat):
            keep[k] = True
            n_cnt[i] += 1
            s_cnt[j] += 1
    return keep


@numba.njit(cache=True, nogil=True)
def _per_node_best(offsets, score, per_node):  # pragma: no cover - numba
    """Each node's ``per_node`` lowest scores (ties: lower link index, i.e. lower satellite)."""
    keep = np.zeros(score.size, np.bool_)
    for i in range(offsets.size - 1):
        a, b = offsets[i], offsets[i + 1]
        if b - a <= per_node:
            keep[a:b] = True
            continue
        for _ in range(per_node):
            best = -1
            for k in range(a, b):
                if not keep[k] and (best < 0 or score[k] < score[best]):
                    best = k
            keep[best] = True
    return keep


# ---- handovers -------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Handovers:
    """Handover events, in time order then node order.

    Attributes
    ----------
    time: (h,) instants of the selection where the change was seen.
    node: (h,) int32 ground node.
    old_sat: (h,) int32 satellite left, -1 for a first acquisition.
    new_sat: (h,) int32 satellite taken, -1 for a loss (no replacement).
    """

    time: Time
    node: npt.NDArray[np.int32]
    old_sat: npt.NDArray[np.int32]
    new_sat: npt.NDArray[np.int32]

    def __len__(self) -> int:
        return len(self.node)

    def __repr__(self) -> str:
        return (f"Handovers(<{len(self)} events: {self.n_switches} switches, "
                f"{int(np.count_nonzero(self.old_sat < 0))} acquisitions, "
                f"{int(np.count_nonzero(self.new_sat < 0))} losses>)")

    @property
    def n_switches(self) -> int:
        """Events where a node moved from one satellite to another."""
        return int(np.count_nonzero((self.old_sat >= 0) & (self.new_sat >= 0)))

    @classmethod
    def empty(cls) -> Handovers:
        z = np.zeros(0, np.int32)
        return cls(Time(np.zeros(0, np.int64)), z, z.copy(), z.copy())

    @classmethod
    def concat(cls, parts: Sequence[Handovers]) -> Handovers:
        if not parts:
            return cls.empty()
        return cls(Time(np.concatenate([p.time.ns for p in parts])),
                   np.concatenate([p.node for p in parts]),
                   np.concatenate([p.old_sat for p in parts]),
                   np.concatenate([p.new_sat for p in parts]))


def _rank_within(groups: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Position of each element within its run of equal (sorted) group values."""
    if groups.size == 0:
        return groups
    starts = np.r_[0, np.flatnonzero(np.diff(groups)) + 1]
    run_start = np.repeat(starts, np.diff(np.r_[starts, groups.size]))
    return np.arange(groups.size) - run_start


class HandoverTracker:
    """Turns a sequence of per-instant selections into handover events.

    ``update(time, selected)`` compares ``selected`` (a :class:`GroundLinks`, typically from
    :func:`select_links`) with the previous update and returns the events at ``time``. The first
    update reports every link as an acquisition. ``reset()`` forgets the previous selection.
    """

    def __init__(self) -> None:
        self._prev_key: npt.NDArray[np.int64] | None = None
        self._n_sats = 0

    def reset(self) -> None:
        self._prev_key = None

    def update(self, time: Time, selected: GroundLinks) -> Handovers:
        if time.ndim != 0:
            raise UsageError("HandoverTracker.update takes one instant")
        n_sats = max(selected.n_sats, 1)
        if self._prev_key is not None and n_sats != self._n_sats:
            raise UsageError(f"satellite count changed from {self._n_sats} to {n_sats} "
                             "between updates; call reset() when the constellation changes")
        self._n_sats = n_sats
        # (node, sat) keys; GroundLinks are sorted by (node, sat), so keys are sorted.
        key = selected.node.astype(np.int64) * n_sats + selected.sat
        prev = self._prev_key if self._prev_key is not None else np.zeros(0, np.int64)
        self._prev_key = key
        lost = prev[~np.isin(prev, key, assume_unique=True)]
        gained = key[~np.isin(key, prev, assume_unique=True)]
        return _pair_events(int(time), lost, gained, n_sats)


def _pair_events(t_ns: int, lost: npt.NDArray[np.int64], gained: npt.NDArray[np.int64],
                 n_sats: int) -> Handovers:
    """Pair each node's k-th lost satellite with its k-th gained one (both sorted)."""
    l_node, l_sat = lost // n_sats, lost % n_sats
    g_node, g_sat = gained // n_sats, gained % n_sats
    # Events are identified by (node, rank within node); a full outer join on that pair.
    l_id = l_node * (n_sats + 1) + _rank_within(l_node)
    g_id = g_node * (n_sats + 1) + _rank_within(g_node)
    ids = np.union1d(l_id, g_id)
    old = np.full(ids.size, -1, np.int64)
    new = np.full(ids.size, -1, np.int64)
    old[np.searchsorted(ids, l_id)] = l_sat
    new[np.searchsorted(ids, g_id)] = g_sat
    return Handovers(Time(np.full(ids.size, t_ns, np.int64)),
                     (ids // (n_sats + 1)).astype(np.int32), old.astype(np.int32),
                     new.astype(np.int32))


def handovers(times: Time, selections: Sequence[GroundLinks]) -> Handovers:
    """All handover events over a sequence of selections (one per instant of ``times``)."""
    if times.ndim != 1 or len(times) != len(selections):
        raise UsageError(f"need one selection per instant: {len(selections)} selections for "
                         f"times of shape {times.shape}")
    tracker = HandoverTracker()
    return Handovers.concat([tracker.update(t, s) for t, s in zip(times, selections,
                                                                  strict=True)])
