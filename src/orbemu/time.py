"""Time: UTC instants as int64 nanoseconds since the POSIX epoch, scalar or array.

One type for every instant in orbemu. Inside the library a time is never a string or a naive
``datetime``; strings are parsed at the edges with :meth:`Time.parse` and written with
:meth:`Time.iso`.

Representation
--------------
``Time.ns`` is an int64 array (0-d for a scalar) of nanoseconds since 1970-01-01T00:00:00 UTC,
counted as POSIX does: every UTC day has exactly 86,400 s, so a leap second (23:59:60) cannot be
represented and differences across a leap second are one second short. The int64 range covers
1678–2262.

Conversions and their accuracy
------------------------------
- ``jd_utc()``: the (whole, fraction) Julian-date pair SGP4 takes (TLE epochs are UTC, per
  AIAA 2006-6753). Exact to float64 rounding of the fraction (~10 µs / 2^52 of a day ≈ 20 ps).
- ``tai_minus_utc_s()``, ``tt_jd()``: from the IERS leap-second table shipped in
  ``orbemu/data/eop.npz``; exact for dates from 1972 to the table's end (leap seconds announced up
  to the build date). TT = TAI + 32.184 s exactly.
- ``ut1_jd()``, ``dut1_s()``: UT1 − UTC from the IERS daily ΔT = TT − UT1 series (Skyfield's
  bundled table, Bulletin A values plus predictions, linearly interpolated on the TT grid exactly
  as Skyfield does). Inside the measured range its error is the IERS value's, ≲ 0.1 ms; in the
  prediction range it grows to a few ms after a year. Outside the table the nearest value is held
  (UT1 − UTC stays within ±0.9 s by definition) and :func:`eop_coverage` tells where that starts.
- ``polar_motion_rad()``: IERS x, y from finals2000A (observed + predicted), interpolated linearly;
  held constant beyond the table. Omitting it entirely would move an ITRF position by ≲ 15 m at LEO.
"""

from __future__ import annotations

import datetime as _dt
import functools
import importlib.resources
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, overload

import numpy as np
import numpy.typing as npt

from orbemu.constants import ARCSEC, JD_UNIX_EPOCH, NS_PER_DAY, NS_PER_S, TT_MINUS_TAI_S
from orbemu.errors import InputError, UsageError
from orbemu.units import parse_duration_ns

__all__ = ["Time", "eop_coverage"]

_ISO = re.compile(
    r"\s*(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})"
    r"(?:[Tt ](?P<h>\d{2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<frac>\d{1,9}))?)?)?"
    r"(?P<tz>[Zz]|[+-]\d{2}:?\d{2})?\s*"
)
_ISO_HELP = "Use ISO 8601 UTC, e.g. 2026-05-30T12:00:00Z (date alone means midnight UTC)"


def _parse_one_iso_ns(text: str, field: str) -> int:
    match = _ISO.fullmatch(text)
    if not match:
        raise InputError(f"cannot read time {text!r}", field=field, fix=_ISO_HELP)
    g = match.groupdict()
    try:
        date = _dt.date(int(g["y"]), int(g["mo"]), int(g["d"]))
    except ValueError as exc:
        raise InputError(f"invalid date in {text!r}: {exc}", field=field, fix=_ISO_HELP) from None
    hour, minute = int(g["h"] or 0), int(g["mi"] or 0)
    second = int(g["s"] or 0)
    if hour > 23 or minute > 59 or second > 59:
        raise InputError(
            f"invalid time of day in {text!r} (leap second 23:59:60 is not representable)",
            field=field,
            fix=_ISO_HELP,
        )
    frac_ns = int((g["frac"] or "").ljust(9, "0")) if g["frac"] else 0
    days = (date - _dt.date(1970, 1, 1)).days
    ns = days * NS_PER_DAY + ((hour * 60 + minute) * 60 + second) * NS_PER_S + frac_ns
    tz = g["tz"]
    if tz and tz not in ("Z", "z"):
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        offset_min = int(digits[:2]) * 60 + int(digits[2:])
        ns -= sign * offset_min * 60 * NS_PER_S
    return ns


class Time:
    """UTC instants: int64 nanoseconds since 1970-01-01T00:00:00 UTC (POSIX count).

    Build one with :meth:`parse`, :meth:`range`, :meth:`from_datetime`, :meth:`from_jd` or
    directly from integer nanoseconds: ``Time(1_780_000_000 * 10**9)``. Instances are immutable;
    arithmetic with integer nanoseconds returns a new ``Time``.
    """

    __slots__ = ("_ns",)
    _ns: npt.NDArray[np.int64]

    def __init__(self, ns: Any) -> None:
        if isinstance(ns, Time):
            arr = ns._ns
        else:
            arr = np.asarray(ns)
            if arr.dtype.kind == "f":
                raise UsageError(
                    "Time needs integer nanoseconds, got floats; use Time.from_jd() for Julian "
                    "dates or round explicitly"
                )
            if arr.dtype.kind not in "iu":
                raise UsageError(f"Time needs integer nanoseconds, got dtype {arr.dtype}")
            arr = arr.astype(np.int64, copy=True)
        arr.setflags(write=False)
        self._ns = arr

    # ---- construction ----------------------------------------------------------------------
    @classmethod
    def parse(cls, text: str | Sequence[str], *, field: str = "time") -> Time:
        """Parse ISO 8601 text (or a sequence of them). A missing zone means UTC."""
        if isinstance(text, str):
            return cls(np.int64(_parse_one_iso_ns(text, field)))
        return cls(np.array([_parse_one_iso_ns(t, field) for t in text], dtype=np.int64))

    @classmethod
    def from_datetime(cls, value: _dt.datetime) -> Time:
        """From a timezone-aware ``datetime`` (naive ones are refused: their zone is unknown)."""
        if value.tzinfo is None:
            raise UsageError(
                f"naive datetime {value!r} has no time zone; pass tzinfo=datetime.timezone.utc"
            )
        delta = value - _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)
        ns = (delta.days * 86_400 + delta.seconds) * NS_PER_S + delta.microseconds * 1000
        return cls(np.int64(ns))

    @classmethod
    def from_jd(cls, jd: Any, fraction: Any = 0.0) -> Time:
        """From a UTC Julian date, optionally split as (whole, fraction) for precision."""
        jd = np.asarray(jd, dtype=np.float64)
        fraction = np.asarray(fraction, dtype=np.float64)
        whole = np.floor(jd - JD_UNIX_EPOCH)
        rest = (jd - JD_UNIX_EPOCH - whole) + fraction
        ns = whole.astype(np.int64) * NS_PER_DAY + np.round(rest * NS_PER_DAY).astype(np.int64)
        return cls(ns)

    @classmethod
    def from_datetime64(cls, value: Any) -> Time:
        return cls(np.asarray(value, dtype="datetime64[ns]").astype(np.int64))

    @classmethod
    def range(
        cls,
        start: Time | str,
        duration: int | str,
        step: int | str,
        *,
        endpoint: bool = True,
    ) -> Time:
        """Evenly spaced instants ``start, start+step, ...`` covering ``duration``.

        ``duration`` and ``step`` are int nanoseconds or strings such as ``"90m"``. With
        ``endpoint=True`` (default) the last instant is ``start + duration`` when the step divides
        the duration exactly; otherwise the last instant is the last one not past the end.
        """
        start_t = cls.parse(start, field="start") if isinstance(start, str) else start
        if start_t.ndim != 0:
            raise UsageError("Time.range needs a scalar start")
        duration_ns = parse_duration_ns(duration, field="duration")
        step_ns = parse_duration_ns(step, field="step")
        if step_ns <= 0:
            raise InputError("step must be positive", field="step", fix="e.g. --step 60s")
        n = duration_ns // step_ns + (1 if endpoint else 0)
        if not endpoint and duration_ns % step_ns:
            n += 1
        n = max(int(n), 1)
        return cls(int(start_t.ns) + np.arange(n, dtype=np.int64) * step_ns)

    # ---- array protocol -----------------------------------------------------------------------
    @property
    def ns(self) -> npt.NDArray[np.int64]:
        """The int64 nanoseconds (read-only array; 0-d for a scalar)."""
        return self._ns

    @property
    def shape(self) -> tuple[int, ...]:
        return self._ns.shape

    @property
    def ndim(self) -> int:
        return self._ns.ndim

    @property
    def size(self) -> int:
        return int(self._ns.size)

    def __len__(self) -> int:
        if self._ns.ndim == 0:
            raise TypeError("len() of a scalar Time")
        return len(self._ns)

    def __getitem__(self, key: Any) -> Time:
        return Time(self._ns[key])

    def __iter__(self) -> Iterator[Time]:
        if self._ns.ndim == 0:
            raise TypeError("iteration over a scalar Time")
        return (Time(v) for v in self._ns)

    def __int__(self) -> int:
        if self._ns.ndim != 0 and self._ns.size != 1:
            raise TypeError("only a single instant converts to int")
        return int(self._ns.reshape(()))

    @overload
    def __add__(self, other: int) -> Time: ...
    @overload
    def __add__(self, other: npt.NDArray[np.integer[Any]]) -> Time: ...
    def __add__(self, other: Any) -> Time:
        if isinstance(other, Time):
            raise UsageError("cannot add two instants; add a duration in int nanoseconds")
        if isinstance(other, str):
            other = parse_duration_ns(other)
        return Time(self._ns + np.asarray(other, dtype=np.int64))

    __radd__ = __add__

    def __sub__(self, other: Any) -> Any:
        """``Time - Time`` gives int64 ns; ``Time - ns`` gives a ``Time``."""
        if isinstance(other, Time):
            return self._ns - other._ns
        if isinstance(other, str):
            other = parse_duration_ns(other)
        return Time(self._ns - np.asarray(other, dtype=np.int64))

    def __eq__(self, other: object) -> Any:
        if not isinstance(other, Time):
            return NotImplemented
        return np.array_equal(self._ns, other._ns)

    def __hash__(self) -> int:
        return hash(self._ns.tobytes())

    def __repr__(self) -> str:
        if self._ns.ndim == 0:
            return f"Time('{self.iso(precision='ns')}')"
        if self._ns.size <= 4:
            return f"Time({list(self.iso(precision='ns'))})"
        first, last = self[0].iso(precision="ns"), self[-1].iso(precision="ns")
        return f"Time(<{self._ns.size} instants {first} .. {last}>)"

    # ---- text -----------------------------------------------------------------------------------
    def iso(self, precision: str = "ms") -> Any:
        """ISO 8601 UTC text with ``Z``; ``precision`` is 's', 'ms', 'us' or 'ns' (truncated).

        Returns a ``str`` for a scalar, an array of ``str`` otherwise.
        """
        if precision not in ("s", "ms", "us", "ns"):
            raise UsageError(f"precision must be s, ms, us or ns, got {precision!r}")
        stamps: Any = self._ns.astype("datetime64[ns]")
        unit: Any = precision
        text = np.datetime_as_string(stamps, unit=unit)
        text = np.char.add(text, "Z")
        return str(text) if self._ns.ndim == 0 else text

    def to_datetime(self) -> _dt.datetime:
        """A timezone-aware UTC ``datetime`` (microsecond precision; scalar only)."""
        ns = int(self)
        return _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC) + _dt.timedelta(
            microseconds=ns // 1000
        )

    def datetime64(self) -> npt.NDArray[np.datetime64]:
        return self._ns.astype("datetime64[ns]")

    # ---- time scales -----------------------------------------------------------------------------
    def jd_utc(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """UTC Julian date as a (whole, fraction) pair, the form SGP4 takes.

        ``whole`` ends in .5 (the midnight before), ``fraction`` is in [0, 1).
        """
        return _jd_pair(self._ns)

    def tai_minus_utc_s(self) -> npt.NDArray[np.float64]:
        """TAI − UTC in seconds (an integer count of leap seconds + 10 since 1972)."""
        return _eop().tai_minus_utc_s(self._ns)

    def tt_jd(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Terrestrial Time Julian date pair (whole, fraction)."""
        offset_ns = np.round((self.tai_minus_utc_s() + TT_MINUS_TAI_S) * NS_PER_S).astype(np.int64)
        return _jd_pair(self._ns + offset_ns)

    def dut1_s(self) -> npt.NDArray[np.float64]:
        """UT1 − UTC in seconds, from the bundled IERS table (see module docstring)."""
        return _eop().dut1_s(self._ns)

    def ut1_jd(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """UT1 Julian date pair (whole, fraction), for Earth rotation angles."""
        return _jd_pair(self._ns + np.round(self.dut1_s() * NS_PER_S).astype(np.int64))

    def polar_motion_rad(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """IERS polar motion (x_p, y_p) in radians."""
        return _eop().polar_motion_rad(self._ns)


def _jd_pair(ns: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    days, rem = np.divmod(ns, NS_PER_DAY)
    return JD_UNIX_EPOCH + days.astype(np.float64), rem.astype(np.float64) / NS_PER_DAY


# ---- Earth orientation data ----------------------------------------------------------------------


@dataclass(frozen=True)
class _EarthOrientation:
    leap_utc_ns: npt.NDArray[np.int64]
    tai_minus_utc: npt.NDArray[np.float64]
    tt_ns: npt.NDArray[np.float64]  # TT grid as float ns since 1970 (TT) — ΔT varies slowly
    tt_minus_ut1_s: npt.NDArray[np.float64]
    pm_utc_ns: npt.NDArray[np.float64]
    pm_x_rad: npt.NDArray[np.float64]
    pm_y_rad: npt.NDArray[np.float64]
    source: str

    def tai_minus_utc_s(self, ns: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        idx = np.searchsorted(self.leap_utc_ns, ns, side="right")
        # Before the first entry (1972-07-01) TAI − UTC was 10 s from 1972-01-01.
        table = np.concatenate([[10.0], self.tai_minus_utc])
        return table[idx]

    def dut1_s(self, ns: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        tai_utc = self.tai_minus_utc_s(ns)
        tt_ns = ns.astype(np.float64) + (tai_utc + TT_MINUS_TAI_S) * NS_PER_S
        delta_t = np.interp(tt_ns, self.tt_ns, self.tt_minus_ut1_s)
        return TT_MINUS_TAI_S + tai_utc - delta_t

    def polar_motion_rad(
        self, ns: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        x = np.asarray(ns, dtype=np.float64)
        return (np.interp(x, self.pm_utc_ns, self.pm_x_rad),
                np.interp(x, self.pm_utc_ns, self.pm_y_rad))


@functools.cache
def _eop() -> _EarthOrientation:
    with importlib.resources.as_file(
        importlib.resources.files("orbemu.data") / "eop.npz"
    ) as path, np.load(path) as z:
        tt_ns = (z["tt_jd"] - JD_UNIX_EPOCH) * NS_PER_DAY
        leap_ns = np.round((z["leap_utc_jd"] - JD_UNIX_EPOCH) * NS_PER_DAY).astype(np.int64)
        pm_ns = (z["pm_utc_mjd"] + 2_400_000.5 - JD_UNIX_EPOCH) * NS_PER_DAY
        return _EarthOrientation(
            leap_utc_ns=leap_ns,
            tai_minus_utc=z["tai_minus_utc_s"].astype(np.float64),
            tt_ns=tt_ns,
            tt_minus_ut1_s=z["tt_minus_ut1_s"].astype(np.float64),
            pm_utc_ns=pm_ns,
            pm_x_rad=z["pm_x_arcsec"] * ARCSEC,
            pm_y_rad=z["pm_y_arcsec"] * ARCSEC,
            source=str(z["source"]),
        )


@dataclass(frozen=True)
class EopCoverage:
    """Where the bundled Earth-orientation data ends (beyond it values are held constant)."""

    ut1_until: Time
    polar_motion_until: Time
    last_leap_second: Time
    source: str


def eop_coverage() -> EopCoverage:
    """The span of the bundled IERS data, for summaries and accuracy notes."""
    eop = _eop()
    return EopCoverage(
        ut1_until=Time(np.int64(eop.tt_ns[-1] - 69.184 * NS_PER_S)),
        polar_motion_until=Time(np.int64(eop.pm_utc_ns[-1])),
        last_leap_second=Time(eop.leap_utc_ns[-1]),
        source=eop.source,
    )
