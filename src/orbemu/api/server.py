"""Running the API: uvicorn in the foreground (``orbemu serve``) or in a background thread
(``orbemu run --serve``, tests), bound to 127.0.0.1 unless told otherwise.

WebSocket compression is off (positions are float32 noise to deflate: it would cost CPU and
save little) and the access log is off (it would print paths for every request).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import uvicorn

from orbemu.errors import UnavailableError

__all__ = ["BackgroundServer", "console_url", "uvicorn_config"]


def uvicorn_config(app: Any, host: str = "127.0.0.1", port: int = 8321,
                   log_level: str = "warning") -> uvicorn.Config:
    return uvicorn.Config(app, host=host, port=port, log_level=log_level, access_log=False,
                          ws="websockets-sansio", ws_per_message_deflate=False, lifespan="on",
                          ws_max_size=1 << 16, timeout_graceful_shutdown=5)


def console_url(host: str, port: int, token: str | None) -> str:
    """The console's address (the token in the fragment: browsers never send it)."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else (f"[{host}]" if ":" in host else host)
    return f"http://{shown}:{port}/" + (f"#token={token}" if token else "")


class BackgroundServer:
    """uvicorn serving ``app`` in a daemon thread; :attr:`port` is the bound port (give 0 to
    take a free one)."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0,
                 log_level: str = "warning") -> None:
        self.server = uvicorn.Server(uvicorn_config(app, host, port, log_level))
        # (uvicorn installs no signal handlers outside the main thread)
        self.host = host
        self.port = port
        self._thread = threading.Thread(target=self.server.run, name="orbemu-api",
                                        daemon=True)

    def start(self, timeout_s: float = 30.0) -> BackgroundServer:
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise UnavailableError(f"the API server did not start on {self.host}:"
                                       f"{self.port} (is the port taken?)")
            time.sleep(0.02)
        sockets = [s for srv in self.server.servers for s in srv.sockets]
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        return self

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self, timeout_s: float = 30.0) -> None:
        self.server.should_exit = True
        self._thread.join(timeout_s)
