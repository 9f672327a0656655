"""Live network emulation: real programs in Linux network namespaces, real packets carried with
the delay, capacity, loss and outages of the emulated constellation's routes, in real time.

Adapter layer (above the engine and the network model): it turns the model's per-instant
routes into a packet plane. Needs Linux, root, network namespaces and TUN; without them every
entry point raises :class:`~orbemu.errors.UnavailableError` saying what is missing.

- :mod:`~orbemu.netemu.addressing`: which address and namespace each node gets.
- :mod:`~orbemu.netemu.namespaces`: namespaces, the state file, cleanup by marker.
- :mod:`~orbemu.netemu.plane`: the packet plane process (TUN/TAP, delays, queues, ICMP).
- :mod:`~orbemu.netemu.tables`: route tables shared by the controller and the plane.
- :mod:`~orbemu.netemu.emulator`: the controller (:class:`Emulator`).
- :mod:`~orbemu.netemu.tools`: ping, TCP transfer and UDP probe tools to run inside nodes.
"""

from orbemu.netemu.addressing import DEFAULT_PREFIX, AddressPlan, EmulatedNode
from orbemu.netemu.emulator import Emulator, NetemuSettings, read_stats, select_nodes
from orbemu.netemu.namespaces import TeardownReport, find_leftovers, teardown
from orbemu.netemu.plane import PlaneSettings

__all__ = [
    "DEFAULT_PREFIX",
    "AddressPlan",
    "EmulatedNode",
    "Emulator",
    "NetemuSettings",
    "PlaneSettings",
    "TeardownReport",
    "find_leftovers",
    "read_stats",
    "select_nodes",
    "teardown",
]
