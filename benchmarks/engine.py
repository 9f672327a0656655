"""The emulation engine: 1,000 satellites, 50 stations, 10 monitored pairs, a day at 10 s steps.

    python -m benchmarks.engine [--hours 24] [--realtime-s 30] [--profile]

One 1,000-satellite Walker delta shell (25 planes × 40, 53°, 550 km) is both the modelled fleet
(power, storage, attitude, imager and radio models: the default spacecraft class; the 20
bundled EO targets) and the relay network (+Grid ISLs). 50 ground stations (the first 50 of the
bundled commercial networks) take scheduled contacts (greedy plan over the whole window;
housekeeping and images go down as CCSDS packets); 10 endpoint pairs between 20 of the largest
cities are routed every 60 s (every visible satellite above 25° usable). Housekeeping every
60 s goes to the SQLite store in a temporary folder, as ``orbemu run`` writes it.

Timed: building the emulation (contact windows + plan, ISL plan), then the run at ``max`` clock.
Baselines in the same run: the fleet models alone (``Environment`` + ``step_fleet`` over the
same steps, positions precomputed) — the floor the engine adds its loop, contacts, detectors,
network and records to; and the target of one simulated day in 60 s (1,440× real time).

Real-time mode: the same world paced at 1× with 100 ms steps (10 steps/s) for
``--realtime-s`` seconds; lateness p50/p99 and overruns are reported with the machine's load.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import replace

import numpy as np

from orbemu import Time, load_ground_nodes, walker_delta
from orbemu.constants import NS_PER_S
from orbemu.engine import Emulation, MemorySink
from orbemu.engine.config import (
    ContactSetup,
    EmulationSetup,
    FleetSetup,
    NetworkSetup,
    RecordSetup,
)
from orbemu.orbits.ground_nodes import GroundNodes
from orbemu.spacecraft import SpacecraftClass, Targets
from orbemu.store import SQLiteSink

S = NS_PER_S
START = Time.parse("2026-06-01T00:00:00Z")


def world(hours: float, step_s: float = 10.0) -> EmulationSetup:
    el = walker_delta(25, 40, 1, inclination_deg=53.0, altitude_m=550e3,
                      epoch="2026-06-01T00:00:00Z", name_prefix="SAT")
    n = len(el)
    stations = load_ground_nodes("commercial").select(np.arange(50)).with_min_elevation(10.0)
    cities = load_ground_nodes("cities-top100").select(np.arange(20)).with_min_elevation(25.0)
    cities = GroundNodes.from_arrays([str(x) for x in cities.names], cities.lat_deg,
                                     cities.lon_deg, min_elevation_deg=25.0, roles="site")
    ground = GroundNodes.concat([stations, cities], source="benchmark")
    import csv
    from importlib import resources
    rows = list(csv.DictReader(resources.files("orbemu.scenario").joinpath(
        "builtin/eo-targets.csv").read_text().splitlines()))
    targets = Targets.from_arrays([r["name"] for r in rows], [float(r["lat_deg"]) for r in rows],
                                  [float(r["lon_deg"]) for r in rows],
                                  priority=[float(r["priority"]) for r in rows],
                                  revisit_s=6 * 3600.0)
    sites = np.arange(50, 70)
    pairs = tuple((int(sites[i]), int(sites[i + 10])) for i in range(10))
    names = ground.names
    labels = tuple((f"site:{names[a]}", f"site:{names[b]}") for a, b in pairs)
    roles = np.empty(n, dtype=object)
    roles[:] = "relay"
    step_ns = round(step_s * S)
    duration = round(hours * 3600 / step_s) * step_ns
    return EmulationSetup(
        name="bench-engine", elements=el, start_ns=int(START), duration_ns=duration,
        step_ns=step_ns, ground=ground, roles=roles,
        fleet=FleetSetup(sats=np.arange(n), classes=(SpacecraftClass(),),
                         class_index=np.zeros(n, np.int64), targets=targets),
        contacts=ContactSetup(stations=np.arange(50), antennas=np.ones(50, np.int64),
                              setup_s=np.full(50, 60.0)),
        network=NetworkSetup(relay=np.arange(n), nodes=sites, monitor=pairs,
                             monitor_labels=labels, interval_ns=60 * S, isl_max_range_m=np.inf,
                             gsl_policy="all", gsl_per_node=None),
        records=RecordSetup(housekeeping_every_ns=60 * S), seed=1)


def fleet_only(setup: EmulationSetup, steps: int) -> float:
    """Seconds for ``Environment`` + ``step_fleet`` over ``steps`` steps (positions and the
    Sun precomputed outside the timing)."""
    from orbemu.engine.positions import StateStream, SunTable
    from orbemu.spacecraft import Commands, Environment, FleetParams, FleetState, step_fleet

    fl = setup.fleet
    assert fl is not None
    params = FleetParams.from_classes(fl.classes, fl.class_index, targets=fl.targets)
    state = FleetState.initial(params, setup.start_ns)
    stream = StateStream(setup.elements, setup.start_ns, setup.step_ns, steps + 1)
    sun = SunTable(setup.start_ns, setup.step_ns, steps + 1)
    rv = [stream.at(k) for k in range(steps)]
    suns = [sun.at(k) for k in range(steps)]
    cmds = Commands.default(params.n_sats)
    dt = setup.step_ns / S
    t = time.perf_counter()
    for k in range(steps):
        env = Environment.compute(setup.start_ns + k * setup.step_ns, *rv[k],
                                  sun_itrf=suns[k][0], sun_distance_m=suns[k][1])
        state, _ = step_fleet(state, params, env, dt, cmds)
    return time.perf_counter() - t


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--realtime-s", type=float, default=30.0)
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args(argv)
    load0 = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}")
    # warm the compiled kernels on a short run
    Emulation(world(0.1), MemorySink()).run()

    setup = world(args.hours)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        sink = SQLiteSink(tmp, commit_every_steps=60)
        emu = Emulation(setup, sink)
        t_build = time.perf_counter() - t0
        prof = None
        if args.profile:
            import cProfile
            prof = cProfile.Profile()
            prof.enable()
        t1 = time.perf_counter()
        summary = emu.run()
        t_run = time.perf_counter() - t1
        if prof is not None:
            import pstats
            prof.disable()
            pstats.Stats(prof).sort_stats("tottime").print_stats(25)
        size = os.path.getsize(os.path.join(tmp, "telemetry.sqlite")) / 1e6
    sim_s = setup.duration_ns / S
    steps = setup.n_steps
    print(f"world: {len(setup.elements)} satellites (all modelled, all relay), 50 stations, "
          f"10 pairs; {args.hours:g} h at {setup.step_ns / S:g} s ({steps} steps)")
    print(f"build (contact windows + greedy plan of {summary.contacts_planned} contacts, "
          f"ISL plan): {t_build:.1f} s")
    print(f"run: {t_run:.1f} s = {t_run / steps * 1e3:.2f} ms/step, {sim_s / t_run:,.0f}× real "
          f"time; build + run {t_build + t_run:.1f} s ({sim_s / (t_build + t_run):,.0f}×)")
    print(f"  records: {summary.events_by_kind.get('capture', 0)} images, "
          f"{sum(summary.events_by_kind.values()):,} events, "
          f"{summary.contacts['completed']} contacts, {summary.down_bits / 8e9:.1f} GB down, "
          f"database {size:.0f} MB")
    base_steps = min(steps, 1440)
    t_fleet = fleet_only(setup, base_steps) * steps / base_steps
    target = sim_s / 1440.0
    print(f"baseline fleet models only (Environment + step_fleet): {t_fleet:.1f} s "
          f"({t_fleet / steps * 1e3:.2f} ms/step); engine / fleet-only = {t_run / t_fleet:.1f}×")
    print(f"target ≤ {target:.0f} s (1,440× real time): run {'✔' if t_run <= target else '✘'} "
          f"({t_run / target:.2f} of it); build + run "
          f"{'✔' if t_build + t_run <= target else '✘'} ({(t_build + t_run) / target:.2f})")

    if args.realtime_s > 0:
        rt = replace(world(args.realtime_s / 3600.0 + 0.01, step_s=0.1), clock="realtime")
        rt = replace(rt, duration_ns=round(args.realtime_s * 10) * rt.step_ns,
                     records=RecordSetup(housekeeping_every_ns=10 * S))
        with tempfile.TemporaryDirectory() as tmp:
            emu = Emulation(rt, SQLiteSink(tmp, commit_every_steps=100))
            s = emu.run()
        c = s.clock
        load1 = os.getloadavg()
        print(f"real time, 100 ms steps (10 steps/s), {rt.n_steps} steps: lateness p50 "
              f"{c.lateness_p50_ms:.3f} ms, p99 {c.lateness_p99_ms:.3f} ms, max "
              f"{c.lateness_max_ms:.2f} ms; {c.overruns} overruns; achieved {c.speed:.4f}×; "
              f"target p99 ≤ 5 ms {'✔' if c.lateness_p99_ms <= 5 else '✘'}; load "
              f"{load1[0]:.2f}")


if __name__ == "__main__":
    main()
