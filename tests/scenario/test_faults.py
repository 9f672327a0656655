"""The fault model and its one-line grammar (``orbemu run --fault``)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orbemu.constants import NS_PER_DAY, NS_PER_S
from orbemu.errors import ScenarioError
from orbemu.scenario import FAULT_GRAMMAR, Fault, RandomFault, parse_fault_spec
from orbemu.scenario.faults import sample_random_faults

MIN = 60 * NS_PER_S


def test_the_example_from_the_cli():
    f = parse_fault_spec("sat:STARLINK-1234 down at 01:00 for 30m")
    assert (f.kind, f.target, f.effect) == ("sat", "STARLINK-1234", "down")
    assert f.at.offset_ns == 60 * MIN and f.at.utc_ns is None
    assert f.duration_ns == 30 * MIN
    assert f.fraction is None


@pytest.mark.parametrize(("spec", "kind", "target", "effect", "at_ns", "for_ns", "fraction"), [
    ("isl:12-13 down at 45m", "isl", "12-13", "down", 45 * MIN, None, None),
    ("isl:EO-P0-S1,EO-P1-S1 down at 10m for 1h", "isl", "EO-P0-S1,EO-P1-S1", "down",
     10 * MIN, 60 * MIN, None),
    ("station:Punta Arenas down at 2h for 1h", "station", "Punta Arenas", "down", 120 * MIN,
     60 * MIN, None),
    ("battery:EO-P0-S1 degrade to 70% at 00:30", "battery", "EO-P0-S1", "degrade", 30 * MIN,
     None, 0.7),
    ("battery:EO-P0-S1 degrade to 0.55 at 1h", "battery", "EO-P0-S1", "degrade", 60 * MIN,
     None, 0.55),
    ("seu:EO-P1-S2 reboot at 1h for 2m", "seu", "EO-P1-S2", "reboot", 60 * MIN, 2 * MIN, None),
    ("SEU:EO-P1-S2 SAFE at 1h", "seu", "EO-P1-S2", "safe", 60 * MIN, None, None),
])
def test_each_kind(spec, kind, target, effect, at_ns, for_ns, fraction):
    f = parse_fault_spec(spec)
    assert (f.kind, f.target, f.effect, f.at.offset_ns, f.duration_ns) == (
        kind, target, effect, at_ns, for_ns)
    assert f.fraction == fraction


def test_absolute_time_and_isl_pair():
    f = parse_fault_spec("isl:44714-44718 down at 2026-05-30T18:00:00Z")
    assert f.at.utc_ns == 1_780_164_000 * NS_PER_S
    assert f.at.time_ns(0) == 1_780_164_000 * NS_PER_S
    assert f.isl_pair == ("44714", "44718")
    assert parse_fault_spec("isl:A-1,B-2 down at 1m").isl_pair == ("A-1", "B-2")
    assert parse_fault_spec("sat:A down at 1m").isl_pair is None


@pytest.mark.parametrize(("spec", "needle"), [
    ("sat:X", "cannot read fault"),
    ("sat X down at 1h", "cannot read fault"),
    ("moon:X down at 1h", "unknown fault kind 'moon'"),
    ("sat:X explode at 1h", "cannot be 'explode'"),
    ("battery:X degrade at 1h", "needs the capacity left"),
    ("battery:X degrade to lots at 1h", "cannot read the fraction 'lots'"),
    ("battery:X degrade to 150% at 1h", "less than or equal to 1"),
    ("sat:X down at noon", "noon"),
    ("sat:X down at 1h for ever", "ever"),
    ("isl:STARLINK-1-STARLINK-2 down at 1h", "an ISL target names two satellites"),
])
def test_bad_specs_say_what_and_give_the_grammar(spec, needle):
    with pytest.raises(ScenarioError) as info:
        parse_fault_spec(spec)
    text = str(info.value)
    assert needle in text
    assert "--fault" in text
    assert FAULT_GRAMMAR in text


_name = st.from_regex(r"[A-Z][A-Z0-9\-]{0,11}[A-Z0-9]", fullmatch=True)


@st.composite
def faults(draw) -> Fault:
    kind = draw(st.sampled_from(["sat", "isl", "station", "battery", "seu"]))
    effect = {"sat": "down", "isl": "down", "station": "down", "battery": "degrade",
              "seu": draw(st.sampled_from(["reboot", "safe"]))}[kind]
    if kind == "isl":
        target = draw(st.one_of(
            st.tuples(st.integers(1, 339_999), st.integers(1, 339_999)).map(
                lambda p: f"{p[0]}-{p[1]}"),
            st.tuples(_name, _name).map(lambda p: f"{p[0]},{p[1]}")))
    else:
        target = draw(_name)
    if draw(st.booleans()):
        at = f"{draw(st.integers(0, 30 * NS_PER_DAY))}ns"
    else:
        at = f"{draw(st.integers(0, 20_000 * NS_PER_DAY)) + 1_700_000_000 * NS_PER_S}"
        from orbemu.time import Time
        at = str(Time(int(at)).iso("ns"))
    fields = {"kind": kind, "target": target, "effect": effect, "at": at}
    if draw(st.booleans()):
        fields["duration"] = f"{draw(st.integers(0, 30 * NS_PER_DAY))}ns"
    if kind == "battery":
        fields["fraction"] = draw(st.floats(1e-6, 1.0))
    return Fault.model_validate(fields)


@given(faults())
def test_to_spec_round_trips(fault):
    again = parse_fault_spec(fault.to_spec())
    assert again == fault
    assert again.to_spec() == fault.to_spec()


def test_yaml_mapping_and_spec_give_the_same_model():
    a = Fault.model_validate({"kind": "seu", "target": "EO-P1-S2", "effect": "reboot",
                              "at": "1h", "duration": "2m"})
    assert a == parse_fault_spec("seu:EO-P1-S2 reboot at 1h for 2m")
    # the effect defaults to the kind's first one
    assert Fault.model_validate({"kind": "sat", "target": "X", "at": "1h"}).effect == "down"


def test_random_faults_are_seeded_and_poisson():
    spec = RandomFault.model_validate({"kind": "sat", "rate_per_day": 2.0, "duration": "10m"})
    names = [f"S{i}" for i in range(500)]
    window = 3 * NS_PER_DAY
    a = sample_random_faults(spec, names, window, seed=1)
    assert a == sample_random_faults(spec, names, window, seed=1)
    assert a != sample_random_faults(spec, names, window, seed=2)
    assert a != sample_random_faults(spec, names, window, seed=1, stream=1)
    # 500 targets × 2/day × 3 days = 3,000 expected; Poisson sd ≈ 55: 5 sd
    assert abs(len(a) - 3000) < 5 * math.sqrt(3000)
    offsets = [f.at.offset_ns for f in a]
    assert offsets == sorted(offsets)
    assert all(0 <= t < window for t in offsets)
    assert all(f.duration_ns == 10 * MIN and f.kind == "sat" for f in a)
    # uniform in time: about half in each half of the window (5 sd)
    first_half = sum(t < window // 2 for t in offsets)
    assert abs(first_half - len(a) / 2) < 5 * math.sqrt(len(a) / 4)
    assert sample_random_faults(spec, [], window, seed=1) == ()
