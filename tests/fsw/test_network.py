"""Process apps in network namespaces: ``isolated`` (a namespace of their own, loopback only)
and ``netns:NAME`` (a named one), with the bus connection inherited from the engine."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid

import pytest

from orbemu.errors import UnavailableError, UsageError
from orbemu.fsw import AppSpec
from orbemu.fsw.process import check_network

from .conftest import points, run_apps, world

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or os.geteuid() != 0
    or not os.path.exists("/proc/self/ns/net"),
    reason="network namespaces need Linux and root")


@pytest.fixture
def listener():
    """A TCP port listening on 127.0.0.1 in the test's (the engine's) namespace."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        yield s.getsockname()[1]


def _probe(setup, port, network):
    sink, summary, _ = run_apps(setup, AppSpec("tests.fsw.apps:NetProbe", sats=(1,),
                                               runner="process", network=network,
                                               params={"port": port}))
    (_, ino), = points(sink, "netns_ino")
    (_, reached), = points(sink, "reached_host_port")
    return ino, reached, [v for _, v in points(sink, "tick")], summary


def test_an_isolated_app_has_its_own_namespace_and_only_its_bus(listener):
    setup = world(minutes=0.1, step_s=1)
    mine = float(os.stat("/proc/self/ns/net").st_ino)
    ino, reached, ticks, summary = _probe(setup, listener, "host")
    assert ino == mine and reached == 1.0  # the control: on the host's network it connects
    ino, reached, ticks_iso, summary = _probe(setup, listener, "isolated")
    assert ino != mine  # a namespace of its own
    assert reached == 0.0  # the engine's loopback port is out of its reach
    assert ticks_iso == ticks == [float(k) for k in range(6)]  # the bus worked all along
    assert summary.fsw["faults"] == 0


def test_an_app_joins_a_named_namespace(listener):
    name = f"oe-test-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        ns_ino = float(os.stat(f"/run/netns/{name}").st_ino)
        ino, reached, ticks, _ = _probe(world(minutes=0.05, step_s=1), listener,
                                        f"netns:{name}")
        assert ino == ns_ino and reached == 0.0 and len(ticks) == 3
    finally:
        subprocess.run(["ip", "netns", "del", name], check=True)


def test_a_missing_namespace_is_a_clear_error():
    with pytest.raises(UnavailableError, match="no network namespace /run/netns/oe-none-"):
        check_network("netns:oe-none-0000")


def test_network_settings_are_checked():
    with pytest.raises(UsageError, match="for process apps"):
        AppSpec("tests.fsw.apps:NetProbe", network="isolated")
    with pytest.raises(UsageError, match="host', 'isolated' or 'netns:NAME'"):
        AppSpec("tests.fsw.apps:NetProbe", runner="process", network="lan")
    with pytest.raises(UsageError, match=r"\{fd\}"):
        AppSpec(runner="process", command=("./app", "{host}", "{port}"), network="isolated")
