"""The scenarios shipped with orbemu (YAML files in ``orbemu/scenario/builtin/``).

``list_scenarios()`` describes them, ``show_scenario(name)`` returns a file's text (comments
included: a starting point to copy), ``load_scenario(name)`` validates one. :data:`DEFAULT` is
the one a bare ``orbemu run`` runs.
"""

from __future__ import annotations

import difflib
import importlib.resources
from dataclasses import dataclass
from pathlib import Path

from orbemu.errors import DataError

__all__ = ["DEFAULT", "ScenarioInfo", "builtin_path", "list_scenarios", "show_scenario"]

#: The default scenario (``orbemu run`` without a scenario).
DEFAULT = "atacama-edge"


@dataclass(frozen=True)
class ScenarioInfo:
    """One built-in scenario: ``name``, one-line ``description``, whether it is the default."""

    name: str
    description: str
    default: bool


def _folder() -> Path:
    return Path(str(importlib.resources.files("orbemu.scenario").joinpath("builtin")))


def _names() -> list[str]:
    return sorted(p.stem for p in _folder().glob("*.yaml"))


def is_builtin_name(name: str) -> bool:
    """True for ``default`` and the names of the shipped scenarios."""
    key = name.strip().lower()
    return key == "default" or key in _names()


def unknown_scenario_error(name: str) -> DataError:
    """The error for a name that is neither a file nor a built-in scenario."""
    names = _names()
    close = difflib.get_close_matches(name.lower(), names, n=1, cutoff=0.6)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return DataError(f"{name!r} is neither a scenario file nor a built-in scenario.{hint} "
                     f"Built-in: {', '.join(names)} (orbemu scenario list); or give the path "
                     "of a YAML file")


def builtin_path(name: str) -> Path:
    """The file of a built-in scenario (``default`` is :data:`DEFAULT`)."""
    key = name.strip().lower()
    key = DEFAULT if key == "default" else key
    if key not in _names():
        raise unknown_scenario_error(name)
    return _folder() / f"{key}.yaml"


def show_scenario(name: str) -> str:
    """The YAML text of a built-in scenario, comments included."""
    return builtin_path(name).read_text(encoding="utf-8")


def list_scenarios() -> list[ScenarioInfo]:
    """The built-in scenarios, the default first."""
    import yaml

    out = []
    for name in _names():
        data = yaml.safe_load(show_scenario(name)) or {}
        description = " ".join(str(data.get("description", "")).split())
        out.append(ScenarioInfo(name, description, name == DEFAULT))
    out.sort(key=lambda info: (not info.default, info.name))
    return out
