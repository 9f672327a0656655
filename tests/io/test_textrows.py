"""The numba row formatter against its plain-Python reference."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from orbemu.io.textrows import (
    encode_fixed_width,
    encode_prefixes,
    format_rows,
    format_rows_reference,
)

finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False)
values_or_nan = st.one_of(finite, st.just(float("nan")), st.just(float("inf")),
                          st.just(-0.0), st.just(0.0005), st.just(-0.0005))


@settings(max_examples=200, deadline=None)
@given(
    data=st.lists(values_or_nan, min_size=6, max_size=6 * 6),
    decimals=st.lists(st.integers(0, 9), min_size=2, max_size=2),
    ok_bits=st.integers(0, 2**6 - 1),
    skip=st.booleans(),
    sep=st.sampled_from([",", " "]),
)
def test_kernel_equals_reference(data, decimals, ok_bits, skip, sep):
    k = 2
    n_values = len(data) // (3 * k) * 3 * k
    if n_values == 0:
        return
    values = np.array(data[:n_values]).reshape(-1, 3, k)  # (n_sats, 3 instants, 2 columns)
    n = values.shape[0]
    ok = np.array([(ok_bits >> (b % 6)) & 1 for b in range(n * 3)], bool).reshape(n, 3)
    times = ["2026-05-30T12:00:00.000Z", "2026-05-30T12:01:00.000Z", "2026-05-30T12:02:00.000Z"]
    prefixes = [f",{i},SAT \"{i}\"" for i in range(n)]
    dec = np.array(decimals)
    factor = 10.0 ** dec
    fast = format_rows(encode_fixed_width(times), encode_prefixes(prefixes), values, ok, factor,
                       dec, sep=sep, skip_failed=skip)
    slow = format_rows_reference(times, prefixes, values, ok, factor, dec, sep=sep,
                                 skip_failed=skip)
    assert fast == slow


def test_values_read_back_within_half_a_unit():
    rng = np.random.default_rng(1)
    values = rng.uniform(-7e6, 7e6, size=(50, 4, 1))
    ok = np.ones((50, 4), bool)
    text = format_rows(encode_fixed_width(["T"] * 4), encode_prefixes([""] * 50), values, ok,
                       [1000.0], [3]).decode()
    back = np.array([float(line.split(",")[1]) for line in text.splitlines()])
    assert np.max(np.abs(back - values.reshape(-1))) <= 0.0005 + 1e-9


def test_failed_samples_are_empty_fields_or_skipped():
    values = np.array([[[1.5, -2.25], [np.nan, np.nan]]])
    ok = np.array([[True, False]])
    t = encode_fixed_width(["A", "B"])
    pre = encode_prefixes([",7"])
    assert format_rows(t, pre, values, ok, [10.0, 100.0], [1, 2]) == b"A,7,1.5,-2.25\nB,7,,\n"
    assert format_rows(t, pre, values, ok, [10.0, 100.0], [1, 2], skip_failed=True) == \
        b"A,7,1.5,-2.25\n"


def test_small_negative_values_keep_their_sign_and_zero_has_none():
    values = np.array([[[-0.0004], [-0.0006], [0.0]]])
    text = format_rows(encode_fixed_width(["a", "b", "c"]), encode_prefixes([""]), values,
                       np.ones((1, 3), bool), [1000.0], [3])
    assert text == b"a,0.000\nb,-0.001\nc,0.000\n"


def test_fixed_width_refuses_ragged_text():
    import pytest

    with pytest.raises(ValueError, match="one length"):
        encode_fixed_width(["ab", "abc"])
