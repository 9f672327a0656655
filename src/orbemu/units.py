"""Parsing of quantities with units, as users type them: durations and distances.

Durations become integer nanoseconds (``parse_duration_ns("90s") == 90_000_000_000``); distances
become metres (``parse_distance_m("1089.686km") == 1_089_686.0``). Anything else is an
:class:`~orbemu.errors.InputError` that says what was received and what is accepted.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from orbemu.constants import NS_PER_S
from orbemu.errors import InputError

_DURATION_UNITS_NS: dict[str, int] = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "ms": 1_000_000,
    "s": NS_PER_S,
    "m": 60 * NS_PER_S,
    "min": 60 * NS_PER_S,
    "h": 3600 * NS_PER_S,
    "d": 86_400 * NS_PER_S,
}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*(ns|us|µs|ms|min|s|m|h|d)")
_CLOCK = re.compile(r"(\d+):(\d{2})(?::(\d{2}(?:\.\d+)?))?")

_DURATION_HELP = (
    "Write a number and a unit: ns, us, ms, s, m (minutes), h, d; parts may be combined "
    "('1h30m'), or use HH:MM[:SS] — e.g. 100ms, 90s, 15m, 6h, 7d"
)


def parse_duration_ns(text: str | int | float, *, field: str = "duration") -> int:
    """Parse ``100ms``, ``90s``, ``15m``, ``6h``, ``7d``, ``1h30m`` or ``01:30:00`` to int ns.

    A bare number is refused (the unit is ambiguous) unless it is already an ``int``, which is
    taken as nanoseconds. Negative durations are refused.
    """
    if isinstance(text, bool):
        raise InputError(f"expected a duration, got {text!r}", field=field, fix=_DURATION_HELP)
    if isinstance(text, int):
        if text < 0:
            raise InputError(f"duration must not be negative, got {text} ns", field=field)
        return text
    if isinstance(text, float):
        raise InputError(
            f"a duration needs a unit, got the bare number {text!r}",
            field=field,
            fix=_DURATION_HELP,
        )
    raw = str(text)
    s = raw.strip().lower().replace(" ", "")
    if not s:
        raise InputError("empty duration", field=field, fix=_DURATION_HELP)
    clock = _CLOCK.fullmatch(s)
    if clock:
        h, m, sec = clock.group(1), clock.group(2), clock.group(3) or "0"
        if int(m) >= 60 or Decimal(sec) >= 60:
            raise InputError(f"invalid clock duration {raw!r}", field=field, fix=_DURATION_HELP)
        total = (Decimal(h) * 3600 + Decimal(m) * 60 + Decimal(sec)) * NS_PER_S
        return int(total)
    pos = 0
    total_ns = Decimal(0)
    for match in _DURATION_PART.finditer(s):
        if match.start() != pos:
            break
        try:
            value = Decimal(match.group(1))
        except InvalidOperation:  # pragma: no cover - regex guarantees digits
            break
        total_ns += value * _DURATION_UNITS_NS[match.group(2)]
        pos = match.end()
    if pos != len(s) or pos == 0:
        if re.fullmatch(r"[-+]?\d+(\.\d*)?", s):
            raise InputError(
                f"a duration needs a unit, got the bare number {raw!r}",
                field=field,
                fix=_DURATION_HELP,
            )
        if s.startswith("-"):
            raise InputError(f"duration must not be negative, got {raw!r}", field=field)
        raise InputError(f"cannot read duration {raw!r}", field=field, fix=_DURATION_HELP)
    ns = int(total_ns)
    if ns != total_ns:
        raise InputError(
            f"duration {raw!r} is finer than one nanosecond", field=field, fix=_DURATION_HELP
        )
    return ns


_DISTANCE_UNITS_M = {"m": 1.0, "km": 1000.0}
_DISTANCE = re.compile(r"([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?)\s*(km|m)")
_DISTANCE_HELP = "Write a number and a unit, m or km — e.g. 5016591m, 1089.686km"


def parse_distance_m(text: str | float | int, *, field: str = "distance") -> float:
    """Parse ``5016591m`` or ``1089.686km`` to metres (float). Bare numbers are refused."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        raise InputError(
            f"a distance needs a unit, got the bare number {text!r}",
            field=field,
            fix=_DISTANCE_HELP,
        )
    raw = str(text)
    s = raw.strip().lower().replace(" ", "")
    match = _DISTANCE.fullmatch(s)
    if not match:
        raise InputError(f"cannot read distance {raw!r}", field=field, fix=_DISTANCE_HELP)
    value = float(match.group(1)) * _DISTANCE_UNITS_M[match.group(2)]
    if value < 0:
        raise InputError(f"distance must not be negative, got {raw!r}", field=field)
    return value


def format_duration_ns(ns: int) -> str:
    """The shortest exact rendering: ``90s``, ``15m``, ``1h30m``, ``250ms``."""
    if ns == 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86_400 * NS_PER_S), ("h", 3600 * NS_PER_S), ("m", 60 * NS_PER_S),
                       ("s", NS_PER_S), ("ms", 1_000_000), ("us", 1_000), ("ns", 1)):
        if ns >= size:
            count, ns = divmod(ns, size)
            parts.append(f"{count}{unit}")
    return "".join(parts)
