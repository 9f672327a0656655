"""The addressing plan: which address, namespace and MAC each emulated node gets.

Every emulated node (a ground node or a satellite) is numbered in the emulation's network,
by default ``10.64.0.0/10``:

=====================  =======================================  ==========================
node                   address                                  example
=====================  =======================================  ==========================
ground node ``g``      first half of the prefix, ``base + 1 + g``  g = 0 → ``10.64.0.1``
satellite ``s``        second half, ``base + half + 1 + s``        s = 0 → ``10.96.0.1``
the emulated router    the last usable address                  ``10.127.255.254``
=====================  =======================================  ==========================

``g`` and ``s`` are the indices of the scenario's ground nodes and satellites (the order of
:class:`~orbemu.orbits.ground_nodes.GroundNodes` and
:class:`~orbemu.orbits.elements.ElementSet`), so an address names the same node in every run of
a scenario whatever subset is emulated. Each namespace's interface holds its address with the
whole prefix as its subnet (``10.64.0.1/10``): every other node is "on link" and the packet
plane delivers to it. ICMP errors the plane generates (unreachable during an outage) come from
the router address.

Namespaces are named ``oe-RUN-gG`` / ``oe-RUN-sS``; TAP interfaces (hop-by-hop mode) get the
MAC ``02:6f:65`` followed by the low 24 bits of the node's address (locally administered).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Literal

from orbemu.errors import InputError

__all__ = [
    "DEFAULT_PREFIX",
    "NS_PREFIX",
    "AddressPlan",
    "EmulatedNode",
    "check_run_name",
]

#: The default emulation network.
DEFAULT_PREFIX = "10.64.0.0/10"
#: Every namespace the emulator creates starts with this (and carries a marker inside).
NS_PREFIX = "oe-"
_RUN_RE = re.compile(r"^[a-z0-9]{1,8}$")

NodeKind = Literal["ground", "sat"]


def check_run_name(run: str) -> str:
    """A run name: 1–8 lower-case letters or digits (it goes into namespace names)."""
    if not _RUN_RE.match(run):
        raise InputError(f"run name {run!r} is not 1-8 lower-case letters or digits",
                         field="--run", fix="e.g. --run a1")
    return run


@dataclass(frozen=True)
class EmulatedNode:
    """One emulated node: its ``name`` (the scenario's ground-node or satellite name),
    ``kind`` (``ground``/``sat``), ``index`` (ground-node or satellite index), ``address``
    (dotted IPv4) and ``netns`` (namespace name)."""

    name: str
    kind: NodeKind
    index: int
    address: str
    netns: str

    def topology_node(self, n_sats: int) -> int:
        """The node's index in a :class:`~orbemu.network.topology.Topology` (ground node ``g``
        is ``n_sats + g``)."""
        return self.index if self.kind == "sat" else n_sats + self.index

    @property
    def mac(self) -> bytes:
        """The TAP interface's MAC (hop-by-hop mode)."""
        low = ipaddress.IPv4Address(self.address).packed[1:]
        return b"\x02\x6f\x65" + low


@dataclass(frozen=True)
class AddressPlan:
    """Addresses inside ``prefix`` (an IPv4 network of at least /22)."""

    prefix: str = DEFAULT_PREFIX

    def __post_init__(self) -> None:
        try:
            net = ipaddress.IPv4Network(self.prefix, strict=True)
        except ValueError as exc:
            raise InputError(f"emulation prefix {self.prefix!r} is not an IPv4 network: {exc}",
                             field="prefix", fix="e.g. prefix: 10.64.0.0/10") from None
        if net.prefixlen > 22:
            raise InputError(f"emulation prefix {self.prefix} is too small (at most /22)",
                             field="prefix", fix="e.g. prefix: 10.64.0.0/10")

    @property
    def network(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.prefix)

    @property
    def prefix_len(self) -> int:
        return self.network.prefixlen

    @property
    def half(self) -> int:
        return self.network.num_addresses // 2

    @property
    def router(self) -> str:
        """The emulated router's address (source of the plane's ICMP errors)."""
        return str(self.network.broadcast_address - 1)

    def address(self, kind: NodeKind, index: int) -> str:
        """The address of ground node / satellite ``index``."""
        offset = 1 + index + (self.half if kind == "sat" else 0)
        if index < 0 or offset >= (self.half * (2 if kind == "sat" else 1)) - 1:
            raise InputError(f"{kind} index {index} does not fit the emulation prefix "
                             f"{self.prefix}", field="prefix",
                             fix="Use a larger prefix, e.g. 10.64.0.0/10")
        return str(self.network.network_address + offset)

    def node(self, run: str, kind: NodeKind, index: int, name: str,
             number: int | None = None) -> EmulatedNode:
        """Node ``index`` (in the simulation's elements/ground nodes), addressed and named by
        ``number`` (its index in the whole scenario; default: ``index``)."""
        number = index if number is None else number
        tag = "s" if kind == "sat" else "g"
        return EmulatedNode(name, kind, index, self.address(kind, number),
                            f"{NS_PREFIX}{run}-{tag}{number}")
