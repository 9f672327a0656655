"""Flight software: 1,000 in-process apps, 100 app processes in lockstep, a crash and its restart.

    python -m benchmarks.fsw [--minutes 10] [--process-minutes 5] [--processes 100]

World: a 1,000-satellite Walker delta shell (25 planes × 40, 53°, 550 km), every satellite
modelled (the default spacecraft class: power, storage, attitude, imager), 1 s steps, records in
the SQLite store (housekeeping every 60 s, telemetry points, events), ``max`` clock.

1. **In process**: every satellite runs :class:`orbemu.fsw.examples.Heartbeat` at 1 Hz (a
   telemetry point every tick, the state of charge, latitude and height every 10th: ~1.3 points a
   tick). Baseline in the same run: the same world without apps. Target ≥ 100× real time.
2. **Out of process**: the first ``--processes`` satellites each run the same app in its own OS
   process (the reference Python client over the bus: CCSDS packets on TCP, lockstep every
   step). Start-up (spawn, connect, on_start) is timed apart. Baseline: the same apps in
   process. Target ≥ 10× real time (for scale: NASA NOS3 runs 8 spacecraft with full flight
   software at 0.22× real time).
3. **Crash**: among them, one app kills itself (``os._exit``) at tick 30 after publishing;
   measured: emulated downtime until it runs again, wall time of the restart, telemetry kept.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import replace
from typing import Any

import numpy as np

from orbemu import Time, walker_delta
from orbemu.constants import NS_PER_S
from orbemu.engine import Emulation
from orbemu.engine.config import EmulationSetup, FleetSetup, RecordSetup
from orbemu.fsw import App, AppSpec, AppsSetup
from orbemu.fsw.app import AppContext
from orbemu.orbits.ground_nodes import GroundNodes
from orbemu.spacecraft import SpacecraftClass, Targets
from orbemu.store import SQLiteSink

S = NS_PER_S
START = int(Time.parse("2026-06-01T00:00:00Z"))


class CrashOnce(App):
    """Publishes every tick; its first life ends (os._exit) at tick 30 after publishing."""

    rate_hz = 1.0
    cpu_budget_ms = 5.0

    def on_tick(self, ctx: AppContext) -> None:
        ctx.telemetry("alive", float(ctx.tick))
        if ctx.restarts == 0 and ctx.tick == 30:
            ctx.telemetry("last_words", float(ctx.tick))
            os._exit(9)


def world(minutes: float) -> EmulationSetup:
    el = walker_delta(25, 40, 1, inclination_deg=53.0, altitude_m=550e3,
                      epoch="2026-06-01T00:00:00Z", name_prefix="SAT")
    n = len(el)
    return EmulationSetup(
        name="bench-fsw", elements=el, start_ns=START, duration_ns=round(minutes * 60) * S,
        step_ns=S, ground=GroundNodes.from_arrays(["nowhere"], [0.0], [0.0]),
        fleet=FleetSetup(sats=np.arange(n), classes=(SpacecraftClass(),),
                         class_index=np.zeros(n, np.int64), targets=Targets.empty()),
        records=RecordSetup(housekeeping_every_ns=60 * S, commit_every_ns=600 * S))


def timed_run(setup: EmulationSetup, apps: AppsSetup | None) -> tuple[float, float, Any, Any]:
    """(build + start-up s, run s, summary, emulation) in a temporary run folder."""
    with tempfile.TemporaryDirectory() as d:
        sink = SQLiteSink(d, commit_every_steps=600)
        t0 = time.perf_counter()
        emu = Emulation(replace(setup, apps=apps), sink)
        startup = [0.0]
        if emu.apps is not None:
            host_start = emu.apps.start

            def start(t: int) -> Any:
                a = time.perf_counter()
                out = host_start(t)
                startup[0] = time.perf_counter() - a
                return out

            emu.apps.start = start  # type: ignore[method-assign]
        t1 = time.perf_counter()
        summary = emu.run()
        t2 = time.perf_counter()
        return t1 - t0 + startup[0], t2 - t1 - startup[0], summary, emu


def report(label: str, sim_s: float, run_s: float, extra: str = "") -> None:
    print(f"  {label:<44} {run_s:7.2f} s   {sim_s / run_s:9,.0f}× real time{extra}",
          flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0, help="in-process run (emulated)")
    ap.add_argument("--process-minutes", type=float, default=5.0)
    ap.add_argument("--processes", type=int, default=100)
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")

    # 1. in process
    setup = world(args.minutes)
    n = len(setup.elements)
    sim = args.minutes * 60
    print(f"1. {n:,} satellites, in-process app at 1 Hz, 1 s steps, {sim:,.0f} s emulated")
    timed_run(world(0.5), None)  # warm-up: numba caches, SGP4
    _, base, _, _ = timed_run(setup, None)
    report("baseline: the engine, no apps", sim, base)
    beat = AppsSetup((AppSpec("orbemu.fsw.examples:Heartbeat", sats=tuple(range(n)),
                              params={"state_every": 10}),))
    _, run, summary, _ = timed_run(setup, beat)
    ticks = summary.fsw["ticks"]
    report(f"{n:,} Heartbeat apps in process", sim, run,
           f"  ({ticks:,} ticks, {(run - base) / ticks * 1e6:.1f} µs a tick over the engine;"
           f" target ≥ 100×)")

    # 2. out of process, lockstep
    k = args.processes
    psetup = world(args.process_minutes)
    psim = args.process_minutes * 60
    print(f"2. {k} apps each in its own process, lockstep every 1 s step, {psim:,.0f} s "
          "emulated")
    local = AppsSetup((AppSpec("orbemu.fsw.examples:Heartbeat", sats=tuple(range(k)),
                               params={"state_every": 10}),))
    _, lbase, _, _ = timed_run(psetup, local)
    report(f"baseline: the same {k} apps in process", psim, lbase)
    proc = AppsSetup((AppSpec("orbemu.fsw.examples:Heartbeat", sats=tuple(range(k)),
                              runner="process", params={"state_every": 10}),))
    startup, prun, psummary, _ = timed_run(psetup, proc)
    report(f"{k} app processes (lockstep)", psim, prun,
           f"  ({prun / (psim) * 1e3:.1f} ms a step; start-up {startup:.1f} s; target ≥ 10×;"
           f" NOS3: 0.22× for 8)")
    assert psummary.fsw["faults"] == 0, psummary.fsw

    # 3. a crash among them
    crash = AppsSetup((
        AppSpec("orbemu.fsw.examples:Heartbeat", sats=tuple(range(1, k)), runner="process",
                params={"state_every": 10}),
        AppSpec("benchmarks.fsw:CrashOnce", sats=(0,), runner="process")))
    cset = world(1.0)
    with tempfile.TemporaryDirectory() as d:
        sink = SQLiteSink(d)
        emu = Emulation(replace(cset, apps=crash), sink)
        stamps = [time.perf_counter()]
        emu.run(progress=lambda _status: stamps.append(time.perf_counter()))
        wall = stamps[-1] - stamps[0]
        steps = np.diff(stamps)
        from orbemu.store.query import query
        _, ev = query(d, "SELECT time_ns, kind, detail FROM events WHERE kind LIKE 'app_%' "
                         "AND kind NOT IN ('app_start', 'app_stop') ORDER BY time_ns")
        _, pts = query(d, "SELECT time_ns, value FROM telemetry_named WHERE key = 'last_words'")
        _, alive = query(d, "SELECT COUNT(*) FROM telemetry_named WHERE key = 'alive'")
    import json
    print(f"3. one of {k} app processes crashes at tick 30 (os._exit after publishing); 60 s "
          f"emulated in {wall:.1f} s")
    for t_ns, kind, detail in ev:
        d_ = json.loads(detail)
        info = {key: d_[key] for key in ("cause", "exit_code", "down_s", "attempt") if key in d_}
        print(f"     {(t_ns - START) / 1e9:5.1f} s  {kind:<12} {info}")
    print(f"     telemetry published before the crash kept: {pts}; 'alive' points: "
          f"{alive[0][0]} of 60 ticks")
    steps = steps[1:]  # the first includes the start of the 100 processes
    slow = int(np.argmax(steps)) + 1
    print(f"     wall time of a step: median {1e3 * np.median(steps):.1f} ms; the slowest "
          f"(step {slow}, the restart: a new process, connected, on_start): "
          f"{1e3 * steps[slow - 1]:.0f} ms")


if __name__ == "__main__":
    main()
