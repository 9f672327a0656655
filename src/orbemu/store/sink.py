"""The sink interface the store implements: re-exported from :mod:`orbemu.engine.recorder`.

The engine owns the interface (:class:`~orbemu.engine.recorder.Sink`, with
:class:`~orbemu.engine.recorder.RunInfo` and :class:`~orbemu.engine.recorder.Event`), so it can
hold a sink without importing this adapter package; :class:`~orbemu.store.sqlite.SQLiteSink`
implements it. The names stay importable from here for code written against the store.
"""

from __future__ import annotations

from orbemu.engine.recorder import Event, RunInfo, Sink

__all__ = ["Event", "RunInfo", "Sink"]
