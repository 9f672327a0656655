"""What flight software a run hosts: :class:`AppSpec` per app, :class:`AppsSetup` for the run.

Plain library objects (the scenario's ``apps`` section is turned into these by
:mod:`orbemu.scenario.build`; a script can build them directly). ``sats`` are satellite indices
of the run (rows of ``EmulationSetup.elements``); every one must be a modelled satellite.

Runners (``AppSpec.runner``):

- ``inprocess`` — the app's class is instantiated in the engine's process (thousands at once);
- ``process`` — each app instance runs in its own OS process, started by the engine, talking
  to it over the bus (:mod:`orbemu.fsw.bus`); a Python app (``app``) runs under
  :mod:`orbemu.fsw.client`, any other program is given as ``command`` (a list; ``{host}``,
  ``{port}``, ``{sat}``, ``{app}`` are replaced). Crashes, hangs (no step-done within
  ``tick_timeout_s`` of wall time) and memory blow-ups are detected and the app restarted per
  :class:`RestartPolicy`; :class:`ProcessLimits` are set with ``setrlimit`` before it runs;
- ``bus`` — the engine opens the satellite's bus endpoint and waits (``start_timeout_s``) for a
  program to connect: hardware in the loop (``hil=True`` implies it), or software started by
  hand. Not restarted by the engine (it may reconnect to the endpoint).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from orbemu.errors import UsageError

__all__ = ["AppSpec", "AppsSetup", "ProcessLimits", "RestartPolicy"]

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class RestartPolicy:
    """What happens when an app fails (crash, hang, memory, an exception in process).

    policy: ``never`` (the app stays down) or ``on-failure``. max_restarts: restarts allowed per
    app instance over the run. backoff_s: emulated time between the failure and the restart
    (0: at the next step; the app is back at its next tick), multiplied by ``backoff_factor``
    after each restart.
    """

    policy: Literal["never", "on-failure"] = "on-failure"
    max_restarts: int = 5
    backoff_s: float = 0.0
    backoff_factor: float = 2.0

    def __post_init__(self) -> None:
        if self.policy not in ("never", "on-failure"):
            raise UsageError(f"restart policy must be 'never' or 'on-failure', got "
                             f"{self.policy!r}")
        if self.max_restarts < 0 or self.backoff_s < 0 or self.backoff_factor < 1:
            raise UsageError("max_restarts ≥ 0, backoff_s ≥ 0 and backoff_factor ≥ 1")

    def delay_ns(self, restarts_so_far: int) -> int:
        """Emulated ns from a failure to the restart that follows ``restarts_so_far``."""
        return round(self.backoff_s * self.backoff_factor ** restarts_so_far * 1e9)


@dataclass(frozen=True)
class ProcessLimits:
    """Resource limits of an app process (None: none). memory_mb: its address space
    (RLIMIT_AS: an allocation beyond it fails, a Python app dies of MemoryError); rss_mb: the
    engine's watch of its resident set (checked every half second of wall time: a process above
    it is killed — for runtimes that reserve more address space than they use); cpu_s: CPU
    seconds (RLIMIT_CPU: the kernel kills it); open_files: RLIMIT_NOFILE."""

    memory_mb: float | None = 1024.0
    rss_mb: float | None = None
    cpu_s: float | None = None
    open_files: int | None = 256


@dataclass(frozen=True)
class AppSpec:
    """One app, instantiated on each satellite of ``sats`` (see the module notes).

    app: ``"module:Class"``, ``"path/to/file.py:Class"`` or an :class:`~orbemu.fsw.App`
    subclass (in process only). name: the app's name in records (default: the class's).
    rate_hz, cpu_budget_ms: override the class's. overrun: ``flag`` (an event) or ``throttle``
    (ticks skipped until the overrun is paid back). params: handed to the app
    (``ctx.params``). images: ``auto`` (every image is queued for the downlink, as without
    apps) or ``app`` (the apps on the satellite decide: ``downlink_image``/``discard_image``).
    host, port: the bus endpoint (port 0: a free port; else ``port + k`` for the k-th
    satellite of the spec). network (process apps): ``host`` (the engine's network),
    ``isolated`` (a network namespace of its own with only a loopback: the app reaches nothing
    but its bus connection) or ``netns:NAME`` (joins the named namespace ``/run/netns/NAME``,
    e.g. a node of ``orbemu netemu``, and talks over the emulated network); out of the host's
    network the engine opens the bus connection and the app inherits it (``--fd``; ``{fd}`` in a
    command). Needs root (CAP_SYS_ADMIN).
    """

    app: Any = ""
    sats: tuple[int, ...] = ()
    runner: Literal["inprocess", "process", "bus"] = "inprocess"
    name: str = ""
    command: tuple[str, ...] = ()
    rate_hz: float | None = None
    cpu_budget_ms: float | None = None
    overrun: Literal["flag", "throttle"] = "flag"
    params: Mapping[str, Any] = field(default_factory=dict)
    images: Literal["auto", "app"] = "auto"
    restart: RestartPolicy = field(default_factory=RestartPolicy)
    limits: ProcessLimits = field(default_factory=ProcessLimits)
    tick_timeout_s: float = 10.0
    start_timeout_s: float = 30.0
    hil: bool = False
    host: str = "127.0.0.1"
    port: int = 0
    network: str = "host"

    def __post_init__(self) -> None:
        object.__setattr__(self, "sats", tuple(int(s) for s in self.sats))
        object.__setattr__(self, "command", tuple(str(c) for c in self.command))
        if self.hil and self.runner != "bus":
            object.__setattr__(self, "runner", "bus")
        if self.runner not in ("inprocess", "process", "bus"):
            raise UsageError(f"runner must be inprocess, process or bus, got {self.runner!r}")
        if self.runner == "inprocess" and not self.app:
            raise UsageError("an in-process app needs app= (a class or 'module:Class')")
        if self.runner == "process" and not (self.app or self.command):
            raise UsageError("a process app needs app= (Python) or command= (any program)")
        if self.runner != "inprocess" and self.app and not isinstance(self.app, str):
            raise UsageError("out of process, app must be 'module:Class' or 'file.py:Class' "
                             "(the child process imports it)")
        if self.rate_hz is not None and not self.rate_hz > 0:
            raise UsageError(f"rate_hz must be > 0, got {self.rate_hz}")
        if self.cpu_budget_ms is not None and not self.cpu_budget_ms > 0:
            raise UsageError(f"cpu_budget_ms must be > 0, got {self.cpu_budget_ms}")
        if self.overrun not in ("flag", "throttle"):
            raise UsageError(f"overrun must be 'flag' or 'throttle', got {self.overrun!r}")
        if self.images not in ("auto", "app"):
            raise UsageError(f"images must be 'auto' or 'app', got {self.images!r}")
        if not self.tick_timeout_s > 0 or not self.start_timeout_s > 0:
            raise UsageError("tick_timeout_s and start_timeout_s must be > 0")
        if self.network != "host" and self.runner != "process":
            raise UsageError(f"network={self.network!r} is for process apps (runner='process')")
        if self.network not in ("host", "isolated") and not self.network.startswith("netns:"):
            raise UsageError(f"network must be 'host', 'isolated' or 'netns:NAME', got "
                             f"{self.network!r}")
        if self.network != "host" and self.command and not any("{fd}" in c
                                                                for c in self.command):
            raise UsageError("a command app in its own network namespace cannot reach the "
                             "endpoint: it must take the connection the engine opens for it "
                             "as {fd} (a file descriptor) in its command")
        if not 0 <= self.port < 65536:
            raise UsageError(f"port must be 0..65535, got {self.port}")

    @property
    def label(self) -> str:
        """The app's name in records."""
        if self.name:
            return self.name
        if isinstance(self.app, str) and self.app:
            return self.app.rsplit(":", 1)[-1]
        if self.app:
            return str(getattr(self.app, "name", "") or getattr(self.app, "__name__", "app"))
        return self.command[0].rsplit("/", 1)[-1] if self.command else "app"


@dataclass(frozen=True)
class AppsSetup:
    """The flight software of a run.

    apps: the :class:`AppSpec` entries. compute_duty: how the payload computer's power is drawn
    on satellites running apps — ``budget`` (deterministic: ``compute_w`` × the CPU the ticks
    run reserve, ``ticks × cpu_budget / step``) or ``measured`` (``compute_w`` × the CPU time
    measured × ``cpu_scale`` ÷ the step; depends on the machine, so two runs differ).
    cpu_scale: how much slower the flight computer is than this one (measured mode).
    tile_pixels: side of the preview tile of each image (:mod:`orbemu.spacecraft.tiles`).
    workdir: where out-of-process apps write their logs (None: a temporary folder).
    """

    apps: tuple[AppSpec, ...] = ()
    compute_duty: Literal["budget", "measured"] = "budget"
    cpu_scale: float = 1.0
    tile_pixels: int = 64
    workdir: str | None = None

    def __post_init__(self) -> None:
        if self.compute_duty not in ("budget", "measured"):
            raise UsageError(f"compute_duty must be 'budget' or 'measured', got "
                             f"{self.compute_duty!r}")
        if not self.cpu_scale > 0:
            raise UsageError("cpu_scale must be > 0")
        if not 2 <= self.tile_pixels <= 120:
            raise UsageError(f"tile_pixels must be 2..120, got {self.tile_pixels}")

    @property
    def hil_sats(self) -> tuple[int, ...]:
        """Satellites driven by hardware in the loop."""
        return tuple(sorted({s for a in self.apps if a.hil for s in a.sats}))

    @property
    def sats(self) -> IntArray:
        """Every satellite running an app (sorted)."""
        return np.array(sorted({s for a in self.apps for s in a.sats}), np.int64)
