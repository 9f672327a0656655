"""CCSDS Orbit Mean-Elements Messages (OMM) as CelesTrak serves them: XML, KVN, JSON and CSV.

Reading
-------
:func:`read_omm` / :func:`parse_omm_text` read the four encodings of CelesTrak's
``gp.php?...&FORMAT=xml|kvn|json|csv`` (and Space-Track's, whose JSON carries numbers as
strings):

- XML: ``<ndm>`` wrapping any number of ``<omm>`` (NDM/XML 2.0, unqualified), or a bare ``<omm>``.
  Parsed with the standard library's ``xml.etree``; any document with a ``<!DOCTYPE`` or
  ``<!ENTITY`` declaration is refused, so entity-expansion attacks cannot reach the parser.
- KVN: ``KEY = VALUE`` lines, one message per ``CCSDS_OMM_VERS`` line; ``COMMENT`` lines and
  ``[unit]`` suffixes are ignored.
- JSON: a list of flat objects (or one object) with the OMM keywords as keys.
- CSV: a header row of OMM keywords, then one row per object.

Every record is validated field by field before an SGP4 record is built, so errors name the
record (or line) and the keyword: ``starlink.json record 812, MEAN_MOTION: 'abc' is not a
number``. Catalog numbers may have up to 9 digits (objects catalogued since mid-2026 exist only
as OMM): python-sgp4's ``sgp4init`` refuses numbers above 339999, so those records are built with
satnum 0 and the real number lives in ``ElementSet.norad_ids``. Epochs are kept to the
nanosecond in ``ElementSet.epochs`` (and in the record's Julian-date pair).

Only SGP4 mean elements are accepted (``MEAN_ELEMENT_THEORY`` SGP4 or absent, ``REF_FRAME``
TEME, ``TIME_SYSTEM`` UTC, ``CENTER_NAME`` EARTH when given): elements of another theory
(e.g. SGP4-XP) propagate wrongly with SGP4.

Writing
-------
:func:`write_omm` writes any of the four encodings with CelesTrak's keyword order; numbers are
written with 12 significant digits (exact for data that came from CelesTrak), epochs to the
microsecond. Reading the output back gives the same elements.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal
from xml.sax.saxutils import escape

import numpy as np
from sgp4.api import WGS72, Satrec

from orbemu.constants import NS_PER_DAY
from orbemu.errors import ErrorMode, InputError, UsageError
from orbemu.io._records import (
    ParsedElements,
    check_errors_mode,
    finish,
    intl_to_tle,
    set_satrec_epoch,
)
from orbemu.io._source import read_text
from orbemu.orbits.elements import ElementSet
from orbemu.time import Time

__all__ = ["OMM_FIELDS", "OmmFormat", "detect_omm_format", "format_omm", "parse_omm_text",
           "read_omm",
           "write_omm"]

OmmFormat = Literal["xml", "kvn", "json", "csv"]

#: CelesTrak's keyword order (JSON and CSV).
OMM_FIELDS = (
    "OBJECT_NAME", "OBJECT_ID", "EPOCH", "MEAN_MOTION", "ECCENTRICITY", "INCLINATION",
    "RA_OF_ASC_NODE", "ARG_OF_PERICENTER", "MEAN_ANOMALY", "EPHEMERIS_TYPE",
    "CLASSIFICATION_TYPE", "NORAD_CAT_ID", "ELEMENT_SET_NO", "REV_AT_EPOCH", "BSTAR",
    "MEAN_MOTION_DOT", "MEAN_MOTION_DDOT",
)
_METADATA_FIELDS = ("OBJECT_NAME", "OBJECT_ID", "CENTER_NAME", "REF_FRAME", "TIME_SYSTEM",
                    "MEAN_ELEMENT_THEORY")
_MEAN_FIELDS = ("EPOCH", "MEAN_MOTION", "ECCENTRICITY", "INCLINATION", "RA_OF_ASC_NODE",
                "ARG_OF_PERICENTER", "MEAN_ANOMALY")
_TLE_FIELDS = ("EPHEMERIS_TYPE", "CLASSIFICATION_TYPE", "NORAD_CAT_ID", "ELEMENT_SET_NO",
               "REV_AT_EPOCH", "BSTAR", "MEAN_MOTION_DOT", "MEAN_MOTION_DDOT")

#: sgp4init refuses larger numbers; records above it get satnum 0 (id kept in norad_ids).
_SGP4_MAX_SATNUM = 339_999
_MAX_CATALOG_NUMBER = 999_999_999
#: Days from 1949-12-31T00:00 UTC (sgp4init's epoch origin) to the POSIX epoch.
_DAYS_1949_TO_1970 = 7305
_NDOT_UNITS = 1036800.0 / math.pi          # rev/day² per rad/min²
_NDDOT_UNITS = 2985984000.0 / 2.0 / math.pi  # rev/day³ per rad/min³
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_INTEGER = re.compile(r"[+-]?\d+")
_EPOCH = re.compile(r"\s*(\d{4})-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?[Zz]?\s*")
_FORMATS = ("xml", "kvn", "json", "csv")
_UNIT_SUFFIX = re.compile(r"(\S+)\s*\[[^\]]*\]")


# ---- records ------------------------------------------------------------------------------------
@dataclass
class _Record:
    """One object's keyword values, and where it came from for messages."""

    values: dict[str, Any]
    record: int  # 1-based record number in the file
    line: int | None = None  # line where the record starts (KVN, CSV)
    lines: dict[str, int] = field(default_factory=dict)  # line of each keyword (KVN)
    text: str | None = None  # the raw row (CSV)
    problem: InputError | None = None  # a structural problem found while splitting


class _Fields:
    """Typed access to a record's keywords; every failure is an InputError naming the field."""

    def __init__(self, rec: _Record, source: str) -> None:
        self.rec = rec
        self.source = source

    def error(self, key: str | None, message: str, fix: str | None = None) -> InputError:
        rec = self.rec
        line = rec.lines.get(key, rec.line) if key else rec.line
        return InputError(message, source=self.source, line=line,
                          record=None if line is not None else rec.record, field=key,
                          text=rec.text, fix=fix or "Correct the value, or re-download the file")

    def raw(self, key: str) -> Any:
        value = self.rec.values.get(key)
        if isinstance(value, str):
            value = value.strip()
            if value == "":
                return None
        return value

    def text(self, key: str, default: str = "") -> str:
        value = self.raw(key)
        if value is None:
            return default
        if isinstance(value, (dict, list, bool)):
            raise self.error(key, f"{value!r} is not text")
        return str(value)

    def number(self, key: str, default: float | None = None) -> float:
        value = self.raw(key)
        if value is None:
            if default is None:
                raise self.error(key, "missing (SGP4 needs it)",
                                 fix="Use a complete OMM with SGP4 mean elements (CelesTrak GP)")
            return default
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise self.error(key, f"{value!r} is not a number")
        if isinstance(value, str):
            if not _NUMBER.fullmatch(value):
                raise self.error(key, f"{value!r} is not a number")
            try:
                number = float(value)
            except (ValueError, OverflowError):  # pragma: no cover (regex guards)
                raise self.error(key, f"{value!r} is not a number") from None
        else:
            try:
                number = float(value)
            except OverflowError:
                raise self.error(key, f"{value!r} is too large") from None
        if not math.isfinite(number):
            raise self.error(key, f"{value!r} is not a finite number")
        return number

    def integer(self, key: str, default: int | None = None) -> int:
        value = self.raw(key)
        if value is None:
            if default is None:
                raise self.error(key, "missing", fix="Every OMM record needs a NORAD_CAT_ID")
            return default
        if isinstance(value, bool):
            raise self.error(key, f"{value!r} is not a whole number")
        if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
            return int(value)
        if isinstance(value, int):
            return value
        if isinstance(value, str) and _INTEGER.fullmatch(value) and len(value) <= 18:
            return int(value)
        raise self.error(key, f"{value!r} is not a whole number")

    def ranged(self, key: str, low: float, high: float, *, high_open: bool = False,
               default: float | None = None, unit: str = "") -> float:
        value = self.number(key, default)
        ok = low <= value < high if high_open else low <= value <= high
        if not ok:
            rule = f"{low:g} <= value {'<' if high_open else '<='} {high:g}{unit}"
            raise self.error(key, f"{value!r} is out of range ({rule})")
        return value


def _build(rec: _Record, source: str) -> tuple[Satrec, int, str, str, int]:
    """Validate one record and build its SGP4 record: (satrec, norad id, name, intl, epoch ns)."""
    if rec.problem is not None:
        raise rec.problem
    f = _Fields(rec, source)
    for key, allowed in (("MEAN_ELEMENT_THEORY", ("SGP4", "SGP", "SDP4", "SGP4/SDP4")),
                         ("REF_FRAME", ("TEME",)), ("TIME_SYSTEM", ("UTC",)),
                         ("CENTER_NAME", ("EARTH",))):
        value = f.text(key)
        if value and value.upper() not in allowed:
            raise f.error(key, f"{value!r} is not supported (orbemu propagates SGP4 mean "
                               f"elements: {key} must be {' or '.join(allowed)})",
                          fix="Use CelesTrak/Space-Track GP data (SGP4 mean elements)")
    norad = f.integer("NORAD_CAT_ID")
    if not 0 <= norad <= _MAX_CATALOG_NUMBER:
        raise f.error("NORAD_CAT_ID", f"{norad} is out of range (0..{_MAX_CATALOG_NUMBER})")
    epoch_text = f.text("EPOCH")
    match = _EPOCH.fullmatch(epoch_text)
    if not epoch_text:
        raise f.error("EPOCH", "missing (SGP4 needs it)",
                      fix="Use a complete OMM with SGP4 mean elements (CelesTrak GP)")
    if not match or not 1957 <= int(match.group(1)) <= 2200:
        raise f.error("EPOCH", f"{epoch_text!r} is not a UTC time like "
                               "2025-05-24T18:20:22.669728 (years 1957-2200)")
    try:
        epoch_ns = int(Time.parse(epoch_text.strip().rstrip("Zz"), field="EPOCH"))
    except InputError as exc:
        raise f.error("EPOCH", exc.message) from None
    mean_motion = f.number("MEAN_MOTION")
    if not mean_motion > 0.0:
        raise f.error("MEAN_MOTION", f"{mean_motion!r} is out of range (must be above 0 "
                                     "rev/day)")
    ecc = f.ranged("ECCENTRICITY", 0.0, 1.0, high_open=True)
    incl = f.ranged("INCLINATION", 0.0, 180.0, unit=" deg")
    raan = f.ranged("RA_OF_ASC_NODE", 0.0, 360.0, unit=" deg")
    argp = f.ranged("ARG_OF_PERICENTER", 0.0, 360.0, unit=" deg")
    mean_anomaly = f.ranged("MEAN_ANOMALY", 0.0, 360.0, unit=" deg")
    bstar = f.number("BSTAR")
    ndot = f.number("MEAN_MOTION_DOT", 0.0)
    nddot = f.number("MEAN_MOTION_DDOT", 0.0)
    ephtype = f.integer("EPHEMERIS_TYPE", 0)
    if not 0 <= ephtype <= 9:
        raise f.error("EPHEMERIS_TYPE", f"{ephtype} is out of range (0..9)")
    elnum = f.integer("ELEMENT_SET_NO", 999)
    revnum = f.integer("REV_AT_EPOCH", 0)
    for key, count in (("ELEMENT_SET_NO", elnum), ("REV_AT_EPOCH", revnum)):
        if not 0 <= count <= 10**9:
            raise f.error(key, f"{count} is out of range (0..1e9)")
    classification = f.text("CLASSIFICATION_TYPE", "U")
    if len(classification) != 1 or not classification.isalpha():
        raise f.error("CLASSIFICATION_TYPE", f"{classification!r} is not one letter (U, C, S)")
    name = f.text("OBJECT_NAME") or f"SAT-{norad}"
    intl = f.text("OBJECT_ID")

    sat = Satrec()
    epoch_days_1949 = epoch_ns / NS_PER_DAY + _DAYS_1949_TO_1970
    sat.sgp4init(WGS72, "i", norad if norad <= _SGP4_MAX_SATNUM else 0, epoch_days_1949,
                 bstar, ndot / _NDOT_UNITS, nddot / _NDDOT_UNITS, ecc, math.radians(argp),
                 math.radians(incl), math.radians(mean_anomaly), mean_motion / 720.0 * math.pi,
                 math.radians(raan))
    set_satrec_epoch(sat, epoch_ns)
    sat.classification = classification.upper()
    sat.intldesg = intl_to_tle(intl)[:11]
    sat.ephtype = ephtype
    sat.elnum = elnum
    sat.revnum = revnum
    return sat, norad, name, intl, epoch_ns


# ---- splitting each encoding into records -------------------------------------------------------
def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _xml_records(text: str, source: str) -> Iterator[_Record]:
    if re.search(r"<!\s*(DOCTYPE|ENTITY)", text, re.IGNORECASE):
        raise InputError("XML with a DOCTYPE or ENTITY declaration is refused (it could expand "
                         "entities without bound)", source=source,
                         fix="Remove the declaration; CelesTrak's OMM XML has none")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        line = exc.position[0] if exc.position else None
        raise InputError(f"not well-formed XML ({exc})", source=source, line=line,
                         fix="Re-download the file") from None
    except (ValueError, RecursionError) as exc:
        raise InputError(f"cannot parse the XML ({exc})", source=source) from None
    omms = [root] if _local(root.tag) == "omm" else [e for e in root.iter()
                                                     if _local(e.tag) == "omm"]
    if not omms:
        raise InputError(f"no <omm> element in this XML (root element <{_local(root.tag)}>)",
                         source=source, fix="Pass CCSDS OMM XML, as from CelesTrak FORMAT=xml")
    for number, omm in enumerate(omms, start=1):
        values: dict[str, Any] = {}
        for el in omm.iter():
            key = _local(el.tag)
            if len(el) == 0 and key not in ("COMMENT", "omm", "USER_DEFINED"):
                values[key] = el.text or ""
        yield _Record(values, number)


def _kvn_records(text: str, source: str) -> Iterator[_Record]:
    current: _Record | None = None
    count = 0
    for lineno, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if not line or line.startswith("COMMENT"):
            continue
        key, sep, value = line.partition("=")
        key = key.strip().upper()
        if not sep or not key:
            problem = InputError("expected 'KEYWORD = value'", source=source, line=lineno,
                                 text=raw, fix="Re-download the file")
            if current is None:
                raise problem
            current.problem = current.problem or problem
            continue
        value = value.strip()
        unit = _UNIT_SUFFIX.fullmatch(value)
        if unit and _NUMBER.fullmatch(unit.group(1)):  # '15.5 [rev/day]'; names keep brackets
            value = unit.group(1)
        if key == "CCSDS_OMM_VERS":
            if current is not None:
                yield current
            count += 1
            current = _Record({}, count, line=lineno)
        elif current is None:
            raise InputError(f"{key} before the first CCSDS_OMM_VERS line", source=source,
                             line=lineno, text=raw,
                             fix="An OMM in KVN starts with 'CCSDS_OMM_VERS = 2.0'")
        elif key in current.values and current.problem is None:
            current.problem = InputError(
                f"given twice (lines {current.lines[key]} and {lineno})", source=source,
                line=lineno, field=key, text=raw, fix="Keep one value per keyword")
        current.values[key] = value
        current.lines[key] = lineno
    if current is not None:
        yield current


def _json_records(text: str, source: str) -> Iterator[_Record]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON ({exc.msg}, column {exc.colno})", source=source,
                         line=exc.lineno, fix="Re-download the file") from None
    except (ValueError, RecursionError) as exc:
        raise InputError(f"cannot parse the JSON ({type(exc).__name__}: {exc})"[:300],
                         source=source) from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise InputError(f"the JSON holds a {type(data).__name__}, not a list of OMM objects",
                         source=source, fix="Pass CelesTrak GP JSON (FORMAT=json)")
    for number, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            yield _Record({}, number, problem=InputError(
                f"is a JSON {type(item).__name__}, not an object with OMM keywords",
                source=source, record=number, fix="Pass CelesTrak GP JSON (FORMAT=json)"))
            continue
        yield _Record({str(k).strip().upper(): v for k, v in item.items()}, number)


def _csv_records(text: str, source: str) -> Iterator[_Record]:
    reader = csv.reader(io.StringIO(text))
    try:
        header: list[str] = []
        while not any(h.strip() for h in header):
            header = next(reader, None)  # type: ignore[arg-type]
            if header is None:
                raise InputError("no CSV header row", source=source,
                                 fix="Pass CelesTrak GP CSV (FORMAT=csv)")
        keys = [h.strip().upper() for h in header]
        if "NORAD_CAT_ID" not in keys:
            raise InputError(f"the CSV header has no NORAD_CAT_ID column (columns: "
                             f"{', '.join(keys)[:200]})", source=source, line=reader.line_num,
                             fix="Pass CelesTrak GP CSV (FORMAT=csv), whose header names the "
                                 "OMM keywords")
        number = 0
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            number += 1
            line = reader.line_num
            raw = ",".join(row)
            rec = _Record(dict(zip(keys, row, strict=False)), number, line=line, text=raw)
            if len(row) != len(keys):
                rec.problem = InputError(f"{len(row)} columns where the header has {len(keys)}",
                                         source=source, line=line, field="columns", text=raw,
                                         fix="Re-download the file")
            yield rec
    except csv.Error as exc:
        raise InputError(f"cannot parse the CSV ({exc})", source=source,
                         line=reader.line_num, fix="Re-download the file") from None


_SPLITTERS = {"xml": _xml_records, "kvn": _kvn_records, "json": _json_records,
              "csv": _csv_records}


def detect_omm_format(text: str) -> OmmFormat | None:
    """The OMM encoding of ``text`` from its content, or ``None`` when it is none of them."""
    head = text.lstrip("\ufeff \t\r\n")
    if head.startswith("<"):
        return "xml"
    if head.startswith(("[", "{")):
        return "json"
    first = head.split("\n", 1)[0]
    if re.match(r"(COMMENT.*\n\s*)*CCSDS_OMM_VERS\s*=", head):
        return "kvn"
    upper = first.upper()
    if "," in first and ("NORAD_CAT_ID" in upper or "OBJECT_NAME" in upper):
        return "csv"
    return None


# ---- public reading -----------------------------------------------------------------------------
def read_omm(
    source: str | Path | IO[str] | IO[bytes],
    *,
    errors: ErrorMode = "raise",
    format: OmmFormat | None = None,
    name: str | None = None,
) -> ElementSet:
    """Read an OMM file (XML, KVN, JSON or CSV; may be gzip/xz compressed).

    ``format`` forces an encoding (default: detected from the content). ``name`` is the source
    name used in messages (default: the file's base name).
    """
    check_errors_mode(errors)
    src = read_text(source, name)
    return parse_omm_text(src.text, source=src.name, errors=errors, format=format)


def parse_omm_text(text: str, source: str = "<string>", *, errors: ErrorMode = "raise",
                   format: OmmFormat | None = None) -> ElementSet:
    """Parse OMM text in any of the four encodings. See :func:`read_omm`."""
    check_errors_mode(errors)
    fmt = format or detect_omm_format(text)
    if fmt is None:
        raise InputError("this is not OMM XML, KVN, JSON or CSV", source=source,
                         fix="Pass CelesTrak GP data (FORMAT=xml, kvn, json or csv)")
    if fmt not in _SPLITTERS:
        raise UsageError(f"format must be one of {', '.join(_FORMATS)}, got {fmt!r}")
    parsed = ParsedElements(source=source, epoch_ns=[], what="records")
    assert parsed.epoch_ns is not None
    for rec in _SPLITTERS[fmt](text, source):
        try:
            sat, norad, name, intl, epoch_ns = _build(rec, source)
        except InputError as exc:
            parsed.problems.append(exc)
            continue
        parsed.add(sat, norad, name, intl)
        parsed.epoch_ns.append(epoch_ns)
    return finish(parsed, errors)


# ---- writing ------------------------------------------------------------------------------------
def _g(value: float) -> float:
    """Round to 12 significant digits: removes float noise from unit conversions."""
    return float(f"{value:.12g}")


def _omm_values(elements: ElementSet) -> list[dict[str, Any]]:
    """One dict per satellite with the OMM keywords in CelesTrak's order (typed values)."""
    ns = np.atleast_1d(elements.epochs.ns)
    epochs = np.atleast_1d(Time((ns + 500) // 1000 * 1000).iso("us"))
    out = []
    for i, sat in enumerate(elements.satrecs):
        out.append({
            "OBJECT_NAME": str(elements.names[i]),
            "OBJECT_ID": str(elements.intl_designators[i] or ""),
            "EPOCH": str(epochs[i]).rstrip("Z"),
            "MEAN_MOTION": _g(sat.no_kozai * 720.0 / math.pi),
            "ECCENTRICITY": _g(sat.ecco),
            "INCLINATION": _g(math.degrees(sat.inclo)),
            "RA_OF_ASC_NODE": _g(math.degrees(sat.nodeo)),
            "ARG_OF_PERICENTER": _g(math.degrees(sat.argpo)),
            "MEAN_ANOMALY": _g(math.degrees(sat.mo)),
            "EPHEMERIS_TYPE": int(getattr(sat, "ephtype", 0) or 0),
            "CLASSIFICATION_TYPE": (getattr(sat, "classification", "U") or "U").strip() or "U",
            "NORAD_CAT_ID": int(elements.norad_ids[i]),
            "ELEMENT_SET_NO": int(getattr(sat, "elnum", 0) or 0),
            "REV_AT_EPOCH": int(getattr(sat, "revnum", 0) or 0),
            "BSTAR": _g(sat.bstar),
            "MEAN_MOTION_DOT": _g(sat.ndot * _NDOT_UNITS),
            "MEAN_MOTION_DDOT": _g(sat.nddot * _NDDOT_UNITS),
        })
    return out


def _text_value(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def _write_xml(records: list[dict[str, Any]]) -> str:
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n'
             '<ndm xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
             'xsi:noNamespaceSchemaLocation="https://sanaregistry.org/r/ndmxml_unqualified/'
             'ndmxml-2.0.0-master-2.0.xsd">\n']

    def tags(rec: Mapping[str, Any], keys: tuple[str, ...]) -> str:
        return "".join(f"<{k}>{escape(_text_value(rec[k]))}</{k}>" for k in keys)

    for rec in records:
        meta = {"OBJECT_NAME": rec["OBJECT_NAME"], "OBJECT_ID": rec["OBJECT_ID"],
                "CENTER_NAME": "EARTH", "REF_FRAME": "TEME", "TIME_SYSTEM": "UTC",
                "MEAN_ELEMENT_THEORY": "SGP4"}
        parts.append(
            '<omm id="CCSDS_OMM_VERS" version="2.0">\n'
            "<header><CREATION_DATE/><ORIGINATOR/></header>"
            f"<body><segment><metadata>{tags(meta, _METADATA_FIELDS)}</metadata>"
            f"<data><meanElements>{tags(rec, _MEAN_FIELDS)}</meanElements>"
            f"<tleParameters>{tags(rec, _TLE_FIELDS)}</tleParameters></data></segment></body>"
            "</omm>\n")
    parts.append("</ndm>\n")
    return "".join(parts)


def _write_kvn(records: list[dict[str, Any]]) -> str:
    lines: list[str] = []

    def kv(key: str, value: Any) -> None:
        lines.append(f"{key:<24} = {_text_value(value)}".rstrip())

    for rec in records:
        kv("CCSDS_OMM_VERS", "2.0")
        kv("CREATION_DATE", "")
        kv("ORIGINATOR", "")
        lines.append("")
        meta = {"OBJECT_NAME": rec["OBJECT_NAME"], "OBJECT_ID": rec["OBJECT_ID"],
                "CENTER_NAME": "EARTH", "REF_FRAME": "TEME", "TIME_SYSTEM": "UTC",
                "MEAN_ELEMENT_THEORY": "SGP4"}
        for key in _METADATA_FIELDS:
            kv(key, meta[key])
        lines.append("")
        for key in _MEAN_FIELDS:
            kv(key, rec[key])
        lines.append("")
        for key in _TLE_FIELDS:
            kv(key, rec[key])
        lines.append("")
    return "\n".join(lines)


def _write_json(records: list[dict[str, Any]]) -> str:
    return json.dumps(records, indent=1, ensure_ascii=False) + "\n"


def _write_csv(records: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(OMM_FIELDS)
    for rec in records:
        writer.writerow([_text_value(rec[k]) for k in OMM_FIELDS])
    return buf.getvalue()


_WRITERS = {"xml": _write_xml, "kvn": _write_kvn, "json": _write_json, "csv": _write_csv}


def format_omm(elements: ElementSet, format: OmmFormat = "xml") -> str:
    """The OMM text of ``elements`` in one encoding (see :func:`write_omm`)."""
    if format not in _WRITERS:
        raise UsageError(f"format must be one of {', '.join(_FORMATS)}, got {format!r}")
    return _WRITERS[format](_omm_values(elements))


def write_omm(elements: ElementSet, dest: str | Path | IO[str], *,
              format: OmmFormat = "xml") -> None:
    """Write ``elements`` as CCSDS OMM: ``format`` is ``xml`` (an ``<ndm>`` of ``<omm>``),
    ``kvn``, ``json`` (CelesTrak GP JSON) or ``csv`` (CelesTrak GP CSV)."""
    text = format_omm(elements, format)
    if isinstance(dest, (str, Path)):
        Path(dest).write_text(text, encoding="utf-8", newline="")
    else:
        dest.write(text)
