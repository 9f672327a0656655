"""Durations and distances as users type them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orbemu import InputError, parse_distance_m, parse_duration_ns
from orbemu.units import format_duration_ns

from .conftest import ONE_SECOND_NS


@pytest.mark.parametrize(
    ("text", "ns"),
    [("100ms", 100_000_000), ("90s", 90 * ONE_SECOND_NS), ("15m", 900 * ONE_SECOND_NS),
     ("6h", 6 * 3600 * ONE_SECOND_NS), ("7d", 7 * 86400 * ONE_SECOND_NS),
     ("1h30m", 5400 * ONE_SECOND_NS), ("01:30", 5400 * ONE_SECOND_NS),
     ("00:00:01.5", 1_500_000_000), ("1.5s", 1_500_000_000), (" 2 h ", 7200 * ONE_SECOND_NS)],
)
def test_durations(text, ns):
    assert parse_duration_ns(text) == ns


@pytest.mark.parametrize("bad", ["", "90", "ten seconds", "-5s", "5 parsecs", "1.5", "3x"])
def test_bad_durations_say_what_is_accepted(bad):
    with pytest.raises(InputError) as info:
        parse_duration_ns(bad, field="--step")
    msg = str(info.value)
    assert "--step" in msg
    assert bad.strip() == "" or repr(bad) in msg or bad in msg


@given(st.integers(min_value=0, max_value=10**17))
def test_format_then_parse_is_identity(ns):
    assert parse_duration_ns(format_duration_ns(ns)) == ns


def test_distances():
    assert parse_distance_m("1089.686km") == pytest.approx(1_089_686.0)
    assert parse_distance_m("5016591m") == 5_016_591.0
    for bad in ("5016591", "12 miles", "-3km", ""):
        with pytest.raises(InputError):
            parse_distance_m(bad, field="--max-isl-range")
