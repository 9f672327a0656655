"""``orbemu netemu``: live network emulation in Linux network namespaces (root).

::

    orbemu netemu up SCENARIO [--nodes SEL,SEL] [--run NAME] [--mode path|hop] [--start run|now|ISO]
                              [--update-interval 100ms] [--duration DUR] [--status-every 10s]
    orbemu netemu exec NODE [--run NAME] -- COMMAND [ARGS...]
    orbemu netemu status [--run NAME]
    orbemu netemu fault NODE down|up [--run NAME]
    orbemu netemu down [--run NAME | --all]

``up`` stays in the foreground, paced in real time, printing a status line now and then, until
Ctrl-C, ``--duration`` or ``orbemu netemu down``; it then removes everything it created.
Registered on the app of :mod:`orbemu.cli.main`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time as _time
from typing import Annotated, Any

import typer

from orbemu.cli.main import _err, _friendly, _info, _out, app
from orbemu.errors import InputError, UnavailableError
from orbemu.time import Time
from orbemu.units import format_duration_ns, parse_duration_ns

__all__ = ["RunNetwork", "netemu_app"]

netemu_app = typer.Typer(
    help="Live network emulation: real programs in network namespaces, packets carried with "
         "the emulated constellation's delay, capacity and outages (Linux, root).",
    no_args_is_help=True,
)
app.add_typer(netemu_app, name="netemu")

_RUN_HELP = "Run name (1-8 lower-case letters/digits); several runs may be up at once."


def _cmd(*args: Any, **kwargs: Any) -> Any:
    def register(fn: Any) -> Any:
        netemu_app.command(*args, **kwargs)(_friendly(fn))
        return fn
    return register


def _state_or_fail(run: str) -> dict[str, Any]:
    from orbemu.netemu.namespaces import load_state
    state = load_state(run)
    if state is None:
        raise InputError(f"no emulation run {run!r} is up", field="--run",
                         fix="Start one with `orbemu netemu up SCENARIO`, or name the run "
                             "with --run (see `orbemu netemu status`)")
    return state


def _status_line(status: dict[str, Any], *, updates: bool = True) -> str:
    stats = status.get("plane_stats") or {}
    c = stats.get("counters", {})
    late = stats.get("release_late_us", {})
    t = Time(int(status.get("emulated_now_ns", status.get("start_ns", 0))))
    return (f"{t.iso('s')}  packets in/out {c.get('rx_packets', 0)}/{c.get('tx_packets', 0)}"
            f"  dropped queue/loss/outage {c.get('drop_queue', 0)}/{c.get('drop_loss', 0)}/"
            f"{c.get('drop_outage', 0)}  release late p50/p99 {late.get('p50')}/"
            f"{late.get('p99')} µs  stale tables {c.get('stale_tables', 0)}"
            + (f"  route updates {status.get('updates', 0)} (mean "
               f"{status.get('update_ms_mean', 0.0):.1f} ms, max "
               f"{status.get('update_ms_max', 0.0):.1f} ms, skipped {status.get('skipped', 0)})"
               if updates else ""))


@_cmd("up")
def up_cmd(
    scenario: Annotated[str, typer.Argument(help="Scenario file or built-in name.")],
    nodes: Annotated[str | None, typer.Option(
        help="Nodes to emulate, comma-separated selectors: site:NAME, cloud:NAME, gateway:*, "
             "ground:NAME, sat:NAME (globs allowed). Default: the scenario's netemu.nodes, "
             "else the monitored endpoints.")] = None,
    run: Annotated[str, typer.Option(help=_RUN_HELP)] = "main",
    mode: Annotated[str | None, typer.Option(
        help="path (end-to-end delay per route) or hop (satellites forward).")] = None,
    start: Annotated[str | None, typer.Option(
        help="Emulated start: run (the scenario's), now, or an ISO UTC time.")] = None,
    update_interval: Annotated[str | None, typer.Option(
        help="Emulated time between route updates, e.g. 100ms, 1s.")] = None,
    duration: Annotated[str | None, typer.Option(
        help="Stop (and tear down) after this long, e.g. 10m. Default: until Ctrl-C.")] = None,
    status_every: Annotated[str, typer.Option(help="Status line interval, e.g. 10s.")] = "10s",
) -> None:
    """Build the namespaces and the packet plane, and run the emulation in real time."""
    from orbemu.netemu.addressing import check_run_name
    from orbemu.scenario import load_scenario, resolve_scenario
    from orbemu.scenario.emulation import live_emulation

    check_run_name(run)
    if mode is not None and mode not in ("path", "hop"):
        raise InputError(f"mode must be path or hop, got {mode!r}", field="--mode")
    interval_ns = (parse_duration_ns(update_interval, field="--update-interval")
                   if update_interval is not None else None)
    until_ns = parse_duration_ns(duration, field="--duration") if duration else None
    every_s = parse_duration_ns(status_every, field="--status-every") / 1e9
    world = resolve_scenario(load_scenario(scenario))
    built = live_emulation(world, run=run,
                           nodes=[s for s in nodes.split(",") if s.strip()] if nodes else None,
                           mode=mode, start=start, update_interval_ns=interval_ns)
    emu = built.emulator
    for note in built.notes:
        _info(note)
    _info(f"bringing up {len(built.nodes)} namespaces (run {run}, {emu.settings.mode} mode, "
          f"updates every {format_duration_ns(emu.interval_ns)}, emulated start "
          f"{built.start.iso('s')})")

    def _terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _terminate)
    t0 = _time.monotonic()
    try:
        emu.up()
        _info(f"up in {_time.monotonic() - t0:.1f} s")
        out = _out()
        shown = built.nodes if len(built.nodes) <= 40 else built.nodes[:40]
        for n in shown:
            out.print(f"{n.name:<28} {n.address:<15} {n.netns}", markup=False)
        if len(shown) < len(built.nodes):
            out.print(f"... and {len(built.nodes) - len(shown)} more (orbemu netemu status)",
                      markup=False)
        run_opt = f" --run {run}" if run != "main" else ""
        _info(f"run programs with: orbemu netemu exec NODE{run_opt} -- COMMAND   (Ctrl-C or "
              "`orbemu netemu down` to stop)")
        until = _time.monotonic() + until_ns / 1e9 if until_ns is not None else None
        emu.serve(until=until, report=lambda st: _info(_status_line(st)), every_s=every_s)
    except KeyboardInterrupt:
        _info("stopping")
    finally:
        with contextlib.suppress(Exception):
            _info(_status_line(emu.status()))
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # finish the teardown
        report = emu.down()
        signal.signal(signal.SIGTERM, previous)
        if report is not None:
            _info(f"removed {len(report.namespaces)} namespaces, "
                  f"{len(report.processes)} processes")


@netemu_app.command("exec", context_settings={"allow_extra_args": True,
                                              "ignore_unknown_options": True})
@_friendly
def exec_cmd(
    node: Annotated[str, typer.Argument(help="The node (its scenario name).")],
    command: Annotated[list[str], typer.Argument(help="-- COMMAND [ARGS...]")],
    run: Annotated[str, typer.Option(help=_RUN_HELP)] = "main",
) -> None:
    """Run a program inside a node's namespace (replaces this process)."""
    from orbemu.netemu.namespaces import ENV_RUN

    state = _state_or_fail(run)
    match = next((n for n in state["nodes"] if n["name"] == node), None)
    if match is None:
        names = [n["name"] for n in state["nodes"]]
        import difflib
        close = difflib.get_close_matches(node, names, n=3)
        raise InputError(f"run {run!r} has no node {node!r}", field="NODE",
                         fix=("Similar: " + ", ".join(close)) if close else
                         "See `orbemu netemu status` for the nodes")
    if not command:
        raise InputError("no command given", field="COMMAND",
                         fix=f"e.g. orbemu netemu exec {node} -- python3 -m "
                             "orbemu.netemu.tools ping OTHER_NODE")
    # this Python's bin first: `python3 -m orbemu.netemu.tools` and `orbemu` are the ones
    # of this installation inside the namespace too
    path = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
    env = {**os.environ, ENV_RUN: run, "ORBEMU_NETEMU_NODE": node, "PATH": path}
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvpe("ip", ["ip", "netns", "exec", match["netns"], *command], env)
    except OSError as exc:
        raise UnavailableError(f"cannot run ip netns exec: {exc}") from None


@netemu_app.command("tool", context_settings={"allow_extra_args": True,
                                              "ignore_unknown_options": True})
def tool_cmd(
    args: Annotated[list[str] | None, typer.Argument(
        help="ping DEST | tcp-sink | tcp-send DEST | udp-sink | udp-send DEST (see --help "
             "of each)")] = None,
) -> None:
    """Network tools for inside a node: ping, TCP transfer, UDP delay probe
    (`orbemu netemu exec NODE -- orbemu netemu tool ping OTHER`)."""
    from orbemu.netemu.tools import main as tools_main

    raise typer.Exit(tools_main(list(args or ["--help"])))


@_cmd("status")
def status_cmd(
    run: Annotated[str | None, typer.Option(help="One run (default: every run).")] = None,
) -> None:
    """Runs that are up: nodes, addresses, the plane's counters; leftovers of crashed runs."""
    from orbemu.netemu.emulator import read_stats
    from orbemu.netemu.namespaces import _runs_on_disk, find_leftovers, load_state

    out = _out()
    runs = [run] if run else _runs_on_disk()
    if not runs:
        out.print("no emulation is up", markup=False)
    for r in runs:
        state = load_state(r)
        if state is None:
            out.print(f"run {r}: not up", markup=False)
            continue
        stats = read_stats(r) or {}
        alive = _pid_alive(state.get("plane_pid"))
        out.print(f"run {r} ({state.get('label') or '?'}): {state.get('status')}, "
                  f"{state['mode']} mode, {len(state['nodes'])} nodes, plane "
                  f"{'running' if alive else 'NOT running'} (pid {state.get('plane_pid')}), "
                  f"since {state.get('created_utc')}", markup=False)
        if stats:
            st = {**state, "plane_stats": stats, "emulated_now_ns": stats.get("emulated_ns")}
            out.print("  " + _status_line(st, updates=False), markup=False)
        for n in state["nodes"][:40]:
            out.print(f"  {n['name']:<28} {n['address']:<15} {n['netns']}", markup=False)
        if len(state["nodes"]) > 40:
            out.print(f"  ... and {len(state['nodes']) - 40} more", markup=False)
        for f in (stats.get("flows") or [])[:10]:
            out.print(f"  flow {f['src']} -> {f['dst']}: {f['packets']} packets, "
                      f"{f['bytes']} bytes, delay {f['delay_ms']} ms, "
                      f"{'up' if f['up'] else 'NO ROUTE'}, dropped queue/loss/outage "
                      f"{f['drop_queue']}/{f['drop_loss']}/{f['drop_outage']}", markup=False)
    known = {r for r in runs if load_state(r) is not None}
    stray: dict[str, int] = {}
    for left in find_leftovers(run):
        if left.run not in known:
            stray[left.run] = stray.get(left.run, 0) + 1
    for r, count in sorted(stray.items()):
        out.print(f"leftovers of run {r}: {count} marked namespaces (no state file): "
                  f"`orbemu netemu down --run {r}` removes them", markup=False)


def _pid_alive(pid: Any) -> bool:
    if not isinstance(pid, int):
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


@_cmd("fault")
def fault_cmd(
    node: Annotated[str, typer.Argument(help="The node (its scenario name).")],
    state_: Annotated[str, typer.Argument(metavar="down|up", help="down or up")],
    run: Annotated[str, typer.Option(help=_RUN_HELP)] = "main",
) -> None:
    """Force a node unreachable now (down), or give it back to the model (up)."""
    from orbemu.netemu.namespaces import run_dir
    from orbemu.netemu.tables import RouteTables

    if state_ not in ("down", "up"):
        raise InputError(f"expected down or up, got {state_!r}", field="STATE")
    state = _state_or_fail(run)
    names = [n["name"] for n in state["nodes"]]
    if node not in names:
        raise InputError(f"run {run!r} has no node {node!r}", field="NODE")
    tables = RouteTables.open(os.path.join(run_dir(run), "tables"))
    try:
        tables.down[names.index(node)] = 1 if state_ == "down" else 0
    finally:
        tables.close()
    _info(f"{node}: {'forced down' if state_ == 'down' else 'back to the model'}")


@_cmd("down")
def down_cmd(
    run: Annotated[str, typer.Option(help=_RUN_HELP)] = "main",
    all_runs: Annotated[bool, typer.Option("--all", help="Every run, including leftovers of "
                                           "crashed ones (found by their markers).")] = False,
) -> None:
    """Stop a run and remove everything it created (also after a crash)."""
    from orbemu.netemu._sys import NETNS_DIR, check_capabilities
    from orbemu.netemu.namespaces import load_state, teardown

    if os.geteuid() != 0:
        check_capabilities()
    runs: list[str | None] = [None] if all_runs else [run]
    total_ns = total_p = 0
    for r in runs:
        state = load_state(r) if r is not None else None
        pids = []
        before: set[str] = set()
        if state is not None:
            before = {n["netns"] for n in state.get("nodes", [])
                      if os.path.exists(os.path.join(NETNS_DIR, n["netns"]))}
            ctrl = state.get("controller_pid")
            if isinstance(ctrl, int) and ctrl != os.getpid() and _same_process(state):
                # ask the foreground `up` (or `run`) to tear down itself, then sweep
                with contextlib.suppress(OSError):
                    os.kill(ctrl, signal.SIGTERM)
                    total_p += 1
                deadline = _time.monotonic() + 15.0
                while _pid_alive(ctrl) and _time.monotonic() < deadline:
                    _time.sleep(0.05)
                if _pid_alive(ctrl):
                    pids.append(ctrl)
                    total_p -= 1
        report = teardown(r, extra_pids=pids)
        gone = {n for n in before if not os.path.exists(os.path.join(NETNS_DIR, n))}
        total_ns += len(gone | set(report.namespaces))
        total_p += len(report.processes)
        for name in report.unmarked:
            _err().print(f"warning: {name} is listed in the state file but carries no "
                         "orbemu marker: left alone", markup=False, style="yellow")
        for e in report.errors:
            _err().print(f"warning: {e}", markup=False, style="yellow")
    _info(f"removed {total_ns} namespaces and stopped {total_p} processes")


def _same_process(state: dict[str, Any]) -> bool:
    """Whether the controller pid in the state file is still that process (not a reused pid):
    its start time matches the one recorded."""
    from orbemu.netemu.namespaces import process_start_ticks
    pid = state.get("controller_pid")
    ticks = state.get("controller_start_ticks")
    return isinstance(pid, int) and ticks is not None and process_start_ticks(pid) == ticks


# ---- `orbemu run` with a netemu: section ------------------------------------------------------
class RunNetwork:
    """The live network of an ``orbemu run`` whose scenario has a ``netemu:`` section: the
    namespaces and the plane come up before the run, the emulation clock is tied to the
    engine's (emulated ``run.start`` is due when the engine's clock says so), and everything is
    removed when the run ends. The engine must run in real time (``clock: realtime``): real
    programs live in real time."""

    def __init__(self, built: Any, info: Any) -> None:
        self.built = built
        self.info = info
        self._started = False

    @classmethod
    def attach(cls, sc: Any, world: Any, info: Any, out: Any) -> RunNetwork | None:
        """Bring the live network of ``sc`` up (clock not started), or None without a
        ``netemu:`` section."""
        if sc.netemu is None:
            return None
        from orbemu.scenario.emulation import live_emulation

        if sc.run.clock.mode != "realtime":
            raise InputError(
                f"the scenario has a netemu: section (live network emulation) but runs with "
                f"clock {sc.run.clock}", field="run.clock",
                fix="Real programs need real time: set run.clock: realtime (or --speed "
                    "realtime), or remove the netemu: section and use `orbemu netemu up`")
        built = live_emulation(world, run="main", start="run")
        for note in built.notes:
            info(f"  netemu: {note}")
        info(f"live network: bringing up {len(built.nodes)} namespaces "
             f"({built.emulator.settings.mode} mode)")
        built.emulator.up(start_clock=False)
        for n in built.nodes[:40]:
            out.print(f"  {n.name:<28} {n.address:<15} {n.netns}", markup=False)
        info("run programs with: orbemu netemu exec NODE -- COMMAND")
        return cls(built, info)

    def progress(self, emulation: Any, inner: Any = None) -> Any:
        """A progress callback for ``Emulation.run`` that starts the emulation clock on the
        engine's first step (then calls ``inner``)."""
        def call(status: Any) -> None:
            if not self._started:
                self._started = True
                start = int(self.built.start.ns)
                self.built.emulator.start_clock(emulation.clock.due_ns(start))
            self.built.emulator.check()
            if inner is not None:
                inner(status)
        return call

    def close(self) -> None:
        report = self.built.emulator.down()
        if report is not None:
            self.info(f"live network: removed {len(report.namespaces)} namespaces, "
                      f"{len(report.processes)} processes")
