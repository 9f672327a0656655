"""Adapters between files and the domain: element sets, ground nodes, ephemeris formats.

- :func:`load_elements` (``elements.py``): a path (TLE, OMM XML/KVN/JSON/CSV, compressed or not)
  or a bundled name → :class:`~orbemu.orbits.elements.ElementSet`.
- :func:`load_ground_nodes`, :func:`parse_station_spec` (``ground.py``): CSV, Hypatia, GeoJSON,
  StarPerf, GeoNames or a bundled name → :class:`~orbemu.orbits.ground_nodes.GroundNodes`.
- ``tle.py`` / ``omm.py``: the format readers and writers (:func:`write_tle`, :func:`write_omm`).
- ``catalog.py``: the bundled datasets (:func:`list_datasets`).
"""

from orbemu.io.catalog import DatasetInfo, list_datasets
from orbemu.io.elements import load_elements
from orbemu.io.ground import load_ground_nodes, parse_station_spec
from orbemu.io.omm import read_omm, write_omm
from orbemu.io.tle import read_tle, write_tle

__all__ = [
    "DatasetInfo",
    "list_datasets",
    "load_elements",
    "load_ground_nodes",
    "parse_station_spec",
    "read_omm",
    "read_tle",
    "write_omm",
    "write_tle",
]
