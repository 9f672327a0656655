"""Loading element sets from anything a user may have: a bundled name or a file of any format.

:func:`load_elements` is the one entry point the CLI, scenarios and scripts use::

    load_elements("starlink")                  # bundled CelesTrak snapshot (see list_datasets)
    load_elements("gp.json")                   # CelesTrak OMM JSON
    load_elements("active.tle.xz")             # compressed files are read as they are
    load_elements("mixed.txt", errors="skip")  # good records load, bad ones are listed

The format is told from the content, not the file name: XML starts with ``<``, JSON with ``[`` or
``{``, OMM KVN with ``CCSDS_OMM_VERS``, OMM CSV has a header naming ``OBJECT_NAME`` or
``NORAD_CAT_ID``, TLE has lines starting ``1 `` and ``2 ``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal, get_args

from orbemu.errors import ErrorMode, InputError, UsageError
from orbemu.io._records import check_errors_mode
from orbemu.io._source import decode, read_text
from orbemu.io.catalog import dataset_bytes, get_dataset
from orbemu.io.omm import detect_omm_format, parse_omm_text
from orbemu.io.tle import parse_tle_text
from orbemu.orbits.elements import ElementSet

__all__ = ["ElementsFormat", "detect_elements_format", "load_elements", "parse_elements_text"]

ElementsFormat = Literal["tle", "xml", "kvn", "json", "csv"]
_FORMATS: tuple[str, ...] = get_args(ElementsFormat)
_TLE_LINE = re.compile(r"^[12] [ 0-9A-Z]{5}", re.MULTILINE)


def detect_elements_format(text: str) -> ElementsFormat | None:
    """The format of element-set ``text`` from its content (``None``: not one we read)."""
    omm = detect_omm_format(text)
    if omm is not None:
        return omm
    head = "\n".join(line.strip() for line in text[:4096].split("\n"))
    if _TLE_LINE.search(head):
        return "tle"
    return None


def parse_elements_text(text: str, source: str = "<string>", *, errors: ErrorMode = "raise",
                        format: ElementsFormat | None = None) -> ElementSet:
    """Parse element-set text in any supported format (detected unless ``format`` is given)."""
    check_errors_mode(errors)
    if format is not None and format not in _FORMATS:
        raise UsageError(f"format must be one of {', '.join(_FORMATS)}, got {format!r}")
    fmt = format or detect_elements_format(text)
    if fmt is None:
        first = next((ln for ln in text.split("\n") if ln.strip()), "")
        raise InputError("cannot tell the format: this is not TLE or CCSDS OMM "
                         "(XML, KVN, JSON or CSV)", source=source, line=1, text=first,
                         fix="Pass a TLE/3LE file or CelesTrak GP data (FORMAT=tle, xml, kvn, "
                             "json or csv), or force the format with format=...")
    if fmt == "tle":
        return parse_tle_text(text, source=source, errors=errors)
    return parse_omm_text(text, source=source, errors=errors, format=fmt)


def load_elements(
    source: str | Path,
    *,
    errors: ErrorMode = "raise",
    format: ElementsFormat | None = None,
) -> ElementSet:
    """Load an element set from a file path or a bundled dataset name.

    Parameters
    ----------
    source: a path (TLE/3LE, OMM XML/KVN/JSON/CSV; plain, ``.gz`` or ``.xz``), or the name of a
        bundled set (``starlink``, ``oneweb``, ... : see
        :func:`orbemu.io.catalog.list_datasets`). An existing file wins over a bundled name.
    errors: ``"raise"`` (the first bad record raises :class:`InputError`, naming file, line or
        record, field and value) or ``"skip"`` (bad records are left out and listed in
        ``ElementSet.rejections``).
    format: force ``tle``, ``xml``, ``kvn``, ``json`` or ``csv`` instead of detecting it.

    Duplicate catalog numbers keep the newest epoch; ``ElementSet.notes`` says which.
    Raises :class:`~orbemu.errors.DataError` for a name that is neither a file nor bundled.
    """
    check_errors_mode(errors)
    if format is not None and format not in _FORMATS:
        raise UsageError(f"format must be one of {', '.join(_FORMATS)}, got {format!r}")
    if isinstance(source, Path) or os.path.exists(source):
        src = read_text(source)
        return parse_elements_text(src.text, source=src.name, errors=errors, format=format)
    if not isinstance(source, str):
        raise UsageError(f"source must be a path or a dataset name, got {type(source).__name__}")
    info = get_dataset(source, "elements")
    parts = [parse_elements_text(decode(dataset_bytes(info, file), file), source=info.name,
                                 errors=errors, format=format)
             for file in info.files]
    return parts[0] if len(parts) == 1 else ElementSet.concat(parts, source=info.name)
