"""OMM (XML, KVN, JSON, CSV) against CelesTrak samples, python-sgp4's own OMM parser, and bad
input."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from sgp4 import omm as sgp4_omm
from sgp4.api import Satrec

from orbemu import InputError, UsageError
from orbemu.io.omm import OMM_FIELDS, format_omm, parse_omm_text, read_omm, write_omm
from orbemu.io.tle import parse_tle_text, read_tle, write_tle

from ..conftest import ONE_METRE

SATREC_FIELDS = ("no_kozai", "ecco", "inclo", "nodeo", "argpo", "mo", "bstar", "ndot", "nddot",
                 "jdsatepoch", "elnum", "revnum", "ephtype", "classification", "intldesg")
MARIO = {
    "OBJECT_NAME": "MARIO", "OBJECT_ID": "1998-067UQ", "EPOCH": "2023-04-25T10:45:30.642912",
    "MEAN_MOTION": 15.99081912, "ECCENTRICITY": 0.0014649, "INCLINATION": 51.6242,
    "RA_OF_ASC_NODE": 216.293, "ARG_OF_PERICENTER": 331.8976, "MEAN_ANOMALY": 28.1241,
    "EPHEMERIS_TYPE": 0, "CLASSIFICATION_TYPE": "U", "NORAD_CAT_ID": 55123,
    "ELEMENT_SET_NO": 999, "REV_AT_EPOCH": 1839, "BSTAR": 0.001568,
    "MEAN_MOTION_DOT": 0.00787702, "MEAN_MOTION_DDOT": 0.00029408,
}


def json_text(*records: dict) -> str:
    return json.dumps(list(records))


def position_km(sat: Satrec, days: float = 0.5) -> np.ndarray:
    err, r, _ = sat.sgp4(sat.jdsatepoch, sat.jdsatepochF + days)
    assert err == 0
    return np.array(r)


def assert_same_satrecs(a, b):
    for attr in SATREC_FIELDS:
        assert getattr(a, attr) == getattr(b, attr), attr
    assert abs(a.jdsatepochF - b.jdsatepochF) < 1e-11


# ---- real CelesTrak samples ----------------------------------------------------------------------
def test_starlink_json_matches_python_sgp4_omm_for_every_record(shared_data):
    path = shared_data / "omm" / "celestrak_gp_starlink_2025-05-24.json"
    es = read_omm(path)
    assert len(es) == 7_483 and es.rejections == () and es.notes == ()
    records = json.loads(path.read_text())
    for i, fields in enumerate(records):
        ref = Satrec()
        sgp4_omm.initialize(ref, fields)  # python-sgp4's own reader: an independent check
        sat = es.satrecs[i]
        assert es.norad_ids[i] == fields["NORAD_CAT_ID"] == ref.satnum
        assert es.names[i] == fields["OBJECT_NAME"]
        assert es.intl_designators[i] == fields["OBJECT_ID"]
        assert_same_satrecs(sat, ref)
        if i % 500 == 0:
            assert np.linalg.norm(position_km(sat) - position_km(ref)) * 1000 < ONE_METRE / 1000
    assert es.epochs[0].iso("us") == "2025-05-24T18:20:22.669728Z"


def test_stations_json(shared_data):
    es = read_omm(shared_data / "omm" / "celestrak_gp_stations_2025-05-24.json")
    assert len(es) == 13
    assert es.names[es.index_of(25544)] == "ISS (ZARYA)"


@pytest.mark.parametrize("name", ["sample_MARIO_55123_2023-04-25.xml",
                                  "sample_MARIO_55123_2023-04-25.csv",
                                  "derived_MARIO_55123_2023-04-25.kvn"])
def test_mario_in_every_encoding_equals_sgp4_omm_and_the_tle(shared_data, name):
    es = read_omm(shared_data / "omm" / name)
    assert len(es) == 1 and es.norad_ids[0] == 55123 and es.names[0] == "MARIO"
    xml_fields = next(sgp4_omm.parse_xml(str(shared_data / "omm" /
                                             "sample_MARIO_55123_2023-04-25.xml")))
    ref = Satrec()
    sgp4_omm.initialize(ref, xml_fields)
    assert_same_satrecs(es.satrecs[0], ref)
    tle = read_tle(shared_data / "omm" / "sample_MARIO_55123_2023-04-25.tle")
    # the TLE carries the same elements to its own precision: positions within a few metres
    gap_m = np.linalg.norm(position_km(es.satrecs[0]) - position_km(tle.satrecs[0])) * 1000
    assert gap_m < 50 * ONE_METRE
    assert abs(int(es.epochs[0]) - int(tle.epochs[0])) < 500_000  # TLE epoch: 1e-8 day


def test_sgp4_omm_reads_our_xml_and_csv_output(shared_data):
    es = read_omm(shared_data / "omm" / "celestrak_gp_stations_2025-05-24.json")
    for fmt in ("xml", "csv"):
        text = format_omm(es, fmt)
        if fmt == "xml":
            records = list(sgp4_omm.parse_xml(io.StringIO(text)))
        else:
            records = list(sgp4_omm.parse_csv(io.StringIO(text)))
        assert len(records) == len(es)
        for sat, fields in zip(es.satrecs, records, strict=True):
            ref = Satrec()
            sgp4_omm.initialize(ref, fields)
            assert_same_satrecs(sat, ref)


# ---- round trips ---------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["xml", "kvn", "json", "csv"])
def test_round_trip_every_encoding(shared_data, fmt, tmp_path):
    es = read_omm(shared_data / "omm" / "celestrak_gp_starlink_2025-05-24.json").select(
        slice(0, 7483, 37))
    path = tmp_path / f"out.{fmt}"
    write_omm(es, path, format=fmt)
    back = read_omm(path)
    assert back.norad_ids.tolist() == es.norad_ids.tolist()
    assert back.names.tolist() == es.names.tolist()
    assert back.intl_designators.tolist() == es.intl_designators.tolist()
    assert np.array_equal(back.epochs.ns, es.epochs.ns)
    for a, b in zip(es.satrecs, back.satrecs, strict=True):
        assert_same_satrecs(a, b)
    assert format_omm(back, fmt) == path.read_bytes().decode()


def test_tle_to_omm_to_tle_is_exact(shared_data):
    path = shared_data / "tle" / "celestrak_geo_2026-05-30.tle"
    es = read_tle(path)
    for fmt in ("xml", "kvn", "json", "csv"):
        via = parse_omm_text(format_omm(es, fmt))
        out = io.StringIO()
        write_tle(via, out)
        original = [ln.rstrip() for ln in path.read_text().split("\n") if ln.strip()]
        assert out.getvalue().split("\n")[:-1] == original, fmt


# ---- 9-digit catalog numbers ---------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["xml", "kvn", "json", "csv"])
def test_nine_digit_catalog_numbers(fmt):
    records = [dict(MARIO, NORAD_CAT_ID=n, OBJECT_NAME=f"OBJ {n}")
               for n in (55123, 270_000, 340_000, 123_456_789)]
    small = parse_omm_text(json_text(records[0]))
    text = format_omm(parse_omm_text(json_text(*records)), fmt)
    es = parse_omm_text(text)
    assert es.norad_ids.tolist() == [55123, 270_000, 340_000, 123_456_789]
    # python-sgp4 takes up to 339999 (Alpha-5); larger ones are built with satnum 0
    assert [s.satnum for s in es.satrecs] == [55123, 270_000, 0, 0]
    for sat in es.satrecs:
        assert np.array_equal(position_km(sat), position_km(small.satrecs[0]))
    assert es.index_of(123_456_789) == 3
    with pytest.raises(UsageError, match="write OMM instead"):
        write_tle(es, io.StringIO())


def test_duplicates_by_nine_digit_id_keep_newest():
    old = dict(MARIO, NORAD_CAT_ID=987_654_321, EPOCH="2023-04-24T00:00:00")
    new = dict(MARIO, NORAD_CAT_ID=987_654_321, EPOCH="2023-04-26T00:00:00", OBJECT_NAME="NEW")
    es = parse_omm_text(json_text(new, MARIO, old))
    assert es.names.tolist() == ["NEW", "MARIO"]
    assert "987654321" in es.notes[0]


# ---- errors --------------------------------------------------------------------------------------
def test_json_error_names_record_and_field():
    records = [dict(MARIO, NORAD_CAT_ID=k) for k in range(1, 1000)]
    records[811]["MEAN_MOTION"] = "abc"
    with pytest.raises(InputError) as info:
        parse_omm_text(json_text(*records), source="starlink.json")
    text = str(info.value)
    assert text.startswith("starlink.json record 812, MEAN_MOTION: 'abc' is not a number.")
    assert "other 998 records and list the rejected one" in text
    skipped = parse_omm_text(json_text(*records), source="starlink.json", errors="skip")
    assert len(skipped) == 998
    assert [(r.record, r.field) for r in skipped.rejections] == [(812, "MEAN_MOTION")]


@pytest.mark.parametrize(("key", "value", "needle"), [
    ("MEAN_MOTION", None, "missing"),
    ("MEAN_MOTION", -1.0, "above 0"),
    ("MEAN_MOTION", "1e999", "not a finite number"),
    ("MEAN_MOTION", "1_5", "not a number"),
    ("MEAN_MOTION", True, "not a number"),
    ("ECCENTRICITY", 1.0, "out of range"),
    ("INCLINATION", 181, "out of range"),
    ("RA_OF_ASC_NODE", -1, "out of range"),
    ("BSTAR", "nan", "not a number"),
    ("BSTAR", None, "missing"),
    ("EPOCH", "2023-13-45T00:00:00", "invalid date"),
    ("EPOCH", "yesterday", "not a UTC time"),
    ("EPOCH", "0001-01-01T00:00:00", "years 1957-2200"),
    ("EPOCH", 12345, "not a UTC time"),
    ("NORAD_CAT_ID", "12x", "not a whole number"),
    ("NORAD_CAT_ID", 1_000_000_000, "out of range"),
    ("NORAD_CAT_ID", None, "missing"),
    ("EPHEMERIS_TYPE", 11, "out of range"),
    ("CLASSIFICATION_TYPE", "UU", "not one letter"),
    ("MEAN_ELEMENT_THEORY", "SGP4-XP", "not supported"),
    ("REF_FRAME", "GCRF", "not supported"),
    ("OBJECT_NAME", {"a": 1}, "not text"),
])
def test_field_errors(key, value, needle):
    record = dict(MARIO)
    if value is None:
        del record[key]
    else:
        record[key] = value
    with pytest.raises(InputError, match=needle) as info:
        parse_omm_text(json_text(record), source="x.json")
    assert (info.value.field, info.value.record) == (key, 1)


def test_space_track_style_strings_are_numbers():
    record = {k: str(v) for k, v in MARIO.items()}
    es = parse_omm_text(json_text(record))
    assert_same_satrecs(es.satrecs[0], parse_omm_text(json_text(MARIO)).satrecs[0])


def test_defaults_for_optional_fields():
    record = {k: MARIO[k] for k in ("EPOCH", "MEAN_MOTION", "ECCENTRICITY", "INCLINATION",
                                    "RA_OF_ASC_NODE", "ARG_OF_PERICENTER", "MEAN_ANOMALY",
                                    "NORAD_CAT_ID", "BSTAR")}
    es = parse_omm_text(json.dumps(record))  # a single object, not a list
    assert es.names[0] == "SAT-55123" and es.satrecs[0].classification == "U"


def test_kvn_errors_name_lines_and_units_are_stripped(shared_data):
    text = (shared_data / "omm" / "derived_MARIO_55123_2023-04-25.kvn").read_text()
    with_units = text.replace("= 15.99081912", "= 15.99081912 [rev/day]")
    assert parse_omm_text(with_units).satrecs[0].no_kozai == \
        parse_omm_text(text).satrecs[0].no_kozai
    named = text.replace("= MARIO", "= MARIO [DTC]")
    assert parse_omm_text(named).names[0] == "MARIO [DTC]"
    bad = text.replace("= 51.6242", "= fifty")
    with pytest.raises(InputError) as info:
        parse_omm_text(bad, source="m.kvn")
    assert str(info.value).startswith("m.kvn line 16, INCLINATION: 'fifty' is not a number")
    with pytest.raises(InputError, match="given twice"):
        parse_omm_text(text.replace("EPHEMERIS_TYPE", "INCLINATION = 3\nEPHEMERIS_TYPE"))
    with pytest.raises(InputError, match="expected 'KEYWORD = value'") as info:
        parse_omm_text(text.replace("REF_FRAME ", "REF_FRAME_NO_EQUALS\nREF_FRAME "))
    assert info.value.line == 9
    with pytest.raises(InputError, match="before the first CCSDS_OMM_VERS"):
        parse_omm_text("OBJECT_NAME = X\nCCSDS_OMM_VERS = 2.0\n", format="kvn")


def test_csv_errors_name_lines(shared_data):
    es = read_tle(shared_data / "tle" / "celestrak_stations_2026-05-30.tle")
    lines = format_omm(es, "csv").splitlines()
    cells = next(csv.reader([lines[5]]))
    cells[OMM_FIELDS.index("ECCENTRICITY")] = "2"
    lines[5] = ",".join(cells)
    lines[9] = lines[9] + ",extra"
    text = "\n".join(lines)
    with pytest.raises(InputError) as info:
        parse_omm_text(text, source="s.csv")
    assert (info.value.line, info.value.field) == (6, "ECCENTRICITY")
    skipped = parse_omm_text(text, source="s.csv", errors="skip")
    assert [(r.line, r.field) for r in skipped.rejections] == [(6, "ECCENTRICITY"),
                                                              (10, "columns")]
    assert len(skipped) == len(es) - 2
    with pytest.raises(InputError, match="no NORAD_CAT_ID column"):
        parse_omm_text("OBJECT_NAME,EPOCH\nX,2020-01-01T00:00:00\n")


def test_xml_variants_and_attacks(shared_data):
    text = (shared_data / "omm" / "sample_MARIO_55123_2023-04-25.xml").read_text()
    bare = text[text.index("<omm"):text.index("</omm>") + 6]
    assert parse_omm_text(bare).norad_ids.tolist() == [55123]
    namespaced = bare.replace("<omm ", '<omm xmlns="urn:ccsds:schema:ndmxml" ', 1)
    assert parse_omm_text(namespaced).norad_ids.tolist() == [55123]
    two = text.replace("</omm>", "</omm>" + bare.replace("55123", "55124"))
    assert parse_omm_text(two).norad_ids.tolist() == [55123, 55124]
    laughs = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
              '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><omm>&lol2;</omm>')
    with pytest.raises(InputError, match="DOCTYPE or ENTITY"):
        parse_omm_text(laughs)
    with pytest.raises(InputError, match="not well-formed") as info:
        parse_omm_text(text.replace("</INCLINATION>", "</INCL>"))
    assert info.value.line == 4
    with pytest.raises(InputError, match="no <omm> element"):
        parse_omm_text("<root><x/></root>")
    bad = text.replace("<MEAN_ANOMALY>28.1241", "<MEAN_ANOMALY>28.1.241")
    with pytest.raises(InputError) as info:
        parse_omm_text(bad, source="m.xml")
    assert str(info.value).startswith("m.xml record 1, MEAN_ANOMALY: '28.1.241' is not a number")


def test_json_structure_errors():
    with pytest.raises(InputError, match="not valid JSON") as info:
        parse_omm_text('[\n{"a": 1},\n{"b": }\n]')
    assert info.value.line == 3
    with pytest.raises(InputError, match="not a list of OMM objects"):
        parse_omm_text('"text"', format="json")
    skipped = parse_omm_text(json_text(MARIO)[:-1] + ', 5, "x"]', errors="skip")
    assert len(skipped) == 1 and [r.record for r in skipped.rejections] == [2, 3]
    with pytest.raises(InputError, match="cannot parse the JSON"):
        parse_omm_text("[" * 100_000 + "]" * 100_000)


def test_format_argument():
    with pytest.raises(UsageError):
        parse_omm_text(json_text(MARIO), format="yaml")  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        format_omm(parse_omm_text(json_text(MARIO)), "yaml")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="not OMM"):
        parse_omm_text("hello")


def test_tle_set_written_as_omm_keeps_identity():
    es = parse_tle_text(
        "ISS (ZARYA)\n"
        "1 25544U 98067A   26150.51748228  .00011776  00000+0  21767-3 0  9998\n"
        "2 25544  51.6337  27.5746 0007245 114.7080 245.4664 15.49496548569014\n")
    record = json.loads(format_omm(es, "json"))[0]
    assert record["OBJECT_ID"] == "1998-067A" and record["NORAD_CAT_ID"] == 25544
    assert record["EPOCH"] == "2026-05-30T12:25:10.468992"  # day .51748228 = 44710.468992 s
    assert record["MEAN_MOTION"] == 15.49496548 and record["BSTAR"] == 0.00021767
    assert record["ELEMENT_SET_NO"] == 999 and record["REV_AT_EPOCH"] == 56901


def test_elements_that_fail_sgp4_at_epoch_load_with_a_note():
    """Physically impossible but well-formed elements are data, not input errors."""
    decayed = dict(MARIO, ECCENTRICITY=0.3, MEAN_MOTION=16.0)  # perigee below the surface
    es = parse_omm_text(json_text(decayed, dict(MARIO, NORAD_CAT_ID=1)))
    assert len(es) == 2 and es.rejections == ()
    assert es.notes == ("1 element set fails SGP4 at its own epoch (orbit has decayed): 55123; "
                        "its positions will be NaN",)
