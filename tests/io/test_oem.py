"""CCSDS OEM 2.0 KVN: write → read round trip, layout, failed samples, line-precise errors."""

from __future__ import annotations

import numpy as np
import pytest

from orbemu import InputError, Time
from orbemu.io.oem import read_oem, write_oem
from tests.conftest import ONE_MILLIMETRE

from .conftest import with_failures

CREATED = Time.parse("2026-06-01T00:00:00Z")


def test_round_trip_within_a_millimetre(tmp_path, elements, ephemeris):
    path = tmp_path / "x.oem"
    result = write_oem(ephemeris, path, object_ids=list(elements.intl_designators),
                       creation_date=CREATED)
    assert (result.segments, result.data_lines, result.omitted) == (3, 3 * 96, ())
    oem = read_oem(path)
    back = oem.to_ephemeris()
    assert back.frame == "TEME"
    assert np.array_equal(back.times.ns, ephemeris.times.ns)
    assert back.norad_ids.tolist() == [25544, 48274, 19548]
    assert back.names.tolist() == ["ISS (ZARYA)", "CSS (TIANHE)", "TDRS 3"]
    assert np.max(np.abs(back.position_m - ephemeris.position_m)) < ONE_MILLIMETRE
    assert np.max(np.abs(back.velocity_m_s - ephemeris.velocity_m_s)) < 1e-6
    itrf = ephemeris.to_itrf()
    write_oem(itrf, tmp_path / "i.oem", creation_date=CREATED)
    back = read_oem(tmp_path / "i.oem").to_ephemeris()
    assert back.frame == "ITRF"
    assert np.max(np.abs(back.position_m - itrf.position_m)) < ONE_MILLIMETRE


def test_layout_follows_the_standard(tmp_path, elements, ephemeris):
    path = tmp_path / "x.oem"
    write_oem(ephemeris, path, object_ids=list(elements.intl_designators), creation_date=CREATED)
    lines = path.read_text().splitlines()
    assert lines[0] == "CCSDS_OEM_VERS = 2.0"
    assert "CREATION_DATE = 2026-06-01T00:00:00.000000" in lines
    assert "ORIGINATOR = ORBEMU" in lines
    seg = read_oem(path).segments[0]
    assert seg.metadata == {
        "OBJECT_NAME": "ISS (ZARYA)", "OBJECT_ID": "1998-067A", "CENTER_NAME": "EARTH",
        "REF_FRAME": "TEME", "TIME_SYSTEM": "UTC",
        "START_TIME": "2026-05-30T12:00:00.000000", "STOP_TIME": "2026-05-30T13:35:00.000000"}
    first_data = lines[lines.index("META_STOP") + 2]
    epoch, *numbers = first_data.split()
    assert epoch == "2026-05-30T12:00:00.000000"
    assert len(numbers) == 6
    # km and km/s: the ISS is ~6,800 km from the centre and moves at ~7.7 km/s
    r_km = np.linalg.norm([float(x) for x in numbers[:3]])
    v_km_s = np.linalg.norm([float(x) for x in numbers[3:]])
    assert 6_700 < r_km < 6_850 and 7.5 < v_km_s < 7.8


def test_failed_samples_are_omitted_and_said(tmp_path, ephemeris):
    eph = with_failures(ephemeris, [(0, 0), (0, 1)] + [(2, j) for j in range(96)])
    path = tmp_path / "f.oem"
    result = write_oem(eph, path, creation_date=CREATED)
    assert result.segments == 2 and result.omitted == ("TDRS 3 (19548)",)
    oem = read_oem(path)
    seg = oem.segments[0]
    assert seg.times.size == ephemeris.n_times - 2
    assert seg.metadata["START_TIME"] == "2026-05-30T12:02:00.000000"
    assert any("2 of 96 samples omitted" in c for c in seg.comments)
    assert any("TDRS 3 (19548)" in c for c in oem.comments)
    with pytest.raises(InputError, match="different epochs"):
        oem.to_ephemeris()

    # streamed blocks: the file cannot say it, the result does
    result = write_oem(iter([eph]), tmp_path / "s.oem", creation_date=CREATED)
    assert result.omitted == ("TDRS 3 (19548)",)
    assert not any("TDRS" in c for c in read_oem(tmp_path / "s.oem").comments)


OEM_TEXT = """\
CCSDS_OEM_VERS = 2.0
CREATION_DATE = 2026-06-01T00:00:00
ORIGINATOR = TEST

META_START
OBJECT_NAME = SAT
OBJECT_ID = 2020-001A
CENTER_NAME = EARTH
REF_FRAME = ITRF
TIME_SYSTEM = UTC
START_TIME = 2026-06-01T00:00:00
STOP_TIME = 2026-06-01T00:01:00
META_STOP
COMMENT data follows
2026-06-01T00:00:00 7000 0 0 0 7.5 0
2026-06-01T00:01:00 6999 450 0 -0.05 7.5 0 0 0 0
COVARIANCE_START
EPOCH = 2026-06-01T00:00:00
1.0
COVARIANCE_STOP
"""


def test_reads_accelerations_comments_and_covariance(tmp_path):
    path = tmp_path / "ok.oem"
    path.write_text(OEM_TEXT)
    oem = read_oem(path)
    (seg,) = oem.segments
    assert seg.norad_id == -1 and seg.object_id == "2020-001A"
    assert seg.position_m.tolist() == [[7e6, 0, 0], [6.999e6, 4.5e5, 0]]
    assert seg.velocity_m_s[1].tolist() == [-50.0, 7500.0, 0.0]
    assert seg.comments == ("data follows",)


@pytest.mark.parametrize(("old", "new", "line", "match"), [
    ("CCSDS_OEM_VERS = 2.0", "<?xml version='1.0'?>", 1, "must start with"),
    ("2026-06-01T00:01:00 6999 450", "2026-06-01T00:01:00 6999 x", 16, "'x' is not a number"),
    ("2026-06-01T00:00:00 7000 0 0 0 7.5 0", "2026-06-01T00:00:00 7000 0 0 0 7.5", 15,
     "6 \\(or 9\\) numbers"),
    ("2026-06-01T00:01:00 6999", "2026-05-01T00:01:00 6999", 16, "increase"),
    ("2026-06-01T00:01:00 6999", "2026-06-31T00:01:00 6999", 16, "invalid date"),
])
def test_malformed_lines_are_named(tmp_path, old, new, line, match):
    path = tmp_path / "bad.oem"
    assert old in OEM_TEXT
    path.write_text(OEM_TEXT.replace(old, new))
    with pytest.raises(InputError, match=match) as info:
        read_oem(path)
    assert info.value.line == line
    assert info.value.source == str(path)
    assert f"line {line}" in str(info.value)


def test_missing_metadata_and_blocks(tmp_path):
    path = tmp_path / "bad.oem"
    path.write_text(OEM_TEXT.replace("REF_FRAME = ITRF\n", ""))
    with pytest.raises(InputError, match="no REF_FRAME") as info:
        read_oem(path)
    assert info.value.line == 5
    path.write_text(OEM_TEXT.split("META_STOP")[0])
    with pytest.raises(InputError, match="without META_STOP"):
        read_oem(path)
    path.write_text(OEM_TEXT.replace("ORIGINATOR = TEST\n", ""))
    with pytest.raises(InputError, match="ORIGINATOR"):
        read_oem(path)
    with pytest.raises(InputError, match="not found"):
        read_oem(tmp_path / "missing.oem")
