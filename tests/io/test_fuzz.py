"""Property tests: every reader either loads or raises InputError/DataError, never anything else;
valid elements survive write → read; large inputs load completely."""

from __future__ import annotations

import io
import json
import math
import os
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sgp4.api import WGS72, Satrec

from orbemu import DataError, InputError
from orbemu.io._source import read_text
from orbemu.io.elements import load_elements, parse_elements_text
from orbemu.io.ground import load_ground_nodes, parse_ground_text, parse_station_spec
from orbemu.io.omm import format_omm, parse_omm_text
from orbemu.io.tle import alpha5_encode, parse_tle_text, tle_checksum, write_tle
from orbemu.orbits.elements import ElementSet

from .test_omm import MARIO
from .test_tle import ISS, SL

#: ORBEMU_FUZZ_EXAMPLES=5000 pytest tests/io/test_fuzz.py  for a longer campaign.
FUZZ = settings(max_examples=int(os.environ.get("ORBEMU_FUZZ_EXAMPLES", "150")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
TLE_TEXT = "\n".join(ISS) + "\n" + "\n".join(SL) + "\n"
OMM_TEXT = {fmt: format_omm(parse_tle_text(TLE_TEXT), fmt) for fmt in ("xml", "kvn", "json",
                                                                       "csv")}
GROUND_TEXT = ("name,lat_deg,lon_deg,alt_m\nMadrid,40.43,-4.25,700\nTroll,-72.01,2.53,1270\n"
               "Svalbard,78.23,15.39,450\n")
GEOJSON_TEXT = json.dumps({"type": "FeatureCollection", "features": [
    {"type": "Feature", "geometry": {"type": "Point", "coordinates": [10.0, 20.0]},
     "properties": {"name": "A"}}]})


def loads_or_input_error(fn, *args, **kwargs):
    """Run a reader: success or InputError/DataError are fine; anything else fails the test."""
    try:
        return fn(*args, **kwargs)
    except (InputError, DataError) as exc:
        assert str(exc)  # the message renders
        return None


@st.composite
def mutated(draw, text: str):
    """``text`` with a few random edits: replace, insert, delete, truncate, duplicate a line."""
    chars = list(text)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["replace", "insert", "delete", "truncate", "dup"]))
        if not chars:
            break
        i = draw(st.integers(0, len(chars) - 1))
        if kind == "replace":
            chars[i] = draw(st.characters(codec="utf-8"))
        elif kind == "insert":
            chars.insert(i, draw(st.sampled_from(list("0123456789 .-+\n\r,<>=[]{}\"aZ"))))
        elif kind == "delete":
            del chars[i]
        elif kind == "truncate":
            chars = chars[:i]
        else:
            lines = "".join(chars).split("\n")
            j = draw(st.integers(0, len(lines) - 1))
            lines.insert(j, lines[j])
            chars = list("\n".join(lines))
    return "".join(chars)


# ---- any text ------------------------------------------------------------------------------------
@FUZZ
@given(st.text(max_size=400), st.sampled_from(["raise", "skip"]))
def test_random_text_in_every_reader(text, errors):
    loads_or_input_error(parse_tle_text, text, errors=errors)
    loads_or_input_error(parse_elements_text, text, errors=errors)
    for fmt in ("xml", "kvn", "json", "csv"):
        loads_or_input_error(parse_omm_text, text, errors=errors, format=fmt)
    loads_or_input_error(parse_ground_text, text, errors=errors)
    loads_or_input_error(parse_station_spec, text)


TLEISH = st.text(alphabet="0123456789 .-+ABCUZ\n", max_size=600).map(
    lambda s: s.replace("\n\n", "\n1 ").replace("\n\n", "\n2 "))


@FUZZ
@given(TLEISH)
def test_tle_alphabet_text(text):
    loads_or_input_error(parse_tle_text, text, errors="skip")


@FUZZ
@given(st.binary(max_size=600))
def test_random_bytes_through_files(data):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.dat"
        path.write_bytes(data)
        loads_or_input_error(load_elements, path)
        loads_or_input_error(load_elements, str(path), errors="skip")
        loads_or_input_error(load_ground_nodes, path)
    loads_or_input_error(read_text, io.BytesIO(data))


def test_empty_input_everywhere():
    for text in ("", " ", "\n\r\n", "\ufeff"):
        for fn in (parse_tle_text, parse_elements_text, parse_omm_text, parse_ground_text):
            try:
                fn(text)
            except InputError:
                continue
            raise AssertionError(f"{fn.__name__}({text!r}) loaded something")


# ---- damaged real records ------------------------------------------------------------------------
@FUZZ
@given(mutated(TLE_TEXT), st.sampled_from(["raise", "skip"]))
def test_mutated_tle(text, errors):
    es = loads_or_input_error(parse_tle_text, text, errors=errors)
    if es is not None and errors == "skip":
        assert len(es) + len(es.rejections) >= 1


@FUZZ
@given(st.sampled_from([1, 2, 4, 5]), st.integers(2, 67), st.integers(1, 9))
def test_flipped_digit_is_always_caught(line_index, col, delta):
    lines = TLE_TEXT.split("\n")
    line = lines[line_index]
    if not line[col].isdigit():
        return
    lines[line_index] = line[:col] + str((int(line[col]) + delta) % 10) + line[col + 1:]
    try:
        parse_tle_text("\n".join(lines))
    except InputError as exc:
        assert exc.line == line_index + 1
    else:
        raise AssertionError("a changed digit went unnoticed")


@FUZZ
@given(st.sampled_from([1, 2, 4, 5]), st.integers(0, 68))
def test_truncated_line_is_caught(line_index, length):
    lines = TLE_TEXT.split("\n")
    lines[line_index] = lines[line_index][:length]
    try:
        es = parse_tle_text("\n".join(lines), errors="skip")
    except InputError:
        return
    assert len(es) == 1 and len(es.rejections) >= 1


@FUZZ
@given(st.sampled_from(["xml", "kvn", "json", "csv"]).flatmap(
    lambda fmt: st.tuples(st.just(fmt), mutated(OMM_TEXT[fmt]))), st.booleans())
def test_mutated_omm(fmt_text, force_format):
    fmt, text = fmt_text
    loads_or_input_error(parse_omm_text, text, format=fmt if force_format else None)
    loads_or_input_error(parse_elements_text, text, errors="skip")


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5),
                                                                      children, max_size=3),
    max_leaves=8)


@FUZZ
@given(st.dictionaries(st.sampled_from(sorted(MARIO)), JSON_VALUES, max_size=6))
def test_omm_json_records_with_wild_values(overrides):
    record = {**MARIO, **overrides}
    text = json.dumps([record], allow_nan=True)
    es = loads_or_input_error(parse_omm_text, text)
    if es is not None:
        assert es.norad_ids[0] == int(record["NORAD_CAT_ID"])


@FUZZ
@given(mutated(GROUND_TEXT) | mutated(GEOJSON_TEXT), st.sampled_from(["raise", "skip"]))
def test_mutated_ground_files(text, errors):
    nodes = loads_or_input_error(parse_ground_text, text, errors=errors)
    if nodes is not None:
        assert len(set(nodes.names.tolist())) == len(nodes)
        assert np.all(np.abs(nodes.lat_deg) <= 90)


@FUZZ
@given(JSON_VALUES)
def test_geojson_shaped_garbage(value):
    loads_or_input_error(parse_ground_text, json.dumps({"type": "FeatureCollection",
                                                        "features": [value]}))
    loads_or_input_error(parse_ground_text, json.dumps(value))


# ---- valid elements survive writing ------------------------------------------------------------
ELEMENTS = st.fixed_dictionaries({
    "norad": st.integers(0, 339_999),
    "epoch_days": st.floats(2_600.0, 38_000.0),  # days since 1949-12-31: 1957..2053
    "bstar": st.floats(-0.5, 0.5),
    "ndot": st.floats(-1e-6, 1e-6),
    "ecc": st.floats(0.0, 0.95),
    "argp": st.floats(0.0, 2 * math.pi),
    "incl": st.floats(0.0, math.pi),
    "mo": st.floats(0.0, 2 * math.pi),
    "n": st.floats(0.003, 0.07),  # rad/min: 0.7 .. 16 rev/day
    "node": st.floats(0.0, 2 * math.pi),
})


def element_set(e: dict) -> ElementSet:
    sat = Satrec()
    sat.sgp4init(WGS72, "i", e["norad"], e["epoch_days"], e["bstar"], e["ndot"], 0.0, e["ecc"],
                 e["argp"], e["incl"], e["mo"], e["n"], e["node"])
    return ElementSet.from_satrecs([sat], names=["P"], norad_ids=[e["norad"]])


@settings(max_examples=200, deadline=None)
@given(ELEMENTS)
def test_tle_round_trip_to_format_precision(e):
    es = element_set(e)
    if int(es.epochs.ns[0]) < -410_227_200 * 10**9 or es.epochs[0].iso("s") >= "2056-12-31":
        return  # two-digit TLE years cover 1957..2056
    out = io.StringIO()
    write_tle(es, out)
    back = parse_tle_text(out.getvalue())
    a, b = es.satrecs[0], back.satrecs[0]
    assert back.norad_ids[0] == e["norad"]
    assert abs(a.ecco - b.ecco) <= 0.5e-7 + 1e-15
    for attr in ("inclo", "nodeo", "argpo", "mo"):
        gap = abs(getattr(a, attr) - getattr(b, attr))
        gap = min(gap, 2 * math.pi - gap)  # 359.99996° may be written as 360.0000
        assert gap <= math.radians(0.5e-4) * 1.001, attr
    assert abs(a.no_kozai - b.no_kozai) * 1440 / (2 * math.pi) <= 0.5e-8 * 1.001
    assert abs(a.bstar - b.bstar) <= abs(a.bstar) * 5e-5 + 1e-10  # below 1e-10: written as 0
    assert abs(int(es.epochs.ns[0]) - int(back.epochs.ns[0])) <= 432_000 + 1_000


@settings(max_examples=100, deadline=None)
@given(ELEMENTS, st.sampled_from(["xml", "kvn", "json", "csv"]),
       st.integers(0, 999_999_999))
def test_omm_round_trip(e, fmt, norad):
    es = element_set({**e, "norad": min(norad, 339_999)})
    es = ElementSet.from_satrecs(es.satrecs, names=["P"], norad_ids=[norad])
    back = parse_omm_text(format_omm(es, fmt))
    assert back.norad_ids[0] == norad
    a, b = es.satrecs[0], back.satrecs[0]
    for attr in ("ecco", "inclo", "nodeo", "argpo", "mo", "no_kozai", "bstar", "ndot"):
        assert math.isclose(getattr(a, attr), getattr(b, attr), rel_tol=1e-11, abs_tol=1e-15)
    assert abs(int(es.epochs.ns[0]) - int(back.epochs.ns[0])) <= 500  # written to the µs
    assert format_omm(back, fmt) == format_omm(parse_omm_text(format_omm(back, fmt)), fmt)


# ---- size ----------------------------------------------------------------------------------------
def synthetic_tle(n: int) -> str:
    """``n`` distinct valid 3-line sets (catalog numbers 0..n-1, Alpha-5 above 99999)."""
    _, l1, l2 = SL
    out = []
    for k in range(n):
        cat = alpha5_encode(k)
        a = f"{l1[:2]}{cat}{l1[7:68]}"
        b = f"{l2[:2]}{cat}{l2[7:68]}"
        out.append(f"SAT {k}\n{a}{tle_checksum(a)}\n{b}{tle_checksum(b)}")
    return "\n".join(out) + "\n"


def test_100k_records_load_completely():
    es = parse_tle_text(synthetic_tle(100_000))
    assert len(es) == 100_000 and es.rejections == ()
    assert es.norad_ids[-1] == 99_999 and es.names[-1] == "SAT 99999"


def test_large_omm_json_and_ground_csv():
    records = [dict(MARIO, NORAD_CAT_ID=k) for k in range(20_000)]
    assert len(parse_omm_text(json.dumps(records))) == 20_000
    rows = "\n".join(f"S{k},{(k % 180) - 89.5},{(k % 360) - 179.5}" for k in range(50_000))
    assert len(parse_ground_text(rows)) == 50_000
