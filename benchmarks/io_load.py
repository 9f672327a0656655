"""Loading the bundled element sets: orbemu's checked readers against the bare python-sgp4 calls.

    python -m benchmarks.io_load [--repeat 5]

Baselines, measured in the same run on the same text:
- TLE: ``Satrec.twoline2rv`` on every line pair with no validation at all (the least any TLE
  reader can do) versus ``load_elements("starlink")`` (decompress, column/checksum/range checks,
  twoline2rv, epochs, duplicate check, ElementSet).
- OMM JSON: ``json.loads`` + ``sgp4.omm.initialize`` per record (python-sgp4's own OMM path, no
  validation) versus ``load_elements("starlink-2025-omm")``.
Prints the best of ``--repeat`` runs and the ratio to the baseline; the first (cold) call is shown
separately because it includes imports and the first decompression.
"""

from __future__ import annotations

import argparse
import gzip
import json
import platform
import time
from collections.abc import Callable

from sgp4 import omm
from sgp4.api import Satrec

from orbemu.io.catalog import dataset_bytes, get_dataset


def best_of(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.io_load")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    print(f"# Element-set loading — {platform.machine()}, python {platform.python_version()}")

    t0 = time.perf_counter()
    from orbemu.io.elements import load_elements
    n = len(load_elements("starlink"))
    cold = time.perf_counter() - t0

    info = get_dataset("starlink", "elements")
    text = gzip.decompress(dataset_bytes(info, info.files[0])).decode()
    lines = [ln.rstrip() for ln in text.split("\n") if ln.strip()]

    def bare_tle() -> None:
        for k in range(0, len(lines), 3):
            Satrec.twoline2rv(lines[k + 1], lines[k + 2])

    base = best_of(bare_tle, args.repeat)
    ours = best_of(lambda: load_elements("starlink"), args.repeat)
    print(f"starlink TLE, {n:,} satellites: cold first call {cold * 1e3:.0f} ms (with imports)")
    print(f"  bare twoline2rv loop   {base * 1e3:7.1f} ms")
    print(f"  load_elements warm     {ours * 1e3:7.1f} ms   ratio {ours / base:.2f}x "
          f"(twoline2rv is {base / ours:.0%} of it)")

    info = get_dataset("starlink-2025-omm", "elements")
    raw = gzip.decompress(dataset_bytes(info, info.files[0])).decode()

    def bare_omm() -> None:
        for fields in json.loads(raw):
            omm.initialize(Satrec(), fields)

    base = best_of(bare_omm, args.repeat)
    ours = best_of(lambda: load_elements("starlink-2025-omm"), args.repeat)
    print(f"starlink OMM JSON, {len(json.loads(raw)):,} records:")
    print(f"  json + sgp4.omm loop   {base * 1e3:7.1f} ms")
    print(f"  load_elements warm     {ours * 1e3:7.1f} ms   ratio {ours / base:.2f}x")


if __name__ == "__main__":
    main()
