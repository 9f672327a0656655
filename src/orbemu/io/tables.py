"""Ephemeris and pass tables: CSV (always available) and Parquet (``pyarrow``, ``formats`` extra).

Column contracts (other tools script against these names; do not change them):

- Cartesian (``frame="TEME"`` or ``"ITRF"``): ``time_utc,norad_id,name,x_m,y_m,z_m,vx_m_s,vy_m_s,
  vz_m_s`` — metres and metres per second in the named frame (the frame is not a column: it is the
  caller's choice, recorded in the Parquet file's metadata under ``orbemu.frame``).
- Geodetic (``frame="geodetic"``): ``time_utc,norad_id,name,lat_deg,lon_deg,alt_m`` — WGS84
  latitude and longitude in degrees (longitude in (−180, 180]), height above the ellipsoid in m.
- Passes: ``norad_id,satellite,station,aos_utc,tca_utc,los_utc,max_elevation_deg,partial``.

Rows are ordered by satellite (in element-set order), then by time. ``time_utc`` in CSV is ISO 8601
UTC with ``Z`` and millisecond precision (``2026-05-30T12:00:00.000Z``); in Parquet it is a native
``timestamp[ns, tz=UTC]`` column (lossless). Samples whose status is not 0 (SGP4 failures) are
written with empty fields (CSV) or nulls (Parquet), never dropped.

CSV precision: positions to the millimetre (3 decimals), velocities to the µm/s (6 decimals),
latitude and longitude to 1e-8 degree (≈ 1 mm), heights to the millimetre.

Writers stream: they take one :class:`~orbemu.orbits.ephemeris.Ephemeris` or an iterable of them
(successive blocks of satellites over the same instants, e.g. from :func:`ephemeris_blocks`), and
format and write a bounded number of rows at a time, so memory stays flat for 10k satellites ×
1,000 instants.
"""

from __future__ import annotations

import contextlib
import csv
import io
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np
import numpy.typing as npt

from orbemu.constants import DEG
from orbemu.errors import UnavailableError, UsageError
from orbemu.io.textrows import encode_fixed_width, encode_prefixes, format_rows
from orbemu.orbits.elements import ElementSet
from orbemu.orbits.ephemeris import Ephemeris
from orbemu.orbits.propagation import ProgressCallback, SGP4Propagator
from orbemu.time import Time

__all__ = [
    "CARTESIAN_COLUMNS",
    "GEODETIC_COLUMNS",
    "PASSES_COLUMNS",
    "TableFrame",
    "ephemeris_blocks",
    "write_ephemeris_csv",
    "write_ephemeris_parquet",
    "write_passes_csv",
]

CARTESIAN_COLUMNS = ("time_utc", "norad_id", "name", "x_m", "y_m", "z_m",
                     "vx_m_s", "vy_m_s", "vz_m_s")
GEODETIC_COLUMNS = ("time_utc", "norad_id", "name", "lat_deg", "lon_deg", "alt_m")
PASSES_COLUMNS = ("norad_id", "satellite", "station", "aos_utc", "tca_utc", "los_utc",
                  "max_elevation_deg", "partial")

TableFrame = Literal["TEME", "ITRF", "geodetic"]

#: Rows formatted per write call: bounds the text buffer (~110 bytes a row) to a few MB.
_ROWS_PER_WRITE = 50_000
_CARTESIAN_DECIMALS = np.array([3, 3, 3, 6, 6, 6])
_GEODETIC_DECIMALS = np.array([8, 8, 3])

Dest = str | Path | IO[bytes]


def resolve_frame(frame: str | None, ephemeris_frame: str) -> TableFrame:
    """Normalise a user's frame name (``teme``, ``ITRF``, ``geodetic``) against the data's frame.

    ``None`` means the ephemeris's own frame. ITRF data cannot be written as TEME (orbemu keeps
    no inverse rotation here); propagate in TEME instead.
    """
    if frame is None:
        return "ITRF" if ephemeris_frame == "ITRF" else "TEME"
    key = frame.strip()
    norm = {"teme": "TEME", "itrf": "ITRF", "geodetic": "geodetic"}.get(key.lower())
    if norm is None:
        raise UsageError(f"frame must be TEME, ITRF or geodetic, got {frame!r}")
    if norm == "TEME" and ephemeris_frame == "ITRF":
        raise UsageError("cannot write an ITRF ephemeris as TEME; propagate with frame='TEME'")
    return norm  # type: ignore[return-value]


def ephemeris_blocks(
    elements: ElementSet,
    times: Time,
    *,
    frame: Literal["TEME", "ITRF"] = "TEME",
    block_sats: int | None = None,
    max_samples: int = 2_000_000,
    progress: ProgressCallback | None = None,
) -> Iterator[Ephemeris]:
    """Propagate ``elements`` block of satellites by block, for the streaming writers.

    Each yielded ephemeris covers every instant of ``times`` for the next ``block_sats``
    satellites (default: 1,024, fewer if needed to keep ``block_sats × len(times) ≤
    max_samples``, ~100 MB). ``progress(done_sats, total_sats)`` is called after each block.
    """
    n = len(elements)
    t = max(times.size, 1)
    block = block_sats or max(1, min(1024, max_samples // t))
    prop = SGP4Propagator()
    for a in range(0, n, block):
        b = min(a + block, n)
        eph = prop.propagate(elements.select(slice(a, b)), times, frame=frame)
        yield eph
        if progress is not None:
            progress(b, n)


def _as_blocks(ephemeris: Ephemeris | Iterable[Ephemeris]) -> Iterator[Ephemeris]:
    if isinstance(ephemeris, Ephemeris):
        yield ephemeris
    else:
        yield from ephemeris


def _sub_blocks(eph: Ephemeris) -> Iterator[Ephemeris]:
    step = max(1, _ROWS_PER_WRITE // max(eph.n_times, 1))
    if eph.n_sats <= step:
        yield eph
        return
    for a in range(0, eph.n_sats, step):
        yield eph.select(sats=slice(a, a + step))


def _columns_of(eph: Ephemeris, frame: TableFrame) -> npt.NDArray[np.float64]:
    """``(n_sats, n_times, k)`` values in the output frame (SI units, degrees for lat/lon)."""
    if frame == "geodetic":
        lat, lon, alt = eph.geodetic()
        return np.stack([lat / DEG, lon / DEG, alt], axis=-1)
    if frame == "ITRF":
        eph = eph.to_itrf()
    return np.concatenate([eph.position_m, eph.velocity_m_s], axis=-1)


@contextlib.contextmanager
def _open_binary(dest: Dest) -> Iterator[IO[bytes]]:
    if isinstance(dest, (str, Path)):
        with open(dest, "wb") as fh:
            yield fh
    else:
        yield dest


def _csv_field(text: str) -> str:
    """One CSV field, quoted as RFC 4180 requires when it holds a comma, quote or newline."""
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def write_ephemeris_csv(
    ephemeris: Ephemeris | Iterable[Ephemeris],
    dest: Dest,
    *,
    frame: str | None = None,
) -> int:
    """Write ephemeris rows to CSV; returns the number of data rows written.

    ``ephemeris``: one ephemeris or an iterable of blocks of satellites over the same instants.
    ``frame``: ``"TEME"``, ``"ITRF"`` (cartesian columns) or ``"geodetic"``; ``None`` keeps the
    ephemeris's own frame. Rows are ordered by satellite, then time; columns are
    :data:`CARTESIAN_COLUMNS` or :data:`GEODETIC_COLUMNS`; failed samples have empty value fields.
    """
    rows = 0
    header_done = False
    times_key: bytes | None = None
    time_text = np.zeros((0, 0), np.uint8)
    with _open_binary(dest) as fh:
        for block in _as_blocks(ephemeris):
            out_frame = resolve_frame(frame, block.frame)
            if not header_done:
                cols = GEODETIC_COLUMNS if out_frame == "geodetic" else CARTESIAN_COLUMNS
                fh.write((",".join(cols) + "\n").encode())
                header_done = True
            key = block.times.ns.tobytes()
            if key != times_key:
                time_text = encode_fixed_width(block.times.iso("ms"))
                times_key = key
            decimals = _GEODETIC_DECIMALS if out_frame == "geodetic" else _CARTESIAN_DECIMALS
            for sub in _sub_blocks(block):
                prefixes = [f",{nid},{_csv_field(str(name))}"
                            for nid, name in zip(sub.norad_ids.tolist(), sub.names.tolist(),
                                                 strict=True)]
                fh.write(format_rows(time_text, encode_prefixes(prefixes),
                                     _columns_of(sub, out_frame), sub.status == 0,
                                     10.0 ** decimals, decimals))
                rows += sub.n_sats * sub.n_times
        if not header_done:
            cols = GEODETIC_COLUMNS if frame == "geodetic" else CARTESIAN_COLUMNS
            fh.write((",".join(cols) + "\n").encode())
    return rows


def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:  # pragma: no cover - exercised only without the extra
        raise UnavailableError(
            "writing Parquet needs pyarrow; install it with: pip install 'orbemu[formats]'"
        ) from None
    return pyarrow


def write_ephemeris_parquet(
    ephemeris: Ephemeris | Iterable[Ephemeris],
    dest: str | Path,
    *,
    frame: str | None = None,
    compression: str = "zstd",
) -> int:
    """Write ephemeris rows to a Parquet file; returns the number of rows written.

    Same columns and row order as :func:`write_ephemeris_csv`; ``time_utc`` is
    ``timestamp[ns, tz=UTC]``, ``norad_id`` int64, ``name`` string, values float64 with nulls for
    failed samples. The file's key-value metadata holds ``orbemu.frame`` and ``orbemu.row_order``.
    Rows are written in groups of at most about 50,000.
    """
    pa = _pyarrow()
    pq = pa.parquet
    writer = None
    rows = 0
    try:
        for block in _as_blocks(ephemeris):
            out_frame = resolve_frame(frame, block.frame)
            cols = GEODETIC_COLUMNS if out_frame == "geodetic" else CARTESIAN_COLUMNS
            if writer is None:
                fields = [pa.field("time_utc", pa.timestamp("ns", tz="UTC"), nullable=False),
                          pa.field("norad_id", pa.int64(), nullable=False),
                          pa.field("name", pa.string(), nullable=False)]
                fields += [pa.field(c, pa.float64()) for c in cols[3:]]
                schema = pa.schema(fields, metadata={
                    "orbemu.frame": out_frame,
                    "orbemu.row_order": "satellite, then time",
                    "orbemu.units": "metres, metres per second, degrees",
                })
                writer = pq.ParquetWriter(str(dest), schema, compression=compression)
            for sub in _sub_blocks(block):
                n, t = sub.n_sats, sub.n_times
                values = _columns_of(sub, out_frame).reshape(n * t, -1)
                failed = (sub.status != 0).reshape(-1)
                arrays = [
                    pa.array(np.tile(sub.times.ns, n), pa.timestamp("ns", tz="UTC")),
                    pa.array(np.repeat(sub.norad_ids, t), pa.int64()),
                    pa.DictionaryArray.from_arrays(
                        pa.array(np.repeat(np.arange(n, dtype=np.int32), t)),
                        pa.array(sub.names.tolist(), pa.string())).cast(pa.string()),
                ]
                arrays += [pa.array(values[:, c], pa.float64(), mask=failed)
                           for c in range(values.shape[1])]
                writer.write_table(pa.Table.from_arrays(arrays, schema=writer.schema))
                rows += n * t
        if writer is None:  # no satellites: still write a valid, empty file
            cols = GEODETIC_COLUMNS if frame == "geodetic" else CARTESIAN_COLUMNS
            fields = [pa.field("time_utc", pa.timestamp("ns", tz="UTC")),
                      pa.field("norad_id", pa.int64()), pa.field("name", pa.string())]
            fields += [pa.field(c, pa.float64()) for c in cols[3:]]
            pq.write_table(pa.schema(fields).empty_table(), str(dest))
    finally:
        if writer is not None:
            writer.close()
    return rows


def write_passes_csv(passes: Any, dest: str | Path | IO[str]) -> int:
    """Write passes to CSV with :data:`PASSES_COLUMNS`; returns the number of rows.

    ``passes`` is the columnar :class:`~orbemu.orbits.passes.Passes` of ``find_passes``
    (``sat_index``/``node_index`` into its ``set_norad_ids``, ``set_names``, ``set_node_names``;
    ``aos``/``tca``/``los`` ``Time`` arrays; ``max_elevation_deg``; ``partial``). Rows are ordered
    by AOS, then satellite, then station. Times are ISO 8601 UTC with ``Z`` to the millisecond;
    elevation in degrees to 0.001; ``partial`` is ``true`` when the pass was cut by the start or
    end of the window (its AOS or LOS is then the window edge, not a horizon crossing).
    """
    sat = np.asarray(passes.sat_index, dtype=np.int64)
    node = np.asarray(passes.node_index, dtype=np.int64)
    aos_ns = np.asarray(passes.aos.ns).reshape(-1)
    order = np.lexsort((node, sat, aos_ns))
    texts = {name: np.asarray(getattr(passes, name).iso("ms")).reshape(-1)[order]
             for name in ("aos", "tca", "los")}
    max_el = np.asarray(passes.max_elevation_deg, dtype=np.float64)[order]
    partial = np.asarray(passes.partial, dtype=bool)[order]
    norad = np.asarray(passes.set_norad_ids)[sat[order]]
    sat_names = np.asarray(passes.set_names)[sat[order]]
    node_names = np.asarray(passes.set_node_names)[node[order]]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(PASSES_COLUMNS)
    for k in range(order.size):
        w.writerow((int(norad[k]), sat_names[k], node_names[k], texts["aos"][k], texts["tca"][k],
                    texts["los"][k], f"{max_el[k]:.3f}", "true" if partial[k] else "false"))
    if isinstance(dest, (str, Path)):
        Path(dest).write_text(buf.getvalue(), encoding="utf-8")
    else:
        dest.write(buf.getvalue())
    return int(order.size)
