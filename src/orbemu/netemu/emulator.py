"""The controller of a live emulation: namespaces up, route tables paced in real time, down.

::

    sim = NetworkSimulation(elements, ground, NetworkConfig(gsl_capacity=20e6))
    nodes = select_nodes(elements, ground, ["site:london", "site:new-york"], run="a1")
    with Emulator(sim, nodes, start=Time.parse("2026-01-01T00:00:00Z"), run="a1") as emu:
        emu.exec("london", ["python3", "-m", "orbemu.netemu.tools", "ping", "new-york"])

:meth:`Emulator.up` checks the machine (:class:`~orbemu.errors.UnavailableError` saying what is
missing), writes the run's state file, creates one namespace per node
(:mod:`~orbemu.netemu.namespaces`), computes the first route tables, starts the emulation clock
and the packet plane (:mod:`~orbemu.netemu.plane`), and starts a thread that keeps the tables
ahead of the clock: every ``update_interval`` of emulated time (default 100 ms) one network
step of the simulation (:meth:`~orbemu.network.NetworkSimulation.steps`: positions, links,
topology, failures) and shortest paths from every emulated node
(:func:`~orbemu.network.shortest_paths`) give

- path mode: the one-way delay and bottleneck rate of the current route between every pair of
  emulated nodes (inf = no route: an outage);
- hop mode: the delay and capacity of every direct link between emulated nodes, and, unless
  ``routing="none"``, the kernel routes of every namespace toward the emulated ground nodes (next
  hops from the same shortest paths; changed entries only, over rtnetlink).

:meth:`Emulator.down` stops the thread and the plane and removes every namespace; a crashed
run is removed by :func:`~orbemu.netemu.namespaces.teardown` from its markers.

Real time: emulated instant = ``start`` + monotonic time since the clock started × ``speed``
(1: real time, what real programs need). If a step takes longer than the interval the plane keeps
the newest table it has (counted as ``stale_tables``) and the controller skips ahead.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fnmatch
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from orbemu.errors import InputError, OrbemuError, UnavailableError, UsageError
from orbemu.netemu import _netlink, _sys
from orbemu.netemu._kernels import tree_bottleneck_bps
from orbemu.netemu.addressing import DEFAULT_PREFIX, AddressPlan, EmulatedNode, check_run_name
from orbemu.netemu.namespaces import (
    ENV_RUN,
    create_namespaces,
    load_state,
    process_start_ticks,
    run_dir,
    save_state,
    teardown,
    write_hosts_files,
)
from orbemu.netemu.plane import DEVICE, PlaneSettings
from orbemu.netemu.tables import RouteTables
from orbemu.network.routing import shortest_paths
from orbemu.network.simulation import NetworkSimulation, NetworkStep
from orbemu.network.topology import Topology
from orbemu.orbits.elements import ElementSet
from orbemu.orbits.ground_nodes import GroundNodes
from orbemu.time import Time

__all__ = ["Emulator", "NetemuSettings", "select_nodes"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Instants computed per position chunk (a new chunk restarts the step generator).
_CHUNK_INSTANTS = 600


@dataclass(frozen=True)
class NetemuSettings:
    """How a live emulation runs.

    mode: ``path`` (default: every pair of nodes gets its route's end-to-end delay and
        bottleneck) or ``hop`` (every link between emulated nodes gets its own delay; packets
        cross the satellites' namespaces, which forward with kernel routing).
    update_interval_ns: emulated time between two route tables (≤ 100 ms for the issue's
        accuracy; 1 s is plenty for thousands of nodes).
    speed: emulated seconds per real second (1: real time).
    routing: hop mode only: ``static`` (install the model's routes toward the ground nodes in
        every namespace) or ``none`` (leave routing to the user's daemons).
    prefix: the emulation network (:mod:`~orbemu.netemu.addressing`).
    plane: the packet plane's settings (queue, loss, outage behaviour, MTU...).
    slots: route tables kept in the ring (≥ 3): how far ahead the controller may compute.
    """

    mode: Literal["path", "hop"] = "path"
    update_interval_ns: int = 100_000_000
    speed: float = 1.0
    routing: Literal["static", "none"] = "static"
    prefix: str = DEFAULT_PREFIX
    plane: PlaneSettings = field(default_factory=PlaneSettings)
    slots: int = 4

    def __post_init__(self) -> None:
        if self.mode not in ("path", "hop"):
            raise UsageError(f"mode must be 'path' or 'hop', got {self.mode!r}")
        if self.routing not in ("static", "none"):
            raise UsageError(f"routing must be 'static' or 'none', got {self.routing!r}")
        if self.update_interval_ns <= 0 or self.speed <= 0 or self.slots < 3:
            raise UsageError("update_interval_ns and speed must be > 0, slots ≥ 3")
        if self.plane.mode != self.mode:
            object.__setattr__(self, "plane", PlaneSettings(**{**asdict(self.plane),
                                                               "mode": self.mode}))
        AddressPlan(self.prefix)


# ---- node selection --------------------------------------------------------------------------
_GROUND_KINDS = {"site": "site", "cloud": "cloud", "station": "station", "gateway": "gateway",
                 "pop": "pop", "city": "city", "terminal": "terminal"}


def select_nodes(elements: ElementSet, ground: GroundNodes, selectors: Sequence[str], *,
                 run: str = "main", prefix: str = DEFAULT_PREFIX,
                 sat_numbers: npt.ArrayLike | None = None,
                 ground_numbers: npt.ArrayLike | None = None) -> list[EmulatedNode]:
    """The emulated nodes named by ``selectors``, in order, without repeats.

    A selector is ``ground:PATTERN`` (any ground node), ``ROLE:PATTERN`` (ground nodes of a
    role: site, cloud, station, gateway, pop, city, terminal), ``sat:PATTERN`` (satellites by
    name or catalog number) or a bare ``PATTERN`` (ground nodes, else satellites); ``PATTERN``
    is a name or a glob (``gateway:*``, ``sat:STARLINK-1*``).

    ``sat_numbers``/``ground_numbers``: each node's number in the whole scenario when
    ``elements``/``ground`` are a subset of it (addresses and namespace names come from these
    numbers, so a node keeps its address whatever subset is emulated); default: the index.
    """
    run = check_run_name(run)
    plan = AddressPlan(prefix)
    gnames = [str(n) for n in ground.names]
    roles = [str(r) for r in ground.roles]
    snames = [str(n) for n in elements.names]
    ids = [str(int(i)) for i in elements.norad_ids]
    chosen: list[tuple[str, int]] = []
    seen: set[tuple[str, int]] = set()
    for sel in selectors:
        kind, sep, pattern = sel.partition(":")
        if not sep:
            kind, pattern = "", sel
        kind = kind.strip().lower()
        pattern = pattern.strip()
        hits: list[tuple[str, int]] = []
        if kind in ("", "ground") or kind in _GROUND_KINDS:
            role = _GROUND_KINDS.get(kind)
            hits = [("ground", g) for g, name in enumerate(gnames)
                    if (role is None or roles[g] == role) and fnmatch.fnmatchcase(name, pattern)]
        if kind == "sat" or (kind == "" and not hits):
            hits = [("sat", s) for s, name in enumerate(snames)
                    if fnmatch.fnmatchcase(name, pattern) or ids[s] == pattern]
        if kind not in ("", "ground", "sat") and kind not in _GROUND_KINDS:
            raise InputError(f"node selector {sel!r}: unknown kind {kind!r}", field="nodes",
                             fix="Write ground:NAME, sat:NAME or ROLE:NAME with ROLE one of "
                                 + ", ".join(_GROUND_KINDS))
        if not hits:
            pool = snames if kind == "sat" else gnames
            import difflib
            close = difflib.get_close_matches(pattern, pool, n=3, cutoff=0.5)
            hint = f" Similar: {', '.join(close)}." if close else ""
            raise InputError(f"node selector {sel!r} matches no node", field="nodes",
                             fix=f"Use a name of the scenario's ground nodes or satellites "
                                 f"(globs allowed).{hint}")
        for h in hits:
            if h not in seen:
                seen.add(h)
                chosen.append(h)
    nodes = []
    names_used: set[str] = set()
    for kind_, idx in chosen:
        name = gnames[idx] if kind_ == "ground" else snames[idx]
        if name in names_used:  # a satellite named like a ground node: keep both reachable
            name = f"{name}#{kind_}{idx}"
        names_used.add(name)
        numbers = sat_numbers if kind_ == "sat" else ground_numbers
        number = int(np.asarray(numbers)[idx]) if numbers is not None else idx
        nodes.append(plan.node(run, kind_, idx, name, number))  # type: ignore[arg-type]
    return nodes


# ---- the controller ---------------------------------------------------------------------------
class Emulator:
    """A live emulation of ``nodes`` over ``simulation``, starting at emulated ``start``.

    See the module notes. Use as a context manager (``up`` on entry, ``down`` on exit) or call
    :meth:`up` / :meth:`down` yourself. Call :meth:`up` from a thread that outlives the
    emulation (the main thread): the plane is told to stop when the thread that started it
    exits (``PR_SET_PDEATHSIG``), so a crashed controller never leaves a plane running.
    ``on_update(k, step, delay_s, rate_bps)`` (optional) is called from the update thread after
    each table is written.
    """

    def __init__(self, simulation: NetworkSimulation, nodes: Sequence[EmulatedNode], *,
                 start: Time, run: str = "main", settings: NetemuSettings | None = None,
                 label: str = "") -> None:
        self.sim = simulation
        self.nodes = list(nodes)
        if not self.nodes:
            raise UsageError("an emulation needs at least one node")
        names = [n.name for n in self.nodes]
        if len(set(names)) != len(names):
            raise UsageError("emulated node names must be unique")
        self.run = check_run_name(run)
        self.settings = settings if settings is not None else NetemuSettings()
        self.addresses = AddressPlan(self.settings.prefix)
        self.start = Time(int(Time(start).ns))
        self.label = label
        n_sats = simulation.n_sats
        self.topo_nodes = np.array([n.topology_node(n_sats) for n in self.nodes], np.int64)
        for n in self.nodes:
            limit = n_sats if n.kind == "sat" else simulation.n_ground
            if not 0 <= n.index < limit:
                raise UsageError(f"node {n.name}: {n.kind} index {n.index} out of range")
        self._index = {n.name: i for i, n in enumerate(self.nodes)}
        self.tables: RouteTables | None = None
        self.plane: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._state: dict[str, Any] = {}
        self.updates = 0
        self.skipped = 0
        self.update_s_max = 0.0
        self.update_s_sum = 0.0
        self.last_step: NetworkStep | None = None
        self.on_update: Any = None
        self._routing: _KernelRoutes | None = None
        self._is_up = False
        self._mono0 = 0

    # ---- names ---------------------------------------------------------------------------
    def node(self, name: str) -> EmulatedNode:
        """The emulated node called ``name`` (:class:`InputError` listing the names)."""
        try:
            return self.nodes[self._index[name]]
        except KeyError:
            raise InputError(f"no emulated node {name!r}", field="node",
                             fix="Emulated nodes: " + ", ".join(list(self._index)[:20])) \
                from None

    @property
    def interval_ns(self) -> int:
        return self.settings.update_interval_ns

    # ---- the model's tables ----------------------------------------------------------------
    def _tables_of(self, step: NetworkStep) -> tuple[FloatArray, FloatArray]:
        topo = step.topology
        if self.settings.mode == "hop":
            return _link_tables(topo, self.topo_nodes)
        return _path_tables(topo, self.topo_nodes, self.sim)

    def tables_at(self, times: Time) -> Iterator[tuple[Time, FloatArray, FloatArray]]:
        """``(time, delay_s, rate_bps)`` — (K, K) tables, K = emulated nodes in order — at each
        instant of ``times``: what the plane uses (for checks and analysis)."""
        for step in self.sim.steps(times, nominal_step_ns=self.interval_ns):
            d, r = self._tables_of(step)
            yield step.time, d, r

    # ---- up --------------------------------------------------------------------------------
    def up(self, *, start_clock: bool = True) -> None:
        """Build the namespaces, the first tables and the plane; start the emulation clock and
        the update thread (``start_clock=False``: later, with :meth:`start_clock`, e.g. tied to
        another clock). Until the clock starts, packets get the tables of ``start``."""
        if self._is_up:
            raise UsageError("this emulation is already up")
        _sys.check_capabilities()
        d = run_dir(self.run)
        if load_state(self.run) is not None:
            raise UnavailableError(f"run {self.run!r} is already up (state in {d}): "
                                   f"`orbemu netemu down --run {self.run}` first")
        self._state = {
            "version": 1,
            "run": self.run,
            "label": self.label,
            "status": "starting",
            "created_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "controller_pid": os.getpid(),
            "controller_start_ticks": process_start_ticks(os.getpid()),
            "plane_pid": None,
            "mode": self.settings.mode,
            "routing": self.settings.routing,
            "prefix": self.addresses.prefix,
            "prefix_len": self.addresses.prefix_len,
            "router": self.addresses.router,
            "interval_ns": self.interval_ns,
            "start_ns": int(self.start.ns),
            "speed": self.settings.speed,
            "plane": self.settings.plane.to_json(),
            "nodes": [{**asdict(n), "mac": n.mac.hex()} for n in self.nodes],
        }
        save_state(self.run, self._state)  # the intent, before anything exists
        self._is_up = True
        try:
            create_namespaces(self.run, self.nodes)
            write_hosts_files(self.run, self.nodes)
            s = self.settings
            self.tables = RouteTables.create(os.path.join(d, "tables"), len(self.nodes),
                                             s.slots, self.interval_ns, int(self.start.ns))
            self._gen = self._steps_from(0)
            self._next_k = 0
            if s.mode == "hop" and s.routing == "static":
                self._routing = _KernelRoutes(self)
            for _ in range(s.slots - 2):
                self._compute_next()
            self._start_plane()
            if self._routing is not None:
                self._routing.connect()
                self._routing.apply_due(0)
            self._state["status"] = "ready"
            save_state(self.run, self._state)
            if start_clock:
                self.start_clock()
        except BaseException:
            self.down()
            raise

    def start_clock(self, mono0_ns: int | None = None) -> None:
        """Start emulated time: ``start`` happens at monotonic time ``mono0_ns`` (default:
        now; ``time.monotonic_ns``/``perf_counter_ns`` readings), and the update thread keeps
        the tables ahead of it."""
        if self.tables is None or not self._is_up:
            raise UsageError("start_clock() needs the emulation up (up(start_clock=False))")
        if self._thread is not None:
            raise UsageError("the emulation clock is already running")
        self._mono0 = time.monotonic_ns() if mono0_ns is None else int(mono0_ns)
        self.tables.start_clock(self._mono0, self.settings.speed)
        self._state["status"] = "running"
        self._state["clock_started_utc"] = _dt.datetime.now(_dt.UTC).isoformat(
            timespec="milliseconds")
        save_state(self.run, self._state)
        self._thread = threading.Thread(target=self._updates, name="netemu-updates",
                                        daemon=True)
        self._thread.start()

    def _start_plane(self) -> None:
        env = {**os.environ, ENV_RUN: self.run, "ORBEMU_NETEMU_PDEATHSIG": "1"}
        self.plane = subprocess.Popen(
            [sys.executable, "-m", "orbemu.netemu.plane", run_dir(self.run)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        self._state["plane_pid"] = self.plane.pid
        save_state(self.run, self._state)
        assert self.plane.stdout is not None
        deadline = time.monotonic() + 60.0 + 0.05 * len(self.nodes)
        out = b""
        sel = selectors.DefaultSelector()
        sel.register(self.plane.stdout, selectors.EVENT_READ)
        try:
            while b"ready\n" not in out:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    raise UnavailableError("the packet plane did not start within "
                                           f"{60 + 0.05 * len(self.nodes):.0f} s")
                chunk = os.read(self.plane.stdout.fileno(), 4096)
                if not chunk:
                    self.plane.wait()
                    raise UnavailableError("the packet plane failed to start: "
                                           + out.decode(errors="replace").strip())
                out += chunk
        finally:
            sel.close()

    # ---- updates ---------------------------------------------------------------------------
    def _steps_from(self, k: int) -> Iterator[NetworkStep]:
        """Network steps for instants k, k+1, ... (chunked; endless)."""
        while True:
            t0 = int(self.start.ns) + k * self.interval_ns
            times = Time(t0 + np.arange(_CHUNK_INSTANTS, dtype=np.int64) * self.interval_ns)
            yield from self.sim.steps(times, nominal_step_ns=self.interval_ns)
            k += _CHUNK_INSTANTS

    def _compute_next(self) -> None:
        assert self.tables is not None
        t = time.perf_counter()
        step = next(self._gen)
        delay, rate = self._tables_of(step)
        self.tables.write(self._next_k, int(step.time.ns), delay, rate)
        self.last_step = step
        if self._routing is not None:
            self._routing.plan(self._next_k, step)
        self._next_k += 1
        self.updates += 1
        dt = time.perf_counter() - t
        self.update_s_sum += dt
        self.update_s_max = max(self.update_s_max, dt)
        if self.on_update is not None:
            self.on_update(self._next_k - 1, step, delay, rate)

    def _updates(self) -> None:
        assert self.tables is not None
        tables = self.tables
        ahead = self.settings.slots - 2
        try:
            while not self._stop.is_set():
                if self.plane is not None and self.plane.poll() is not None:
                    raise OrbemuError(f"the packet plane exited (code {self.plane.returncode})")
                now_k = tables.instant_index(time.monotonic_ns())
                if self._routing is not None:  # routes of an instant apply when it starts
                    self._routing.apply_due(now_k)
                if self._next_k < now_k:  # fell behind: jump to the present
                    self.skipped += now_k - self._next_k
                    self._next_k = now_k
                    self._gen = self._steps_from(now_k)
                if self._next_k <= now_k + ahead:
                    self._compute_next()
                    continue
                self._wait_until_k(now_k + 1)
        except BaseException as exc:
            self._error = exc

    def _wait_until_k(self, k: int) -> None:
        assert self.tables is not None
        t = self.tables
        target = t.mono0_ns + int(k * self.interval_ns / t.speed)
        while not self._stop.is_set():
            left = target - time.monotonic_ns()
            if left <= 0:
                return
            self._stop.wait(min(left / 1e9, 0.2))

    # ---- use -------------------------------------------------------------------------------
    def exec(self, name: str, argv: Sequence[str], **popen: Any) -> subprocess.Popen[Any]:
        """Start ``argv`` inside node ``name``'s namespace (``ip netns exec``); the process
        carries the run's marker and is killed by :meth:`down` if still running."""
        node = self.node(name)
        path = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
        env = {**os.environ, "PATH": path, **popen.pop("env", {}), ENV_RUN: self.run,
               "ORBEMU_NETEMU_NODE": node.name}
        return subprocess.Popen(["ip", "netns", "exec", node.netns, *argv], env=env, **popen)

    @property
    def mono0_ns(self) -> int:
        """Monotonic reading (ns) at which emulated ``start`` happened (0 before ``up``; kept
        after ``down`` to analyse what was measured)."""
        return self._mono0

    def emulated_now(self) -> Time:
        """The emulated instant now."""
        if self.tables is None or not self.tables.mono0_ns:
            return self.start
        return Time(self.tables.emulated_ns(time.monotonic_ns()))

    def mono_of(self, t: Time | int) -> int:
        """The monotonic reading (ns) at which emulated instant ``t`` happens."""
        ns = int(Time(t).ns) if not isinstance(t, int) else t
        return self._mono0 + int((ns - int(self.start.ns)) / self.settings.speed)

    def set_down(self, name: str, down: bool = True) -> None:
        """Force node ``name`` unreachable (or back) now, whatever the model says."""
        assert self.tables is not None
        self.tables.down[self._index[self.node(name).name]] = 1 if down else 0

    def check(self) -> None:
        """Raise the update thread's error, if it stopped on one."""
        if self._error is not None:
            raise self._error

    def status(self) -> dict[str, Any]:
        """The state file's summary plus the plane's counters and the controller's timing."""
        out = dict(self._state)
        out["plane_stats"] = read_stats(self.run)
        out["updates"] = self.updates
        out["skipped"] = self.skipped
        out["update_ms_mean"] = 1e3 * self.update_s_sum / max(self.updates, 1)
        out["update_ms_max"] = 1e3 * self.update_s_max
        out["emulated_now_ns"] = int(self.emulated_now().ns)
        out["route_changes"] = self._routing.changes if self._routing is not None else None
        if self._error is not None:
            out["error"] = str(self._error)
        return out

    def serve(self, *, until: float | None = None, report: Any = None,
              every_s: float = 10.0) -> None:
        """Block until ``until`` (monotonic seconds), a signal, or an error; call
        ``report(status)`` every ``every_s``."""
        next_report = time.monotonic() + every_s
        while True:
            self.check()
            if self.plane is not None and self.plane.poll() is not None:
                raise OrbemuError(f"the packet plane exited (code {self.plane.returncode})")
            now = time.monotonic()
            if until is not None and now >= until:
                return
            if report is not None and now >= next_report:
                report(self.status())
                next_report = now + every_s
            time.sleep(0.1 if until is None else max(0.0, min(0.1, until - now)))

    # ---- down ------------------------------------------------------------------------------
    def down(self) -> Any:
        """Stop the updates and the plane; remove the namespaces and the run folder."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10.0)
        if self._routing is not None:
            self._routing.close()
        if self.plane is not None and self.plane.poll() is None:
            self.plane.send_signal(signal.SIGTERM)
            try:
                self.plane.wait(timeout=5.0)
            except subprocess.TimeoutExpired:
                self.plane.kill()
                self.plane.wait()
        if self.plane is not None and self.plane.stdout is not None:
            self.plane.stdout.close()
        if self.tables is not None:
            self.tables.close()
            self.tables = None
        report = None
        if self._is_up:
            report = teardown(self.run)
        self._is_up = False
        return report

    def __enter__(self) -> Emulator:
        self.up()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.down()


def read_stats(run: str) -> dict[str, Any] | None:
    """The plane's last ``stats.json`` of run ``run`` (None if none)."""
    import json
    try:
        with open(os.path.join(run_dir(run), "stats.json")) as f:
            data: dict[str, Any] = json.load(f)
            return data
    except (OSError, ValueError):
        return None


# ---- tables from a topology -------------------------------------------------------------------
def _path_tables(topo: Topology, nodes: IntArray,
                 sim: NetworkSimulation) -> tuple[FloatArray, FloatArray]:
    """(K, K) one-way delay (s) and bottleneck (bit/s) of the current route between emulated
    nodes (inf delay: no route)."""
    cfg = sim.config
    all_ground = bool(np.all(nodes >= topo.n_sats))
    targets = nodes if (all_ground and not cfg.relay) else None
    routes = shortest_paths(topo, nodes, metric=cfg.metric, relay=cfg.relay, targets=targets)
    if routes.metric == "delay":
        delay = np.array(routes.dist[:, nodes], dtype=np.float64)
    else:
        delay = np.array(routes.delay_s(nodes[:, None], nodes[None, :]), dtype=np.float64)
    rate = tree_bottleneck_bps(routes.pred_arc, routes.sources, topo.tail,
                               topo.capacity_bps)[:, nodes]
    unreachable = ~np.isfinite(delay) | (rate <= 0.0)
    delay[unreachable] = np.inf
    rate[unreachable] = 0.0
    k = len(nodes)
    delay[np.arange(k), np.arange(k)] = 0.0
    rate[np.arange(k), np.arange(k)] = np.inf
    return delay, rate


def _link_tables(topo: Topology, nodes: IntArray) -> tuple[FloatArray, FloatArray]:
    """(K, K) delay (s) and capacity (bit/s) of the direct links between emulated nodes
    (inf delay: no link now)."""
    k = len(nodes)
    slot = np.full(topo.n_nodes, -1, np.int64)
    slot[nodes] = np.arange(k)
    a = slot[topo.tail]
    b = slot[topo.indices]
    ok = (a >= 0) & (b >= 0) & np.isfinite(topo.delay_s) & (topo.capacity_bps > 0)
    delay = np.full((k, k), np.inf)
    rate = np.zeros((k, k))
    delay[a[ok], b[ok]] = topo.delay_s[ok]
    rate[a[ok], b[ok]] = topo.capacity_bps[ok]
    return delay, rate


class _KernelRoutes:
    """Hop mode, ``routing="static"``: every namespace's routes toward the emulated ground
    nodes follow the model (``ip route replace D/32 via NEXT_HOP``; ``unreachable`` where the
    model has no route or the next hop is not emulated). Only changed entries are sent."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        n_sats = emu.sim.n_sats
        self.dests = np.array([i for i, n in enumerate(emu.nodes) if n.kind == "ground"],
                              np.int64)
        self.dest_nodes = emu.topo_nodes[self.dests]
        self.slot = np.full(n_sats + emu.sim.n_ground, -1, np.int64)
        self.slot[emu.topo_nodes] = np.arange(len(emu.nodes))
        self.socks: list[_netlink.Rtnl] = []
        self.ifindex: list[int] = []
        self.addr = [socket.inet_aton(n.address) for n in emu.nodes]
        self.current = np.full((len(emu.nodes), len(self.dests)), -2, np.int64)
        self.changes = 0
        self.pending: list[tuple[int, IntArray]] = []

    def connect(self) -> None:
        """One rtnetlink socket per namespace (once the plane made the devices)."""
        for n in self.emu.nodes:
            with _sys.in_netns(n.netns):
                self.socks.append(_netlink.Rtnl())
                self.ifindex.append(socket.if_nametoindex(DEVICE))

    def plan(self, k: int, step: NetworkStep) -> None:
        """Compute the next hops of instant ``k`` now (the topology's arrays are reused by
        the next step); they are applied when ``k`` starts (:meth:`apply_due`)."""
        if not len(self.dests):
            return
        cfg = self.emu.sim.config
        routes = shortest_paths(step.topology, self.dest_nodes, metric=cfg.metric,
                                relay=cfg.relay)
        # pred[d, u]: the node before u on the path d -> u = u's next hop toward d
        pred = routes.pred[:, self.emu.topo_nodes].T.astype(np.int64)  # (K, D)
        nh = np.where(pred >= 0, self.slot[np.maximum(pred, 0)], -1)
        k_idx = np.arange(len(self.emu.nodes))[:, None]
        nh[k_idx == self.dests[None, :]] = -3  # a node's route to itself: none
        self.pending.append((k, nh))

    def apply_due(self, now_k: int) -> None:
        due = [p for p in self.pending if p[0] <= now_k]
        if not due:
            return
        self.pending = [p for p in self.pending if p[0] > now_k]
        self.apply(due[-1][1])

    def apply(self, nh: IntArray) -> None:
        changed = np.argwhere(nh != self.current)
        touched = set()
        for u, c in changed:
            d = int(self.dests[c])
            hop = int(nh[u, c])
            if hop == -3:
                continue
            sock = self.socks[u]
            if hop >= 0:
                sock.replace_route(self.addr[d], 32, self.ifindex[u], gateway=self.addr[hop])
            else:
                sock.replace_route(self.addr[d], 32, self.ifindex[u], unreachable=True)
            touched.add(int(u))
        for u in touched:
            self.socks[u].flush(ignore=_netlink.ALREADY)
        self.changes += len(changed)
        self.current = nh

    def close(self) -> None:
        for s in self.socks:
            with contextlib.suppress(OSError):
                s.close()
        self.socks.clear()
