"""Small worlds for the flight-software tests (the engine tests' world: 12 EO satellites, 80 relay
satellites, 4 stations)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from orbemu.engine import Emulation, MemorySink
from orbemu.engine.config import EmulationSetup, RecordSetup
from orbemu.fsw import AppSpec, AppsSetup

from ..engine.conftest import START, S, make_setup

__all__ = ["START", "S", "events", "points", "run_apps", "world"]


def world(minutes: float = 2, step_s: float = 1, *, contacts: bool = False,
          network: bool = False, hk_every_s: int | None = None, **kw: Any) -> EmulationSetup:
    setup = make_setup(minutes=1, step_s=1, network=network, contacts=contacts, **kw)
    step_ns = round(step_s * S)
    hk = hk_every_s if hk_every_s is not None else max(60, round(step_s))
    return replace(setup, duration_ns=round(minutes * 60 * S), step_ns=step_ns,
                   records=replace(setup.records, housekeeping_every_ns=round(hk * S)))


def run_apps(setup: EmulationSetup, *specs: AppSpec, wall: Any = None,
             **apps_kw: Any) -> tuple[MemorySink, Any, Emulation]:
    setup = replace(setup, apps=AppsSetup(tuple(specs), **apps_kw))
    sink = MemorySink()
    emu = Emulation(setup, sink, wall=wall)
    summary = emu.run()
    return sink, summary, emu


def points(sink: MemorySink, key: str, sat: int | None = None) -> list[tuple[int, float]]:
    return [(r["time_ns"], r["value"]) for r in sink.tables["telemetry"]
            if r["key"] == key and (sat is None or r["sat"] == sat)]


def events(sink: MemorySink, kind: str, subject: str | None = None) -> list[dict[str, Any]]:
    return [e for e in sink.tables["events"]
            if e["kind"] == kind and (subject is None or e["subject"] == subject)]


def hk_every(seconds: int) -> RecordSetup:
    return RecordSetup(housekeeping_every_ns=seconds * S)
