"""Example flight apps (each runs unchanged in process, in its own process, or over the bus).

- :class:`Heartbeat` — telemetry of the state of charge, latitude and height every tick;
- :class:`CloudFilter` — the AI payload: classifies each image's preview tile as cloudy or
  clear (a :class:`~orbemu.fsw.cloud.CloudModel` from ``params.weights``, else the
  :class:`~orbemu.fsw.cloud.BrightnessRule` baseline) and downlinks only the clear ones;
  use it with ``images: app``;
- :class:`TileCollector` — keeps every tile it sees (in process: the training data set of
  ``examples/train_cloud_model.py``) and downlinks nothing;
- :class:`Pinger` — sends a message to ``params.peer`` every ``params.every`` ticks and
  reports the delays of what it receives (messages between satellites).

In a scenario::

    apps:
      - app: orbemu.fsw.examples:CloudFilter
        on: constellation:imager
        images: app
        params: {weights: cloud-model.npz}
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from orbemu.fsw.app import App, AppContext
from orbemu.fsw.cloud import BrightnessRule, CloudModel, tile_features
from orbemu.fsw.messages import Image, SatMessage, SendReport

__all__ = ["CloudFilter", "Heartbeat", "Pinger", "TileCollector"]


class Heartbeat(App):
    """Publishes ``soc``, ``lat_deg`` and ``alt_km`` and a tick counter every tick."""

    rate_hz = 1.0
    cpu_budget_ms = 1.0

    def on_start(self, ctx: AppContext) -> None:
        self.count = 0

    def on_tick(self, ctx: AppContext) -> None:
        self.count += 1
        ctx.telemetry("beats", self.count)
        every = int(ctx.params.get("state_every", 1))
        if self.count % every == 0:
            ctx.telemetry("soc", ctx.power.soc)
            o = ctx.orbit
            ctx.telemetry("lat_deg", o.lat_deg)
            ctx.telemetry("alt_km", o.alt_m / 1e3)


class CloudFilter(App):
    """Downlinks the images its model calls clear, deletes the others (module notes).

    params: ``weights`` — a ``.npz`` of :meth:`CloudModel.save` (absent: the brightness
    baseline); ``threshold`` — p(cloudy) at or above which an image is discarded (0.5);
    ``priority`` — downlink class of the images kept (2).
    """

    rate_hz = 1.0
    cpu_budget_ms = 20.0
    subscriptions = (Image,)

    def on_start(self, ctx: AppContext) -> None:
        path = ctx.params.get("weights")
        self.model: Any = CloudModel.load(path) if path else BrightnessRule()
        self.threshold = float(ctx.params.get("threshold", 0.5))
        self.priority = int(ctx.params.get("priority", 2))
        self.kept = 0
        self.dropped = 0

    def on_message(self, ctx: AppContext, msg: Any) -> None:
        if not isinstance(msg, Image):
            return
        p = float(self.model.predict_proba(tile_features(msg.tile))[0])
        if p >= self.threshold:
            ctx.discard_image(msg.image_id)
            self.dropped += 1
        else:
            ctx.downlink_image(msg.image_id, priority=self.priority)
            self.kept += 1
        ctx.telemetry("cloud_p", p)

    def on_tick(self, ctx: AppContext) -> None:
        if ctx.tick % 60 == 0:
            ctx.telemetry("images_kept", self.kept)
            ctx.telemetry("images_dropped", self.dropped)


class TileCollector(App):
    """Keeps the tiles it receives in :attr:`tiles` (a class attribute shared by the instances
    of one process: image id → tile) and discards the images (collection runs)."""

    rate_hz = 1.0
    cpu_budget_ms = 20.0
    subscriptions = (Image,)
    tiles: ClassVar[dict[int, np.ndarray]] = {}

    def on_message(self, ctx: AppContext, msg: Any) -> None:
        if isinstance(msg, Image):
            TileCollector.tiles[msg.image_id] = np.array(msg.tile)
            if ctx.params.get("discard", True):
                ctx.discard_image(msg.image_id)


class Pinger(App):
    """Sends ``"ping <n>"`` to ``params.peer`` every ``params.every`` ticks (10); publishes the
    one-way delay of each message received (``ping_delay_ms``) and of each refusal
    (``ping_refused``)."""

    rate_hz = 1.0
    cpu_budget_ms = 2.0
    subscriptions = (SatMessage, SendReport)

    def on_start(self, ctx: AppContext) -> None:
        self.n = 0

    def on_tick(self, ctx: AppContext) -> None:
        peer = ctx.params.get("peer")
        if peer and ctx.tick % int(ctx.params.get("every", 10)) == 0:
            self.n += 1
            ctx.send(str(peer), f"ping {self.n}")

    def on_message(self, ctx: AppContext, msg: Any) -> None:
        if isinstance(msg, SatMessage):
            ctx.telemetry("ping_delay_ms", msg.delay_ms)
        elif isinstance(msg, SendReport) and not msg.accepted:
            ctx.telemetry("ping_refused", 1.0)
            ctx.event("ping_refused", dst=msg.dst, reason=msg.reason)
