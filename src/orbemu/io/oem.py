"""CCSDS Orbit Ephemeris Message (OEM) 2.0, KVN text: writer and reader.

Reference: CCSDS 502.0-B-2 "Orbit Data Messages", section 5 (OEM). One file holds a header and one
*segment* per satellite; a segment is a metadata block (``META_START`` .. ``META_STOP``) followed by
data lines ``epoch x y z vx vy vz`` in **km** and **km/s** (optionally three accelerations in
km/s², which the reader accepts and ignores), and optional covariance blocks (skipped).

What the writer puts in each segment's metadata:

- ``OBJECT_NAME``: the satellite's name; ``OBJECT_ID``: its international designator when known
  (the standard's recommendation, e.g. ``1998-067A``), else the NORAD catalog number. A
  ``COMMENT NORAD_CAT_ID = 25544`` line keeps the catalog number either way, and the reader
  uses it.
- ``CENTER_NAME = EARTH``, ``REF_FRAME = TEME`` or ``ITRF`` (the ephemeris's frame),
  ``TIME_SYSTEM = UTC``, ``START_TIME``/``STOP_TIME`` (the first and last data line).

Times are written ``YYYY-MM-DDThh:mm:ss.ffffff`` (microseconds, UTC, no zone letter). Positions
are written to 1e-6 km (1 mm), velocities to 1e-9 km/s. Samples SGP4 could not compute (status
≠ 0) cannot be represented in an OEM; they are left out of the segment and a ``COMMENT`` line in
that segment's metadata says how many and why, so nothing disappears silently. A satellite with
no valid sample gets no segment; :func:`write_oem` returns those satellites, and when it is given a
single ephemeris (not a stream of blocks) it also lists them in a header ``COMMENT`` (the standard
has no place for comments after the data, so a stream cannot record them in the file).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np
import numpy.typing as npt

from orbemu.errors import InputError, UsageError
from orbemu.io.tables import _as_blocks, _open_binary
from orbemu.io.textrows import encode_fixed_width, encode_prefixes, format_rows
from orbemu.orbits.ephemeris import STATUS_MESSAGES, Ephemeris
from orbemu.time import Time

__all__ = ["OemFile", "OemSegment", "OemWriteResult", "read_oem", "write_oem"]

OEM_VERSION = "2.0"
_KM = 1e-3
_POS_DECIMALS = 6
_VEL_DECIMALS = 9
_REQUIRED_META = ("OBJECT_NAME", "OBJECT_ID", "CENTER_NAME", "REF_FRAME", "TIME_SYSTEM",
                  "START_TIME", "STOP_TIME")


def _kvn_time(times: Time) -> npt.NDArray[np.str_]:
    """OEM epochs: ISO 8601 to the microsecond, UTC, without the ``Z``."""
    return np.char.rstrip(np.asarray(times.iso("us")), "Z")


def write_oem(
    ephemeris: Ephemeris | Iterable[Ephemeris],
    dest: str | Path | IO[bytes],
    *,
    object_ids: Sequence[str] | None = None,
    originator: str = "ORBEMU",
    creation_date: Time | None = None,
    comments: Sequence[str] = (),
) -> OemWriteResult:
    """Write an OEM 2.0 KVN file with one segment per satellite.

    ``ephemeris``: one ephemeris or blocks of satellites over the same instants, in TEME or ITRF
    (positions in metres; written in km). ``object_ids``: one ``OBJECT_ID`` per satellite in order
    (international designators), ``""`` where unknown; default: the NORAD catalog numbers.
    ``creation_date``: for reproducible files; default the current time.
    Returns the number of segments and data lines written and the satellites left out.
    """
    created = creation_date if creation_date is not None else Time.from_datetime(_utc_now())
    header = [f"CCSDS_OEM_VERS = {OEM_VERSION}"]
    header += [f"COMMENT {c}" for c in comments]
    if isinstance(ephemeris, Ephemeris):
        empty = np.flatnonzero(~np.any(ephemeris.status == 0, axis=1))
        if empty.size:
            header.append("COMMENT no valid sample (SGP4 failed), no segment for: " + ", ".join(
                f"{ephemeris.names[i]} ({ephemeris.norad_ids[i]})" for i in empty))
    header += [f"CREATION_DATE = {_kvn_time(created[np.newaxis])[0]}",
               f"ORIGINATOR = {originator}", ""]
    segments = 0
    lines = 0
    offset = 0
    missing: list[str] = []
    with _open_binary(dest) as fh:
        fh.write("\n".join(header).encode() + b"\n")
        for block in _as_blocks(ephemeris):
            if block.frame not in ("TEME", "ITRF"):  # pragma: no cover - Ephemeris guarantees it
                raise UsageError(f"OEM needs TEME or ITRF states, got {block.frame}")
            kvn_times = _kvn_time(block.times)
            time_text = encode_fixed_width(kvn_times)
            values = np.concatenate([block.position_m, block.velocity_m_s], axis=-1)
            ok = block.status == 0
            factor = np.array([_KM * 10**_POS_DECIMALS] * 3 + [_KM * 10**_VEL_DECIMALS] * 3)
            decimals = np.array([_POS_DECIMALS] * 3 + [_VEL_DECIMALS] * 3)
            for i in range(block.n_sats):
                norad = int(block.norad_ids[i])
                name = str(block.names[i])
                good = np.flatnonzero(ok[i])
                if good.size == 0:
                    missing.append(f"{name} ({norad})")
                    offset += 1
                    continue
                oid = _cospar_id(object_ids[offset]) if object_ids is not None else ""
                offset += 1
                meta = ["META_START",
                        f"COMMENT NORAD_CAT_ID = {norad}"]
                n_failed = block.n_times - good.size
                if n_failed:
                    reasons = sorted({STATUS_MESSAGES.get(int(c), f"status {c}")
                                      for c in np.unique(block.status[i]) if c})
                    meta.append(f"COMMENT {n_failed} of {block.n_times} samples omitted: "
                                + "; ".join(reasons))
                meta += [f"OBJECT_NAME = {name}",
                         f"OBJECT_ID = {oid or norad}",
                         "CENTER_NAME = EARTH",
                         f"REF_FRAME = {block.frame}",
                         "TIME_SYSTEM = UTC",
                         f"START_TIME = {kvn_times[good[0]]}",
                         f"STOP_TIME = {kvn_times[good[-1]]}",
                         "META_STOP", "", ""]
                fh.write("\n".join(meta).encode())
                fh.write(format_rows(time_text, encode_prefixes([""]), values[i:i + 1],
                                     ok[i:i + 1], factor, decimals, sep=" ", skip_failed=True))
                fh.write(b"\n")
                segments += 1
                lines += int(good.size)
    return OemWriteResult(segments=segments, data_lines=lines, omitted=tuple(missing))


@dataclass(frozen=True)
class OemWriteResult:
    """What :func:`write_oem` wrote: segments, data lines, and satellites with no valid sample."""

    segments: int
    data_lines: int
    omitted: tuple[str, ...] = ()


def _cospar_id(text: str) -> str:
    """A TLE-style designator ``98067A`` in the OEM's recommended form ``1998-067A``."""
    text = str(text).strip()
    m = re.fullmatch(r"(\d{2})(\d{3})([A-Z]{1,3})", text)
    if not m:
        return text
    yy = int(m.group(1))
    year = 1900 + yy if yy >= 57 else 2000 + yy  # the TLE convention: 57-99 → 1957-1999
    return f"{year}-{m.group(2)}{m.group(3)}"


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# ---- reader ---------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class OemSegment:
    """One OEM segment: metadata and states of one object.

    ``times``: ``(n,)`` epochs (UTC); ``position_m``/``velocity_m_s``: ``(n, 3)`` in ``ref_frame``,
    metres and m/s (converted from the file's km, km/s); ``metadata``: every metadata key as text;
    ``comments``: the segment's ``COMMENT`` lines; ``line``: where its ``META_START`` is.
    """

    metadata: dict[str, str]
    times: Time
    position_m: npt.NDArray[np.float64]
    velocity_m_s: npt.NDArray[np.float64]
    comments: tuple[str, ...] = ()
    line: int = 0

    @property
    def object_name(self) -> str:
        return self.metadata["OBJECT_NAME"]

    @property
    def object_id(self) -> str:
        return self.metadata["OBJECT_ID"]

    @property
    def ref_frame(self) -> str:
        return self.metadata["REF_FRAME"]

    @property
    def norad_id(self) -> int:
        """From ``COMMENT NORAD_CAT_ID = n`` (orbemu writes it) or a numeric ``OBJECT_ID``; -1."""
        for c in self.comments:
            m = re.fullmatch(r"NORAD_CAT_ID\s*=\s*(\d+)", c.strip())
            if m:
                return int(m.group(1))
        return int(self.object_id) if self.object_id.strip().isdigit() else -1


@dataclass(frozen=True, eq=False)
class OemFile:
    """A parsed OEM: header keys, header comments and the segments in file order."""

    header: dict[str, str]
    segments: tuple[OemSegment, ...]
    comments: tuple[str, ...] = field(default=())
    source: str = ""

    def to_ephemeris(self) -> Ephemeris:
        """All segments as one :class:`Ephemeris` (they must share frame and epochs)."""
        if not self.segments:
            raise InputError("the OEM has no segment", source=self.source)
        first = self.segments[0]
        for seg in self.segments[1:]:
            if seg.ref_frame != first.ref_frame:
                raise InputError(f"segments are in different frames ({first.ref_frame}, "
                                 f"{seg.ref_frame})", source=self.source, line=seg.line,
                                 fix="Read the segments one by one from OemFile.segments")
            if seg.times.shape != first.times.shape or not np.array_equal(seg.times.ns,
                                                                          first.times.ns):
                raise InputError("segments have different epochs; an Ephemeris needs one "
                                 "time grid", source=self.source, line=seg.line,
                                 fix="Read the segments one by one from OemFile.segments")
        if first.ref_frame not in ("TEME", "ITRF"):
            raise InputError(f"REF_FRAME {first.ref_frame} is not supported by Ephemeris "
                             "(TEME or ITRF)", source=self.source, line=first.line,
                             field="REF_FRAME")
        n, t = len(self.segments), first.times.size
        names = np.empty(n, dtype=object)
        names[:] = [s.object_name for s in self.segments]
        return Ephemeris(
            times=first.times,
            position_m=np.stack([s.position_m for s in self.segments]).reshape(n, t, 3),
            velocity_m_s=np.stack([s.velocity_m_s for s in self.segments]).reshape(n, t, 3),
            frame=first.ref_frame,  # type: ignore[arg-type]
            status=np.zeros((n, t), np.int8),
            norad_ids=np.array([s.norad_id for s in self.segments], dtype=np.int64),
            names=names,
        )


_KV = re.compile(r"\s*([A-Z0-9_]+)\s*=\s*(.*?)\s*")


def _lines(source: str | Path | IO[str]) -> tuple[str, list[str]]:
    if isinstance(source, (str, Path)):
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InputError("file not found", source=str(path),
                             fix="Check the path") from None
        except UnicodeDecodeError as exc:
            raise InputError(f"not UTF-8 text ({exc.reason} at byte {exc.start})",
                             source=str(path), fix="An OEM in KVN form is plain text") from None
        return str(path), text.splitlines()
    return getattr(source, "name", "<stream>"), source.read().splitlines()


def read_oem(source: str | Path | IO[str]) -> OemFile:
    """Read an OEM 2.0 (or 1.0/3.0-compatible) KVN file.

    Raises :class:`InputError` naming the file, line and field for anything malformed: a missing
    version line, a key outside its block, a missing required metadata key, a data line that
    does not have 7 or 10 numbers, an unreadable epoch, or epochs that go backwards.
    """
    name, lines = _lines(source)
    header: dict[str, str] = {}
    header_comments: list[str] = []
    segments: list[OemSegment] = []
    i = 0
    n = len(lines)

    def err(msg: str, line_no: int, fld: str | None = None, fix: str | None = None) -> InputError:
        return InputError(msg, source=name, line=line_no, field=fld, text=lines[line_no - 1],
                          fix=fix)

    # header
    while i < n and not lines[i].strip():
        i += 1
    if i >= n:
        raise InputError("empty file: no CCSDS_OEM_VERS line", source=name,
                         fix="Is this an OEM in KVN form?")
    m = _KV.fullmatch(lines[i])
    if not m or m.group(1) != "CCSDS_OEM_VERS":
        raise err("an OEM must start with 'CCSDS_OEM_VERS = 2.0'", i + 1, "CCSDS_OEM_VERS",
                  "Is this an OEM in KVN form (not XML)?")
    header["CCSDS_OEM_VERS"] = m.group(2)
    i += 1
    while i < n and lines[i].strip() != "META_START":
        s = lines[i].strip()
        if s.startswith("COMMENT"):
            header_comments.append(s[7:].strip())
        elif s:
            m = _KV.fullmatch(lines[i])
            if not m:
                raise err("expected KEY = value in the header", i + 1)
            header[m.group(1)] = m.group(2)
        i += 1
    for key in ("CREATION_DATE", "ORIGINATOR"):
        if key not in header:
            raise InputError(f"the header has no {key}", source=name, field=key,
                             fix="The OEM header needs CREATION_DATE and ORIGINATOR")

    while i < n:
        s = lines[i].strip()
        if not s:
            i += 1
            continue
        if s.startswith("COMMENT"):
            header_comments.append(s[7:].strip())
            i += 1
            continue
        if s != "META_START":
            raise err("expected META_START (a new segment)", i + 1)
        seg_line = i + 1
        meta: dict[str, str] = {}
        comments: list[str] = []
        i += 1
        while True:
            if i >= n:
                raise InputError("META_START without META_STOP", source=name, line=seg_line)
            s = lines[i].strip()
            if s == "META_STOP":
                break
            if s.startswith("COMMENT"):
                comments.append(s[7:].strip())
            elif s:
                m = _KV.fullmatch(lines[i])
                if not m:
                    raise err("expected KEY = value in the metadata", i + 1)
                meta[m.group(1)] = m.group(2)
            i += 1
        for key in _REQUIRED_META:
            if key not in meta:
                raise InputError(f"segment metadata has no {key}", source=name, line=seg_line,
                                 field=key, fix=f"Add '{key} = ...' between META_START and "
                                 "META_STOP")
        i += 1
        epochs: list[str] = []
        epoch_lines: list[int] = []
        rows: list[list[float]] = []
        in_cov = False
        while i < n:
            s = lines[i].strip()
            if s == "META_START":
                break
            if s == "COVARIANCE_START":
                in_cov = True
            elif s == "COVARIANCE_STOP":
                in_cov = False
            elif not s or in_cov:
                pass
            elif s.startswith("COMMENT"):
                comments.append(s[7:].strip())
            else:
                parts = s.split()
                if len(parts) not in (7, 10):
                    raise err(f"a data line needs an epoch and 6 (or 9) numbers, got "
                              f"{len(parts)} fields", i + 1, "data")
                try:
                    rows.append([float(p) for p in parts[1:7]])
                except ValueError:
                    bad = next(p for p in parts[1:7] if not _is_float(p))
                    raise err(f"{bad!r} is not a number", i + 1, "data") from None
                epochs.append(parts[0])
                epoch_lines.append(i + 1)
            i += 1
        if in_cov:
            raise InputError("COVARIANCE_START without COVARIANCE_STOP", source=name,
                             line=seg_line)
        if not rows:
            raise InputError("segment has no data lines", source=name, line=seg_line,
                             fix="Each META_STOP must be followed by at least one state")
        if meta["TIME_SYSTEM"] != "UTC":
            raise InputError(f"TIME_SYSTEM {meta['TIME_SYSTEM']} is not supported (UTC only)",
                             source=name, line=seg_line, field="TIME_SYSTEM")
        ns = np.empty(len(epochs), np.int64)
        for k, (ep, ln) in enumerate(zip(epochs, epoch_lines, strict=True)):
            try:
                ns[k] = int(Time.parse(ep).ns)
            except InputError as exc:
                raise err(exc.message, ln, "epoch", exc.fix) from None
        back = np.flatnonzero(np.diff(ns) <= 0)
        if back.size:
            ln = epoch_lines[int(back[0]) + 1]
            raise err("epochs must increase within a segment", ln, "epoch")
        data = np.asarray(rows, dtype=np.float64) / _KM
        segments.append(OemSegment(metadata=meta, times=Time(ns), position_m=data[:, :3].copy(),
                                   velocity_m_s=data[:, 3:].copy(), comments=tuple(comments),
                                   line=seg_line))
    return OemFile(header=header, segments=tuple(segments), comments=tuple(header_comments),
                   source=name)


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
