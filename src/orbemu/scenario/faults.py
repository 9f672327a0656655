"""Faults: the scripted-fault model, its one-line grammar, and seeded random faults.

One model, :class:`Fault`, holds a fault however it was written: as a mapping in a scenario's
``faults.scripted`` list, as a one-line string in that list, or on the command line
(``orbemu run --fault 'sat:STARLINK-1234 down at 01:00 for 30m'``). The grammar::

    KIND:TARGET EFFECT [to FRACTION] at WHEN [for DURATION]

    sat:STARLINK-1234 down at 01:00 for 30m     satellite lost (for 30 minutes; omit: for good)
    isl:12-13 down at 45m for 2h                ISL terminal failure between two satellites
    isl:EO-P0-S1,EO-P1-S1 down at 10m           (names with '-': separate them with ',')
    station:Svalbard down at 2h for 1h          ground-station outage (any ground node)
    battery:EO-P0-S1 degrade to 70% at 00:30    battery capacity drops to 70 % (or 0.7)
    seu:EO-P1-S2 reboot at 1h for 2m            single-event upset: reboot, back after 2 minutes
    seu:EO-P1-S2 safe at 1h                     single-event upset: safe mode until commanded

``WHEN`` is an offset from the run start (``45m``, ``1h30m``, ``01:30`` = 1 h 30 min) or an
ISO 8601 UTC time. Satellites are named by name or catalog number; stations by name. Names are
resolved against the loaded constellations and ground nodes when the run starts, not here.

Random faults (:class:`RandomFault`) are Poisson processes, ``rate_per_day`` per target;
:func:`sample_random_faults` draws them from a seed, so a scenario and seed give the same faults.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from pydantic import Field, ValidationError, model_validator

from orbemu.constants import NS_PER_DAY
from orbemu.errors import ScenarioError
from orbemu.scenario._types import AtField, OptionalDuration, ScenarioModel, problem
from orbemu.units import format_duration_ns

__all__ = [
    "DEFAULT_EFFECT",
    "EFFECTS",
    "FAULT_GRAMMAR",
    "Fault",
    "FaultEffect",
    "FaultKind",
    "RandomFault",
    "parse_fault_spec",
    "sample_random_faults",
]

FaultKind = Literal["sat", "isl", "station", "battery", "seu"]
FaultEffect = Literal["down", "degrade", "reboot", "safe"]

#: The effects each kind allows (the first is the default).
EFFECTS: dict[str, tuple[str, ...]] = {
    "sat": ("down",),
    "isl": ("down",),
    "station": ("down",),
    "battery": ("degrade",),
    "seu": ("reboot", "safe"),
}
DEFAULT_EFFECT = {kind: effects[0] for kind, effects in EFFECTS.items()}

FAULT_GRAMMAR = (
    "Write KIND:TARGET EFFECT [to FRACTION] at WHEN [for DURATION], e.g. "
    "'sat:STARLINK-1234 down at 01:00 for 30m', 'isl:12-13 down at 45m', "
    "'station:Svalbard down at 2h for 1h', 'battery:EO-P0-S1 degrade to 70% at 30m', "
    "'seu:EO-P1-S2 reboot at 1h for 2m' (kinds: sat, isl, station, battery, seu; WHEN is an "
    "offset from the start or an ISO UTC time)"
)

_SPEC = re.compile(
    r"\s*(?P<kind>[A-Za-z_]+)\s*:\s*(?P<target>\S(?:.*?\S)??)\s+"
    r"(?P<effect>[A-Za-z_]+)"
    r"(?:\s+to\s+(?P<fraction>\S+))?"
    r"\s+at\s+(?P<at>\S+)"
    r"(?:\s+for\s+(?P<duration>\S+))?\s*",
    re.IGNORECASE,
)
_ISL_DIGITS = re.compile(r"\s*(\d+)\s*-\s*(\d+)\s*")


def split_isl_target(target: str) -> tuple[str, str] | None:
    """``"12-13"`` → ``("12", "13")``; ``"A,B"`` or ``"A<->B"`` → ``("A", "B")``; else None."""
    for sep in ("<->", ","):
        if sep in target:
            a, _, b = target.partition(sep)
            a, b = a.strip(), b.strip()
            return (a, b) if a and b and sep not in b else None
    match = _ISL_DIGITS.fullmatch(target)
    return (match.group(1), match.group(2)) if match else None


class Fault(ScenarioModel):
    """One scripted fault (see the module notes for the one-line form).

    Attributes
    ----------
    kind: ``sat`` (satellite lost), ``isl`` (ISL terminal failure), ``station`` (ground-station
        outage), ``battery`` (capacity degradation), ``seu`` (single-event upset).
    target: satellite name or catalog number; ``A-B``/``A,B`` for an ISL; a station name.
    effect: ``down`` (sat, isl, station), ``degrade`` (battery), ``reboot`` or ``safe`` (seu);
        defaults to the kind's first effect.
    at: when it happens (:class:`~orbemu.scenario._types.At`: offset from start or UTC).
    duration_ns: how long it lasts (YAML ``duration``); ``None``: until the end of the run.
    fraction: battery capacity left after a ``degrade`` (0 < fraction ≤ 1).
    """

    kind: FaultKind = Field(description="sat, isl, station, battery or seu")
    target: str = Field(min_length=1, description="a satellite name or catalog number, "
                        "'A-B' or 'A,B' for an ISL, or a station name")
    effect: FaultEffect = Field(description="down, degrade, reboot or safe")
    at: AtField = Field(description="when: an offset from the run start (45m, 01:30) or an "
                        "ISO UTC time")
    duration_ns: OptionalDuration = Field(None, alias="duration",
                                          description="how long it lasts (30m); omit for the "
                                          "rest of the run")
    fraction: float | None = Field(None, gt=0.0, le=1.0,
                                   description="battery capacity left, 0 < fraction <= 1")

    @model_validator(mode="before")
    @classmethod
    def _default_effect(cls, data: Any) -> Any:
        if isinstance(data, str):
            return _spec_fields(data)
        if isinstance(data, dict) and "effect" not in data:
            kind = data.get("kind")
            if isinstance(kind, str) and kind in DEFAULT_EFFECT:
                return {**data, "effect": DEFAULT_EFFECT[kind]}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Fault:
        allowed = EFFECTS[self.kind]
        if self.effect not in allowed:
            raise problem(f"a {self.kind} fault cannot be {self.effect!r}",
                          f"Use effect: {' or '.join(allowed)} for kind {self.kind}")
        if self.effect == "degrade" and self.fraction is None:
            raise problem("a battery degradation needs the capacity left",
                          "Add fraction: 0.7 (or write 'degrade to 70%')")
        if self.effect != "degrade" and self.fraction is not None:
            raise problem(f"fraction only applies to battery degradation, not {self.kind}",
                          "Remove fraction")
        if self.kind == "isl" and split_isl_target(self.target) is None:
            raise problem(f"an ISL target names two satellites, got {self.target!r}",
                          "Write 12-13 (catalog numbers) or NAME-A,NAME-B")
        return self

    @property
    def isl_pair(self) -> tuple[str, str] | None:
        """The two satellites of an ``isl`` fault (None for other kinds)."""
        return split_isl_target(self.target) if self.kind == "isl" else None

    def to_spec(self) -> str:
        """The one-line form; ``parse_fault_spec(f.to_spec()) == f``."""
        text = f"{self.kind}:{self.target} {self.effect}"
        if self.fraction is not None:
            text += f" to {self.fraction!r}"
        text += f" at {self.at}"
        if self.duration_ns is not None:
            text += f" for {format_duration_ns(self.duration_ns)}"
        return text


def _spec_fields(spec: str) -> dict[str, Any]:
    """Split a one-line fault into the fields of :class:`Fault` (validation happens there)."""
    match = _SPEC.fullmatch(spec)
    if match is None:
        raise problem(f"cannot read fault {spec!r}", FAULT_GRAMMAR)
    kind = match.group("kind").lower()
    if kind not in EFFECTS:
        raise problem(f"unknown fault kind {kind!r} in {spec!r}; kinds: "
                      f"{', '.join(EFFECTS)}", FAULT_GRAMMAR)
    effect = match.group("effect").lower()
    if effect not in EFFECTS[kind]:
        raise problem(f"a {kind} fault cannot be {effect!r} (in {spec!r})",
                      f"Use {' or '.join(EFFECTS[kind])} for {kind}. {FAULT_GRAMMAR}")
    fields: dict[str, Any] = {"kind": kind, "target": match.group("target"), "effect": effect,
                              "at": match.group("at")}
    if match.group("duration") is not None:
        fields["duration"] = match.group("duration")
    raw = match.group("fraction")
    if raw is not None:
        try:
            fields["fraction"] = (float(raw[:-1]) / 100.0 if raw.endswith("%")
                                  else float(raw))
        except ValueError:
            raise problem(f"cannot read the fraction {raw!r} in {spec!r}",
                          "Write a fraction (0.7) or a percentage (70%)") from None
    return fields


def parse_fault_spec(spec: str, *, source: str = "--fault") -> Fault:
    """Parse one fault in the one-line grammar (see the module notes).

    Raises :class:`~orbemu.errors.ScenarioError` naming ``source`` with the grammar in the fix.
    """
    if not isinstance(spec, str):
        raise ScenarioError(f"a fault is text, got {type(spec).__name__}", source=source,
                            fix=FAULT_GRAMMAR)
    try:
        return Fault.model_validate(spec)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            ctx = err.get("ctx") or {}
            field = ".".join(str(p) for p in err["loc"]) or None
            message = ctx.get("message") or err["msg"]
            fix = ctx.get("fix") or ""
            fix = f"{fix}. {FAULT_GRAMMAR}" if fix and FAULT_GRAMMAR not in fix else (
                fix or FAULT_GRAMMAR)
            problems.append(ScenarioError(f"{message} (in {spec!r})", source=source,
                                          field=field, fix=fix))
        raise ScenarioError.collect(problems, source) from None


class RandomFault(ScenarioModel):
    """Faults that strike at random: a Poisson process of ``rate_per_day`` per target.

    Attributes
    ----------
    kind, effect, fraction: as in :class:`Fault`.
    rate_per_day: expected faults per target per simulated day (> 0).
    duration_ns: how long each lasts (YAML ``duration``); ``None``: until the end of the run.
    targets: which targets: ``"*"`` (all of the kind), a name pattern (``STARLINK-1*``),
        ``constellation:NAME``, ``class:NAME`` or ``role:relay``/``role:eo`` (satellite kinds).
    """

    kind: FaultKind = Field(description="sat, isl, station, battery or seu")
    effect: FaultEffect = Field(description="down, degrade, reboot or safe")
    rate_per_day: float = Field(gt=0.0, le=1e4,
                                description="expected faults per target per simulated day")
    duration_ns: OptionalDuration = Field(None, alias="duration",
                                          description="how long each fault lasts (20m); omit "
                                          "for the rest of the run")
    fraction: float | None = Field(None, gt=0.0, le=1.0,
                                   description="battery capacity left, 0 < fraction <= 1")
    targets: str = Field("*", min_length=1, description="'*', a name pattern, "
                         "constellation:NAME, class:NAME or role:ROLE")

    @model_validator(mode="before")
    @classmethod
    def _default_effect(cls, data: Any) -> Any:
        if isinstance(data, dict) and "effect" not in data:
            kind = data.get("kind")
            if isinstance(kind, str) and kind in DEFAULT_EFFECT:
                return {**data, "effect": DEFAULT_EFFECT[kind]}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> RandomFault:
        if self.effect not in EFFECTS[self.kind]:
            raise problem(f"a {self.kind} fault cannot be {self.effect!r}",
                          f"Use effect: {' or '.join(EFFECTS[self.kind])} for kind {self.kind}")
        if (self.effect == "degrade") != (self.fraction is not None):
            raise problem("fraction goes with (and only with) battery degradation",
                          "Give fraction: 0.8 for kind battery, none otherwise")
        return self


def sample_random_faults(
    spec: RandomFault,
    targets: Sequence[str],
    window_ns: int,
    seed: int,
    stream: int = 0,
) -> tuple[Fault, ...]:
    """Draw the faults of one random-fault spec over a run window.

    Parameters
    ----------
    spec: the random-fault description.
    targets: (k,) names of the targets it applies to (already selected by ``spec.targets``;
        for ``isl`` use ``"A,B"`` pair names).
    window_ns: the run's length, int ns; faults fall in ``[0, window_ns)`` as offsets.
    seed, stream: the random stream (``numpy.random.default_rng([seed, stream])``); use the
        spec's index in the scenario as ``stream`` so specs draw independently.

    Returns the faults ordered by time, then target order. Each target's count is
    Poisson(``rate_per_day`` × window in days); times are uniform over the window.
    """
    if window_ns <= 0 or not targets:
        return ()
    rng = np.random.default_rng([int(seed), int(stream)])
    lam = spec.rate_per_day * window_ns / NS_PER_DAY
    counts = rng.poisson(lam, size=len(targets))
    who = np.repeat(np.arange(len(targets)), counts)
    when = rng.integers(0, window_ns, size=who.size, dtype=np.int64)
    order = np.lexsort((who, when))
    out = []
    for i in order:
        fields: dict[str, Any] = {"kind": spec.kind, "target": targets[who[i]],
                                  "effect": spec.effect, "at": f"{int(when[i])}ns",
                                  "duration": (None if spec.duration_ns is None
                                               else f"{spec.duration_ns}ns"),
                                  "fraction": spec.fraction}
        out.append(Fault.model_validate(fields))
    return tuple(out)
