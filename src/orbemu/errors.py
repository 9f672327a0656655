"""The errors orbemu raises, and the record of what a lenient load skipped.

Hierarchy::

    OrbemuError                 base of everything orbemu raises on purpose
     ├── InputError             a file, argument or record the user gave is wrong: says where
     │    │                     (file, line or record, field), the value, the rule and the fix
     │    └── ScenarioError     a scenario file does not validate (YAML path instead of line)
     ├── UsageError             the API was called in a way that cannot work (wrong shapes,
     │                          incompatible options); a programming error on the caller's side
     ├── DataError              bundled or named data is missing or unknown (``--elements foo``)
     └── UnavailableError       the machine lacks a capability (root, network namespaces, a
                                browser, an optional dependency); says what to install or run

Numerical failures inside arrays (an SGP4 satellite that decayed, a pair with no route) are *data*:
status codes and NaN, counted in summaries, never exceptions mid-batch.

The CLI turns every ``OrbemuError`` into its message and exit code 2, without a traceback.

Lenient loads (``errors="skip"``) collect one :class:`Rejection` per record they did not load and
return them with the result; nothing is dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ErrorMode = Literal["raise", "skip"]


class OrbemuError(Exception):
    """Base class of every error orbemu raises on purpose."""


class UsageError(OrbemuError, ValueError):
    """The API was called with arguments that cannot work together."""


class DataError(OrbemuError, LookupError):
    """Bundled or named data is missing or unknown."""


class UnavailableError(OrbemuError, RuntimeError):
    """A capability this machine lacks (root, namespaces, an optional package)."""


def _clip(text: str, limit: int = 80) -> str:
    text = text.rstrip("\r\n")
    return text if len(text) <= limit else text[: limit - 3] + "..."


class InputError(OrbemuError, ValueError):
    """Something the user gave is wrong.

    Every field is optional but the message; the rendered text puts them in a fixed order:
    ``{source} line {line}, {field}: {message} (line: '{text}'). {fix}``.

    Attributes
    ----------
    message: what is wrong, including the value received and the rule it broke.
    source: the file name (or ``"<string>"``, ``"--station"``...) the input came from.
    line: 1-based line number in ``source`` where the offending record starts.
    record: 1-based record number when lines do not apply (JSON, XML).
    field: the field, column or key that is wrong.
    text: the offending raw line, quoted (clipped to 80 characters).
    fix: how to fix it, or how to load the rest anyway.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        record: int | None = None,
        field: str | None = None,
        text: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.message = message
        self.source = source
        self.line = line
        self.record = record
        self.field = field
        self.text = text
        self.fix = fix
        super().__init__(self._render())

    def where(self) -> str:
        """``file line 12, field`` (the parts that are known)."""
        parts = []
        if self.source:
            parts.append(self.source)
        if self.line is not None:
            parts.append(f"line {self.line}")
        elif self.record is not None:
            parts.append(f"record {self.record}")
        where = " ".join(parts)
        if self.field:
            where = f"{where}, {self.field}" if where else self.field
        return where

    def _render(self) -> str:
        where = self.where()
        text = f"{where}: {self.message}" if where else self.message
        if self.text is not None:
            text += f" (line: {_clip(self.text)!r})"
        if self.fix:
            text += f". {self.fix}" if not text.endswith(".") else f" {self.fix}"
        return text

    def as_rejection(self) -> Rejection:
        return Rejection(
            source=self.source,
            line=self.line,
            record=self.record,
            field=self.field,
            reason=self.message,
            text=None if self.text is None else _clip(self.text),
        )


class ScenarioError(InputError):
    """A scenario file does not validate; ``field`` holds the YAML path
    (``constellations[1].walker.planes``), ``line`` the 1-based line of that key in the file.

    A file with several mistakes raises one ``ScenarioError`` whose ``problems`` holds one
    ``ScenarioError`` per mistake (all of them, in file order); its message lists them all::

        mission.yaml: 2 problems
          mission.yaml line 7, constellations[1].walker.plannes: unknown key 'plannes' — did
            you mean 'planes'? ...
          mission.yaml line 12, run.step: cannot read duration '10 sec' ...
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        record: int | None = None,
        field: str | None = None,
        text: str | None = None,
        fix: str | None = None,
        problems: tuple[ScenarioError, ...] = (),
    ) -> None:
        self.problems = problems
        super().__init__(message, source=source, line=line, record=record, field=field,
                         text=text, fix=fix)

    @classmethod
    def collect(cls, problems: list[ScenarioError], source: str | None = None) -> ScenarioError:
        """One error for several problems (or the problem itself when there is one)."""
        if len(problems) == 1:
            return problems[0]
        return cls(f"{len(problems)} problems", source=source, problems=tuple(problems))

    def _render(self) -> str:
        text = super()._render()
        for problem in getattr(self, "problems", ()):
            text += "\n  " + str(problem).replace("\n", "\n    ")
        return text


@dataclass(frozen=True, slots=True)
class Rejection:
    """One record a lenient load did not load, and why."""

    source: str | None
    line: int | None
    record: int | None
    field: str | None
    reason: str
    text: str | None = None

    def __str__(self) -> str:
        return InputError(
            self.reason,
            source=self.source,
            line=self.line,
            record=self.record,
            field=self.field,
            text=self.text,
        ).args[0]
