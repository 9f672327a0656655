"""Crash safety: a writer killed with SIGKILL mid-run leaves a database that opens and holds
every step up to its last commit, whole, and nothing after it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from orbemu.store import SQLiteSink, query, read_progress

N_SATS = 300
STEP_NS = 10 * 10**9
COMMIT_EVERY = 3

WRITER = textwrap.dedent(f"""
    import sys
    import numpy as np
    from orbemu.store import Event, RunInfo, SQLiteSink

    sink = SQLiteSink(sys.argv[1], batch_rows=1000, commit_every_steps={COMMIT_EVERY},
                      commit_interval_s=None)
    sink.start_run(RunInfo(name="crash", seed=1, step_ns={STEP_NS}))
    sat = np.arange({N_SATS})
    step = 0
    while True:  # until killed
        t = step * {STEP_NS}
        sink.write_housekeeping(t, sat, {{"soc": (sat + step) / 1e4, "mode": sat % 4}})
        sink.write_events([Event(t, "tick", str(step))])
        sink.end_step(step, t)
        if (step + 1) % {COMMIT_EVERY} == 0:
            print(step, flush=True)  # committed through this step
        step += 1
""")


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")
def test_sigkill_mid_run_keeps_every_committed_step(tmp_path):
    run = tmp_path / "run"
    with subprocess.Popen([sys.executable, "-c", WRITER, str(run)], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, env=os.environ.copy()) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        seen = -1
        try:
            while seen < 10 * COMMIT_EVERY:  # let it commit a few times, then kill it mid-write
                line = proc.stdout.readline()
                if not line:
                    pytest.fail(f"writer exited early: {proc.stderr.read()}")
                seen = int(line)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    assert (run / "telemetry.sqlite-wal").exists()  # it died without closing
    assert query(run, "PRAGMA integrity_check")[1] == [("ok",)]
    last_step, last_t = read_progress(run)
    assert last_step >= seen and (last_step + 1) % COMMIT_EVERY == 0
    assert last_t == last_step * STEP_NS
    _, rows = query(run, "SELECT time_ns, count(*), sum(sat), min(soc) FROM housekeeping "
                         "GROUP BY time_ns ORDER BY time_ns")
    # every step up to the last commit, whole; nothing after it
    assert [r[0] for r in rows] == [s * STEP_NS for s in range(last_step + 1)]
    assert all(r[1] == N_SATS and r[2] == N_SATS * (N_SATS - 1) // 2 for r in rows)
    assert all(r[3] == s / 1e4 for s, r in enumerate(rows))
    assert query(run, "SELECT count(*), max(time_ns) FROM events")[1] == [
        (last_step + 1, last_step * STEP_NS)]
    assert query(run, "SELECT status FROM runs")[1] == [("running",)]

    # and the run resumes: reopen, cut back to a checkpoint, continue
    sink = SQLiteSink(run, resume=True)
    assert sink.last_committed() == (last_step, last_t)
    back = last_step - COMMIT_EVERY
    sink.resume(back * STEP_NS, back)
    sink.write_housekeeping((back + 1) * STEP_NS, [0], {"soc": [0.5]})
    sink.end_step(back + 1, (back + 1) * STEP_NS)
    sink.close()
    assert read_progress(run) == (back + 1, (back + 1) * STEP_NS)
    assert query(run, "SELECT max(time_ns) FROM housekeeping")[1] == [((back + 1) * STEP_NS,)]
    assert query(run, "SELECT status, resumed FROM runs")[1] == [("completed", 1)]
