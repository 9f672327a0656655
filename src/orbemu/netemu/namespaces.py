"""Namespaces of an emulation run: creation, the state file, and cleanup by marker.

What a run creates, and how each thing is found again::

    object                     where                          marked by
    network namespace          /run/netns/oe-RUN-gG|sS        the alias of its loopback:
                                                              "orbemu-netemu run=RUN node=NAME"
    interface oe0 (TUN/TAP)    inside each namespace          the same alias; persistent: it
                                                              goes with its namespace
    run folder                 $ORBEMU_NETEMU_DIR/RUN          state.json, tables, stats.json
                               (default /dev/shm/orbemu-netemu)
    hosts files (≤ 256 nodes)  /etc/netns/oe-RUN-…/hosts       first line "# orbemu-netemu hosts
                                                              run=RUN"
    packet plane process       -                              environment ORBEMU_NETEMU_RUN=RUN
    programs run by `exec`     inside a namespace             ORBEMU_NETEMU_RUN=RUN and their
                                                              namespace (/proc/PID/ns/net)

The state file lists everything as it is created (written before the namespaces, updated
after), so ``down`` removes it all; after a crash that lost the state file too, ``down`` scans
``/run/netns`` for names starting ``oe-`` and removes only those whose loopback carries the
marker (of the run asked for, or of any run with ``--all``) — never by name alone. Processes
are found by the namespace they are in (the inode of ``/proc/PID/ns/net``) or by the marker in
their environment, never by their name.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from orbemu.errors import UnavailableError
from orbemu.netemu import _netlink, _sys
from orbemu.netemu.addressing import NS_PREFIX, EmulatedNode

__all__ = [
    "ENV_RUN",
    "Leftover",
    "TeardownReport",
    "create_namespaces",
    "find_leftovers",
    "load_state",
    "namespace_marker",
    "process_start_ticks",
    "processes_of",
    "run_dir",
    "save_state",
    "state_root",
    "teardown",
    "write_hosts_files",
]

#: Environment variable marking the processes of a run.
ENV_RUN = "ORBEMU_NETEMU_RUN"
_MARK = "orbemu-netemu "


def state_root() -> str:
    """Where run folders live: ``$ORBEMU_NETEMU_DIR`` or ``/dev/shm/orbemu-netemu``.

    Keep it on tmpfs (``/dev/shm`` is on every Linux system; ``/run`` is not always): the plane
    maps the route tables and rewrites its statistics every second, and a disk's writeback
    would stall it for milliseconds. On tmpfs it also disappears at reboot, like the
    namespaces."""
    return os.environ.get("ORBEMU_NETEMU_DIR", "/dev/shm/orbemu-netemu")


def run_dir(run: str) -> str:
    return os.path.join(state_root(), run)


def save_state(run: str, state: dict[str, Any]) -> None:
    """Write ``state.json`` of a run atomically."""
    d = run_dir(run)
    os.makedirs(d, mode=0o755, exist_ok=True)
    tmp = os.path.join(d, "state.json.tmp")
    with open(tmp, "w") as f:
        json.dump(state, f, indent=1)
    os.replace(tmp, os.path.join(d, "state.json"))


def load_state(run: str) -> dict[str, Any] | None:
    try:
        with open(os.path.join(run_dir(run), "state.json")) as f:
            data: dict[str, Any] = json.load(f)
            return data
    except (OSError, ValueError):
        return None


def lo_marker(run: str, node: str) -> str:
    return f"{_MARK}run={run} node={node}"


def _parse_marker(alias: str | None) -> tuple[str, str] | None:
    if not alias or not alias.startswith(_MARK):
        return None
    fields = dict(part.split("=", 1) for part in alias[len(_MARK):].split() if "=" in part)
    if "run" not in fields:
        return None
    return fields["run"], fields.get("node", "")


# ---- creation ------------------------------------------------------------------------------------
def _ip_batch(lines: Sequence[str], *, force: bool = False) -> subprocess.CompletedProcess[str]:
    args = ["ip"] + (["-force"] if force else []) + ["-batch", "-"]
    return subprocess.run(args, input="\n".join(lines) + "\n", capture_output=True, text=True,
                          check=False)


def create_namespaces(run: str, nodes: Sequence[EmulatedNode]) -> None:
    """Create one namespace per node (``ip -batch``), bring its loopback up and mark it.

    Raises :class:`UnavailableError` when ``ip`` refuses (names already taken are reported:
    ``down`` the run that holds them first). Nothing is left half-made: on failure the
    namespaces created here are deleted again.
    """
    existing = set(os.listdir(_sys.NETNS_DIR)) if os.path.isdir(_sys.NETNS_DIR) else set()
    taken = [n.netns for n in nodes if n.netns in existing]
    if taken:
        raise UnavailableError(
            f"namespace {taken[0]} already exists ({len(taken)} of this run's names are "
            f"taken): run `orbemu netemu down --run {run}` first, or choose another --run")
    done = _ip_batch([f"netns add {n.netns}" for n in nodes])
    if done.returncode != 0:
        made = [n.netns for n in nodes if os.path.exists(os.path.join(_sys.NETNS_DIR, n.netns))]
        _ip_batch([f"netns del {name}" for name in made], force=True)
        raise UnavailableError(f"could not create network namespaces: "
                               f"{done.stderr.strip() or done.stdout.strip()}")
    try:
        for n in nodes:
            with _sys.in_netns(n.netns), _netlink.Rtnl() as nl:
                nl.set_link(1, up=True, alias=lo_marker(run, n.name))
                nl.flush()
    except OSError as exc:
        _ip_batch([f"netns del {n.netns}" for n in nodes], force=True)
        raise UnavailableError(f"could not configure the namespaces: {exc}") from None


#: ``ip netns exec NS`` bind-mounts ``/etc/netns/NS/hosts`` over ``/etc/hosts``: node names resolve.
ETC_NETNS = "/etc/netns"
#: Above this many nodes no hosts files are written (each would list every node); the tools
#: resolve names from the state file anyway.
HOSTS_MAX_NODES = 256
_HOSTS_MARK = "# orbemu-netemu hosts run="


def _hostname(name: str) -> str | None:
    """A node name usable as a host name (letters, digits, '-', '.'), or None."""
    text = name.strip()
    ok = text and all(c.isalnum() or c in "-." for c in text) and not text.startswith("-")
    return text if ok else None


def write_hosts_files(run: str, nodes: Sequence[EmulatedNode]) -> int:
    """``/etc/netns/NS/hosts`` for every node (``ip netns exec`` shows it as ``/etc/hosts``):
    ``localhost`` and every node's name. Marked on the first line. Returns the files written
    (none above :data:`HOSTS_MAX_NODES` nodes)."""
    if len(nodes) > HOSTS_MAX_NODES:
        return 0
    lines = [f"{_HOSTS_MARK}{run}", "127.0.0.1\tlocalhost", "::1\tlocalhost"]
    lines += [f"{n.address}\t{h}" for n in nodes if (h := _hostname(n.name))]
    text = "\n".join(lines) + "\n"
    written = 0
    for n in nodes:
        d = os.path.join(ETC_NETNS, n.netns)
        try:
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, "hosts"), "w") as f:
                f.write(text)
            written += 1
        except OSError:
            continue
    return written


def remove_hosts_files(run: str | None, names: Iterable[str]) -> None:
    """Remove the hosts files of these namespaces that carry the marker (of ``run``, or any run
    when None), and their folder if nothing else is in it."""
    for name in names:
        d = os.path.join(ETC_NETNS, name)
        path = os.path.join(d, "hosts")
        try:
            with open(path) as f:
                first = f.readline().strip()
        except OSError:
            continue
        if not first.startswith(_HOSTS_MARK) or (run is not None
                                                 and first != f"{_HOSTS_MARK}{run}"):
            continue
        with contextlib.suppress(OSError):
            os.unlink(path)
        with contextlib.suppress(OSError):
            os.rmdir(d)  # only when empty


def namespace_marker(name: str) -> tuple[str, str] | None:
    """``(run, node)`` from the marker of namespace ``name``, or None when it carries none."""
    try:
        with _sys.in_netns(name), _netlink.Rtnl() as nl:
            return _parse_marker(nl.link_alias(1))
    except OSError:
        return None


@dataclass(frozen=True)
class Leftover:
    """A marked namespace: its ``netns`` name, the ``run`` and ``node`` of its marker."""

    netns: str
    run: str
    node: str


def find_leftovers(run: str | None = None) -> list[Leftover]:
    """Namespaces named ``oe-…`` whose loopback carries the emulator's marker (of ``run``, or
    of any run when None)."""
    try:
        names = sorted(os.listdir(_sys.NETNS_DIR))
    except OSError:
        return []
    out = []
    for name in names:
        if not name.startswith(NS_PREFIX):
            continue
        mark = namespace_marker(name)
        if mark is None or (run is not None and mark[0] != run):
            continue
        out.append(Leftover(name, mark[0], mark[1]))
    return out


# ---- processes -----------------------------------------------------------------------------------
def _ancestors() -> set[int]:
    out = set()
    pid = os.getpid()
    while pid > 1:
        out.add(pid)
        try:
            with open(f"/proc/{pid}/stat") as f:
                pid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return out


def processes_of(run: str | None, netns_inodes: Iterable[int]) -> list[int]:
    """Processes inside one of the namespaces (by inode) or carrying the run's marker in their
    environment (any run's when ``run`` is None) — never this process or its ancestors."""
    inodes = set(netns_inodes)
    needle = f"{ENV_RUN}={run}\0".encode() if run is not None else f"{ENV_RUN}=".encode()
    mine = _ancestors()
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        if pid in mine:
            continue
        try:
            if inodes and os.stat(f"/proc/{pid}/ns/net").st_ino in inodes:
                out.append(pid)
                continue
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = b"\0" + f.read()
            if b"\0" + needle in env:
                out.append(pid)
        except OSError:
            continue
    return out


def process_start_ticks(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks since boot; tells a reused pid apart)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def kill_processes(pids: Sequence[int], *, grace_s: float = 2.0) -> list[int]:
    """SIGTERM, then SIGKILL after ``grace_s`` for those still alive. Returns the pids
    signalled."""
    hit = []
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
            hit.append(pid)
    deadline = time.monotonic() + grace_s
    left = list(hit)
    while left and time.monotonic() < deadline:
        left = [p for p in left if _alive(p)]
        if left:
            time.sleep(0.02)
    for pid in left:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + grace_s
    while left and time.monotonic() < deadline:
        left = [p for p in left if _alive(p)]
        if left:
            time.sleep(0.02)
    return hit


# ---- teardown ------------------------------------------------------------------------------------
@dataclass
class TeardownReport:
    """What ``down`` removed."""

    namespaces: list[str] = field(default_factory=list)
    processes: list[int] = field(default_factory=list)
    folders: list[str] = field(default_factory=list)
    unmarked: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.namespaces or self.processes or self.folders)


def teardown(run: str | None, *, extra_pids: Sequence[int] = ()) -> TeardownReport:
    """Remove everything of run ``run`` (every run when None): processes, namespaces and the
    run folder. The state file's list and the markers are both used; a name from the state
    file is deleted only if its namespace still carries the run's marker."""
    report = TeardownReport()
    runs = [run] if run is not None else _runs_on_disk()
    wanted: dict[str, str] = {}
    for r in runs:
        state = load_state(r) or {}
        for node in state.get("nodes", []):
            wanted[node["netns"]] = r
    for left in find_leftovers(run):
        wanted[left.netns] = left.run
    # keep only names that carry the marker of their run
    names = []
    for name, r in sorted(wanted.items()):
        mark = namespace_marker(name)
        if mark is None:
            if os.path.exists(os.path.join(_sys.NETNS_DIR, name)):
                report.unmarked.append(name)
            continue
        if mark[0] == r:
            names.append(name)
    inodes = [i for i in (_sys.netns_inode(n) for n in names) if i is not None]
    pids = sorted(set(processes_of(run, inodes)) | {p for p in extra_pids if _alive(p)})
    report.processes = kill_processes(pids)
    try:
        etc = [e for e in os.listdir(ETC_NETNS) if e.startswith(NS_PREFIX)]
    except OSError:
        etc = []
    remove_hosts_files(run, {*names, *wanted, *etc})
    if etc:
        with contextlib.suppress(OSError):
            os.rmdir(ETC_NETNS)  # only when empty (as it was before, on most systems)
    if names:
        done = _ip_batch([f"netns del {n}" for n in names], force=True)
        if done.returncode != 0 and done.stderr.strip():
            report.errors.append(done.stderr.strip())
        report.namespaces = [n for n in names if not os.path.exists(
            os.path.join(_sys.NETNS_DIR, n))]
    for r in runs:
        d = run_dir(r)
        if os.path.isdir(d):
            for entry in os.listdir(d):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(d, entry))
            with contextlib.suppress(OSError):
                os.rmdir(d)
                report.folders.append(d)
    return report


def _runs_on_disk() -> list[str]:
    try:
        return sorted(e for e in os.listdir(state_root())
                      if os.path.isfile(os.path.join(state_root(), e, "state.json")))
    except OSError:
        return []
