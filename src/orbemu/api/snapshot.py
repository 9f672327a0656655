"""What the console receives: the full state of a run once, then compact snapshots.

**Full state** (JSON, the first message of a stream and ``GET /api/runs/{id}/state``): the
run's window, the satellites (names, constellation and role indices), the ground nodes (names,
roles, lat/lon/alt), the relay network's ISL plan as pairs of satellite indices, the monitored
pairs and the contact plan. Times are given twice: exact integer nanoseconds as decimal strings
(``*_ns``: JavaScript numbers lose precision past 2^53) and milliseconds as numbers (``*_ms``).

**Snapshot** (one binary WebSocket message)::

    bytes 0-3    b"ORB1"
    bytes 4-7    uint32 little-endian: length H of the header
    bytes 8-8+H  header, UTF-8 JSON padded with spaces to a multiple of 4 bytes
    then         float32 little-endian, (n_sats, 3): ITRF positions, metres (NaN: no state)

The header holds the step, the simulated time, the run state and achieved speed, the satellites
and ground nodes down, the ISLs down by a fault (``isl_down``: ISL-plan rows) and those out of
range or blocked by the Earth at the last network instant (``isl_off``), that instant's ground
links (capped), the current path of every monitored pair (node indices: satellite ``i`` as
``i``, ground node ``j`` as ``-(j + 1)``) with its RTT and hops, and fleet summaries (state of
charge, storage fill, safe mode, contacts active). 10,395 satellites are 125 kB of positions,
read on the client as one ``Float32Array`` view.
"""

from __future__ import annotations

import json
import math
import struct
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

MAGIC = b"ORB1"
#: Ground links sent per snapshot at most (a Starlink gateway sees dozens of satellites).
MAX_GROUND_LINKS = 2000
#: Contact-plan rows sent in the full state at most.
MAX_CONTACTS = 20000

FloatArray = npt.NDArray[np.float64]


def _default(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        v = float(value)
        return v if math.isfinite(v) else None
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (set, tuple)):
        return list(value)
    return str(value)


def _clean(value: Any) -> Any:
    """NaN/inf → None (JSON has no NaN), recursively through dicts and lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        if value and type(value[0]) is int:  # an index list (from .tolist()): all ints
            return value
        return [_clean(v) for v in value]
    return value


def dumps(value: Any) -> str:
    """JSON with numpy values converted and NaN/inf as null."""
    try:  # the common case, all in C: nothing to clean
        return json.dumps(value, default=_default, separators=(",", ":"), allow_nan=False)
    except ValueError:  # a NaN or an infinity somewhere
        return json.dumps(_clean(value), default=_default, separators=(",", ":"),
                          allow_nan=False)


def event_dict(seq: int, time_ns: int, kind: str, subject: str,
               detail: Mapping[str, Any] | None) -> dict[str, Any]:
    """One event as the stream and the REST API give it."""
    return {"seq": int(seq), "time_ns": str(int(time_ns)), "time_ms": int(time_ns) / 1e6,
            "kind": kind, "subject": subject,
            "detail": None if detail is None else dict(detail)}


def encode_snapshot(header: Mapping[str, Any], positions_m: npt.ArrayLike) -> bytes:
    """The binary snapshot message (see the module notes)."""
    text = dumps(header).encode("utf-8")
    text += b" " * (-len(text) % 4)
    pos = np.ascontiguousarray(np.asarray(positions_m, dtype="<f4").reshape(-1, 3))
    return MAGIC + struct.pack("<I", len(text)) + text + pos.tobytes()


def decode_snapshot(data: bytes) -> tuple[dict[str, Any], npt.NDArray[np.float32]]:
    """The inverse of :func:`encode_snapshot` (tests, Python clients)."""
    if data[:4] != MAGIC:
        raise ValueError("not an orbemu snapshot")
    (h,) = struct.unpack("<I", data[4:8])
    header = json.loads(data[8:8 + h].decode("utf-8"))
    pos = np.frombuffer(data, dtype="<f4", offset=8 + h).reshape(-1, 3)
    return header, pos


@dataclass
class Snapshot:
    """One published snapshot: its sequence number, step, the wall time it was taken (``time
    .time()``, for lag measurements) and the encoded message."""

    seq: int
    step: int
    time_ns: int
    wall_s: float
    data: bytes
    header: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunLayout:
    """What does not change during a run: the full state's content, and name look-ups."""

    name: str
    description: str
    start_ns: int
    step_ns: int
    n_steps: int
    sat_names: list[str]
    sat_constellation: list[int]
    constellations: list[str]
    sat_role: list[int]
    roles: list[str]
    ground_names: list[str]
    ground_roles: list[str]
    ground_lat_deg: list[float]
    ground_lon_deg: list[float]
    ground_alt_m: list[float]
    isl_pairs: npt.NDArray[np.int64]  # (k, 2) satellite indices, in ISL-plan row order
    monitor: list[dict[str, Any]]
    contact_plan: dict[str, list[Any]]
    replay: bool = False
    sat_index: dict[str, int] = field(default_factory=dict, repr=False)
    node_index: dict[str, int] = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, *, name: str, description: str, start_ns: int, step_ns: int, n_steps: int,
              sat_names: Sequence[str], constellation: Sequence[str], role: Sequence[str],
              ground_names: Sequence[str], ground_roles: Sequence[str],
              lat_deg: npt.ArrayLike, lon_deg: npt.ArrayLike, alt_m: npt.ArrayLike,
              isl_pairs: npt.ArrayLike, monitor: Sequence[tuple[str, str, int, int]],
              contact_plan: Mapping[str, npt.ArrayLike] | None, replay: bool = False
              ) -> RunLayout:
        consts = sorted(set(constellation), key=list(constellation).index)
        roles = sorted(set(role), key=list(role).index)
        c_idx = {c: i for i, c in enumerate(consts)}
        r_idx = {r: i for i, r in enumerate(roles)}
        plan: dict[str, list[Any]] = {"start_ms": [], "end_ms": [], "sat": [], "station": []}
        if contact_plan is not None and len(np.asarray(contact_plan["start_ns"])):
            start = np.asarray(contact_plan["start_ns"], np.int64)[:MAX_CONTACTS]
            end = np.asarray(contact_plan["end_ns"], np.int64)[:MAX_CONTACTS]
            plan = {"start_ms": (start / 1e6).tolist(), "end_ms": (end / 1e6).tolist(),
                    "sat": np.asarray(contact_plan["sat"], np.int64)[:MAX_CONTACTS].tolist(),
                    "station": np.asarray(contact_plan["station"],
                                          np.int64)[:MAX_CONTACTS].tolist()}
        names = [str(x) for x in sat_names]
        gnames = [str(x) for x in ground_names]
        return cls(
            name=name, description=description, start_ns=int(start_ns), step_ns=int(step_ns),
            n_steps=int(n_steps), sat_names=names,
            sat_constellation=[c_idx[c] for c in constellation], constellations=list(consts),
            sat_role=[r_idx[r] for r in role], roles=list(roles), ground_names=gnames,
            ground_roles=[str(x) for x in ground_roles],
            ground_lat_deg=np.asarray(lat_deg, float).tolist(),
            ground_lon_deg=np.asarray(lon_deg, float).tolist(),
            ground_alt_m=np.asarray(alt_m, float).tolist(),
            isl_pairs=np.asarray(isl_pairs, np.int64).reshape(-1, 2),
            monitor=[{"src": a, "dst": b, "src_node": int(i), "dst_node": int(j)}
                     for a, b, i, j in monitor],
            contact_plan=plan, replay=replay,
            sat_index={nm: i for i, nm in enumerate(names)},
            node_index={nm: j for j, nm in enumerate(gnames)})

    def full_state(self, run_id: str, status: Mapping[str, Any]) -> dict[str, Any]:
        """The first message of a stream (see the module notes)."""
        return {
            "type": "state", "run": run_id, "name": self.name, "description": self.description,
            "replay": self.replay,
            "start_ns": str(self.start_ns), "start_ms": self.start_ns / 1e6,
            "step_ns": str(self.step_ns), "step_ms": self.step_ns / 1e6,
            "n_steps": self.n_steps,
            "satellites": {"count": len(self.sat_names), "names": self.sat_names,
                           "constellation": self.sat_constellation,
                           "constellations": self.constellations, "role": self.sat_role,
                           "roles": self.roles},
            "ground": {"count": len(self.ground_names), "names": self.ground_names,
                       "roles": self.ground_roles, "lat_deg": self.ground_lat_deg,
                       "lon_deg": self.ground_lon_deg, "alt_m": self.ground_alt_m},
            "isl_pairs": self.isl_pairs.reshape(-1).tolist(),
            "monitor": self.monitor,
            "contact_plan": self.contact_plan,
            "status": dict(status),
        }

    def path_nodes(self, path: str) -> list[int]:
        """Node indices of a path given as names joined by `` > `` (satellite ``i``; ground
        node ``j`` as ``-(j + 1)``); unknown names are left out."""
        out: list[int] = []
        for name in path.split(" > ") if path else ():
            if name in self.node_index:
                out.append(-(self.node_index[name] + 1))
            elif name in self.sat_index:
                out.append(self.sat_index[name])
        return out


def snapshot_header(*, seq: int, step: int, n_steps: int, time_ns: int, state: str,
                    speed: float, clock: str, n_sats: int, down: npt.ArrayLike,
                    ground_down: npt.ArrayLike, isl_down: npt.ArrayLike,
                    gsl: npt.ArrayLike | None, paths: list[dict[str, Any]],
                    isl_off: npt.ArrayLike = (),
                    net_time_ns: int | None, fleet: Mapping[str, Any],
                    events_by_kind: Mapping[str, int], replay: bool = False,
                    wall_s: float | None = None) -> dict[str, Any]:
    """The header of a snapshot (see the module notes)."""
    g = np.asarray(gsl if gsl is not None else np.zeros((0, 2)), np.int64).reshape(-1, 2)
    down_a = np.asarray(down, np.int64)
    return {
        "type": "snapshot", "seq": int(seq), "step": int(step), "n_steps": int(n_steps),
        "time_ns": str(int(time_ns)), "time_ms": int(time_ns) / 1e6,
        "wall_s": time.time() if wall_s is None else wall_s,
        "state": state, "speed": speed, "clock": clock, "replay": replay,
        "n_sats": int(n_sats), "sats_alive": int(n_sats - down_a.size),
        "down": down_a.tolist(), "ground_down": np.asarray(ground_down, np.int64).tolist(),
        "isl_down": np.asarray(isl_down, np.int64).tolist(),
        "isl_off": np.asarray(isl_off, np.int64).tolist(),
        "gsl": g[:MAX_GROUND_LINKS].reshape(-1).tolist(), "gsl_total": int(g.shape[0]),
        "paths": paths,
        "net_time_ms": None if net_time_ns is None else int(net_time_ns) / 1e6,
        "fleet": dict(fleet), "events_by_kind": dict(events_by_kind),
    }
