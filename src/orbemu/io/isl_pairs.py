"""ISL pair files: which satellites are linked, one pair per line.

Format (what ``orbemu latency --isl FILE`` reads, and Hypatia's ``isls.txt``): two 0-based
satellite indices per line — positions in the elements file, in its order — separated by spaces,
a tab or a comma. Blank lines and lines starting with ``#`` are ignored. Each undirected pair may
appear once (in either order); a satellite may not link to itself.

Errors name the file, the line, the column and the value (``isls.txt line 12, column 2: ...``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import IO

import numpy as np
import numpy.typing as npt

from orbemu.errors import InputError
from orbemu.io._source import read_text

__all__ = ["load_isl_pairs", "parse_isl_pairs"]

_SPLIT = re.compile(r"[,\s]+")
_FIX = ("Write two 0-based satellite indices per line (positions in the elements file), "
        "e.g. '0 1' or '0,1'")


def parse_isl_pairs(text: str, source: str = "<string>", *,
                    n_sats: int | None = None) -> npt.NDArray[np.int64]:
    """(k, 2) int64 pairs from the text of an ISL file (see the module notes).

    ``n_sats``: when given, indices must be below it (the size of the element set).
    """
    pairs: list[tuple[int, int]] = []
    seen: dict[tuple[int, int], int] = {}
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        cells = [c for c in _SPLIT.split(line) if c]
        if len(cells) != 2:
            raise InputError(f"expected 2 satellite indices, found {len(cells)} values",
                             source=source, line=lineno, text=raw, fix=_FIX)
        values = []
        for col, cell in enumerate(cells, start=1):
            if not cell.isdigit():
                raise InputError(f"{cell!r} is not a non-negative whole number",
                                 source=source, line=lineno, field=f"column {col}", text=raw,
                                 fix=_FIX)
            value = int(cell)
            if n_sats is not None and value >= n_sats:
                raise InputError(f"satellite index {value} is outside 0..{n_sats - 1} (the "
                                 f"elements hold {n_sats} satellites)", source=source,
                                 line=lineno, field=f"column {col}", text=raw,
                                 fix="Indices are 0-based positions in the elements file")
            values.append(value)
        a, b = values
        if a == b:
            raise InputError(f"satellite {a} is linked to itself", source=source, line=lineno,
                             text=raw, fix="Remove the line")
        key = (min(a, b), max(a, b))
        if key in seen:
            raise InputError(f"the pair {key[0]}-{key[1]} is listed again (first on line "
                             f"{seen[key]})", source=source, line=lineno, text=raw,
                             fix="List each pair once")
        seen[key] = lineno
        pairs.append((a, b))
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


def load_isl_pairs(source: str | Path | IO[str] | IO[bytes], *,
                   n_sats: int | None = None) -> npt.NDArray[np.int64]:
    """Read an ISL pair file (plain or compressed); see :func:`parse_isl_pairs`."""
    src = read_text(source)
    return parse_isl_pairs(src.text, src.name, n_sats=n_sats)
