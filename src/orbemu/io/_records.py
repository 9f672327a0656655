"""What the element-set readers share: assembling an ElementSet, duplicates, raising or skipping.

Readers parse every record, collecting an :class:`~orbemu.errors.InputError` per bad record.
:func:`finish` then either raises the first one (``errors="raise"``), with a fix that says how
many other records would load leniently, or returns the good ones with a
:class:`~orbemu.errors.Rejection` per bad one (``errors="skip"``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sgp4.api import Satrec

from orbemu.constants import JD_UNIX_EPOCH, NS_PER_DAY
from orbemu.errors import ErrorMode, InputError, UsageError
from orbemu.io._source import SKIP_HINT
from orbemu.orbits.elements import ElementSet
from orbemu.time import Time

__all__ = ["ParsedElements", "check_errors_mode", "finish", "intl_from_tle", "intl_to_tle"]

#: SGP4 initialisation error codes (python-sgp4 / Vallado), for the note on failing records.
SGP4_ERRORS = {
    1: "mean eccentricity out of range",
    2: "mean motion below zero",
    3: "perturbed eccentricity out of range",
    4: "semi-latus rectum below zero",
    6: "orbit has decayed",
}


def check_errors_mode(errors: str) -> None:
    if errors not in ("raise", "skip"):
        raise UsageError(f"errors must be 'raise' or 'skip', got {errors!r}")


def intl_from_tle(text: str) -> str:
    """TLE international designator ``98067A`` → ``1998-067A`` (``""`` when blank or odd)."""
    text = text.strip()
    if len(text) < 5 or not text[:5].isdigit():
        return text
    yy = int(text[:2])
    year = 1900 + yy if yy >= 57 else 2000 + yy
    return f"{year}-{text[2:5]}{text[5:]}"


def intl_to_tle(text: str) -> str:
    """``1998-067A`` → ``98067A`` (TLE columns 10-17); TLE-style input is returned as is."""
    text = (text or "").strip()
    if len(text) >= 8 and text[4] == "-" and text[:4].isdigit():
        return text[2:4] + text[5:]
    return text


def epoch_ns_from_satrecs(satrecs: Sequence[Satrec]) -> np.ndarray:
    jd = np.fromiter((s.jdsatepoch for s in satrecs), dtype=np.float64, count=len(satrecs))
    fr = np.fromiter((s.jdsatepochF for s in satrecs), dtype=np.float64, count=len(satrecs))
    return np.atleast_1d(Time.from_jd(jd, fr).ns)


def set_satrec_epoch(sat: Satrec, epoch_ns: int) -> None:
    """Give ``sat`` the exact (whole JD at midnight, fraction) epoch pair of ``epoch_ns``."""
    days, rest = divmod(epoch_ns, NS_PER_DAY)
    sat.jdsatepoch = JD_UNIX_EPOCH + days
    sat.jdsatepochF = rest / NS_PER_DAY


@dataclass
class ParsedElements:
    """What a reader collected: good records (in file order) and problems."""

    source: str
    satrecs: list[Satrec] = field(default_factory=list)
    norad_ids: list[int] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    intl: list[str] = field(default_factory=list)
    epoch_ns: list[int] | None = None  # None: take the epochs from the SGP4 records
    problems: list[InputError] = field(default_factory=list)
    what: str = "records"

    def add(self, sat: Satrec, norad_id: int, name: str, intl: str) -> None:
        self.satrecs.append(sat)
        self.norad_ids.append(norad_id)
        self.names.append(name)
        self.intl.append(intl)


def _with_skip_hint(err: InputError, n_good: int, n_bad: int, what: str) -> InputError:
    if n_good == 0:
        hint = "No record in this input could be loaded: check that it is the file you meant"
    else:
        others = (f"the other {what.removesuffix('s')}" if n_good == 1
                  else f"the other {n_good:,} {what}")
        rejected = ("list the rejected one" if n_bad == 1
                    else f"list the {n_bad:,} rejected ones")
        hint = f"or {SKIP_HINT} to load {others} and {rejected}"
    fix = err.fix.rstrip(".") + ", " + hint if err.fix else hint[0].upper() + hint[1:]
    if n_good == 0 and err.fix:
        fix = err.fix.rstrip(".") + ". " + hint
    return type(err)(err.message, source=err.source, line=err.line, record=err.record,
                     field=err.field, text=err.text, fix=fix)


def finish(parsed: ParsedElements, errors: ErrorMode) -> ElementSet:
    """Raise or skip problems, resolve duplicate catalog numbers, build the ElementSet."""
    n_good, n_bad = len(parsed.satrecs), len(parsed.problems)
    if n_bad and (errors == "raise" or n_good == 0):
        raise _with_skip_hint(parsed.problems[0], n_good, n_bad, parsed.what) from None
    if n_good == 0:
        raise InputError(f"no {parsed.what} found", source=parsed.source,
                         fix="Check that this is an element-set file (TLE or CCSDS OMM)")
    ids = np.asarray(parsed.norad_ids, dtype=np.int64)
    if parsed.epoch_ns is None:
        epochs = epoch_ns_from_satrecs(parsed.satrecs)
    else:
        epochs = np.asarray(parsed.epoch_ns, dtype=np.int64)
    notes: list[str] = []
    keep = _newest_of_duplicates(ids, epochs)
    if keep is not None:
        values, counts = np.unique(ids, return_counts=True)
        dropped_ids = values[counts > 1].tolist()
        n_dup = len(dropped_ids)
        shown = ", ".join(str(i) for i in dropped_ids[:10]) + (", ..." if n_dup > 10 else "")
        n_dropped = len(ids) - len(keep)
        notes.append(f"{n_dup} duplicate catalog number{'s' if n_dup != 1 else ''}: kept the "
                     f"newest epoch of each, dropped {n_dropped} older record"
                     f"{'s' if n_dropped != 1 else ''} ({shown})")
    else:
        keep = np.arange(len(ids))
    sats = [parsed.satrecs[i] for i in keep]
    bad = [(int(ids[i]), s.error) for i, s in zip(keep, sats, strict=True) if s.error]
    if bad:
        kinds = sorted({SGP4_ERRORS.get(code, f"error {code}") for _, code in bad})
        shown = ", ".join(str(i) for i, _ in bad[:10]) + (", ..." if len(bad) > 10 else "")
        one = len(bad) == 1
        notes.append(f"{len(bad)} element set{'' if one else 's'} fail{'s' if one else ''} SGP4 "
                     f"at {'its' if one else 'their'} own epoch ({'; '.join(kinds)}): {shown}; "
                     f"{'its positions' if one else 'their positions'} will be NaN")
    names = np.empty(len(keep), dtype=object)
    names[:] = [parsed.names[i] for i in keep]
    intl = np.empty(len(keep), dtype=object)
    intl[:] = [parsed.intl[i] for i in keep]
    n = len(keep)
    return ElementSet(
        satrecs=tuple(sats),
        norad_ids=ids[keep],
        names=names,
        epochs=Time(epochs[keep]),
        plane=np.full(n, -1, np.int32),
        slot=np.full(n, -1, np.int32),
        intl_designators=intl,
        source=parsed.source,
        rejections=tuple(p.as_rejection() for p in parsed.problems),
        notes=tuple(notes),
    )


def _newest_of_duplicates(ids: np.ndarray, epochs: np.ndarray) -> np.ndarray | None:
    """Indices to keep (file order) when ids repeat: the newest epoch, the later one on a tie."""
    uniq = np.unique(ids)
    if len(uniq) == len(ids):
        return None
    order = np.lexsort((np.arange(len(ids)), epochs, ids))  # by id, then epoch, then position
    sorted_ids = ids[order]
    last_of_group = np.ones(len(ids), dtype=bool)
    last_of_group[:-1] = sorted_ids[:-1] != sorted_ids[1:]
    return np.sort(order[last_of_group])
