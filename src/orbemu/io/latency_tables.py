"""Latency tables: the rows of a :class:`~orbemu.network.analysis.LatencySeries` as CSV or Parquet.

Column contract (other tools script against it; ``orbemu latency --output``):
``time_utc,src,dst,rtt_ms,hops,path`` — one row per instant and pair, in time order, pairs in the
order given. ``src``/``dst`` are station names; ``rtt_ms`` is the round-trip propagation time
over the route and back in milliseconds (4 decimals, 0.1 µs) and is empty (CSV) or null
(Parquet) when the pair is unreachable, as is ``hops``; ``path`` is ``src>sat_index>…>dst`` with
satellites as 0-based indices into the elements file (empty when unreachable). ``time_utc`` is
ISO 8601 UTC with ``Z`` to the millisecond in CSV, a ``timestamp[ns, tz=UTC]`` in Parquet.

:class:`LatencyWriter` streams: write the series chunk by chunk as a long run produces them.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from orbemu.errors import UnavailableError, UsageError
from orbemu.network.analysis import LatencySeries

__all__ = ["LATENCY_COLUMNS", "LatencyWriter"]

LATENCY_COLUMNS = ("time_utc", "src", "dst", "rtt_ms", "hops", "path")


class LatencyWriter:
    """Write latency rows to ``path`` (``.csv`` or ``.parquet``), chunk by chunk.

    ``ground_names``: names of the ground nodes the series' indices refer to. Use as a context
    manager, or call :meth:`close`. :attr:`rows` counts the rows written.
    """

    def __init__(self, path: str | Path, ground_names: npt.ArrayLike) -> None:
        self.path = Path(path)
        self.kind = self.path.suffix.lower()
        if self.kind not in (".csv", ".parquet"):
            raise UsageError(f"latency tables are .csv or .parquet, not {self.path.suffix!r}")
        self.names = np.asarray(ground_names, dtype=object)
        self.rows = 0
        self._fh: Any = None
        self._writer: Any = None
        if self.kind == ".csv":
            self._fh = open(self.path, "w", newline="", encoding="utf-8")
            self._csv = csv.writer(self._fh, lineterminator="\n")
            self._csv.writerow(LATENCY_COLUMNS)
        else:
            try:
                import pyarrow as pa
                import pyarrow.parquet as pq
            except ImportError as exc:  # pragma: no cover - depends on the environment
                raise UnavailableError("Parquet output needs pyarrow: pip install "
                                       "'orbemu[formats]'") from exc
            self._pa = pa
            self._schema = pa.schema([
                ("time_utc", pa.timestamp("ns", tz="UTC")), ("src", pa.string()),
                ("dst", pa.string()), ("rtt_ms", pa.float64()), ("hops", pa.int32()),
                ("path", pa.string())])
            self._writer = pq.ParquetWriter(str(self.path), self._schema)

    def write(self, series: LatencySeries) -> None:
        """Append the rows of ``series`` (which must carry its paths)."""
        n = len(series)
        if n == 0:
            return
        src = self.names[series.row_src()]
        dst = self.names[series.row_dst()]
        paths = series.path_labels(self.names)
        ok = series.reachable
        if self.kind == ".csv":
            times = np.repeat(np.asarray(series.times.iso("ms")).reshape(-1), series.n_pairs)
            rtt = np.where(ok, np.char.mod("%.4f", np.nan_to_num(series.rtt_ms)), "")
            hops = np.where(ok, series.hops.astype(str), "")
            self._csv.writerows(zip(times.tolist(), src.tolist(), dst.tolist(), rtt.tolist(),
                                    hops.tolist(), paths, strict=True))
        else:
            pa = self._pa
            table = pa.table({
                "time_utc": pa.array(series.row_time_ns(), pa.int64()).cast(
                    pa.timestamp("ns", tz="UTC")),
                "src": pa.array(src.tolist(), pa.string()),
                "dst": pa.array(dst.tolist(), pa.string()),
                "rtt_ms": pa.array(series.rtt_ms, pa.float64(), mask=~ok),
                "hops": pa.array(series.hops.astype(np.int32), pa.int32(), mask=~ok),
                "path": pa.array(paths, pa.string()),
            }, schema=self._schema)
            self._writer.write_table(table)
        self.rows += n

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def __enter__(self) -> LatencyWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
