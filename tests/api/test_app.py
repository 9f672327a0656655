"""The REST API against a real server on 127.0.0.1: scenarios, runs, control, faults,
queries, exports, errors."""

from __future__ import annotations

import io
import json

import pytest

from orbemu.errors import ScenarioError
from orbemu.scenario.loader import parse_scenario_text

from .conftest import WORLD


def test_health_and_openapi_schema(api):
    h = api.client.get("/api/health").json()
    assert h["status"] == "ok" and h["token_for_control"] is False
    schema = api.client.get("/api/openapi.json").json()
    for path in ("/api/runs", "/api/runs/{run_id}/step", "/api/runs/{run_id}/faults",
                 "/api/runs/{run_id}/query", "/api/runs/{run_id}/export", "/api/scenarios"):
        assert path in schema["paths"]
    assert api.client.get("/api/docs").status_code == 404  # no CDN-backed docs page


def test_scenarios_are_listed_and_shown(api):
    names = [s["name"] for s in api.client.get("/api/scenarios").json()]
    assert names[0] == "atacama-edge" and "api-world" in names
    shown = api.client.get("/api/scenarios/default").json()
    assert shown["builtin"] and shown["yaml"].startswith("# The default scenario")
    r = api.client.get("/api/scenarios/no-such-thing")
    assert r.status_code == 404 and r.json()["error"] == "DataError"


def test_validation_gives_the_cli_messages_with_every_problem(api):
    bad = WORLD.replace("planes: 6", "plannes: 6").replace("step: 10s", "step: 10 sec")
    r = api.client.post("/api/scenarios/validate", json={"yaml": bad})
    assert r.status_code == 400
    body = r.json()
    with pytest.raises(ScenarioError) as info:
        parse_scenario_text(bad, "scenario.yaml")
    assert body["error"] == "ScenarioError"
    assert body["problems"] == [str(p) for p in info.value.problems]
    assert body["problems"][0].startswith("scenario.yaml line 9, run.step: cannot read")
    assert any("did you mean 'planes'" in p for p in body["problems"])
    ok = api.client.post("/api/scenarios/validate", json={"yaml": WORLD}).json()
    assert ok["valid"] and ok["steps"] == 360


def test_requests_with_wrong_fields_are_422_with_the_field_named(api):
    r = api.client.post("/api/runs", json={"scenario": "api-world", "seed": -1})
    assert r.status_code == 422
    body = r.json()
    assert body["error"] == "ValidationError" and body["problems"][0].startswith("seed:")
    r = api.client.post("/api/runs", json={"scenario": "api-world", "speed": "warp 9"})
    assert r.status_code == 400 and "cannot read clock 'warp 9'" in r.json()["message"]


def test_an_upload_cannot_reach_outside_its_folder(api):
    for ref in ("../../../etc/passwd", "/etc/passwd", "~/secrets.csv", "sub/../../x.csv"):
        text = WORLD.replace("targets:\n", f"targets:\n  - file: {ref}\n", 1)
        r = api.client.post("/api/scenarios", json={"yaml": text})
        assert r.status_code == 400, ref
        assert "outside the scenario's folder" in r.json()["message"]
    for name in ("../evil.csv", "a/b.csv", ".hidden", "scenario.yaml"):
        r = api.client.post("/api/scenarios", json={"yaml": WORLD, "files": {name: "x"}})
        assert r.status_code == 400 and "not allowed" in r.json()["message"], name


def test_an_upload_reads_the_files_it_brings(api):
    text = WORLD.replace("name: api-world", "name: api-files").replace(
        "targets:\n", "targets:\n  - file: more-targets.csv\n", 1)
    csv = "name,lat_deg,lon_deg\nuyuni,-20.13,-67.49\nlima,-12.05,-77.04\n"
    r = api.client.post("/api/scenarios", json={"yaml": text,
                                                "files": {"more-targets.csv": csv}})
    assert r.status_code == 201, r.text
    assert "api-files" in [s["name"] for s in api.client.get("/api/scenarios").json()]
    r = api.client.post("/api/scenarios", json={"yaml": WORLD.replace(
        "name: api-world", "name: default-copy").replace("targets:\n",
                                                         "targets:\n  - file: gone.csv\n", 1)})
    assert r.status_code == 400 and "'gone.csv' not found" in r.json()["message"]


def test_uploads_are_bounded(api):
    r = api.client.post("/api/scenarios", content=b"x" * (33 * 1024 * 1024),
                        headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["error"] == "PayloadTooLarge"
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}]\n" for i in range(9))
    r = api.client.post("/api/scenarios/validate", json={"yaml": bomb})
    assert r.status_code == 400 and "YAML aliases" in r.json()["message"]
    big = WORLD.replace("planes: 6, sats_per_plane: 8", "planes: 300, sats_per_plane: 300")
    r = api.client.post("/api/scenarios/validate", json={"yaml": big})
    assert r.status_code == 400 and "90,004 satellites" in r.json()["message"]


def test_pause_step_and_speed(api):
    rid = api.start(paused=True)
    st = api.wait(rid, lambda s: s["state"] == "paused")
    assert st["step"] == 0 and st["n_sats"] == 52
    t0, step_ns = int(st["time_ns"]), int(st["step_ns"])
    api.client.post(f"/api/runs/{rid}/step", json={"n": 1}).raise_for_status()
    st = api.wait(rid, lambda s: s["step"] == 1 and s["state"] == "paused")
    assert int(st["time_ns"]) == t0 + step_ns
    api.client.post(f"/api/runs/{rid}/step", json={"n": 5}).raise_for_status()
    st = api.wait(rid, lambda s: s["step"] == 6 and s["state"] == "paused")
    assert int(st["time_ns"]) == t0 + 6 * step_ns
    r = api.client.post(f"/api/runs/{rid}/step", json={"n": 0})
    assert r.status_code == 422
    r = api.client.put(f"/api/runs/{rid}/speed", json={"clock": "50x"})
    assert r.status_code == 200
    r = api.client.put(f"/api/runs/{rid}/speed", json={"clock": "-3x"})
    assert r.status_code == 400 and "cannot read clock" in r.json()["message"]
    api.client.put(f"/api/runs/{rid}/speed", json={"clock": "max"}).raise_for_status()
    api.client.post(f"/api/runs/{rid}/resume").raise_for_status()
    st = api.wait(rid, lambda s: s["state"] == "completed")
    assert st["step"] == 360
    r = api.client.post(f"/api/runs/{rid}/pause")
    assert r.status_code == 409 and "takes no commands" in r.json()["message"]


def test_a_fault_injected_now_is_applied_and_recorded(api):
    rid = api.start(paused=True)
    api.wait(rid, lambda s: s["state"] == "paused")
    api.client.post(f"/api/runs/{rid}/step", json={"n": 3}).raise_for_status()
    st = api.wait(rid, lambda s: s["step"] == 3 and s["state"] == "paused")
    r = api.client.post(f"/api/runs/{rid}/faults", json={"spec": "sat:EO-P0-S1 down for 5m"})
    assert r.status_code == 201, r.text
    f = r.json()
    assert f["target"] == "EO-P0-S1" and f["start_ns"] == st["time_ns"]
    assert int(f["end_ns"]) - int(f["start_ns"]) == 300 * 10**9
    bad = api.client.post(f"/api/runs/{rid}/faults", json={"spec": "sat:NOBODY down"})
    assert bad.status_code == 400 and "no satellite 'NOBODY'" in bad.json()["message"]
    bad = api.client.post(f"/api/runs/{rid}/faults", json={"spec": "meteor strike"})
    assert bad.status_code == 400 and "KIND:TARGET" in bad.json()["message"]
    api.client.post(f"/api/runs/{rid}/resume").raise_for_status()
    api.wait(rid, lambda s: s["state"] == "completed")
    rows = api.client.get(f"/api/runs/{rid}/events", params={"kind": "fault_start"}).json()
    assert [r[2] for r in rows["rows"]] == ["EO-P0-S1"]
    assert rows["rows"][0][0] == int(st["time_ns"])
    faults = api.client.get(f"/api/runs/{rid}/faults").json()
    col = faults["columns"].index("origin")
    assert [r[col] for r in faults["rows"]] == ["console"]


def test_stop_leaves_a_resumable_run(api):
    rid = api.start(paused=True)
    api.wait(rid, lambda s: s["state"] == "paused")
    api.client.post(f"/api/runs/{rid}/step", json={"n": 2}).raise_for_status()
    api.wait(rid, lambda s: s["step"] == 2 and s["state"] == "paused")
    api.client.post(f"/api/runs/{rid}/stop").raise_for_status()
    st = api.wait(rid, lambda s: s["state"] == "stopped")
    assert st["step"] == 2
    q = api.client.get(f"/api/runs/{rid}/query",
                       params={"sql": "SELECT status FROM runs"}).json()
    assert q["rows"] == [["stopped"]]
    q = api.client.get(f"/api/runs/{rid}/query",
                       params={"sql": "SELECT step FROM checkpoints"}).json()
    assert [2] in q["rows"]


@pytest.fixture(scope="module")
def done(api):
    rid = api.start()
    api.wait(rid, lambda s: s["state"] == "completed")
    return rid


def test_queries_are_read_only_and_bounded(api, done):
    q = api.client.get(f"/api/runs/{done}/query",
                       params={"sql": "SELECT kind, count(*) FROM events GROUP BY kind"}).json()
    kinds = dict(q["rows"])
    assert kinds["run_start"] == 1 and kinds["run_end"] == 1 and not q["truncated"]
    q = api.client.get(f"/api/runs/{done}/query",
                       params={"sql": "SELECT * FROM events", "max_rows": 3}).json()
    assert len(q["rows"]) == 3 and q["truncated"]
    for sql in ("DELETE FROM events", "DROP TABLE events", "INSERT INTO events(kind) VALUES (1)",
                "ATTACH DATABASE '/tmp/x.db' AS x", "PRAGMA journal_mode=DELETE"):
        r = api.client.get(f"/api/runs/{done}/query", params={"sql": sql})
        assert r.status_code == 400, sql
        assert "read-only" in r.json()["message"], sql
    r = api.client.get(f"/api/runs/{done}/query", params={"sql": "SELECT 1", "max_rows": 10**6})
    assert r.status_code == 422
    r = api.client.get(f"/api/runs/{done}/query", params={"sql": "x" * 10_001})
    assert r.status_code == 422
    r = api.client.get(f"/api/runs/{done}/query", params={"sql": "SELECT nope FROM events"})
    assert r.status_code == 400 and "no such column" in r.json()["message"]
    assert "housekeeping" in api.client.get(f"/api/runs/{done}/tables").json()


def test_exports(api, done):
    r = api.client.get(f"/api/runs/{done}/export", params={"format": "csv", "table": "events"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    head = r.text.splitlines()
    assert head[0].startswith("time_ns,kind,subject")
    n = api.client.get(f"/api/runs/{done}/query",
                       params={"sql": "SELECT count(*) FROM events"}).json()["rows"][0][0]
    assert len(head) == n + 1
    r = api.client.get(f"/api/runs/{done}/export",
                       params={"format": "parquet", "sql": "SELECT sat, soc FROM housekeeping "
                                                          "WHERE soc IS NOT NULL"})
    assert r.status_code == 200
    import pyarrow.parquet as pq

    t = pq.read_table(io.BytesIO(r.content))
    assert t.column_names == ["sat", "soc"] and t.num_rows == 4 * 60  # each minute, at step starts
    r = api.client.get(f"/api/runs/{done}/export",
                       params={"format": "czml", "sats": "constellation:eo", "step": "5m"})
    doc = json.loads(r.text)
    sats = [p for p in doc if str(p.get("id", "")).startswith("sat")]
    assert r.status_code == 200 and doc[0]["id"] == "document" and len(sats) == 4
    r = api.client.get(f"/api/runs/{done}/export", params={"format": "oem", "sats": "EO-P0-S0",
                                                           "step": "10m"})
    assert r.status_code == 200 and r.text.startswith("CCSDS_OEM_VERS")
    assert r.text.count("OBJECT_NAME") == 1 and r.text.count("\n2026-01-01T") == 7
    r = api.client.get(f"/api/runs/{done}/export", params={"format": "xlsx", "table": "events"})
    assert r.status_code == 422
    r = api.client.get(f"/api/runs/{done}/export", params={"format": "csv"})
    assert r.status_code == 400 and "table=" in r.json()["message"]


def test_unknown_and_malformed_run_ids(api):
    r = api.client.get("/api/runs/nothing-here")
    assert r.status_code == 404 and r.json()["error"] == "DataError"
    r = api.client.get("/api/runs/..%2F..%2Fetc/query", params={"sql": "SELECT 1"})
    assert r.status_code in (400, 404)
    r = api.client.get("/api/runs/.hidden")
    assert r.status_code == 400 and "not a run folder name" in r.json()["message"]


def test_a_finished_run_replays_from_its_store(api, done):
    st = api.client.get(f"/api/runs/{done}").json()
    assert st["kind"] == "live" and st["state"] == "completed"
    # a second server over the same folder knows the run only from its store
    from .conftest import Api

    other = Api(api.server.server.config.app.state.runs.runs_dir)
    try:
        st = other.wait(done, lambda s: s["state"] == "paused")
        assert st["kind"] == "replay" and st["step"] == 0 and st["last_step"] == 360
        other.client.post(f"/api/runs/{done}/step", json={"n": 4}).raise_for_status()
        st = other.wait(done, lambda s: s["step"] == 4)
        assert int(st["time_ns"]) == int(st["start_ns"]) + 4 * int(st["step_ns"])
        state = other.client.get(f"/api/runs/{done}/state").json()
        assert state["replay"] and state["satellites"]["count"] == 52
        assert len(state["isl_pairs"]) == 2 * 96 and len(state["monitor"]) == 2
        r = other.client.post(f"/api/runs/{done}/faults", json={"spec": "sat:EO-P0-S0 down"})
        assert r.status_code == 409 and "cannot be injected into the past" in r.json()["message"]
        listed = {r["id"]: r for r in other.client.get("/api/runs").json()}
        assert done in listed
    finally:
        other.close()
