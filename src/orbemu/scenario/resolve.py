"""From a validated scenario to domain objects: satellites, ground nodes, targets, faults.

:func:`resolve_scenario` loads what a :class:`~orbemu.scenario.model.Scenario` names (bundled
sets, files, Walker shells, presets, ground lists, target CSVs), applies selections and
per-source settings, draws the random faults and checks every name a fault or command uses.
The result, :class:`ResolvedScenario`, holds plain library objects (``ElementSet``,
``GroundNodes``, ``Time``, numpy arrays) that the engine takes without knowing about YAML.

Errors (a missing file, a fault naming an unknown satellite) are
:class:`~orbemu.errors.ScenarioError` with the scenario file, the line and the YAML path.
"""

from __future__ import annotations

import csv
import fnmatch
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from orbemu.errors import InputError, OrbemuError, ScenarioError
from orbemu.io._source import read_text
from orbemu.io.elements import load_elements
from orbemu.io.ground import load_ground_nodes, unique_names
from orbemu.orbits.elements import ElementSet
from orbemu.orbits.ground_nodes import MASK_BINS, GroundNodes
from orbemu.orbits.presets import walker_preset
from orbemu.orbits.walker import DEFAULT_EPOCH, MAX_CATALOG_NUMBER, walker_delta, walker_star
from orbemu.scenario.faults import Fault, sample_random_faults, split_isl_target
from orbemu.scenario.loader import format_yaml_path
from orbemu.scenario.model import Constellation, GroundSource, Scenario
from orbemu.spacecraft.targets import Targets
from orbemu.time import Time

__all__ = ["ResolvedScenario", "resolve_scenario"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Minimum elevation of ground stations that give none, degrees.
DEFAULT_STATION_MIN_ELEVATION_DEG = 5.0


@dataclass(frozen=True, eq=False)
class ResolvedScenario:
    """A scenario with everything it names loaded.

    Attributes
    ----------
    scenario: the validated :class:`Scenario`.
    elements: every satellite of every constellation, in scenario order (n satellites).
    constellation: (n,) index of each satellite's constellation in ``scenario.constellations``.
    roles: (n,) ``relay``, ``eo`` or ``tracked``.
    spacecraft_class: (n,) spacecraft class name (``""``: the defaults).
    ground: every ground node (m), sections in the order stations, gateways, pops, sites,
        destinations; ``roles`` station, gateway, pop, site, cloud; names unique.
    antennas: (m,) parallel contacts per node. setup_s: (m,) slew/setup time per node, s.
    targets: the imaging targets (:class:`orbemu.spacecraft.Targets`).
    start: the first instant; ``end`` = start + duration.
    faults: scripted and random faults (all kinds but random ``isl``), ordered by time.
    random_isl: ``(stream, RandomFault)`` of random ISL faults, to draw with
        :func:`~orbemu.scenario.faults.sample_random_faults` once the ISL plan is known (use
        ``scenario.fault_seed`` and the stream given).
    """

    scenario: Scenario
    elements: ElementSet
    constellation: npt.NDArray[np.int32]
    roles: npt.NDArray[np.object_]
    spacecraft_class: npt.NDArray[np.object_]
    ground: GroundNodes
    antennas: npt.NDArray[np.int32]
    setup_s: FloatArray
    targets: Targets
    start: Time
    end: Time
    faults: tuple[Fault, ...]
    random_isl: tuple[tuple[int, Any], ...]

    def times(self) -> Time:
        """Every step instant, ``start`` … ``end`` (``n_steps + 1`` values)."""
        run = self.scenario.run
        return Time.range(self.start, run.duration_ns, run.step_ns)

    def select_satellites(self, selector: str) -> IntArray:
        """Indices of the satellites a selector names: ``all``/``*``, ``constellation:NAME``,
        ``class:NAME``, ``role:ROLE``, a name, a glob pattern or a catalog number."""
        return _select_sats(self, selector)

    def satellite_index(self, key: str) -> int:
        """The index of one satellite by name or catalog number (:class:`ScenarioError`)."""
        hits = _match_one_sat(self.elements, key)
        if hits.size == 0:
            raise ScenarioError(f"no satellite {key!r} in the scenario",
                                source=self.scenario.source_path,
                                fix="Use a satellite name or catalog number")
        return int(hits[0])


# ---- errors with lines -----------------------------------------------------------------------
def _error(sc: Scenario, path: tuple[Any, ...], message: str, fix: str | None = None,
           ) -> ScenarioError:
    path = sc.yaml_path(path)
    line = sc.line_of(path)
    text = None
    if line is not None and sc.source_text:
        lines = sc.source_text.splitlines()
        text = lines[line - 1] if 0 < line <= len(lines) else None
    return ScenarioError(message, source=sc.source_path, line=line,
                         field=format_yaml_path(path) or None, text=text, fix=fix)


def _wrap(sc: Scenario, path: tuple[Any, ...], exc: OrbemuError) -> ScenarioError:
    """An error from a loader, placed at the scenario entry that asked for it."""
    if isinstance(exc, InputError):
        where = exc.where()
        message = f"{where}: {exc.message}" if where else exc.message
        if exc.text is not None:
            message += f" (line: {exc.text!r})"
        return _error(sc, path, message, exc.fix)
    return _error(sc, path, str(exc))


# ---- satellites ------------------------------------------------------------------------------
def _match_one_sat(elements: ElementSet, key: str) -> IntArray:
    key = key.strip()
    hits = np.flatnonzero(elements.names == key)
    if hits.size == 0 and key.isdigit():
        hits = np.flatnonzero(elements.norad_ids == int(key))
    return hits


def _glob(names: npt.NDArray[np.object_], patterns: Sequence[str]) -> npt.NDArray[np.bool_]:
    keep = np.zeros(len(names), bool)
    text = [str(n) for n in names]
    for pattern in patterns:
        if any(ch in pattern for ch in "*?["):
            keep |= np.array([fnmatch.fnmatchcase(n, pattern) for n in text], bool)
        else:
            keep |= names == pattern
    return keep


def _load_constellation(sc: Scenario, i: int, c: Constellation, next_number: int) -> ElementSet:
    path: tuple[Any, ...] = ("constellations", i)
    auto = next_number if next_number <= MAX_CATALOG_NUMBER else 1
    try:
        if c.dataset is not None:
            es = load_elements(c.dataset)
        elif c.file is not None:
            es = load_elements(c.file)
        elif c.preset is not None:
            es = walker_preset(c.preset,
                               epoch=None if c.epoch_ns is None else Time(c.epoch_ns),
                               first_catalog_number=auto)
        else:
            w = c.walker
            assert w is not None
            make = walker_star if w.pattern == "star" else walker_delta
            spread = w.raan_spread_deg if w.raan_spread_deg is not None else (
                180.0 if w.pattern == "star" else 360.0)
            first = w.first_catalog_number or auto
            if first + w.n_sats - 1 > MAX_CATALOG_NUMBER:
                first = 1
            es = make(
                w.planes, w.sats_per_plane, w.phasing,
                inclination_deg=w.inclination_deg,
                altitude_m=None if w.altitude_km is None else w.altitude_km * 1e3,
                mean_motion_rev_day=w.mean_motion_rev_day,
                eccentricity=w.eccentricity, arg_perigee_deg=w.arg_perigee_deg,
                raan_spread_deg=spread, raan_offset_deg=w.raan_offset_deg,
                mean_anomaly_offset_deg=w.mean_anomaly_offset_deg,
                odd_plane_shift_slots=w.odd_plane_shift_slots,
                epoch=DEFAULT_EPOCH if w.epoch_ns is None else Time(w.epoch_ns),
                name_prefix=c.name.upper(), first_catalog_number=first)
    except OrbemuError as exc:
        raise _wrap(sc, (*path, c.source_kind), exc) from None
    sel = c.select
    if sel is not None:
        keep = np.ones(len(es), bool)
        if sel.ids is not None:
            keep &= np.isin(es.norad_ids, np.asarray(sel.ids, np.int64))
        if sel.names is not None:
            keep &= _glob(es.names, sel.names)
        idx = np.flatnonzero(keep)
        if sel.count is not None:
            idx = idx[: sel.count]
        if idx.size == 0:
            raise _error(sc, (*path, "select"),
                         f"the selection keeps none of the {len(es)} satellites of {c.name!r}",
                         "Check the ids/names (names are exact or glob patterns like "
                         "STARLINK-1*)")
        es = es.select(idx)
    return es


# ---- ground ----------------------------------------------------------------------------------
def _load_ground_source(sc: Scenario, path: tuple[Any, ...], src: GroundSource,
                        role: str) -> GroundNodes:
    gsl = sc.network.gsl
    min_el = src.min_elevation_deg
    if min_el is None:
        min_el = DEFAULT_STATION_MIN_ELEVATION_DEG if role == "station" else gsl.min_elevation_deg
    max_range_km = src.max_range_km if src.max_range_km is not None else (
        None if role == "station" else gsl.max_range_km)
    try:
        if src.name is not None:
            nodes = GroundNodes.from_arrays(
                [src.name], [src.lat_deg], [src.lon_deg], [src.alt_m], roles=role,
                networks="scenario", source=sc.source_path or "scenario")
        else:
            nodes = load_ground_nodes(src.dataset if src.dataset is not None else str(src.file),
                                      role=role)
    except OrbemuError as exc:
        raise _wrap(sc, path, exc) from None
    if src.select is not None:
        idx = np.arange(len(nodes))
        if src.select.names is not None:
            idx = np.flatnonzero(_glob(nodes.names, src.select.names))
        if src.select.count is not None:
            idx = idx[: src.select.count]
        if idx.size == 0:
            raise _error(sc, (*path, "select"), "the selection keeps no ground node",
                         "Check the names (exact or glob patterns)")
        nodes = nodes.select(idx)
    nodes = nodes.with_min_elevation(min_el)
    if max_range_km is not None:
        nodes = nodes.with_max_range(max_range_km * 1e3)
    if src.mask_deg is not None:
        row = GroundNodes.mask_from_points([p[0] for p in src.mask_deg],
                                           [p[1] for p in src.mask_deg])
        from dataclasses import replace
        nodes = replace(nodes, mask_deg=np.broadcast_to(row, (len(nodes), MASK_BINS)).copy(),
                        _cache={})
    return nodes


def _load_ground(sc: Scenario) -> tuple[GroundNodes, npt.NDArray[np.int32], FloatArray]:
    parts, antennas, setup = [], [], []
    for section, role, sources in sc.ground.sections():
        for i, src in enumerate(sources):
            nodes = _load_ground_source(sc, ("ground", section, i), src, role)
            parts.append(nodes)
            antennas.append(np.full(len(nodes), src.antennas, np.int32))
            setup.append(np.full(len(nodes), src.setup_s))
    if not parts:
        empty = GroundNodes.from_arrays([], [], [], [], source="scenario")
        return empty, np.zeros(0, np.int32), np.zeros(0)
    joined = GroundNodes.concat(parts, source=sc.source_path or "scenario")
    names = unique_names(str(n) for n in joined.names)
    if names != [str(n) for n in joined.names]:
        from dataclasses import replace
        arr = np.empty(len(names), dtype=object)
        arr[:] = names
        joined = replace(joined, names=arr, _cache={})
    return joined, np.concatenate(antennas), np.concatenate(setup)


# ---- targets ---------------------------------------------------------------------------------
def _read_targets_csv(sc: Scenario, path: tuple[Any, ...], file: str
                      ) -> list[tuple[str, float, float, float, float | None]]:
    try:
        src = read_text(file)
    except OrbemuError as exc:
        raise _wrap(sc, path, exc) from None
    rows = list(csv.reader(io.StringIO(src.text)))
    fix = ("Write a CSV with a header name,lat_deg,lon_deg[,priority][,revisit_s] and one target "
           "per row")
    if not rows:
        raise ScenarioError("no rows", source=src.name, fix=fix)
    header = [h.strip().lower() for h in rows[0]]
    if not {"name", "lat_deg", "lon_deg"} <= set(header):
        raise ScenarioError(f"header {','.join(header)!r} lacks name, lat_deg or lon_deg",
                            source=src.name, line=1, fix=fix)
    col = {h: k for k, h in enumerate(header)}
    out: list[tuple[str, float, float, float, float | None]] = []
    for line_no, row in enumerate(rows[1:], start=2):
        if not row or not "".join(row).strip():
            continue
        if len(row) != len(header):
            raise ScenarioError(f"{len(row)} columns for a header of {len(header)}",
                                source=src.name, line=line_no, text=",".join(row), fix=fix)
        values: list[float | None] = []
        for key, low, high, default in (("lat_deg", -90.0, 90.0, None),
                                        ("lon_deg", -180.0, 180.0, None),
                                        ("priority", 0.0, 1e6, 1.0),
                                        ("revisit_s", 0.0, 1e9, None)):
            if key not in col:
                values.append(default)
                continue
            raw = row[col[key]].strip()
            try:
                v = float(raw)
            except ValueError:
                v = float("nan")
            if not (low <= v <= high) or (key == "priority" and v <= 0):
                raise ScenarioError(f"{key} must be a number in {low:g} … {high:g}, got {raw!r}",
                                    source=src.name, line=line_no, field=key,
                                    text=",".join(row), fix=fix)
            values.append(v)
        name = row[col["name"]].strip()
        if not name:
            raise ScenarioError("empty name", source=src.name, line=line_no, field="name",
                                text=",".join(row), fix=fix)
        lat, lon, prio, revisit = values
        assert lat is not None and lon is not None and prio is not None
        out.append((name, lat, lon, prio, revisit))
    return out


def _load_targets(sc: Scenario) -> Targets:
    rows: list[tuple[str, float, float, float, float]] = []
    for i, t in enumerate(sc.targets):
        if t.file is not None:
            rows.extend((n, la, lo, p, t.revisit_s if r is None else r)
                        for n, la, lo, p, r in _read_targets_csv(sc, ("targets", i, "file"),
                                                                  t.file))
        else:
            assert t.name is not None and t.lat_deg is not None and t.lon_deg is not None
            rows.append((t.name, t.lat_deg, t.lon_deg, t.priority, t.revisit_s))
    if not rows:
        return Targets.empty()
    return Targets.from_arrays(unique_names(r[0] for r in rows), [r[1] for r in rows],
                               [r[2] for r in rows], priority=[r[3] for r in rows],
                               revisit_s=[r[4] for r in rows],
                               source=sc.source_path or sc.name)


# ---- selectors and faults --------------------------------------------------------------------
def _select_sats(world: ResolvedScenario, selector: str) -> IntArray:
    sc = world.scenario
    text = selector.strip()
    if text in ("all", "*"):
        return np.arange(len(world.elements))
    prefix, sep, name = text.partition(":")
    if sep and prefix in ("constellation", "class", "role"):
        if prefix == "constellation":
            names = [c.name for c in sc.constellations]
            if name not in names:
                return np.zeros(0, np.int64)
            return np.flatnonzero(world.constellation == names.index(name))
        if prefix == "class":
            return np.flatnonzero(world.spacecraft_class == name)
        return np.flatnonzero(world.roles == name)
    hits = _match_one_sat(world.elements, text)
    if hits.size:
        return hits
    return np.flatnonzero(_glob(world.elements.names, [text]))


def _check_fault(world: ResolvedScenario, i: int, fault: Fault) -> None:
    sc = world.scenario
    path = ("faults", "scripted", i)
    if fault.kind == "station":
        names = set(str(n) for n in world.ground.names)
        if fault.target not in names:
            import difflib
            close = difflib.get_close_matches(fault.target, sorted(names), n=1)
            hint = f" — did you mean {close[0]!r}?" if close else ""
            raise _error(sc, path, f"no ground node {fault.target!r}{hint}",
                         "Name a station, gateway, PoP, site or destination of the scenario")
        return
    keys = split_isl_target(fault.target) if fault.kind == "isl" else (fault.target,)
    for key in keys or ():
        if _match_one_sat(world.elements, key).size == 0:
            raise _error(sc, path, f"no satellite {key!r} in the scenario's constellations",
                         "Use a satellite name (STARLINK-1008, EO-P0-S1) or catalog number")


def _draw_faults(world: ResolvedScenario) -> tuple[tuple[Fault, ...], tuple[tuple[int, Any], ...]]:
    sc = world.scenario
    for i, fault in enumerate(sc.faults.scripted):
        _check_fault(world, i, fault)
    drawn: list[Fault] = list(sc.faults.scripted)
    pending: list[tuple[int, Any]] = []
    window = sc.run.duration_ns
    for k, spec in enumerate(sc.faults.random):
        if spec.kind == "isl":
            pending.append((k, spec))
            continue
        if spec.kind == "station":
            stations = world.ground.roles == "station"
            pool = world.ground.names[stations] if spec.targets in ("*", "all") else \
                world.ground.names[_glob(world.ground.names, [spec.targets])]
            targets = [str(n) for n in pool]
        else:
            targets = [str(n) for n in world.elements.names[_select_sats(world, spec.targets)]]
        drawn.extend(sample_random_faults(spec, targets, window, sc.fault_seed, stream=k))
    start = int(world.start)
    drawn.sort(key=lambda f: f.at.time_ns(start))
    return tuple(drawn), tuple(pending)


def _check_commands(world: ResolvedScenario) -> None:
    sc = world.scenario
    for i, cmd in enumerate(sc.schedules):
        if world.select_satellites(cmd.target).size == 0:
            raise _error(sc, ("schedules", i, "target"),
                         f"{cmd.target!r} names no satellite of the scenario",
                         "Use a satellite name or catalog number, constellation:NAME, "
                         "class:NAME, role:ROLE or all")


# ---- the whole scenario ----------------------------------------------------------------------
def resolve_scenario(sc: Scenario) -> ResolvedScenario:
    """Load everything a scenario names (see the module notes). Raises ScenarioError."""
    sets: list[ElementSet] = []
    next_number = 1
    for i, c in enumerate(sc.constellations):
        es = _load_constellation(sc, i, c, next_number)
        sets.append(es)
        if len(es):
            next_number = max(next_number, int(es.norad_ids.max()) + 1)
    elements = sets[0] if len(sets) == 1 else ElementSet.concat(
        sets, source=sc.source_path or sc.name)
    sizes = [len(s) for s in sets]
    constellation = np.repeat(np.arange(len(sets), dtype=np.int32), sizes)
    roles = np.empty(len(elements), dtype=object)
    roles[:] = np.repeat(np.array([c.role for c in sc.constellations], dtype=object), sizes)
    classes = np.empty(len(elements), dtype=object)
    classes[:] = np.repeat(np.array([c.spacecraft or "" for c in sc.constellations],
                                    dtype=object), sizes)
    ground, antennas, setup = _load_ground(sc)
    targets = _load_targets(sc)
    if sc.run.start_ns is not None:
        start = Time(sc.run.start_ns)
    else:
        start = elements.epoch_span()[1]
    world = ResolvedScenario(
        scenario=sc, elements=elements, constellation=constellation, roles=roles,
        spacecraft_class=classes, ground=ground, antennas=antennas, setup_s=setup,
        targets=targets, start=start, end=start + sc.run.duration_ns, faults=(),
        random_isl=())
    faults, pending = _draw_faults(world)
    _check_commands(world)
    object.__setattr__(world, "faults", faults)
    object.__setattr__(world, "random_isl", pending)
    return world
