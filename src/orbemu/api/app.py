"""The FastAPI application: REST under ``/api``, the stream, and the console's static files.

=========================================  ====================================================
``GET /api/health``                        version, and what needs the token
``GET /api/scenarios``                     built-in and uploaded scenarios
``GET /api/scenarios/{name}``              one scenario's YAML
``POST /api/scenarios/validate``           validate ``{"yaml", "files"}`` (every problem)
``POST /api/scenarios``                    upload ``{"yaml", "files"}`` (confined, bounded)
``GET /api/runs``                          live runs and run folders
``POST /api/runs``                         start ``{"scenario", "until", "speed", "seed",
                                           "faults", "paused"}`` (201; builds in the background)
``GET /api/runs/{id}``                     status (a run folder becomes a replay)
``GET /api/runs/{id}/state``               the full state (satellites, ground, ISLs, plan)
``POST /api/runs/{id}/pause|resume|stop``  control
``POST /api/runs/{id}/step``               ``{"n": 1}``: exactly ``n`` steps, then paused
``PUT /api/runs/{id}/speed``               ``{"clock": "max"|"realtime"|"10x"}``
``POST /api/runs/{id}/faults``             ``{"spec": "sat:X down for 10m", "at": "now"}``
``GET /api/runs/{id}/faults|events``       from the run's store
``GET /api/runs/{id}/tables``              tables of the store
``GET /api/runs/{id}/query?sql=``          read-only SQL, at most ``max_rows`` (≤ 10,000)
``GET /api/runs/{id}/export?format=``      ``csv``/``parquet`` of a table or query; ``czml``/
                                           ``oem`` ephemeris of the run's satellites
``WS /api/runs/{id}/stream``               full state, then snapshots and events
``GET /api/openapi.json``                  the OpenAPI schema
=========================================  ====================================================

Errors are JSON ``{"error": type, "message": ..., "problems": [...]}`` with the messages the CLI
prints: an :class:`~orbemu.errors.InputError` (a scenario problem, a bad fault, a write in a
query) is 400, unknown names 404, a run that takes no command 409, bad request fields 422.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import importlib.resources
import math
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import Body, FastAPI, Query, Request, Response, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask

from orbemu.api.runs import LiveRun, ReplayRun, RunManager, error_dict, parse_clock
from orbemu.api.scenarios import ScenarioStore, check_size
from orbemu.api.security import (
    LOOPBACK_HOSTS,
    ApiError,
    Auth,
    BodyLimit,
    same_origin,
    token_from_headers,
)
from orbemu.api.snapshot import dumps
from orbemu.errors import DataError, InputError, OrbemuError, UnavailableError, UsageError

__all__ = ["ServerConfig", "create_app"]

MAX_QUERY_ROWS = 10_000
MAX_SQL_CHARS = 10_000
MAX_EXPORT_SATS = 2_000


class ServerConfig(BaseModel):
    """Where the server keeps runs and uploads, and its token rule."""

    runs_dir: Path = Path("runs")
    uploads_dir: Path | None = None  # default: RUNS_DIR/.uploads
    token: str | None = None
    reads_need_token: bool = False
    max_live: int = 2
    #: Host names served (None: any — a server beyond the loopback, behind its token)
    allowed_hosts: list[str] | None = Field(default_factory=lambda: list(LOOPBACK_HOSTS))


# ---- request bodies ------------------------------------------------------------------------------

class ScenarioUpload(BaseModel):
    yaml: str = Field(max_length=1_000_000, description="the scenario YAML")
    files: dict[str, str] = Field(default_factory=dict,
                                  description="files the scenario names: plain name → text")


class RunStart(BaseModel):
    scenario: str = Field("default", max_length=100,
                          description="a built-in or uploaded scenario name")
    until: str | None = Field(None, max_length=40, description="simulated duration (6h)")
    speed: str | None = Field(None, max_length=40, description="max, realtime or 10x")
    seed: int | None = Field(None, ge=0, lt=2**63)
    faults: list[str] = Field(default_factory=list, max_length=100,
                              description="faults in the --fault grammar")
    paused: bool = Field(False, description="wait at step 0 for resume or step")


class StepBody(BaseModel):
    n: int = Field(1, ge=1, le=100_000)


class SpeedBody(BaseModel):
    clock: str = Field(max_length=40, description="max, realtime or a factor such as 10x")


class FaultBody(BaseModel):
    spec: str = Field(max_length=500, description="e.g. 'sat:STARLINK-1008 down for 10m'")
    at: str | None = Field(None, max_length=40,
                           description="now (default when the spec has no 'at'), an offset "
                                       "from the start (90m) or an ISO UTC time")


# ---- helpers --------------------------------------------------------------------------------

def _status_of(exc: OrbemuError) -> int:
    if isinstance(exc, DataError):
        return 404
    if isinstance(exc, UnavailableError):
        return 503
    if isinstance(exc, UsageError) and ("takes no" in str(exc) or "is stopped" in str(exc)
                                        or "already live" in str(exc)
                                        or "replay of a finished" in str(exc)):
        return 409
    return 400


def _rows(rows: list[tuple[Any, ...]]) -> list[list[Any]]:
    out = []
    for r in rows:
        row = []
        for v in r:
            if isinstance(v, bytes):
                v = {"base64": base64.b64encode(v[:4096]).decode(), "bytes": len(v)}
            elif isinstance(v, float) and not math.isfinite(v):
                v = None
            row.append(v)
        out.append(row)
    return out


def _static_dir() -> Path:
    # the console's files are data of the orbemu.web package (read, not imported)
    return Path(str(importlib.resources.files("orbemu.web").joinpath("static")))


def create_app(config: ServerConfig | None = None, *, manager: RunManager | None = None
               ) -> FastAPI:
    """The application (see the module notes). ``manager``: share a run manager (``orbemu run
    --serve`` adds its run to it)."""
    cfg = config or ServerConfig()
    auth = Auth(cfg.token, cfg.reads_need_token)
    runs = manager or RunManager(cfg.runs_dir, max_live=cfg.max_live)
    store = ScenarioStore(cfg.uploads_dir or (cfg.runs_dir / ".uploads"))

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await asyncio.to_thread(runs.shutdown)

    from orbemu import __version__

    app = FastAPI(title="orbemu", version=__version__, lifespan=lifespan,
                  openapi_url="/api/openapi.json", docs_url=None, redoc_url=None,
                  description="Control API of orbemu: scenarios, runs, faults, telemetry, "
                              "exports, and a WebSocket stream for the web console.")
    app.state.runs = runs
    app.state.auth = auth
    app.state.store = store

    # ---- errors: the CLI's messages as JSON ----
    @app.exception_handler(OrbemuError)
    async def _orbemu_error(request: Request, exc: OrbemuError) -> JSONResponse:
        return JSONResponse(error_dict(exc), status_code=_status_of(exc))

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"error": exc.error, "message": exc.message, "problems": []},
                            status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for err in exc.errors():
            loc = ".".join(str(x) for x in err.get("loc", ()) if x != "body")
            problems.append(f"{loc}: {err.get('msg')}" if loc else str(err.get("msg")))
        return JSONResponse({"error": "ValidationError",
                             "message": f"{len(problems)} invalid field(s): "
                                        + "; ".join(problems), "problems": problems},
                            status_code=422)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"error": type(exc).__name__,
                             "message": f"unexpected {type(exc).__name__}: {exc}",
                             "problems": []}, status_code=500)

    # ---- auth ----
    def read(request: Request) -> None:
        auth.check(token_from_headers(request.headers), control=False)

    def control(request: Request) -> None:
        if not same_origin(request.headers):
            raise ApiError(403, "a control request from a page of another site",
                           fix="Use the console this server serves")
        auth.check(token_from_headers(request.headers), control=True)

    # ---- health, scenarios ----
    @app.get("/api/health", tags=["server"])
    def health() -> dict[str, Any]:
        """Whether the server is up, and what needs the token."""
        return {"status": "ok", "version": __version__,
                "token_for_control": auth.token is not None,
                "token_for_reads": auth.token is not None and auth.reads_need_token}

    @app.get("/api/scenarios", tags=["scenarios"])
    def list_scenarios(request: Request) -> list[dict[str, Any]]:
        """Built-in scenarios (the default first) and uploaded ones."""
        read(request)
        return store.list()

    @app.get("/api/scenarios/{name}", tags=["scenarios"])
    def show_scenario(request: Request, name: str) -> dict[str, Any]:
        """A scenario's YAML."""
        read(request)
        from orbemu.scenario.builtin import is_builtin_name

        return {"name": name, "builtin": is_builtin_name(name), "yaml": store.text(name)}

    def _summary(sc: Any) -> dict[str, Any]:
        return {"name": sc.name, "description": sc.description, "steps": sc.run.n_steps,
                "step_ns": str(sc.run.step_ns), "duration_ns": str(sc.run.duration_ns),
                "clock": str(sc.run.clock),
                "constellations": [c.name for c in sc.constellations]}

    @app.post("/api/scenarios/validate", tags=["scenarios"])
    def validate_scenario(request: Request, body: ScenarioUpload) -> dict[str, Any]:
        """Validate a scenario (and the files it names) without keeping it."""
        control(request)
        sc = store.validate(body.yaml, body.files)
        return {"valid": True, **_summary(sc)}

    @app.post("/api/scenarios", status_code=201, tags=["scenarios"])
    def upload_scenario(request: Request, body: ScenarioUpload) -> dict[str, Any]:
        """Upload a scenario and its files (kept under its name; confined to its folder)."""
        control(request)
        sc = store.upload(body.yaml, body.files)
        return {"uploaded": True, **_summary(sc)}

    # ---- runs ----
    @app.get("/api/runs", tags=["runs"])
    def list_runs(request: Request) -> list[dict[str, Any]]:
        """Live runs of this server, and the run folders under its runs folder."""
        read(request)
        return runs.list()

    @app.post("/api/runs", status_code=201, tags=["runs"])
    def start_run(request: Request, body: RunStart) -> dict[str, Any]:
        """Start a run in the background (its status says when it is built)."""
        control(request)
        from orbemu.scenario import with_overrides

        sc = store.load(body.scenario)
        clock = None
        if body.speed is not None:
            mode, speed = parse_clock(body.speed)
            clock = "max" if mode == "max" else ("realtime" if mode == "realtime"
                                                  else f"{speed:g}x")
        sc = with_overrides(sc, duration=body.until, clock=clock, seed=body.seed,
                            faults=tuple(body.faults))
        check_size(sc)
        return runs.start(sc, paused=body.paused).status()

    def _run(run_id: str) -> LiveRun | ReplayRun:
        return runs.get(run_id)

    @app.get("/api/runs/{run_id}", tags=["runs"])
    def run_status(request: Request, run_id: str) -> dict[str, Any]:
        """A run's status (a run folder not live becomes a replay)."""
        read(request)
        return _run(run_id).status()

    @app.get("/api/runs/{run_id}/state", tags=["runs"])
    async def run_state(request: Request, run_id: str) -> Response:
        """The full state: satellites, ground nodes, ISL pairs, monitored pairs, contact plan."""
        read(request)
        run = _run(run_id)
        await asyncio.to_thread(run.ready.wait, 300)
        if run.layout is None:
            raise ApiError(409, f"run {run_id} is {run.state}"
                                + (f": {run.error['message']}" if run.error else ""))
        return _json(run.layout.full_state(run.id, run.status()))

    @app.post("/api/runs/{run_id}/pause", tags=["control"])
    def pause(request: Request, run_id: str) -> dict[str, Any]:
        control(request)
        run = _run(run_id)
        run.pause()
        return run.status()

    @app.post("/api/runs/{run_id}/resume", tags=["control"])
    def resume(request: Request, run_id: str) -> dict[str, Any]:
        control(request)
        run = _run(run_id)
        run.resume()
        return run.status()

    @app.post("/api/runs/{run_id}/step", tags=["control"])
    def step(request: Request, run_id: str,
             body: Annotated[StepBody | None, Body()] = None) -> dict[str, Any]:
        """Run exactly ``n`` steps and pause."""
        control(request)
        run = _run(run_id)
        run.step(body.n if body is not None else 1)
        return run.status()

    @app.put("/api/runs/{run_id}/speed", tags=["control"])
    @app.post("/api/runs/{run_id}/speed", include_in_schema=False)
    def speed(request: Request, run_id: str, body: SpeedBody) -> dict[str, Any]:
        """Pace the run: ``max``, ``realtime`` or a factor (``10x``)."""
        control(request)
        mode, factor = parse_clock(body.clock)
        run = _run(run_id)
        run.set_clock(mode, factor)
        return run.status()

    @app.post("/api/runs/{run_id}/stop", tags=["control"])
    def stop(request: Request, run_id: str) -> dict[str, Any]:
        """Stop at the next step boundary (with a checkpoint: ``orbemu run --resume``)."""
        control(request)
        run = _run(run_id)
        run.stop()
        return run.status()

    @app.post("/api/runs/{run_id}/faults", status_code=201, tags=["control"])
    def inject(request: Request, run_id: str, body: FaultBody) -> dict[str, Any]:
        """Inject a fault (``--fault`` grammar; ``at`` ``now`` by default)."""
        control(request)
        return _run(run_id).inject(body.spec, body.at)

    # ---- the store ----
    def _store_dir(run_id: str) -> Path:
        from orbemu.store.sqlite import database_path

        path = runs.folder(run_id)
        if not database_path(path).is_file():
            raise DataError(f"run {run_id!r} has no telemetry store (yet)")
        return path

    def _query(run_id: str, sql: str, params: tuple[Any, ...] = (),
               max_rows: int = MAX_QUERY_ROWS) -> dict[str, Any]:
        from orbemu.store.query import query

        cols, rows = query(_store_dir(run_id), sql, params, max_rows=max_rows + 1)
        return {"columns": cols, "rows": _rows(rows[:max_rows]),
                "truncated": len(rows) > max_rows}

    @app.get("/api/runs/{run_id}/tables", tags=["telemetry"])
    def tables(request: Request, run_id: str) -> list[str]:
        read(request)
        from orbemu.store.query import list_tables

        return list_tables(_store_dir(run_id))

    @app.get("/api/runs/{run_id}/query", tags=["telemetry"])
    def sql_query(request: Request, run_id: str,
                  sql: Annotated[str, Query(max_length=MAX_SQL_CHARS)],
                  max_rows: Annotated[int, Query(ge=1, le=MAX_QUERY_ROWS)] = 1000
                  ) -> dict[str, Any]:
        """One read-only SQL statement on the run's store (writes are refused)."""
        read(request)
        return _query(run_id, sql, max_rows=max_rows)

    @app.get("/api/runs/{run_id}/events", tags=["telemetry"])
    def events(request: Request, run_id: str,
               kind: Annotated[str | None, Query(max_length=40)] = None,
               since_ns: int = -(2**62),
               limit: Annotated[int, Query(ge=1, le=MAX_QUERY_ROWS)] = 1000) -> dict[str, Any]:
        read(request)
        sql = "SELECT time_ns, kind, subject, detail FROM events WHERE time_ns >= ?"
        params: tuple[Any, ...] = (since_ns,)
        if kind:
            sql += " AND kind = ?"
            params += (kind,)
        return _query(run_id, sql + " ORDER BY time_ns", params, max_rows=limit)

    @app.get("/api/runs/{run_id}/faults", tags=["telemetry"])
    def faults(request: Request, run_id: str) -> dict[str, Any]:
        read(request)
        return _query(run_id, "SELECT * FROM faults ORDER BY start_ns")

    @app.get("/api/runs/{run_id}/export", tags=["telemetry"])
    def export(request: Request, run_id: str,
               format: Annotated[str, Query(pattern="^(csv|parquet|czml|oem)$")],
               table: Annotated[str | None, Query(max_length=64)] = None,
               sql: Annotated[str | None, Query(max_length=MAX_SQL_CHARS)] = None,
               sats: Annotated[str | None, Query(max_length=200)] = None,
               step: Annotated[str, Query(max_length=20)] = "60s") -> FileResponse:
        """A table or query as CSV/Parquet, or the run's satellites (``sats``: a selector,
        default the modelled or first ones, ≤ 2,000) as CZML/OEM at ``step``."""
        read(request)
        folder = _store_dir(run_id)
        tmp = Path(tempfile.mkdtemp(prefix="orbemu-export-"))
        import shutil

        cleanup = BackgroundTask(shutil.rmtree, tmp, ignore_errors=True)
        if format in ("csv", "parquet"):
            from orbemu.store.query import export as store_export

            what = sql or table
            if not what:
                raise ApiError(400, "give table= or sql=", fix="e.g. table=events")
            out = tmp / f"{run_id}-{table or 'query'}.{format}"
            store_export(folder, what, out, format=format)  # type: ignore[arg-type]
        else:
            out = tmp / f"{run_id}.{'czml' if format == 'czml' else 'oem'}"
            _ephemeris(folder, sats, step, format, out, run_id)
        media = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet",
                 "czml": "application/json", "oem": "text/plain"}[format]
        return FileResponse(out, media_type=media, filename=out.name, background=cleanup)

    # ---- the stream ----
    @app.websocket("/api/runs/{run_id}/stream")
    async def stream(ws: WebSocket, run_id: str) -> None:
        from orbemu.api.stream import serve_stream

        await serve_stream(ws, run_id, runs, auth)

    # ---- the console ----
    static = _static_dir()
    if static.is_dir():
        app.mount("/static", StaticFiles(directory=static), name="static")

        @app.get("/", include_in_schema=False)
        def index() -> FileResponse:
            return FileResponse(static / "index.html", media_type="text/html")
    else:  # pragma: no cover - a broken installation
        @app.get("/", include_in_schema=False)
        def index_missing() -> RedirectResponse:
            return RedirectResponse("/api/openapi.json")

    app.add_middleware(BodyLimit)
    if cfg.allowed_hosts is not None:
        from starlette.middleware.trustedhost import TrustedHostMiddleware

        app.add_middleware(TrustedHostMiddleware, allowed_hosts=cfg.allowed_hosts)
    return app


def _json(value: Any) -> Response:
    """JSON with numpy values and NaN handled (:func:`~orbemu.api.snapshot.dumps`)."""
    return Response(dumps(value), media_type="application/json")


def _ephemeris(folder: Path, sats: str | None, step: str, fmt: str, out: Path,
               run_id: str) -> None:
    """CZML/OEM of a run's satellites over its window, recomputed from its elements."""
    import numpy as np

    from orbemu.scenario import resolve_scenario
    from orbemu.scenario.loader import parse_scenario_text
    from orbemu.store.query import query
    from orbemu.time import Time
    from orbemu.units import parse_duration_ns

    try:
        step_ns = parse_duration_ns(step)
    except (InputError, ValueError) as exc:
        raise InputError(f"cannot read step {step!r}: {exc}", field="step",
                         fix="Give a duration such as 60s or 5m") from None
    (text,) = query(folder, "SELECT scenario_text FROM runs ORDER BY run_id DESC LIMIT 1")[1][0]
    sc = parse_scenario_text(text, source=f"{run_id} (scenario as run)")
    world = resolve_scenario(sc)
    if sats:
        idx = world.select_satellites(sats)
    else:
        modelled = np.flatnonzero(world.roles != "relay")
        idx = modelled if modelled.size else np.arange(min(len(world.elements), 100))
    if idx.size == 0:
        raise InputError(f"no satellite matches {sats!r}", field="sats")
    if idx.size > MAX_EXPORT_SATS:
        raise ApiError(400, f"{idx.size:,} satellites selected (at most {MAX_EXPORT_SATS:,})",
                       fix="Narrow sats= (a constellation:NAME, a name pattern)")
    n_times = sc.run.duration_ns // step_ns + 1
    if step_ns <= 0 or idx.size * n_times > 5_000_000:
        raise ApiError(400, f"{idx.size} satellites × {n_times:,} instants is too many",
                       fix="Use a longer step= or fewer sats=")
    times = Time.range(world.start, sc.run.duration_ns, step_ns)
    from orbemu.orbits.propagation import propagate

    eph = propagate(world.elements.select(idx), times, frame="ITRF")
    if fmt == "czml":
        from orbemu.io.czml import write_czml

        write_czml(eph, out, ground=world.ground, name=sc.name)
    else:
        from orbemu.io.oem import write_oem

        write_oem(eph, out, comments=[f"orbemu run {run_id}"])
