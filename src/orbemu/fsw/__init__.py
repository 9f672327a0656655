"""Flight software on emulated satellites: the app SDK, its runners and the bus (engine layer).

Below the engine (which calls it), above comms (whose Space Packets the bus speaks) and the
spacecraft models (the synthetic imager tiles). ::

    from orbemu.fsw import App, AppSpec, AppsSetup
    class Beat(App):
        def on_tick(self, ctx): ctx.telemetry("soc", ctx.power.soc)
    setup = replace(setup, apps=AppsSetup((AppSpec(Beat, sats=(0, 1, 2)),)))
    Emulation(setup, sink).run()

- :mod:`.app` — :class:`App`, :class:`AppContext` (what an app sees and does; tick timing);
- :mod:`.messages` — the typed messages (units in the field names);
- :mod:`.config` — :class:`AppSpec`, :class:`AppsSetup`, :class:`RestartPolicy`,
  :class:`ProcessLimits`;
- :mod:`.host` — :class:`AppHost`: the runners (in process; processes and hardware over the
  bus), faults and restarts, compute, images and messages;
- :mod:`.bus`, :mod:`.process`, :mod:`.client` — the bus protocol (``docs/bus-protocol.md``),
  the engine's endpoints and app processes, the reference Python client;
- :mod:`.cloud`, :mod:`.evaluate`, :mod:`.examples` — the onboard cloud classifier, scoring
  a run's image decisions, example apps.

This package's ``__init__`` imports only the SDK (the app processes import it; keep it light).
"""

from orbemu.fsw.app import App, AppContext, load_app_class
from orbemu.fsw.config import AppSpec, AppsSetup, ProcessLimits, RestartPolicy
from orbemu.fsw.messages import (
    Attitude,
    GroundMessage,
    Image,
    Orbit,
    Power,
    SatMessage,
    SendReport,
    Storage,
    Sun,
    Telecommand,
    Tick,
)

__all__ = [
    "App",
    "AppContext",
    "AppSpec",
    "AppsSetup",
    "Attitude",
    "GroundMessage",
    "Image",
    "Orbit",
    "Power",
    "ProcessLimits",
    "RestartPolicy",
    "SatMessage",
    "SendReport",
    "Storage",
    "Sun",
    "Telecommand",
    "Tick",
    "load_app_class",
]
