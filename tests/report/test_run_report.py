"""The run report on real runs of the engine: every figure in the page recomputed from the
database, faults and the effects they really had, a read-only store, and partial stores."""

from __future__ import annotations

import base64
import hashlib
import html.parser
import sqlite3
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from orbemu.constants import NS_PER_S
from orbemu.time import Time
from tests.cli.conftest import orbemu_process

T0 = "2026-06-01T00:00:00Z"

SCENARIO = f"""\
name: report-test
seed: 7
run:
  start: {T0}
  duration: 1h
  step: 10s
constellations:
  - name: eo
    walker: {{planes: 2, sats_per_plane: 3, phasing: 1, altitude_km: 550, inclination_deg: 97.6,
             epoch: {T0}}}
    role: eo
    spacecraft: smallsat
  - name: net
    walker: {{planes: 12, sats_per_plane: 16, phasing: 1, altitude_km: 550, inclination_deg: 53,
             epoch: {T0}}}
    role: relay
spacecraft:
  smallsat:
    battery: {{capacity_wh: 60}}
    radio: {{housekeeping_interval_s: 30}}
ground:
  stations:
    - dataset: ksat
      min_elevation_deg: 5
      antennas: 1
  sites:
    - {{name: mine, lat_deg: -24.27, lon_deg: -69.07}}
  destinations:
    - {{name: cloud, lat_deg: -23.55, lon_deg: -46.63}}
targets:
  - {{name: atacama, lat_deg: -23.5, lon_deg: -68.2}}
network:
  isl: {{max_range_km: null}}
  gsl: {{policy: all, max_per_node: null, min_elevation_deg: 10}}
  monitor:
    - site:mine -> cloud:cloud
faults:
  - seu:EO-P1-S0 reboot at 12m for 2m
outputs:
  housekeeping_every: 1m
  network_every: 30s
"""


def _sql(db: Path, sql: str, params=()):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def _iso(ns: int) -> str:
    return str(Time(int(ns)).iso("s"))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two runs of one scenario: the first as it is; the second with faults aimed, from the
    first run's records, at things that were in use: a relay satellite on the monitored path,
    a station during a contact (cut) and another before its contact (cancelled)."""
    root = tmp_path_factory.mktemp("runreport")
    scenario = root / "s.yaml"
    scenario.write_text(SCENARIO)
    first = root / "first"
    res = orbemu_process("run", scenario, "--out", first)
    assert res.returncode == 0, res.stderr
    db = first / "telemetry.sqlite"
    t0 = int(Time.parse(T0))
    # the path in use at 10 min
    (path,) = _sql(db, "SELECT path FROM network WHERE time_ns >= ? AND reachable = 1 "
                       "ORDER BY time_ns LIMIT 1", (t0 + 600 * NS_PER_S,))[0]
    relay = path.split(" > ")[1]
    contacts = _sql(db, "SELECT c.start_ns, c.end_ns, g.name FROM contacts c JOIN ground_nodes "
                        "g USING (station) WHERE c.start_ns > ? ORDER BY c.start_ns",
                    (t0 + 300 * NS_PER_S,))
    cut_start, cut_end, cut_station = contacts[0]
    later = [c for c in contacts if c[2] != cut_station and c[0] > cut_end]
    cancel_start, cancel_end, cancel_station = later[0]
    faults = [f"sat:{relay} down at {_iso(t0 + 620 * NS_PER_S)} for 5m",
              f"station:{cut_station} down at {_iso((cut_start + cut_end) // 2)} for 20m",
              f"station:{cancel_station} down at {_iso(cancel_start - 60 * NS_PER_S)} for "
              f"{(cancel_end - cancel_start) // NS_PER_S + 180}s"]
    second = root / "second"
    args = [a for f in faults for a in ("--fault", f)]
    res = orbemu_process("run", scenario, "--out", second, *args)
    assert res.returncode == 0, res.stderr
    assert f"report: {second / 'report.html'}" in res.stdout  # written at the end of the run
    return {"first": first, "second": second, "relay": relay, "cut": cut_station,
            "cancel": cancel_station}


class _Page(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[dict[str, str]] = []
        self.tags: set[str] = set()
        self.external: list[str] = []
        self.tables: dict[str, list[list[tuple[str, str | None]]]] = {}
        self._table: str | None = None
        self._cell: list[str] | None = None
        self._value: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.add(tag)
        if tag == "img":
            self.images.append(a)
        for key in ("src", "href"):
            if a.get(key, "").startswith(("http:", "https:", "//")):
                self.external.append(a[key])
        if tag == "table":
            self._table = a.get("id") or f"t{len(self.tables)}"
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag == "td":
            self._cell, self._value = [], a.get("data-value")

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None and self._table:
            self.tables[self._table][-1].append(("".join(self._cell), self._value))
            self._cell = None
        elif tag == "table":
            self._table = None


def page_of(run: Path) -> _Page:
    page = _Page()
    page.feed((run / "report.html").read_text(encoding="utf-8"))
    return page


def test_the_page_stands_alone_with_every_figure(runs):
    run = runs["second"]
    page = page_of(run)
    files = {p.name for p in (run / "report").glob("*.png")}
    assert {"power.png", "storage.png", "contacts.png", "volume.png", "events.png",
            "network.png"} <= files
    assert {img["data-file"] for img in page.images} == files
    for img in page.images:
        head, data = img["src"].split(",", 1)
        assert head == "data:image/png;base64"
        assert base64.b64decode(data) == (run / "report" / img["data-file"]).read_bytes()
    assert not page.external and not {"script", "link", "iframe"} & page.tags


def test_network_figures_equal_the_database(runs):
    run = runs["second"]
    rows = _sql(run / "telemetry.sqlite", "SELECT rtt_ms, reachable, path FROM network "
                                          "ORDER BY time_ns")
    rtt = np.array([r[0] for r in rows if r[1]], dtype=float)
    reach = np.array([r[1] for r in rows], dtype=bool)
    (cells,) = page_of(run).tables["network"][1:]
    value = [float(v) if v else np.nan for _, v in cells[1:]]
    assert cells[0][0] == "site:mine → cloud:cloud"
    assert value[0] == pytest.approx(reach.mean())
    np.testing.assert_allclose(value[1:4], np.percentile(rtt, [50, 90, 99]), rtol=1e-12)
    assert value[4] == rtt.min() and value[5] == rtt.max()
    changes = sum(rows[k][2] != rows[k - 1][2] for k in range(1, len(rows)))
    assert value[8] == changes and value[9] == len(rows)


def test_volume_and_events_equal_the_database(runs):
    run = runs["second"]
    db = run / "telemetry.sqlite"
    page = page_of(run)
    per_station = dict(_sql(db, "SELECT g.name, sum(c.volume_bits) / 8e9 FROM contacts c JOIN "
                                "ground_nodes g USING (station) GROUP BY g.name"))
    shown = {c[0][0]: float(c[2][1]) for c in page.tables["volume"][1:]}
    assert shown.keys() == per_station.keys()
    for name, gb in per_station.items():
        assert shown[name] == pytest.approx(gb, rel=1e-12)
    kinds = dict(_sql(db, "SELECT kind, count(*) FROM events GROUP BY kind"))
    listed = {c[0][0]: int(float(c[1][1])) for c in page.tables["event-kinds"][1:]}
    assert listed == kinds


def test_faults_and_the_effects_they_had(runs):
    run = runs["second"]
    db = run / "telemetry.sqlite"
    rows = {c[2][0]: c for c in page_of(run).tables["faults"][1:]}
    assert set(rows) == {runs["relay"], runs["cut"], runs["cancel"], "EO-P1-S0"}
    status = Counter(dict(_sql(db, "SELECT status, count(*) FROM contacts GROUP BY status")))
    assert status["cut"] >= 1 and status["cancelled"] >= 1
    cut_here = _sql(db, "SELECT count(*) FROM contacts c JOIN ground_nodes g USING (station) "
                        "WHERE g.name = ? AND status = 'cut'", (runs["cut"],))[0][0]
    assert cut_here >= 1
    assert f"{cut_here} contact{'s' if cut_here != 1 else ''} cut" in rows[runs["cut"]][7][0]
    assert "cancelled" in rows[runs["cancel"]][7][0]
    relay_text = rows[runs["relay"]][7][0]
    assert "monitored path used it (site:mine -> cloud:cloud)" in relay_text
    changes = int(relay_text.split(": ")[1].split(" route change")[0])
    assert changes >= 1  # the route moved off the lost satellite
    # the first run, without these faults, has none of those effects
    first = {c[2][0]: c for c in page_of(runs["first"]).tables["faults"][1:]}
    assert set(first) == {"EO-P1-S0"}


def test_fault_effects_match_the_records(runs):
    from orbemu.report.run_report import RunData, fault_effects

    data = RunData.open(runs["second"])
    try:
        effects = {e["fault"]["target"]: e for e in fault_effects(data)}
    finally:
        data.close()
    relay = effects[runs["relay"]]
    assert relay["paths"] == [("site:mine", "cloud:cloud")] and relay["reached"]
    # the path after the fault no longer holds the satellite
    f = relay["fault"]
    after = _sql(runs["second"] / "telemetry.sqlite",
                 "SELECT path FROM network WHERE time_ns > ? AND time_ns < ?",
                 (f["start_ns"], f["end_ns"]))
    assert after and all(runs["relay"] not in p.split(" > ") for (p,) in after if p)
    assert sum(effects[runs["cut"]]["contacts"].values()) >= 1


def test_report_only_reads_the_run(runs, tmp_path):
    run = runs["first"]
    db = run / "telemetry.sqlite"
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    res = orbemu_process("report", run, "--out", tmp_path)
    assert res.returncode == 0, res.stderr
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    assert (tmp_path / "report.html").is_file() and (tmp_path / "report" / "power.png").is_file()
    # the same figures as the page written by orbemu run (only the time stamp differs)
    a = page_of(run).tables
    b = _Page()
    b.feed((tmp_path / "report.html").read_text(encoding="utf-8"))
    assert a == b.tables


def test_a_partial_store_still_reports(tmp_path):
    """A store with housekeeping only (an older or trimmed run): the missing sections say so."""
    from orbemu.report.run_report import write_run_report
    from orbemu.store import RunInfo, SQLiteSink

    rng = np.random.default_rng(2)
    t0 = int(Time.parse(T0))
    with SQLiteSink(tmp_path / "run") as sink:
        sink.start_run(RunInfo(name="partial", start_ns=t0, step_ns=60 * NS_PER_S,
                               duration_ns=3600 * NS_PER_S))
        sink.write_satellites([f"S{i}" for i in range(5)])
        for k in range(61):
            sink.write_housekeeping(t0 + k * 60 * NS_PER_S, np.arange(5),
                                    {"soc": 0.5 + 0.4 * rng.random(5)})
    page = write_run_report(tmp_path / "run")
    text = page.read_text(encoding="utf-8")
    for note in ("No contacts in this run.", "No monitored network pairs in this run.",
                 "No faults in this run."):
        assert note in text
    assert (tmp_path / "run" / "report" / "power.png").is_file()
    assert not (tmp_path / "run" / "report" / "storage.png").exists()


def test_not_a_run_folder(tmp_path):
    res = orbemu_process("report", tmp_path)
    assert res.returncode == 2 and "no run database" in res.stderr
