"""load_elements: bundled names, format detection from content, compression, unusable input."""

from __future__ import annotations

import gzip
import lzma
import shutil
from pathlib import Path

import numpy as np
import pytest

import orbemu
from orbemu import DataError, InputError, UsageError
from orbemu.io.elements import detect_elements_format, load_elements, parse_elements_text
from orbemu.io.omm import format_omm
from orbemu.io.tle import read_tle, write_tle

from .test_tle import edit

ISS = ("ISS (ZARYA)\n"
       "1 25544U 98067A   26150.51748228  .00011776  00000+0  21767-3 0  9998\n"
       "2 25544  51.6337  27.5746 0007245 114.7080 245.4664 15.49496548569014\n")


def test_bundled_starlink_is_the_celestrak_file(shared_data):
    bundled = load_elements("starlink")
    shared = read_tle(shared_data / "tle" / "celestrak_starlink_2026-05-30.tle")
    assert len(bundled) == 10_395 and bundled.source == "starlink"
    assert np.array_equal(bundled.norad_ids, shared.norad_ids)
    assert np.array_equal(bundled.epochs.ns, shared.epochs.ns)
    assert all(a.no_kozai == b.no_kozai for a, b in zip(bundled.satrecs, shared.satrecs,
                                                        strict=True))


def test_bundled_sets_without_shared_data():
    """The bundled copies are checked without the shared folder (they ship in the wheel)."""
    starlink = orbemu.load_elements("starlink")
    assert len(starlink) == 10_395 and starlink.rejections == ()
    assert starlink.names[0] == "STARLINK-1008"
    omm = load_elements("starlink-2025-omm")
    assert len(omm) == 7_483
    assert load_elements("Iridium-NEXT").source == "iridium-next"  # names are case-insensitive


def test_unknown_names_list_bundled_sets_and_close_matches():
    with pytest.raises(DataError) as info:
        load_elements("starlnk")
    text = str(info.value)
    assert "'starlink'" in text and "Did you mean" in text
    assert "oneweb" in text and "iridium-next" in text and "Bundled:" in text
    with pytest.raises(DataError, match="neither a file nor a bundled element set"):
        load_elements("no/such/file.tle")
    with pytest.raises(DataError):
        load_elements("ksat")  # a ground list, not an element set


@pytest.mark.parametrize("fmt", ["xml", "kvn", "json", "csv"])
def test_format_detected_from_content_not_extension(tmp_path: Path, fmt):
    es = parse_elements_text(ISS)
    path = tmp_path / "misleading.tle"  # the extension lies
    path.write_text(format_omm(es, fmt))
    assert detect_elements_format(path.read_text()) == fmt
    loaded = load_elements(path)
    assert loaded.norad_ids.tolist() == [25544]
    assert load_elements(str(path), format=fmt).norad_ids.tolist() == [25544]


def test_tle_detected_with_leading_blank_lines_and_names(tmp_path: Path):
    path = tmp_path / "data.json"
    path.write_text("\n\n" + ISS)
    assert detect_elements_format(path.read_text()) == "tle"
    assert len(load_elements(path)) == 1


def test_compressed_files_by_magic_bytes(tmp_path: Path, shared_data):
    src = shared_data / "tle" / "celestrak_oneweb_2026-05-30.tle"
    gz = tmp_path / "oneweb.tle.gz"
    xz = tmp_path / "oneweb.xz"
    hidden = tmp_path / "oneweb.txt"  # gzip content without a telling name
    gz.write_bytes(gzip.compress(src.read_bytes()))
    xz.write_bytes(lzma.compress(src.read_bytes()))
    shutil.copy(gz, hidden)
    for path in (gz, xz, hidden):
        assert len(load_elements(path)) == 651
    damaged = tmp_path / "damaged.gz"
    damaged.write_bytes(gz.read_bytes()[:2000])
    with pytest.raises(InputError, match="compressed data is damaged"):
        load_elements(damaged)


def test_empty_binary_and_non_text_files(tmp_path: Path):
    empty = tmp_path / "empty.tle"
    empty.write_text("  \n\n")
    with pytest.raises(InputError, match="empty"):
        load_elements(empty)
    binary = tmp_path / "garbage.tle"
    binary.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(InputError, match="binary file"):
        load_elements(binary)
    latin = tmp_path / "latin.tle"
    latin.write_bytes("CAFÉ\n".encode("latin-1") + ISS.encode())
    with pytest.raises(InputError, match="not UTF-8") as info:
        load_elements(latin)
    assert info.value.line == 1
    prose = tmp_path / "readme.txt"
    prose.write_text("These are not orbital elements.\n")
    with pytest.raises(InputError, match="cannot tell the format") as info:
        load_elements(prose)
    assert "readme.txt line 1" in str(info.value)
    with pytest.raises(InputError, match="is a directory"):
        load_elements(Path(tmp_path))
    with pytest.raises(InputError, match="no such file"):
        load_elements(tmp_path / "missing.tle")


def test_arguments_are_checked():
    with pytest.raises(UsageError):
        load_elements("starlink", errors="lenient")  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        load_elements("starlink", format="yaml")  # type: ignore[arg-type]


def test_skip_mode_through_load_elements(tmp_path: Path):
    name, l1, l2 = ISS.splitlines()
    other = f"OTHER\n{edit(l1, 3, '25545')}\n{edit(l2, 3, '25545')}\n"
    bad = f"{name}\n{l1[:68]}7\n{l2}\n"
    path = tmp_path / "two.tle"
    path.write_text(bad + other)
    es = load_elements(path, errors="skip")
    assert es.norad_ids.tolist() == [25545]
    assert len(es.rejections) == 1 and es.rejections[0].field == "checksum"
    assert str(es.rejections[0]).startswith("two.tle line 2, checksum: 7 does not match")


def test_written_tle_loads_back(tmp_path: Path):
    es = load_elements("gps")
    write_tle(es, tmp_path / "gps.tle")
    back = load_elements(tmp_path / "gps.tle")
    assert np.array_equal(back.norad_ids, es.norad_ids)
