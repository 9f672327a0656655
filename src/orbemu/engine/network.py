"""The relay network inside a run: metrics of monitored pairs, ISL link and handover detectors.

At every network instant (``NetworkSetup.interval_ns``, a multiple of the step) the
:class:`NetworkMonitor` builds one topology of the relay satellites and the network's ground
nodes — +Grid ISLs (:func:`orbemu.links.plus_grid`, resolved once at the run's start), the
visible ground links under the scenario's policy (:func:`orbemu.links.select_links`), and the
faults active at that instant (lost satellites, failed ISL terminals, ground nodes out: their
arcs are down, :class:`orbemu.network.FailureMask`) — and computes shortest paths by delay from
the monitored sources (:func:`orbemu.network.shortest_paths`; ground nodes are end points only
unless ground relaying is on). Each monitored pair gets a record: ``rtt_ms`` (NaN when
unreachable), ``hops``, ``reachable`` and the ``path`` as node names. Path changes and loss or
return of reachability are events.

Cost: one topology refill, one ground-link search and one shortest-path tree per monitored
source per network instant — about a millisecond for 1,000 satellites and a few for Starlink's
10,000 — so the monitor runs at its own cadence, not every step.

Two detectors run between consecutive network instants ``[t_a, t_b]``, refined on
Hermite-interpolated positions of the relay satellites (states at both instants are kept):

- **link** (``link_down``/``link_up``): ``g`` = the ISL's geometric margin, metres: the smaller
  of ``max_range − length`` and the clearance of the segment above the grazing sphere. Faults on
  ISLs add ``link_down``/``link_up`` events at the fault's instant.
- **handover** (``handover``): a monitored endpoint's serving satellite changed
  (:class:`orbemu.links.HandoverTracker` on the selection; with policy ``all``, where every
  visible satellite is usable, the serving satellites are the first and last hops of the
  monitored paths). The instant is refined on
  ``g`` = margin of the old satellite over the new one — for ``nearest`` the range difference,
  for ``highest`` the elevation difference — or the old satellite's elevation margin when it set
  with no replacement, the new one's when it rose. Other policies, and switches the margin does
  not bracket (caps, faults), are reported at the network instant.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from orbemu.constants import EARTH_RADIUS_M, NS_PER_S
from orbemu.engine.config import NetworkSetup
from orbemu.engine.detectors import elevation_margin_deg, interpolate_positions
from orbemu.engine.events import find_sign_changes, refine_crossings
from orbemu.engine.recorder import Event
from orbemu.errors import UsageError
from orbemu.links.isl import IslLinks, IslPlan, isl_links, plus_grid
from orbemu.links.planes import infer_planes
from orbemu.links.policies import HandoverTracker, remaining_visibility_s, select_links
from orbemu.links.visibility import GroundLinks, ground_links
from orbemu.network.routing import shortest_paths
from orbemu.network.topology import FailureMask, TopologyBuilder
from orbemu.orbits.elements import ElementSet
from orbemu.orbits.ground_nodes import GroundNodes
from orbemu.time import Time

__all__ = ["NetworkMonitor", "NetworkSample", "isl_margin_m", "relay_isl_plan"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Metres of range margin per degree of elevation margin in the handover switching function.
_M_PER_DEG = 1.0e4


def isl_margin_m(plan: IslPlan, rows: IntArray, ra: FloatArray, rb: FloatArray) -> FloatArray:
    """(k,) geometric margin of ISL ``rows`` with ends at ``ra``/``rb`` (k, 3), metres: the
    smaller of ``max_range − length`` and the segment's clearance above the grazing sphere
    (``EARTH_RADIUS_M + grazing_alt_m``). ≥ 0 exactly when :func:`orbemu.links.isl_links`
    counts the link up."""
    d = rb - ra
    dd = np.einsum("ij,ij->i", d, d)
    length = np.sqrt(dd)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.clip(-np.einsum("ij,ij->i", ra, d) / dd, 0.0, 1.0)
    t = np.where(dd > 0, t, 0.0)
    closest = np.linalg.norm(ra + t[:, None] * d, axis=1)
    clear = closest - (EARTH_RADIUS_M + plan.grazing_alt_m)
    return np.minimum(plan.max_range_m[rows] - length, clear)


def relay_isl_plan(setup: NetworkSetup, elements: ElementSet, at: Time) -> tuple[IslPlan, str]:
    """The relay network's ISL plan: +Grid over the elements' planes (inferred from the elements
    at ``at`` when they carry none), or none; and a note saying which."""
    n = len(elements)
    if setup.isl != "plus-grid" or n < 2:
        return IslPlan.none(n), "no ISLs (bent pipe)"
    structured = elements
    note = "+Grid over the elements' planes"
    if not elements.has_structure:
        structure = infer_planes(elements, at)
        if structure.n_planes < 2:
            return IslPlan.none(n), "no ISLs: no orbital planes could be inferred (bent pipe)"
        structured = structure.apply(elements)
        note = f"+Grid over {structure.n_planes} planes inferred from the elements"
    plan = plus_grid(structured, max_range_m=setup.isl_max_range_m,
                     capacity_bps=setup.isl_capacity_bps, grazing_alt_m=setup.grazing_alt_m,
                     cross=setup.isl_cross, seam=setup.isl_seam,
                     slot_shift=setup.isl_slot_shift, at=at)
    return plan, note


@dataclass(frozen=True, eq=False)
class NetworkSample:
    """One network instant's records: per monitored pair ``rtt_ms``, ``hops``, ``reachable``,
    ``path`` (labels), plus the events found."""

    time_ns: int
    rtt_ms: FloatArray
    hops: IntArray
    reachable: BoolArray
    path: list[str]
    events: list[Event]


class NetworkMonitor:
    """The relay network of a run (see the module notes).

    ``elements``: the relay satellites (r, in the order of ``setup.relay``); ``ground``: the
    network's ground nodes (in the order of ``setup.nodes``); ``at``: instant the +Grid is
    read at (the run's start).
    """

    def __init__(self, setup: NetworkSetup, elements: ElementSet, ground: GroundNodes,
                 at: Time) -> None:
        self.setup = setup
        self.elements = elements
        self.ground = ground
        n = len(elements)
        if setup.isl_plan is not None:
            if setup.isl_plan.n_sats != n:
                raise UsageError(f"the ISL plan is for {setup.isl_plan.n_sats} satellites, the "
                                 f"relay network has {n}")
            self.plan, self.plan_note = setup.isl_plan, setup.isl_plan_note or "given"
        else:
            self.plan, self.plan_note = relay_isl_plan(setup, elements, at)
        self.builder = TopologyBuilder.from_plan(self.plan, len(ground),
                                                 gsl_capacity_bps=setup.gsl_capacity_bps)
        row = {int(g): i for i, g in enumerate(setup.nodes)}
        self.pairs = np.array([(row[a], row[b]) for a, b in setup.monitor],
                              np.int64).reshape(-1, 2)
        self.sources = np.unique(self.pairs[:, 0]) if self.pairs.size else np.zeros(0, np.int64)
        self.endpoints = np.unique(self.pairs) if self.pairs.size else np.zeros(0, np.int64)
        self.labels = setup.monitor_labels
        self.names = [str(x) for x in elements.names] + [str(x) for x in ground.names]
        self.tracker = HandoverTracker()
        # previous instant: relay states, ISL margins, selection of the endpoints, paths
        self.prev_time: int | None = None
        self.prev_r: FloatArray | None = None
        self.prev_v: FloatArray | None = None
        self.prev_margin: FloatArray | None = None
        self.prev_sel: tuple[IntArray, IntArray] | None = None
        self.prev_path: list[str] | None = None
        self.prev_reachable: BoolArray | None = None
        # the last instant, for live displays: its sample and links (ISLs, ground selection)
        self.last_sample: NetworkSample | None = None
        self.last_links: tuple[IslLinks, GroundLinks] | None = None

    # ---- describing ----------------------------------------------------------------------
    def describe(self) -> str:
        s = self.setup
        reach = ("line of sight" if not np.isfinite(s.isl_max_range_m)
                 else f"≤ {s.isl_max_range_m / 1e3:,.0f} km")
        isl = (f"{len(self.plan):,} ISLs ({self.plan_note}; {reach})" if len(self.plan)
               else self.plan_note)
        return (f"relay network: {len(self.elements):,} satellites, {isl}, {len(self.ground)} "
                f"ground nodes, ground links: {s.gsl_policy}"
                + (f" ≤ {s.gsl_per_node}/node" if s.gsl_per_node else "")
                + f"; {len(self.pairs)} monitored pairs every "
                f"{s.interval_ns / NS_PER_S:g} s")

    def isl_subject(self, row: int) -> str:
        a, b = self.plan.pairs[row]
        return f"{self.elements.names[a]}-{self.elements.names[b]}"

    # ---- one instant -----------------------------------------------------------------------
    def _selection(self, r: FloatArray, v: FloatArray, up: BoolArray) -> GroundLinks:
        s = self.setup
        links = ground_links(self.ground, r)
        keep = up[links.node]
        if not keep.all():
            links = links.select(np.flatnonzero(keep))
        if s.gsl_policy != "all" or s.gsl_per_node is not None or s.gsl_per_sat is not None:
            remaining = (remaining_visibility_s(self.ground, links, r, v)
                         if s.gsl_policy == "longest" else None)
            links = select_links(links, s.gsl_policy, max_per_node=s.gsl_per_node,
                                 max_per_sat=s.gsl_per_sat, remaining_s=remaining)
        return links

    def sample(self, time_ns: int, r: FloatArray, v: FloatArray, sat_alive: BoolArray,
               isl_down: BoolArray, ground_up: BoolArray) -> NetworkSample:
        """The network at ``time_ns`` from relay states ``r``, ``v`` (r, 3) ITRF, with the
        faults given (``sat_alive`` (r,), ``isl_down`` (k,), ``ground_up`` (g,))."""
        r = np.where(sat_alive[:, None], r, np.nan)
        events: list[Event] = []
        isl = isl_links(self.plan, r)
        gsl = self._selection(r, v, ground_up)
        failures = FailureMask(sat_down=~sat_alive, isl_down=isl_down, ground_down=~ground_up)
        topo = self.builder.build_links(isl, gsl, failures=failures)
        n = len(self.elements)
        k = len(self.pairs)
        rtt = np.full(k, np.nan)
        hops = np.full(k, -1, np.int64)
        reach = np.zeros(k, bool)
        paths = [""] * k
        access: list[tuple[int, int]] = []  # (ground row, satellite) hops of the paths
        if k:
            routes = shortest_paths(topo, self.sources + n, metric="delay",
                                    relay=self.setup.ground_relay)
            src, dst = self.pairs[:, 0] + n, self.pairs[:, 1] + n
            reach = np.asarray(routes.reachable(src, dst), bool)
            rtt = np.where(reach, np.asarray(routes.rtt_s(src, dst), np.float64) * 1e3, np.nan)
            hops = np.where(reach, np.asarray(routes.hops(src, dst)), -1).astype(np.int64)
            for i in np.flatnonzero(reach):
                nodes = routes.path(int(src[i]), int(dst[i]))
                paths[i] = " > ".join(self.names[j] for j in nodes)
                if len(nodes) >= 3:
                    access += [(int(nodes[0]) - n, int(nodes[1])),
                               (int(nodes[-1]) - n, int(nodes[-2]))]
        events += self._pair_events(time_ns, paths, reach, rtt, hops)
        events += self._link_events(time_ns, r, v)
        self.last_links = (isl, gsl)  # for live displays (orbemu.api)
        if self.setup.gsl_policy == "all":
            gsl = self._access_links(access)
        events += self._handovers(time_ns, r, v, gsl)
        self.prev_time, self.prev_r, self.prev_v = int(time_ns), r.copy(), v.copy()
        self.last_sample = NetworkSample(int(time_ns), rtt, hops, reach, paths, events)
        return self.last_sample

    def _pair_events(self, t: int, paths: list[str], reach: BoolArray, rtt: FloatArray,
                     hops: IntArray) -> list[Event]:
        out = []
        if self.prev_path is not None and self.prev_reachable is not None:
            for i, (a, b) in enumerate(self.labels):
                subject = f"{a} -> {b}"
                if reach[i] and not self.prev_reachable[i]:
                    out.append(Event(t, "reachable", subject, {"rtt_ms": float(rtt[i]),
                                                               "path": paths[i]}))
                elif not reach[i] and self.prev_reachable[i]:
                    out.append(Event(t, "unreachable", subject, {"last_path":
                                                                 self.prev_path[i]}))
                elif reach[i] and paths[i] != self.prev_path[i]:
                    out.append(Event(t, "route_change", subject,
                                     {"rtt_ms": float(rtt[i]), "hops": int(hops[i]),
                                      "path": paths[i], "previous": self.prev_path[i]}))
        self.prev_path, self.prev_reachable = paths, reach.copy()
        return out

    def _link_events(self, t: int, r: FloatArray, v: FloatArray) -> list[Event]:
        plan = self.plan
        if len(plan) == 0:
            return []
        rows = np.arange(len(plan))
        margin = isl_margin_m(plan, rows, r[plan.pairs[:, 0]], r[plan.pairs[:, 1]])
        prev = self.prev_margin
        self.prev_margin = margin
        if prev is None or self.prev_r is None or self.prev_v is None or self.prev_time is None:
            return []
        items, rising = find_sign_changes(prev, margin)
        if items.size == 0:
            return []
        r0, v0, t0 = self.prev_r, self.prev_v, self.prev_time
        h = (t - t0) / NS_PER_S

        def g(it: IntArray, s: FloatArray) -> FloatArray:
            a = interpolate_positions(plan.pairs[it, 0], r0, v0, r, v, h, s)
            b = interpolate_positions(plan.pairs[it, 1], r0, v0, r, v, h, s)
            return isl_margin_m(plan, it, a, b)

        times = refine_crossings(g, items, t0, t, 1e-3)
        return [Event(int(tt), "link_up" if up else "link_down", self.isl_subject(int(i)),
                      {"cause": "geometry"})
                for i, tt, up in zip(items, times, rising, strict=True)]

    def _access_links(self, access: list[tuple[int, int]]) -> GroundLinks:
        """The satellites the monitored paths use at their ground ends, as a selection (with
        policy ``all`` every visible satellite is usable: the path picks one)."""
        pairs = np.array(sorted(set(access)), np.int64).reshape(-1, 2)
        g = pairs.shape[0]
        z = np.zeros(g)
        return GroundLinks(node=pairs[:, 0].astype(np.int32), sat=pairs[:, 1].astype(np.int32),
                           length_m=z, elevation_rad=z, azimuth_rad=z, capacity_bps=z,
                           n_nodes=len(self.ground), n_sats=len(self.elements))

    def _handovers(self, t: int, r: FloatArray, v: FloatArray, gsl: GroundLinks
                   ) -> list[Event]:
        if self.endpoints.size == 0:
            return []
        mine = np.flatnonzero(np.isin(gsl.node, self.endpoints))
        sel = gsl.select(mine)
        ho = self.tracker.update(Time(np.int64(t)), sel)
        first = self.prev_time is None
        if first or len(ho) == 0:
            return []
        assert self.prev_r is not None and self.prev_v is not None and self.prev_time is not None
        t0 = self.prev_time
        r0, v0 = self.prev_r, self.prev_v
        h = (t - t0) / NS_PER_S
        policy = self.setup.gsl_policy
        node = ho.node.astype(np.int64)
        old = ho.old_sat.astype(np.int64)
        new = ho.new_sat.astype(np.int64)

        def g(it: IntArray, s: FloatArray) -> FloatArray:
            nd, o, nw = node[it], old[it], new[it]
            out = np.full(it.size, np.inf)
            have_o, have_n = o >= 0, nw >= 0
            ro = interpolate_positions(np.maximum(o, 0), r0, v0, r, v, h, s)
            rn = interpolate_positions(np.maximum(nw, 0), r0, v0, r, v, h, s)
            el_o = elevation_margin_deg(self.ground, nd, ro)
            el_n = elevation_margin_deg(self.ground, nd, rn)
            out = np.where(have_o, _M_PER_DEG * el_o, out)
            if policy in ("nearest", "highest"):
                site = self.ground.itrf_m[nd]
                if policy == "nearest":
                    pref = (np.linalg.norm(rn - site, axis=1)
                            - np.linalg.norm(ro - site, axis=1))
                else:
                    pref = _M_PER_DEG * (el_o - el_n)
                out = np.where(have_o & have_n, np.minimum(out, pref), out)
            out = np.where(~have_o & have_n, -_M_PER_DEG * el_n, out)
            return out

        items = np.arange(len(ho), dtype=np.int64)
        times = np.full(items.size, t, np.int64)
        g0, g1 = g(items, np.zeros(items.size)), g(items, np.ones(items.size))
        ok = np.flatnonzero((g0 >= 0) & (g1 < 0) & np.isfinite(g0) & np.isfinite(g1))
        if ok.size:
            times[ok] = refine_crossings(g, items[ok], t0, t, 1e-3)
        out = []
        for i in items:
            nm = str(self.ground.names[node[i]])
            detail: dict[str, Any] = {
                "old": None if old[i] < 0 else str(self.elements.names[old[i]]),
                "new": None if new[i] < 0 else str(self.elements.names[new[i]]),
                "refined": bool(i in set(ok.tolist()))}
            out.append(Event(int(times[i]), "handover", nm, detail))
        return out

    # ---- checkpoints ---------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {"prev_time": self.prev_time, "prev_r": self.prev_r, "prev_v": self.prev_v,
                "prev_margin": self.prev_margin, "prev_path": self.prev_path,
                "prev_reachable": self.prev_reachable,
                "tracker": (self.tracker._prev_key, self.tracker._n_sats)}

    def restore(self, state: dict[str, Any]) -> None:
        self.prev_time = state["prev_time"]
        self.prev_r, self.prev_v = state["prev_r"], state["prev_v"]
        self.prev_margin = state["prev_margin"]
        self.prev_path = state["prev_path"]
        self.prev_reachable = state["prev_reachable"]
        self.tracker._prev_key, self.tracker._n_sats = state["tracker"]
