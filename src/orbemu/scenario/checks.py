"""Checks across sections of a scenario (names that refer to other sections, step multiples).

:func:`reference_problems` returns every problem with the YAML path it belongs to, so the loader
can point at the line; :class:`~orbemu.scenario.model.Scenario` runs it too when it is built
directly from Python.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from orbemu.units import format_duration_ns

if TYPE_CHECKING:
    from orbemu.scenario.model import Scenario

__all__ = ["Problem", "reference_problems"]

#: (YAML path, message, offending value, fix)
Problem = tuple[tuple[Any, ...], str, Any, str]


def _hint(name: str, names: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(names), n=1, cutoff=0.6)
    return f" — did you mean {close[0]!r}?" if close else ""


def reference_problems(sc: Scenario) -> list[Problem]:
    """Every cross-reference problem of a scenario (empty when it is consistent)."""
    from orbemu.scenario.model import ENDPOINT_KINDS

    out: list[Problem] = []
    names: dict[str, int] = {}
    for i, c in enumerate(sc.constellations):
        if c.name in names:
            out.append((("constellations", i, "name"),
                        f"constellation name {c.name!r} is used twice (also "
                        f"constellations[{names[c.name]}])", c.name,
                        "Give each constellation its own name: ..."))
        names.setdefault(c.name, i)
        if c.spacecraft is not None and c.spacecraft not in sc.spacecraft:
            defined = sorted(sc.spacecraft)
            out.append((("constellations", i, "spacecraft"),
                        f"no spacecraft class {c.spacecraft!r}{_hint(c.spacecraft, defined)}",
                        c.spacecraft,
                        f"Define it under spacecraft: (defined: {', '.join(defined) or 'none'})"
                        " or remove the key for the defaults"))
    for j, name in enumerate(sc.network.constellations or ()):
        if name not in names:
            out.append((("network", "constellations", j),
                        f"no constellation {name!r}{_hint(name, names)}", name,
                        f"Constellations: {', '.join(names)}"))

    seen: dict[str, str] = {}
    for section, _, sources in sc.ground.sections():
        for i, src in enumerate(sources):
            if src.name is None:
                continue
            if src.name in seen:
                out.append((("ground", section, i, "name"),
                            f"ground node name {src.name!r} is used twice (also in "
                            f"{seen[src.name]})", src.name, "Give each node its own name"))
            seen.setdefault(src.name, f"ground.{section}")

    for k, pair in enumerate(sc.network.monitor):
        for end in (pair.src, pair.dst):
            section = ENDPOINT_KINDS[end.kind]
            sources = getattr(sc.ground, section)
            inline = [s.name for s in sources if s.name is not None]
            if not sources:
                out.append((("network", "monitor", k), f"{end} names a {end.kind}, but "
                            f"ground.{section} is empty", str(pair),
                            f"Add the node under ground.{section}"))
            elif len(inline) == len(sources) and end.name not in inline:
                out.append((("network", "monitor", k),
                            f"no {end.kind} named {end.name!r} in ground.{section}"
                            f"{_hint(end.name, inline)}", str(pair),
                            f"Names there: {', '.join(inline)}"))

    step = sc.run.step_ns
    for key in ("housekeeping_every", "network_every", "commit_every"):
        value = getattr(sc.outputs, f"{key}_ns")
        if value % step:
            out.append((("outputs", key), f"{key} ({format_duration_ns(value)}) is not a "
                        f"multiple of the step ({format_duration_ns(step)})",
                        format_duration_ns(value),
                        f"Use a multiple of {format_duration_ns(step)}"))

    classes = sorted(sc.spacecraft)

    def check_selector(path: tuple[Any, ...], text: str) -> None:
        prefix, sep, name = text.partition(":")
        if not sep:
            return
        if prefix == "constellation" and name not in names:
            out.append((path, f"no constellation {name!r}{_hint(name, names)}", text,
                        f"Constellations: {', '.join(names)}"))
        elif prefix == "class" and name not in sc.spacecraft:
            out.append((path, f"no spacecraft class {name!r}{_hint(name, classes)}", text,
                        f"Classes: {', '.join(classes) or 'none defined'}"))
        elif prefix == "role" and name not in ("relay", "eo", "tracked"):
            out.append((path, f"no role {name!r}", text, "Roles: relay, eo, tracked"))

    for i, cmd in enumerate(sc.schedules):
        check_selector(("schedules", i, "target"), cmd.target)
    for i, rnd in enumerate(sc.faults.random):
        if rnd.kind in ("sat", "battery", "seu"):
            check_selector(("faults", "random", i, "targets"), rnd.targets)
    for i, entry in enumerate(sc.apps.entries):
        check_selector(("apps", "entries", i, "satellites"), entry.satellites)
    return out
