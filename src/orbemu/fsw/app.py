"""The app SDK: :class:`App` (what a flight app is) and :class:`AppContext` (what it sees and does).

A flight app is a Python class; the engine schedules one instance of it on each satellite it is
given to. The same class runs unchanged in every runner — in the engine's process, in its own OS
process behind the bus, or against the bus from any other program — because an app only talks to
its :class:`AppContext`::

    from orbemu.fsw import App, Image, Power

    class PowerWatch(App):
        rate_hz = 1.0                 # ticks per second of emulated time
        cpu_budget_ms = 2.0           # CPU time it may use per tick
        subscriptions = (Image,)      # event messages it wants in on_message

        def on_start(self, ctx):
            self.low = float(ctx.params.get("low_soc", 0.4))

        def on_tick(self, ctx):
            p = ctx.power                        # the latest Power message
            ctx.telemetry("soc", p.soc)          # a telemetry point (recorded, sent as TM)
            if p.soc < self.low:
                ctx.request_mode("sun")          # point the arrays at the Sun

        def on_message(self, ctx, msg):
            ctx.downlink_image(msg.image_id)     # every image goes down

**Ticks.** An app ticks at ``rate_hz`` on the engine's clock: at ``start + j / rate_hz`` for
``j = 0, 1, ...`` (integer nanoseconds), whatever the engine's step. In the step ``[t0, t1)`` the
engine runs every tick with ``t0 ≤ t < t1`` (none when the step is finer than the tick period
and no tick falls in it; several, in time order, when it is coarser), before the step's physics.
``ctx.time_ns`` is the tick's time; the state it sees is the satellite's at ``t0`` (position and
Sun at the tick). Event messages whose time is at or before the tick are handed to
``on_message`` first; those that happen during a step (an image taken, a telecommand arriving)
reach the app at its first tick of a later step.

**Outputs** and when they act:

- ``telemetry(key, value)`` — a point at the tick's time: recorded in the run's store
  (``telemetry`` table) when the engine receives it, and queued on the downlink as ``app-tm``
  CCSDS packets (carried only during contacts);
- ``request_mode``, ``request_capture``, ``set_payload`` — spacecraft commands, applied at the
  tick's time (the engine splits its step there if needed);
- ``downlink_image``/``discard_image`` — what to do with an image (satellites whose apps manage
  the images, ``images: app``); ``downlink(name, size_bytes, priority)`` — a file queued on the
  downlink (priority classes 0 first … 2);
- ``send(dst, payload)`` — a message to another satellite's apps over the emulated network: it
  arrives after the current path's one-way delay, or is refused when there is no path; either
  way a :class:`~orbemu.fsw.messages.SendReport` follows;
- ``event(kind, **detail)`` — an event in the run's record (kind ``app_event``).

**Compute.** Each tick's CPU time is measured (``time.thread_time_ns`` in process, ``getrusage``
in the out-of-process client) against ``cpu_budget_ms``; an overrun is flagged as an event or
throttled (ticks skipped until the overrun is paid back), per the app's configuration; the
payload computer's power (``compute_w``) is drawn in proportion to the CPU duty.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from orbemu.errors import InputError, UsageError
from orbemu.fsw.messages import (
    MODE_NAMES,
    Attitude,
    Orbit,
    Power,
    Storage,
    Sun,
    Tick,
)

__all__ = ["App", "AppContext", "load_app_class"]

_MODES = {"nadir": 0, "sun": 1, "target": 2}
# bits of the state record's flags byte
FLAG_ECLIPSE, FLAG_SLEWING, FLAG_SAFE, FLAG_ALIVE, FLAG_CONTACT = 1, 2, 4, 8, 16


class App:
    """Base class of flight apps (see the module notes). Override what you need.

    Class attributes (the scenario's ``apps`` entry may override them):
    ``name`` (default: the class name), ``rate_hz`` (ticks per emulated second),
    ``cpu_budget_ms`` (CPU per tick), ``subscriptions`` (message types for ``on_message``:
    event types arrive when they happen, state types before every tick).
    """

    name: ClassVar[str] = ""
    rate_hz: ClassVar[float] = 1.0
    cpu_budget_ms: ClassVar[float] = 10.0
    subscriptions: ClassVar[tuple[type, ...]] = ()

    def on_start(self, ctx: AppContext) -> None:
        """Called once when the app starts (and again after each restart, on a new instance)."""

    def on_tick(self, ctx: AppContext) -> None:
        """Called at every tick."""

    def on_message(self, ctx: AppContext, msg: Any) -> None:
        """Called for each message of a subscribed type, before the tick it is due at."""

    def on_stop(self, ctx: AppContext) -> None:
        """Called when the run ends (not after a crash)."""


class AppContext:
    """What one app instance on one satellite sees and does (see the module notes).

    Attributes: ``sat`` (satellite name), ``sat_index`` (its index in the run), ``app`` (the
    app's name), ``params`` (the scenario's ``params`` mapping), ``targets`` (target names, by
    row), ``restarts`` (how many times this app was restarted before this instance),
    ``time_ns`` (the tick's time), ``tick`` (its number), ``step`` (the engine step).

    Runners subclass it: the state comes from a record of
    :data:`orbemu.fsw.bus.STATE_DTYPE` (``_rec``), outputs go to :meth:`_emit`.
    """

    __slots__ = ("_cache", "_rec", "app", "params", "restarts", "sat", "sat_index", "step",
                 "targets", "tick", "time_ns")

    def __init__(self, sat: str, sat_index: int, app: str, params: Mapping[str, Any],
                 targets: Sequence[str], restarts: int = 0) -> None:
        self.sat = sat
        self.sat_index = int(sat_index)
        self.app = app
        self.params = dict(params)
        self.targets = tuple(targets)
        self.restarts = int(restarts)
        self.time_ns = 0
        self.tick = 0
        self.step = 0
        self._rec: Any = None
        self._cache: dict[type, Any] = {}

    def _set(self, time_ns: int, tick: int, step: int, rec: Any) -> None:
        self.time_ns = time_ns
        self.tick = tick
        self.step = step
        self._rec = rec
        if self._cache:
            self._cache = {}

    # ---- state ------------------------------------------------------------------------------
    def latest(self, kind: type) -> Any:
        """The latest state message of type ``kind`` (:class:`Tick`, :class:`Orbit`,
        :class:`Attitude`, :class:`Sun`, :class:`Power`, :class:`Storage`)."""
        cache = self._cache
        got = cache.get(kind)
        if got is None:
            values = cache.get(tuple)
            if values is None:
                rec = self._record()
                if rec is None:
                    raise UsageError("no state yet: the satellite's state is known from the "
                                     "first tick on (not in on_start)")
                values = cache[tuple] = rec.item()  # one conversion for every message type
            got = cache[kind] = _build(kind, values, self.time_ns, self.tick, self.step)
        return got

    def _record(self) -> Any:
        return self._rec

    @property
    def orbit(self) -> Orbit:
        return self.latest(Orbit)

    @property
    def attitude(self) -> Attitude:
        return self.latest(Attitude)

    @property
    def sun(self) -> Sun:
        return self.latest(Sun)

    @property
    def power(self) -> Power:
        return self.latest(Power)

    @property
    def storage(self) -> Storage:
        return self.latest(Storage)

    # ---- outputs ----------------------------------------------------------------------------
    def _emit(self, op: tuple[Any, ...]) -> None:  # pragma: no cover - runners override
        raise NotImplementedError

    def telemetry(self, key: str, value: float) -> None:
        """Publish a telemetry point ``key = value`` at the tick's time."""
        self._emit(("tm", self.time_ns, str(key), float(value)))

    def request_mode(self, mode: str, target: int | str | None = None) -> None:
        """Ask the attitude control for ``nadir``, ``sun`` or ``target`` pointing (``target``:
        a target row or name; None lets the satellite choose)."""
        if mode not in _MODES:
            raise UsageError(f"mode must be one of nadir, sun, target; got {mode!r}")
        row = -1 if target is None else self._target_row(target)
        self._emit(("mode", self.time_ns, _MODES[mode], row))

    def request_capture(self, target: int | str) -> None:
        """Point at ``target`` (a row or name) and capture it when it is in view."""
        self._emit(("capture", self.time_ns, self._target_row(target)))

    def set_payload(self, on: bool) -> None:
        """Switch the imager (payload and captures) on or off."""
        self._emit(("payload", self.time_ns, bool(on)))

    def downlink_image(self, image_id: int, priority: int = 2) -> None:
        """Queue image ``image_id`` for the downlink in priority class ``priority`` (0 first)."""
        self._emit(("image", self.time_ns, int(image_id), "downlink", _priority(priority)))

    def discard_image(self, image_id: int) -> None:
        """Delete image ``image_id`` from onboard storage (it is never downlinked)."""
        self._emit(("image", self.time_ns, int(image_id), "discard", 2))

    def downlink(self, name: str, size_bytes: int, priority: int = 2) -> None:
        """Queue a file of ``size_bytes`` for the downlink in class ``priority``."""
        if int(size_bytes) <= 0:
            raise UsageError(f"size_bytes must be > 0, got {size_bytes}")
        self._emit(("file", self.time_ns, str(name), int(size_bytes), _priority(priority)))

    def send(self, dst: str, payload: bytes | str) -> None:
        """Send ``payload`` to the apps of satellite ``dst`` (a name) over the network."""
        data = payload.encode() if isinstance(payload, str) else bytes(payload)
        self._emit(("send", self.time_ns, str(dst), data))

    def event(self, kind: str, **detail: Any) -> None:
        """Record an event (kind ``app_event``; ``kind`` and ``detail`` in its detail)."""
        self._emit(("event", self.time_ns, str(kind), detail))

    def _target_row(self, target: int | str) -> int:
        if isinstance(target, str):
            try:
                return self.targets.index(target)
            except ValueError:
                raise UsageError(f"no target named {target!r}") from None
        row = int(target)
        if not 0 <= row < len(self.targets):
            raise UsageError(f"target row {row} out of range 0..{len(self.targets) - 1}")
        return row


def _priority(priority: int) -> int:
    p = int(priority)
    if not 0 <= p <= 2:
        raise UsageError(f"priority must be 0, 1 or 2 (0 first), got {priority}")
    return p


def _vec(x: Any) -> tuple[float, float, float]:
    a, b, c = x.tolist()
    return (a, b, c)


def _build(kind: type, v: tuple[Any, ...], time_ns: int, tick: int, step: int) -> Any:
    """A state message from a state record's values (``record.item()``, the fields of
    :data:`orbemu.fsw.bus.STATE_DTYPE` in order)."""
    if kind is Orbit:
        return Orbit(time_ns, _vec(v[1]), _vec(v[2]), float(v[3]), float(v[4]), float(v[5]))
    flags = int(v[9])
    if kind is Power:
        return Power(time_ns, float(v[11]), float(v[12]), float(v[13]), float(v[14]),
                     bool(flags & FLAG_SAFE))
    if kind is Sun:
        return Sun(time_ns, _vec(v[6]), float(v[7]), bool(flags & FLAG_ECLIPSE))
    if kind is Attitude:
        mode = int(v[8])
        return Attitude(time_ns, MODE_NAMES[mode] if mode < len(MODE_NAMES) else "unknown",
                        bool(flags & FLAG_SLEWING), int(v[10]))
    if kind is Storage:
        return Storage(time_ns, float(v[15]), float(v[16]))
    if kind is Tick:
        return Tick(time_ns, tick, step)
    raise UsageError(f"{getattr(kind, '__name__', kind)} is not a state message type; "
                     "state types: Tick, Orbit, Attitude, Sun, Power, Storage")


def load_app_class(spec: Any, *, base_dir: str | Path | None = None) -> type[App]:
    """The app class of ``spec``: an :class:`App` subclass, ``"module:Class"`` or
    ``"path/to/file.py:Class"`` (a relative path from ``base_dir``, default the working
    directory). Raises :class:`~orbemu.errors.InputError` saying what is wrong."""
    if isinstance(spec, type):
        cls: Any = spec
    else:
        text = str(spec)
        where, sep, attr = text.rpartition(":")
        if not sep or not where or not attr:
            raise InputError(f"app {text!r} is not 'module:Class' or 'file.py:Class'",
                             field="app", fix="Write e.g. orbemu.fsw.examples:Heartbeat")
        try:
            if where.endswith(".py"):
                path = Path(where)
                if not path.is_absolute() and base_dir is not None:
                    path = Path(base_dir) / path
                name = f"_orbemu_app_{abs(hash(str(path.resolve())))}"
                module = sys.modules.get(name)
                if module is None:
                    loader_spec = importlib.util.spec_from_file_location(name, path)
                    if loader_spec is None or loader_spec.loader is None:
                        raise ImportError(f"cannot load {path}")
                    module = importlib.util.module_from_spec(loader_spec)
                    sys.modules[name] = module
                    loader_spec.loader.exec_module(module)
            else:
                module = importlib.import_module(where)
        except (ImportError, OSError) as exc:
            raise InputError(f"cannot import the app {text!r}: {exc}", field="app",
                             fix="Check the module path (importable from the working "
                                 "directory or installed) or the file path") from None
        cls = getattr(module, attr, None)
        if cls is None:
            raise InputError(f"{where} has no {attr!r}", field="app",
                             fix="Name a class defined in that module")
    if not (isinstance(cls, type) and issubclass(cls, App)):
        raise InputError(f"{spec!r} is not a subclass of orbemu.fsw.App", field="app",
                         fix="Derive the app class from orbemu.fsw.App")
    return cls
