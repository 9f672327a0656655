"""Ground operations: contact windows, scheduling and queues for 1,000 satellites × 50 stations.

    python -m benchmarks.ground_ops

An EO-like Walker shell (40 planes × 25, 97.6°, 550 km) over 50 commercial stations (spread
through the bundled ``commercial`` list: KSAT, AWS, Atlas, Leaf, SSC, Viasat, NEN...; 10°
minimum elevation, two antennas each, 60 s setup, 3°/s slew, X-band EO downlink budget) for one
day. Measured in the same run:

- contact windows: pass finding, then the link budget along each window (ratio to pass finding);
- greedy scheduling on the whole day; the optimal MILP on 20 satellites of the shell (one in 50)
  over the first 6 hours, with a time limit, and greedy on the same subset: value ratio
  greedy / optimal (and greedy / proven bound);
- the queue step (downlink, 1,000 satellites, payload bulk + housekeeping every 60 s) at 10 s
  steps over the day, against the bare plan look-up (``ContactPlan.active``) as the baseline.
"""

from __future__ import annotations

import time

import numpy as np

from orbemu import load_ground_nodes
from orbemu.comms.packets import SequenceCounters, encode_housekeeping
from orbemu.comms.queues import PacketQueues
from orbemu.ground import GroundStations, contact_windows_from_passes
from orbemu.ground.scheduling import schedule_greedy, schedule_optimal
from orbemu.orbits.passes import find_passes
from orbemu.orbits.walker import walker_delta
from orbemu.time import Time

START = Time.parse("2026-05-30T00:00:00Z")
DAY_NS = 86_400 * 10**9
STEP_NS = 10 * 10**9


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main() -> None:
    sats = walker_delta(40, 25, 1, inclination_deg=97.6, altitude_m=550e3, epoch=START)
    allnodes = load_ground_nodes("commercial", min_elevation_deg=10.0)
    nodes = allnodes.select(np.linspace(0, len(allnodes) - 1, 50).astype(int))
    stations = GroundStations.from_nodes(nodes, antennas=2, setup_s=60.0, slew_rate_deg_s=3.0)
    find_passes(sats.select(slice(0, 5)), nodes, START, 3600 * 10**9)  # compile / warm up
    t_pass, passes = _timed(lambda: find_passes(sats, nodes, START, DAY_NS))
    t_budget, windows = _timed(lambda: contact_windows_from_passes(passes, sats, stations))
    print(f"{len(sats)} satellites × {len(nodes)} stations, 24 h: {len(windows)} windows, "
          f"{windows.volume_down_bits.sum() / 8e12:.1f} TB achievable down")
    print(f"  pass finding {t_pass:.2f} s; budget along windows (21 samples) {t_budget:.2f} s "
          f"({t_budget / t_pass:.2f}× pass finding)")
    t_greedy, greedy = _timed(lambda: schedule_greedy(windows, stations))
    assert not greedy.violations(stations)
    print(f"  greedy schedule: {t_greedy:.2f} s, {len(greedy)} contacts, "
          f"{greedy.volume_down_bits.sum() / 8e12:.2f} TB "
          f"({greedy.total_value / windows.volume_down_bits.sum():.1%} of all windows)")

    sub = windows.select((windows.sat % 50 == 0)
                         & (windows.aos_ns < int(START) + DAY_NS // 4))
    g_sub = schedule_greedy(sub, stations)
    t_opt, opt = _timed(lambda: schedule_optimal(sub, stations, time_limit_s=120.0,
                                                 mip_rel_gap=1e-4))
    assert not opt.violations(stations)
    print(f"  subset 20 satellites, 6 h ({len(sub)} windows): greedy {g_sub.solve_s:.3f} s, "
          f"optimal MILP {t_opt:.1f} s ({opt.status}); greedy/optimal = "
          f"{g_sub.total_value / opt.total_value:.4f}, greedy/bound = "
          f"{g_sub.total_value / opt.upper_bound:.4f}")

    # Queue steps over the day.
    n = len(sats)
    queues = PacketQueues(n)
    counters = SequenceCounters(n)
    rng = np.random.default_rng(0)
    ids = sats.norad_ids
    pos = np.zeros((n, 3))
    times = np.arange(int(START), int(START) + DAY_NS, STEP_NS)
    t_look = 0.0
    t_step = 0.0
    t_fill = 0.0
    active_total = 0
    for i, t in enumerate(times.tolist()):
        a = time.perf_counter()
        rows = greedy.active(t, t + STEP_NS)
        b = time.perf_counter()
        queues.step(greedy, t, STEP_NS)
        c = time.perf_counter()
        t_look += b - a
        t_step += c - b
        active_total += rows.size
        # Payload: ~1 % of satellites capture an image (2,000 packets of 4 kB) per step; HK each
        # minute for everyone (not timed as step cost).
        capture = np.flatnonzero(rng.random(n) < 0.01)
        queues.push_bulk(capture, 2000, 4096, t)
        if i % 6 == 0:
            hk = encode_housekeeping(ids, counters.take(np.arange(n), "hk"), t, pos)
            queues.push_many(np.arange(n), hk, t)
        t_fill += time.perf_counter() - c
    d = queues.deliveries()
    steps = times.size
    print(f"  queues: {steps} steps of 10 s, mean {active_total / steps:.1f} active contacts; "
          f"step {t_step / steps * 1e6:.0f} µs vs plan look-up {t_look / steps * 1e6:.0f} µs "
          f"({t_step / max(t_look, 1e-12):.1f}×); filling {t_fill / steps * 1e6:.0f} µs/step")
    print(f"  delivered {queues.delivered_bytes.sum() / 1e12:.2f} TB in {len(d)} deliveries, "
          f"median latency {np.median(d.latency_s) / 60:.0f} min, "
          f"{queues.queued_bytes.sum() / 1e12:.2f} TB still queued")


if __name__ == "__main__":
    main()
