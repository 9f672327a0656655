"""The run report's flight-software section: apps and the onboard image filter's score."""

from __future__ import annotations

import re

from orbemu.report.run_report import write_run_report
from orbemu.scenario import load_scenario, resolve_scenario, with_overrides
from orbemu.scenario.build import build_emulation, run_sink


def test_the_report_scores_the_onboard_filter(tmp_path):
    sc = with_overrides(load_scenario("eo-cloud-filter"), duration="40m")
    run_dir = tmp_path / "run"
    emu = build_emulation(resolve_scenario(sc), run_sink(run_dir, sc))
    summary = emu.run()
    page = write_run_report(run_dir)
    text = re.sub(r"<[^>]+>", " ", page.read_text())
    assert "Flight software" in text
    p = summary.fsw["payload"]
    assert f"{p.images} ({p.downlinked} downlinked, {p.discarded} discarded)" in text
    assert f"F1 {p.scores.f1:.3f}" in text
    assert "12 started, 12 stopped at the end" in text
