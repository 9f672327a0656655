"""Reading scenario files: YAML with line tracking → :class:`Scenario`, or every problem at once.

YAML is read with a YAML 1.2-style resolver: only ``true``/``false`` are booleans (``no`` and
``on`` stay text: a station in Norway, ``NO``, is not ``False``), ``1:30`` stays text (YAML 1.1
would read 90, a base-60 integer) and dates stay text (parsed as UTC by the models). Each value's
line is kept, so a pydantic error's location (``('constellations', 1, 'walker', 'planes')``)
becomes a line and a YAML path (``constellations[1].walker.planes``).

Every problem of a file is reported at once, in line order, as one
:class:`~orbemu.errors.ScenarioError` (``problems`` lists them): the file, the line, the YAML
path, the value, what was expected, and a fix — for a misspelled key, the closest allowed key.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from orbemu.errors import ScenarioError
from orbemu.scenario.checks import reference_problems
from orbemu.scenario.model import Scenario

__all__ = ["format_yaml_path", "load_scenario", "parse_scenario_text", "with_overrides"]

_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MAX_NODES = 200_000


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core-schema scalars (see the module notes)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_BOOL, _INT, _FLOAT, _TIMESTAMP)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                              list("tTfF"))
_Loader.add_implicit_resolver(_INT, re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$"),
                              list("-+0123456789"))
_Loader.add_implicit_resolver(
    _FLOAT,
    re.compile(r"^(?:[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)(?:[eE][-+]?[0-9]+)?"
               r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."),
)

Path_ = tuple[Any, ...]


def format_yaml_path(path: Path_) -> str:
    """``('constellations', 1, 'walker', 'planes')`` → ``constellations[1].walker.planes``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


# ---- YAML with marks --------------------------------------------------------------------------
class _Marks:
    """Where each value of the document is: path → (line, column), 1-based."""

    def __init__(self) -> None:
        self.at: dict[Path_, tuple[int, int]] = {}
        self.duplicates: list[tuple[Path_, int, int]] = []  # (path, line, first line)
        self.count = 0

    def line_of(self, path: Path_) -> int:
        for n in range(len(path), -1, -1):
            if path[:n] in self.at:
                return self.at[path[:n]][0]
        return 1


def _walk(node: yaml.Node, path: Path_, loader: _Loader, marks: _Marks,
          stack: set[int]) -> None:
    marks.count += 1
    if marks.count > _MAX_NODES:
        raise ScenarioError(f"the document has more than {_MAX_NODES:,} values (aliases "
                            "expanding?)", fix="Write a smaller scenario")
    if id(node) in stack:
        raise ScenarioError("a YAML alias refers to itself", line=node.start_mark.line + 1,
                            fix="Remove the recursive alias")
    stack.add(id(node))
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            try:
                key = loader.construct_object(key_node, deep=True)
                hash(key)
            except (yaml.YAMLError, TypeError):
                continue
            here = (*path, key)
            where = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if here in marks.at:
                marks.duplicates.append((here, where[0], marks.at[here][0]))
            marks.at[here] = where
            _walk(value_node, here, loader, marks, stack)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            here = (*path, i)
            marks.at[here] = (item.start_mark.line + 1, item.start_mark.column + 1)
            _walk(item, here, loader, marks, stack)
    stack.discard(id(node))


def _read_yaml(text: str, source: str) -> tuple[Any, _Marks]:
    marks = _Marks()
    loader: _Loader | None = None
    try:
        loader = _Loader(text)
        node = loader.get_single_node()
        if node is None:
            return None, marks
        data = loader.construct_document(node)
        marks.at[()] = (node.start_mark.line + 1, node.start_mark.column + 1)
        _walk(node, (), loader, marks, set())
        return data, marks
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        what = " ".join(p for p in (exc.context, exc.problem) if p)
        lines = text.splitlines()
        raise ScenarioError(
            f"not valid YAML: {what}", source=source, line=line,
            text=lines[line - 1] if line is not None and 0 < line <= len(lines) else None,
            fix="Check the indentation (spaces, not tabs), colons and quotes near this line",
        ) from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"not valid YAML: {exc}", source=source,
                            fix="Check the file is YAML text") from None
    except RecursionError:
        raise ScenarioError("the document is nested too deeply", source=source,
                            fix="Write a flatter scenario") from None
    except ScenarioError as exc:
        raise ScenarioError(exc.message, source=source, line=exc.line, fix=exc.fix) from None
    finally:
        if loader is not None:
            loader.dispose()


# ---- the model at a YAML path ----------------------------------------------------------------
def _unwrap(tp: Any) -> Any:
    origin = get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(get_args(tp)[0])
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        if models:
            return models[0]
        return _unwrap(args[0]) if len(args) == 1 else tp
    return tp


def _field(model: type[BaseModel], key: Any) -> tuple[str, Any] | None:
    for name, info in model.model_fields.items():
        if key in (info.alias, name) and (info.alias is None or key == info.alias):
            return name, info
    return None


def _allowed_keys(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


def _type_at(path: Path_) -> tuple[Any, Any]:
    """(type, FieldInfo or None) of the value at a YAML path of a scenario (None if unknown)."""
    tp: Any = Scenario
    info = None
    for part in path:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            found = _field(tp, part)
            if found is None:
                return None, None
            tp, info = found[1].annotation, found[1]
            continue
        origin = get_origin(tp)
        args = get_args(tp)
        info = None
        if origin in (tuple, list) and args:
            tp = args[0] if (len(args) == 2 and args[1] is Ellipsis) or origin is list else (
                args[part] if isinstance(part, int) and part < len(args) else None)
        elif origin is dict and args:
            tp = args[1]
        else:
            return None, None
    return _unwrap(tp), info


def _describe(path: Path_) -> str:
    _, info = _type_at(path)
    return (getattr(info, "description", None) or "") if info is not None else ""


# ---- pydantic errors → ScenarioError ---------------------------------------------------------
def _data_path(loc: tuple[Any, ...], data: Any) -> tuple[Path_, bool]:
    """The part of ``loc`` that names values in the document, and whether the last part is a
    key that is absent from it."""
    path: list[Any] = []
    cur = data
    missing = False
    for part in loc:
        if part == "[key]":
            continue
        if isinstance(cur, dict) and part in cur:
            path.append(part)
            cur = cur[part]
        elif isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur):
            path.append(part)
            cur = cur[part]
        elif isinstance(cur, dict) and isinstance(part, str) and re.fullmatch(r"\w+", part):
            path.append(part)
            cur = None
            missing = True
        # else: a union/function tag of pydantic's, or a key of a shorthand that was text
    return tuple(path), missing


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _close(word: Any, options: list[str]) -> str:
    close = difflib.get_close_matches(str(word), options, n=1, cutoff=0.6)
    return f" — did you mean {close[0]!r}?" if close else ""


def _message(err: dict[str, Any], path: Path_, missing: bool) -> tuple[str, str]:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    value = err.get("input")
    key = path[-1] if path else None
    if kind == "orbemu":
        return str(ctx.get("message", err["msg"])), str(ctx.get("fix", ""))
    if kind == "missing":
        desc = _describe(path)
        parent = format_yaml_path(path[:-1]) or "the top level"
        return (f"missing required key {key!r}",
                f"Add {key}: under {parent}" + (f" ({desc})" if desc else ""))
    if kind == "extra_forbidden":
        tp, _ = _type_at(path[:-1])
        allowed = _allowed_keys(tp) if isinstance(tp, type) and issubclass(tp, BaseModel) else []
        return (f"unknown key {key!r}{_close(key, allowed)}",
                f"Keys allowed here: {', '.join(allowed)}" if allowed else "Remove it")
    if kind == "literal_error":
        expected = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        if "[key]" in err["loc"]:
            return (f"unknown key {key!r}{_close(key, expected)}",
                    f"Keys allowed here: {', '.join(expected)}")
        return (f"{_show(value)} is not allowed{_close(value, expected)}",
                f"Use one of: {', '.join(expected)}")
    msg = str(err["msg"])
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    msg = msg[:1].lower() + msg[1:]
    desc = _describe(path)
    fix = f"{key}: {desc}" if desc and key is not None and not missing else ""
    return f"got {_show(value)}: {msg}", fix


def _problems_from(exc: ValidationError, data: Any, marks: _Marks, source: str,
                   lines: list[str]) -> list[tuple[int, ScenarioError]]:
    out = []
    errors = exc.errors(include_url=False)
    for err in errors:
        loc = tuple(err["loc"])
        if err["type"] == "too_short" and any(
                len(e["loc"]) > len(loc) and tuple(e["loc"][:len(loc)]) == loc for e in errors):
            continue  # a list emptied by its own failing items: those items say why
        path, missing = _data_path(tuple(err["loc"]), data)
        message, fix = _message(dict(err), path, missing)
        line = marks.line_of(path)
        out.append((line, ScenarioError(
            message, source=source, line=line, field=format_yaml_path(path) or None,
            text=lines[line - 1] if 0 < line <= len(lines) else None, fix=fix or None)))
    return out


def parse_scenario_text(text: str, source: str = "<string>", *,
                        base_dir: str | Path | None = None,
                        confine_dir: str | Path | None = None) -> Scenario:
    """Validate scenario YAML text.

    Parameters
    ----------
    text: the YAML.
    source: the name errors give for it (a file name).
    base_dir: folder that relative ``file:`` paths are taken from (default: the working
        directory).
    confine_dir: a folder every ``file:`` must stay inside (uploaded scenarios: no absolute
        paths, no ``..`` out of it).

    Raises :class:`~orbemu.errors.ScenarioError` listing every problem (file, line, YAML path,
    value, expected, fix).
    """
    if not isinstance(text, str):
        raise ScenarioError(f"scenario text must be str, got {type(text).__name__}",
                            source=source)
    data, marks = _read_yaml(text, source)
    lines = text.splitlines()
    if not isinstance(data, dict):
        raise ScenarioError(
            f"a scenario is a YAML mapping of sections, got {_show(data)}", source=source,
            line=1, fix="Start with 'name: my-scenario' and a 'constellations:' list; see "
            "orbemu scenario show default")
    found: list[tuple[int, ScenarioError]] = []
    for path, line, first in marks.duplicates:
        found.append((line, ScenarioError(
            f"key {path[-1]!r} appears twice (first on line {first})", source=source,
            line=line, field=format_yaml_path(path), text=lines[line - 1],
            fix="Keep one of them")))
    context = {"base_dir": None if base_dir is None else str(base_dir),
               "confine_dir": None if confine_dir is None else str(confine_dir),
               "defer_references": True}
    scenario = None
    try:
        scenario = Scenario.model_validate(data, context=context)
    except ValidationError as exc:
        found.extend(_problems_from(exc, data, marks, source, lines))
    if scenario is not None:
        for path, message, _value, fix in reference_problems(scenario):
            line = marks.line_of(path)
            found.append((line, ScenarioError(
                message, source=source, line=line, field=format_yaml_path(path),
                text=lines[line - 1] if 0 < line <= len(lines) else None, fix=fix)))
    if found:
        found.sort(key=lambda item: item[0])
        raise ScenarioError.collect([p for _, p in found], source)
    assert scenario is not None
    scenario._source_text = text
    scenario._source_path = source
    scenario._lines = {path: line for path, (line, _) in marks.at.items()}
    return scenario


def load_scenario(path_or_name: str | Path) -> Scenario:
    """Load a scenario from a YAML file, or a built-in one by name (see
    :func:`~orbemu.scenario.builtin.list_scenarios`). An existing file wins over a name."""
    from orbemu.scenario.builtin import builtin_path, is_builtin_name

    path = Path(path_or_name)
    if not path.is_file():
        text_name = str(path_or_name)
        if is_builtin_name(text_name):
            path = builtin_path(text_name)
            scenario = parse_scenario_text(path.read_text(encoding="utf-8"), path.name,
                                           base_dir=path.parent)
            scenario._source_path = f"builtin:{path.stem}"
            return scenario
        from orbemu.scenario.builtin import unknown_scenario_error
        raise unknown_scenario_error(text_name)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"not UTF-8 text ({exc.reason} at byte {exc.start})",
                            source=str(path), fix="Save the scenario as UTF-8") from None
    except OSError as exc:
        raise ScenarioError(f"cannot read the file: {exc.strerror}", source=str(path)) from None
    return parse_scenario_text(text, str(path), base_dir=path.parent)


def with_overrides(
    scenario: Scenario,
    *,
    duration: str | None = None,
    clock: str | None = None,
    seed: int | None = None,
    out_dir: str | None = None,
    faults: tuple[str, ...] | list[str] = (),
) -> Scenario:
    """A scenario with the command line's overrides applied and validated again.

    ``duration`` (``--until 6h``), ``clock`` (``--speed max|realtime|10x``), ``seed``
    (``--seed``), ``out_dir`` (``--out``) and ``faults`` (``--fault`` specs, added to the
    scripted faults). Errors are :class:`ScenarioError` naming the option.
    """
    from orbemu.scenario.faults import parse_fault_spec

    data = scenario.model_dump(mode="json", by_alias=True)
    options: dict[str, str] = {}
    if duration is not None:
        data["run"]["duration"] = duration
        options["run.duration"] = "--until"
    if clock is not None:
        data["run"]["clock"] = clock
        options["run.clock"] = "--speed"
    if seed is not None:
        data["seed"] = seed
        options["seed"] = "--seed"
    if out_dir is not None:
        data["outputs"]["dir"] = str(out_dir)
    added = [parse_fault_spec(spec, source="--fault") for spec in faults]
    data["faults"]["scripted"] = [*data["faults"]["scripted"],
                                  *(f.model_dump(mode="json", by_alias=True) for f in added)]
    try:
        result = Scenario.model_validate(data, context={"defer_references": True})
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            path, missing = _data_path(tuple(err["loc"]), data)
            message, fix = _message(dict(err), path, missing)
            field = format_yaml_path(path)
            option = next((opt for key, opt in options.items() if field.startswith(key)), None)
            problems.append(ScenarioError(message, source=option or scenario.source_path,
                                          field=field or None, fix=fix or None))
        raise ScenarioError.collect(problems, "command line") from None
    found = reference_problems(result)
    if found:
        raise ScenarioError.collect([
            ScenarioError(message, source=scenario.source_path, field=format_yaml_path(path),
                          fix=fix) for path, message, _, fix in found], "command line")
    result._source_text = scenario.source_text
    result._source_path = scenario.source_path
    result._lines = dict(scenario._lines)
    return result
