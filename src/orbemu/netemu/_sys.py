"""Linux system calls the emulator needs that Python 3.11 lacks: ``setns``, ``prctl``, TUN/TAP.

Everything here is a thin ctypes/ioctl wrapper; callers decide what to do with errors.
``setns(CLONE_NEWNET)`` switches the network namespace of the *calling thread* only: sockets and
TUN devices created afterwards belong to that namespace, file descriptors opened before keep
theirs. :func:`in_netns` switches and always switches back.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import shutil
import struct
import subprocess
import sys
from collections.abc import Iterator

from orbemu.errors import UnavailableError

__all__ = [
    "NETNS_DIR",
    "check_capabilities",
    "in_netns",
    "netns_inode",
    "open_tun",
    "set_parent_death_signal",
    "set_timer_slack_ns",
    "setns",
]

#: Where ``ip netns`` keeps its named namespaces (bind mounts of ``/proc/PID/ns/net``).
NETNS_DIR = "/run/netns"

_CLONE_NEWNET = 0x40000000
_PR_SET_PDEATHSIG = 1
_PR_SET_TIMERSLACK = 29
_TUNSETIFF = 0x400454CA
_TUNSETPERSIST = 0x400454CB
_IFF_TUN = 0x0001
_IFF_TAP = 0x0002
_IFF_NO_PI = 0x1000

_libc: ctypes.CDLL | None = None


def _lib() -> ctypes.CDLL:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    return _libc


def setns(fd: int) -> None:
    """Move the calling thread into the network namespace ``fd`` refers to."""
    if _lib().setns(fd, _CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


@contextlib.contextmanager
def in_netns(name: str) -> Iterator[None]:
    """Run the block in the named namespace ``/run/netns/NAME`` (this thread only)."""
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(os.path.join(NETNS_DIR, name), os.O_RDONLY)
    try:
        setns(target)
        try:
            yield
        finally:
            setns(home)
    finally:
        os.close(target)
        os.close(home)


def netns_inode(name: str) -> int | None:
    """The inode identifying the named namespace (what ``/proc/PID/ns/net`` of a process inside
    it points to), or None when the name is not a mounted namespace."""
    try:
        return os.stat(os.path.join(NETNS_DIR, name)).st_ino
    except OSError:
        return None


def open_tun(name: str, *, tap: bool = False, persist: bool = False) -> int:
    """Create a TUN (IP packets) or TAP (Ethernet frames) device ``name`` in the calling
    thread's namespace; returns the non-blocking fd that reads and writes its packets.

    Without ``persist`` the device is removed when the fd is closed (including when the process
    dies) — one device at a time, ~17 ms each here (an RCU grace period per device). With
    ``persist`` it stays in its namespace until the namespace is deleted, which removes all of
    a batch of namespaces' devices at once (thousands in a fraction of a second)."""
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
    flags = (_IFF_TAP if tap else _IFF_TUN) | _IFF_NO_PI
    try:
        fcntl.ioctl(fd, _TUNSETIFF, struct.pack("16sH", name.encode(), flags))
        if persist:
            fcntl.ioctl(fd, _TUNSETPERSIST, 1)
    except OSError:
        os.close(fd)
        raise
    return fd


def set_timer_slack_ns(ns: int) -> None:
    """Ask the kernel to fire this thread's timers within ``ns`` of their expiry (default 50 µs)."""
    _lib().prctl(_PR_SET_TIMERSLACK, ctypes.c_ulong(ns), 0, 0, 0)


def set_parent_death_signal(signum: int) -> None:
    """Get ``signum`` when the parent process dies (so a plane never outlives its controller)."""
    _lib().prctl(_PR_SET_PDEATHSIG, ctypes.c_ulong(signum), 0, 0, 0)


def check_capabilities() -> None:
    """Raise :class:`UnavailableError` naming what is missing to build namespaces and TUNs.

    Checks: Linux, root (CAP_SYS_ADMIN for namespaces, CAP_NET_ADMIN for devices), the ``ip``
    command (iproute2), ``/dev/net/tun``, and that a network namespace can actually be created
    and a TUN device opened inside it (containers often forbid one or the other).
    """
    missing: list[str] = []
    if not os.path.exists("/proc/self/ns/net"):
        raise UnavailableError("live network emulation needs Linux network namespaces "
                               "(/proc/self/ns/net is missing: not Linux?)")
    if os.geteuid() != 0:
        missing.append("root (run with sudo: namespaces and TUN devices need CAP_SYS_ADMIN "
                       "and CAP_NET_ADMIN)")
    if shutil.which("ip") is None:
        missing.append("the ip command (install iproute2)")
    if not os.path.exists("/dev/net/tun"):
        missing.append("/dev/net/tun (load the tun module: modprobe tun)")
    if missing:
        raise UnavailableError("live network emulation needs " + "; ".join(missing))
    probe = _probe_namespace()
    if probe:
        raise UnavailableError(f"live network emulation needs {probe}")


_probe_result: str | None = None
_probed = False


def _probe_namespace() -> str | None:
    """Try ``unshare(CLONE_NEWNET)`` in a child process and open a TUN there (cached)."""
    global _probe_result, _probed
    if _probed:
        return _probe_result
    _probed = True
    code = (
        "import ctypes, fcntl, os, struct, sys\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        f"if libc.unshare({_CLONE_NEWNET}) != 0: sys.exit(11)\n"
        "try:\n"
        "    fd = os.open('/dev/net/tun', os.O_RDWR)\n"
        f"    fcntl.ioctl(fd, {_TUNSETIFF}, struct.pack('16sH', b'oeprobe0', {_IFF_TUN}))\n"
        "except OSError: sys.exit(12)\n"
    )
    try:
        rc = subprocess.run([sys.executable, "-c", code], capture_output=True,
                            timeout=30).returncode
    except (OSError, subprocess.SubprocessError):
        rc = 13
    _probe_result = {
        0: None,
        11: "permission to create network namespaces (unshare(CLONE_NEWNET) failed: in a "
            "container, run it with --privileged or CAP_SYS_ADMIN)",
        12: "permission to create TUN devices inside a namespace (opening /dev/net/tun "
            "failed: give the container the device and CAP_NET_ADMIN)",
    }.get(rc, f"a working namespace probe (it exited with code {rc})")
    return _probe_result


def is_missing_errno(exc: OSError) -> bool:
    return exc.errno in (errno.ENOENT, errno.ESRCH)
