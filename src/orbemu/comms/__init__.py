"""Commands and telemetry (engine layer): CCSDS Space Packets and the queues that carry them.

- :mod:`.packets`: the APID map, sequence counters, the packet codec and the fixed housekeeping
  layout (vectorized over satellites); optional conversion to the ``spacepackets`` package.
- :mod:`.queues`: per-satellite uplink/downlink queues emptied only during scheduled contacts
  (:class:`~orbemu.ground.scheduling.ContactPlan`) at the contact's rate.
"""

from orbemu.comms.packets import (
    APIDS,
    HK_PACKET_BYTES,
    ApidInfo,
    HousekeepingRecords,
    Packet,
    PacketKind,
    SequenceCounters,
    decode_housekeeping,
    decode_packet,
    encode_housekeeping,
    encode_packet,
    iter_packets,
)

__all__ = [
    "APIDS",
    "HK_PACKET_BYTES",
    "ApidInfo",
    "HousekeepingRecords",
    "Packet",
    "PacketKind",
    "SequenceCounters",
    "decode_housekeeping",
    "decode_packet",
    "encode_housekeeping",
    "encode_packet",
    "iter_packets",
]
