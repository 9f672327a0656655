"""``orbemu serve`` — the control API and web console; ``orbemu run --serve`` — a run with it.

``orbemu serve`` serves the run folders under ``--runs`` (replays) and starts new runs from the
console or the API. ``orbemu run SCENARIO --serve`` starts that run paced (``--speed``, default
real time when the scenario says ``max``) with the console watching it, and keeps serving after
it ends, writing the run's HTML report as soon as it completes (Ctrl-C stops the run with a
checkpoint — ``orbemu run --resume`` continues it — and the server, then prints the summary).

The server listens on 127.0.0.1 unless ``--host`` says otherwise; beyond the loopback it needs a
token (``--token``, or one generated and printed here), which control requests always need when
it is set. Registered on the app of :mod:`orbemu.cli.main`.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Annotated, Any

import typer

from orbemu.cli.main import _command, _err, _info, _out
from orbemu.errors import InputError, OrbemuError

__all__ = ["serve_cmd", "serve_run"]

DEFAULT_PORT = 8321


def _announce(host: str, port: int, token: str | None, generated: bool) -> None:
    from orbemu.api.security import is_loopback
    from orbemu.api.server import console_url

    _out().print(f"orbemu console: {console_url(host, port, token)}", markup=False,
                 soft_wrap=True)
    if token is not None:
        how = "generated" if generated else "given"
        _info(f"token ({how}): {token} — control requests need it"
              + ("" if is_loopback(host) else "; so does everything else (not on loopback)"))
    if not is_loopback(host):
        _info(f"listening on {host}: reachable from other machines")


def _auth(host: str, token: str | None) -> tuple[Any, bool]:
    from orbemu.api.security import Auth

    if token is not None and len(token) < 16:
        raise InputError(f"--token must be at least 16 characters, got {len(token)}",
                         field="--token", fix="Omit --token to have one generated")
    auth = Auth.for_host(host, token)
    return auth, auth.token is not None and token is None


def _hosts(host: str) -> list[str] | None:
    """Host names to answer to: loopback names on the loopback (DNS rebinding), any beyond it
    (the token guards it)."""
    from orbemu.api.security import LOOPBACK_HOSTS, is_loopback

    return [*LOOPBACK_HOSTS, host] if is_loopback(host) else None


def _serve(app: Any, host: str, port: int) -> None:
    import uvicorn

    from orbemu.api.server import uvicorn_config

    config = uvicorn_config(app, host, port)
    server = uvicorn.Server(config)
    try:
        server.run()
    except KeyboardInterrupt:
        # uvicorn shuts down on Ctrl-C, then raises the signal again; the shutdown is the
        # normal end of serving, and the caller still has its summary to print
        pass
    if not server.started:
        raise InputError(f"cannot listen on {host}:{port}", field="--port",
                         fix="Choose another --port (is another server using it?)")


@_command("serve")
def serve_cmd(
    host: Annotated[str, typer.Option("--host", help="Address to listen on (default: "
                                      "127.0.0.1; anything else requires a token).")
                    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535)] = DEFAULT_PORT,
    token: Annotated[str | None, typer.Option(
        "--token", help="Token for control requests (default: none on 127.0.0.1; generated "
                        "and printed when listening elsewhere).")] = None,
    runs: Annotated[Path, typer.Option(
        "--runs", help="Folder of run folders: replays, and new runs go here.")] = Path("runs"),
) -> None:
    """Serve the control API and the web console (open the printed address in a browser)."""
    from orbemu.api import ServerConfig, create_app

    auth, generated = _auth(host, token)
    app = create_app(ServerConfig(runs_dir=runs, token=auth.token,
                                  reads_need_token=auth.reads_need_token,
                                  allowed_hosts=_hosts(host)))
    _announce(host, port, auth.token, generated)
    _serve(app, host, port)


def serve_run(scenario: str | None, *, until: str | None, speed: str | None,
              seed: int | None, out_dir: Path | None, faults: list[str], host: str, port: int,
              token: str | None) -> None:
    """What ``orbemu run --serve`` does (see the module notes)."""
    from orbemu.api import LiveRun, RunManager, ServerConfig, create_app
    from orbemu.cli.run import _run_dir, summary_table
    from orbemu.scenario import DEFAULT, load_scenario, with_overrides

    auth, generated = _auth(host, token)
    sc = load_scenario(scenario or DEFAULT)
    if speed is None and sc.run.clock.mode == "max":
        speed = "realtime"
    sc = with_overrides(sc, duration=until, clock=speed, seed=seed, faults=tuple(faults))
    run_dir = _run_dir(out_dir, sc.outputs.dir, sc.name).resolve()
    from orbemu.api.runs import RUN_ID

    if not RUN_ID.fullmatch(run_dir.name):
        raise InputError(f"run folder name {run_dir.name!r} has characters the console cannot "
                         "use", field="--out", fix="Use letters, digits, '-', '_', '.'")
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    manager = RunManager(run_dir.parent)
    run = LiveRun(run_dir.name, run_dir, sc)
    manager.add(run)
    _info(f"scenario {sc.name}: {sc.run.n_steps:,} steps, clock {sc.run.clock} (change it "
          f"from the console); run folder {run_dir}")
    run.start()
    reporter = _report_when_completed(run, run_dir, bool(sc.outputs.report))
    app = create_app(ServerConfig(runs_dir=run_dir.parent, token=auth.token,
                                  reads_need_token=auth.reads_need_token,
                                  allowed_hosts=_hosts(host)), manager=manager)
    _announce(host, port, auth.token, generated)
    from orbemu.api.server import console_url

    _info(f"watching run {run.id}: {console_url(host, port, auth.token).split('#')[0]}"
          f"?run={run.id}" + (f"#token={auth.token}" if auth.token else ""))
    _serve(app, host, port)  # until Ctrl-C; the shutdown stops the run (with a checkpoint)
    run.done.wait(60)
    reporter.join(120)  # a report being written when Ctrl-C came is finished, not cut
    if run.error is not None:
        _err().print(f"error: {run.error['message']}", markup=False, style="red")
        raise typer.Exit(2)
    if run.emu is not None:
        _out().print(summary_table(run.emu.summary(), run_dir))
        if run.emu.status == "stopped":
            _info(f"stopped at step {run.emu.step_index:,}; continue with: orbemu run "
                  f"--resume {run_dir}")


def _report_when_completed(run: Any, run_dir: Path, wanted: bool) -> threading.Thread:
    """Write the run's HTML report (as ``orbemu run`` does) as soon as the run completes, while
    the console keeps serving; a stopped or failed run gets none. Returns the waiting thread."""

    def wait() -> None:
        run.done.wait()
        if not wanted or run.error is not None or run.emu is None \
                or run.emu.status != "completed":
            return
        from orbemu.report.run_report import write_run_report

        try:
            page = write_run_report(run_dir)
        except OrbemuError as exc:
            _err().print(f"report not written: {exc}", markup=False, style="red")
            return
        _info(f"run completed; report: {page}")

    thread = threading.Thread(target=wait, name=f"orbemu-report-{run.id}", daemon=True)
    thread.start()
    return thread
