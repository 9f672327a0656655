"""`orbemu site` end to end, as a user runs it (a subprocess): the files, a self-contained page,
and every figure in it recomputed from the series the command wrote."""

from __future__ import annotations

import base64
import csv
import html.parser
from pathlib import Path

import numpy as np
import pytest

from orbemu.constants import NS_PER_S
from orbemu.time import Time
from tests.cli.conftest import orbemu_process

START = "2026-05-30T16:00:00Z"
STEP_S = 10
#: A thinned Starlink (every 12th satellite) over a bent pipe: a real constellation with gaps,
#: so the short window has outages to check.
ARGS = ["--site", "escondida:-24.27,-69.07,3100", "--destination", "aws-us-east-1",
        "--destination", "santiago:-33.45,-70.67", "--start", START, "--duration", "20m",
        "--step", f"{STEP_S}s", "--isl", "none"]


@pytest.fixture(scope="module")
def thin_tle(tmp_path_factory):
    from orbemu.io.elements import load_elements
    from orbemu.io.tle import write_tle

    es = load_elements("starlink")
    path = tmp_path_factory.mktemp("site") / "thin.tle"
    write_tle(es.select(np.arange(0, len(es), 12)), path)
    return path


@pytest.fixture(scope="module")
def report(thin_tle, tmp_path_factory):
    out = tmp_path_factory.mktemp("site") / "report"
    res = orbemu_process("site", "--elements", thin_tle, *ARGS, "--out", out)
    assert res.returncode == 0, res.stderr
    return out, res


class _Page(html.parser.HTMLParser):
    """Images, external references and table cells (with data-value) of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[dict[str, str]] = []
        self.external: list[str] = []
        self.tags: set[str] = set()
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


def parse_page(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def flows_of(rows):
    out: dict[tuple[str, str], list[dict[str, str]]] = {}
    for r in rows:
        out.setdefault((r["site"], r["destination"]), []).append(r)
    return out


def test_files_and_a_self_contained_page(report):
    out, res = report
    names = ["report.html", "rtt-escondida.png", "rtt-cdf-escondida.png",
             "gateways-escondida-aws-us-east-1.png", "gateways-escondida-santiago.png",
             "map.png", "series.csv", "summary.csv", "outages.csv", "gateways.csv"]
    for name in names:
        assert (out / name).is_file(), name
    for png in out.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = parse_page(out / "report.html")
    shown = {img["data-file"] for img in page.images}
    assert shown == {p.name for p in out.glob("*.png")}  # every plot is in the page
    for img in page.images:  # embedded, byte for byte
        head, data = img["src"].split(",", 1)
        assert head == "data:image/png;base64"
        assert base64.b64decode(data) == (out / img["data-file"]).read_bytes()
    assert not page.external and not {"script", "link", "iframe"} & page.tags
    # the run's choices on stderr, the summary and the files on stdout
    assert "bent pipe" in res.stderr and "exit policy home-pop" in res.stderr
    assert "escondida → aws-us-east-1" in res.stdout and "wrote" in res.stdout


def test_page_figures_equal_those_recomputed_from_the_series(report):
    out, _ = report
    rows = read_rows(out / "series.csv")
    flows = flows_of(rows)
    assert len(flows) == 2 and all(len(v) == 121 for v in flows.values())
    page = parse_page(out / "report.html")
    table = page.tables["latency"][1:]  # without the header row
    second = page.tables["stability"][1:]
    assert [r[0][0] for r in table] == [f"{s} → {d}" for s, d in flows]
    assert [r[0][0] for r in second] == [f"{s} → {d}" for s, d in flows]
    hours = 121 * STEP_S / 3600.0
    for cells, more, fr in zip(table, second, flows.values(), strict=True):
        value = {k: float(v) if v else float("nan") for k, (_, v) in zip(
            ["flow", "avail", "p50", "p90", "p99", "min", "max", "space", "fiber", "direct",
             "flow", "outages", "outage_s", "longest", "ho", "chg", "gw", "down50", "downmin",
             "up50", "upmin"], cells + more, strict=True) if k != "flow"}
        reach = np.array([r["reachable"] == "1" for r in fr])
        rtt = np.array([float(r["rtt_ms"]) for r in fr if r["rtt_ms"]])
        assert rtt.size == reach.sum() and 0 < reach.sum() < reach.size  # outages exist
        assert value["avail"] == pytest.approx(reach.mean())
        runs = np.flatnonzero(np.diff(np.concatenate(([1], reach.astype(int)))) == -1)
        assert value["outages"] == runs.size
        assert value["outage_s"] == (~reach).sum() * STEP_S
        for key, q in (("p50", 50), ("p90", 90), ("p99", 99)):
            assert value[key] == pytest.approx(np.percentile(rtt, q), abs=1e-3)
        assert value["min"] == pytest.approx(rtt.min(), abs=1e-3)
        assert value["max"] == pytest.approx(rtt.max(), abs=1e-3)
        paths = [r["path"] for r in fr]
        first = [p.split(">")[1] if p else None for p in paths]
        changes = sum(paths[k] != paths[k - 1] for k in range(1, len(paths)))
        handovers = sum(first[k] is not None and first[k - 1] is not None
                        and first[k] != first[k - 1] for k in range(1, len(first)))
        gws = [r["gateway"] for r in fr]
        gw_changes = sum(bool(gws[k] and gws[k - 1] and gws[k] != gws[k - 1])
                         for k in range(1, len(gws)))
        assert value["chg"] == pytest.approx(changes / hours)
        assert value["ho"] == pytest.approx(handovers / hours)
        assert value["gw"] == pytest.approx(gw_changes / hours)
        down = np.array([float(r["to_site_mbps"]) for r in fr if r["to_site_mbps"]])
        assert value["down50"] == pytest.approx(np.median(down), abs=1e-3)
        assert value["downmin"] == pytest.approx(down.min(), abs=1e-3)
    # the summary CSV holds the same numbers as the page
    summary = read_rows(out / "summary.csv")
    for cells, row in zip(table, summary, strict=True):
        assert float(cells[2][1]) == float(row["rtt_p50_ms"])
        assert float(cells[1][1]) == float(row["availability"])


def test_outage_windows_match_the_unreachable_instants(report):
    out, _ = report
    flows = flows_of(read_rows(out / "series.csv"))
    outages = flows_of(read_rows(out / "outages.csv"))
    page = parse_page(out / "report.html")
    step_ns = STEP_S * NS_PER_S
    assert outages, "the thinned bent pipe should have gaps in 20 minutes"
    for k, (flow, fr) in enumerate(flows.items()):
        t = Time.parse([r["time_utc"] for r in fr]).ns
        down = np.array([r["reachable"] == "0" for r in fr])
        windows = [(int(Time.parse(o["start_utc"])), int(Time.parse(o["end_utc"])))
                   for o in outages.get(flow, [])]
        covered = np.zeros(t.size, bool)
        for a, b in windows:
            inside = (t >= a) & (t < b)
            assert down[inside].all()
            covered |= inside
            # an outage ends at the next connected instant (or one step after the window)
            assert b == t[-1] + step_ns or not down[np.flatnonzero(t == b)[0]]
            assert not down[np.flatnonzero(t == a)[0] - 1] if a > t[0] else True
        assert np.array_equal(covered, down)
        for o, (a, b) in zip(outages.get(flow, []), windows, strict=True):
            assert float(o["duration_s"]) == (b - a) / NS_PER_S
        shown = page.tables[f"outages-{k}"][1:]
        assert [(c[0][0], c[1][0]) for c in shown] == [
            (o["start_utc"], o["end_utc"]) for o in outages[flow]]


def test_gateway_shares_match_the_series(report):
    out, _ = report
    flows = flows_of(read_rows(out / "series.csv"))
    shares = flows_of(read_rows(out / "gateways.csv"))
    for flow, fr in flows.items():
        used = [r["gateway"] for r in fr if r["gateway"]]
        names, counts = np.unique(used, return_counts=True)
        expect = dict(zip(names, counts / len(used), strict=True))
        got = {r["gateway"]: float(r["share"]) for r in shares[flow]}
        assert got.keys() == expect.keys()
        for name, share in expect.items():
            assert got[name] == pytest.approx(share, abs=1e-6)


def test_two_workers_write_the_same_series(report, thin_tle, tmp_path):
    out, _ = report
    res = orbemu_process("site", "--elements", thin_tle, *ARGS, "--workers", "2",
                         "--out", tmp_path)
    assert res.returncode == 0, res.stderr
    assert "2 worker processes" in res.stderr
    assert (tmp_path / "series.csv").read_text() == (out / "series.csv").read_text()


@pytest.mark.parametrize(("args", "words"), [
    (["--destination", "aws-us-east1"], "Did you mean aws-us-east-1"),
    (["--destination", "aws-us-east-1", "--destination", "AWS-US-EAST-1"], "given twice"),
    (["--destination", "aws-us-east-1", "--exit", "cheapest"], "unknown exit policy"),
    (["--destination", "aws-us-east-1", "--pops", "none", "--exit", "home-pop"],
     "needs points of presence"),
    (["--destination", "aws-us-east-1", "--isl", "ring"], "expected plus-grid or none"),
    (["--destination", "aws-us-east-1", "--detour", "0.5"], "detour factor"),
])
def test_mistakes_are_one_clear_message(args, words, tmp_path):
    res = orbemu_process("site", "--site", "a:1,2", *args, "--duration", "1m", "--out",
                         tmp_path)
    assert res.returncode == 2, res.stdout + res.stderr
    assert words in res.stderr and "Traceback" not in res.stderr


def test_a_site_is_required(tmp_path):
    res = orbemu_process("site", "--destination", "aws-us-east-1", "--out", tmp_path)
    assert res.returncode == 2 and "no site given" in res.stderr
