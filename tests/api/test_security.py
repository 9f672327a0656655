"""The token rule: control needs the token when one is set, everything needs it beyond the
loopback; no token → 401, a wrong one → 403; the stream's hello and control messages too."""

from __future__ import annotations

import json

import pytest

from orbemu.api.security import Auth, is_loopback, new_token

from .conftest import TOKEN, WORLD, Api

websockets = pytest.importorskip("websockets.sync.client")


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    """A loopback server started with --token: reads are open, control needs the token."""
    a = Api(tmp_path_factory.mktemp("runs"), token=TOKEN)
    a.upload_world()
    yield a
    a.close()


@pytest.fixture(scope="module")
def remote(tmp_path_factory):
    """The rule of a server bound beyond the loopback: everything needs the token."""
    a = Api(tmp_path_factory.mktemp("runs"), token=TOKEN, reads_need_token=True)
    yield a
    a.close()


def test_the_rule_follows_the_address():
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert is_loopback("127.8.9.10") and not is_loopback("0.0.0.0")
    assert not is_loopback("192.168.1.4") and not is_loopback("example.org")
    local = Auth.for_host("127.0.0.1", None)
    assert local.token is None and not local.reads_need_token
    anywhere = Auth.for_host("0.0.0.0", None)
    assert anywhere.token is not None and len(anywhere.token) >= 40 and anywhere.reads_need_token
    assert Auth.for_host("0.0.0.0", "given-token-123456").token == "given-token-123456"
    assert new_token() != new_token()


@pytest.mark.parametrize("method,path,body", [
    ("POST", "/api/runs", {"scenario": "api-world"}),
    ("POST", "/api/scenarios", {"yaml": WORLD}),
    ("POST", "/api/scenarios/validate", {"yaml": WORLD}),
    ("POST", "/api/runs/x/pause", None),
    ("POST", "/api/runs/x/step", {"n": 1}),
    ("PUT", "/api/runs/x/speed", {"clock": "10x"}),
    ("POST", "/api/runs/x/stop", None),
    ("POST", "/api/runs/x/faults", {"spec": "sat:A down"}),
])
def test_control_without_the_token_is_refused(guarded, method, path, body):
    r = guarded.anon.request(method, path, json=body)
    assert r.status_code == 401 and r.json()["error"] == "Unauthorized"
    assert r.headers["www-authenticate"] == "Bearer"
    for wrong in ("nope", TOKEN[:-1], TOKEN + "x", ""):
        r = guarded.anon.request(method, path, json=body,
                                 headers={"Authorization": f"Bearer {wrong}"} if wrong else {})
        assert r.status_code == (403 if wrong else 401), wrong


def test_reads_are_open_on_the_loopback_and_control_works_with_the_token(guarded):
    assert guarded.anon.get("/api/runs").status_code == 200
    assert guarded.anon.get("/api/scenarios").status_code == 200
    r = guarded.anon.post("/api/scenarios/validate", json={"yaml": WORLD},
                          headers={"X-Orbemu-Token": TOKEN})
    assert r.status_code == 200
    rid = guarded.start(paused=True)  # guarded.client sends the token
    guarded.wait(rid, lambda s: s["state"] == "paused")
    guarded.client.post(f"/api/runs/{rid}/stop").raise_for_status()


def test_beyond_the_loopback_reads_need_the_token_too(remote):
    assert remote.anon.get("/api/health").status_code == 200  # says what is needed
    assert remote.anon.get("/api/health").json()["token_for_reads"] is True
    for path in ("/api/runs", "/api/scenarios", "/api/scenarios/default", "/api/runs/x"):
        assert remote.anon.get(path).status_code == 401, path
        r = remote.anon.get(path, headers={"Authorization": "Bearer wrong"})
        assert r.status_code == 403, path
    assert remote.client.get("/api/scenarios").status_code == 200
    # the console's files hold no secrets: they load without it
    assert remote.anon.get("/").status_code == 200
    assert remote.anon.get("/static/app.js").status_code == 200


def _hello(ws, **fields):
    ws.send(json.dumps({"type": "hello", **fields}))
    return json.loads(ws.recv(timeout=60))


def test_the_stream_checks_the_token(remote, guarded):
    with websockets.connect(f"{remote.ws_url}/api/runs/x/stream") as ws:
        msg = _hello(ws)
        assert msg["type"] == "error" and msg["status"] == 401
    with websockets.connect(f"{remote.ws_url}/api/runs/x/stream") as ws:
        msg = _hello(ws, token="wrong")
        assert msg["type"] == "error" and msg["status"] == 403
    with websockets.connect(f"{remote.ws_url}/api/runs/x/stream") as ws:
        msg = _hello(ws, token=TOKEN)  # allowed in: then the run is unknown
        assert msg["type"] == "error" and msg["status"] == 404
    rid = guarded.start(paused=True)
    guarded.wait(rid, lambda s: s["state"] == "paused")
    with websockets.connect(f"{guarded.ws_url}/api/runs/{rid}/stream") as ws:
        assert _hello(ws)["type"] == "status"  # reading is open on the loopback
        ws.send(json.dumps({"type": "control", "action": "step", "n": 1, "id": 7}))
        while True:
            msg = ws.recv(timeout=60)
            if isinstance(msg, str) and json.loads(msg)["type"] == "error":
                err = json.loads(msg)
                break
        assert err["status"] == 401 and err["id"] == 7
        ws.send(json.dumps({"type": "control", "action": "step", "n": 1, "id": 8,
                            "token": TOKEN}))
        while True:
            msg = ws.recv(timeout=60)
            if isinstance(msg, str) and json.loads(msg)["type"] in ("ack", "error"):
                ack = json.loads(msg)
                break
        assert ack["type"] == "ack" and ack["id"] == 8
    guarded.wait(rid, lambda s: s["step"] == 1 and s["state"] == "paused")
    guarded.client.post(f"/api/runs/{rid}/stop").raise_for_status()


def test_a_stream_without_hello_is_closed(guarded):
    with websockets.connect(f"{guarded.ws_url}/api/runs/x/stream") as ws:
        ws.send("not json")
        msg = json.loads(ws.recv(timeout=60))
        assert msg["type"] == "error" and msg["status"] == 400


def test_a_page_of_another_site_cannot_steer_the_server(guarded, api):
    evil = {"Origin": "http://evil.example"}
    r = api.client.post("/api/runs/x/stop", headers=evil)
    assert r.status_code == 403 and "another site" in r.json()["message"]
    r = guarded.client.post("/api/runs", json={"scenario": "api-world"}, headers=evil)
    assert r.status_code == 403
    same = {"Origin": api.url}
    r = api.client.post("/api/runs/nothing/stop", headers=same)
    assert r.status_code == 404  # allowed through: the run is unknown
    from websockets.exceptions import InvalidStatus

    with pytest.raises(InvalidStatus):  # the handshake is refused
        with websockets.connect(f"{api.ws_url}/api/runs/x/stream",
                                additional_headers=evil) as ws:
            ws.recv(timeout=10)


def test_a_loopback_server_answers_only_to_loopback_names(api):
    r = api.client.get("/api/health", headers={"Host": "rebound.example:8321"})
    assert r.status_code == 400
    assert api.client.get("/api/health", headers={"Host": "localhost"}).status_code == 200
