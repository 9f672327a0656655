"""Live emulation end to end: real packets between namespaces over the emulated constellation.

Needs root, network namespaces and /dev/net/tun (skips with what is missing otherwise). The
reference is the network model itself, evaluated independently of the emulator: the route
delay between the two sites at each packet's own emulated instant, from
:meth:`NetworkSimulation.steps` (exact instants, not the emulator's 100 ms tables).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from orbemu.netemu import Emulator, NetemuSettings, PlaneSettings, select_nodes
from orbemu.netemu.namespaces import ENV_RUN, find_leftovers
from orbemu.network.simulation import Failure, NetworkConfig, NetworkSimulation
from orbemu.time import Time
from tests.netemu.conftest import START, netns_names, python_tool, root_links

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("netemu_capable", "state_dir")]

ONE_MS = 1.0


def one_way_delay_s(sim: NetworkSimulation, times_ns: np.ndarray, a: int, b: int) -> np.ndarray:
    """The model's one-way delay a -> b (ground-node indices) at each instant, seconds."""
    order = np.argsort(times_ns, kind="stable")
    t_sorted = times_ns[order]
    keep = np.concatenate(([True], np.diff(t_sorted) > 0))
    uniq = t_sorted[keep]
    out_u = np.empty(uniq.size)
    for i, step in enumerate(sim.steps(Time(uniq), sources=[a], targets=[b])):
        out_u[i] = step.routes.delay_s(step.node(a), step.node(b))
    idx = np.cumsum(keep) - 1
    out = np.empty(times_ns.size)
    out[order] = out_u[idx]
    return out


def emulated_ns(emu: Emulator, mono_ns: np.ndarray) -> np.ndarray:
    return int(emu.start.ns) + (mono_ns - emu.mono0_ns)  # real time: speed 1


RATE_BPS = 20e6
#: Chicago is down (a ground-node failure of the model) from 10 s to 14 s after the start.
OUTAGE_NS = (10 * 10**9, 14 * 10**9)


@pytest.fixture(scope="module")
def minute(shell, sites, netemu_capable, tmp_path_factory):
    """One emulated minute over 20 Mbit/s ground links, two measurements at once: ICMP echo
    London -> New York every 100 ms for 60 s, and a TCP transfer Paris -> Chicago from 0.5 s
    to 23 s across Chicago's outage."""
    import os
    import shutil
    import tempfile
    state = tempfile.mkdtemp(prefix="orbemu-netemu-test-", dir="/dev/shm")
    old = os.environ.get("ORBEMU_NETEMU_DIR")
    os.environ["ORBEMU_NETEMU_DIR"] = state
    config = NetworkConfig(gsl_policy="nearest", gsl_per_node=1, gsl_capacity=RATE_BPS,
                           failures=(Failure("ground", 3, int(START.ns) + OUTAGE_NS[0],
                                             int(START.ns) + OUTAGE_NS[1]),))
    sim = NetworkSimulation(shell, sites, config)
    run = "m" + os.urandom(3).hex()
    nodes = select_nodes(shell, sites, ["site:*"], run=run)
    try:
        with Emulator(sim, nodes, start=START, run=run) as emu:
            _, _, table_rate = next(emu.tables_at(START))
            ping = emu.exec("london", python_tool("ping", "new-york", "-c", "600", "-i", "0.1",
                                                  "--json"),
                            stdout=subprocess.PIPE, text=True)
            sink = emu.exec("chicago", python_tool("tcp-sink", "--json", "--timeout-s", "30"),
                            stdout=subprocess.PIPE, text=True)
            assert sink.stdout is not None
            sink.stdout.readline()  # listening
            time.sleep(max(0.0, (emu.mono_of(int(START.ns) + 5 * 10**8)
                                 - time.monotonic_ns()) / 1e9))
            send = emu.exec("paris", python_tool("tcp-send", "chicago", "--duration-s", "22.5"),
                            stdout=subprocess.PIPE, text=True)
            send.communicate(timeout=60)
            tcp_out, _ = sink.communicate(timeout=60)
            ping_out, _ = ping.communicate(timeout=120)
            stats = emu.status()["plane_stats"]
    finally:
        if old is None:
            os.environ.pop("ORBEMU_NETEMU_DIR", None)
        else:
            os.environ["ORBEMU_NETEMU_DIR"] = old
        shutil.rmtree(state, ignore_errors=True)
    return {"emu": emu, "sim": sim, "ping": ping_out, "tcp": tcp_out, "stats": stats,
            "table_rate": table_rate}


def test_ping_rtt_follows_the_model_for_a_minute(minute):
    """p95 of |measured − model RTT| ≤ 1 ms over the minute, across the model's path changes
    (and beside a 20 Mbit/s TCP transfer through the same plane)."""
    emu, sim = minute["emu"], minute["sim"]
    rows = [json.loads(line) for line in minute["ping"].splitlines() if line.startswith("{")]
    replies = [r for r in rows if "rtt_ms" in r]
    assert len(replies) >= 594, f"only {len(replies)} of 600 echo replies"
    mono = np.array([r["mono_ns"] for r in replies], dtype=np.int64)
    measured = np.array([r["rtt_ms"] for r in replies])
    t_send = emulated_ns(emu, mono)
    forward = one_way_delay_s(sim, t_send, 0, 1)
    back = one_way_delay_s(sim, t_send + (forward * 1e9).astype(np.int64), 1, 0)
    model = (forward + back) * 1e3
    error = measured - model
    # the model's route really changes in this minute: there is a series to follow
    assert model.max() - model.min() > 20.0
    assert np.count_nonzero(np.abs(np.diff(model)) > 5.0) >= 2
    p95 = np.percentile(np.abs(error), 95)
    if os.environ.get("ORBEMU_NETEMU_DEBUG"):
        np.savez("/tmp/ping_debug.npz", t=(t_send - int(START.ns)) / 1e9, model=model,
                 measured=measured)
    assert p95 <= ONE_MS, (f"p95 |RTT error| {p95:.3f} ms (median {np.median(error):.3f} ms; "
                           f"plane {minute['stats'].get('release_late_us')})")


def test_tcp_transfer_reaches_the_bottleneck_stops_in_an_outage_and_recovers(minute):
    """TCP Paris -> Chicago over 20 Mbit/s ground links: the IP-level rate is within 10 % of
    the modelled bottleneck, drops to nothing while Chicago is down (10 s–14 s), and comes back
    afterwards."""
    emu = minute["emu"]
    assert minute["table_rate"][2, 3] == RATE_BPS  # the model's bottleneck for this pair
    bins = [json.loads(line) for line in minute["tcp"].splitlines() if '"mono_ns"' in line]
    t = (emulated_ns(emu, np.array([b["mono_ns"] for b in bins], dtype=np.int64))
         - int(START.ns)) / 1e9
    got = np.array([b["bytes"] for b in bins], dtype=np.float64)
    ip_per_payload = 1500 / 1448  # MSS 1448 with TCP timestamps, 52 header bytes per segment

    def ip_rate(lo: float, hi: float) -> float:
        sel = (t >= lo) & (t + 0.1 <= hi)
        return float(got[sel].sum() * 8 * ip_per_payload / (0.1 * max(np.count_nonzero(sel), 1)))

    if os.environ.get("ORBEMU_NETEMU_DEBUG"):
        print("rates Mbit/s", [round(ip_rate(x, x + 1.0) / 1e6, 2) for x in range(1, 23)])
    first = t[np.flatnonzero(got)[0]] if np.any(got) else np.inf
    assert first < 2.0, f"the transfer only started at {first:.1f} s (a slow machine?)"
    steady = ip_rate(4.0, 9.5)
    assert abs(steady - RATE_BPS) <= 0.10 * RATE_BPS, f"steady {steady / 1e6:.2f} Mbit/s"
    during = ip_rate(OUTAGE_NS[0] / 1e9 + 0.5, OUTAGE_NS[1] / 1e9)
    assert during <= 0.01 * RATE_BPS, f"{during / 1e6:.3f} Mbit/s during the outage"
    after = ip_rate(OUTAGE_NS[1] / 1e9 + 3.0, 22.5)
    assert abs(after - RATE_BPS) <= 0.10 * RATE_BPS, f"after {after / 1e6:.2f} Mbit/s"


def test_teardown_leaves_no_namespace_interface_or_process(shell, sites, run_name):
    links_before = root_links()
    sim = NetworkSimulation(shell, sites, NetworkConfig(gsl_policy="nearest", gsl_per_node=1))
    nodes = select_nodes(shell, sites, ["site:*"], run=run_name)
    emu = Emulator(sim, nodes, start=START, run=run_name)
    emu.up()
    try:
        names = {n.netns for n in nodes}
        assert names <= netns_names()
        sleeper = emu.exec("paris", ["sleep", "600"])
        plane_pid = emu.plane.pid if emu.plane else -1
    finally:
        report = emu.down()
    assert not names & netns_names()
    assert not find_leftovers(run_name)
    assert not [e for e in _listdir("/etc/netns") if e.startswith(f"oe-{run_name}-")]
    assert root_links() == links_before  # nothing was created outside the namespaces
    assert sleeper.wait(timeout=5) is not None  # the program inside was stopped
    assert not os.path.exists(f"/proc/{plane_pid}/stat") or _zombie(plane_pid)
    assert not _marked_processes(run_name)
    assert set(report.namespaces) == names


def test_crash_cleanup_finds_leftovers_by_marker(tmp_path, run_name, state_dir):
    """kill -9 the controller and the plane, lose the state file: `down` still removes every
    namespace (by the marker inside it) and every process in them."""
    scenario = tmp_path / "two-cities.yaml"
    scenario.write_text(_SCENARIO)
    exe = _orbemu()
    up = subprocess.Popen([exe, "netemu", "up", str(scenario), "--run", run_name],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state_file = state_dir / run_name / "state.json"
    deadline = time.monotonic() + 120
    state = {}
    while time.monotonic() < deadline:
        if state_file.exists():
            state = json.loads(state_file.read_text())
            if state.get("status") == "running":
                break
        assert up.poll() is None, "orbemu netemu up exited"
        time.sleep(0.1)
    assert state.get("status") == "running"
    names = {n["netns"] for n in state["nodes"]}
    inside = subprocess.Popen([exe, "netemu", "exec", "london", "--run", run_name, "--",
                               "sleep", "600"])
    london = next(n["netns"] for n in state["nodes"] if n["name"] == "london")
    inode = os.stat(f"/run/netns/{london}").st_ino
    deadline = time.monotonic() + 30
    while not _in_namespace(inode) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _in_namespace(inode), "the program did not start inside london"
    os.kill(state["plane_pid"], signal.SIGKILL)
    os.kill(up.pid, signal.SIGKILL)
    up.wait(timeout=10)
    for f in (state_dir / run_name).iterdir():
        f.unlink()
    (state_dir / run_name).rmdir()
    assert names <= netns_names()  # the crash left them
    done = subprocess.run([exe, "netemu", "down", "--run", run_name], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert not names & netns_names()
    assert not [e for e in _listdir("/etc/netns") if e.startswith(f"oe-{run_name}-")]
    assert inside.wait(timeout=10) is not None
    assert not _marked_processes(run_name)


def test_hop_by_hop_through_satellite_namespaces(shell, sites, run_name):
    """Every satellite gets a namespace and forwards with kernel routes from the model: the
    echo reply's TTL counts the satellites crossed, and the RTT is the route's."""
    sim = NetworkSimulation(shell, sites.select([0, 1]),
                            NetworkConfig(gsl_policy="nearest", gsl_per_node=1))
    nodes = select_nodes(shell, sites.select([0, 1]), ["site:*", "sat:*"], run=run_name)
    settings = NetemuSettings(mode="hop", update_interval_ns=10**9,
                              plane=PlaneSettings(mode="hop"))
    with Emulator(sim, nodes, start=START, run=run_name, settings=settings) as emu:
        proc = emu.exec("london", python_tool("ping", "new-york", "-c", "20", "-i", "0.2",
                                              "--json"),
                        stdout=subprocess.PIPE, text=True)
        out, _ = proc.communicate(timeout=60)
        # one link layer: London reaches the satellite serving it directly (a neighbour), and
        # not a satellite it has no link to (no route toward satellites is installed)
        (now,) = sim.steps(emu.emulated_now() + 2 * 10**9, sources=[0], targets=[1])
        serving = int(now.routes.path(now.node(0), now.node(1))[1])
        far = (serving + len(shell) // 2) % len(shell)  # the other side of the Earth
        near = emu.exec("london", python_tool("ping", emu.nodes[2 + serving].address, "-c", "3",
                                              "-i", "0.2", "-W", "1"),
                        stdout=subprocess.PIPE, text=True).communicate(timeout=30)[0]
        away = emu.exec("london", python_tool("ping", emu.nodes[2 + far].address, "-c", "2",
                                              "-i", "0.2", "-W", "1"),
                        stdout=subprocess.PIPE, text=True).communicate(timeout=30)[0]
    assert " 3 received" in near, near
    assert " 0 received" in away, away
    replies = [json.loads(line) for line in out.splitlines() if '"rtt_ms"' in line]
    assert len(replies) >= 19
    mono = np.array([r["mono_ns"] for r in replies], dtype=np.int64)
    t_send = emulated_ns(emu, mono)
    # model: the route at each send instant (the emulator applies routes per 1 s update)
    steps = list(sim.steps(Time(t_send), sources=[0], targets=[1]))
    hops = np.array([s.routes.hops(s.node(0), s.node(1)) for s in steps])
    model = np.array([s.routes.rtt_s(s.node(0), s.node(1)) * 1e3 for s in steps])
    measured = np.array([r["rtt_ms"] for r in replies])
    ttl = np.array([r["ttl"] for r in replies])
    # the reply crossed hops - 1 satellites, each decrementing the TTL once
    assert np.median(64 - ttl) == np.median(hops) - 1
    # each satellite adds the plane's own per-hop cost; 2 × (hops) traversals per RTT
    err = np.median(measured - model)
    if os.environ.get("ORBEMU_NETEMU_DEBUG"):
        print("hop: hops", hops, "ttl", ttl, "err", (measured - model).round(3))
    assert -ONE_MS <= err <= 0.25 * 2 * np.median(hops), f"median error {err:.3f} ms"


def _orbemu() -> str:
    return os.path.join(os.path.dirname(sys.executable), "orbemu")


def _wait_running(state_file, proc, timeout_s: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if state_file.exists():
            try:
                state = json.loads(state_file.read_text())
            except ValueError:
                state = {}
            if state.get("status") == "running":
                return state
        assert proc.poll() is None, "orbemu exited before the emulation was running"
        time.sleep(0.1)
    raise AssertionError("the emulation did not start")


def test_cli_session_up_exec_fault_status_down(tmp_path, run_name, state_dir):
    """As a user: `up` in one terminal; `status`, `exec` a ping, force a node down (ICMP host
    unreachable from the router address), back up, `down` in another."""
    scenario = tmp_path / "two-cities.yaml"
    scenario.write_text(_SCENARIO)
    exe = _orbemu()
    up = subprocess.Popen([exe, "netemu", "up", str(scenario), "--run", run_name],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_running(state_dir / run_name / "state.json", up)
        status = subprocess.run([exe, "netemu", "status", "--run", run_name],
                                capture_output=True, text=True, check=True).stdout
        assert "london" in status and "10.64.0.1" in status and "plane running" in status

        def ping(count: int) -> str:
            return subprocess.run([exe, "netemu", "exec", "london", "--run", run_name, "--",
                                   "orbemu", "netemu", "tool", "ping", "new-york", "-c",
                                   str(count), "-i", "0.2"],
                                  capture_output=True, text=True, timeout=60).stdout

        assert "3 received" in ping(3)
        # node names resolve inside the nodes (ip netns exec's /etc/netns/NS/hosts)
        hosts = subprocess.run([exe, "netemu", "exec", "london", "--run", run_name, "--",
                                "getent", "hosts", "new-york"], capture_output=True, text=True,
                               timeout=30).stdout
        assert hosts.split()[:2] == ["10.64.0.2", "new-york"], hosts
        subprocess.run([exe, "netemu", "fault", "new-york", "down", "--run", run_name],
                       check=True, capture_output=True)
        out = ping(2)
        assert "From 10.127.255.254 icmp_seq=1 Destination Host Unreachable" in out, out
        assert "0 received" in out
        subprocess.run([exe, "netemu", "fault", "new-york", "up", "--run", run_name],
                       check=True, capture_output=True)
        assert "2 received" in ping(2)
    finally:
        done = subprocess.run([exe, "netemu", "down", "--run", run_name], capture_output=True,
                              text=True, timeout=60)
        up.wait(timeout=30)
    assert done.returncode == 0 and "removed 2 namespaces" in done.stderr, done.stderr
    assert not any(n.startswith(f"oe-{run_name}-") for n in netns_names())


def test_orbemu_run_with_a_netemu_section(tmp_path, state_dir):
    """`orbemu run` of a scenario with `netemu:`: the live network runs on the engine's clock
    for the run and is gone at its end."""
    scenario = tmp_path / "live.yaml"
    scenario.write_text(_SCENARIO.replace(
        "run: {start: 2026-01-01T00:00:00Z, duration: 1h, step: 10s}",
        "run: {start: 2026-01-01T00:00:00Z, duration: 15s, step: 1s, clock: realtime}")
        + "netemu: {}\noutputs: {report: false}\n")
    exe = _orbemu()
    run = subprocess.Popen([exe, "run", str(scenario), "--out", str(tmp_path / "r")],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        state = _wait_running(state_dir / "main" / "state.json", run)
        ping = subprocess.run([exe, "netemu", "exec", "london", "--", "orbemu", "netemu", "tool",
                               "ping", "new-york", "-c", "5", "-i", "0.2", "--json"],
                              capture_output=True, text=True, timeout=60).stdout
        out, err = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
            run.communicate()
    assert run.returncode == 0, err
    assert "completed" in out and "live network: removed 2 namespaces" in err
    replies = [json.loads(line) for line in ping.splitlines() if '"rtt_ms"' in line]
    assert len(replies) == 5
    # the model: London -> New York at the run's start is 98.7 ms (route unchanged until 25 s)
    sim = NetworkSimulation(*_two_cities(), NetworkConfig(gsl_policy="nearest", gsl_per_node=1))
    (step,) = sim.steps(START + 5 * 10**9, sources=[0], targets=[1])
    model_ms = step.routes.rtt_s(step.node(0), step.node(1)) * 1e3
    assert abs(np.median([r["rtt_ms"] for r in replies]) - model_ms) <= ONE_MS
    assert not any(n.startswith("oe-main-") for n in netns_names())
    assert state["label"] == "two-cities"


def _two_cities():
    from orbemu.orbits.ground_nodes import GroundNodes
    from orbemu.orbits.walker import walker_delta
    sats = walker_delta(24, 22, 1, inclination_deg=53.0, altitude_m=550e3)
    ground = GroundNodes.from_arrays(["london", "new-york"], [51.51, 40.71], [-0.13, -74.01],
                                     [20.0, 10.0], roles="site")
    return sats, ground


_SCENARIO = """\
name: two-cities
run: {start: 2026-01-01T00:00:00Z, duration: 1h, step: 10s}
constellations:
  - name: shell
    walker: {planes: 24, sats_per_plane: 22, phasing: 1, altitude_km: 550, inclination_deg: 53}
    role: relay
ground:
  sites:
    - {name: london, lat_deg: 51.51, lon_deg: -0.13, alt_m: 20}
    - {name: new-york, lat_deg: 40.71, lon_deg: -74.01, alt_m: 10}
network:
  gsl: {policy: nearest, max_per_node: 1, min_elevation_deg: 25}
  monitor: [site:london -> site:new-york]
"""


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


def _in_namespace(inode: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}/ns/net").st_ino == inode:
                    out.append(int(entry))
            except OSError:
                pass
    return out


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def _marked_processes(run: str) -> list[int]:
    needle = f"{ENV_RUN}={run}\0".encode()
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                env = f.read()
        except OSError:
            continue
        if needle in env and not _zombie(int(entry)):
            out.append(int(entry))
    return out
