"""The engine's side of the bus: endpoints, connections, and app processes with their limits.

- :class:`Endpoint` — one satellite's listening TCP socket (``host:port``; port 0 picks a free
  one). Apps of the satellite connect to it and introduce themselves (``bus-hello``): the app
  name routes a connection to its slot, so several apps of one satellite share the endpoint.
- :class:`Link` — one connected app: its socket, the packet framing
  (:class:`~orbemu.fsw.bus.PacketStream`), the codec with its sequence counts.
- :func:`spawn_app` — starts an app process: a Python app under :mod:`orbemu.fsw.client`
  (through a small bootstrap that imports only ``orbemu.fsw``: the engine's own imports are not
  paid by every app), or any program (``command``), with ``setrlimit`` limits applied between
  fork and exec, optionally in a network namespace of its own (``isolated``) or a named one
  (``netns:NAME``) with its bus connection inherited, single-threaded numerical libraries, and
  its stderr in a log file;
- :func:`rss_mb` — a process's resident set (``/proc``), for the memory watch;
- :func:`exit_reason` — a failed process's exit status and the last lines of its log.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from orbemu.comms.packets import Packet
from orbemu.errors import UnavailableError
from orbemu.fsw.bus import BusCodec, PacketStream, decode_hello
from orbemu.fsw.config import ProcessLimits

__all__ = ["Endpoint", "Link", "check_network", "exit_reason", "rss_mb", "spawn_app"]

#: Seconds a send to an app may block (its receive buffer full) before the link counts as lost.
SEND_TIMEOUT_S = 30.0

_PACKAGE_DIR = str(Path(__file__).resolve().parents[2])  # the folder holding orbemu/

# The child's first lines: an `orbemu` package object whose submodules load from the installed
# package without running orbemu/__init__.py (which imports the whole library); an attribute
# that only the full package has loads it on first use.
_BOOTSTRAP = """\
import sys, types, importlib.util
_spec = importlib.util.find_spec('orbemu')
_pkg = types.ModuleType('orbemu')
_pkg.__path__ = list(_spec.submodule_search_locations)
_pkg.__file__ = _spec.origin
def _full(name, _pkg=_pkg, _spec=_spec):
    _pkg.__dict__.pop('__getattr__', None)
    with open(_spec.origin) as f:
        exec(compile(f.read(), _spec.origin, 'exec'), _pkg.__dict__)
    return _pkg.__dict__[name]
_pkg.__getattr__ = _full
sys.modules['orbemu'] = _pkg
from orbemu.fsw.client import main
sys.exit(main(sys.argv[1:]))
"""


class Link:
    """One app connected to an endpoint (engine side)."""

    def __init__(self, sock: socket.socket, peer: Any) -> None:
        self.sock = sock
        self.peer = peer
        self.stream = PacketStream(source=f"bus {peer}")
        self.codec = BusCodec()
        self.hello: dict[str, Any] | None = None
        self.closed = False
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def fileno(self) -> int:
        return self.sock.fileno()

    def send(self, data: bytes) -> bool:
        """Send bytes; False if the connection is gone."""
        if self.closed:
            return False
        try:
            self.sock.sendall(data)
            return True
        except OSError:
            self.closed = True
            return False

    def receive(self) -> list[Packet] | None:
        """Packets that arrived (after the socket was found readable); None at end of stream."""
        try:
            data = self.sock.recv(1 << 18)
        except (BlockingIOError, InterruptedError, TimeoutError):
            return []
        except OSError:
            data = b""
        if not data:
            self.closed = True
            return None
        return self.stream.feed(data)

    def read_hello(self, timeout_s: float) -> dict[str, Any] | None:
        """Block until the bus-hello arrives (None: timeout or closed). Packets after it stay
        buffered."""
        deadline = time.monotonic() + timeout_s
        self.sock.setblocking(True)
        try:
            while self.hello is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.sock.settimeout(left)
                try:
                    data = self.sock.recv(1 << 16)
                except TimeoutError:
                    return None
                except OSError:
                    data = b""
                if not data:
                    self.closed = True
                    return None
                for pkt in self.stream.feed(data):
                    if pkt.name == "bus-hello":
                        self.hello = decode_hello(pkt)
                    # anything before the hello is ignored (a client must start with it)
        finally:
            # reads follow a select (data is there); a send that cannot complete within this
            # time means the app stopped reading: the connection counts as lost
            self.sock.settimeout(SEND_TIMEOUT_S)
        return self.hello

    def close(self) -> None:
        self.closed = True
        try:
            self.sock.close()
        except OSError:  # pragma: no cover
            pass


class Endpoint:
    """A satellite's listening socket (module notes)."""

    def __init__(self, host: str, port: int, label: str) -> None:
        self.label = label
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.sock.bind((host, int(port)))
        except OSError as exc:
            self.sock.close()
            raise UnavailableError(f"cannot open the bus endpoint of {label} on {host}:{port}: "
                                   f"{exc}") from None
        self.sock.listen(64)
        self.host, self.port = self.sock.getsockname()[:2]
        self.waiting: list[Link] = []  # connected, introduced, not yet given to a slot

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def accept(self, timeout_s: float, hello_timeout_s: float) -> Link | None:
        """Wait up to ``timeout_s`` for a connection and read its hello."""
        if timeout_s > 0:
            self.sock.settimeout(timeout_s)
        else:
            self.sock.setblocking(False)
        try:
            conn, peer = self.sock.accept()
        except (TimeoutError, BlockingIOError):
            return None
        finally:
            self.sock.settimeout(None)
        link = Link(conn, peer)
        if link.read_hello(hello_timeout_s) is None:
            link.close()
            return None
        return link

    def take(self, app: str, timeout_s: float, hello_timeout_s: float = 10.0,
             alive: Callable[[], bool] | None = None) -> Link | None:
        """The next connection introducing itself as ``app`` (or as anything when ``app`` is
        empty), waiting up to ``timeout_s`` (and no longer once ``alive()`` says the program
        that should connect has ended); other apps' connections wait for their slot."""
        for i, known in enumerate(self.waiting):
            if not app or (known.hello is not None and known.hello["app"] == app):
                return self.waiting.pop(i)
        deadline = time.monotonic() + timeout_s
        while True:
            wait = max(deadline - time.monotonic(), 0.0)
            link = self.accept(min(wait, 0.1) if alive is not None else wait, hello_timeout_s)
            if link is not None:
                assert link.hello is not None
                if not app or link.hello["app"] == app:
                    return link
                self.waiting.append(link)
            if time.monotonic() >= deadline or (alive is not None and not alive()
                                                and link is None):
                return None

    def close(self) -> None:
        for link in self.waiting:
            link.close()
        self.waiting = []
        try:
            self.sock.close()
        except OSError:  # pragma: no cover
            pass


_CLONE_NEWNET = 0x40000000  # <sched.h>
_SIOCGIFFLAGS, _SIOCSIFFLAGS, _IFF_UP = 0x8913, 0x8914, 0x1  # <linux/sockios.h>, <net/if.h>


def _libc_call(name: str, *args: int) -> None:
    """Call ``unshare``/``setns`` from libc (Python 3.11 has no ``os.unshare``/``os.setns``)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if getattr(libc, name)(*args) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{name}: {os.strerror(err)}")


def _loopback_up() -> None:
    """Bring ``lo`` up in the current (new) network namespace: SIOCGIFFLAGS, set IFF_UP."""
    import fcntl
    import struct

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        req = struct.pack("16sh", b"lo", 0)
        flags = struct.unpack("16sh", fcntl.ioctl(s, _SIOCGIFFLAGS, req))[1]
        fcntl.ioctl(s, _SIOCSIFFLAGS, struct.pack("16sh", b"lo", flags | _IFF_UP))


def check_network(network: str) -> None:
    """Raise :class:`UnavailableError` saying what is missing when an app process cannot be put
    in ``network`` (``isolated`` or ``netns:NAME``) here; ``host`` always can."""
    if network == "host":
        return
    if sys.platform != "linux" or not os.path.exists("/proc/self/ns/net"):
        raise UnavailableError(f"network {network!r} for an app needs Linux network "
                               "namespaces; use network: host")
    if os.geteuid() != 0:
        raise UnavailableError(f"network {network!r} for an app needs root (CAP_SYS_ADMIN) to "
                               "create or join a network namespace; run as root, or use "
                               "network: host")
    if network.startswith("netns:"):
        path = f"/run/netns/{network[6:]}"
        if not os.path.exists(path):
            raise UnavailableError(f"no network namespace {path} for an app's network "
                                   f"{network!r}; bring it up first (`orbemu netemu up`, or "
                                   "`ip netns add`), or use network: isolated")


def _limits(limits: ProcessLimits, network: str = "host") -> Any:
    """A preexec function applying ``limits`` (and the network namespace) in the child
    (between fork and exec)."""
    import resource

    def apply() -> None:  # pragma: no cover - runs in the child
        os.setsid()  # its own process group: the engine's signals (Ctrl-C) are not its
        if network == "isolated":
            _libc_call("unshare", _CLONE_NEWNET)
            _loopback_up()
        elif network.startswith("netns:"):
            fd = os.open(f"/run/netns/{network[6:]}", os.O_RDONLY)
            try:
                _libc_call("setns", fd, _CLONE_NEWNET)
            finally:
                os.close(fd)
        if limits.memory_mb is not None:
            b = int(limits.memory_mb * 2**20)
            resource.setrlimit(resource.RLIMIT_AS, (b, b))
        if limits.cpu_s is not None:
            s = int(limits.cpu_s)
            resource.setrlimit(resource.RLIMIT_CPU, (s, s + 1))
        if limits.open_files is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))

    return apply


def spawn_app(*, app: str, command: Sequence[str], host: str, port: int, sat: str, name: str,
              limits: ProcessLimits, log_path: Path,
              network: str = "host") -> subprocess.Popen[bytes]:
    """Start an app process connecting to ``host:port`` (module notes). ``network`` other than
    ``host`` (see :class:`~orbemu.fsw.AppSpec`): the connection is opened here, in the engine's
    namespace, and handed to the child (``--fd``/``{fd}``), which then leaves for its own."""
    check_network(network)
    conn: socket.socket | None = None
    if network != "host":
        try:
            conn = socket.create_connection((host, port), timeout=5.0)
        except OSError as exc:
            raise UnavailableError(f"cannot connect to the bus endpoint {host}:{port} for an "
                                   f"app in network {network!r}: {exc}") from None
        conn.settimeout(None)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.set_inheritable(True)
    fd = str(conn.fileno()) if conn is not None else ""
    subs = {"{host}": str(host), "{port}": str(port), "{sat}": sat, "{app}": name, "{fd}": fd}
    if command:
        argv = [subs.get(c, c) for c in command]
        for key, value in subs.items():
            argv = [a.replace(key, value) for a in argv]
    else:
        argv = [sys.executable, "-c", _BOOTSTRAP, "--connect", f"{host}:{port}", "--app", app,
                "--name", name, "--sat", sat]
        if conn is not None:
            argv += ["--fd", fd]
    env = dict(os.environ)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                "NUMBA_NUM_THREADS"):
        env[var] = "1"
    paths = [p or os.getcwd() for p in sys.path]  # "" is the working directory
    env["PYTHONPATH"] = os.pathsep.join([*paths, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(log_path, "ab") as log:
            try:
                return subprocess.Popen(
                    argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
                    preexec_fn=_limits(limits, network), close_fds=True,
                    pass_fds=(conn.fileno(),) if conn is not None else ())
            except (OSError, subprocess.SubprocessError) as exc:
                raise UnavailableError(f"cannot start the app process {argv[0]!r} (network "
                                       f"{network!r}): {exc}") from None
    finally:
        if conn is not None:
            conn.close()  # the child holds its own copy


def rss_mb(pid: int) -> float | None:
    """Resident set size of process ``pid`` in MiB (None if unknown)."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            pages = int(f.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def exit_reason(proc: subprocess.Popen[bytes] | None, log_path: Path | None,
                wait_s: float = 2.0) -> dict[str, Any]:
    """How a process ended: ``exit_code`` or ``signal`` name, and the ``log_tail``."""
    out: dict[str, Any] = {}
    if proc is not None:
        try:
            code = proc.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        if code < 0:
            try:
                out["signal"] = signal.Signals(-code).name
            except ValueError:
                out["signal"] = str(-code)
        else:
            out["exit_code"] = code
    if log_path is not None and log_path.exists():
        lines = log_path.read_text(errors="replace").strip().splitlines()
        out["log_tail"] = "\n".join(lines[-4:])
    return out


def kill(proc: subprocess.Popen[bytes] | None) -> None:
    """Kill a process (and its process group) and reap it."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        proc.kill()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:  # pragma: no cover
        pass
