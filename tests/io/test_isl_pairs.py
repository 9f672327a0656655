"""ISL pair files: good files, and line-precise errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from orbemu.errors import InputError
from orbemu.io.isl_pairs import load_isl_pairs, parse_isl_pairs


def test_reads_spaces_commas_comments(tmp_path):
    path = tmp_path / "isls.txt"
    path.write_text("# Hypatia style\n0 1\n1,2\n\n2\t3\n")
    pairs = load_isl_pairs(path, n_sats=4)
    assert pairs.tolist() == [[0, 1], [1, 2], [2, 3]]
    assert parse_isl_pairs("").shape == (0, 2)


@pytest.mark.parametrize(("text", "line", "words"), [
    ("0 1\n1 2 3\n", 2, "found 3"),
    ("0 1\n\n1 x\n", 3, "'x' is not"),
    ("0 -1\n", 1, "'-1' is not"),
    ("0 1\n5 2\n", 2, "outside 0..3"),
    ("2 2\n", 1, "itself"),
    ("0 1\n1 0\n", 2, "listed again (first on line 1)"),
])
def test_errors_name_the_line(text, line, words):
    with pytest.raises(InputError) as info:
        parse_isl_pairs(text, "isls.txt", n_sats=4)
    assert info.value.line == line and info.value.source == "isls.txt"
    assert words in str(info.value)


@given(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 50)), max_size=30))
def test_round_trip(pairs):
    unique = {}
    for a, b in pairs:
        if a != b and (min(a, b), max(a, b)) not in unique:
            unique[(min(a, b), max(a, b))] = (a, b)
    rows = list(unique.values())
    text = "\n".join(f"{a} {b}" for a, b in rows)
    got = parse_isl_pairs(text, n_sats=51)
    assert got.tolist() == [list(r) for r in rows]
    assert got.dtype == np.int64
