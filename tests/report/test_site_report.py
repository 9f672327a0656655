"""The site report from Python: several sites, names that make the same file name, caps."""

from __future__ import annotations

import numpy as np

from orbemu.io.ground import load_ground_nodes
from orbemu.network.simulation import NetworkConfig, NetworkSimulation
from orbemu.network.site import SitePlan, site_series
from orbemu.orbits.ground_nodes import GroundNodes
from orbemu.orbits.presets import walker_preset
from orbemu.report.site_report import write_site_report
from orbemu.time import Time


def test_two_sites_whose_names_slugify_alike(tmp_path):
    elements = walker_preset("hypatia-starlink-550")
    gateways = load_ground_nodes("starlink-gateways")
    sites = GroundNodes.from_arrays(["Mine A", "mine-a"], [-24.27, -22.3], [-69.07, -68.9],
                                    roles="site")
    ground = GroundNodes.concat([sites, gateways])
    dest = load_ground_nodes("cloud-regions")
    dest = dest.select([dest.index_of("aws-sa-east-1")])
    plan = SitePlan.build(ground, [0, 1], np.arange(2, len(ground)), dest,
                          pops=load_ground_nodes("starlink-pops"))
    sim = NetworkSimulation(elements, ground, NetworkConfig())
    series = site_series(sim, Time.range("2000-01-01T00:00:00Z", "2m", "10s"), plan)
    report = write_site_report(tmp_path, series, plan, ground_names=ground.names,
                               max_flow_figures=1)
    names = {p.name for p in report.figures}
    assert {"rtt-mine-a.png", "rtt-mine-a-2.png", "rtt-cdf-mine-a.png",
            "rtt-cdf-mine-a-2.png", "map.png"} <= names
    assert sum(n.startswith("gateways-") for n in names) == 1  # capped at one flow
    text = report.html.read_text(encoding="utf-8")
    assert "Mine A → aws-sa-east-1" in text and "mine-a → aws-sa-east-1" in text
    assert text.count("data:image/png;base64,") == len(report.figures)
    summary = (tmp_path / "summary.csv").read_text().splitlines()
    assert len(summary) == 3 and summary[1].startswith("Mine A,aws-sa-east-1,")
