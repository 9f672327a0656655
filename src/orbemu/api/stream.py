"""The WebSocket stream of a run, with back-pressure that never reaches the engine.

Protocol (``/api/runs/{id}/stream``):

1. The client sends ``{"type": "hello", "token": ..., "rate": 4}`` (token when the server needs
   one for reads or the client wants to send control messages; ``rate``: snapshots per second,
   0.1–20).
2. The server answers with the full state (JSON ``{"type": "state", ...}``, see
   :mod:`orbemu.api.snapshot`), then the recent events (``{"type": "events", ...}``).
3. From then on, at the client's rate: a binary snapshot when a newer one exists, and the events
   recorded since the last message (``skipped`` counts those a slow client missed: at most 500
   are sent at once, the buffer keeps 5,000).
4. The client may send ``{"type": "rate", "hz": 2}``, and control messages
   ``{"type": "control", "action": "pause"|"resume"|"step"|"speed"|"stop"|"fault", ...}``
   (``n`` for step, ``clock`` for speed, ``spec``/``at`` for fault), answered by
   ``{"type": "ack", "id": ..., "status": {...}}`` or ``{"type": "error", "status": 401|403|
   400|409, ...}``. Control messages need the token whenever the server has one.

**Back-pressure.** Each client has its own task and one slot: the latest snapshot. A client that
reads slowly makes only its own ``send`` wait; meanwhile newer snapshots replace older ones
(latest wins), so it receives fewer, never older ones, and never more than one snapshot is held
for it. Events are kept once for all clients in a bounded buffer. The engine only swaps the
snapshot reference: no client can slow it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from orbemu.api.runs import LiveRun, ReplayRun, RunManager, error_dict, parse_clock
from orbemu.api.security import ApiError, Auth, same_origin
from orbemu.api.snapshot import dumps
from orbemu.errors import OrbemuError

__all__ = ["serve_stream"]

HELLO_TIMEOUT_S = 10.0
MAX_MESSAGE_BYTES = 4096
EVENTS_PER_MESSAGE = 500


async def _send_error(ws: WebSocket, status: int, message: str, close: bool = False,
                      msg_id: Any = None) -> None:
    with contextlib.suppress(Exception):
        await ws.send_text(dumps({"type": "error", "status": status, "message": message,
                                  "id": msg_id}))
        if close:
            await ws.close(code=1008 if status in (401, 403) else 1011)


async def _control(run: LiveRun | ReplayRun, msg: dict[str, Any]) -> dict[str, Any]:
    action = msg.get("action")
    if action == "pause":
        await asyncio.to_thread(run.pause)
    elif action == "resume":
        await asyncio.to_thread(run.resume)
    elif action == "step":
        n = int(msg.get("n", 1))
        if not 1 <= n <= 100_000:
            raise ApiError(400, f"step count must be 1 … 100,000, got {n}")
        await asyncio.to_thread(run.step, n)
    elif action == "speed":
        mode, speed = parse_clock(str(msg.get("clock", "")))
        await asyncio.to_thread(run.set_clock, mode, speed)
    elif action == "stop":
        await asyncio.to_thread(run.stop)
    elif action == "fault":
        spec = str(msg.get("spec", ""))[:501]
        at = msg.get("at")
        return {"fault": await asyncio.to_thread(run.inject, spec,
                                                 None if at is None else str(at)[:40])}
    else:
        raise ApiError(400, f"unknown control action {action!r}",
                       fix="pause, resume, step, speed, stop or fault")
    return {"status": run.status()}


async def serve_stream(ws: WebSocket, run_id: str, runs: RunManager, auth: Auth) -> None:
    """One client's stream (see the module notes)."""
    if not same_origin(ws.headers):  # a page of another site
        await ws.close(code=1008)
        return
    await ws.accept()
    try:
        raw = await asyncio.wait_for(ws.receive_text(), HELLO_TIMEOUT_S)
        hello = json.loads(raw) if len(raw) <= MAX_MESSAGE_BYTES else None
        if not isinstance(hello, dict) or hello.get("type") != "hello":
            raise ValueError("the first message must be {\"type\": \"hello\", ...}")
    except TimeoutError:
        await _send_error(ws, 400, "no hello within 10 s", close=True)
        return
    except (ValueError, WebSocketDisconnect, RuntimeError) as exc:
        await _send_error(ws, 400, str(exc), close=True)
        return
    token = hello.get("token")
    token = str(token) if token else None
    try:
        auth.check(token, control=False)
    except ApiError as exc:
        await _send_error(ws, exc.status, exc.message, close=True)
        return
    try:
        run = await asyncio.to_thread(runs.get, run_id)
    except OrbemuError as exc:
        await _send_error(ws, 404, str(exc), close=True)
        return
    await ws.send_text(dumps({"type": "status", **run.status()}))
    await asyncio.to_thread(run.ready.wait, 600)
    if run.layout is None:
        await _send_error(ws, 409, f"run {run_id} is {run.state}: "
                          + (run.error or {}).get("message", ""), close=True)
        return
    await ws.send_text(dumps(run.layout.full_state(run.id, run.status())))
    pub = run.publisher
    client = id(ws)
    try:
        rate = float(hello.get("rate", 4.0))
    except (TypeError, ValueError):
        rate = 4.0
    rate = pub.set_rate(client, rate)
    rate_box = [rate]
    _, _, newest = pub.events_since(0, 1)
    text, ev_seq = pub.events_json_since(max(0, newest - 200), 200)  # the recent ones
    if text is not None:
        await ws.send_text(text)

    async def receiver() -> None:
        while True:
            raw = await ws.receive_text()
            msg_id = None
            try:
                if len(raw) > MAX_MESSAGE_BYTES:
                    raise ApiError(413, f"a message is at most {MAX_MESSAGE_BYTES} bytes")
                msg = json.loads(raw)
                if not isinstance(msg, dict):
                    raise ApiError(400, "messages are JSON objects")
                msg_id = msg.get("id")
                if msg.get("type") == "rate":
                    rate_box[0] = pub.set_rate(client, float(msg.get("hz", 4.0)))
                    await ws.send_text(dumps({"type": "ack", "id": msg_id,
                                              "rate": rate_box[0]}))
                elif msg.get("type") == "control":
                    given = msg.get("token") or token
                    auth.check(str(given) if given else None, control=True)
                    result = await _control(run, msg)
                    await ws.send_text(dumps({"type": "ack", "id": msg_id, **result}))
                else:
                    raise ApiError(400, f"unknown message type {msg.get('type')!r}",
                                   fix="rate or control")
            except ApiError as exc:
                await _send_error(ws, exc.status, exc.message, msg_id=msg_id)
            except OrbemuError as exc:
                from orbemu.api.app import _status_of

                await ws.send_text(dumps({"type": "error", "status": _status_of(exc),
                                          "id": msg_id, **error_dict(exc)}))
            except (ValueError, TypeError) as exc:
                await _send_error(ws, 400, f"bad message: {exc}", msg_id=msg_id)

    recv = asyncio.create_task(receiver())
    fresh = asyncio.Event()
    pub.subscribe(client, asyncio.get_running_loop(), fresh)
    last_seq = -1
    last_sent = -1e9
    loop = asyncio.get_running_loop()
    try:
        while not recv.done():
            fresh.clear()
            text, ev_seq = pub.events_json_since(ev_seq, EVENTS_PER_MESSAGE)
            if text is not None:
                await ws.send_text(text)
            interval = 1.0 / rate_box[0]
            wait = interval
            snap = pub.latest
            if snap is not None and snap.seq != last_seq:
                due_in = last_sent + 0.9 * interval - loop.time()
                if due_in <= 0:
                    last_seq = snap.seq
                    last_sent = loop.time()
                    await ws.send_bytes(snap.data)
                else:
                    wait = due_in
            # until a new snapshot (sent at once when the client's rate allows), the client's
            # next tick (for the events), or a message from the client
            waiter = asyncio.create_task(fresh.wait())
            await asyncio.wait({recv, waiter}, timeout=wait,
                               return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
    except (WebSocketDisconnect, RuntimeError, ConnectionError):
        pass
    finally:
        pub.drop(client)
        recv.cancel()
        with contextlib.suppress(BaseException):
            await recv
        if ws.application_state != WebSocketState.DISCONNECTED:
            with contextlib.suppress(Exception):
                await ws.close()
