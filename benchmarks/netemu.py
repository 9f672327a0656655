"""Live network emulation benchmark: namespaces at scale, route updates, the packet plane.

    python -m benchmarks.netemu            # ≈ 3 min on 2 cores; root (skips otherwise)
    python -m benchmarks.netemu --quick    # smaller runs
    python -m benchmarks.netemu --large    # also 4,410 namespaces

1. Scale: a 72 × 22 Walker shell at 550 km (1,584 satellites, the shell OpenSN needs 4 × 16
   cores for) plus London and New York: 1,586 namespaces in path mode, every pair's route
   delay and bottleneck recomputed every emulated second (2.5 million pairs). Time to bring up,
   update cost (mean/max), stale tables and skipped updates over a while, time to tear down.
   Baseline: namespaces made one ``ip netns add`` process at a time (timed for 100,
   extrapolated). The same in hop-by-hop mode (TAP devices, every satellite forwards, kernel
   routes toward the two sites updated from the model every second).
2. Packet plane, two namespaces (London → New York, ~49 ms one way): UDP floods (64 B and
   1,400 B datagrams) and a TCP transfer through the plane; baseline: the same between two
   namespaces joined by a veth pair (the kernel alone, no delay). On 2 cores the sender, the
   plane and the receiver compete, so the flood rates are the slowest of the three; the plane's
   own cost is its CPU time per packet carried (from /proc), and its capacity the inverse.
3. The emulator's own delay error: UDP probes at 1,000 packets/s for 10 s; one-way delay from
   the kernel's transmit timestamp at the sender to its receive timestamp at the receiver,
   minus the delay of the route table the plane applied; and the plane's own lateness at
   release (p50/p99).

Wall-clock figures on a shared machine: run it when the machine is quiet and read the ratios.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterator

import numpy as np

from orbemu.errors import UnavailableError
from orbemu.netemu import Emulator, NetemuSettings, PlaneSettings, select_nodes
from orbemu.netemu._sys import check_capabilities
from orbemu.network.simulation import NetworkConfig, NetworkSimulation
from orbemu.orbits.ground_nodes import GroundNodes
from orbemu.orbits.walker import walker_delta
from orbemu.time import Time

START = Time.parse("2026-01-01T00:00:00Z")


def _tool(*args: str) -> list[str]:
    from orbemu.netemu.tools import tool_argv
    return tool_argv(*args)


def _sites() -> GroundNodes:
    return GroundNodes.from_arrays(["london", "new-york"], [51.51, 40.71], [-0.13, -74.01],
                                   [20.0, 10.0], roles="site")


# ---- 1. scale ------------------------------------------------------------------------------------
def namespaces_vs_baseline(n: int) -> tuple[float, float]:
    """Seconds to make ``n`` marked namespaces with loopback up: orbemu's way (one ``ip -batch``,
    then rtnetlink in-process) and the usual way (``ip`` processes per namespace)."""
    from orbemu.netemu.addressing import AddressPlan
    from orbemu.netemu.namespaces import create_namespaces, teardown

    plan = AddressPlan()
    nodes = [plan.node("bench", "ground", i, f"n{i}") for i in range(n)]
    t = time.perf_counter()
    create_namespaces("bench", nodes)
    ours = time.perf_counter() - t
    teardown("bench")
    names = [f"oe-bench-{i}" for i in range(n)]
    t = time.perf_counter()
    for name in names:
        subprocess.run(["ip", "netns", "add", name], check=True)
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up", "alias", "bench"],
                       check=True)
    base = time.perf_counter() - t
    subprocess.run(["ip", "-force", "-batch", "-"], input="\n".join(
        f"netns del {x}" for x in names), text=True, check=False, capture_output=True)
    return ours, base


def scale(planes: int, per_plane: int, run_s: float, mode: str) -> dict[str, float]:
    sats = walker_delta(planes, per_plane, 1, inclination_deg=53.0, altitude_m=550e3)
    sites = _sites()
    sim = NetworkSimulation(sats, sites, NetworkConfig(gsl_policy="nearest", gsl_per_node=1))
    nodes = select_nodes(sats, sites, ["site:*", "sat:*"], run="bench")
    settings = NetemuSettings(mode=mode, update_interval_ns=10**9,  # type: ignore[arg-type]
                              plane=PlaneSettings(mode=mode))
    emu = Emulator(sim, nodes, start=START, run="bench", settings=settings)
    t = time.perf_counter()
    emu.up()
    up_s = time.perf_counter() - t
    try:
        time.sleep(run_s)
        st = emu.status()
        stale = (st.get("plane_stats") or {}).get("counters", {}).get("stale_tables", 0)
        routes = st["route_changes"] or 0
    finally:
        t = time.perf_counter()
        emu.down()
        down_s = time.perf_counter() - t
    return {"namespaces": len(nodes), "up_s": up_s, "down_s": down_s,
            "updates": st["updates"], "update_ms_mean": st["update_ms_mean"],
            "update_ms_max": st["update_ms_max"], "stale": stale, "skipped": st["skipped"],
            "route_changes": routes}


# ---- 2./3. the plane -----------------------------------------------------------------------------
@contextlib.contextmanager
def _pair_emulator(rate_bps: float | None = None) -> Iterator[Emulator]:
    sats = walker_delta(24, 22, 1, inclination_deg=53.0, altitude_m=550e3)
    sites = _sites()
    kw = {} if rate_bps is None else {"gsl_capacity": rate_bps}
    sim = NetworkSimulation(sats, sites, NetworkConfig(gsl_policy="nearest", gsl_per_node=1,
                                                       **kw))  # type: ignore[arg-type]
    nodes = select_nodes(sats, sites, ["site:*"], run="bench")
    emu = Emulator(sim, nodes, start=START, run="bench",
                   settings=NetemuSettings(plane=PlaneSettings(queue_ms=1000.0)))
    emu.up()
    try:
        yield emu
    finally:
        emu.down()


@contextlib.contextmanager
def _veth_pair() -> Iterator[tuple[str, str]]:
    """Baseline: two namespaces joined by a veth pair (10.250.0.1 / 10.250.0.2)."""
    a, b = "oe-bench-va", "oe-bench-vb"
    cmds = [f"netns add {a}", f"netns add {b}",
            f"link add oebva netns {a} type veth peer name oebvb netns {b}"]
    subprocess.run(["ip", "-batch", "-"], input="\n".join(cmds), text=True, check=True)
    for ns, dev, addr in ((a, "oebva", "10.250.0.1/24"), (b, "oebvb", "10.250.0.2/24")):
        subprocess.run(["ip", "-n", ns, "addr", "add", addr, "dev", dev], check=True)
        subprocess.run(["ip", "-n", ns, "link", "set", dev, "up"], check=True)
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
    try:
        yield a, b
    finally:
        subprocess.run(["ip", "-force", "-batch", "-"], input=f"netns del {a}\nnetns del {b}",
                       text=True, check=False, capture_output=True)


def _in(ns: str, argv: list[str], **kw: object) -> subprocess.Popen[str]:
    return subprocess.Popen(["ip", "netns", "exec", ns, *argv], text=True, **kw)  # type: ignore


def _flood(start_sink, start_send, dest: str, size: int, count: int) -> dict[str, float]:
    sink = start_sink(_tool("udp-sink", "--summary", "--count", str(count), "--timeout-s", "2"),
                      stdout=subprocess.PIPE)
    sink.stdout.readline()
    t = time.monotonic_ns()
    send = start_send(_tool("udp-send", dest, "--rate-pps", "0", "--count", str(count),
                            "--size", str(size)))
    send.wait(timeout=300)
    t_sent = time.monotonic_ns()
    out, _ = sink.communicate(timeout=300)
    res = json.loads(out.strip().splitlines()[-1])
    span = max((res["last_mono_ns"] - res["first_mono_ns"]) / 1e9, 1e-9)
    return {"sent_pps": count / ((t_sent - t) / 1e9), "pps": res["received"] / span,
            "mbps": res["bytes"] * 8 / span / 1e6, "loss": 1 - res["received"] / count}


def _tcp(start_sink, start_send, dest: str, seconds: float) -> float:
    sink = start_sink(_tool("tcp-sink", "--json", "--timeout-s", "10"), stdout=subprocess.PIPE)
    sink.stdout.readline()
    send = start_send(_tool("tcp-send", dest, "--duration-s", str(seconds)),
                      stdout=subprocess.DEVNULL)
    send.wait(timeout=120)
    out, _ = sink.communicate(timeout=120)
    bins = [json.loads(x) for x in out.splitlines() if '"mono_ns"' in x]
    got = np.array([b["bytes"] for b in bins], dtype=float)
    steady = got[len(got) // 4:-2] if len(got) > 8 else got  # after slow start
    return float(steady.sum() * 8 / (0.1 * max(len(steady), 1)) / 1e6)


def _cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _carried(emu: Emulator) -> int:
    time.sleep(1.2)  # the plane writes its counters every second
    stats = emu.status()["plane_stats"] or {}
    return int(stats.get("counters", {}).get("tx_packets", 0))


def plane_throughput(count: int) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    with _pair_emulator() as emu:
        def sink(argv, **kw):
            return emu.exec("new-york", argv, text=True, **kw)

        def send(argv, **kw):
            return emu.exec("london", argv, text=True, **kw)

        assert emu.plane is not None
        for size in (64, 1400):
            before = _carried(emu), _cpu_s(emu.plane.pid)
            out[f"plane udp {size} B"] = _flood(sink, send, "new-york", size, count)
            after = _carried(emu), _cpu_s(emu.plane.pid)
            per = (after[1] - before[1]) / max(after[0] - before[0], 1)
            out[f"plane udp {size} B"]["plane_cpu_us_per_packet"] = per * 1e6
            out[f"plane udp {size} B"]["capacity_pps"] = 1.0 / per
        out["plane tcp"] = {"mbps": _tcp(sink, send, "new-york", 8.0)}
        # Linux's default windows (tcp_rmem max 6 MB) cap TCP at ~250 Mbit/s over 98 ms:
        # with 64 MB windows the plane is what limits
        for node in ("london", "new-york"):
            for key in ("net.ipv4.tcp_rmem=4096 131072 67108864",
                        "net.ipv4.tcp_wmem=4096 16384 67108864"):
                subprocess.run(["ip", "netns", "exec", emu.node(node).netns, "sysctl", "-qw",
                                key], check=True)
        out["plane tcp, 64 MB windows"] = {"mbps": _tcp(sink, send, "new-york", 8.0)}
    with _veth_pair() as (a, b):
        def vsink(argv, **kw):
            return _in(b, argv, **kw)

        def vsend(argv, **kw):
            return _in(a, argv, **kw)

        for size in (64, 1400):
            out[f"veth udp {size} B"] = _flood(vsink, vsend, "10.250.0.2", size, count)
        out["veth tcp"] = {"mbps": _tcp(vsink, vsend, "10.250.0.2", 4.0)}
    return out


def delay_error(rate_pps: int, seconds: float) -> dict[str, float]:
    with _pair_emulator() as emu:
        n = int(rate_pps * seconds)
        sink = emu.exec("new-york", _tool("udp-sink", "--count", str(n), "--timeout-s", "3"),
                        stdout=subprocess.PIPE, text=True)
        sink.stdout.readline()
        send = emu.exec("london", _tool("udp-send", "new-york", "--rate-pps", str(rate_pps),
                                        "--count", str(n), "--tx-stamps"),
                        stdout=subprocess.PIPE, text=True)
        tx_out, _ = send.communicate(timeout=seconds * 3 + 30)
        rx_out, _ = sink.communicate(timeout=seconds * 3 + 30)
        stats = emu.status()["plane_stats"] or {}
        mono0 = emu.mono0_ns
        wall0 = time.time_ns() - (time.monotonic_ns() - mono0)  # CLOCK_REALTIME at mono0
        # the tables the plane applied: one per 100 ms instant
        k_max = int(seconds * 10) + 40
        grid = Time(int(START.ns) + np.arange(k_max, dtype=np.int64) * emu.interval_ns)
        table = np.array([d[0, 1] for _, d, _ in emu.tables_at(grid)])
    tx = dict(line.split() for line in tx_out.splitlines() if line.strip())
    rows = [line.split() for line in rx_out.splitlines() if line and line[0].isdigit()]
    err = []
    for seq, _, recv in rows:
        if seq not in tx:
            continue
        t_tx = int(tx[seq])
        k = (t_tx - wall0) // emu.interval_ns
        if 0 <= k < table.size:
            err.append((int(recv) - t_tx) / 1e6 - table[k] * 1e3)
    e = np.array(err)
    late = stats.get("release_late_us", {})
    return {"packets": e.size, "err_p50_ms": float(np.percentile(e, 50)),
            "err_p99_ms": float(np.percentile(e, 99)), "err_max_ms": float(e.max()),
            "release_late_p50_us": late.get("p50"), "release_late_p99_us": late.get("p99")}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--large", action="store_true",
                   help="also 4,410 namespaces (76 x 58 shell: StarryNet's 4,408 satellites)")
    args = p.parse_args(argv if argv is not None else [])
    try:
        check_capabilities()
    except UnavailableError as exc:
        print(f"skipped: {exc}")
        return
    print(f"machine: {platform.machine()}, {platform.processor() or '?'}, "
          f"{os.cpu_count()} cores, Linux {platform.release()}")
    planes, per, run_s = (36, 22, 8.0) if args.quick else (72, 22, 20.0)
    base_n = 200
    ours, base = namespaces_vs_baseline(base_n)
    print(f"namespaces ({base_n}, marked, loopback up): {ours:.2f} s batched vs {base:.2f} s "
          f"with ip processes per namespace: x{base / ours:.1f}")
    for mode in ("path", "hop"):
        r = scale(planes, per, run_s, mode)
        ns = r["namespaces"]
        print(f"scale ({mode}): {ns} namespaces up in {r['up_s']:.1f} s (namespaces, devices, "
              f"first tables, plane), down in {r['down_s']:.1f} s; the namespaces alone with ip "
              f"processes: ≈ {base / base_n * ns:.1f} s")
        what = (f"{ns}² pair routes" if mode == "path"
                else f"link table + kernel routes toward 2 sites ({r['route_changes']} "
                     "route entries changed)")
        print(f"  updates every second ({what}): {r['updates']} in {run_s:.0f} s, mean "
              f"{r['update_ms_mean']:.0f} ms, max {r['update_ms_max']:.0f} ms, "
              f"stale tables {r['stale']}, skipped {r['skipped']}")
    if args.large:
        for mode in ("hop", "path"):
            r = scale(76, 58, run_s, mode)
            print(f"large ({mode}): {r['namespaces']} namespaces up in {r['up_s']:.1f} s, down "
                  f"in {r['down_s']:.1f} s; updates every second: {r['updates']} in "
                  f"{run_s:.0f} s, mean {r['update_ms_mean']:.0f} ms, max "
                  f"{r['update_ms_max']:.0f} ms, stale {r['stale']}, skipped {r['skipped']}")
    count = 20_000 if args.quick else 100_000
    tp = plane_throughput(count)
    for key, val in tp.items():
        print(f"{key}: " + ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}"
                                     for k, v in val.items()))
    for size in (64, 1400):
        pl, ve = tp[f"plane udp {size} B"], tp[f"veth udp {size} B"]
        print(f"  udp {size} B: plane/veth = {pl['pps'] / ve['pps']:.2f} (packets/s)")
    print(f"  tcp (64 MB windows): plane/veth = "
          f"{tp['plane tcp, 64 MB windows']['mbps'] / tp['veth tcp']['mbps']:.3f}")
    de = delay_error(1000, 5.0 if args.quick else 10.0)
    print("delay error (one way, kernel tx → kernel rx, minus the applied table): "
          f"{de['packets']} packets, p50 {de['err_p50_ms'] * 1e3:.0f} µs, "
          f"p99 {de['err_p99_ms'] * 1e3:.0f} µs, max {de['err_max_ms'] * 1e3:.0f} µs; "
          f"plane release lateness p50 {de['release_late_p50_us']} µs, "
          f"p99 {de['release_late_p99_us']} µs")


if __name__ == "__main__":
    main(sys.argv[1:])
