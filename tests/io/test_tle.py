"""TLE reading and writing against CelesTrak files, python-sgp4 and hand-built bad input."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pytest
from sgp4.api import WGS72, Satrec
from sgp4.exporter import export_tle

from orbemu import InputError, UsageError
from orbemu.io.tle import (
    alpha5_decode,
    alpha5_encode,
    format_tle,
    parse_tle_text,
    read_tle,
    tle_checksum,
    write_tle,
)

from ..conftest import ONE_SECOND_NS

ISS = ("ISS (ZARYA)",
       "1 25544U 98067A   26150.51748228  .00011776  00000+0  21767-3 0  9998",
       "2 25544  51.6337  27.5746 0007245 114.7080 245.4664 15.49496548569014")
SL = ("STARLINK-1008",
      "1 44714U 19074B   26150.30936191  .00080211  00000+0  15180-2 0  9995",
      "2 44714  53.1513 154.1788 0003034  54.2939 305.8351 15.47704531361446")

SHARED_TLE = {
    "celestrak_starlink_2026-05-30.tle": 10_395,
    "celestrak_oneweb_2026-05-30.tle": 651,
    "celestrak_stations_2026-05-30.tle": 25,
    "celestrak_geo_2026-05-30.tle": 574,
    "celestrak_iridium-NEXT_2026-09-07.tle": 80,
    "celestrak_gps-ops_2026-08-22.tle": 32,
    "celestrak_galileo_2026-08-22.tle": 32,
}


def with_checksum(line: str) -> str:
    return line[:68] + str(tle_checksum(line))


def edit(line: str, first_col: int, text: str) -> str:
    """Replace columns starting at 1-based ``first_col`` and fix the checksum."""
    i = first_col - 1
    return with_checksum(line[:i] + text + line[i + len(text):])


def three_line(*records: tuple[str, str, str]) -> str:
    return "\n".join("\n".join(r) for r in records) + "\n"


# ---- real files ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("file", "count"), sorted(SHARED_TLE.items()))
def test_every_shared_celestrak_file_loads_completely(shared_data, file, count):
    es = read_tle(shared_data / "tle" / file)
    assert len(es) == count
    assert es.rejections == () and es.notes == ()
    assert len(set(es.norad_ids.tolist())) == count
    assert all(name and not name.startswith("SAT-") for name in es.names)
    assert es.source == file


def test_shared_starlink_matches_python_sgp4_record_by_record(shared_data):
    path = shared_data / "tle" / "celestrak_starlink_2026-05-30.tle"
    es = read_tle(path)
    lines = path.read_text().splitlines()
    for k in range(0, len(lines), 3 * 997):  # every 997th satellite: spread across the file
        ref = Satrec.twoline2rv(lines[k + 1], lines[k + 2])
        i = es.index_of(ref.satnum)
        sat = es.satrecs[i]
        assert es.names[i] == lines[k].strip()
        for attr in ("no_kozai", "ecco", "inclo", "nodeo", "argpo", "mo", "bstar", "ndot",
                     "jdsatepoch", "jdsatepochF"):
            assert getattr(sat, attr) == getattr(ref, attr), attr
        # epochs as Time agree with the Julian date pair to well under a microsecond
        jd_ns = ((ref.jdsatepoch - 2440587.5) + ref.jdsatepochF) * 86400e9
        assert abs(int(es.epochs[i]) - jd_ns) < 1e-3 * ONE_SECOND_NS


def test_write_reproduces_celestrak_lines_exactly(shared_data):
    for file in SHARED_TLE:
        path = shared_data / "tle" / file
        original = [ln.rstrip() for ln in path.read_text().split("\n") if ln.strip()]
        out = io.StringIO()
        write_tle(read_tle(path), out)
        assert out.getvalue().split("\n")[:-1] == original, file


def test_writer_agrees_with_python_sgp4_exporter(shared_data):
    """python-sgp4's own exporter is an independent writer: same columns, except that it writes
    a zero nddot as ' 00000-0' where CelesTrak (and orbemu) write ' 00000+0'."""
    for file in ("celestrak_oneweb_2026-05-30.tle", "celestrak_geo_2026-05-30.tle"):
        es = read_tle(shared_data / "tle" / file)
        for i, sat in enumerate(es.satrecs):
            l1, l2 = format_tle(sat, int(es.norad_ids[i]), int(es.epochs.ns[i]),
                                str(es.intl_designators[i]))
            e1, e2 = export_tle(sat)
            assert l2 == e2
            assert l1[:44] == e1[:44] and l1[52:68] == e1[52:68]
            assert l1[44:52] == e1[44:52] or (l1[44:52], e1[44:52]) == (" 00000+0", " 00000-0")


# ---- layout variants -----------------------------------------------------------------------------
def test_two_line_three_line_zero_prefix_crlf_blank_lines_all_agree():
    base = parse_tle_text(three_line(ISS, SL))
    variants = {
        "2-line": "\n".join([ISS[1], ISS[2], SL[1], SL[2]]),
        "0-prefix": f"0 {ISS[0]}\n{ISS[1]}\n{ISS[2]}\n0 {SL[0]}\n{SL[1]}\n{SL[2]}\n",
        "crlf + padding": three_line(ISS, SL).replace("\n", "   \r\n"),
        "blank lines": "\n\n" + three_line(ISS).replace("\n", "\n\n") + "\n \n" + three_line(SL),
        "mixed": f"{ISS[1]}\n{ISS[2]}\n{SL[0]}\n{SL[1]}\n{SL[2]}",
    }
    for label, text in variants.items():
        es = parse_tle_text(text)
        assert es.norad_ids.tolist() == [25544, 44714], label
        assert es.epochs == base.epochs, label
        assert [s.no_kozai for s in es.satrecs] == [s.no_kozai for s in base.satrecs], label
    assert parse_tle_text(variants["0-prefix"]).names.tolist() == ["ISS (ZARYA)", "STARLINK-1008"]
    assert parse_tle_text(variants["2-line"]).names.tolist() == ["SAT-25544", "SAT-44714"]


def test_intl_designator_and_epoch():
    es = parse_tle_text(three_line(ISS))
    assert es.intl_designators[0] == "1998-067A"
    assert es.epochs[0].iso("ms") == "2026-05-30T12:25:10.468Z"  # day 150.51748228


def test_read_from_stream_text_and_bytes(tmp_path: Path):
    text = three_line(ISS)
    assert len(read_tle(io.StringIO(text))) == 1
    assert len(read_tle(io.BytesIO(text.encode()))) == 1
    assert len(read_tle(text)) == 1  # a str with a newline is TLE text
    p = tmp_path / "one.tle"
    p.write_text(text)
    assert read_tle(str(p), name="custom").source == "custom"


# ---- Alpha-5 -------------------------------------------------------------------------------------
def test_alpha5_codes():
    assert alpha5_decode("A0000") == 100_000
    assert alpha5_decode("E8493") == 148_493
    assert alpha5_decode("Z9999") == 339_999
    assert alpha5_decode("    5") == 5
    for n in (0, 5, 99_999, 100_000, 148_493, 182_345, 339_999):
        assert alpha5_decode(alpha5_encode(n)) == n
    assert alpha5_encode(182_345) == "J2345"  # I is skipped: H=17, J=18
    with pytest.raises(UsageError):
        alpha5_encode(340_000)


def test_alpha5_records_load_and_round_trip():
    l1 = edit(SL[1], 3, "A0000")
    l2 = edit(SL[2], 3, "A0000")
    es = parse_tle_text(f"X\n{l1}\n{l2}\n")
    assert es.norad_ids.tolist() == [100_000]
    assert es.satrecs[0].satnum == 100_000
    out = io.StringIO()
    write_tle(es, out)
    assert out.getvalue() == f"X\n{l1}\n{l2}\n"


def test_catalog_numbers_beyond_tle_point_to_omm():
    es = parse_tle_text(three_line(ISS))
    big = type(es)(**{**es.__dict__, "norad_ids": np.array([340_000]), "_cache": {}})
    with pytest.raises(UsageError, match="OMM") as info:
        write_tle(big, io.StringIO())
    assert "340000" in str(info.value) and "write_omm" in str(info.value)


# ---- errors --------------------------------------------------------------------------------------
def test_checksum_error_names_file_line_values_and_the_lenient_way(tmp_path: Path):
    records = [(f"SAT {k}", edit(SL[1], 3, f"{40000 + k:05d}"), edit(SL[2], 3, f"{40000 + k:05d}"))
               for k in range(20)]
    bad = records[7][1]
    wrong = (int(bad[68]) + 3) % 10
    records[7] = (records[7][0], bad[:68] + str(wrong), records[7][2])
    path = tmp_path / "starlink.tle"
    path.write_text(three_line(*records))
    with pytest.raises(InputError) as info:
        read_tle(path)
    err = info.value
    assert (err.source, err.line, err.field) == ("starlink.tle", 7 * 3 + 2, "checksum")
    text = str(err)
    assert text.startswith(f"starlink.tle line 23, checksum: {wrong} does not match the "
                           f"computed {bad[68]} (line: '1 40007U")
    assert "Re-download the file" in text
    assert "--skip-invalid" in text and "errors='skip'" in text
    assert "the other 19 element sets and list the rejected one" in text


def test_skip_mode_lists_every_rejection_and_keeps_the_rest(shared_data):
    lines = (shared_data / "tle" / "celestrak_starlink_2026-05-30.tle").read_text().splitlines()
    damaged = {1: "checksum", 3002: "inclination", 6004: "line length"}
    for idx, kind in damaged.items():
        ln = lines[idx]
        if kind == "checksum":
            lines[idx] = ln[:68] + str((int(ln[68]) + 1) % 10)
        elif kind == "inclination":
            assert ln[0] == "2"
            lines[idx] = edit(ln, 9, "190.0000")
        else:
            lines[idx] = ln[:60]
    es = parse_tle_text("\n".join(lines), source="starlink.tle", errors="skip")
    assert len(es) == 10_395 - 3
    assert [(r.line, r.field) for r in es.rejections] == [
        (2, "checksum"), (3003, "inclination"), (6005, "line length")]
    assert "190.0000" in es.rejections[1].reason
    with pytest.raises(InputError, match="other 10,392 element sets and list the 3 rejected"):
        parse_tle_text("\n".join(lines), source="starlink.tle")


@pytest.mark.parametrize(("col", "text", "field", "needle"), [
    (9, "1x1.6337", "inclination", "degrees as ddd.dddd"),
    (9, "180.0001", "inclination", "0 <= degrees <= 180"),
    (18, "360.5000", "right ascension of the ascending node", "out of range"),
    (27, "00a7245", "eccentricity", "7 digits"),
    (53, "-5.49496548", "mean motion", "revolutions per day"),
    (53, " 0.00000000", "mean motion", "above 0"),
    (8, "x", "column 8", "blank"),
])
def test_line2_field_errors_name_the_field(col, text, field, needle):
    with pytest.raises(InputError) as info:
        parse_tle_text(three_line((ISS[0], ISS[1], edit(ISS[2], col, text))), source="f.tle")
    assert info.value.field == field and info.value.line == 3
    assert needle in info.value.message


@pytest.mark.parametrize(("col", "text", "field"), [
    (3, "2554X", "catalog number"),
    (3, "I0000", "catalog number"),   # I is not an Alpha-5 letter
    (8, "X", "classification"),
    (19, "2x", "epoch year"),
    (21, "367.00000000", "epoch day"),
    (21, "000.50000000", "epoch day"),
    (34, " 0.0001177", "ndot"),
    (45, " 0000a+0", "nddot"),
    (54, " 2176 -3", "bstar"),
    (54, "21767-30", "bstar"),
    (63, "x", "ephemeris type"),
])
def test_line1_field_errors_name_the_field(col, text, field):
    with pytest.raises(InputError) as info:
        parse_tle_text(three_line((ISS[0], edit(ISS[1], col, text), ISS[2])), source="f.tle")
    assert (info.value.field, info.value.line) == (field, 2)


def test_leap_year_day_366_is_valid_only_in_leap_years():
    leap = edit(ISS[1], 19, "24366.50000000")
    assert parse_tle_text(three_line((ISS[0], leap, ISS[2]))).epochs[0].iso("s") == \
        "2024-12-31T12:00:00Z"
    with pytest.raises(InputError, match="1 <= day < 366 in 2026"):
        parse_tle_text(three_line((ISS[0], edit(ISS[1], 19, "26366.50000000"), ISS[2])))


def test_mismatched_catalog_numbers():
    with pytest.raises(InputError, match="differs from line 1") as info:
        parse_tle_text(three_line((ISS[0], ISS[1], edit(ISS[2], 3, "25545"))))
    assert info.value.line == 3


@pytest.mark.parametrize(("text", "line", "needle"), [
    (f"{ISS[0]}\n{ISS[1]}\n{SL[0]}\n{SL[1]}\n{SL[2]}\n", 1, "not followed by its line 2"),
    (f"{ISS[2]}\n{SL[1]}\n{SL[2]}\n", 1, "has no line 1"),
    (f"just a name\n{SL[0]}\n{SL[1]}\n{SL[2]}\n", 1, "expected a satellite name"),
    (f"{SL[1]}\n{SL[2]}\n{ISS[1]}\n", 3, "not followed by its line 2"),
])
def test_broken_record_structure(text, line, needle):
    with pytest.raises(InputError, match=needle) as info:
        parse_tle_text(text)
    assert info.value.line == line
    skipped = parse_tle_text(text, errors="skip")
    assert len(skipped.rejections) == 1 and len(skipped) == 1


def test_nothing_loadable_is_an_error_even_when_skipping():
    with pytest.raises(InputError, match="No record in this input could be loaded"):
        parse_tle_text(f"{ISS[0]}\n{ISS[1][:50]}\n{ISS[2]}\n", errors="skip")
    with pytest.raises(UsageError):
        parse_tle_text(three_line(ISS), errors="ignore")  # type: ignore[arg-type]


# ---- duplicates ----------------------------------------------------------------------------------
def test_duplicate_catalog_numbers_keep_the_newest_epoch():
    older = (ISS[0] + " OLD", edit(ISS[1], 19, "26149.00000000"), ISS[2])
    newer = (ISS[0] + " NEW", edit(ISS[1], 19, "26151.00000000"), ISS[2])
    es = parse_tle_text(three_line(older, SL, newer, ISS))
    assert es.names.tolist() == ["STARLINK-1008", "ISS (ZARYA) NEW"]
    assert es.notes == ("1 duplicate catalog number: kept the newest epoch of each, dropped 2 "
                        "older records (25544)",)
    tie = parse_tle_text(three_line(ISS, (ISS[0] + " LATER", ISS[1], ISS[2])))
    assert tie.names.tolist() == ["ISS (ZARYA) LATER"]


# ---- writing precision ---------------------------------------------------------------------------
def test_write_read_round_trip_to_format_precision():
    es = parse_tle_text(three_line(ISS, SL))
    sat = Satrec()
    sat.sgp4init(WGS72, "i", 12345, 27000.123456789, -3.3e-5, 1.2e-9, -4.5e-14, 0.123456789,
                 1.0, 0.9, 2.0, 0.0601, 3.0)
    sat.jdsatepoch, sat.jdsatepochF = 2460000.5, 0.123456789
    synthetic = type(es).from_satrecs([sat], names=["SYN"], intl_designators=["2020-001AB"])
    out = io.StringIO()
    write_tle(synthetic, out)
    back = parse_tle_text(out.getvalue())
    a, b = sat, back.satrecs[0]
    assert back.intl_designators[0] == "2020-001AB"
    assert abs(a.ecco - b.ecco) <= 0.5e-7
    for attr in ("inclo", "nodeo", "argpo", "mo"):
        assert abs(getattr(a, attr) - getattr(b, attr)) <= math.radians(0.5e-4) * 1.0001
    assert abs(a.no_kozai - b.no_kozai) * 1440 / (2 * math.pi) <= 0.5e-8 * 1.0001
    assert abs(a.bstar - b.bstar) <= abs(a.bstar) * 1e-5
    assert abs(int(synthetic.epochs[0]) - int(back.epochs[0])) <= 432_000 + 1  # 0.5e-8 day
    out2 = io.StringIO()
    write_tle(back, out2)
    assert out2.getvalue() == out.getvalue()  # a second round trip is exact


def test_two_line_output_and_file_destination(tmp_path: Path):
    es = parse_tle_text(three_line(ISS))
    write_tle(es, tmp_path / "x.tle", three_line=False)
    assert (tmp_path / "x.tle").read_text() == f"{ISS[1]}\n{ISS[2]}\n"
