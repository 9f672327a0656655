// orbemu web console: a CesiumJS globe fed by the run's WebSocket stream.
//
// Offline by construction: CesiumJS and its NaturalEarthII imagery come from this server
// (/static/cesium), no Ion token, no geocoder, no base-layer picker, no other host.
// The stream sends the full state once (names, ground nodes, ISL pairs, contact plan), then
// binary snapshots: a JSON header + float32 ITRF positions (see orbemu.api.snapshot).
"use strict";

(() => {
  const $ = id => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  const hashToken = new URLSearchParams(location.hash.slice(1)).get("token");
  if (hashToken) {
    sessionStorage.setItem("orbemu-token", hashToken);
    history.replaceState(null, "", location.pathname + location.search);  // out of sight
  }
  let token = sessionStorage.getItem("orbemu-token") || null;
  const RATE_HZ = Math.min(20, Math.max(0.2, Number(params.get("rate")) || 4));

  // ---- state shown (also read by the browser tests) ----
  const orb = window.orbemu = {
    runId: params.get("run"), state: null, header: null, snapshots: 0, events: [],
    points: null, nSats: 0, errors: [],
  };

  // ---- Cesium, offline ----
  Cesium.Ion.defaultAccessToken = "";
  const imagery = Cesium.ImageryLayer.fromProviderAsync(
    Cesium.TileMapServiceImageryProvider.fromUrl(
      Cesium.buildModuleUrl("Assets/Textures/NaturalEarthII")));
  const viewer = new Cesium.Viewer("globe", {
    baseLayer: imagery, baseLayerPicker: false, geocoder: false, homeButton: false,
    sceneModePicker: false, navigationHelpButton: false, animation: false, timeline: false,
    fullscreenButton: false, infoBox: false, selectionIndicator: false,
    terrainProvider: new Cesium.EllipsoidTerrainProvider(),
    requestRenderMode: true, maximumRenderTimeChange: Infinity,
    contextOptions: { webgl: { preserveDrawingBuffer: true } },
  });
  const scene = viewer.scene;
  scene.globe.enableLighting = true;
  scene.globe.showGroundAtmosphere = true;
  viewer.clock.shouldAnimate = false;
  orb.viewer = viewer;

  const satPoints = scene.primitives.add(new Cesium.PointPrimitiveCollection());
  const groundPoints = scene.primitives.add(new Cesium.PointPrimitiveCollection());
  const labels = scene.primitives.add(new Cesium.LabelCollection());
  let islLines = null;  // PolylineCollection, built when first shown
  const gslLines = scene.primitives.add(new Cesium.PolylineCollection());
  const pathLines = scene.primitives.add(new Cesium.PolylineCollection());

  const PALETTE = ["#4fb3ff", "#ffd166", "#c792ea", "#7fdbca", "#f78c6c", "#a5e075"];
  const ROLE_GROUND = { station: "#ff9f43", gateway: "#9aa5b1", pop: "#6c7a89",
                        site: "#ff5c8a", cloud: "#5cd18b" };
  const DOWN = Cesium.Color.fromCssColorString("#ff3b3b");
  const GSL_MAT = Cesium.Material.fromType("Color", {
    color: Cesium.Color.fromCssColorString("#9aa5b1").withAlpha(0.3) });
  const ISL_MAT = Cesium.Material.fromType("Color", {
    color: Cesium.Color.fromCssColorString("#4fb3ff").withAlpha(0.35) });
  const ISL_DOWN_MAT = Cesium.Material.fromType("Color", { color: DOWN.withAlpha(0.9) });
  const PATH_MAT = Cesium.Material.fromType(Cesium.Material.PolylineGlowType, {
    glowPower: 0.25, color: Cesium.Color.fromCssColorString("#ffe14d") });

  let full = null;           // the run's full state
  let satColors = [];        // base colour per satellite
  let groundXYZ = [];        // Cartesian3 per ground node
  let positions = null;      // Float32Array (n*3) of the last snapshot
  let downSet = new Set();
  let ws = null, wsBackoff = 500;
  const scratch = new Cesium.Cartesian3();

  // ---- helpers ----
  function iso(ms) { return new Date(ms).toISOString().replace("T", " ").slice(0, 19) + " UTC"; }
  function setText(id, text) { const el = $(id); if (el.textContent !== text) el.textContent = text; }
  function showError(msg) {
    orb.errors.push(msg);
    setText("error", msg);
    setTimeout(() => { if ($("error").textContent === msg) setText("error", ""); }, 8000);
  }
  async function api(method, path, body) {
    const headers = { "Content-Type": "application/json" };
    if (token) headers.Authorization = "Bearer " + token;
    const res = await fetch(path, { method, headers, body: body ? JSON.stringify(body) : undefined });
    let data = null;
    try { data = await res.json(); } catch (e) { data = null; }
    if (!res.ok) {
      const msg = data && data.message ? data.message : `${method} ${path}: ${res.status}`;
      if (res.status === 401 || res.status === 403) $("token-box").hidden = false;
      throw new Error(msg);
    }
    return data;
  }
  function control(action, body) {
    if (!orb.runId) return Promise.resolve();
    const method = action === "speed" ? "PUT" : "POST";
    return api(method, `/api/runs/${encodeURIComponent(orb.runId)}/${action}`, body)
      .catch(e => showError(e.message));
  }
  function satXYZ(i, out) {
    const k = 3 * i;
    return Cesium.Cartesian3.fromElements(positions[k], positions[k + 1], positions[k + 2], out);
  }
  function nodeXYZ(code) {  // path node: satellite i, ground node -(j+1)
    if (code < 0) return groundXYZ[-code - 1];
    const k = 3 * code;
    if (!positions || !Number.isFinite(positions[k])) return null;
    return new Cesium.Cartesian3(positions[k], positions[k + 1], positions[k + 2]);
  }

  // ---- charts ----
  const latency = new OrbCharts.LineChart($("chart-latency"), "RTT", "ms", []);
  const battery = new OrbCharts.LineChart($("chart-battery"), "battery", "% SoC",
    [{ name: "mean", color: "#5cd18b" }, { name: "min", color: "#ff5c5c" }]);
  const storage = new OrbCharts.LineChart($("chart-storage"), "storage", "% full",
    [{ name: "mean", color: "#4fb3ff" }, { name: "max", color: "#ffb347" }]);
  battery.fixed = null; storage.fixed = null;
  const gantt = new OrbCharts.Gantt($("gantt"));
  let lastNetMs = null, lastFleetStep = -1;

  // ---- the full state ----
  function onState(st) {
    full = st;
    orb.state = st;
    const n = st.satellites.count;
    orb.nSats = n;
    setText("run-name", st.name);
    $("replay-badge").hidden = !st.replay;
    $("fault-spec").disabled = $("btn-fault").disabled = !!st.replay;
    setText("sat-count", n.toLocaleString("en-US"));
    setText("ground-count", st.ground.count.toLocaleString("en-US"));
    setText("isl-count", (st.isl_pairs.length / 2).toLocaleString("en-US"));
    setText("sim-steps", String(st.n_steps));
    satPoints.removeAll(); groundPoints.removeAll(); labels.removeAll();
    gslLines.removeAll(); pathLines.removeAll();
    if (islLines) { scene.primitives.remove(islLines); islLines = null; }
    const size = n > 3000 ? 2 : (n > 300 ? 3 : 5);
    satColors = st.satellites.constellation.map(c =>
      Cesium.Color.fromCssColorString(PALETTE[c % PALETTE.length]));
    for (let i = 0; i < n; i++) {
      satPoints.add({ position: Cesium.Cartesian3.ZERO, pixelSize: size, color: satColors[i],
                      show: false, id: i });
    }
    orb.points = satPoints;
    const g = st.ground;
    groundXYZ = g.names.map((_, j) =>
      Cesium.Cartesian3.fromDegrees(g.lon_deg[j], g.lat_deg[j], g.alt_m[j] || 0));
    const labelled = g.roles.filter(r => r === "site" || r === "cloud" || r === "station").length;
    g.names.forEach((name, j) => {
      const role = g.roles[j];
      groundPoints.add({ position: groundXYZ[j], pixelSize: role === "pop" ? 3 : 5,
        color: Cesium.Color.fromCssColorString(ROLE_GROUND[role] || "#cccccc"),
        outlineColor: Cesium.Color.BLACK, outlineWidth: 1, id: -(j + 1) });
      if ((role === "site" || role === "cloud" || (role === "station" && labelled <= 80))) {
        labels.add({ position: groundXYZ[j], text: name, font: "11px sans-serif",
          fillColor: Cesium.Color.WHITE, outlineColor: Cesium.Color.BLACK, outlineWidth: 2,
          style: Cesium.LabelStyle.FILL_AND_OUTLINE, pixelOffset: new Cesium.Cartesian2(6, -6),
          distanceDisplayCondition: new Cesium.DistanceDisplayCondition(0, 3.0e7) });
      }
    });
    labels.show = $("show-labels").checked;
    const sel = $("pair-select");
    sel.innerHTML = "";
    st.monitor.forEach((m, i) => sel.add(new Option(`${m.src} → ${m.dst}`, String(i))));
    sel.add(new Option("all monitored pairs", "all"));
    latency.setSeries(st.monitor.map((m, i) => ({
      name: `${m.src.split(":").pop()}→${m.dst.split(":").pop()}`,
      color: PALETTE[i % PALETTE.length] })));
    battery.clear(); storage.clear(); lastNetMs = null; lastFleetStep = -1;
    gantt.setPlan(st.contact_plan, st.satellites.names, g.names);
    $("events").innerHTML = ""; orb.events = [];
    if ($("show-isl").checked) buildIsl();
    scene.requestRender();
  }

  // ---- layers ----
  const MAX_ISL_DRAWN = 25000;
  function buildIsl() {
    if (!full || islLines) return;
    islLines = scene.primitives.add(new Cesium.PolylineCollection());
    const pairs = full.isl_pairs, k = Math.min(pairs.length / 2, MAX_ISL_DRAWN);
    for (let r = 0; r < k; r++) {
      islLines.add({ positions: [Cesium.Cartesian3.ZERO, Cesium.Cartesian3.UNIT_X], width: 1,
                     material: ISL_MAT, show: false });
    }
    if (orb.header) updateIsl(orb.header);
  }
  function updateIsl(h) {
    if (!islLines || !positions) return;
    const pairs = full.isl_pairs, down = new Set(h.isl_down), off = new Set(h.isl_off || []);
    const n = islLines.length;
    for (let r = 0; r < n; r++) {
      const a = pairs[2 * r], b = pairs[2 * r + 1], line = islLines.get(r);
      if (off.has(r) || !Number.isFinite(positions[3 * a]) || !Number.isFinite(positions[3 * b])) {
        line.show = false; continue;
      }
      line.positions = [satXYZ(a, new Cesium.Cartesian3()), satXYZ(b, new Cesium.Cartesian3())];
      const isDown = down.has(r);
      if (line._orbDown !== isDown) { line.material = isDown ? ISL_DOWN_MAT : ISL_MAT; line._orbDown = isDown; }
      line.show = true;
    }
  }
  function updateGsl(h) {
    gslLines.removeAll();
    if (!$("show-gsl").checked || !positions) return;
    const g = h.gsl;
    for (let k = 0; k < g.length; k += 2) {
      const a = groundXYZ[g[k]], b = nodeXYZ(g[k + 1]);
      if (a && b) gslLines.add({ positions: [a, b], width: 1, material: GSL_MAT });
    }
  }
  function updatePaths(h) {
    pathLines.removeAll();
    const info = [];
    const which = $("pair-select").value;
    for (const p of h.paths) {
      if (which !== "all" && String(p.pair) !== which) continue;
      const m = full.monitor[p.pair];
      info.push(p.reachable ? `${m.src} → ${m.dst}: ${p.rtt_ms.toFixed(1)} ms, ${p.hops} hops`
        : `${m.src} → ${m.dst}: unreachable`);
      if (!$("show-path").checked || !p.reachable || p.nodes.length < 2) continue;
      const pts = p.nodes.map(nodeXYZ).filter(x => x);
      if (pts.length >= 2) pathLines.add({ positions: pts, width: 6, material: PATH_MAT });
    }
    setText("path-info", info.join(" · "));
  }

  // ---- a snapshot ----
  function onSnapshot(buf) {
    const dv = new DataView(buf);
    if (dv.getUint32(0, false) !== 0x4f524231) return;  // "ORB1"
    const hlen = dv.getUint32(4, true);
    const h = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 8, hlen)));
    if (!full) return;
    positions = new Float32Array(buf, 8 + hlen);
    orb.header = h; orb.snapshots++;
    const n = Math.min(satPoints.length, positions.length / 3);
    const newDown = new Set(h.down);
    for (let i = 0; i < n; i++) {
      const p = satPoints.get(i), k = 3 * i;
      const x = positions[k];
      if (!Number.isFinite(x)) { if (p.show) p.show = false; continue; }
      scratch.x = x; scratch.y = positions[k + 1]; scratch.z = positions[k + 2];
      p.position = scratch;
      if (!p.show) p.show = true;
    }
    for (const i of downSet) if (!newDown.has(i) && i < n) satPoints.get(i).color = satColors[i];
    for (const i of newDown) if (i < n) { const p = satPoints.get(i); p.color = DOWN; p.pixelSize = 6; }
    for (const i of downSet) if (!newDown.has(i) && i < n) satPoints.get(i).pixelSize = n > 3000 ? 2 : (n > 300 ? 3 : 5);
    downSet = newDown;
    const gDown = new Set(h.ground_down);
    for (let j = 0; j < groundPoints.length; j++) {
      const p = groundPoints.get(j);
      p.outlineColor = gDown.has(j) ? DOWN : Cesium.Color.BLACK;
      p.outlineWidth = gDown.has(j) ? 3 : 1;
    }
    if ($("show-isl").checked) updateIsl(h);
    updateGsl(h);
    updatePaths(h);
    viewer.clock.currentTime = Cesium.JulianDate.fromDate(new Date(h.time_ms));
    // time bar
    setText("sim-time", iso(h.time_ms));
    setText("sim-step", String(h.step));
    setText("sim-steps", String(h.n_steps));
    $("progress").value = h.n_steps ? h.step / h.n_steps : 0;
    setText("state", h.state);
    $("state").className = "state " + h.state;
    setText("sat-alive", h.sats_alive.toLocaleString("en-US"));
    setText("achieved", h.speed && Number.isFinite(h.speed) && h.state === "running"
      ? `${Math.round(h.speed).toLocaleString("en-US")}× real time (${h.clock})` : `(${h.clock})`);
    const clockOpt = h.clock === "1x" ? "realtime" : h.clock;
    if (clockOpt && document.activeElement !== $("speed")) {
      if (![...$("speed").options].some(o => o.value === clockOpt)) {
        $("speed").add(new Option(clockOpt.replace("x", "×"), clockOpt));
      }
      $("speed").value = clockOpt;
    }
    const finished = ["completed", "stopped", "failed"].includes(h.state);
    for (const id of ["btn-play", "btn-pause", "btn-step", "btn-stop"]) $(id).disabled = finished;
    // charts
    if (h.net_time_ms !== null && h.net_time_ms !== lastNetMs) {
      lastNetMs = h.net_time_ms;
      for (const p of h.paths) latency.push(p.pair, h.net_time_ms, p.reachable ? p.rtt_ms : null);
      latency.draw();
    }
    const f = h.fleet;
    if (f && f.soc_mean !== undefined && f.soc_mean !== null && h.step !== lastFleetStep) {
      lastFleetStep = h.step;
      battery.push(0, h.time_ms, 100 * f.soc_mean); battery.push(1, h.time_ms, 100 * f.soc_min);
      storage.push(0, h.time_ms, 100 * f.fill_mean); storage.push(1, h.time_ms, 100 * f.fill_max);
      battery.draw(); storage.draw();
    }
    gantt.draw(h.time_ms);
    scene.requestRender();
  }

  // ---- events ----
  const BAD = new Set(["fault_start", "contact_cut", "contact_cancelled", "unreachable",
    "link_down", "battery_low", "storage_full", "safe_mode_entry"]);
  const GOOD = new Set(["fault_end", "reachable", "link_up", "battery_recovered",
    "safe_mode_exit", "contact_start"]);
  function onEvents(msg) {
    const list = $("events");
    const filter = $("event-filter").value.trim().toLowerCase();
    const frag = document.createDocumentFragment();
    for (const e of msg.events) {
      orb.events.push(e);
      if (e.kind === "contact_start") gantt.mark(e.subject, e.time_ms, "active");
      else if (e.kind === "contact_end") gantt.mark(e.subject, e.time_ms, "completed");
      else if (e.kind === "contact_cut") gantt.mark(e.subject, e.time_ms, "cut");
      else if (e.kind === "contact_cancelled") gantt.mark(e.subject, e.time_ms, "cancelled");
      const li = document.createElement("li");
      li.dataset.kind = e.kind;
      li.className = e.kind.startsWith("fault") ? "fault" : (BAD.has(e.kind) ? "bad" : (GOOD.has(e.kind) ? "good" : ""));
      const t = document.createElement("span"); t.className = "t";
      t.textContent = new Date(e.time_ms).toISOString().slice(11, 19);
      const k = document.createElement("span"); k.className = "k"; k.textContent = e.kind;
      const s = document.createElement("span"); s.textContent = e.subject;
      li.append(t, k, s);
      li.title = e.detail ? JSON.stringify(e.detail) : "";
      if (filter && !(e.kind + " " + e.subject).toLowerCase().includes(filter)) li.hidden = true;
      frag.prepend(li);
    }
    if (orb.events.length > 5000) orb.events.splice(0, orb.events.length - 5000);
    list.prepend(frag);
    while (list.children.length > 400) list.lastChild.remove();
    setText("event-total", msg.skipped ? `(${msg.skipped} skipped)` : "");
  }

  // ---- the stream ----
  function connect() {
    if (!orb.runId) return;
    if (ws) { ws.onclose = null; ws.close(); }
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    ws = new WebSocket(`${proto}//${location.host}/api/runs/${encodeURIComponent(orb.runId)}/stream`);
    ws.binaryType = "arraybuffer";
    ws.onopen = () => {
      ws.send(JSON.stringify({ type: "hello", token, rate: RATE_HZ }));
      $("conn").textContent = "connected"; $("conn").className = "conn on"; wsBackoff = 500;
    };
    ws.onmessage = ev => {
      if (typeof ev.data !== "string") { onSnapshot(ev.data); return; }
      const msg = JSON.parse(ev.data);
      if (msg.type === "state") onState(msg);
      else if (msg.type === "events") onEvents(msg);
      else if (msg.type === "status") { setText("state", msg.state); setText("run-name", msg.scenario || "—"); }
      else if (msg.type === "error") {
        showError(msg.message);
        if (msg.status === 401 || msg.status === 403) $("token-box").hidden = false;
      }
    };
    ws.onclose = () => {
      $("conn").textContent = "disconnected"; $("conn").className = "conn";
      setTimeout(connect, wsBackoff); wsBackoff = Math.min(wsBackoff * 2, 10000);
    };
  }

  // ---- runs and scenarios ----
  async function refreshLists() {
    try {
      const [runs, scenarios] = await Promise.all([api("GET", "/api/runs"), api("GET", "/api/scenarios")]);
      const rs = $("run-select");
      rs.innerHTML = "";
      rs.add(new Option("—", ""));
      for (const r of runs) rs.add(new Option(`${r.id} (${r.kind === "live" ? r.state : "replay"})`, r.id));
      rs.value = orb.runId || "";
      const ss = $("scenario-select");
      ss.innerHTML = "";
      for (const s of scenarios) ss.add(new Option(s.name, s.name));
      if (!orb.runId) {
        const live = runs.find(r => r.kind === "live" && !["completed", "failed", "stopped"].includes(r.state));
        if (live) selectRun(live.id);
      }
    } catch (e) { showError(e.message); }
  }
  function selectRun(id) {
    orb.runId = id || null;
    const url = new URL(location.href);
    if (id) url.searchParams.set("run", id); else url.searchParams.delete("run");
    history.replaceState(null, "", url.pathname + url.search);
    full = null; positions = null;
    connect();
  }

  // ---- wiring ----
  $("btn-play").onclick = () => control("resume");
  $("btn-pause").onclick = () => control("pause");
  $("btn-step").onclick = () => control("step", { n: 1 });
  $("btn-stop").onclick = () => control("stop");
  $("speed").onchange = () => control("speed", { clock: $("speed").value });
  $("run-select").onchange = () => selectRun($("run-select").value);
  $("btn-start").onclick = async () => {
    try {
      const r = await api("POST", "/api/runs", { scenario: $("scenario-select").value,
                                                 speed: $("speed").value });
      await refreshLists();
      selectRun(r.id);
    } catch (e) { showError(e.message); }
  };
  $("btn-token").onclick = () => {
    token = $("token-input").value.trim() || null;
    if (token) sessionStorage.setItem("orbemu-token", token);
    $("token-box").hidden = true;
    refreshLists(); connect();
  };
  $("fault-form").onsubmit = async ev => {
    ev.preventDefault();
    const spec = $("fault-spec").value.trim();
    if (!spec || !orb.runId) return;
    const msg = $("fault-msg");
    try {
      const f = await api("POST", `/api/runs/${encodeURIComponent(orb.runId)}/faults`, { spec, at: "now" });
      msg.className = "msg"; msg.textContent = `injected: ${f.spec}`;
    } catch (e) { msg.className = "msg bad"; msg.textContent = e.message; }
  };
  $("show-isl").onchange = () => {
    if ($("show-isl").checked) buildIsl();
    else if (islLines) { scene.primitives.remove(islLines); islLines = null; }
    scene.requestRender();
  };
  for (const id of ["show-gsl", "show-path", "pair-select"]) {
    $(id).onchange = () => { if (orb.header) { updateGsl(orb.header); updatePaths(orb.header); } scene.requestRender(); };
  }
  $("show-labels").onchange = () => { labels.show = $("show-labels").checked; scene.requestRender(); };
  $("event-filter").oninput = () => {
    const f = $("event-filter").value.trim().toLowerCase();
    for (const li of $("events").children) li.hidden = !!f && !li.textContent.toLowerCase().includes(f);
  };
  $("btn-2d").onclick = () => {
    if (scene.mode === Cesium.SceneMode.SCENE2D) { scene.morphTo3D(0); $("btn-2d").textContent = "2-D map"; }
    else { scene.morphTo2D(0); $("btn-2d").textContent = "globe"; }
    scene.requestRender();
  };
  window.addEventListener("resize", () => scene.requestRender());

  api("GET", "/api/health").then(h => {
    if ((h.token_for_control || h.token_for_reads) && !token) $("token-box").hidden = false;
  }).catch(e => showError(e.message));
  refreshLists();
  if (orb.runId) connect();
  latency.draw(); battery.draw(); storage.draw(); gantt.draw(Date.now());
})();
