// Small hand-written canvas charts for the console: time series and a contact Gantt.
// No library: a few hundred points per series, redrawn when data arrives.
"use strict";

const OrbCharts = (() => {
  const AXIS = "#2a3340", TEXT = "#7b8798";

  function hhmm(ms) {
    const d = new Date(ms);
    return d.toISOString().slice(11, 16);
  }

  function setup(canvas) {
    const ctx = canvas.getContext("2d");
    const w = canvas.width, h = canvas.height;
    ctx.clearRect(0, 0, w, h);
    ctx.font = "10px system-ui, sans-serif";
    return { ctx, w, h };
  }

  class LineChart {
    // title: text; unit: y unit; series: [{name, color}]; maxPoints: kept per series
    constructor(canvas, title, unit, series, maxPoints = 2000) {
      this.canvas = canvas; this.title = title; this.unit = unit;
      this.series = series.map(s => ({ ...s, x: [], y: [] }));
      this.maxPoints = maxPoints;
      this.fixed = null;  // [ymin, ymax] or null (auto)
    }
    setSeries(series) {
      this.series = series.map(s => ({ ...s, x: [], y: [] }));
    }
    push(i, x, y) {
      const s = this.series[i];
      if (!s) return;
      if (s.x.length && x <= s.x[s.x.length - 1]) return;  // only forward in time
      s.x.push(x); s.y.push(y);
      if (s.x.length > this.maxPoints) { s.x.shift(); s.y.shift(); }
    }
    clear() { for (const s of this.series) { s.x = []; s.y = []; } }
    draw() {
      const { ctx, w, h } = setup(this.canvas);
      const L = 36, R = 6, T = 14, B = 14;
      let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
      for (const s of this.series) {
        for (let k = 0; k < s.x.length; k++) {
          const y = s.y[k];
          x0 = Math.min(x0, s.x[k]); x1 = Math.max(x1, s.x[k]);
          if (y !== null && Number.isFinite(y)) { y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
        }
      }
      if (this.fixed) { [y0, y1] = this.fixed; }
      ctx.fillStyle = TEXT;
      ctx.fillText(this.title + (this.unit ? ` (${this.unit})` : ""), L, 10);
      let lx = w - R;
      const titleEnd = L + ctx.measureText(this.title + " (" + this.unit + ")").width + 8;
      for (let i = this.series.length - 1; i >= 0; i--) {
        const s = this.series[i], tw = ctx.measureText(s.name).width;
        if (lx - tw - 14 < titleEnd) break;  // no room: the rest of the legend is left out
        lx -= tw + 14;
        ctx.fillStyle = s.color; ctx.fillRect(lx, 4, 8, 6);
        ctx.fillStyle = TEXT; ctx.fillText(s.name, lx + 10, 10);
      }
      ctx.strokeStyle = AXIS; ctx.strokeRect(L, T, w - L - R, h - T - B);
      if (!(x1 > x0) || !(y1 >= y0)) {
        ctx.fillStyle = TEXT; ctx.fillText("waiting for data", L + 8, T + 16);
        return;
      }
      if (y1 === y0) { y1 += 1; y0 -= 1; }
      const pad = (y1 - y0) * 0.08; y0 -= pad; y1 += pad;
      const px = x => L + (x - x0) / (x1 - x0) * (w - L - R);
      const py = y => T + (1 - (y - y0) / (y1 - y0)) * (h - T - B);
      ctx.fillStyle = TEXT;
      ctx.fillText(y1.toFixed(y1 < 10 ? 2 : 0), 2, T + 8);
      ctx.fillText(y0.toFixed(y0 < 10 ? 2 : 0), 2, h - B);
      ctx.fillText(hhmm(x0), L, h - 2);
      ctx.fillText(hhmm(x1), w - R - 28, h - 2);
      for (const s of this.series) {
        ctx.strokeStyle = s.color; ctx.lineWidth = 1.3; ctx.beginPath();
        let pen = false;
        for (let k = 0; k < s.x.length; k++) {
          const y = s.y[k];
          if (y === null || !Number.isFinite(y)) { pen = false; continue; }
          if (pen) ctx.lineTo(px(s.x[k]), py(y)); else ctx.moveTo(px(s.x[k]), py(y));
          pen = true;
        }
        ctx.stroke();
      }
    }
  }

  const STATUS_COLORS = {
    planned: "#3d4b5e", active: "#4fb3ff", completed: "#5cd18b", cut: "#ff5c5c",
    cancelled: "#8a3a3a",
  };

  class Gantt {
    // plan: {start_ms:[], end_ms:[], sat:[], station:[]}; names: satellite names
    constructor(canvas) { this.canvas = canvas; this.rows = []; this.status = []; }
    setPlan(plan, satNames, stationNames, maxRows = 24) {
      this.plan = plan; this.satNames = satNames; this.stationNames = stationNames;
      const first = new Map();
      for (let i = 0; i < plan.sat.length; i++) {
        const s = plan.sat[i];
        if (!first.has(s) || plan.start_ms[i] < first.get(s)) first.set(s, plan.start_ms[i]);
      }
      this.rows = [...first.keys()].sort((a, b) => a - b).slice(0, maxRows);
      this.rowOf = new Map(this.rows.map((s, r) => [s, r]));
      this.status = plan.sat.map(() => null);
      this.index = new Map();  // "sat@station" -> plan rows
      for (let i = 0; i < plan.sat.length; i++) {
        const key = satNames[plan.sat[i]] + "@" + stationNames[plan.station[i]];
        if (!this.index.has(key)) this.index.set(key, []);
        this.index.get(key).push(i);
      }
    }
    mark(subject, tMs, status) {
      const rows = this.index && this.index.get(subject);
      if (!rows) return;
      let best = -1, bestD = Infinity;
      for (const i of rows) {
        const d = tMs < this.plan.start_ms[i] ? this.plan.start_ms[i] - tMs
          : (tMs > this.plan.end_ms[i] ? tMs - this.plan.end_ms[i] : 0);
        if (d < bestD) { bestD = d; best = i; }
      }
      if (best >= 0) this.status[best] = status;
    }
    draw(nowMs) {
      const { ctx, w, h } = setup(this.canvas);
      if (!this.plan || !this.rows.length) {
        ctx.fillStyle = TEXT; ctx.fillText("no contact plan in this run", 8, 16);
        return;
      }
      const L = 70, T = 4, B = 12;
      const t0 = nowMs - 30 * 60e3, t1 = nowMs + 90 * 60e3;
      const rh = Math.max(4, Math.min(12, (h - T - B) / this.rows.length));
      const px = t => L + (t - t0) / (t1 - t0) * (w - L - 4);
      ctx.fillStyle = TEXT;
      this.rows.forEach((s, r) => {
        if (rh >= 7) ctx.fillText(String(this.satNames[s]).slice(0, 11), 2, T + r * rh + rh - 1);
      });
      const p = this.plan;
      for (let i = 0; i < p.sat.length; i++) {
        const r = this.rowOf.get(p.sat[i]);
        if (r === undefined || p.end_ms[i] < t0 || p.start_ms[i] > t1) continue;
        let st = this.status[i];
        if (!st) st = p.end_ms[i] < nowMs ? "completed" : (p.start_ms[i] <= nowMs ? "active" : "planned");
        ctx.fillStyle = STATUS_COLORS[st] || STATUS_COLORS.planned;
        const a = Math.max(px(p.start_ms[i]), L), b = Math.min(px(p.end_ms[i]), w - 4);
        ctx.fillRect(a, T + r * rh + 1, Math.max(1.5, b - a), rh - 2);
      }
      ctx.strokeStyle = "#ffb347"; ctx.beginPath();
      ctx.moveTo(px(nowMs), T); ctx.lineTo(px(nowMs), h - B); ctx.stroke();
      ctx.fillStyle = TEXT;
      ctx.fillText(hhmm(t0), L, h - 2); ctx.fillText(hhmm(t1), w - 32, h - 2);
      ctx.fillText("now", px(nowMs) - 8, h - 2);
    }
  }

  return { LineChart, Gantt, STATUS_COLORS };
})();
