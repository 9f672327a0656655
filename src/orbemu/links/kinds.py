"""What every link carries, whatever its kind.

Both link outputs of this package, :class:`~orbemu.links.visibility.GroundLinks` (ground–satellite,
one instant) and :class:`~orbemu.links.isl.IslLinks` (satellite–satellite, one instant), expose the
same per-link arrays so the network stage can fill one graph from either:

- ``length_m``: (k,) straight-line length, metres (NaN where an ISL is down),
- ``delay_s``: (k,) one-way propagation delay ``length_m / c`` in vacuum, seconds,
- ``capacity_bps``: (k,) bits per second (``inf`` where no budget was applied; 0 where down),
- ``kind``: a :class:`LinkKind`.
"""

from __future__ import annotations

import enum

__all__ = ["LinkKind"]


class LinkKind(enum.IntEnum):
    """The kind of a link; integer-valued so it can be stored in graph arrays (int8)."""

    #: Inter-satellite link (optical or radio), between two satellites.
    ISL = 0
    #: Ground–satellite link, between a ground node and a satellite.
    GSL = 1
