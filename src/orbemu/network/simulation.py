"""Network simulation over a window: positions → links → topology → routes, step by step.

:class:`NetworkConfig` is a frozen description of the network (which ISLs, which ground links,
how routes are chosen, what fails when). :class:`NetworkSimulation` resolves it once against an
element set and a set of ground nodes — the ISL plan (+Grid over the elements' planes, inferred
when the elements carry none), the ground nodes' link thresholds, the fixed CSR structure, the
failure schedule — and then :meth:`NetworkSimulation.steps` yields one :class:`NetworkStep`
(links, topology, routes from the requested sources) per instant::

    sim = NetworkSimulation(elements, ground, NetworkConfig())
    print("\\n".join(sim.describe()))              # the choices made, defaults included
    for step in sim.steps(times, sources=[3, 17]):   # ground-node indices
        step.routes.rtt_s(step.node(3), step.node(17))

Defaults (what a user of a Starlink-like system expects): 25° minimum elevation, every visible
satellite usable (policy ``"all"``), +Grid ISLs when the elements carry plane metadata or planes
can be inferred from them (else bent pipe, and :meth:`~NetworkSimulation.describe` says so),
80 km grazing altitude, routes by propagation delay with ground nodes as end points only.

Positions are streamed in chunks of instants (memory bounded by ``chunk_bytes`` whatever the
window). With ``propagation="interpolated"`` (default) each satellite is sampled by SGP4 on knots
at multiples of its knot step (60 s in LEO, chosen so the cubic Hermite error stays under 1 m;
see :mod:`orbemu.orbits.interpolation`) and interpolated in TEME, then rotated to ITRF. Knot
tables always reach two knots beyond the intervals they serve, so every knot derivative comes
from the central stencil of the same global knots: a given instant gets bit-identical positions
however the window is cut into chunks (the distributed runner relies on it). When the instants
are not denser than the knots, SGP4 is evaluated at the instants directly. With
``propagation="sgp4"`` SGP4 runs at every instant.

Pure: no file I/O, no printing. Arrays follow :mod:`orbemu.network.topology`'s node numbering
(satellites ``0..n_sats-1``, ground node ``g`` is node ``n_sats + g``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from orbemu.constants import NS_PER_S
from orbemu.errors import InputError, UsageError
from orbemu.links.budget import RadioLink, ground_link_capacity
from orbemu.links.isl import DEFAULT_GRAZING_ALT_M, IslLinks, IslPlan, isl_links, plus_grid
from orbemu.links.planes import infer_planes
from orbemu.links.policies import POLICIES, remaining_visibility_s, select_links
from orbemu.links.visibility import GroundLinks, ground_links
from orbemu.network.routing import Metric, Routes, shortest_paths
from orbemu.network.topology import (
    DEFAULT_GSL_CAPACITY_BPS,
    DEFAULT_ISL_CAPACITY_BPS,
    FailureSchedule,
    Topology,
    TopologyBuilder,
)
from orbemu.orbits.elements import ElementSet
from orbemu.orbits.frames import teme_to_itrf
from orbemu.orbits.ground_nodes import GroundNodes
from orbemu.orbits.interpolation import HermiteEphemeris, knot_step_for_orbits_s
from orbemu.orbits.propagation import DEFAULT_CHUNK_BYTES, SGP4Propagator
from orbemu.time import Time

__all__ = [
    "DEFAULT_MIN_ELEVATION_DEG",
    "Failure",
    "IslMode",
    "NetworkConfig",
    "NetworkSimulation",
    "NetworkStep",
    "PositionStream",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

IslMode = Literal["auto", "plus-grid", "none", "pairs"]
Propagation = Literal["interpolated", "sgp4"]

#: Minimum elevation used when neither an elevation nor a range limit is given (Starlink's
#: filed minimum for user terminals).
DEFAULT_MIN_ELEVATION_DEG = 25.0
#: Knots a table reaches beyond the intervals it serves: every knot used then has the central
#: 5-point derivative stencil (see the module notes).
_STENCIL_PAD = 2


@dataclass(frozen=True)
class Failure:
    """Something down for ``[start, end)``: a satellite, an ISL (``a``–``b``) or a ground node.

    ``kind``: ``"satellite"`` (``a`` = satellite index), ``"ground"`` (``a`` = ground-node index)
    or ``"isl"`` (``a``, ``b`` = the two satellites of a planned ISL). ``start``/``end`` are
    instants (int ns or :class:`Time`); ``end=None`` means until the end of the run.
    """

    kind: Literal["satellite", "isl", "ground"]
    a: int
    start: Time | int
    end: Time | int | None = None
    b: int = -1

    def __post_init__(self) -> None:
        if self.kind not in ("satellite", "isl", "ground"):
            raise UsageError(f"failure kind must be 'satellite', 'isl' or 'ground', got "
                             f"{self.kind!r}")
        if self.kind == "isl" and self.b < 0:
            raise UsageError("an ISL failure needs both satellites: Failure('isl', a, start, "
                             "end, b=...)")


@dataclass(frozen=True, eq=False)
class NetworkConfig:
    """How the network is built and routed. Frozen; every field has the usual default.

    ISLs
    - ``isl``: ``"auto"`` (+Grid when the elements carry plane metadata or planes can be
      inferred, else none), ``"plus-grid"`` (the same, but an error when there are no planes),
      ``"none"`` (bent pipe) or ``"pairs"`` (``isl_pairs``).
    - ``isl_pairs``: (k, 2) satellite indices (elements order) for ``isl="pairs"``.
    - ``slot_shift``: +Grid cross-plane shift (:func:`~orbemu.links.isl.plus_grid`).
    - ``max_isl_range_m``: longest usable ISL, metres (``inf``: line of sight only).
    - ``grazing_alt_m``: an ISL's line of sight must clear this altitude, metres (80 km).

    Ground links
    - ``min_elevation_deg`` / ``max_gsl_range_m``: the visibility rule. Neither given: 25°.
      Only a range: range only (the satellite must still be above the horizon, elevation ≥ 0°).
      Both: both apply.
    - ``gsl_policy``: ``"all"`` (default), ``"nearest"``, ``"highest"``, ``"longest"``; caps
      ``gsl_per_node`` / ``gsl_per_sat`` (None: no limit)
      (:func:`~orbemu.links.policies.select_links`).

    Routing
    - ``relay``: ground nodes may be transit (ground relays). Default False: end points only.
    - ``metric``: ``"delay"`` (default) or ``"hops"``.

    Capacities
    - ``isl_capacity_bps``: per ISL and direction.
    - ``gsl_capacity``: a number (bit/s, every ground link) or a
      :class:`~orbemu.links.budget.RadioLink` whose budget sets each link's rate per step.

    Failures and execution
    - ``failures``: :class:`Failure` records.
    - ``propagation``: ``"interpolated"`` (SGP4 on knots + Hermite, ≤ 1 m) or ``"sgp4"``.
    - ``chunk_bytes``: memory bound of one chunk of positions.
    """

    isl: IslMode = "auto"
    isl_pairs: npt.NDArray[np.int64] | None = None
    slot_shift: int = 0
    max_isl_range_m: float = math.inf
    grazing_alt_m: float = DEFAULT_GRAZING_ALT_M
    min_elevation_deg: float | None = None
    max_gsl_range_m: float | None = None
    gsl_policy: str = "all"
    gsl_per_node: int | None = None
    gsl_per_sat: int | None = None
    relay: bool = False
    metric: Metric = "delay"
    isl_capacity_bps: float = DEFAULT_ISL_CAPACITY_BPS
    gsl_capacity: float | RadioLink = DEFAULT_GSL_CAPACITY_BPS
    failures: tuple[Failure, ...] = ()
    propagation: Propagation = "interpolated"
    chunk_bytes: int = DEFAULT_CHUNK_BYTES

    def __post_init__(self) -> None:
        if self.isl not in ("auto", "plus-grid", "none", "pairs"):
            raise UsageError(f"isl must be 'auto', 'plus-grid', 'none' or 'pairs', got "
                             f"{self.isl!r}")
        if self.isl == "pairs" and self.isl_pairs is None:
            raise UsageError("isl='pairs' needs isl_pairs, a (k, 2) array of satellite indices")
        if self.gsl_policy not in POLICIES:
            raise UsageError(f"gsl_policy must be one of {', '.join(POLICIES)}, got "
                             f"{self.gsl_policy!r}")
        if self.metric not in ("delay", "hops"):
            raise UsageError(f"metric must be 'delay' or 'hops', got {self.metric!r}")
        if self.propagation not in ("interpolated", "sgp4"):
            raise UsageError(f"propagation must be 'interpolated' or 'sgp4', got "
                             f"{self.propagation!r}")
        if self.min_elevation_deg is not None and not -90.0 <= self.min_elevation_deg <= 90.0:
            raise InputError(f"minimum elevation {self.min_elevation_deg}° is outside "
                             "[-90, 90]", field="min_elevation_deg")
        for name in ("max_gsl_range_m", "max_isl_range_m", "grazing_alt_m"):
            value = getattr(self, name)
            if value is not None and not value >= 0.0:
                raise InputError(f"{name} must be >= 0, got {value}", field=name)
        if isinstance(self.failures, list):
            object.__setattr__(self, "failures", tuple(self.failures))

    @property
    def elevation_rule_deg(self) -> float:
        """The minimum elevation actually applied, degrees."""
        if self.min_elevation_deg is not None:
            return float(self.min_elevation_deg)
        return 0.0 if self.max_gsl_range_m is not None else DEFAULT_MIN_ELEVATION_DEG


@dataclass(frozen=True, eq=False)
class NetworkStep:
    """One instant of a :class:`NetworkSimulation`.

    ``index``: position in the ``times`` given to :meth:`NetworkSimulation.steps`; ``time``:
    the instant; ``isl``/``gsl``: the links stage's outputs (``gsl`` after the policy);
    ``topology``; ``routes``: trees from the requested sources (None when none requested);
    ``r_itrf_m``: (n_sats, 3) positions (a view into a reused buffer: copy what you keep).
    """

    index: int
    time: Time
    r_itrf_m: FloatArray
    isl: IslLinks
    gsl: GroundLinks
    topology: Topology
    routes: Routes | None

    def node(self, ground: Any) -> Any:
        """Node index (or indices) of ground node(s) ``ground``."""
        return self.topology.ground_node_index(ground)


# ---- positions -----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class PositionStream:
    """ITRF positions and velocities of an element set, streamed chunk by chunk.

    ``nominal_step_ns``: the spacing of the whole window's instants; it decides, once for the
    window, which satellites are interpolated (knot step > nominal step) and which are
    propagated at the instants directly — so a chunk of the window gets the same numbers as the
    whole window would.
    """

    elements: ElementSet
    propagation: Propagation = "interpolated"
    chunk_bytes: int = DEFAULT_CHUNK_BYTES
    nominal_step_ns: int | None = None
    _groups: list[tuple[IntArray, ElementSet, int]] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        groups: list[tuple[IntArray, ElementSet, int]] = []
        n = len(self.elements)
        if self.propagation == "interpolated" and n:
            steps = knot_step_for_orbits_s(self.elements) * NS_PER_S
            for step in np.unique(steps):
                rows = np.flatnonzero(steps == step).astype(np.int64)
                if self.nominal_step_ns is not None and self.nominal_step_ns >= step:
                    step = 0  # instants no denser than the knots: SGP4 directly
                sub = self.elements if rows.size == n else self.elements.select(rows)
                groups.append((rows, sub, int(step)))
            # merge the direct groups into one SGP4 call
            direct = [g for g in groups if g[2] == 0]
            if len(direct) > 1:
                rows = np.sort(np.concatenate([g[0] for g in direct]))
                groups = [g for g in groups if g[2] != 0]
                groups.append((rows, self.elements.select(rows), 0))
        elif n:
            groups.append((np.arange(n, dtype=np.int64), self.elements, 0))
        self._groups.extend(groups)

    @property
    def describe(self) -> str:
        if self.propagation == "sgp4" or all(g[2] == 0 for g in self._groups):
            return "SGP4 at every instant, rotated to ITRF (GMST82 + polar motion)"
        steps = sorted({g[2] // NS_PER_S for g in self._groups if g[2]})
        knots = ", ".join(f"{s} s" for s in steps)
        return (f"SGP4 on {knots} knots + cubic Hermite interpolation in TEME (≤ 1 m from "
                "SGP4), rotated to ITRF (GMST82 + polar motion)")

    def instants_per_chunk(self) -> int:
        n = max(len(self.elements), 1)
        return max(1, int(self.chunk_bytes // (n * 3 * 8 * 2 + n)))

    def iter_chunks(self, times: Time) -> Iterator[tuple[slice, FloatArray, FloatArray]]:
        """Yield ``(time_slice, r_itrf_m, v_itrf_m_s)``, arrays ``(n_sats, chunk, 3)`` reused
        between chunks (copy what you keep). ``times`` must increase."""
        n, t = len(self.elements), times.size
        if t == 0:
            return
        ns = times.ns
        if t > 1 and np.any(np.diff(ns) <= 0):
            raise UsageError("simulation instants must be strictly increasing")
        per = self.instants_per_chunk()
        buf_r, buf_v = np.empty((n, per, 3)), np.empty((n, per, 3))
        for start in range(0, t, per):
            sl = slice(start, min(start + per, t))
            c = sl.stop - sl.start
            r, v = (buf_r, buf_v) if c == per else (np.empty((n, c, 3)), np.empty((n, c, 3)))
            chunk = times[sl]
            for rows, sub, step in self._groups:
                if step == 0:
                    eph = SGP4Propagator().propagate(sub, chunk)
                    r[rows], v[rows] = eph.position_m, eph.velocity_m_s
                else:
                    _interpolate_into(sub, rows, step, chunk, r, v)
            teme_to_itrf(r, v, chunk, out=(r, v))
            yield sl, r, v


def _interpolate_into(sub: ElementSet, rows: IntArray, step: int, chunk: Time,
                      out_r: FloatArray, out_v: FloatArray) -> None:
    """Hermite-interpolate ``sub`` at ``chunk`` into ``out_*[rows]`` from a knot table on the
    global grid ``k·step`` reaching :data:`_STENCIL_PAD` knots beyond the intervals used."""
    ns = chunk.ns
    k_lo = int(ns[0]) // step
    k_hi = int(ns[-1]) // step
    first = (k_lo - _STENCIL_PAD) * step
    n_knots = k_hi - k_lo + 2 * _STENCIL_PAD + 2
    knots = Time(first + np.arange(n_knots, dtype=np.int64) * step)
    table = HermiteEphemeris.from_ephemeris(SGP4Propagator().propagate(sub, knots))
    c = ns.size
    r = np.empty((len(sub), c, 3))
    v = np.empty((len(sub), c, 3))
    st = np.empty((len(sub), c), np.int8)
    table.evaluate_into(np.arange(len(sub), dtype=np.int64), np.arange(c, dtype=np.int64), ns,
                        r, v, st)
    out_r[rows] = r
    out_v[rows] = v


# ---- the simulation ------------------------------------------------------------------------------


class NetworkSimulation:
    """A network over an element set and ground nodes, resolved once, stepped over time.

    Parameters
    ----------
    elements: the satellites (their order is the satellite index everywhere).
    ground: the ground nodes (their order is the ground-node index); their own
        ``min_elevation_deg``/``max_range_m`` are replaced by the config's rule.
    config: see :class:`NetworkConfig`.
    at: instant at which planes are inferred / +Grid geometry is read; default: the newest
        element epoch.
    plan: an already resolved :class:`~orbemu.links.isl.IslPlan` (skips ISL resolution; the
        distributed runner resolves once and ships the plan).
    """

    def __init__(self, elements: ElementSet, ground: GroundNodes,
                 config: NetworkConfig | None = None, *, at: Time | None = None,
                 plan: IslPlan | None = None, plan_note: str | None = None) -> None:
        self.config = config if config is not None else NetworkConfig()
        self.elements = elements
        cfg = self.config
        rng = cfg.max_gsl_range_m if cfg.max_gsl_range_m is not None else math.inf
        self.ground = ground.with_min_elevation(cfg.elevation_rule_deg).with_max_range(rng)
        self.notes: list[str] = []
        if plan is None:
            plan, plan_note = resolve_isl_plan(elements, cfg, at=at)
        if plan.n_sats != len(elements):
            raise UsageError(f"the ISL plan is for {plan.n_sats} satellites, the elements hold "
                             f"{len(elements)}")
        self.plan = plan
        self.plan_note = plan_note or f"{plan.kind}: {len(plan)} ISL pairs"
        self.builder = TopologyBuilder.from_plan(self.plan, len(self.ground))
        self.schedule = _schedule(cfg.failures, self.plan, len(elements), len(self.ground))

    @property
    def n_sats(self) -> int:
        return len(self.elements)

    @property
    def n_ground(self) -> int:
        return len(self.ground)

    def describe(self) -> list[str]:
        """One line per choice made (defaults included), for a run log."""
        cfg = self.config
        gsl = []
        if cfg.min_elevation_deg is None and cfg.max_gsl_range_m is None:
            gsl.append(f"minimum elevation {DEFAULT_MIN_ELEVATION_DEG:g}° (default)")
        elif cfg.min_elevation_deg is None and cfg.max_gsl_range_m is not None:
            gsl.append(f"maximum range {cfg.max_gsl_range_m / 1e3:,.3f} km (above the horizon)")
        elif cfg.min_elevation_deg is not None:
            gsl.append(f"minimum elevation {cfg.min_elevation_deg:g}°")
            if cfg.max_gsl_range_m is not None:
                gsl.append(f"maximum range {cfg.max_gsl_range_m / 1e3:,.3f} km")
        caps = []
        if cfg.gsl_per_node is not None:
            caps.append(f"≤ {cfg.gsl_per_node} per ground node")
        if cfg.gsl_per_sat is not None:
            caps.append(f"≤ {cfg.gsl_per_sat} per satellite")
        policy = {"all": "every visible satellite usable", "nearest": "nearest first",
                  "highest": "highest elevation first",
                  "longest": "longest remaining visibility first"}[cfg.gsl_policy]
        rng = ("no range limit" if not math.isfinite(cfg.max_isl_range_m)
               else f"max range {cfg.max_isl_range_m / 1e3:,.3f} km")
        lines = [
            f"ISLs: {self.plan_note}"
            + (f"; {rng}, grazing altitude {cfg.grazing_alt_m / 1e3:g} km"
               if len(self.plan) else ""),
            f"ground links: {', '.join(gsl)}; {policy}" + (f" ({', '.join(caps)})" if caps
                                                           else ""),
            f"routing: shortest by {cfg.metric}; ground nodes "
            + ("may relay" if cfg.relay else "are end points only (no ground relay)"),
        ]
        if cfg.failures:
            lines.append(f"failures: {len(cfg.failures)} scheduled")
        return lines + self.notes

    def position_stream(self, times: Time) -> PositionStream:
        nominal = None
        if times.size > 1:
            nominal = int((int(times.ns[-1]) - int(times.ns[0])) // (times.size - 1))
        return PositionStream(self.elements, self.config.propagation, self.config.chunk_bytes,
                              nominal_step_ns=nominal)

    def steps(self, times: Time, sources: npt.ArrayLike | None = None, *,
              targets: npt.ArrayLike | None = None,
              nominal_step_ns: int | None = None) -> Iterator[NetworkStep]:
        """One :class:`NetworkStep` per instant of ``times`` (increasing).

        ``sources``: ground-node indices whose shortest-path trees are computed each step
        (None: no routing). ``targets``: ground-node indices the routes are wanted to (None:
        every node); the searches then stop once these are settled
        (:func:`~orbemu.network.routing.shortest_paths`). ``nominal_step_ns``: the spacing of
        the full window when ``times`` is a chunk of it (see :class:`PositionStream`); default:
        from ``times``.
        """
        times = times[np.newaxis] if times.ndim == 0 else times
        src_nodes = None
        if sources is not None:
            g = np.atleast_1d(np.asarray(sources, dtype=np.int64))
            if g.size and (g.min() < 0 or g.max() >= self.n_ground):
                raise UsageError(f"sources must be ground-node indices 0..{self.n_ground - 1}")
            src_nodes = g + self.n_sats
        tgt_nodes = None
        if targets is not None:
            tg = np.atleast_1d(np.asarray(targets, dtype=np.int64))
            if tg.size and (tg.min() < 0 or tg.max() >= self.n_ground):
                raise UsageError(f"targets must be ground-node indices 0..{self.n_ground - 1}")
            tgt_nodes = tg + self.n_sats
        if nominal_step_ns is None:
            stream = self.position_stream(times)
        else:
            stream = PositionStream(self.elements, self.config.propagation,
                                    self.config.chunk_bytes, nominal_step_ns=nominal_step_ns)
        cfg = self.config
        for sl, r_chunk, v_chunk in stream.iter_chunks(times):
            for j in range(sl.stop - sl.start):
                i = sl.start + j
                t = times[i]
                r = np.ascontiguousarray(r_chunk[:, j, :])
                isl = isl_links(self.plan, r)
                gsl = ground_links(self.ground, r)
                if cfg.gsl_policy != "all" or cfg.gsl_per_node is not None \
                        or cfg.gsl_per_sat is not None:
                    remaining = (remaining_visibility_s(self.ground, gsl, r, v_chunk[:, j, :])
                                 if cfg.gsl_policy == "longest" else None)
                    gsl = select_links(gsl, cfg.gsl_policy, max_per_node=cfg.gsl_per_node,  # type: ignore[arg-type]
                                       max_per_sat=cfg.gsl_per_sat, remaining_s=remaining)
                if isinstance(cfg.gsl_capacity, RadioLink):
                    gsl = ground_link_capacity(gsl, self.ground, cfg.gsl_capacity)
                else:
                    gsl = gsl.with_capacity(float(cfg.gsl_capacity))
                failures = self.schedule.active_at(t) if self.schedule is not None else None
                topo = self.builder.build_links(isl, gsl, failures=failures)
                routes = (shortest_paths(topo, src_nodes, metric=cfg.metric, relay=cfg.relay,
                                         targets=tgt_nodes)
                          if src_nodes is not None else None)
                yield NetworkStep(i, t, r, isl, gsl, topo, routes)


def resolve_isl_plan(elements: ElementSet, config: NetworkConfig, *,
                     at: Time | None = None) -> tuple[IslPlan, str]:
    """The ISL plan a config asks for on these elements, and one line saying what it is."""
    cfg = config
    n = len(elements)
    cap = cfg.isl_capacity_bps
    if cfg.isl == "none":
        return IslPlan.none(n), "none (bent pipe: --isl none)"
    if cfg.isl == "pairs":
        pairs = np.asarray(cfg.isl_pairs)
        plan = IslPlan.from_pairs(pairs, n, max_range_m=cfg.max_isl_range_m,
                                  capacity_bps=cap, grazing_alt_m=cfg.grazing_alt_m)
        return plan, f"{len(plan):,} user-given pairs"
    structured = elements
    how = "the elements' plane metadata"
    if not elements.has_structure:
        when = at if at is not None else elements.epoch_span()[1]
        structure = infer_planes(elements, when)
        if structure.n_planes >= 2:
            structured = structure.apply(elements)
            how = (f"{structure.n_planes} planes inferred from the elements "
                   f"({structure.n_unassigned} satellites in none)")
        elif cfg.isl == "plus-grid":
            raise InputError(
                "+Grid ISLs need orbital planes, and none could be inferred from these "
                f"elements ({n} satellites)", field="isl",
                fix="Use --isl none (bent pipe) or give the ISL pairs in a file")
        else:
            return IslPlan.none(n), ("none: the elements carry no plane metadata and no planes "
                                     "could be inferred (bent pipe)")
    plan = plus_grid(structured, at=at, slot_shift=cfg.slot_shift,
                     max_range_m=cfg.max_isl_range_m, capacity_bps=cap,
                     grazing_alt_m=cfg.grazing_alt_m)
    shift = f", slot shift {cfg.slot_shift}" if cfg.slot_shift else ""
    return plan, f"+Grid over {how} ({len(plan):,} pairs{shift})"


def _schedule(failures: Sequence[Failure], plan: IslPlan, n_sats: int,
              n_ground: int) -> FailureSchedule | None:
    if not failures:
        return None
    sched = FailureSchedule(n_sats, n_ground, plan.pairs)
    for f in failures:
        if f.kind == "satellite":
            sched.add_satellite(f.a, f.start, f.end)
        elif f.kind == "ground":
            sched.add_ground_node(f.a, f.start, f.end)
        else:
            sched.add_isl(f.a, f.b, f.start, f.end)
    return sched
