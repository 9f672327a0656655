"""Run every benchmark: ``python -m benchmarks`` (each module's ``main()``)."""

import importlib
import pkgutil

import benchmarks

for info in pkgutil.iter_modules(benchmarks.__path__):
    if not info.name.startswith("_"):
        importlib.import_module(f"benchmarks.{info.name}").main([])
