"""A light version of ``benchmarks/web.py``: 20 WebSocket clients on one run. Every client
gets the full state, snapshots in order up to the last step, and the events; the run ends as
it does without them. (Speeds and lags are measured by the benchmark, not asserted here.)"""

from __future__ import annotations

import asyncio
import json
import struct

import pytest

websockets = pytest.importorskip("websockets")


async def _client(url: str, seen: dict[str, list]) -> None:
    async with websockets.connect(url, max_size=None, compression=None) as ws:
        await ws.send(json.dumps({"type": "hello", "rate": 20}))
        while True:
            msg = await asyncio.wait_for(ws.recv(), 120)
            if isinstance(msg, bytes):
                (h,) = struct.unpack("<I", msg[4:8])
                header = json.loads(msg[8:8 + h])
                seen["steps"].append(header["step"])
                assert len(msg) == 8 + h + 52 * 3 * 4
                # the last snapshot: the run_end event was recorded before it (a snapshot of
                # step 360 may come first, while the run is still "running")
                if header["step"] == 360 and header["state"] == "completed":
                    return
            else:
                d = json.loads(msg)
                seen["types"].append(d["type"])
                if d["type"] == "events":
                    seen["events"] += [e["seq"] for e in d["events"]]


def test_twenty_clients_follow_one_run(api):
    rid = api.start(paused=True)
    api.wait(rid, lambda s: s["state"] == "paused")
    url = f"{api.ws_url}/api/runs/{rid}/stream"
    seen = [{"steps": [], "types": [], "events": []} for _ in range(20)]

    async def main() -> None:
        tasks = [asyncio.create_task(_client(url, s)) for s in seen]
        while any(len(s["steps"]) == 0 for s in seen):
            await asyncio.sleep(0.05)
        await asyncio.to_thread(api.client.post, f"/api/runs/{rid}/resume")
        await asyncio.wait_for(asyncio.gather(*tasks), 300)

    asyncio.run(main())
    st = api.client.get(f"/api/runs/{rid}").json()
    assert st["state"] == "completed" and st["step"] == 360
    n_events = sum(st["events_by_kind"].values())
    for s in seen:
        assert s["types"][:2] == ["status", "state"]
        assert s["steps"][0] == 0 and s["steps"][-1] == 360
        assert s["steps"] == sorted(s["steps"])
        # every event once, in order (none skipped: the buffer holds the whole run)
        assert s["events"] == list(range(1, n_events + 1))
