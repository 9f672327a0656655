"""Run every benchmark module of this package in turn (each has a ``main()``)."""

from __future__ import annotations

import importlib
import pkgutil

import benchmarks


def main() -> None:
    for info in sorted(pkgutil.iter_modules(benchmarks.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        print(f"== benchmarks.{info.name}", flush=True)
        importlib.import_module(f"benchmarks.{info.name}").main()


if __name__ == "__main__":
    main()
