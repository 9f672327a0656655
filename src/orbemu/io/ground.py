"""Ground-node lists: stations, gateways, PoPs and cities from files or bundled names.

:func:`load_ground_nodes` reads, telling the format from the content:

- the orbemu CSV ``name,lat_deg,lon_deg[,alt_m]``, with or without a header row. A header may
  also add ``min_elevation_deg``, ``role`` and ``network`` columns, and may spell the columns
  ``lat``/``latitude``/``latitude_deg``, ``lon``/``lng``/``longitude``/``longitude_deg``,
  ``alt``/``alt_m``/``elevation_m``/``height_m`` (metres above the WGS84 ellipsoid);
  the name column may be ``name``, ``description``, ``station``, ``site``, ``city`` or ``id``.
  That covers the StarPerf gateway/PoP CSVs and the GeoNames city CSV too. Lines starting with
  ``#`` are comments.
- Hypatia ``.basic.txt`` (no header): ``id,name,lat,lon,elev_m`` (also the legacy 8-column form
  with WGS72 ECEF x,y,z, which are ignored: positions are recomputed from lat/lon).
- GeoJSON: a FeatureCollection (or list) of Point features, ``coordinates`` = [lon, lat(, alt_m)],
  ``properties.name`` and ``properties.provider`` or ``network`` (brahe's files).

Every row is checked: latitude in [-90, 90], longitude in [-180, 180], altitude in
[-1000, 10000] m, numbers that are numbers. Errors name file, line (or feature), column and value.

Duplicate names: lists such as the world's largest cities legitimately hold two "Hyderabad"s, and
names must be unique within a :class:`GroundNodes`, so the second and later occurrences get a
suffix in file order: ``Hyderabad``, ``Hyderabad #2``, ``Hyderabad #3``. Nothing is dropped;
coordinates are kept as given.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from orbemu.errors import ErrorMode, InputError, UsageError
from orbemu.io._records import check_errors_mode
from orbemu.io._source import SKIP_HINT, decode, read_text
from orbemu.io.catalog import dataset_bytes, get_dataset
from orbemu.orbits.ground_nodes import GroundNodes

__all__ = ["load_ground_nodes", "parse_ground_text", "parse_station_spec", "unique_names"]

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_INTEGER = re.compile(r"\d+")
ALT_RANGE_M = (-1000.0, 10000.0)
_ALIASES = {
    "name": ("name", "description", "station", "site", "city", "id"),
    "lat": ("lat_deg", "latitude_deg", "lat", "latitude"),
    "lon": ("lon_deg", "longitude_deg", "lon", "lng", "long", "longitude"),
    "alt": ("alt_m", "altitude_m", "elevation_m", "elev_m", "height_m", "alt", "altitude",
            "elev", "elevation", "height"),
    "min_el": ("min_elevation_deg", "min_el_deg", "min_elevation"),
    "role": ("role",),
    "network": ("network", "provider", "operator"),
}
_USER_FIX = ("Each row is name,lat_deg,lon_deg[,alt_m] (degrees, metres above the WGS84 "
             "ellipsoid), e.g. Madrid,40.43,-4.25,700")


@dataclass
class _Row:
    name: str
    lat_deg: float
    lon_deg: float
    alt_m: float
    min_elevation_deg: float | None = None
    role: str | None = None
    network: str | None = None


class _Where:
    """Where a row came from, to build errors."""

    def __init__(self, source: str, line: int | None = None, record: int | None = None,
                 text: str | None = None) -> None:
        self.source, self.line, self.record, self.text = source, line, record, text

    def error(self, field: str | None, message: str, fix: str = _USER_FIX) -> InputError:
        return InputError(message, source=self.source, line=self.line, record=self.record,
                          field=field, text=self.text, fix=fix)


def _number(value: Any, field: str, where: _Where, low: float, high: float,
            rule: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise where.error(field, f"{value!r} is not a number")
    if isinstance(value, str):
        text = value.strip()
        if not _NUMBER.fullmatch(text):
            raise where.error(field, f"{value!r} is not a number" if text else "is empty")
        number = float(text)
    else:
        number = float(value)
    if not (math.isfinite(number) and low <= number <= high):
        raise where.error(field, f"{value!r} is out of range ({rule})")
    return number


def _lat(value: Any, where: _Where) -> float:
    return _number(value, "lat_deg", where, -90.0, 90.0, "-90 <= lat_deg <= 90")


def _lon(value: Any, where: _Where) -> float:
    return _number(value, "lon_deg", where, -180.0, 180.0,
                   "-180 <= lon_deg <= 180; subtract 360 from longitudes above 180")


def _alt(value: Any, where: _Where) -> float:
    if value is None or (isinstance(value, str) and not value.strip()):
        return 0.0
    return _number(value, "alt_m", where, *ALT_RANGE_M,
                   "-1000 <= alt_m <= 10000, metres above the WGS84 ellipsoid")


def _min_el(value: Any, where: _Where) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return _number(value, "min_elevation_deg", where, -90.0, 90.0,
                   "-90 <= min_elevation_deg <= 90")


def _name(value: Any, where: _Where) -> str:
    name = str(value).strip() if value is not None else ""
    if not name:
        raise where.error("name", "the name is empty")
    return name


# ---- CSV-like text: orbemu CSV, Hypatia .basic.txt, StarPerf and GeoNames CSV -------------------
def _header_map(cells: list[str]) -> dict[str, int] | None:
    lowered = [c.strip().lower() for c in cells]
    found: dict[str, int] = {}
    for key, aliases in _ALIASES.items():
        for alias in aliases:
            if alias in lowered:
                found[key] = lowered.index(alias)
                break
    if "lat" in found and "lon" in found:
        return found
    return None


def _csv_rows(text: str, source: str) -> tuple[list[_Row], list[InputError]]:
    rows: list[_Row] = []
    problems: list[InputError] = []
    reader = csv.reader(io.StringIO(text), skipinitialspace=True)
    layout: str | None = None
    columns: dict[str, int] = {}
    width = 0
    try:
        for cells in reader:
            line = reader.line_num
            if not cells or not any(c.strip() for c in cells) or cells[0].lstrip().startswith("#"):
                continue
            raw = ",".join(cells)
            where = _Where(source, line=line, text=raw)
            if layout is None:
                header = _header_map(cells)
                if header is not None:
                    layout, columns, width = "header", header, len(cells)
                    continue
                first = cells[0].strip()
                if len(cells) in (5, 8) and _INTEGER.fullmatch(first):
                    layout, width = "hypatia", len(cells)
                    columns = {"name": 1, "lat": 2, "lon": 3, "alt": 4}
                else:
                    layout, width = "plain", 0
                    columns = {"name": 0, "lat": 1, "lon": 2, "alt": 3}
            try:
                rows.append(_csv_row(cells, layout, columns, width, where))
            except InputError as exc:
                problems.append(exc)
    except csv.Error as exc:
        problems.append(InputError(f"cannot parse the CSV ({exc})", source=source,
                                   line=reader.line_num, fix="Check the quoting of this line"))
    return rows, problems


def _csv_row(cells: list[str], layout: str, columns: dict[str, int], width: int,
             where: _Where) -> _Row:
    if layout == "plain":
        if len(cells) not in (3, 4):
            raise where.error("columns", f"{len(cells)} columns; expected 3 or 4 "
                                         "(name, lat_deg, lon_deg[, alt_m])")
    elif len(cells) != width and (layout == "hypatia" or len(cells) > width or len(cells) <= max(
            columns.get(k, -1) for k in ("name", "lat", "lon"))):
        # a header row may be longer than data rows that omit trailing optional values
        what = "id,name,lat,lon,elev" if layout == "hypatia" else "the header"
        raise where.error("columns", f"{len(cells)} columns where {what} has {width}",
                          fix="Check for a missing or extra comma (quote names that contain "
                              "commas)")

    def cell(key: str) -> str | None:
        index = columns.get(key)
        return None if index is None or index >= len(cells) else cells[index]

    name_cell = cell("name")
    if name_cell is None:  # header without a name column: number the rows
        name_cell = f"node-{where.line}"
    return _Row(
        name=_name(name_cell, where),
        lat_deg=_lat(cell("lat"), where),
        lon_deg=_lon(cell("lon"), where),
        alt_m=_alt(cell("alt"), where),
        min_elevation_deg=_min_el(cell("min_el"), where),
        role=(cell("role") or "").strip() or None,
        network=(cell("network") or "").strip() or None,
    )


# ---- GeoJSON -------------------------------------------------------------------------------------
def _geojson_rows(text: str, source: str) -> tuple[list[_Row], list[InputError]]:
    fix = ("Pass GeoJSON Point features: {\"type\": \"Feature\", \"geometry\": {\"type\": "
           "\"Point\", \"coordinates\": [lon, lat, alt_m]}, \"properties\": {\"name\": ...}}")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON ({exc.msg}, column {exc.colno})", source=source,
                         line=exc.lineno, fix="Re-download the file") from None
    except (ValueError, RecursionError) as exc:
        raise InputError(f"cannot parse the JSON ({type(exc).__name__})", source=source,
                         fix=fix) from None
    if isinstance(data, dict) and data.get("type") == "FeatureCollection":
        features = data.get("features")
    elif isinstance(data, dict) and data.get("type") == "Feature":
        features = [data]
    else:
        features = data
    if not isinstance(features, list):
        raise InputError("this JSON is not a GeoJSON FeatureCollection", source=source, fix=fix)
    rows: list[_Row] = []
    problems: list[InputError] = []
    for number, feature in enumerate(features, start=1):
        where = _Where(source, record=number)
        try:
            rows.append(_geojson_row(feature, where, fix))
        except InputError as exc:
            problems.append(exc)
    return rows, problems


def _geojson_row(feature: Any, where: _Where, fix: str) -> _Row:
    if not isinstance(feature, dict):
        raise where.error(None, f"is a JSON {type(feature).__name__}, not a GeoJSON Feature",
                          fix=fix)
    geometry = feature.get("geometry")
    if not isinstance(geometry, dict) or geometry.get("type") != "Point":
        kind = geometry.get("type") if isinstance(geometry, dict) else geometry
        raise where.error("geometry", f"is {kind!r}, not a Point", fix=fix)
    coords = geometry.get("coordinates")
    if not isinstance(coords, list) or len(coords) not in (2, 3):
        raise where.error("coordinates", f"{coords!r} is not [lon, lat] or [lon, lat, alt_m]",
                          fix=fix)
    props = feature.get("properties")
    props = props if isinstance(props, dict) else {}
    name = props.get("name", props.get("title"))
    network = props.get("network", props.get("provider"))
    return _Row(
        name=_name(name if name is not None else f"node-{where.record}", where),
        lat_deg=_lat(coords[1], where),
        lon_deg=_lon(coords[0], where),
        alt_m=_alt(coords[2] if len(coords) == 3 else props.get("alt_m"), where),
        min_elevation_deg=_min_el(props.get("min_elevation_deg"), where),
        role=str(props["role"]) if isinstance(props.get("role"), str) else None,
        network=str(network) if isinstance(network, str) else None,
    )


# ---- assembling ----------------------------------------------------------------------------------
def unique_names(names: Iterable[str]) -> list[str]:
    """Names made unique in order: the 2nd and later copies of ``X`` become ``X #2``, ``X #3``."""
    names = list(names)
    taken = set(names)
    seen: dict[str, int] = {}
    out = []
    for name in names:
        count = seen.get(name, 0) + 1
        seen[name] = count
        if count == 1:
            out.append(name)
            continue
        k = count
        while f"{name} #{k}" in taken:
            k += 1
        new = f"{name} #{k}"
        taken.add(new)
        out.append(new)
    return out


def _finish(rows: list[_Row], problems: list[InputError], *, source: str, errors: ErrorMode,
            role: str, network: str, min_elevation_deg: float | None,
            force_network: bool = False) -> GroundNodes:
    if problems and (errors == "raise" or not rows):
        first = problems[0]
        if rows:
            rejected = ("the rejected one" if len(problems) == 1
                        else f"the {len(problems):,} rejected ones")
            others = "the other row" if len(rows) == 1 else f"the other {len(rows):,} rows"
            hint = f"or {SKIP_HINT} to load {others} and list {rejected}"
        else:
            hint = "no row of this input could be loaded: check that it is the file you meant"
        fix = f"{first.fix.rstrip('.')}; {hint}" if first.fix else hint
        raise InputError(first.message, source=first.source, line=first.line,
                         record=first.record, field=first.field, text=first.text,
                         fix=fix) from None
    if not rows:
        raise InputError("no ground nodes found", source=source, fix=_USER_FIX)
    return GroundNodes.from_arrays(
        unique_names(r.name for r in rows),
        [r.lat_deg for r in rows],
        [r.lon_deg for r in rows],
        [r.alt_m for r in rows],
        min_elevation_deg=[
            min_elevation_deg if min_elevation_deg is not None
            else r.min_elevation_deg if r.min_elevation_deg is not None else 0.0
            for r in rows],
        roles=[role or r.role or "station" for r in rows],
        networks=[network if force_network else (r.network or network) for r in rows],
        source=source,
        rejections=[p.as_rejection() for p in problems],
    )


def _rows(text: str, source: str) -> tuple[list[_Row], list[InputError]]:
    head = text.lstrip("\ufeff \t\r\n")
    if head.startswith(("{", "[")):
        return _geojson_rows(text, source)
    return _csv_rows(text, source)


def _check_min_elevation(min_elevation_deg: float | None) -> None:
    if min_elevation_deg is not None and not (
            isinstance(min_elevation_deg, (int, float)) and -90.0 <= min_elevation_deg <= 90.0):
        raise InputError(f"{min_elevation_deg!r} is out of range (-90..90 degrees)",
                         field="min_elevation_deg", fix="Give the minimum elevation in degrees")


def parse_ground_text(text: str, source: str = "<string>", *, errors: ErrorMode = "raise",
                      role: str | None = None, min_elevation_deg: float | None = None,
                      network: str = "") -> GroundNodes:
    """Parse ground-node text in any supported format. See :func:`load_ground_nodes`."""
    check_errors_mode(errors)
    _check_min_elevation(min_elevation_deg)
    rows, problems = _rows(text, source)
    return _finish(rows, problems, source=source, errors=errors, role=role or "",
                   network=network, min_elevation_deg=min_elevation_deg)


def load_ground_nodes(
    source: str | Path | IO[str] | IO[bytes],
    *,
    errors: ErrorMode = "raise",
    role: str | None = None,
    min_elevation_deg: float | None = None,
) -> GroundNodes:
    """Load ground nodes from a file or a bundled list name.

    Parameters
    ----------
    source: a path or open stream (orbemu CSV, Hypatia ``.basic.txt``, GeoJSON, StarPerf or
        GeoNames CSV; plain, ``.gz`` or ``.xz``), or a bundled name (``cities-top100``, ``ksat``,
        ``commercial``, ...: see :func:`orbemu.io.catalog.list_datasets`). An existing file wins
        over a bundled name.
    errors: ``"raise"`` or ``"skip"`` (bad rows left out, listed in ``GroundNodes.rejections``).
    role: role given to every node (default: the file's ``role`` column, the bundled list's
        role — ``city``, ``gateway``, ``pop``, ``station`` — or ``station``).
    min_elevation_deg: minimum elevation of every node, degrees (default: the file's
        ``min_elevation_deg`` column, else 0).

    Duplicate names get ``#2``, ``#3`` suffixes (see the module docstring).
    """
    check_errors_mode(errors)
    _check_min_elevation(min_elevation_deg)
    if not isinstance(source, str) or os.path.exists(source):
        src = read_text(source)
        return parse_ground_text(src.text, src.name, errors=errors, role=role,
                                 min_elevation_deg=min_elevation_deg)
    info = get_dataset(source, "ground")
    parts = []
    for file in info.files:
        network = file.split(".")[0] if info.format == "geojson" else info.name
        text = decode(dataset_bytes(info, file), file)
        rows, problems = _rows(text, file)
        parts.append(_finish(rows, problems, source=info.name, errors=errors,
                             role=role or info.role, network=network,
                             min_elevation_deg=min_elevation_deg, force_network=True))
    if len(parts) == 1:
        return parts[0]
    joined = GroundNodes.concat(parts, source=info.name)
    names = unique_names(str(n) for n in joined.names)
    return GroundNodes.from_arrays(
        names, joined.lat_deg, joined.lon_deg, joined.alt_m,
        min_elevation_deg=joined.min_elevation_deg, max_range_m=joined.max_range_m,
        roles=list(joined.roles), networks=list(joined.networks), source=info.name,
        rejections=joined.rejections)


def parse_station_spec(spec: str) -> GroundNodes:
    """One station from the CLI's ``--station NAME:LAT,LON[,ALT_M]`` (degrees, metres).

    The name is everything before the last ``:`` (so names may contain colons).
    """
    fix = "Write NAME:LAT,LON[,ALT_M], e.g. --station Madrid:40.43,-4.25,700"
    if not isinstance(spec, str):
        raise UsageError(f"a station spec is text, got {type(spec).__name__}")
    name, sep, coords = spec.rpartition(":")
    where = _Where("--station")
    if not sep or not name.strip():
        raise InputError(f"{spec!r} has no NAME: part", source="--station", fix=fix)
    parts = coords.split(",")
    if len(parts) not in (2, 3):
        raise InputError(f"{coords!r} has {len(parts)} comma-separated "
                         f"value{'' if len(parts) == 1 else 's'}; expected LAT,LON or "
                         "LAT,LON,ALT_M", source="--station", fix=fix)
    try:
        row = _Row(_name(name, where), _lat(parts[0], where), _lon(parts[1], where),
                   _alt(parts[2] if len(parts) == 3 else None, where))
    except InputError as exc:
        raise InputError(exc.message, source="--station", field=exc.field,
                         fix=fix) from None
    return GroundNodes.from_arrays([row.name], [row.lat_deg], [row.lon_deg], [row.alt_m],
                                   roles="station", source="--station")
