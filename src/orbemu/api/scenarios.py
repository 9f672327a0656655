"""Scenarios the API can run: the built-in ones, and uploads confined to their own folder.

An upload is the scenario YAML plus the files it names (a targets CSV, an element file), each
given by a plain file name. It is stored in ``UPLOADS/<scenario name>/`` and validated with
:func:`~orbemu.scenario.loader.parse_scenario_text` confined to that folder (``confine_dir``):
every ``file:`` must be a relative name that resolves inside it — no absolute path, no ``..``,
no link out — so an uploaded scenario can read nothing else on the server. Its
``outputs.dir`` is ignored: the API chooses the run folder. Sizes are bounded (the YAML, each
file, their number, satellites of designed shells, steps), and YAML aliases are limited (a
"billion laughs" document is refused before it is expanded).
"""

from __future__ import annotations

import re
import shutil
import uuid
from pathlib import Path
from typing import Any

from orbemu.api.security import ApiError
from orbemu.errors import ScenarioError

__all__ = ["MAX_FILES", "MAX_FILE_BYTES", "MAX_SCENARIO_BYTES", "ScenarioStore"]

MAX_SCENARIO_BYTES = 1_000_000
MAX_FILE_BYTES = 16_000_000
MAX_FILES = 16
MAX_ALIASES = 50
#: Designed-shell satellites and steps an API run may have at most.
MAX_WALKER_SATS = 50_000
MAX_STEPS = 5_000_000
FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")
SCENARIO_FILE = "scenario.yaml"


def _check_text(text: str, source: str) -> None:
    import yaml

    if len(text.encode("utf-8")) > MAX_SCENARIO_BYTES:
        raise ApiError(413, f"scenario {source} is over {MAX_SCENARIO_BYTES:,} bytes")
    try:
        aliases = sum(isinstance(tok, yaml.AliasToken) for tok in yaml.scan(text))
    except yaml.YAMLError:
        return  # the loader reports the syntax error with its line
    if aliases > MAX_ALIASES:
        raise ApiError(400, f"scenario {source} uses {aliases} YAML aliases (at most "
                            f"{MAX_ALIASES})", fix="Write the sections out")


def check_size(scenario: Any) -> None:
    """Refuse scenarios too big for a server run (designed shells, steps)."""
    walker = sum(c.walker.planes * c.walker.sats_per_plane for c in scenario.constellations
                 if getattr(c, "walker", None) is not None)
    if walker > MAX_WALKER_SATS:
        raise ApiError(400, f"{walker:,} satellites in designed shells (the server runs at "
                            f"most {MAX_WALKER_SATS:,})")
    if scenario.run.n_steps > MAX_STEPS:
        raise ApiError(400, f"{scenario.run.n_steps:,} steps (the server runs at most "
                            f"{MAX_STEPS:,})", fix="Use a longer step or a shorter run")


class ScenarioStore:
    """Built-in scenarios and uploads under ``uploads_dir`` (see the module notes)."""

    def __init__(self, uploads_dir: Path) -> None:
        self.dir = Path(uploads_dir)

    # ---- listing and loading -------------------------------------------------------------
    def uploaded(self) -> list[str]:
        if not self.dir.is_dir():
            return []
        return sorted(p.name for p in self.dir.iterdir()
                      if FILE_NAME.fullmatch(p.name) and (p / SCENARIO_FILE).is_file())

    def list(self) -> list[dict[str, Any]]:
        from orbemu.scenario import list_scenarios

        out: list[dict[str, Any]] = [{"name": s.name, "description": s.description,
                                      "default": s.default, "builtin": True}
                                     for s in list_scenarios()]
        for name in self.uploaded():
            out.append({"name": name, "description": "", "default": False, "builtin": False})
        return out

    def _folder(self, name: str) -> Path:
        if not FILE_NAME.fullmatch(name or ""):
            raise ApiError(400, f"{name!r} is not a scenario name",
                           fix="Use letters, digits, '-', '_', '.'")
        return self.dir / name

    def text(self, name: str) -> str:
        from orbemu.scenario.builtin import is_builtin_name, show_scenario

        if is_builtin_name(name):
            return show_scenario(name)
        path = self._folder(name) / SCENARIO_FILE
        if not path.is_file():
            from orbemu.scenario.builtin import unknown_scenario_error

            raise unknown_scenario_error(name)
        return path.read_text(encoding="utf-8")

    def load(self, name: str) -> Any:
        """A built-in scenario by name, or an upload (confined to its folder)."""
        from orbemu.scenario import load_scenario
        from orbemu.scenario.builtin import is_builtin_name
        from orbemu.scenario.loader import parse_scenario_text

        if is_builtin_name(name):
            return load_scenario(name)
        folder = self._folder(name)
        text = self.text(name)
        return parse_scenario_text(text, f"{name}/{SCENARIO_FILE}", base_dir=folder,
                                   confine_dir=folder)

    # ---- validating and uploading ----------------------------------------------------------
    def _stage(self, text: str, files: dict[str, str]) -> Path:
        if len(files) > MAX_FILES:
            raise ApiError(400, f"{len(files)} files (at most {MAX_FILES})")
        total = 0
        for fname, content in files.items():
            if not FILE_NAME.fullmatch(fname) or fname == SCENARIO_FILE:
                raise ApiError(400, f"file name {fname!r} is not allowed",
                               fix="Give plain file names (letters, digits, '-', '_', '.'; "
                                   "no folders)")
            total += len(content.encode("utf-8"))
        if total > MAX_FILE_BYTES:
            raise ApiError(413, f"the files are {total:,} bytes (at most {MAX_FILE_BYTES:,})")
        stage = self.dir / f".staging-{uuid.uuid4().hex}"
        stage.mkdir(parents=True)
        (stage / SCENARIO_FILE).write_text(text, encoding="utf-8")
        for fname, content in files.items():
            (stage / fname).write_text(content, encoding="utf-8")
        return stage

    def validate(self, text: str, files: dict[str, str] | None = None,
                 source: str = SCENARIO_FILE) -> Any:
        """Validate an upload without keeping it; the :class:`Scenario` (or
        :class:`~orbemu.errors.ScenarioError` with every problem)."""
        from orbemu.scenario.loader import parse_scenario_text

        _check_text(text, source)
        stage = self._stage(text, dict(files or {}))
        try:
            sc = parse_scenario_text(text, source, base_dir=stage, confine_dir=stage)
            check_size(sc)
            return sc
        finally:
            shutil.rmtree(stage, ignore_errors=True)

    def upload(self, text: str, files: dict[str, str] | None = None) -> Any:
        """Validate and keep an upload under its scenario name (replacing an earlier upload
        of that name; built-in names are refused)."""
        from orbemu.scenario.builtin import is_builtin_name
        from orbemu.scenario.loader import parse_scenario_text

        sc = self.validate(text, files)
        if is_builtin_name(sc.name):
            raise ApiError(409, f"{sc.name!r} is the name of a built-in scenario",
                           fix="Give your scenario another name")
        folder = self._folder(sc.name)
        stage = self._stage(text, dict(files or {}))
        try:
            if folder.exists():
                shutil.rmtree(folder)
            stage.rename(folder)
        except OSError:
            shutil.rmtree(stage, ignore_errors=True)
            raise
        try:
            return parse_scenario_text(text, f"{sc.name}/{SCENARIO_FILE}", base_dir=folder,
                                       confine_dir=folder)
        except ScenarioError:  # pragma: no cover - it validated a moment ago
            shutil.rmtree(folder, ignore_errors=True)
            raise
