"""The bundled-dataset registry agrees with the files that ship, and they carry attribution."""

from __future__ import annotations

import importlib.resources

import numpy as np
import pytest

from orbemu import UsageError
from orbemu.io.catalog import CELESTRAK, get_dataset, list_datasets
from orbemu.io.elements import load_elements
from orbemu.io.ground import load_ground_nodes

from ..conftest import ONE_SECOND_NS

DATA = importlib.resources.files("orbemu.data")


def test_names_asked_for_are_all_there():
    elements = {d.name for d in list_datasets("elements")}
    ground = {d.name for d in list_datasets("ground")}
    assert elements == {"starlink", "oneweb", "iridium-next", "gps", "galileo", "geo",
                        "stations", "starlink-2025-omm"}
    assert ground == {"cities-top100", "cities-top1000", "geonames-top1000",
                      "starlink-gateways", "starlink-pops", "hypatia-gateways", "ksat", "atlas",
                      "aws", "dsn", "leaf", "nen", "ssc", "viasat", "commercial",
                      "cloud-regions", "remote-sites"}
    assert len(list_datasets()) == len(elements) + len(ground)
    with pytest.raises(UsageError):
        list_datasets("satellites")  # type: ignore[arg-type]


@pytest.mark.parametrize("info", list_datasets("elements"), ids=lambda d: d.name)
def test_element_sets_match_their_registry_entry(info):
    es = load_elements(info.name)
    assert len(es) == info.count and es.rejections == ()
    newest = int(es.epochs.ns.max())
    assert abs(newest - int(info.epoch)) < ONE_SECOND_NS
    assert info.attribution == CELESTRAK
    assert "Orbital data: CelesTrak (celestrak.org)" in info.attribution


@pytest.mark.parametrize("info", list_datasets("ground"), ids=lambda d: d.name)
def test_ground_lists_match_their_registry_entry(info):
    nodes = load_ground_nodes(info.name)
    assert len(nodes) == info.count and nodes.rejections == ()
    assert set(nodes.roles) == {info.role}
    assert info.epoch is None and info.attribution
    assert np.all(np.isfinite(nodes.itrf_m))


def test_every_shipped_file_is_registered_and_every_registered_file_ships():
    registered = {(d.kind, f) for d in list_datasets() for f in d.files}
    shipped = {(kind, p.name) for kind in ("elements", "ground")
               for p in DATA.joinpath(kind).iterdir() if p.name.endswith(".gz")}
    assert registered == shipped


def test_provenance_names_every_dataset_and_attribution():
    text = DATA.joinpath("PROVENANCE.md").read_text(encoding="utf-8")
    for info in list_datasets():
        assert f"`{info.name}`" in text, info.name
    for credit in ("Orbital data: CelesTrak (celestrak.org), derived from USSPACECOM/18 SDS GP "
                   "data", "CC BY 4.0", "GeoNames (geonames.org)", "BSD-2-Clause",
                   "Copyright (c) 2020 ETH Zurich", "Copyright (c) 2019-2026 Duncan Eddy"):
        assert credit in text, credit


def test_lookup_is_case_insensitive():
    assert get_dataset(" StarLink ", "elements").name == "starlink"
