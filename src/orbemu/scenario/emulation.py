"""From a resolved scenario to a live network emulation (:class:`orbemu.netemu.Emulator`).

:func:`live_emulation` reads the scenario's ``network`` section (relay constellations, ISLs,
ground-link policy, ground relaying), its ``netemu`` section (nodes, mode, queue, loss, outage
behaviour, link rates, start) and its scripted ``sat``/``station``/``isl`` faults, and builds:

- a :class:`~orbemu.network.NetworkSimulation` over the relay constellations and the ground nodes
  that matter (the emulated ones; with ground relaying, every gateway, PoP, site and destination);
- the emulated nodes (addresses numbered by the node's index in the whole scenario, see
  :mod:`orbemu.netemu.addressing`);
- :class:`~orbemu.netemu.NetemuSettings`.

Differences from ``orbemu run``'s network, stated in :attr:`LiveEmulation.notes`: one minimum
elevation (``network.gsl.min_elevation_deg``) for every ground node; ``isl.cross``/``seam`` use
the +Grid defaults; random ISL faults are not drawn (random satellite and station faults are,
as ``orbemu run`` draws them). Fault instants given as offsets count from the emulation's
start.
"""

from __future__ import annotations

import math
import time as _time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from orbemu.errors import InputError
from orbemu.netemu import Emulator, NetemuSettings, PlaneSettings, select_nodes
from orbemu.netemu.addressing import EmulatedNode
from orbemu.network.simulation import Failure, NetworkConfig, NetworkSimulation
from orbemu.scenario.faults import split_isl_target
from orbemu.scenario.model import NetemuSection
from orbemu.scenario.resolve import ResolvedScenario
from orbemu.time import Time

__all__ = ["LiveEmulation", "live_emulation"]


@dataclass(frozen=True, eq=False)
class LiveEmulation:
    """What :func:`live_emulation` built: the ``emulator`` (not up yet), its ``simulation``,
    ``nodes``, ``start`` and the ``notes`` (choices made, one line each)."""

    emulator: Emulator
    simulation: NetworkSimulation
    nodes: list[EmulatedNode]
    start: Time
    notes: list[str]


def _default_selectors(world: ResolvedScenario) -> list[str]:
    sc = world.scenario
    out: list[str] = []
    for pair in sc.network.monitor:
        for end in (pair.src, pair.dst):
            sel = f"ground:{end.name}"
            if sel not in out:
                out.append(sel)
    if not out:
        out = ["site:*", "cloud:*"]
    return out


def live_emulation(world: ResolvedScenario, *, run: str = "main",
                   nodes: Sequence[str] | None = None, mode: str | None = None,
                   start: str | None = None, update_interval_ns: int | None = None,
                   section: NetemuSection | None = None) -> LiveEmulation:
    """An :class:`~orbemu.netemu.Emulator` for ``world`` (see the module notes). Arguments
    override the scenario's ``netemu`` section."""
    sc = world.scenario
    cfg = section or sc.netemu or NetemuSection()
    notes: list[str] = []
    mode = mode or cfg.mode
    # ---- relay satellites
    relay_names = {c.name for c in sc.relay_constellations()}
    relay_idx = np.array([i for i, c in enumerate(sc.constellations) if c.name in relay_names],
                         dtype=np.int32)
    sat_rows = np.flatnonzero(np.isin(world.constellation, relay_idx)).astype(np.int64)
    if sat_rows.size == 0:
        raise InputError("the scenario has no relay constellation to emulate a network over",
                         field="network.constellations",
                         fix="Give a constellation role: relay, or list it in "
                             "network.constellations")
    elements = world.elements.select(sat_rows)
    # ---- which ground nodes are in the simulation
    selectors = list(nodes) if nodes else list(cfg.nodes or _default_selectors(world))
    if mode == "hop":
        selectors = [*selectors, "sat:*"]
    chosen = select_nodes(elements, world.ground, selectors, run=run, prefix=cfg.prefix,
                          sat_numbers=sat_rows)
    ground_rows = sorted({n.index for n in chosen if n.kind == "ground"})
    if sc.network.ground_relay:
        relay_roles = ("gateway", "pop", "site", "cloud")
        ground_rows = sorted(set(ground_rows) | {
            g for g, r in enumerate(world.ground.roles) if str(r) in relay_roles})
        notes.append("ground relaying on: every gateway, PoP, site and destination is in the "
                     "network")
    ground_rows_arr = np.array(ground_rows, dtype=np.int64)
    ground = world.ground.select(ground_rows_arr)
    # the same nodes, indexed in the simulation's subset (addresses stay the scenario's)
    sim_row = {g: i for i, g in enumerate(ground_rows)}
    emulated = [replace(n, index=sim_row[n.index]) if n.kind == "ground" else n
                for n in chosen]
    # ---- start
    start_text = (start or cfg.start).strip()
    if start_text == "run":
        t0 = world.start
    elif start_text == "now":
        t0 = Time(_time.time_ns() // 1_000_000 * 1_000_000)
    else:
        t0 = Time.parse(start_text, field="netemu.start")
    # ---- network config
    net = sc.network
    isl_cap = (cfg.isl_capacity_mbps * 1e6 if cfg.isl_capacity_mbps is not None
               else net.isl.capacity_gbps * 1e9)
    gsl_kwargs = {}
    if cfg.gsl_capacity_mbps is not None:
        gsl_kwargs["gsl_capacity"] = cfg.gsl_capacity_mbps * 1e6
    failures = _failures(world, elements, sat_rows, ground, t0, notes)
    config = NetworkConfig(
        isl="plus-grid" if net.isl.mode == "plus-grid" else "none",
        slot_shift=net.isl.slot_shift,
        max_isl_range_m=(net.isl.max_range_km * 1e3 if net.isl.max_range_km is not None
                         else math.inf),
        grazing_alt_m=net.isl.grazing_alt_km * 1e3,
        min_elevation_deg=net.gsl.min_elevation_deg,
        max_gsl_range_m=(net.gsl.max_range_km * 1e3 if net.gsl.max_range_km is not None
                         else None),
        gsl_policy=net.gsl.policy,
        gsl_per_node=net.gsl.max_per_node,
        gsl_per_sat=net.gsl.max_per_sat,
        relay=net.ground_relay,
        isl_capacity_bps=isl_cap,
        failures=tuple(failures),
        **gsl_kwargs,  # type: ignore[arg-type]
    )
    sim = NetworkSimulation(elements, ground, config, at=t0)
    notes.append(f"one minimum elevation for every ground node: "
                 f"{net.gsl.min_elevation_deg:g}° (network.gsl.min_elevation_deg)")
    if world.random_isl:
        notes.append("random ISL faults are not drawn in a live emulation")
    plane = PlaneSettings(mode=mode, queue_ms=cfg.queue_ms, loss=cfg.loss, outage=cfg.outage,
                          reorder=cfg.reorder, mtu=cfg.mtu, seed=sc.seed)
    settings = NetemuSettings(
        mode=mode,  # type: ignore[arg-type]
        update_interval_ns=(update_interval_ns if update_interval_ns is not None
                            else cfg.update_interval_ns),
        routing=cfg.routing, prefix=cfg.prefix, plane=plane)
    emu = Emulator(sim, emulated, start=t0, run=run, settings=settings, label=sc.name)
    return LiveEmulation(emu, sim, emulated, t0, [*sim.describe(), *notes])


def _failures(world: ResolvedScenario, elements: object, sat_rows: np.ndarray,
              ground: object, t0: Time, notes: list[str]) -> list[Failure]:
    """The run's sat/station/isl faults (scripted and random, as the engine draws them) as
    network failures (offsets from the emulation's start)."""
    sat_of = {int(r): i for i, r in enumerate(sat_rows)}
    names = {str(n): i for i, n in enumerate(world.elements.names)}
    gnames = {str(n): i for i, n in enumerate(ground.names)}  # type: ignore[attr-defined]
    out: list[Failure] = []
    skipped = 0
    start = int(t0.ns)
    for f in world.faults:  # scripted and drawn (the engine's): the same outages
        if f.kind not in ("sat", "station", "isl") or f.effect != "down":
            continue
        t_a = f.at.time_ns(start)
        t_b = t_a + f.duration_ns if f.duration_ns is not None else None
        if f.kind == "station":
            g = gnames.get(f.target)
            if g is None:
                skipped += 1
                continue
            out.append(Failure("ground", g, t_a, t_b))
            continue
        keys = split_isl_target(f.target) if f.kind == "isl" else (f.target,)
        idx = []
        for key in keys or ():
            row = names.get(key)
            if row is None:
                row = world.satellite_index(key)
            idx.append(sat_of.get(int(row), -1))
        if any(i < 0 for i in idx):
            skipped += 1
            continue
        if f.kind == "sat":
            out.append(Failure("satellite", idx[0], t_a, t_b))
        else:
            out.append(Failure("isl", idx[0], t_a, t_b, b=idx[1]))
    if skipped:
        notes.append(f"{skipped} scripted fault(s) name nodes outside the emulated network "
                     "(ignored)")
    return out
