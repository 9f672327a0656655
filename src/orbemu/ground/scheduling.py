"""Contact scheduling: which antenna of which station serves which satellite, and when.

Problem
-------
Given :class:`~orbemu.ground.contacts.ContactWindows` and :class:`GroundStations`, choose a set of
windows and an antenna for each, such that

1. on one antenna, contacts do not overlap and consecutive contacts ``a`` then ``b`` leave the gap
   ``los_a + setup_s + slew_s(a → b) ≤ aos_b`` (slew from ``a``'s LOS pointing to ``b``'s AOS
   pointing; :meth:`GroundStations.gap_s`). An antenna's first contact needs no gap;
2. a satellite is in at most ``max_antennas_per_sat`` contacts at any instant (default 1: one
   radio);
3. a station uses at most its ``antennas`` at once (implied by 1);

maximising the total value. The value of a window is ``priority[sat] × volume`` with
``value="volume"`` (achievable downlink bits; the default), or ``priority[sat]`` per contact with
``value="count"``; or any array given per window.

**Contacts are all-or-nothing**: a window is taken whole, from its AOS to its LOS, or not at all.
Real operations also shorten contacts (start late after the previous pass, stop early for the next
one), which can only increase the achievable value; neither scheduler does that yet, so both
solve the same problem and their ratio is meaningful. Windows already cut by outages are separate
windows.

Two schedulers
--------------
- :func:`schedule_greedy`: windows by decreasing value (ties: earlier AOS, lower satellite, lower
  station: deterministic), each taken if the satellite is free and some antenna (lowest index
  first) has room including the gaps to its neighbours. ``O(w log w)``, plus the check.
- :func:`schedule_optimal`: an integer program solved by HiGHS (``scipy.optimize.milp``). Each
  station's antennas are ``k`` units of flow through a time-expanded network (the classic
  min-cost-flow model of interval scheduling on ``k`` identical machines, Arkin & Silverberg
  1987): an idle-antenna *timeline* per station, an arc from the timeline into each window at its
  AOS, an arc from each window back to the timeline at ``LOS + max gap`` (``setup + the slowest
  slew``: after that any next window is reachable), and a direct arc ``a → b`` for each pair
  whose exact gap ``setup + slew(a → b)`` fits but which starts before ``a`` rejoins the
  timeline. On its own this network is totally unimodular (one station is solved exactly by its
  LP); the satellite constraints — one row per clique of a satellite's overlapping windows,
  ``Σ taken ≤ max_antennas_per_sat`` — couple the stations and make it an integer program.
  The LP relaxation is *not* tight when satellites see several stations at once (high-latitude
  clusters): on 100 polar satellites over KSAT's 36 stations, one hour of windows, its
  bound was 77 % above the optimum and HiGHS needed ~90 branch-and-bound nodes (14 s). Large
  instances therefore need ``time_limit_s`` and report a gap. Antenna numbers come from
  decomposing the integral flow into paths. ``time_limit_s`` bounds the solve;
  the plan then carries the best solution found, its status and the proven upper bound.

Why a flow-based MILP rather than a plain max-weight interval scheduling: the satellite
constraints link stations, and the pair-dependent slew time breaks the interval structure that
the simpler algorithms need; the flow model keeps both exact while staying near-integral.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from orbemu.constants import NS_PER_S
from orbemu.errors import UsageError
from orbemu.ground.contacts import ContactWindows, Direction
from orbemu.ground.stations import GroundStations

__all__ = ["ContactPlan", "plan_violations", "schedule_greedy", "schedule_optimal",
           "window_values"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
ValueMode = Literal["volume", "count"]


def window_values(windows: ContactWindows, priority: npt.ArrayLike = 1.0,
                  value: ValueMode | npt.ArrayLike = "volume") -> FloatArray:
    """(w,) value of each window: ``priority[sat] × volume_down_bits`` (``"volume"``),
    ``priority[sat]`` (``"count"``), or the given (w,) array."""
    n = windows.set_norad_ids.size
    prio = np.asarray(priority, np.float64)
    if prio.ndim > 1 or (prio.ndim == 1 and prio.size != n):
        raise UsageError(f"priority needs a scalar or one value per satellite ({n}), got "
                         f"shape {prio.shape}")
    prio = np.broadcast_to(prio, (n,))
    if np.any(~np.isfinite(prio) | (prio < 0)):
        raise UsageError("priority must be finite and ≥ 0")
    if isinstance(value, str):
        if value == "volume":
            return prio[windows.sat] * windows.volume_down_bits
        if value == "count":
            return prio[windows.sat].astype(np.float64)
        raise UsageError(f"value must be 'volume', 'count' or an array, got {value!r}")
    v = np.asarray(value, np.float64)
    if v.shape != (len(windows),):
        raise UsageError(f"value array needs one entry per window ({len(windows)}), got "
                         f"{v.shape}")
    return v


@dataclass(frozen=True, eq=False)
class ContactPlan:
    """Scheduled contacts, columnar, sorted by start (``c`` rows).

    Attributes
    ----------
    window: (c,) row of each contact in :attr:`windows`.
    sat, station, antenna: (c,) satellite, station and antenna (0..antennas-1) indices.
    start_ns, end_ns: (c,) int64 UTC ns (the window's AOS and LOS: contacts are whole windows).
    value: (c,) the objective value of each contact.
    volume_down_bits, volume_up_bits: (c,) achievable volume of each contact, bits.
    method: ``"greedy"`` or ``"optimal"``.
    status: ``"optimal"``, ``"feasible"`` (time limit reached with a solution),
        ``"greedy-fallback"`` (time limit reached before any solution: the greedy plan) or
        ``"heuristic"`` (greedy).
    upper_bound: a proven upper bound of the best total value (the optimal's dual bound; NaN
        for greedy).
    windows: the windows the plan was made from (rates along each contact).
    """

    window: IntArray
    sat: IntArray
    station: IntArray
    antenna: IntArray
    start_ns: IntArray
    end_ns: IntArray
    value: FloatArray
    volume_down_bits: FloatArray
    volume_up_bits: FloatArray
    method: str
    status: str
    upper_bound: float
    windows: ContactWindows = field(repr=False)
    solve_s: float = 0.0

    def __len__(self) -> int:
        return int(self.window.size)

    def __repr__(self) -> str:
        return (f"ContactPlan(<{self.method}, {len(self)} contacts of "
                f"{np.unique(self.sat).size} satellites, value {self.total_value:.4g}, "
                f"{self.status}>)")

    @property
    def total_value(self) -> float:
        return float(self.value.sum())

    @property
    def duration_s(self) -> FloatArray:
        return (self.end_ns - self.start_ns) / NS_PER_S

    @classmethod
    def from_windows(cls, windows: ContactWindows, chosen: npt.ArrayLike,
                     antenna: npt.ArrayLike, value: FloatArray, *, method: str, status: str,
                     upper_bound: float = math.nan, solve_s: float = 0.0) -> ContactPlan:
        """A plan taking windows ``chosen`` whole, on antennas ``antenna``."""
        w = np.asarray(chosen, np.int64)
        ant = np.asarray(antenna, np.int64)
        order = np.lexsort((windows.station[w], windows.sat[w], windows.aos_ns[w]))
        w, ant = w[order], ant[order]
        return cls(window=w, sat=windows.sat[w], station=windows.station[w], antenna=ant,
                   start_ns=windows.aos_ns[w], end_ns=windows.los_ns[w],
                   value=np.asarray(value, np.float64)[w],
                   volume_down_bits=windows.volume_down_bits[w],
                   volume_up_bits=windows.volume_up_bits[w], method=method, status=status,
                   upper_bound=upper_bound, windows=windows, solve_s=solve_s)

    # ---- run-time queries (the engine calls these every step) --------------------------------
    def active(self, t0_ns: int, t1_ns: int) -> IntArray:
        """Rows of the contacts overlapping ``[t0, t1)``; cost ∝ contacts near that time."""
        if len(self) == 0:
            return np.zeros(0, np.int64)
        longest = self._longest_ns
        lo = int(np.searchsorted(self.start_ns, t0_ns - longest, side="left"))
        hi = int(np.searchsorted(self.start_ns, t1_ns, side="left"))
        rows = np.arange(lo, hi, dtype=np.int64)
        return rows[self.end_ns[lo:hi] > t0_ns]

    @property
    def _longest_ns(self) -> int:
        cached = self.__dict__.get("_longest")
        if cached is None:
            cached = int((self.end_ns - self.start_ns).max()) if len(self) else 0
            object.__setattr__(self, "_longest", cached)
        return cached

    def rate_bps(self, rows: npt.ArrayLike, t_ns: npt.ArrayLike,
                 direction: Direction = "down") -> FloatArray:
        """Rate of contacts ``rows`` at ``t_ns``, bit/s (0 outside the contact)."""
        rows = np.asarray(rows, np.int64)
        return self.windows.rate_bps(self.window[rows], t_ns, direction)

    def capacity_bits(self, rows: npt.ArrayLike, t0_ns: int, t1_ns: int,
                      direction: Direction = "down") -> FloatArray:
        """Volume contacts ``rows`` can carry within ``[t0, t1]``, bits (exact integral of the
        window's rate model over the overlap)."""
        rows = np.asarray(rows, np.int64)
        return self.windows.volume_bits(self.window[rows], np.maximum(self.start_ns[rows], t0_ns),
                                        np.minimum(self.end_ns[rows], t1_ns), direction)

    def violations(self, stations: GroundStations, *, max_antennas_per_sat: int = 1
                   ) -> list[str]:
        """Every broken constraint of the plan (empty when it is valid)."""
        return plan_violations(self, stations, max_antennas_per_sat=max_antennas_per_sat)


# ---- checks ----------------------------------------------------------------------------------


def _gap_ns(stations: GroundStations, windows: ContactWindows, a: npt.ArrayLike,
            b: npt.ArrayLike) -> IntArray:
    """Gap (ns, rounded up) an antenna needs between window ``a`` ending and ``b`` starting."""
    a = np.asarray(a, np.int64)
    b = np.asarray(b, np.int64)
    gap = stations.gap_s(windows.station[a], windows.los_az_deg[a], windows.los_el_deg[a],
                         windows.aos_az_deg[b], windows.aos_el_deg[b])
    return np.ceil(gap * NS_PER_S).astype(np.int64)


def plan_violations(plan: ContactPlan, stations: GroundStations, *,
                    max_antennas_per_sat: int = 1) -> list[str]:
    """List every constraint ``plan`` breaks (see the module docstring); empty if valid."""
    out: list[str] = []
    w = plan.windows
    if np.unique(plan.window).size != len(plan):
        out.append("a window is scheduled twice")
    bad = (plan.antenna < 0) | (plan.antenna >= stations.antennas[plan.station])
    for i in np.flatnonzero(bad):
        out.append(f"contact {i}: antenna {plan.antenna[i]} of station {plan.station[i]} "
                   f"does not exist")
    # Antennas: consecutive contacts leave the gap.
    order = np.lexsort((plan.start_ns, plan.antenna, plan.station))
    same = ((plan.station[order][1:] == plan.station[order][:-1])
            & (plan.antenna[order][1:] == plan.antenna[order][:-1]))
    a, b = order[:-1][same], order[1:][same]
    if a.size:
        need = plan.end_ns[a] + _gap_ns(stations, w, plan.window[a], plan.window[b])
        for i in np.flatnonzero(need > plan.start_ns[b]):
            out.append(f"station {plan.station[a[i]]} antenna {plan.antenna[a[i]]}: contact "
                       f"at {plan.start_ns[b[i]]} starts before {need[i]} (LOS of the previous "
                       f"+ setup + slew)")
    # Satellites: at most max_antennas_per_sat contacts at once (sweep over start/end events).
    ev_t = np.concatenate([plan.start_ns, plan.end_ns])
    ev_s = np.concatenate([plan.sat, plan.sat])
    ev_d = np.concatenate([np.ones(len(plan), np.int64), -np.ones(len(plan), np.int64)])
    order = np.lexsort((ev_d, ev_t, ev_s))  # ends before starts at equal times
    depth = 0
    last = -1
    for s, d in zip(ev_s[order], ev_d[order], strict=True):
        if s != last:
            depth, last = 0, s
        depth += d
        if depth > max_antennas_per_sat:
            out.append(f"satellite {s} is in {depth} contacts at once (limit "
                       f"{max_antennas_per_sat})")
    return out


# ---- greedy ----------------------------------------------------------------------------------


def _check_common(windows: ContactWindows, stations: GroundStations,
                  max_antennas_per_sat: int) -> None:
    if not isinstance(windows, ContactWindows):
        raise UsageError(f"windows must be ContactWindows, got {type(windows).__name__}")
    if not isinstance(stations, GroundStations):
        raise UsageError(f"stations must be GroundStations, got {type(stations).__name__}")
    if len(windows) and int(windows.station.max()) >= len(stations):
        raise UsageError("windows refer to stations these GroundStations do not have")
    if int(max_antennas_per_sat) < 1:
        raise UsageError(f"max_antennas_per_sat must be ≥ 1, got {max_antennas_per_sat}")


def schedule_greedy(
    windows: ContactWindows,
    stations: GroundStations,
    *,
    priority: npt.ArrayLike = 1.0,
    value: ValueMode | npt.ArrayLike = "volume",
    max_antennas_per_sat: int = 1,
) -> ContactPlan:
    """Greedy by value (see the module docstring): deterministic, fast, not optimal.

    ``priority``: scalar or (n_sats,) weights ≥ 0. ``value``: ``"volume"``, ``"count"`` or a (w,)
    array (see :func:`window_values`). Windows of value 0 are not scheduled.
    """
    import time as _time

    _check_common(windows, stations, max_antennas_per_sat)
    t_start = _time.perf_counter()
    vals = window_values(windows, priority, value)
    order = np.lexsort((windows.station, windows.sat, windows.aos_ns, -vals))
    order = order[vals[order] > 0]
    aos = windows.aos_ns.tolist()
    los = windows.los_ns.tolist()
    sat = windows.sat.tolist()
    sta = windows.station.tolist()
    a_az, a_el = windows.aos_az_deg.tolist(), windows.aos_el_deg.tolist()
    l_az, l_el = windows.los_az_deg.tolist(), windows.los_el_deg.tolist()
    setup = stations.setup_s.tolist()
    fixed = stations.slew_fixed_s.tolist()
    rate = stations.slew_rate_deg_s.tolist()
    k_max = stations.antennas.tolist()
    cap = int(max_antennas_per_sat)

    def gap(p: int, q: int) -> int:
        s = sta[p]
        daz = abs((a_az[q] - l_az[p] + 180.0) % 360.0 - 180.0)
        dl = abs(a_el[q] - l_el[p])
        return math.ceil((setup[s] + fixed[s] + max(daz, dl) / rate[s]) * NS_PER_S)

    # Per (station, antenna): AOS-sorted starts and the window rows; per satellite the same.
    ant_starts: dict[tuple[int, int], list[int]] = {}
    ant_rows: dict[tuple[int, int], list[int]] = {}
    sat_starts: dict[int, list[int]] = {}
    sat_rows: dict[int, list[int]] = {}
    longest = int((windows.los_ns - windows.aos_ns).max()) if len(windows) else 0
    chosen: list[int] = []
    antenna: list[int] = []
    for w in order.tolist():
        s, a0, a1 = sat[w], aos[w], los[w]
        # Satellite: count the chosen windows of s overlapping [a0, a1) at their worst instant.
        starts = sat_starts.setdefault(s, [])
        rows = sat_rows.setdefault(s, [])
        lo = bisect.bisect_left(starts, a0 - longest)
        hi = bisect.bisect_left(starts, a1)
        over = [r for r in rows[lo:hi] if los[r] > a0]
        if len(over) >= cap:
            if cap == 1:
                continue
            # Depth at each start point inside [a0, a1) (the maximum of an interval union).
            points = [a0] + [aos[r] for r in over if aos[r] > a0]
            depth = max(sum(1 for r in over if aos[r] <= t < los[r]) for t in points)
            if depth >= cap:
                continue
        st = sta[w]
        placed = -1
        for k in range(k_max[st]):
            key = (st, k)
            a_st = ant_starts.setdefault(key, [])
            a_rw = ant_rows.setdefault(key, [])
            i = bisect.bisect_left(a_st, a0)
            if i > 0:
                p = a_rw[i - 1]
                if los[p] + gap(p, w) > a0:
                    continue
            if i < len(a_st):
                q = a_rw[i]
                if a1 + gap(w, q) > aos[q]:
                    continue
            a_st.insert(i, a0)
            a_rw.insert(i, w)
            placed = k
            break
        if placed < 0:
            continue
        j = bisect.bisect_left(starts, a0)
        starts.insert(j, a0)
        rows.insert(j, w)
        chosen.append(w)
        antenna.append(placed)
    return ContactPlan.from_windows(windows, chosen, antenna, vals, method="greedy",
                                    status="heuristic",
                                    solve_s=_time.perf_counter() - t_start)


# ---- optimal (MILP) --------------------------------------------------------------------------


def _forward_pairs(group: IntArray, t_from: IntArray, t_to_limit: IntArray,
                   t_cand: IntArray, strict: bool) -> tuple[IntArray, IntArray]:
    """Pairs ``(i, j)``, ``j > i`` in an array sorted by (group, t_cand), with the same group and
    ``t_from[i] <= t_cand[j] < t_to_limit[i]`` (``<=`` at the top when not ``strict``).
    Vectorized over ``i``, looping over the offset ``j − i``."""
    n = group.size
    out_i: list[IntArray] = []
    out_j: list[IntArray] = []
    alive = np.arange(n)
    delta = 1
    while alive.size:
        alive = alive[alive + delta < n]
        j = alive + delta
        same = group[j] == group[alive]
        below = t_cand[j] < t_to_limit[alive] if strict else t_cand[j] <= t_to_limit[alive]
        alive, j = alive[same & below], j[same & below]
        ok = t_cand[j] >= t_from[alive]
        out_i.append(alive[ok])
        out_j.append(j[ok])
        delta += 1
    if not out_i:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(out_i).astype(np.int64), np.concatenate(out_j).astype(np.int64)


def schedule_optimal(
    windows: ContactWindows,
    stations: GroundStations,
    *,
    priority: npt.ArrayLike = 1.0,
    value: ValueMode | npt.ArrayLike = "volume",
    max_antennas_per_sat: int = 1,
    time_limit_s: float | None = None,
    mip_rel_gap: float = 1e-6,
) -> ContactPlan:
    """Maximum-value schedule by integer programming (see the module docstring).

    ``time_limit_s``: stop HiGHS after this long; the plan is then the best found
    (``status="feasible"``) with ``upper_bound`` the proven bound. ``mip_rel_gap``: HiGHS's
    relative optimality tolerance. Cost grows with the windows and with the direct arcs (pairs
    of windows of one station closer than the longest gap): seconds for thousands of windows.
    """
    import time as _time

    _check_common(windows, stations, max_antennas_per_sat)
    t_start = _time.perf_counter()
    vals = window_values(windows, priority, value)
    use = np.flatnonzero(vals > 0)
    n_w = use.size
    if n_w == 0:
        return ContactPlan.from_windows(windows, [], [], vals, method="optimal",
                                        status="optimal", upper_bound=0.0)
    st = windows.station[use]
    sat = windows.sat[use]
    aos = windows.aos_ns[use]
    los = windows.los_ns[use]
    free = los + np.ceil(stations.max_gap_s[st] * NS_PER_S).astype(np.int64)
    v = vals[use]

    # Direct arcs a → b (same station): los_a + gap(a, b) <= aos_b < free_a.
    by_station = np.lexsort((aos, st))
    s_sorted = st[by_station]
    da, db = _forward_pairs(s_sorted, los[by_station], free[by_station], aos[by_station],
                            strict=True)
    da, db = by_station[da], by_station[db]
    if da.size:
        ok = los[da] + _gap_ns(stations, windows, use[da], use[db]) <= aos[db]
        da, db = da[ok], db[ok]
    # Also pairs with equal AOS or later partners sorted before (AOS ties): covered, since
    # aos_b >= los_a > aos_a puts b after a in the station's AOS order.
    n_d = da.size

    # Timeline nodes per station: unique (station, time) of AOS and free instants.
    node_st = np.concatenate([st, st])
    node_t = np.concatenate([aos, free])
    key = np.lexsort((node_t, node_st))
    ks, kt = node_st[key], node_t[key]
    new = np.ones(ks.size, bool)
    new[1:] = (ks[1:] != ks[:-1]) | (kt[1:] != kt[:-1])
    node_id_sorted = np.cumsum(new) - 1
    node_of = np.empty(ks.size, np.int64)
    node_of[key] = node_id_sorted
    node_aos, node_free = node_of[:n_w], node_of[n_w:]
    n_t = int(node_id_sorted[-1]) + 1
    t_station = ks[new]
    first_of_station = np.ones(n_t, bool)
    first_of_station[1:] = t_station[1:] != t_station[:-1]

    # Variables: p (timeline → window), o (window → timeline), d (direct), c (timeline chain:
    # c[g] leaves node g for the next node of its station, or the sink after its last node).
    ip, io, idd, ic = 0, n_w, 2 * n_w, 2 * n_w + n_d
    n_var = ic + n_t
    w_idx = np.arange(n_w)
    g_idx = np.arange(n_t)
    rows: list[IntArray] = []
    cols: list[IntArray] = []
    data: list[FloatArray] = []
    lb: list[FloatArray] = []
    ub: list[FloatArray] = []
    row0 = 0

    def add(r: IntArray, c: IntArray, x: float | FloatArray) -> None:
        rows.append(np.asarray(r, np.int64))
        cols.append(np.asarray(c, np.int64))
        data.append(np.broadcast_to(np.asarray(x, np.float64), np.shape(r)).copy())

    # 1. Timeline conservation: c[g-1] + Σ o(free=g) − c[g] − Σ p(aos=g) = −k (first) or 0.
    add(row0 + g_idx, ic + g_idx, -1.0)
    nxt = g_idx[~first_of_station]
    add(row0 + nxt, ic + nxt - 1, 1.0)
    add(row0 + node_free, io + w_idx, 1.0)
    add(row0 + node_aos, ip + w_idx, -1.0)
    k_station = stations.antennas[t_station].astype(np.float64)
    rhs = np.where(first_of_station, -k_station, 0.0)
    lb.append(rhs)
    ub.append(rhs)
    row0 += n_t
    # 2. Window conservation: p + Σ d_in − o − Σ d_out = 0.
    add(row0 + w_idx, ip + w_idx, 1.0)
    add(row0 + w_idx, io + w_idx, -1.0)
    add(row0 + db, idd + np.arange(n_d), 1.0)
    add(row0 + da, idd + np.arange(n_d), -1.0)
    lb.append(np.zeros(n_w))
    ub.append(np.zeros(n_w))
    row0 += n_w
    # 3. Window taken at most once: p + Σ d_in ≤ 1 (the taken indicator y_w).
    add(row0 + w_idx, ip + w_idx, 1.0)
    add(row0 + db, idd + np.arange(n_d), 1.0)
    lb.append(np.full(n_w, -np.inf))
    ub.append(np.ones(n_w))
    row0 += n_w
    # 4. Satellite cliques: at the AOS of each window b, the windows of its satellite that
    # contain that instant (aos_a <= aos_b < los_a), b included: Σ y ≤ max_antennas_per_sat.
    by_sat = np.lexsort((aos, sat))
    ca, cb = _forward_pairs(sat[by_sat], aos[by_sat], los[by_sat], aos[by_sat], strict=True)
    ca, cb = by_sat[ca], by_sat[cb]
    if ca.size:
        heads = np.unique(cb)
        row_of = np.full(n_w, -1, np.int64)
        row_of[heads] = row0 + np.arange(heads.size)
        members_w = np.concatenate([heads, ca])
        members_r = np.concatenate([row_of[heads], row_of[cb]])
        # y_w = p_w + Σ d_in(w): expand each member into its p and its incoming d arcs.
        add(members_r, ip + members_w, 1.0)
        d_in_order = np.argsort(db, kind="stable")
        d_in_start = np.searchsorted(db[d_in_order], np.arange(n_w + 1))
        counts = d_in_start[members_w + 1] - d_in_start[members_w]
        rep_r = np.repeat(members_r, counts)
        offs = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        arcs = d_in_order[np.repeat(d_in_start[members_w], counts) + offs]
        add(rep_r, idd + arcs, 1.0)
        lb.append(np.full(heads.size, -np.inf))
        ub.append(np.full(heads.size, float(max_antennas_per_sat)))
        row0 += heads.size

    a_mat = sparse.csr_array((np.concatenate(data), (np.concatenate(rows),
                                                      np.concatenate(cols))),
                             shape=(row0, n_var))
    cost = np.zeros(n_var)
    cost[ip:ip + n_w] = -v
    np.subtract.at(cost, idd + np.arange(n_d), v[db])
    upper = np.ones(n_var)
    upper[ic:] = stations.antennas[t_station]
    options: dict[str, float | bool] = {"disp": False, "mip_rel_gap": float(mip_rel_gap)}
    if time_limit_s is not None:
        options["time_limit"] = float(time_limit_s)
    res = milp(cost, integrality=np.ones(n_var), bounds=Bounds(np.zeros(n_var), upper),
               constraints=LinearConstraint(a_mat, np.concatenate(lb), np.concatenate(ub)),
               options=options)
    if res.x is None:
        if time_limit_s is None:
            raise UsageError(f"the contact-scheduling MILP found no solution: {res.message}")
        # Time limit before any integer solution: the greedy plan, with HiGHS's bound.
        fallback = schedule_greedy(windows, stations, priority=priority, value=value,
                                   max_antennas_per_sat=max_antennas_per_sat)
        bound = getattr(res, "mip_dual_bound", None)
        return ContactPlan.from_windows(
            windows, fallback.window, fallback.antenna, vals, method="optimal",
            status="greedy-fallback",
            upper_bound=-float(bound) if bound is not None else math.nan,
            solve_s=_time.perf_counter() - t_start)
    x = np.round(res.x).astype(np.int64)
    status = "optimal" if res.status == 0 else "feasible"
    bound = -float(res.mip_dual_bound) if getattr(res, "mip_dual_bound", None) is not None \
        else math.nan
    taken_p = x[ip:ip + n_w] > 0
    taken_d = x[idd:idd + n_d] > 0
    taken = taken_p.copy()
    taken[db[taken_d]] = True
    # Antenna numbers: follow the flow. A window entered by a direct arc inherits the antenna
    # of its predecessor; one entered from the timeline takes the lowest-numbered antenna
    # idle by then (returned at its last window's free instant, or never used).
    pred = np.full(n_w, -1, np.int64)
    pred[db[taken_d]] = da[taken_d]
    to_timeline = x[io:io + n_w] > 0
    antenna = np.full(n_w, -1, np.int64)
    sel = np.flatnonzero(taken)
    sel = sel[np.lexsort((sel, aos[sel], st[sel]))]
    idle: dict[int, list[tuple[int, int]]] = {}  # station -> [(free_ns, antenna)]
    for w in sel.tolist():
        s = int(st[w])
        pool = idle.setdefault(s, [(-(2**62), k) for k in range(int(stations.antennas[s]))])
        if pred[w] >= 0:
            antenna[w] = antenna[pred[w]]
        else:
            ready = [i for i, (t, _) in enumerate(pool) if t <= aos[w]]
            if not ready:  # cannot happen for a feasible flow
                raise AssertionError("flow decomposition found no idle antenna")
            i = min(ready, key=lambda j: pool[j][1])
            antenna[w] = pool.pop(i)[1]
        if to_timeline[w]:
            pool.append((int(free[w]), int(antenna[w])))
    return ContactPlan.from_windows(windows, use[sel], antenna[sel], vals, method="optimal",
                                    status=status, upper_bound=bound,
                                    solve_s=_time.perf_counter() - t_start)
