"""A real API server on 127.0.0.1 (uvicorn in a thread, a free port) and helpers."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")

from orbemu.api import BackgroundServer, ServerConfig, create_app  # noqa: E402

WORLD = (Path(__file__).parent / "world.yaml").read_text(encoding="utf-8")
TOKEN = "test-token-0123456789abcdef"
#: Guards against a hang; a test never depends on how fast the machine is.
PATIENCE_S = 120.0


class Api:
    """A running server and an httpx client for it."""

    def __init__(self, runs_dir: Path, token: str | None = None,
                 reads_need_token: bool = False) -> None:
        self.app = create_app(ServerConfig(runs_dir=runs_dir, token=token,
                                           reads_need_token=reads_need_token))
        self.server = BackgroundServer(self.app).start()
        self.url = self.server.url
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.client = httpx.Client(base_url=self.url, timeout=PATIENCE_S, headers=headers)
        self.anon = httpx.Client(base_url=self.url, timeout=PATIENCE_S)

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://")

    def close(self) -> None:
        self.client.close()
        self.anon.close()
        self.server.stop()

    def upload_world(self) -> None:
        r = self.client.post("/api/scenarios", json={"yaml": WORLD})
        assert r.status_code == 201, r.text

    def start(self, **body: Any) -> str:
        r = self.client.post("/api/runs", json={"scenario": "api-world", **body})
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def wait(self, run_id: str, ok: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        deadline = time.monotonic() + PATIENCE_S
        while True:
            st = self.client.get(f"/api/runs/{run_id}").json()
            if ok(st):
                return st
            assert st.get("state") != "failed", st
            assert time.monotonic() < deadline, f"gave up waiting: {st}"
            time.sleep(0.05)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    a = Api(tmp_path_factory.mktemp("runs"))
    a.upload_world()
    yield a
    a.close()
