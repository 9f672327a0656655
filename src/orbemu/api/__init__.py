"""The control API and the web console's server (a face: FastAPI + uvicorn, the ``web`` extra).

::

    from orbemu.api import ServerConfig, create_app, BackgroundServer
    app = create_app(ServerConfig(runs_dir="runs", token=None))
    server = BackgroundServer(app, port=8321).start()     # or: orbemu serve

- :mod:`.app` — the routes (REST under ``/api``, the OpenAPI schema, the console's files);
- :mod:`.runs` — live runs in background threads (:class:`~orbemu.engine.EmulationControl`),
  replays of finished runs, the snapshot publisher;
- :mod:`.stream` — the WebSocket stream with per-client back-pressure;
- :mod:`.snapshot` — the full state and the binary snapshot format;
- :mod:`.scenarios` — built-in scenarios and confined uploads;
- :mod:`.security` — the token rule, constant-time checks, bounded bodies;
- :mod:`.server` — uvicorn in the foreground or a background thread.
"""

from __future__ import annotations

try:
    import fastapi  # noqa: F401
    import uvicorn  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the installation
    from orbemu.errors import UnavailableError

    raise UnavailableError(
        f"the web console needs FastAPI and uvicorn ({exc.name} is missing); install them "
        "with: pip install 'orbemu[web]'") from None

from orbemu.api.app import ServerConfig, create_app
from orbemu.api.runs import LiveRun, ReplayRun, RunManager
from orbemu.api.security import Auth, new_token
from orbemu.api.server import BackgroundServer, console_url
from orbemu.api.snapshot import decode_snapshot, encode_snapshot

__all__ = [
    "Auth",
    "BackgroundServer",
    "LiveRun",
    "ReplayRun",
    "RunManager",
    "ServerConfig",
    "console_url",
    "create_app",
    "decode_snapshot",
    "encode_snapshot",
    "new_token",
]
