"""The web console in headless Chromium (Debian's ``/usr/bin/chromium`` driven by Playwright —
never a downloaded browser): offline, renders the globe, shows the run, pauses and steps, and
injects a fault from the page.

WebGL in headless Chromium on a machine without a GPU works through SwiftShader
(``--use-angle=swiftshader --enable-unsafe-swiftshader``); ``--disable-gpu`` alone leaves Cesium
without a WebGL context.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

from ..api.conftest import Api

CHROMIUM = "/usr/bin/chromium"
sync_api = pytest.importorskip("playwright.sync_api")
if not Path(CHROMIUM).is_file():  # pragma: no cover - make test installs it
    pytest.skip(f"{CHROMIUM} missing (make test installs Debian's chromium)",
                allow_module_level=True)

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        "--use-angle=swiftshader", "--enable-unsafe-swiftshader"]
WAIT_MS = 90_000


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    a = Api(tmp_path_factory.mktemp("runs"))
    a.upload_world()
    rid = a.start(paused=True, speed="30x")
    a.wait(rid, lambda s: s["state"] == "paused")
    yield a, rid
    a.close()


@pytest.fixture(scope="module")
def browser():
    profile = tempfile.mkdtemp(prefix="orbemu-chromium-")
    with sync_api.sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=ARGS,
            viewport={"width": 1280, "height": 800}, env={**os.environ, "TZ": "UTC"})
        yield ctx
        ctx.close()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def page(served, browser):
    api, rid = served
    pg = browser.new_page()
    outside: list[str] = []
    errors: list[str] = []

    def route(r):
        url = r.request.url
        if url.startswith(api.url) or url.startswith("data:") or url.startswith("blob:"):
            r.continue_()
        else:  # anything beyond this server: record it and refuse
            outside.append(url)
            r.abort()

    pg.route("**/*", route)
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(f"{api.url}/?run={rid}&rate=10")
    pg.wait_for_function("window.orbemu && window.orbemu.snapshots > 0", timeout=WAIT_MS)
    pg.outside, pg.errors, pg.rid, pg.api = outside, errors, rid, api  # for the tests
    yield pg
    pg.close()


def _globe_pixels(pg) -> np.ndarray:
    from PIL import Image

    shot = pg.locator("#globe").screenshot()
    return np.asarray(Image.open(io.BytesIO(shot)).convert("RGB"), dtype=np.float64)


def test_the_console_loads_with_nothing_from_outside(page):
    page.wait_for_timeout(500)
    assert page.outside == []
    assert page.errors == []
    assert page.evaluate("Cesium.Ion.defaultAccessToken") == ""
    assert page.evaluate("typeof Cesium.VERSION") == "string"


def test_the_globe_renders(page):
    px = _globe_pixels(page)
    assert px.shape[0] > 300 and px.shape[1] > 300
    assert px.std() > 20  # not a blank canvas: imagery, space, satellites
    colours = np.unique(px.reshape(-1, 3) // 8, axis=0)
    assert len(colours) > 200
    # the Earth is in the middle: NaturalEarthII's land and sea, not the black of space
    h, w, _ = px.shape
    centre = px[h // 2 - 40:h // 2 + 40, w // 2 - 40:w // 2 + 40]
    assert centre.mean() > 25


def test_the_satellite_count_matches_the_run(page):
    st = page.api.client.get(f"/api/runs/{page.rid}").json()
    shown = page.locator("#sat-count").inner_text().replace(",", "")
    assert int(shown) == st["n_sats"] == 52
    assert page.evaluate("orbemu.points.length") == 52
    assert page.evaluate("orbemu.points.get(0).show") is True
    assert int(page.locator("#ground-count").inner_text()) == 9


def _step_shown(page) -> tuple[int, int]:
    return (int(page.locator("#sim-step").inner_text()),
            int(page.evaluate("orbemu.header.time_ns")))


def test_pause_and_step_advance_exactly_one_step(page):
    page.click("#btn-play")
    page.wait_for_function("orbemu.header.state === 'running' && orbemu.header.step > 2",
                           timeout=WAIT_MS)
    page.click("#btn-pause")
    page.wait_for_function("orbemu.header.state === 'paused'", timeout=WAIT_MS)
    page.wait_for_timeout(300)
    step0, t0 = _step_shown(page)
    assert page.locator("#state").inner_text().lower() == "paused"
    page.click("#btn-step")
    page.wait_for_function(f"orbemu.header.step === {step0 + 1} && "
                           "orbemu.header.state === 'paused'", timeout=WAIT_MS)
    step1, t1 = _step_shown(page)
    assert step1 == step0 + 1
    assert t1 - t0 == 10 * 10**9  # exactly one 10 s step, in integer nanoseconds
    page.wait_for_timeout(300)
    assert _step_shown(page) == (step1, t1)  # and it stays paused


def test_a_fault_injected_from_the_page_appears_in_the_events(page):
    page.fill("#fault-spec", "sat:EO-P1-S0 down for 5m")
    page.click("#btn-fault")
    page.wait_for_function("document.getElementById('fault-msg').textContent.length > 0",
                           timeout=WAIT_MS)
    assert page.locator("#fault-msg").inner_text().startswith("injected: sat:EO-P1-S0 down")
    page.click("#btn-step")  # the fault starts at the step boundary it was injected at
    row = page.locator("#events li[data-kind='fault_start']")
    row.first.wait_for(timeout=WAIT_MS)
    assert "EO-P1-S0" in row.first.inner_text()
    page.wait_for_function("orbemu.header.down.length === 1", timeout=WAIT_MS)
    assert page.locator("#sat-alive").inner_text() == "51"


def test_a_bad_fault_shows_the_message(page):
    page.fill("#fault-spec", "sat:NOBODY down for 5m")
    page.click("#btn-fault")
    page.wait_for_function("document.getElementById('fault-msg').className.includes('bad')",
                           timeout=WAIT_MS)
    assert "no satellite 'NOBODY'" in page.locator("#fault-msg").inner_text()


def test_the_2d_map(page):
    page.click("#btn-2d")
    page.wait_for_function("orbemu.viewer.scene.mode === Cesium.SceneMode.SCENE2D",
                           timeout=WAIT_MS)
    page.evaluate("orbemu.viewer.scene.requestRender()")
    page.wait_for_timeout(500)
    px = _globe_pixels(page)
    assert px.std() > 20
    page.click("#btn-2d")
    page.wait_for_function("orbemu.viewer.scene.mode === Cesium.SceneMode.SCENE3D",
                           timeout=WAIT_MS)
    assert page.outside == [] and page.errors == []
