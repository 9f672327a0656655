"""Reading what a user points a reader at: a path, a stream or text, maybe compressed.

Every reader in :mod:`orbemu.io` goes through :func:`read_text`, so every reader treats empty
files, binary garbage, compressed files and undecodable bytes the same way, with the same errors.
Compression is recognised from the first bytes (gzip ``1f 8b``, xz ``fd 37 7a 58 5a 00``), not
from the file name.
"""

from __future__ import annotations

import gzip
import io
import lzma
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from orbemu.errors import InputError

__all__ = ["SKIP_HINT", "SourceText", "display_name", "read_text"]

_GZIP_MAGIC = b"\x1f\x8b"
_XZ_MAGIC = b"\xfd7zXZ\x00"
#: Refuse to decompress more than this (a "zip bomb" guard); far above any element catalog.
MAX_DECOMPRESSED_BYTES = 2 * 2**30

#: How the lenient mode is named to the user, in every "or load the rest" hint.
SKIP_HINT = "load with errors='skip' (CLI: --skip-invalid)"


@dataclass(frozen=True)
class SourceText:
    """The decoded text of a source and the short name used in messages."""

    text: str
    name: str


def display_name(source: Any) -> str:
    """The name a message uses for ``source``: a file's base name, a stream's name, or <string>."""
    if isinstance(source, Path):
        return source.name
    if isinstance(source, str):
        return Path(source).name or source
    name = getattr(source, "name", None)
    if isinstance(name, str) and name:
        return Path(name).name
    return "<stream>"


def _decompress(data: bytes, name: str) -> bytes:
    try:
        if data.startswith(_GZIP_MAGIC):
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as fh:
                out = fh.read(MAX_DECOMPRESSED_BYTES + 1)
        elif data.startswith(_XZ_MAGIC):
            with lzma.LZMAFile(io.BytesIO(data)) as fh:
                out = fh.read(MAX_DECOMPRESSED_BYTES + 1)
        else:
            return data
    except (OSError, EOFError, lzma.LZMAError, zlib.error) as exc:
        raise InputError(f"the compressed data is damaged ({exc})", source=name,
                         fix="Re-download or re-compress the file") from None
    if len(out) > MAX_DECOMPRESSED_BYTES:
        raise InputError(f"decompresses to more than {MAX_DECOMPRESSED_BYTES // 2**30} GiB",
                         source=name, fix="Split the file") from None
    return out


def decode(data: bytes, name: str) -> str:
    """Bytes (maybe compressed) to text; empty or binary input is an :class:`InputError`."""
    data = _decompress(data, name)
    if not data.strip():
        raise InputError("the file is empty", source=name,
                         fix="Check the path, or re-download the file")
    if b"\x00" in data[:65536]:
        raise InputError("this is a binary file, not text", source=name,
                         fix="Pass a text file (TLE, OMM XML/KVN/JSON/CSV, CSV, GeoJSON), "
                             "optionally gzip- or xz-compressed")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(f"byte {data[exc.start]:#04x} at offset {exc.start} is not UTF-8 text",
                         source=name, line=line,
                         fix="Save the file as UTF-8 (or plain ASCII)") from None
    return text


def read_text(source: str | Path | IO[str] | IO[bytes], name: str | None = None) -> SourceText:
    """Read a path or an open stream (text or binary) into text.

    ``name`` overrides the name used in messages (default: the file's base name).
    """
    shown = name or display_name(source)
    if isinstance(source, (str, Path)):
        path = Path(source)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise InputError(f"no such file: {str(path)!r}", source=shown,
                             fix="Check the path") from None
        except IsADirectoryError:
            raise InputError(f"{str(path)!r} is a directory, not a file", source=shown,
                             fix="Pass a file inside it") from None
        except OSError as exc:
            raise InputError(f"cannot read {str(path)!r}: {exc.strerror or exc}", source=shown,
                             fix="Check the path and its permissions") from None
        return SourceText(decode(data, shown), shown)
    content = source.read()
    if isinstance(content, bytes):
        return SourceText(decode(content, shown), shown)
    if not isinstance(content, str):
        raise InputError(f"the stream returned {type(content).__name__}, not text or bytes",
                         source=shown)
    if not content.strip():
        raise InputError("the input is empty", source=shown, fix="Check what was passed")
    return SourceText(content.removeprefix("\ufeff"), shown)
