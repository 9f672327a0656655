"""Remote-site connectivity: a site reaching cloud regions through a constellation and its
gateways, then terrestrial fiber — the path, instant by instant, and its statistics.

The path modelled for a site ``s`` and a destination ``d`` (a cloud region, a point on the
ground) at each instant::

    site ──GSL──▶ satellites (ISLs, or one satellite: bent pipe) ──GSL──▶ gateway g
         ──fiber──▶ [PoP] ──fiber──▶ destination d

- **Space segment** (``space_rtt_ms``): the delay-shortest route from the site to every gateway
  over the constellation at that instant (a :class:`~orbemu.network.simulation.NetworkSimulation`
  step: positions, visibility, ISLs, failures, shortest paths with ground nodes as end points).
- **Terrestrial segment** (``ground_rtt_ms``): fiber at :data:`FIBER_SPEED_M_S` (2/3 c) along
  the WGS84 geodesic between its points, times a **detour factor** (default
  :data:`DEFAULT_DETOUR_FACTOR` = 1.5: real fiber does not follow the great circle; Bozkurt et
  al., "Dissecting Latency in the Internet's Fiber Infrastructure" (2018), find the shortest
  conduit paths 1.3× the geodesic in the median between US cities, and measured Internet
  latencies about 2.1× the straight line at fiber speed; 1.5 sits between route-following fiber
  and routing detours). Propagation only: no queueing, serialization or processing delay.
- **Exit policy** (which gateway, which fiber; :data:`EXIT_POLICIES`):

  ``home-pop`` (default when PoPs are given) — the site is homed to one point of presence (the
  PoP nearest the site, as Starlink assigns terminals to a PoP by region, or one named); its
  traffic lands at whichever gateway minimises the RTT to that PoP at the instant, goes by fiber
  to the PoP, and from the PoP to the destination. A far destination is reached from the PoP, a
  near one may trombone through it: that is what operators' PoP assignment does.

  ``gateway-pop`` — traffic may land at any gateway; each gateway backhauls to the PoP it homes
  to (its nearest PoP), from which fiber goes to the destination; per instant the gateway with
  the lowest total RTT is used.

  ``any-gateway`` (default without PoPs) — the idealised Internet exit: any gateway, fiber from
  it straight to the destination, the gateway with the lowest total RTT per instant.

  Whatever the policy, the exit gateway is chosen per instant and per destination by minimum
  total RTT among the gateways the policy allows (all of them); ties go to the first gateway.

- **Capacity** (:func:`path_capacity`): from the link budgets of :class:`SiteLinkBudgets` at
  each instant's geometry (clear sky): the site's user link (Ku, up and down), the gateway's
  feeder link (Ka, up and down) and the ISLs on the path (the topology's ISL capacity). The
  bottleneck toward the site is ``min(gateway uplink, ISLs, site downlink)``; from the site
  ``min(site uplink, ISLs, gateway downlink)``. The default budgets are
  :mod:`orbemu.links.budget`'s illustrative profiles, not an operator's figures.

:func:`site_series` yields a :class:`SiteSeries` — one row per (instant, flow), a flow being a
(site, destination) pair, ``row = step · n_flows + flow``, ``flow = site · n_dest + dest`` — and
:func:`summarize_site` the per-flow statistics (RTT percentiles, availability, outage windows,
handover, path-change and gateway-change rates, capacity), :func:`outage_windows` and
:func:`gateway_usage` the details.

Pure: no file I/O, no printing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from orbemu.constants import C_M_S, NS_PER_S
from orbemu.errors import InputError, UsageError
from orbemu.links.budget import (
    KA_GATEWAY_DOWNLINK,
    KA_GATEWAY_UPLINK,
    KU_USER_DOWNLINK,
    KU_USER_UPLINK,
    RadioLink,
    radio_budget,
)
from orbemu.links.kinds import LinkKind
from orbemu.network.analysis import FIBER_SPEED_M_S, _compare, geodesic_distance_m
from orbemu.orbits.ground_nodes import GroundNodes
from orbemu.time import Time

__all__ = [
    "DEFAULT_DETOUR_FACTOR",
    "EXIT_POLICIES",
    "SiteLinkBudgets",
    "SitePlan",
    "SiteSeries",
    "SiteSummary",
    "gateway_usage",
    "grid_step_ns",
    "outage_windows",
    "path_capacity",
    "site_series",
    "summarize_site",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
ProgressCallback = Callable[[int, int], None]

#: Fiber route length over the geodesic (see the module notes).
DEFAULT_DETOUR_FACTOR = 1.5

#: The exit policies and what each means (one line each, for run logs and reports).
EXIT_POLICIES: dict[str, str] = {
    "home-pop": "the site is homed to one PoP; per instant the gateway with the lowest RTT to "
                "that PoP, fiber gateway → PoP → destination",
    "gateway-pop": "per instant the gateway with the lowest total RTT; fiber gateway → the PoP "
                   "it homes to (its nearest) → destination",
    "any-gateway": "per instant the gateway with the lowest total RTT; fiber gateway → "
                   "destination directly",
}


@dataclass(frozen=True)
class SiteLinkBudgets:
    """The radio links whose budgets give a site path's capacity (None: that hop is not a
    limit). ``site_*``: the site's user terminal (down = satellite → site); ``gateway_*``: the
    gateway's feeder link (down = satellite → gateway). Defaults: the illustrative Ku user and
    Ka gateway profiles of :mod:`orbemu.links.budget`."""

    site_down: RadioLink | None = KU_USER_DOWNLINK
    site_up: RadioLink | None = KU_USER_UPLINK
    gateway_down: RadioLink | None = KA_GATEWAY_DOWNLINK
    gateway_up: RadioLink | None = KA_GATEWAY_UPLINK

    @property
    def configured(self) -> bool:
        return any(link is not None for link in (self.site_down, self.site_up,
                                                 self.gateway_down, self.gateway_up))

    def describe(self) -> str:
        def name(link: RadioLink | None) -> str:
            return "none" if link is None else link.name

        return (f"site {name(self.site_down)}/{name(self.site_up)}, gateway "
                f"{name(self.gateway_up)}/{name(self.gateway_down)} (clear sky)")


def _nearest(lat_deg: FloatArray, lon_deg: FloatArray, to_lat_deg: FloatArray,
             to_lon_deg: FloatArray) -> IntArray:
    """Index of the nearest of the ``to`` points (geodesic) for every point."""
    d = geodesic_distance_m(lat_deg[:, None], lon_deg[:, None], to_lat_deg[None, :],
                            to_lon_deg[None, :])
    return np.asarray(np.argmin(d, axis=1), dtype=np.int64)


@dataclass(frozen=True, eq=False)
class SitePlan:
    """Who talks to whom and over which fiber: sites, gateways, destinations, PoPs, the exit
    policy and the terrestrial distances it implies. Build with :meth:`build`.

    Attributes
    ----------
    sites, gateways: ground-node indices (rows of the simulation's ground nodes).
    site_names, gateway_names, dest_names, pop_names: names.
    site_lat_deg, site_lon_deg, site_alt_m; gateway_lat_deg, gateway_lon_deg, gateway_alt_m;
    dest_lat_deg, dest_lon_deg; pop_lat_deg, pop_lon_deg: positions, degrees / metres.
    policy: one of :data:`EXIT_POLICIES`.
    exit_pop: (n_sites, n_gateways) PoP index each (site, gateway) exit goes through; -1 none.
    home_pop: (n_sites,) the site's PoP under ``home-pop``; -1 otherwise.
    fiber_m: (n_sites, n_gateways, n_dest) one-way fiber route length from the gateway to the
        destination under the policy (geodesic legs × ``detour_factor``), metres.
    detour_factor, fiber_speed_m_s: the fiber model.
    budgets: the link budgets for capacities.
    """

    sites: IntArray
    gateways: IntArray
    site_names: npt.NDArray[np.object_]
    gateway_names: npt.NDArray[np.object_]
    dest_names: npt.NDArray[np.object_]
    pop_names: npt.NDArray[np.object_]
    site_lat_deg: FloatArray
    site_lon_deg: FloatArray
    site_alt_m: FloatArray
    gateway_lat_deg: FloatArray
    gateway_lon_deg: FloatArray
    gateway_alt_m: FloatArray
    dest_lat_deg: FloatArray
    dest_lon_deg: FloatArray
    pop_lat_deg: FloatArray
    pop_lon_deg: FloatArray
    policy: str
    exit_pop: IntArray
    home_pop: IntArray
    fiber_m: FloatArray
    detour_factor: float = DEFAULT_DETOUR_FACTOR
    fiber_speed_m_s: float = FIBER_SPEED_M_S
    budgets: SiteLinkBudgets = field(default_factory=SiteLinkBudgets)

    @property
    def n_sites(self) -> int:
        return int(self.sites.size)

    @property
    def n_gateways(self) -> int:
        return int(self.gateways.size)

    @property
    def n_dest(self) -> int:
        return int(self.dest_names.size)

    @property
    def n_flows(self) -> int:
        return self.n_sites * self.n_dest

    @property
    def fiber_rtt_ms(self) -> FloatArray:
        """(n_sites, n_gateways, n_dest) round trip over the terrestrial segment, ms."""
        return 2.0 * self.fiber_m / self.fiber_speed_m_s * 1e3

    def flow_site(self) -> IntArray:
        """(n_flows,) site index of each flow."""
        return np.repeat(np.arange(self.n_sites, dtype=np.int64), self.n_dest)

    def flow_dest(self) -> IntArray:
        """(n_flows,) destination index of each flow."""
        return np.tile(np.arange(self.n_dest, dtype=np.int64), self.n_sites)

    def flow_label(self, flow: int) -> str:
        s, d = divmod(int(flow), self.n_dest)
        return f"{self.site_names[s]} → {self.dest_names[d]}"

    def direct_fiber_m(self) -> FloatArray:
        """(n_flows,) one-way fiber route length if the site were on fiber: the geodesic site →
        destination × the detour factor, metres (a reference, not a path of the model)."""
        s, d = self.flow_site(), self.flow_dest()
        return geodesic_distance_m(self.site_lat_deg[s], self.site_lon_deg[s],
                                   self.dest_lat_deg[d], self.dest_lon_deg[d]) * self.detour_factor

    def describe(self) -> list[str]:
        lines = [f"exit policy {self.policy}: {EXIT_POLICIES[self.policy]}"]
        if self.policy == "home-pop":
            homes = ", ".join(f"{self.site_names[i]} → {self.pop_names[p]}"
                              for i, p in enumerate(self.home_pop))
            lines.append(f"home PoPs: {homes}")
        lines.append(f"terrestrial fiber: geodesic × {self.detour_factor:g} detour at "
                     f"{self.fiber_speed_m_s / C_M_S:.3g} c; RTTs are propagation only")
        lines.append("capacity: " + (self.budgets.describe() if self.budgets.configured
                                     else "not configured (no link budgets)"))
        return lines

    @classmethod
    def build(
        cls,
        ground: GroundNodes,
        sites: npt.ArrayLike,
        gateways: npt.ArrayLike,
        destinations: GroundNodes,
        *,
        pops: GroundNodes | None = None,
        policy: str | None = None,
        home_pop: Sequence[str | None] | None = None,
        detour_factor: float = DEFAULT_DETOUR_FACTOR,
        fiber_speed_m_s: float = FIBER_SPEED_M_S,
        budgets: SiteLinkBudgets | None = None,
    ) -> SitePlan:
        """Resolve the plan.

        ``ground``: the simulation's ground nodes; ``sites``/``gateways``: their indices in it.
        ``destinations``: the destination points. ``pops``: points of presence (needed by the
        PoP policies). ``policy``: default ``home-pop`` with PoPs, else ``any-gateway``.
        ``home_pop``: per site a PoP name to home it to (None: its nearest PoP).
        """
        s = np.atleast_1d(np.asarray(sites, dtype=np.int64))
        g = np.atleast_1d(np.asarray(gateways, dtype=np.int64))
        n = len(ground)
        for what, idx in (("sites", s), ("gateways", g)):
            if idx.size == 0:
                raise UsageError(f"a site plan needs at least one of {what}")
            if idx.min() < 0 or idx.max() >= n:
                raise UsageError(f"{what} hold ground-node indices outside 0..{n - 1}")
        if np.intersect1d(s, g).size:
            raise UsageError("a ground node cannot be both a site and a gateway")
        if len(destinations) == 0:
            raise UsageError("a site plan needs at least one destination")
        if not (detour_factor >= 1.0 and np.isfinite(detour_factor)):
            raise InputError(f"the fiber detour factor must be a number >= 1, got "
                             f"{detour_factor}", field="detour_factor",
                             fix="Use 1 for fiber along the geodesic, 1.5 (default) or more")
        has_pops = pops is not None and len(pops) > 0
        if policy is None:
            policy = "home-pop" if has_pops else "any-gateway"
        if policy not in EXIT_POLICIES:
            raise InputError(f"unknown exit policy {policy!r}", field="exit",
                             fix=f"Use one of {', '.join(EXIT_POLICIES)}")
        if policy != "any-gateway" and not has_pops:
            raise InputError(f"exit policy {policy!r} needs points of presence, and none were "
                             "given", field="exit",
                             fix="Give the PoPs (e.g. starlink-pops), or use --exit any-gateway")
        glat, glon = ground.lat_deg[g], ground.lon_deg[g]
        slat, slon = ground.lat_deg[s], ground.lon_deg[s]
        dlat, dlon = destinations.lat_deg, destinations.lon_deg
        ns, ng, nd = s.size, g.size, len(destinations)
        if has_pops:
            assert pops is not None
            plat, plon, pnames = pops.lat_deg, pops.lon_deg, pops.names
        else:
            plat = plon = np.zeros(0)
            pnames = np.zeros(0, dtype=object)
        exit_pop = np.full((ns, ng), -1, dtype=np.int64)
        home = np.full(ns, -1, dtype=np.int64)

        def geo(a_lat: Any, a_lon: Any, b_lat: Any, b_lon: Any) -> FloatArray:
            return geodesic_distance_m(a_lat, a_lon, b_lat, b_lon)

        if policy == "any-gateway":
            legs = np.broadcast_to(geo(glat[:, None], glon[:, None], dlat[None, :],
                                       dlon[None, :])[None], (ns, ng, nd))
        elif policy == "gateway-pop":
            p = _nearest(glat, glon, plat, plon)
            exit_pop[:] = p[None, :]
            legs = np.broadcast_to((geo(glat, glon, plat[p], plon[p])[:, None]
                                    + geo(plat[p][:, None], plon[p][:, None], dlat[None, :],
                                          dlon[None, :]))[None], (ns, ng, nd))
        else:  # home-pop
            home[:] = _nearest(slat, slon, plat, plon)
            if home_pop is not None:
                if len(home_pop) != ns:
                    raise UsageError(f"home_pop has {len(home_pop)} entries for {ns} sites")
                folded = {str(x).casefold(): i for i, x in enumerate(pnames)}
                for i, name in enumerate(home_pop):
                    if name is None:
                        continue
                    k = folded.get(str(name).strip().casefold())
                    if k is None:
                        raise InputError(f"no PoP named {name!r}", field="pop",
                                         fix=f"PoPs: {', '.join(map(str, pnames))}")
                    home[i] = k
            exit_pop[:] = home[:, None]
            to_pop = geo(glat[None, :], glon[None, :], plat[home][:, None],
                         plon[home][:, None])                              # (ns, ng)
            pop_to_dest = geo(plat[home][:, None], plon[home][:, None], dlat[None, :],
                              dlon[None, :])                               # (ns, nd)
            legs = to_pop[:, :, None] + pop_to_dest[:, None, :]
        return cls(
            sites=s, gateways=g, site_names=ground.names[s].copy(),
            gateway_names=ground.names[g].copy(), dest_names=destinations.names.copy(),
            pop_names=np.asarray(pnames, dtype=object).copy(),
            site_lat_deg=slat.copy(), site_lon_deg=slon.copy(), site_alt_m=ground.alt_m[s].copy(),
            gateway_lat_deg=glat.copy(), gateway_lon_deg=glon.copy(),
            gateway_alt_m=ground.alt_m[g].copy(), dest_lat_deg=dlat.copy(),
            dest_lon_deg=dlon.copy(), pop_lat_deg=np.asarray(plat, np.float64).copy(),
            pop_lon_deg=np.asarray(plon, np.float64).copy(), policy=policy, exit_pop=exit_pop,
            home_pop=home, fiber_m=np.ascontiguousarray(legs * detour_factor),
            detour_factor=float(detour_factor), fiber_speed_m_s=float(fiber_speed_m_s),
            budgets=budgets if budgets is not None else SiteLinkBudgets())


# ---- the series ----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SiteSeries:
    """The chosen path of every flow at every instant: ``row = step · n_flows + flow``.

    Attributes
    ----------
    times: (n_steps,) the instants.
    n_sites, n_dest: the flows are ``flow = site · n_dest + dest``.
    n_sats: satellites in the network (path node ``n_sats + g`` is ground node ``g``).
    rtt_ms: (n_rows,) total round trip: space + terrestrial, ms; NaN when unreachable.
    space_rtt_ms: (n_rows,) site ↔ exit gateway over the constellation, ms; NaN unreachable.
    ground_rtt_ms: (n_rows,) exit gateway ↔ destination over fiber, ms; NaN unreachable.
    reachable: (n_rows,) bool: the site reaches some gateway.
    gateway: (n_rows,) exit gateway (index into the plan's gateways); -1 when unreachable.
    hops: (n_rows,) links of the space segment; -1 when unreachable.
    first_sat, last_sat: (n_rows,) satellite serving the site / the gateway; -1 unreachable.
    site_range_m, site_elevation_deg, gateway_range_m, gateway_elevation_deg: (n_rows,) the
        geometry of the first and last ground link (NaN unreachable), for link budgets.
    isl_capacity_bps: (n_rows,) smallest ISL capacity on the path (inf: no ISL, bent pipe;
        NaN unreachable).
    path_ptr, path_nodes: the space path of row ``i`` (site first, gateway last, network
        node numbers) is ``path_nodes[path_ptr[i]:path_ptr[i+1]]``.
    path_changed: (n_rows,) the space path (gateway included) differs from the flow's at the
        previous instant (reachability changes count).
    handover: (n_rows,) reachable now and before, and the satellite serving the site changed.
    gateway_changed: (n_rows,) reachable now and before, and the exit gateway changed.
    """

    times: Time
    n_sites: int
    n_dest: int
    n_sats: int
    rtt_ms: FloatArray
    space_rtt_ms: FloatArray
    ground_rtt_ms: FloatArray
    reachable: BoolArray
    gateway: IntArray
    hops: IntArray
    first_sat: IntArray
    last_sat: IntArray
    site_range_m: FloatArray
    site_elevation_deg: FloatArray
    gateway_range_m: FloatArray
    gateway_elevation_deg: FloatArray
    isl_capacity_bps: FloatArray
    path_ptr: IntArray
    path_nodes: npt.NDArray[np.int32]
    path_changed: BoolArray
    handover: BoolArray
    gateway_changed: BoolArray

    _ROW_FIELDS = ("rtt_ms", "space_rtt_ms", "ground_rtt_ms", "reachable", "gateway", "hops",
                   "first_sat", "last_sat", "site_range_m", "site_elevation_deg",
                   "gateway_range_m", "gateway_elevation_deg", "isl_capacity_bps",
                   "path_changed", "handover", "gateway_changed")

    @property
    def n_steps(self) -> int:
        return int(self.times.size)

    @property
    def n_flows(self) -> int:
        return self.n_sites * self.n_dest

    def __len__(self) -> int:
        return self.n_steps * self.n_flows

    def __repr__(self) -> str:
        return (f"SiteSeries(<{self.n_steps} instants × {self.n_flows} flows, "
                f"{int(self.reachable.sum())} reachable rows>)")

    def column(self, name: str, flow: int | None = None) -> Any:
        """A per-row field as (n_steps, n_flows), or (n_steps,) for one ``flow``."""
        a = np.asarray(getattr(self, name)).reshape(self.n_steps, self.n_flows)
        return a if flow is None else a[:, flow]

    def path(self, row: int) -> npt.NDArray[np.int32]:
        return self.path_nodes[self.path_ptr[row]:self.path_ptr[row + 1]]

    def path_labels(self, ground_names: Sequence[str] | npt.NDArray[Any],
                    rows: slice | None = None) -> list[str]:
        """``site>sat>…>gateway`` per row (satellites by index); ``""`` when unreachable."""
        sl = rows if rows is not None else slice(0, len(self))
        lo, hi, _ = sl.indices(len(self))
        names = np.asarray(ground_names, dtype=object)
        out = []
        for i in range(lo, hi):
            nodes = self.path(i).astype(np.int64)
            out.append(">".join(str(v) if v < self.n_sats else str(names[v - self.n_sats])
                                for v in nodes))
        return out

    @classmethod
    def concat(cls, parts: Sequence[SiteSeries]) -> SiteSeries:
        """Successive windows of the same flows, in time order."""
        if not parts:
            raise UsageError("SiteSeries.concat needs at least one series")
        first = parts[0]
        for p in parts[1:]:
            if (p.n_sites, p.n_dest, p.n_sats) != (first.n_sites, first.n_dest, first.n_sats):
                raise UsageError("only series of the same flows and network concatenate")
        offsets = np.cumsum([0] + [int(p.path_ptr[-1]) for p in parts[:-1]])
        ptr = np.concatenate([first.path_ptr[:1]] + [
            p.path_ptr[1:] + off for p, off in zip(parts, offsets, strict=True)])
        rows = {name: np.concatenate([getattr(p, name) for p in parts])
                for name in cls._ROW_FIELDS}
        return cls(times=Time(np.concatenate([p.times.ns for p in parts])),
                   n_sites=first.n_sites, n_dest=first.n_dest, n_sats=first.n_sats,
                   path_ptr=ptr, path_nodes=np.concatenate([p.path_nodes for p in parts]),
                   **rows)


def _gather(ptr: IntArray, values: Any, rows: IntArray) -> tuple[IntArray, Any]:
    """The CSR sub-arrays of ``rows`` (in that order)."""
    lengths = ptr[rows + 1] - ptr[rows]
    new_ptr = np.zeros(rows.size + 1, dtype=np.int64)
    np.cumsum(lengths, out=new_ptr[1:])
    starts = np.repeat(ptr[rows] - new_ptr[:-1], lengths)
    index = np.arange(int(new_ptr[-1]), dtype=np.int64) + starts
    return new_ptr, values[index]


class _Builder:
    """Per instant: the chosen exit of every flow, compared with the previous instant."""

    def __init__(self, plan: SitePlan, n_sats: int) -> None:
        self.plan = plan
        self.n_sats = n_sats
        ns, ng = plan.n_sites, plan.n_gateways
        self.src_nodes = np.repeat(plan.sites, ng) + n_sats
        self.dst_nodes = np.tile(plan.gateways, ns) + n_sats
        self.fiber_rtt = plan.fiber_rtt_ms
        self.prev: tuple[IntArray, Any, IntArray, IntArray, BoolArray] | None = None
        self.parts: list[dict[str, Any]] = []

    def add(self, step: Any, *, record: bool) -> None:
        plan = self.plan
        ns, ng, nd = plan.n_sites, plan.n_gateways, plan.n_dest
        nf = ns * nd
        ps = step.routes.paths(self.src_nodes, self.dst_nodes)
        space = np.where(ps.reachable, 2.0e3 * ps.delay_s, np.inf).reshape(ns, ng)
        total = space[:, :, None] + self.fiber_rtt                      # (ns, ng, nd)
        best_g = np.argmin(total, axis=1)                                # (ns, nd)
        best = np.take_along_axis(total, best_g[:, None, :], axis=1)[:, 0, :]
        reach = np.isfinite(best).ravel()
        row = (np.arange(ns, dtype=np.int64)[:, None] * ng + best_g).ravel()
        ptr, nodes = _gather(ps.node_ptr, ps.nodes, row)
        gateway = np.where(reach, best_g.ravel(), -1).astype(np.int64)
        first = np.full(nf, -1, np.int64)
        last = np.full(nf, -1, np.int64)
        long = reach & (ptr[1:] - ptr[:-1] >= 3)
        first[long] = nodes[ptr[:-1][long] + 1]
        last[long] = nodes[ptr[1:][long] - 2]
        changed = np.zeros(nf, np.bool_)
        src_ho = np.zeros(nf, np.bool_)
        dst_ho = np.zeros(nf, np.bool_)
        gw_changed = np.zeros(nf, np.bool_)
        if self.prev is not None:
            p_ptr, p_nodes, p_gw, _, p_reach = self.prev
            _compare(p_ptr, p_nodes, ptr, nodes, changed, src_ho, dst_ho)
            gw_changed = reach & p_reach & (gateway != p_gw)
        self.prev = (ptr, nodes, gateway, first, reach)
        if not record:
            return
        topo = step.topology
        arc_ptr, arcs = _gather(ps.arc_ptr, ps.arcs, row)
        site_rng = np.full(nf, np.nan)
        site_el = np.full(nf, np.nan)
        gw_rng = np.full(nf, np.nan)
        gw_el = np.full(nf, np.nan)
        has_arcs = reach & (arc_ptr[1:] > arc_ptr[:-1])
        if has_arcs.any():
            a_first = arcs[arc_ptr[:-1][has_arcs]]
            a_last = arcs[arc_ptr[1:][has_arcs] - 1]
            gsl = step.gsl
            l_first, l_last = topo.link[a_first], topo.link[a_last]
            site_rng[has_arcs] = gsl.length_m[l_first]
            site_el[has_arcs] = np.degrees(gsl.elevation_rad[l_first])
            gw_rng[has_arcs] = gsl.length_m[l_last]
            gw_el[has_arcs] = np.degrees(gsl.elevation_rad[l_last])
        isl_cap = np.where(reach, np.inf, np.nan)
        if arcs.size:
            seg = np.repeat(np.arange(nf), arc_ptr[1:] - arc_ptr[:-1])
            is_isl = topo.kind[arcs] == int(LinkKind.ISL)
            np.minimum.at(isl_cap, seg[is_isl], topo.capacity_bps[arcs[is_isl]])
        space_f = np.take_along_axis(space, best_g, axis=1).ravel()
        fiber_f = np.take_along_axis(self.fiber_rtt, best_g[:, None, :], axis=1)[:, 0, :].ravel()
        hops = np.where(reach, ps.hops[row], -1).astype(np.int64)
        self.parts.append(dict(
            rtt_ms=np.where(reach, best.ravel(), np.nan),
            space_rtt_ms=np.where(reach, space_f, np.nan),
            ground_rtt_ms=np.where(reach, fiber_f, np.nan),
            reachable=reach, gateway=gateway, hops=hops, first_sat=first, last_sat=last,
            site_range_m=site_rng, site_elevation_deg=site_el, gateway_range_m=gw_rng,
            gateway_elevation_deg=gw_el, isl_capacity_bps=isl_cap,
            path_changed=changed, handover=src_ho, gateway_changed=gw_changed,
            _ptr=ptr, _nodes=nodes))

    def finish(self, times: Time) -> SiteSeries:
        parts = self.parts
        if times.size != len(parts):
            raise UsageError(f"{times.size} instants for {len(parts)} recorded steps")
        plan = self.plan
        if parts:
            sizes = np.array([int(q["_ptr"][-1]) for q in parts], np.int64)
            offsets = np.concatenate(([0], np.cumsum(sizes)[:-1]))
            ptr = np.concatenate([np.zeros(1, np.int64)] + [
                q["_ptr"][1:] + off for q, off in zip(parts, offsets, strict=True)])
            nodes = np.concatenate([q["_nodes"] for q in parts]).astype(np.int32)
            rows = {name: np.concatenate([q[name] for q in parts])
                    for name in SiteSeries._ROW_FIELDS}
        else:
            ptr, nodes = np.zeros(1, np.int64), np.zeros(0, np.int32)
            rows = {name: np.zeros(0, np.bool_ if name in ("reachable", "path_changed",
                                                           "handover", "gateway_changed")
                                   else np.int64 if name in ("gateway", "hops", "first_sat",
                                                             "last_sat") else np.float64)
                    for name in SiteSeries._ROW_FIELDS}
        return SiteSeries(times=times, n_sites=plan.n_sites, n_dest=plan.n_dest,
                          n_sats=self.n_sats, path_ptr=ptr, path_nodes=nodes, **rows)


def site_series(
    simulation: Any,
    times: Time,
    plan: SitePlan,
    *,
    warmup: int = 0,
    nominal_step_ns: int | None = None,
    progress: ProgressCallback | None = None,
) -> SiteSeries:
    """Run ``simulation`` (a :class:`~orbemu.network.simulation.NetworkSimulation` whose ground
    nodes hold the plan's sites and gateways) over ``times`` and record every flow's path.

    One shortest-path search per site per instant, restricted to the gateways; the exit is
    chosen per flow as the module notes say. ``warmup``, ``nominal_step_ns`` and ``progress``
    as in :func:`~orbemu.network.analysis.latency_series` (chunked runs count changes at chunk
    starts exactly as one long run).
    """
    times = times[np.newaxis] if times.ndim == 0 else times
    if not 0 <= warmup <= times.size:
        raise UsageError(f"warmup must be within 0..{times.size}, got {warmup}")
    if plan.sites.max() >= simulation.n_ground or plan.gateways.max() >= simulation.n_ground:
        raise UsageError("the plan's sites and gateways are not ground nodes of this simulation")
    builder = _Builder(plan, simulation.n_sats)
    total = times.size - warmup
    for step in simulation.steps(times, plan.sites, targets=plan.gateways,
                                 nominal_step_ns=nominal_step_ns):
        builder.add(step, record=step.index >= warmup)
        if progress is not None and step.index >= warmup:
            progress(step.index - warmup + 1, total)
    return builder.finish(times[warmup:])


# ---- statistics ----------------------------------------------------------------------------------


def grid_step_ns(times: Time) -> int:
    """The grid spacing of ``times`` (median difference; 0 for a single instant)."""
    ns = times.ns
    return int(np.median(np.diff(ns))) if ns.size > 1 else 0


def outage_windows(times_ns: npt.ArrayLike, reachable: npt.ArrayLike,
                   step_ns: int) -> tuple[IntArray, IntArray]:
    """Outages of one flow: ``(start_ns, end_ns)`` arrays, one entry per run of consecutive
    unreachable instants.

    Sampled at the instants: an outage starts at its first unreachable instant and ends at the
    next reachable instant — or one ``step_ns`` after the last instant when it lasts to the end
    of the window — so every instant ``t`` with ``start <= t < end`` is unreachable and the
    durations are accurate to one step.
    """
    t = np.asarray(times_ns, dtype=np.int64)
    down = ~np.asarray(reachable, dtype=bool)
    if t.shape != down.shape or t.ndim != 1:
        raise UsageError("times_ns and reachable must be 1-D of one length")
    if not down.any():
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    edges = np.diff(np.concatenate(([0], down.astype(np.int8), [0])))
    first = np.flatnonzero(edges == 1)
    after = np.flatnonzero(edges == -1)            # index of the next reachable instant
    ends = np.where(after < t.size, t[np.minimum(after, t.size - 1)], t[-1] + int(step_ns))
    return t[first].copy(), ends.astype(np.int64)


def gateway_usage(series: SiteSeries, flow: int) -> tuple[IntArray, FloatArray]:
    """Exit gateways of ``flow`` by share of its reachable instants: ``(gateway indices,
    shares)``, most used first (shares sum to 1; empty when never reachable)."""
    gw = series.column("gateway", flow)
    gw = gw[gw >= 0]
    if gw.size == 0:
        return np.zeros(0, np.int64), np.zeros(0)
    ids, counts = np.unique(gw, return_counts=True)
    order = np.lexsort((ids, -counts))
    return ids[order].astype(np.int64), counts[order] / gw.size


def path_capacity(series: SiteSeries, plan: SitePlan,
                  rate_model: str = "dvbs2") -> tuple[FloatArray, FloatArray]:
    """Bottleneck capacity per row toward the site and from it, bit/s (NaN unreachable; inf
    where no budget and no ISL limits the path). See the module notes."""
    n = len(series)
    flow_site = np.tile(plan.flow_site(), series.n_steps)
    gw = np.where(series.gateway >= 0, series.gateway, 0)
    ok = series.reachable & np.isfinite(series.site_range_m)
    b = plan.budgets

    def rate(link: RadioLink | None, rng: FloatArray, el_deg: FloatArray, lat: FloatArray,
             lon: FloatArray, alt: FloatArray) -> FloatArray:
        out = np.full(n, np.inf)
        if link is None or not ok.any():
            return out
        res = radio_budget(link, rng[ok], np.radians(el_deg[ok]), lat_rad=np.radians(lat[ok]),
                           lon_rad=np.radians(lon[ok]), station_alt_m=alt[ok],
                           rate_model=rate_model)  # type: ignore[arg-type]
        out[ok] = res.rate_bps
        return out

    s_lat, s_lon, s_alt = (plan.site_lat_deg[flow_site], plan.site_lon_deg[flow_site],
                           plan.site_alt_m[flow_site])
    g_lat, g_lon, g_alt = plan.gateway_lat_deg[gw], plan.gateway_lon_deg[gw], plan.gateway_alt_m[gw]
    site_down = rate(b.site_down, series.site_range_m, series.site_elevation_deg, s_lat, s_lon,
                     s_alt)
    site_up = rate(b.site_up, series.site_range_m, series.site_elevation_deg, s_lat, s_lon, s_alt)
    gw_down = rate(b.gateway_down, series.gateway_range_m, series.gateway_elevation_deg, g_lat,
                   g_lon, g_alt)
    gw_up = rate(b.gateway_up, series.gateway_range_m, series.gateway_elevation_deg, g_lat,
                 g_lon, g_alt)
    isl = np.where(series.reachable, series.isl_capacity_bps, np.inf)
    to_site = np.minimum(np.minimum(gw_up, isl), site_down)
    from_site = np.minimum(np.minimum(site_up, isl), gw_down)
    to_site[~series.reachable] = np.nan
    from_site[~series.reachable] = np.nan
    return to_site, from_site


@dataclass(frozen=True, eq=False)
class SiteSummary:
    """Per-flow statistics of a :class:`SiteSeries` (arrays of length n_flows).

    ``window_s``: instants × step (each instant stands for one step). ``availability``: share of
    instants with a path. RTT statistics over the reachable instants, ms (NaN when never
    reachable): ``rtt_min_ms``, ``rtt_p50_ms``, ``rtt_p90_ms``, ``rtt_p99_ms``, ``rtt_max_ms``,
    ``rtt_mean_ms``; ``space_rtt_p50_ms`` and ``ground_rtt_p50_ms`` split the median path.
    ``outages``, ``outage_s``, ``longest_outage_s``: count, total and longest of the
    :func:`outage_windows`. ``handovers``, ``path_changes``, ``gateway_changes`` and their
    rates per hour of window. Capacity (bit/s, over reachable instants; NaN when not
    configured or never reachable): ``to_site_p50_bps``, ``to_site_min_bps``,
    ``from_site_p50_bps``, ``from_site_min_bps``. ``direct_fiber_rtt_ms``: the round trip if
    the site were on fiber (geodesic × detour at 2/3 c), for comparison.
    """

    site: IntArray
    dest: IntArray
    n_steps: int
    step_ns: int
    window_s: float
    availability: FloatArray
    rtt_min_ms: FloatArray
    rtt_p50_ms: FloatArray
    rtt_p90_ms: FloatArray
    rtt_p99_ms: FloatArray
    rtt_max_ms: FloatArray
    rtt_mean_ms: FloatArray
    space_rtt_p50_ms: FloatArray
    ground_rtt_p50_ms: FloatArray
    hops_p50: FloatArray
    outages: IntArray
    outage_s: FloatArray
    longest_outage_s: FloatArray
    handovers: IntArray
    path_changes: IntArray
    gateway_changes: IntArray
    to_site_p50_bps: FloatArray
    to_site_min_bps: FloatArray
    from_site_p50_bps: FloatArray
    from_site_min_bps: FloatArray
    direct_fiber_rtt_ms: FloatArray

    def __len__(self) -> int:
        return int(self.site.size)

    def per_hour(self, counts: npt.ArrayLike) -> FloatArray:
        """Counts per hour of window."""
        hours = self.window_s / 3600.0
        return np.asarray(counts, np.float64) / hours if hours > 0 else np.full(len(self), np.nan)

    @property
    def handovers_per_h(self) -> FloatArray:
        return self.per_hour(self.handovers)

    @property
    def path_changes_per_h(self) -> FloatArray:
        return self.per_hour(self.path_changes)

    @property
    def gateway_changes_per_h(self) -> FloatArray:
        return self.per_hour(self.gateway_changes)


def summarize_site(series: SiteSeries, plan: SitePlan, *,
                   step_ns: int | None = None) -> SiteSummary:
    """Per-flow statistics (see :class:`SiteSummary`); ``step_ns`` defaults to the grid
    spacing of the series."""
    nf, nt = series.n_flows, series.n_steps
    step = int(step_ns) if step_ns is not None else grid_step_ns(series.times)
    reach = series.column("reachable")
    any_reach = reach.any(axis=0)

    def stat(fn: Callable[..., FloatArray], name: str, *args: Any,
             data: FloatArray | None = None) -> FloatArray:
        values = series.column(name) if data is None else data
        out = np.full(nf, np.nan)
        ok = any_reach & np.any(np.isfinite(values), axis=0)
        if ok.any():
            out[ok] = fn(values[:, ok], *args, axis=0)
        return out

    outages = np.zeros(nf, np.int64)
    outage_s = np.zeros(nf)
    longest = np.zeros(nf)
    for f in range(nf):  # flows are few (sites × destinations); the work inside is vectorized
        a, b = outage_windows(series.times.ns, reach[:, f], step)
        outages[f] = a.size
        if a.size:
            dur = (b - a) / NS_PER_S
            outage_s[f] = dur.sum()
            longest[f] = dur.max()
    if plan.budgets.configured:
        to_site, from_site = path_capacity(series, plan)
        to_site = to_site.reshape(nt, nf)
        from_site = from_site.reshape(nt, nf)
    else:
        to_site = from_site = np.full((nt, nf), np.nan)
    hops = np.where(reach, series.column("hops"), np.nan).astype(np.float64)
    return SiteSummary(
        site=plan.flow_site(), dest=plan.flow_dest(), n_steps=nt, step_ns=step,
        window_s=nt * step / NS_PER_S,
        availability=reach.sum(axis=0) / max(nt, 1),
        rtt_min_ms=stat(np.nanmin, "rtt_ms"), rtt_p50_ms=stat(np.nanpercentile, "rtt_ms", 50.0),
        rtt_p90_ms=stat(np.nanpercentile, "rtt_ms", 90.0),
        rtt_p99_ms=stat(np.nanpercentile, "rtt_ms", 99.0),
        rtt_max_ms=stat(np.nanmax, "rtt_ms"), rtt_mean_ms=stat(np.nanmean, "rtt_ms"),
        space_rtt_p50_ms=stat(np.nanmedian, "space_rtt_ms"),
        ground_rtt_p50_ms=stat(np.nanmedian, "ground_rtt_ms"),
        hops_p50=stat(np.nanmedian, "hops", data=hops),
        outages=outages, outage_s=outage_s, longest_outage_s=longest,
        handovers=series.column("handover").sum(axis=0).astype(np.int64),
        path_changes=series.column("path_changed").sum(axis=0).astype(np.int64),
        gateway_changes=series.column("gateway_changed").sum(axis=0).astype(np.int64),
        to_site_p50_bps=stat(np.nanmedian, "", data=to_site),
        to_site_min_bps=stat(np.nanmin, "", data=to_site),
        from_site_p50_bps=stat(np.nanmedian, "", data=from_site),
        from_site_min_bps=stat(np.nanmin, "", data=from_site),
        direct_fiber_rtt_ms=2.0 * plan.direct_fiber_m() / plan.fiber_speed_m_s * 1e3,
    )
