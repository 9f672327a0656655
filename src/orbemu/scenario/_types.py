"""Field types shared by the scenario models: durations, instants, UTC times, and the error form.

Every validator here raises :func:`problem` (a pydantic error carrying a ``fix``) so the loader
can turn it into a :class:`~orbemu.errors.ScenarioError` with file, line and YAML path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer, WithJsonSchema
from pydantic_core import PydanticCustomError

from orbemu.errors import InputError
from orbemu.time import Time
from orbemu.units import format_duration_ns, parse_duration_ns

__all__ = ["At", "AtField", "Duration", "OptionalDuration", "ScenarioModel", "UtcNs", "problem"]

DURATION_HELP = ("Write a number and a unit: ms, s, m (minutes), h, d, combined as in 1h30m, "
                 "or HH:MM[:SS] (e.g. 10s, 30m, 3h, 01:30)")
#: Longest duration or offset accepted (30 years: instants stay within int64 ns).
MAX_DURATION_NS = 30 * 365 * 86_400 * 10**9
AT_HELP = ("Write an offset from the run start (30m, 1h30m, 01:30) or an ISO 8601 UTC time "
           "(2026-05-30T18:00:00Z)")


class ScenarioModel(BaseModel):
    """Base of every scenario model: frozen, unknown keys refused, no NaN or infinity."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False,
                              validate_default=True, str_strip_whitespace=True)


def problem(message: str, fix: str | None = None) -> PydanticCustomError:
    """A validation error with a message and a fix (raise it from validators)."""
    return PydanticCustomError("orbemu", "{message}", {"message": message, "fix": fix or ""})


def _from_input_error(exc: InputError) -> PydanticCustomError:
    return problem(exc.message, exc.fix)


# ---- durations -------------------------------------------------------------------------------
def parse_duration(value: Any) -> int:
    """Duration text (``10s``, ``1h30m``, ``01:30``) to int ns; bare numbers are refused."""
    if isinstance(value, bool) or not isinstance(value, str):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            raise problem(f"a duration needs a unit, got the bare number {value!r}",
                          DURATION_HELP)
        raise problem(f"expected a duration, got {_kind(value)}", DURATION_HELP)
    try:
        ns = parse_duration_ns(value)
    except InputError as exc:
        raise _from_input_error(exc) from None
    if ns > MAX_DURATION_NS:
        raise problem(f"duration {value!r} is longer than 30 years", DURATION_HELP)
    return ns


def _kind(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"


_DURATION_SCHEMA = WithJsonSchema({"type": "string", "examples": ["10s", "30m", "3h", "01:30"]})

#: A duration: YAML text with a unit, int nanoseconds in the model, text again when dumped.
Duration = Annotated[int, BeforeValidator(parse_duration), PlainSerializer(format_duration_ns),
                     _DURATION_SCHEMA]


def _optional_duration(value: Any) -> int | None:
    return None if value is None else parse_duration(value)


def _format_optional(ns: int | None) -> str | None:
    return None if ns is None else format_duration_ns(ns)


OptionalDuration = Annotated[int | None, BeforeValidator(_optional_duration),
                             PlainSerializer(_format_optional), _DURATION_SCHEMA]


# ---- UTC times -------------------------------------------------------------------------------
def parse_utc(value: Any) -> int:
    """ISO 8601 UTC text to int ns since the POSIX epoch."""
    if not isinstance(value, str):
        raise problem(f"expected an ISO 8601 UTC time, got {_kind(value)}",
                      "e.g. 2026-05-30T18:00:00Z")
    try:
        return int(Time.parse(value))
    except InputError as exc:
        raise _from_input_error(exc) from None
    except (OverflowError, ValueError):
        raise problem(f"time {value!r} is outside 1678 … 2262 (int64 nanoseconds)",
                      "e.g. 2026-05-30T18:00:00Z") from None


def _format_utc(ns: int | None) -> str | None:
    return None if ns is None else str(Time(ns).iso("ns")).replace(".000000000Z", "Z")


def _optional_utc(value: Any) -> int | None:
    return None if value is None else parse_utc(value)


#: An optional absolute UTC instant: ISO text in YAML, int ns in the model.
UtcNs = Annotated[int | None, BeforeValidator(_optional_utc), PlainSerializer(_format_utc),
                  WithJsonSchema({"type": "string", "format": "date-time"})]


# ---- instants of a run -----------------------------------------------------------------------
_DATE = re.compile(r"\s*\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class At:
    """An instant of a run: an offset from the run start, or an absolute UTC time.

    Exactly one of ``offset_ns`` (int ns after the start) and ``utc_ns`` (int ns since
    1970-01-01 UTC) is set. :meth:`time_ns` gives the absolute instant for a run start.
    """

    offset_ns: int | None = None
    utc_ns: int | None = None

    def time_ns(self, start_ns: int) -> int:
        """The instant as int ns UTC, for a run that starts at ``start_ns``."""
        return start_ns + self.offset_ns if self.offset_ns is not None else int(self.utc_ns or 0)

    def __str__(self) -> str:
        if self.offset_ns is not None:
            return format_duration_ns(self.offset_ns)
        return _format_utc(self.utc_ns) or ""

    @classmethod
    def parse(cls, value: Any) -> At:
        """``30m``/``01:30`` (offset) or ``2026-05-30T18:00:00Z`` (absolute)."""
        if isinstance(value, At):
            return value
        if isinstance(value, str) and _DATE.match(value):
            return cls(utc_ns=parse_utc(value))
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            raise problem(f"an instant needs a unit, got the bare number {value!r}", AT_HELP)
        if not isinstance(value, str):
            raise problem(f"expected an instant, got {_kind(value)}", AT_HELP)
        try:
            ns = parse_duration_ns(value)
        except InputError as exc:
            raise problem(exc.message, AT_HELP) from None
        if ns > MAX_DURATION_NS:
            raise problem(f"offset {value!r} is more than 30 years", AT_HELP)
        return cls(offset_ns=ns)


#: An :class:`At` field: offset or ISO text in YAML, ``At`` in the model, text when dumped.
AtField = Annotated[At, BeforeValidator(At.parse), PlainSerializer(str),
                    WithJsonSchema({"type": "string", "examples": ["01:30", "45m",
                                                                   "2026-05-30T18:00:00Z"]})]
