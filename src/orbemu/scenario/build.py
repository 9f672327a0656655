"""From a resolved scenario to a running engine: :func:`build_emulation`, :func:`resume_emulation`.

The adapter between the scenario files and :mod:`orbemu.engine`. :func:`emulation_setup` turns
a :class:`~orbemu.scenario.resolve.ResolvedScenario` into an
:class:`~orbemu.engine.config.EmulationSetup`:

- **modelled satellites** — every satellite of an ``eo`` constellation, and of any constellation
  that names a spacecraft class (``spacecraft:``); their class is the scenario's section built by
  :func:`orbemu.spacecraft.spacecraft_class` (the models' defaults where the scenario names none);
- **contacts** — the ground nodes of ``ground.stations`` with their antennas and setup times;
- **network** — the relay constellations (``network.constellations``, default every ``relay``
  one), the ground nodes of the other sections (gateways, PoPs, sites, destinations), the ISL and
  ground-link settings, the monitored pairs (``site:NAME`` → that node), metrics every
  ``outputs.network_every``;
- **faults** — the resolved scripted and random faults, plus random ISL faults drawn over the ISL
  plan (resolved here once and handed to the engine); names become indices;
- **commands** — ``schedules`` with their targets resolved (a ``capture`` target name becomes the
  target's row);
- **apps** — each ``apps`` entry becomes an :class:`orbemu.fsw.AppSpec` on the satellites its
  selector names (modelled satellites only; the app class is imported now, so a wrong module or
  class is reported with the entry's line);
- the clock, seed, records, checkpoints, and the scenario as run (YAML with the command line's
  overrides) for the run database.

:func:`resume_emulation` reopens a run folder, rebuilds the same setup from the scenario stored in
its database, and continues from the last checkpoint.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from orbemu.engine.config import (
    CommandSpec,
    ContactSetup,
    EmulationSetup,
    FleetSetup,
    NetworkSetup,
    RecordSetup,
)
from orbemu.engine.emulation import Emulation
from orbemu.engine.faults import FaultSpec
from orbemu.engine.network import relay_isl_plan
from orbemu.engine.recorder import Sink
from orbemu.errors import InputError, ScenarioError
from orbemu.fsw.app import load_app_class
from orbemu.fsw.config import AppSpec, AppsSetup, ProcessLimits, RestartPolicy
from orbemu.scenario.faults import Fault, sample_random_faults, split_isl_target
from orbemu.scenario.model import ENDPOINT_KINDS, GROUND_ROLES, Scenario
from orbemu.scenario.resolve import ResolvedScenario, resolve_scenario
from orbemu.time import Time

__all__ = ["build_emulation", "emulation_setup", "fault_spec", "resume_emulation", "run_sink"]


def _fleet(world: ResolvedScenario) -> FleetSetup | None:
    sc = world.scenario
    explicit = np.array([c.spacecraft is not None for c in sc.constellations], bool)
    modelled = (world.roles == "eo") | explicit[world.constellation]
    sats = np.flatnonzero(modelled).astype(np.int64)
    if sats.size == 0:
        return None
    names = [str(x) for x in world.spacecraft_class[sats]]
    order = sorted(set(names))
    classes = tuple(sc.spacecraft_models(name or None) for name in order)
    index = np.array([order.index(nm) for nm in names], np.int64)
    return FleetSetup(sats=sats, classes=classes, class_index=index, targets=world.targets)


def _node(world: ResolvedScenario, kind: str, name: str) -> int:
    role = GROUND_ROLES[ENDPOINT_KINDS[kind]]
    hits = np.flatnonzero((world.ground.names == name) & (world.ground.roles == role))
    if hits.size == 0:
        raise ScenarioError(f"monitored endpoint {kind}:{name} is not a ground node of the run",
                            source=world.scenario.source_path,
                            fix="Name a node of the ground section")
    return int(hits[0])


def _network(world: ResolvedScenario) -> NetworkSetup | None:
    sc = world.scenario
    relay_names = [c.name for c in sc.relay_constellations()]
    if not relay_names:
        return None
    const = np.array([c.name for c in sc.constellations], dtype=object)
    relay = np.flatnonzero(np.isin(const[world.constellation], relay_names)).astype(np.int64)
    nodes = np.flatnonzero(world.ground.roles != "station").astype(np.int64)
    net = sc.network
    monitor = tuple((_node(world, p.src.kind, p.src.name), _node(world, p.dst.kind, p.dst.name))
                    for p in net.monitor)
    labels = tuple((str(p.src), str(p.dst)) for p in net.monitor)
    isl = net.isl
    return NetworkSetup(
        relay=relay, nodes=nodes, monitor=monitor, monitor_labels=labels,
        interval_ns=sc.outputs.network_every_ns, isl=isl.mode,
        isl_max_range_m=(isl.max_range_km * 1e3 if isl.max_range_km is not None else np.inf),
        isl_capacity_bps=isl.capacity_gbps * 1e9, grazing_alt_m=isl.grazing_alt_km * 1e3,
        isl_cross=isl.cross, isl_seam=isl.seam, isl_slot_shift=isl.slot_shift,
        gsl_policy=net.gsl.policy, gsl_per_node=net.gsl.max_per_node,
        gsl_per_sat=net.gsl.max_per_sat, ground_relay=net.ground_relay)


def _fault_spec(world: ResolvedScenario, f: Fault, origin: str) -> FaultSpec:
    start = int(world.start)
    t0 = f.at.time_ns(start)
    end = None if f.duration_ns is None else t0 + f.duration_ns
    common = {"kind": f.kind, "effect": f.effect, "start_ns": t0, "end_ns": end,
              "target": f.target, "spec": f.to_spec(), "origin": origin,
              "fraction": f.fraction}
    if f.kind == "station":
        return FaultSpec(node=world.ground.index_of(f.target), **common)
    if f.kind == "isl":
        pair = split_isl_target(f.target)
        assert pair is not None
        a, b = (world.satellite_index(x) for x in pair)
        names = world.elements.names
        return FaultSpec(sat=a, sat_b=b, **{**common, "target": f"{names[a]}-{names[b]}"})
    return FaultSpec(sat=world.satellite_index(f.target), **common)


def fault_spec(world: ResolvedScenario, fault: Fault, origin: str = "console") -> FaultSpec:
    """The engine's :class:`~orbemu.engine.faults.FaultSpec` of a fault of ``world`` (names
    resolved to indices; :class:`~orbemu.errors.InputError` for an unknown name) — for faults
    added to a running emulation (:meth:`~orbemu.engine.emulation.Emulation.inject_fault`)."""
    return _fault_spec(world, fault, origin)


def _commands(world: ResolvedScenario) -> tuple[CommandSpec, ...]:
    sc = world.scenario
    start = int(world.start)
    out = []
    names = [str(x) for x in world.targets.names]
    for i, cmd in enumerate(sc.schedules):
        args = dict(cmd.args)
        if cmd.command == "capture" and "target" in args:
            name = str(args["target"])
            if name not in names:
                import difflib
                close = difflib.get_close_matches(name, names, n=1)
                hint = f" — did you mean {close[0]!r}?" if close else ""
                line = sc.line_of(("schedules", i, "args"))
                raise ScenarioError(f"capture target {name!r} is not a target of the scenario"
                                    f"{hint}", source=sc.source_path, line=line,
                                    field=f"schedules[{i}].args.target",
                                    fix="Name a target of the targets section")
            args["target"] = names.index(name)
        if cmd.command == "set_param":
            path = str(args.get("path", ""))
            if path != "network.gsl.min_elevation_deg":
                raise ScenarioError(f"set_param cannot change {path!r} during a run",
                                    source=sc.source_path, line=sc.line_of(("schedules", i)),
                                    field=f"schedules[{i}].args.path",
                                    fix="set_param supports network.gsl.min_elevation_deg")
        sats = tuple(int(x) for x in world.select_satellites(cmd.target))
        out.append(CommandSpec(time_ns=cmd.at.time_ns(start), sats=sats, command=cmd.command,
                               args=args, every_ns=cmd.every_ns, target=cmd.target))
    return tuple(out)


def _apps(world: ResolvedScenario, fleet: FleetSetup | None) -> AppsSetup | None:
    sc = world.scenario
    section = sc.apps
    if not section.entries:
        return None
    modelled = set(fleet.sats.tolist()) if fleet is not None else set()
    specs = []
    for i, e in enumerate(section.entries):
        path = ("apps", "entries", i)

        def fail(message: str, key: str, fix: str, path: tuple[object, ...] = path,
                 i: int = i) -> None:
            raise ScenarioError(message, source=sc.source_path, line=sc.line_of((*path, key)),
                                field=f"apps[{i}].{key}", fix=fix)

        sats = [int(x) for x in world.select_satellites(e.satellites)]
        if e.satellites.strip() in ("all", "*"):  # every modelled satellite
            sats = [x for x in sats if x in modelled]
        if not sats:
            fail(f"apps[{i}].satellites {e.satellites!r} selects no satellite", "satellites",
                 "Name satellites of the scenario (all, constellation:NAME, a name...)")
        outside = [s for s in sats if s not in modelled]
        if outside:
            fail(f"{world.elements.names[outside[0]]} (and {len(outside) - 1} more) is not a "
                 "modelled satellite: apps run on satellites with a spacecraft class",
                 "satellites", "Select satellites of an eo constellation or one with "
                               "spacecraft: CLASS")
        if e.network != "host" and e.runner != "process":
            fail(f"apps[{i}].network {e.network!r} is for apps in their own process", "network",
                 "Set runner: process, or network: host")
        if e.network != "host" and e.command and not any("{fd}" in c for c in e.command):
            fail(f"apps[{i}].command cannot reach its bus endpoint from network {e.network!r}",
                 "command", "Pass the connection the engine opens for it: {fd} in the command")
        if e.app and e.runner == "inprocess":
            try:
                load_app_class(e.app)
            except InputError as exc:
                fail(exc.message, "app",
                     "Give module:Class (importable) or file.py:Class")
        r, lim = e.restart, e.limits
        specs.append(AppSpec(
            app=e.app or "", sats=tuple(sats), runner=e.runner, name=e.name or "",
            command=tuple(e.command or ()), rate_hz=e.rate_hz, cpu_budget_ms=e.cpu_budget_ms,
            overrun=e.overrun, params=dict(e.params), images=e.images,
            restart=RestartPolicy(policy=r.policy, max_restarts=r.max_restarts,
                                  backoff_s=r.backoff_ns / 1e9,
                                  backoff_factor=r.backoff_factor),
            limits=ProcessLimits(memory_mb=lim.memory_mb, rss_mb=lim.rss_mb, cpu_s=lim.cpu_s,
                                 open_files=lim.open_files),
            tick_timeout_s=e.tick_timeout_ns / 1e9, start_timeout_s=e.start_timeout_ns / 1e9,
            hil=e.hil, host=e.bus.host, port=e.bus.port, network=e.network))
    return AppsSetup(tuple(specs), compute_duty=section.compute_duty,
                     cpu_scale=section.cpu_scale, tile_pixels=section.tile_pixels)


def emulation_setup(world: ResolvedScenario) -> EmulationSetup:
    """The engine's inputs for a resolved scenario (see the module notes)."""
    sc = world.scenario
    start = int(world.start)
    fleet = _fleet(world)
    stations = np.flatnonzero(world.ground.roles == "station").astype(np.int64)
    contacts = (ContactSetup(stations=stations, antennas=world.antennas[stations],
                             setup_s=world.setup_s[stations])
                if fleet is not None and stations.size else None)
    network = _network(world)
    scripted = set(id(f) for f in sc.faults.scripted)
    faults = [_fault_spec(world, f, "scripted" if id(f) in scripted else "random")
              for f in world.faults]
    if network is not None:
        plan, note = relay_isl_plan(network, world.elements.select(network.relay),
                                    Time(np.int64(start)))
        network = replace(network, isl_plan=plan, isl_plan_note=note)
        names = world.elements.names[network.relay]
        pair_names = [f"{names[a]},{names[b]}" for a, b in plan.pairs]
        for stream, spec in world.random_isl:
            drawn = sample_random_faults(spec, pair_names, sc.run.duration_ns, sc.fault_seed,
                                         stream=stream)
            faults += [_fault_spec(world, f, "random") for f in drawn]
    elif world.random_isl:
        raise ScenarioError("random ISL faults need a relay network",
                            source=sc.source_path, field="faults.random",
                            fix="Remove the isl entry or add a relay constellation")
    faults.sort(key=lambda f: (f.start_ns, f.kind, f.target))
    out = sc.outputs
    records = RecordSetup(streams=frozenset(out.record),
                          housekeeping_every_ns=out.housekeeping_every_ns,
                          checkpoint_every_ns=sc.run.checkpoint_every_ns,
                          commit_every_ns=out.commit_every_ns)
    const = np.array([c.name for c in sc.constellations], dtype=object)
    return EmulationSetup(
        name=sc.name, elements=world.elements, start_ns=start,
        duration_ns=sc.run.duration_ns, step_ns=sc.run.step_ns, ground=world.ground,
        roles=world.roles, constellation=const[world.constellation],
        class_name=world.spacecraft_class, fleet=fleet, contacts=contacts, network=network,
        faults=tuple(faults), commands=_commands(world), clock=sc.run.clock.mode,
        speed=sc.run.clock.speed, seed=sc.seed, records=records,
        scenario_text=sc.to_yaml(), scenario_source=sc.source_path or "",
        metadata={"description": sc.description}, apps=_apps(world, fleet))


def run_sink(run_dir: str | Path, scenario: Scenario, *, resume: bool = False) -> Sink:
    """The SQLite store of a run folder, committing every ``outputs.commit_every`` of simulated
    time (and at least every 5 s of wall time)."""
    from orbemu.store.sqlite import SQLiteSink

    steps = max(1, scenario.outputs.commit_every_ns // scenario.run.step_ns)
    return SQLiteSink(run_dir, commit_every_steps=steps, commit_interval_s=5.0, resume=resume)


def build_emulation(world: ResolvedScenario, sink: Sink, **kwargs: object) -> Emulation:
    """An :class:`~orbemu.engine.emulation.Emulation` of a resolved scenario writing to
    ``sink`` (keyword arguments go to the Emulation, e.g. ``wall=``)."""
    return Emulation(emulation_setup(world), sink, **kwargs)  # type: ignore[arg-type]


def resume_emulation(run_dir: str | Path, **kwargs: object) -> Emulation:
    """Continue the run in ``run_dir`` from its last checkpoint: the scenario as it was run is
    read back from the run's database, resolved and built again, and the state restored."""
    from orbemu.scenario.loader import parse_scenario_text
    from orbemu.store.query import query

    try:
        _, rows = query(run_dir, "SELECT scenario_text, scenario_source, status FROM runs "
                                 "ORDER BY run_id DESC LIMIT 1")
    except InputError:
        raise
    if not rows or not rows[0][0]:
        raise InputError(f"{run_dir} holds no scenario to resume", source=str(run_dir),
                         fix="Resume a folder written by orbemu run")
    text, source, status = rows[0]
    if status == "completed":
        raise InputError(f"the run in {run_dir} is complete: there is nothing to resume",
                         source=str(run_dir), fix="Start a new run with another --out folder")
    sc = parse_scenario_text(text, source=f"{run_dir} (scenario as run; from {source})")
    world = resolve_scenario(sc)
    sink = run_sink(run_dir, sc, resume=True)
    try:
        return Emulation.resume(emulation_setup(world), sink, **kwargs)  # type: ignore[arg-type]
    except BaseException:
        sink.close("failed")
        raise
