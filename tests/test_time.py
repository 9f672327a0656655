"""Time: parsing, ranges, Julian dates and time scales against Skyfield (independent reference)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from orbemu import InputError, Time, UsageError
from orbemu.time import eop_coverage

from .conftest import ONE_SECOND_NS


def test_parse_iso_forms_agree():
    base = Time.parse("2026-05-30T12:00:00Z")
    assert int(base) == 1_780_142_400 * ONE_SECOND_NS
    assert Time.parse("2026-05-30 12:00:00") == base
    assert Time.parse("2026-05-30T14:00:00+02:00") == base
    assert int(Time.parse("2026-05-30T12:00:00.123456789Z")) - int(base) == 123_456_789
    assert int(Time.parse("2026-05-30")) == int(base) - 12 * 3600 * ONE_SECOND_NS


@pytest.mark.parametrize("bad", ["2026-13-01", "2026-05-30T24:00:00Z", "yesterday", "",
                                 "2026-05-30T12:00:60Z", "2026-02-30"])
def test_parse_rejects_bad_text_with_a_clear_error(bad):
    with pytest.raises(InputError) as info:
        Time.parse(bad)
    assert "ISO 8601" in str(info.value) or "invalid" in str(info.value)


def test_iso_round_trip_and_precision():
    t = Time.parse("2026-05-30T12:34:56.789123456Z")
    assert t.iso() == "2026-05-30T12:34:56.789Z"
    assert t.iso(precision="ns") == "2026-05-30T12:34:56.789123456Z"
    assert Time.parse(t.iso(precision="ns")) == t


@given(st.integers(min_value=-(2**62), max_value=2**62))
def test_iso_round_trip_any_instant(ns):
    t = Time(ns)
    assert int(Time.parse(t.iso(precision="ns"))) == ns


def test_range_inclusive_and_exclusive():
    r = Time.range("2026-05-30T00:00:00Z", "90m", "30m")
    assert r.size == 4
    assert list(r.iso(precision="s")) == ["2026-05-30T00:00:00Z", "2026-05-30T00:30:00Z",
                                          "2026-05-30T01:00:00Z", "2026-05-30T01:30:00Z"]
    assert Time.range("2026-05-30T00:00:00Z", "90m", "30m", endpoint=False).size == 3
    assert Time.range("2026-05-30T00:00:00Z", "100m", "30m").size == 4
    with pytest.raises(InputError):
        Time.range("2026-05-30T00:00:00Z", "90m", "0s")


def test_arithmetic():
    t = Time.parse("2026-05-30T00:00:00Z")
    assert (t + "90s") - t == 90 * ONE_SECOND_NS
    assert (t + 5).iso(precision="ns").endswith("00:00:00.000000005Z")
    with pytest.raises(UsageError):
        _ = t + t
    with pytest.raises(UsageError):
        Time(np.array([1.5]))


def test_datetime_round_trip_and_naive_refused():
    d = dt.datetime(2026, 5, 30, 12, 0, 0, 250_000, tzinfo=dt.UTC)
    assert Time.from_datetime(d).to_datetime() == d
    with pytest.raises(UsageError):
        Time.from_datetime(dt.datetime(2026, 5, 30))


def test_jd_pair_matches_known_epochs():
    whole, frac = Time.parse("2000-01-01T12:00:00Z").jd_utc()
    assert whole == 2451544.5 and frac == 0.5
    t = Time.from_jd(2451545.0)
    assert t.iso() == "2000-01-01T12:00:00.000Z"


def test_leap_seconds_and_tt():
    assert Time.parse("2016-12-31T12:00:00Z").tai_minus_utc_s() == 36.0
    assert Time.parse("2017-01-01T00:00:00Z").tai_minus_utc_s() == 37.0
    assert Time.parse("1972-03-01T00:00:00Z").tai_minus_utc_s() == 10.0
    # TT - UTC = 37 + 32.184 s in 2026
    whole, frac = Time.parse("2026-05-30T12:00:00Z").tt_jd()
    utc_whole, utc_frac = Time.parse("2026-05-30T12:00:00Z").jd_utc()
    assert ((whole - utc_whole) + (frac - utc_frac)) * 86400 == pytest.approx(69.184, abs=1e-6)


def test_time_scales_match_skyfield():
    skyfield = pytest.importorskip("skyfield.api")
    ts = skyfield.load.timescale(builtin=True)
    instants = Time.range("2020-01-01T00:00:00Z", "2190d", "17d")
    # Skyfield works from a UTC calendar date; build the same instants there.
    dts = [Time(n).to_datetime() for n in instants.ns]
    sf = ts.from_datetimes(dts)
    tt_w, tt_f = instants.tt_jd()
    assert np.max(np.abs((tt_w - sf.whole) + (tt_f - sf.tt_fraction))) * 86400 < 1e-6
    # UT1-UTC: same IERS series and interpolation => agree to a microsecond.
    assert np.max(np.abs(instants.dut1_s() - sf.dut1)) < 1e-6


def test_eop_coverage_reaches_past_bundled_data():
    cov = eop_coverage()
    assert int(cov.ut1_until) > int(Time.parse("2026-09-07T00:00:00Z"))
    assert int(cov.last_leap_second) == int(Time.parse("2017-01-01T00:00:00Z"))
