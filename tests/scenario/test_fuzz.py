"""Property tests: any YAML document either validates or raises ScenarioError — nothing else."""

from __future__ import annotations

import copy
import math

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from orbemu.errors import ScenarioError
from orbemu.scenario import Scenario, parse_scenario_text, show_scenario
from orbemu.scenario.loader import _Loader, _unwrap


def _all_keys() -> list[str]:
    """Every key of the schema (so random documents hit real fields as well as wrong ones)."""
    keys: set[str] = set()
    todo: list[type[BaseModel]] = [Scenario]
    seen: set[type] = set()
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, info in model.model_fields.items():
            keys.add(info.alias or name)
            stack = [info.annotation]
            while stack:
                tp = _unwrap(stack.pop())
                if isinstance(tp, type) and issubclass(tp, BaseModel):
                    todo.append(tp)
                stack.extend(getattr(tp, "__args__", ()) or ())
    return sorted(keys)


KEYS = _all_keys()

scalars = st.one_of(
    st.none(), st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["10s", "1h30m", "01:30", "epoch", "max", "10x", "starlink", "ksat",
                     "kuiper", "relay", "eo", "delta", "star", "plus-grid", "none", "2026-05-30",
                     "2026-05-30T18:00:00Z", "9999-01-01", "sat:X down at 1h",
                     "site:a -> cloud:b", "-5m", "~nobody/x.tle", "a" * 300 + ".tle"]),
)
keys = st.one_of(st.sampled_from(KEYS), st.text(max_size=8), st.integers(-3, 3))
documents = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(keys, children, max_size=6)),
    max_leaves=40,
)


def _try(text: str) -> None:
    try:
        result = parse_scenario_text(text, "fuzz.yaml")
    except ScenarioError as exc:
        assert str(exc)  # renders
        for p in exc.problems or (exc,):
            assert p.source == "fuzz.yaml"
        return
    assert isinstance(result, Scenario)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(documents)
def test_random_documents(doc):
    _try(yaml.safe_dump(doc, allow_unicode=True))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_random_text(text):
    _try(text)


DEFAULT = yaml.load(show_scenario("default"), Loader=_Loader)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


PATHS = [p for p in _paths(DEFAULT) if p]


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(st.tuples(st.sampled_from(PATHS), documents), min_size=1, max_size=3))
def test_mutated_default(mutations):
    doc = copy.deepcopy(DEFAULT)
    for path, value in mutations:
        node = doc
        try:
            for part in path[:-1]:
                node = node[part]
            node[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue
    _try(yaml.safe_dump(doc, allow_unicode=True))


def test_nan_and_infinity_are_refused():
    text = show_scenario("default").replace("altitude_km: 550", "altitude_km: .nan")
    try:
        parse_scenario_text(text, "x.yaml")
    except ScenarioError as exc:
        assert "finite" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("NaN accepted")
    assert not math.isnan(0.0)
