"""Two-line element sets (TLE, 2-line and 3-line "3LE"): reading with column checks, and writing.

Reading
-------
:func:`read_tle` / :func:`parse_tle_text` accept 2-line sets and 3-line sets (a name line before
each pair, with or without CelesTrak's ``"0 "`` prefix), CRLF or LF line ends, blank lines and
trailing whitespace. Every line is checked column by column against the fixed TLE layout
(NORAD/AFSPC format, as CelesTrak documents it) *before* python-sgp4's ``Satrec.twoline2rv``
builds the record, because ``twoline2rv`` itself accepts garbage silently (it returns NaN
elements). Each check names the field and its columns, so an error reads::

    starlink.tle line 1043, checksum: 7 does not match the computed 4 (line: '1 44713U ...').
    Re-download the file, or load with errors='skip' (CLI: --skip-invalid) to load the other
    10,394 element sets and list the rejected one.

Alpha-5 catalog numbers (``A0000`` = 100000 ... ``Z9999`` = 339999; letters I and O unused) are
read and written. Catalog numbers above 339999 have no TLE form: such objects exist only as OMM
(:mod:`orbemu.io.omm`).

When the same catalog number appears more than once, the record with the newest epoch is kept
(the later one in the file on a tie) and ``ElementSet.notes`` says which numbers were affected.

Writing
-------
:func:`write_tle` formats lines from the SGP4 records themselves (Kozai mean elements, epoch,
BSTAR, ndot, nddot) with correct columns and mod-10 checksums; reading the output back gives
the same elements to the precision of the format (1e-4 degree, 1e-7 eccentricity, 1e-8 rev/day,
1e-8 day of epoch ≈ 0.9 ms, 5 significant digits of BSTAR).
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import numpy as np
from sgp4.api import Satrec

from orbemu.constants import NS_PER_DAY
from orbemu.errors import ErrorMode, InputError, UsageError
from orbemu.io._records import ParsedElements, check_errors_mode, finish, intl_from_tle, intl_to_tle
from orbemu.io._source import read_text
from orbemu.orbits.elements import ElementSet

__all__ = [
    "MAX_TLE_CATALOG_NUMBER",
    "alpha5_decode",
    "alpha5_encode",
    "format_tle",
    "parse_tle_text",
    "read_tle",
    "tle_checksum",
    "write_tle",
]

#: The largest catalog number a TLE can carry (Alpha-5 ``Z9999``).
MAX_TLE_CATALOG_NUMBER = 339_999

#: Alpha-5 letters: A-Z without I and O (they look like 1 and 0), worth 10..33.
_ALPHA5 = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_ALPHA5_VALUE = {c: 10 + i for i, c in enumerate(_ALPHA5)}

_LINE_LENGTH = 69
_XPDOTP = 1440.0 / (2.0 * math.pi)  # rev/day per rad/min
_SEP = "a blank"

# The fixed layout, one entry per field: (name, first column, last column (1-based, inclusive),
# regular expression, rule shown to the user). Separators are fields named "" (must be blank).
# The same table drives the fast whole-line regex and the per-field diagnosis.
_CATNUM = r"[ \d]{4}\d|[A-HJ-NP-Z]\d{4}"
_EXP = r"[ +-]\d{5}[ +-]\d"
_EXP_RULE = "sign, 5 digits and a signed exponent digit, e.g. ' 15180-3' (= 0.15180e-3)"
_ANGLE = r"[ \d]{2}\d\.\d{4}"
_LINE1 = (
    ("line number", 1, 1, "1", "'1'"),
    ("", 2, 2, " ", _SEP),
    ("catalog number", 3, 7, _CATNUM,
     "5 digits, or Alpha-5: a letter (A-Z without I, O) and 4 digits"),
    ("classification", 8, 8, "[UCS ]", "U, C or S"),
    ("", 9, 9, " ", _SEP),
    ("international designator", 10, 17, "[0-9A-Z ]{8}", "digits, capital letters or blanks"),
    ("", 18, 18, " ", _SEP),
    ("epoch year", 19, 20, r"\d\d", "two digits"),
    ("epoch day", 21, 32, r"[ \d]{2}\d\.\d{8}", "day of year as ddd.dddddddd"),
    ("", 33, 33, " ", _SEP),
    ("ndot", 34, 43, r"[ +-]\.\d{8}", "sign and '.' with 8 digits, e.g. ' .00012345'"),
    ("", 44, 44, " ", _SEP),
    ("nddot", 45, 52, _EXP, _EXP_RULE),
    ("", 53, 53, " ", _SEP),
    ("bstar", 54, 61, _EXP, _EXP_RULE),
    ("", 62, 62, " ", _SEP),
    ("ephemeris type", 63, 63, r"[\d ]", "one digit"),
    ("", 64, 64, " ", _SEP),
    ("element set number", 65, 68, r"[ \d]{4}", "up to 4 digits"),
    ("checksum", 69, 69, r"\d", "one digit"),
)
_LINE2 = (
    ("line number", 1, 1, "2", "'2'"),
    ("", 2, 2, " ", _SEP),
    ("catalog number", 3, 7, _CATNUM,
     "5 digits, or Alpha-5: a letter (A-Z without I, O) and 4 digits"),
    ("", 8, 8, " ", _SEP),
    ("inclination", 9, 16, _ANGLE, "degrees as ddd.dddd"),
    ("", 17, 17, " ", _SEP),
    ("right ascension of the ascending node", 18, 25, _ANGLE, "degrees as ddd.dddd"),
    ("", 26, 26, " ", _SEP),
    ("eccentricity", 27, 33, r"[\d ]{7}", "7 digits after an implied '0.'"),
    ("", 34, 34, " ", _SEP),
    ("argument of perigee", 35, 42, _ANGLE, "degrees as ddd.dddd"),
    ("", 43, 43, " ", _SEP),
    ("mean anomaly", 44, 51, _ANGLE, "degrees as ddd.dddd"),
    ("", 52, 52, " ", _SEP),
    ("mean motion", 53, 63, r"[ \d]\d\.\d{8}", "revolutions per day as dd.dddddddd"),
    ("revolution number", 64, 68, r"[ \d]{5}", "up to 5 digits"),
    ("checksum", 69, 69, r"\d", "one digit"),
)


def _whole_line_regex(layout: tuple[tuple[str, int, int, str, str], ...]) -> re.Pattern[str]:
    return re.compile("".join(f"(?:{pattern})" for _, _, _, pattern, _ in layout))


_FAST1 = _whole_line_regex(_LINE1)
_FAST2 = _whole_line_regex(_LINE2)
_FIELD_RE = {(layout[0][3], name, a): re.compile(pattern) for layout in (_LINE1, _LINE2)
             for name, a, _, pattern, _ in layout}

_CHECKSUM_MAP = bytes.maketrans(b"-", b"1")
_CHECKSUM_DROP = bytes(b for b in range(256) if not (48 <= b <= 57 or b == 45))

_LAYOUT_FIX = ("A TLE line has fixed columns (69 characters); check that the file was not "
               "edited, re-wrapped or converted")


# ---- small public helpers ------------------------------------------------------------------------
def tle_checksum(line: str) -> int:
    """The mod-10 checksum of the first 68 columns: digits count their value, '-' counts 1."""
    # In C: keep digits and '-', map '-' to '1', sum the byte values, remove the '0' offsets.
    kept = line[:68].encode("ascii", "replace").translate(_CHECKSUM_MAP, _CHECKSUM_DROP)
    return (sum(kept) - 48 * len(kept)) % 10


def alpha5_decode(text: str) -> int:
    """``"44713"`` → 44713, ``"A0000"`` → 100000, ``"Z9999"`` → 339999 (no validation)."""
    text = text.strip()
    if text and text[0] in _ALPHA5_VALUE:
        return _ALPHA5_VALUE[text[0]] * 10_000 + int(text[1:])
    return int(text)


def alpha5_encode(number: int) -> str:
    """Catalog number → 5 TLE columns; Alpha-5 from 100000 to 339999."""
    if not 0 <= number <= MAX_TLE_CATALOG_NUMBER:
        raise UsageError(f"catalog number {number} has no TLE form (0..{MAX_TLE_CATALOG_NUMBER})")
    if number < 100_000:
        return f"{number:05d}"
    lead, rest = divmod(number, 10_000)
    return f"{_ALPHA5[lead - 10]}{rest:04d}"


# ---- reading -------------------------------------------------------------------------------------
def read_tle(
    source: str | Path | IO[str] | IO[bytes],
    *,
    errors: ErrorMode = "raise",
    name: str | None = None,
) -> ElementSet:
    """Read a TLE file (2- or 3-line sets; may be gzip/xz compressed).

    ``source`` is a path, an open text/binary stream, or TLE text itself (a ``str`` containing a
    newline). ``name`` is the source name used in messages and ``ElementSet.source`` (default:
    the file's base name). With ``errors="skip"`` bad records are left out and listed in
    ``ElementSet.rejections``; with ``"raise"`` the first one raises :class:`InputError`.
    """
    check_errors_mode(errors)
    if isinstance(source, str) and "\n" in source:
        return parse_tle_text(source, source=name or "<string>", errors=errors)
    src = read_text(source, name)
    return parse_tle_text(src.text, source=src.name, errors=errors)


def parse_tle_text(text: str, source: str = "<string>", *, errors: ErrorMode = "raise"
                   ) -> ElementSet:
    """Parse TLE text; ``source`` names it in messages. See :func:`read_tle`."""
    check_errors_mode(errors)
    parsed = ParsedElements(source=source, what="element sets")
    for rec in _records(text, source):
        if isinstance(rec, InputError):
            parsed.problems.append(rec)
            continue
        sat_name, (n1, l1), (n2, l2) = rec
        try:
            sat, norad = _build(l1, n1, l2, n2, source)
        except InputError as exc:
            parsed.problems.append(exc)
            continue
        parsed.add(sat, norad, sat_name or f"SAT-{norad}", intl_from_tle(l1[9:17]))
    return finish(parsed, errors)


_Line = tuple[int, str]


def _records(text: str, source: str) -> Iterator[tuple[str, _Line, _Line] | InputError]:
    """Group non-blank lines into (name, line 1, line 2); a broken group yields an error."""
    lines = [(i, ln) for i, raw in enumerate(text.split("\n"), start=1)
             if (ln := raw.rstrip())]
    n = len(lines)
    k = 0

    def is1(j: int) -> bool:
        return j < n and lines[j][1].startswith("1 ")

    def is2(j: int) -> bool:
        return j < n and lines[j][1].startswith("2 ")

    while k < n:
        if is1(k) and is2(k + 1):
            yield "", lines[k], lines[k + 1]
            k += 2
        elif is1(k + 1) and is2(k + 2) and not _looks_like_tle_line(lines[k][1]):
            name = lines[k][1].strip()
            if name.startswith("0 "):
                name = name[2:].strip()
            yield name, lines[k + 1], lines[k + 2]
            k += 3
        else:
            lineno, ln = lines[k]
            if is1(k):
                msg, field = "TLE line 1 is not followed by its line 2", "line 2"
                used = 1
            elif is2(k):
                msg, field = "TLE line 2 has no line 1 before it", "line 1"
                used = 1
            elif is1(k + 1):
                msg, field = "TLE line 1 after this name is not followed by its line 2", "line 2"
                used = 2
            else:
                msg = "expected a satellite name followed by TLE lines 1 and 2, or a line 1"
                field, used = None, 1
            yield InputError(msg, source=source, line=lineno, field=field, text=ln,
                             fix="Each satellite needs an optional name line, then a line "
                                 "starting '1 ' and a line starting '2 '")
            k += used


def _looks_like_tle_line(line: str) -> bool:
    """A stray line 1 or 2 (not a name line), even if damaged: '1 '/'2 ' and TLE-long."""
    return line.startswith(("1 ", "2 ")) and len(line) >= 60


def _diagnose(line: str, lineno: int, layout: tuple[tuple[str, int, int, str, str], ...],
              source: str) -> InputError:
    """The first column-layout problem of a line that failed the fast regex."""
    if len(line) != _LINE_LENGTH:
        return InputError(f"the line has {len(line)} characters; a TLE line has {_LINE_LENGTH}",
                          source=source, line=lineno, field="line length", text=line,
                          fix=_LAYOUT_FIX)
    for name, a, b, _, rule in layout:
        value = line[a - 1:b]
        if not _FIELD_RE[(layout[0][3], name, a)].fullmatch(value):
            what = name or f"column {a}"
            return InputError(f"{value!r} in columns {a}-{b} is not {rule}" if a != b else
                              f"{value!r} in column {a} is not {rule}",
                              source=source, line=lineno, field=what, text=line,
                              fix=_LAYOUT_FIX)
    return InputError("the line does not match the TLE layout", source=source, line=lineno,
                      text=line, fix=_LAYOUT_FIX)  # pragma: no cover (fields cover the regex)


def _range_error(value: str, name: str, cols: str, rule: str, lineno: int, line: str,
                 source: str) -> InputError:
    return InputError(f"{value.strip()!r} (columns {cols}) is out of range: {rule}",
                      source=source, line=lineno, field=name, text=line,
                      fix="Re-download the file; the element set is not valid")


def _build(l1: str, n1: int, l2: str, n2: int, source: str) -> tuple[Satrec, int]:
    """Validate both lines, then build the SGP4 record."""
    for line, lineno, fast, layout in ((l1, n1, _FAST1, _LINE1), (l2, n2, _FAST2, _LINE2)):
        if len(line) != _LINE_LENGTH or not fast.fullmatch(line):
            raise _diagnose(line, lineno, layout, source)
        expected = tle_checksum(line)
        if int(line[68]) != expected:
            raise InputError(f"{line[68]} does not match the computed {expected}",
                             source=source, line=lineno, field="checksum", text=line,
                             fix="Re-download the file (a digit was changed in transit or by "
                                 "hand)")
    norad = alpha5_decode(l1[2:7])
    if alpha5_decode(l2[2:7]) != norad:
        raise InputError(f"catalog number {l2[2:7].strip()!r} differs from line 1's "
                         f"{l1[2:7].strip()!r}", source=source, line=n2,
                         field="catalog number", text=l2,
                         fix="Lines 1 and 2 of one satellite must carry the same number")
    yy = int(l1[18:20])
    year = 1900 + yy if yy >= 57 else 2000 + yy
    days_in_year = 366 if (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)) else 365
    day = float(l1[20:32])
    if not 1.0 <= day < days_in_year + 1:
        raise _range_error(l1[20:32], "epoch day", "21-32",
                           f"1 <= day < {days_in_year + 1} in {year}", n1, l1, source)
    for name, a, b, top in (("inclination", 9, 16, 180.0),
                            ("right ascension of the ascending node", 18, 25, 360.0),
                            ("argument of perigee", 35, 42, 360.0),
                            ("mean anomaly", 44, 51, 360.0)):
        if float(l2[a - 1:b]) > top:
            raise _range_error(l2[a - 1:b], name, f"{a}-{b}", f"0 <= degrees <= {top:g}",
                               n2, l2, source)
    if float(l2[52:63]) <= 0.0:
        raise _range_error(l2[52:63], "mean motion", "53-63", "must be above 0 rev/day",
                           n2, l2, source)
    sat = Satrec.twoline2rv(l1, l2)
    return sat, norad


# ---- writing -------------------------------------------------------------------------------------
def _exp_field(value: float, name: str) -> str:
    """A value as the TLE's implied-decimal exponent form ``±ddddd±e`` (= ±0.ddddd × 10^±e)."""
    if not math.isfinite(value):
        raise UsageError(f"{name} {value} cannot be written to a TLE")
    if value == 0.0:
        return " 00000+0"
    mantissa, exponent = f"{abs(value):.4e}".split("e")
    digits = mantissa.replace(".", "")
    exp = int(exponent) + 1
    if exp > 9:
        raise UsageError(f"{name} {value} is too large for a TLE (|value| < 1e9)")
    if exp < -9:
        return " 00000+0"
    sign = "-" if value < 0 else " "
    return f"{sign}{digits}{'-' if exp < 0 else '+'}{abs(exp)}"


def _epoch_field(epoch_ns: int) -> str:
    """``yyddd.dddddddd`` from POSIX ns, rounded to 1e-8 day (864 µs) exactly in integers."""
    units_per_day = 10**8
    ns_per_unit = NS_PER_DAY // units_per_day  # 864_000
    day0 = epoch_ns // NS_PER_DAY
    date = _dt.date(1970, 1, 1) + _dt.timedelta(days=int(day0))
    year = date.year
    jan1_ns = (_dt.date(year, 1, 1) - _dt.date(1970, 1, 1)).days * NS_PER_DAY
    units = (epoch_ns - jan1_ns + ns_per_unit // 2) // ns_per_unit
    days_in_year = (_dt.date(year + 1, 1, 1) - _dt.date(year, 1, 1)).days
    if units >= days_in_year * units_per_day:
        units -= days_in_year * units_per_day
        year += 1
    if not 1957 <= year <= 2056:
        raise UsageError(f"epoch year {year} has no two-digit TLE form (1957..2056)")
    whole, frac = divmod(units, units_per_day)
    return f"{year % 100:02d}{whole + 1:03d}.{frac:08d}"


def _angle_field(rad: float, name: str, top: float) -> str:
    deg = math.degrees(rad)
    text = f"{deg:8.4f}"
    if not (0.0 <= float(text) <= top) or len(text) != 8:
        raise UsageError(f"{name} {deg} degrees cannot be written to a TLE (0..{top:g})")
    return text


def format_tle(sat: Satrec, norad_id: int, epoch_ns: int, intl_designator: str = ""
               ) -> tuple[str, str]:
    """TLE lines 1 and 2 for one SGP4 record (``norad_id`` and ``epoch_ns`` are authoritative:
    OMM-built records keep satnum 0 and an approximate epoch pair)."""
    if not 0 <= norad_id <= MAX_TLE_CATALOG_NUMBER:
        raise UsageError(f"catalog number {norad_id} has no TLE form: TLEs end at "
                         f"{MAX_TLE_CATALOG_NUMBER} (Alpha-5 Z9999); write OMM instead "
                         "(orbemu.io.omm.write_omm)")
    cat = alpha5_encode(norad_id)
    classification = (getattr(sat, "classification", "U") or "U").strip()[:1] or "U"
    intl = intl_to_tle(intl_designator)[:8]
    ndot = sat.ndot * _XPDOTP * 1440.0
    ndot_text = f"{abs(ndot):.8f}"
    if not math.isfinite(ndot) or float(ndot_text) >= 1.0:
        raise UsageError(f"ndot {ndot} rev/day² cannot be written to a TLE (|ndot| < 1)")
    ndot_text = ("-" if ndot < 0 and float(ndot_text) != 0 else " ") + ndot_text[1:]
    nddot = sat.nddot * _XPDOTP * 1440.0 * 1440.0
    ephtype = int(getattr(sat, "ephtype", 0) or 0) % 10
    elnum = int(getattr(sat, "elnum", 0) or 0) % 10_000
    line1 = (f"1 {cat}{classification} {intl:<8} {_epoch_field(epoch_ns)} {ndot_text} "
             f"{_exp_field(nddot, 'nddot')} {_exp_field(sat.bstar, 'bstar')} {ephtype} "
             f"{elnum:4d}")
    ecc = f"{sat.ecco:.7f}"
    if not 0.0 <= sat.ecco < 1.0 or not ecc.startswith("0."):
        raise UsageError(f"eccentricity {sat.ecco} cannot be written to a TLE (0 <= e < 1)")
    mean_motion = sat.no_kozai * _XPDOTP
    mm_text = f"{mean_motion:11.8f}"
    if not 0.0 < mean_motion < 100.0 or len(mm_text) != 11:
        raise UsageError(f"mean motion {mean_motion} rev/day cannot be written to a TLE")
    revnum = int(getattr(sat, "revnum", 0) or 0) % 100_000
    line2 = (f"2 {cat} {_angle_field(sat.inclo, 'inclination', 180.0)} "
             f"{_angle_field(sat.nodeo, 'right ascension of the ascending node', 360.0)} "
             f"{ecc[2:]} {_angle_field(sat.argpo, 'argument of perigee', 360.0)} "
             f"{_angle_field(sat.mo, 'mean anomaly', 360.0)} {mm_text}{revnum:5d}")
    return line1 + str(tle_checksum(line1)), line2 + str(tle_checksum(line2))


def write_tle(elements: ElementSet, dest: str | Path | IO[str], *, three_line: bool = True
              ) -> None:
    """Write ``elements`` as TLE text (3-line sets with names by default), LF line ends.

    Raises :class:`UsageError` before writing anything if a satellite cannot be a TLE (catalog
    number above 339999: write OMM with :func:`orbemu.io.omm.write_omm` instead).
    """
    too_big = elements.norad_ids[(elements.norad_ids > MAX_TLE_CATALOG_NUMBER)
                                 | (elements.norad_ids < 0)]
    if too_big.size:
        shown = ", ".join(str(i) for i in too_big[:5]) + (", ..." if too_big.size > 5 else "")
        raise UsageError(f"{too_big.size} satellite(s) have catalog numbers above "
                         f"{MAX_TLE_CATALOG_NUMBER}, which a TLE cannot hold ({shown}); "
                         "write OMM instead: orbemu.io.omm.write_omm(elements, dest, "
                         "format='xml'|'kvn'|'json'|'csv')")
    out: list[str] = []
    epochs = np.atleast_1d(elements.epochs.ns)
    for i, sat in enumerate(elements.satrecs):
        l1, l2 = format_tle(sat, int(elements.norad_ids[i]), int(epochs[i]),
                            str(elements.intl_designators[i] or ""))
        if three_line:
            out.append(str(elements.names[i]))
        out.append(l1)
        out.append(l2)
    text = "\n".join(out) + "\n"
    if isinstance(dest, (str, Path)):
        Path(dest).write_text(text, encoding="utf-8")
    else:
        dest.write(text)
