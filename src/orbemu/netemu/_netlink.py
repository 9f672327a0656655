"""A minimal rtnetlink client: the few link, address, route and neighbour requests the emulator
makes inside its namespaces, without a process per request.

A :class:`Rtnl` socket belongs to the namespace of the thread that created it (create it inside
:func:`orbemu.netemu._sys.in_netns`), and may be used after switching back. Requests can be
queued and sent in one batch (:meth:`Rtnl.flush`), which is how thousands of routes are updated
per second. Errors come back as :class:`OSError` with the kernel's errno and the request that
failed.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
from typing import Any

__all__ = ["Rtnl"]

_NETLINK_ROUTE = 0
_NLMSG_ERROR = 2
_NLMSG_DONE = 3
_RTM_NEWLINK = 16
_RTM_GETLINK = 18
_RTM_NEWADDR = 20
_RTM_NEWROUTE = 24
_RTM_DELROUTE = 25
_RTM_NEWNEIGH = 28

_F_REQUEST = 0x1
_F_ACK = 0x4
_F_REPLACE = 0x100
_F_EXCL = 0x200
_F_CREATE = 0x400

_IFLA_ADDRESS = 1
_IFLA_IFNAME = 3
_IFLA_MTU = 4
_IFLA_TXQLEN = 13
_IFLA_IFALIAS = 20
_IFA_ADDRESS = 1
_IFA_LOCAL = 2
_RTA_DST = 1
_RTA_OIF = 4
_RTA_GATEWAY = 5
_NDA_DST = 1
_NDA_LLADDR = 2

_IFF_UP = 0x1
_RT_TABLE_MAIN = 254
_RTPROT_STATIC = 4
_RT_SCOPE_UNIVERSE = 0
_RT_SCOPE_LINK = 253
_RTN_UNICAST = 1
_RTN_UNREACHABLE = 7
_NUD_PERMANENT = 0x80


def _attr(kind: int, data: bytes) -> bytes:
    length = 4 + len(data)
    return struct.pack("=HH", length, kind) + data + b"\0" * ((4 - length % 4) % 4)


def _attrs(buf: bytes) -> dict[int, bytes]:
    out: dict[int, bytes] = {}
    i = 0
    while i + 4 <= len(buf):
        length, kind = struct.unpack_from("=HH", buf, i)
        if length < 4:
            break
        out[kind & 0x3FFF] = buf[i + 4:i + length]
        i += (length + 3) & ~3
    return out


class Rtnl:
    """One rtnetlink socket in the current thread's namespace."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC,
                                  _NETLINK_ROUTE)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock.bind((0, 0))
        self.seq = 0
        self._pending: list[tuple[int, bytes, str]] = []

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Rtnl:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ---- framing -------------------------------------------------------------------------
    def _queue(self, kind: int, flags: int, body: bytes, what: str) -> None:
        self.seq += 1
        msg = struct.pack("=IHHII", 16 + len(body), kind, flags | _F_REQUEST | _F_ACK,
                          self.seq, 0) + body
        self._pending.append((self.seq, msg, what))

    def flush(self, *, ignore: tuple[int, ...] = ()) -> None:
        """Send the queued requests and wait for every acknowledgement. The first failure (an
        errno not in ``ignore``) raises after all replies are read."""
        pending, self._pending = self._pending, []
        if not pending:
            return
        whats = {seq: what for seq, _, what in pending}
        # send in chunks that fit the socket buffer
        chunk: list[bytes] = []
        size = 0
        first_error: OSError | None = None
        waiting = set()
        for seq, msg, _ in pending:
            chunk.append(msg)
            waiting.add(seq)
            size += len(msg)
            if size > 200_000:
                self.sock.send(b"".join(chunk))
                first_error = self._acks(waiting, whats, ignore, first_error)
                chunk, size = [], 0
        if chunk:
            self.sock.send(b"".join(chunk))
            first_error = self._acks(waiting, whats, ignore, first_error)
        if first_error is not None:
            raise first_error

    def _acks(self, waiting: set[int], whats: dict[int, str], ignore: tuple[int, ...],
              first_error: OSError | None) -> OSError | None:
        while waiting:
            data = self.sock.recv(1 << 20)
            i = 0
            while i + 16 <= len(data):
                length, kind, _, seq, _ = struct.unpack_from("=IHHII", data, i)
                if kind == _NLMSG_ERROR:
                    (code,) = struct.unpack_from("=i", data, i + 16)
                    waiting.discard(seq)
                    if code < 0 and -code not in ignore and first_error is None:
                        first_error = OSError(-code, f"netlink {whats.get(seq, '?')}: "
                                              f"{os.strerror(-code)}")
                i += (length + 3) & ~3
                if length == 0:
                    break
        return first_error

    def _request(self, kind: int, flags: int, body: bytes) -> list[tuple[int, bytes]]:
        """Send one request and return the reply messages ``(type, payload)``."""
        self.seq += 1
        seq = self.seq
        msg = struct.pack("=IHHII", 16 + len(body), kind, flags | _F_REQUEST, seq, 0) + body
        self.sock.send(msg)
        out: list[tuple[int, bytes]] = []
        while True:
            data = self.sock.recv(1 << 20)
            i = 0
            while i + 16 <= len(data):
                length, mtype, mflags, mseq, _ = struct.unpack_from("=IHHII", data, i)
                payload = data[i + 16:i + length]
                i += (length + 3) & ~3
                if mseq != seq:
                    continue
                if mtype == _NLMSG_ERROR:
                    (code,) = struct.unpack_from("=i", payload)
                    if code < 0:
                        raise OSError(-code, os.strerror(-code))
                    return out
                if mtype == _NLMSG_DONE:
                    return out
                out.append((mtype, payload))
                if not mflags & 0x2:  # not NLM_F_MULTI: a single reply
                    return out
                if length == 0:
                    return out

    # ---- links ---------------------------------------------------------------------------
    def set_link(self, index: int, *, up: bool | None = None, mtu: int | None = None,
                 alias: str | None = None, address: bytes | None = None,
                 txqlen: int | None = None) -> None:
        """Queue a change of link ``index``: up/down, MTU, alias, hardware address, transmit
        queue length (packets)."""
        flags = change = 0
        if up is not None:
            change = _IFF_UP
            flags = _IFF_UP if up else 0
        body = struct.pack("=BxHiII", socket.AF_UNSPEC, 0, index, flags, change)
        if mtu is not None:
            body += _attr(_IFLA_MTU, struct.pack("=I", mtu))
        if alias is not None:
            body += _attr(_IFLA_IFALIAS, alias.encode() + b"\0")
        if address is not None:
            body += _attr(_IFLA_ADDRESS, address)
        if txqlen is not None:
            body += _attr(_IFLA_TXQLEN, struct.pack("=I", txqlen))
        self._queue(_RTM_NEWLINK, 0, body, f"set link {index}")

    def link_alias(self, index: int) -> str | None:
        """The alias of link ``index`` (None when it has none)."""
        body = struct.pack("=BxHiII", socket.AF_UNSPEC, 0, index, 0, 0)
        for mtype, payload in self._request(_RTM_GETLINK, 0, body):
            if mtype == _RTM_NEWLINK:
                attrs = _attrs(payload[16:])
                raw = attrs.get(_IFLA_IFALIAS)
                return raw.rstrip(b"\0").decode(errors="replace") if raw else None
        return None

    def links(self) -> list[tuple[int, str, str | None]]:
        """``(index, name, alias)`` of every link in the namespace."""
        body = struct.pack("=BxHiII", socket.AF_UNSPEC, 0, 0, 0, 0)
        out = []
        for mtype, payload in self._request(_RTM_GETLINK, 0x300, body):  # NLM_F_DUMP
            if mtype != _RTM_NEWLINK:
                continue
            (index,) = struct.unpack_from("=i", payload, 4)
            attrs = _attrs(payload[16:])
            name = attrs.get(_IFLA_IFNAME, b"").rstrip(b"\0").decode(errors="replace")
            raw = attrs.get(_IFLA_IFALIAS)
            out.append((index, name, raw.rstrip(b"\0").decode(errors="replace")
                        if raw else None))
        return out

    # ---- addresses, routes, neighbours ---------------------------------------------------
    def add_address(self, index: int, address: str, prefix_len: int) -> None:
        """Queue an IPv4 address ``address/prefix_len`` on link ``index`` (the kernel adds the
        connected route of the prefix)."""
        raw = socket.inet_aton(address)
        body = struct.pack("=BBBBI", socket.AF_INET, prefix_len, 0, _RT_SCOPE_UNIVERSE, index)
        body += _attr(_IFA_LOCAL, raw) + _attr(_IFA_ADDRESS, raw)
        self._queue(_RTM_NEWADDR, _F_CREATE | _F_REPLACE, body, f"address {address}")

    def replace_route(self, dst: bytes, dst_len: int, index: int,
                      gateway: bytes | None = None, *, unreachable: bool = False) -> None:
        """Queue ``ip route replace DST/LEN [via GATEWAY] dev INDEX`` (addresses as 4 bytes),
        or ``ip route replace unreachable DST/LEN`` (the kernel answers ICMP host
        unreachable)."""
        if unreachable:
            body = struct.pack("=BBBBBBBBI", socket.AF_INET, dst_len, 0, 0, _RT_TABLE_MAIN,
                               _RTPROT_STATIC, _RT_SCOPE_UNIVERSE, _RTN_UNREACHABLE, 0)
            body += _attr(_RTA_DST, dst)
        else:
            scope = _RT_SCOPE_UNIVERSE if gateway else _RT_SCOPE_LINK
            body = struct.pack("=BBBBBBBBI", socket.AF_INET, dst_len, 0, 0, _RT_TABLE_MAIN,
                               _RTPROT_STATIC, scope, _RTN_UNICAST, 0)
            body += _attr(_RTA_DST, dst) + _attr(_RTA_OIF, struct.pack("=I", index))
            if gateway is not None:
                body += _attr(_RTA_GATEWAY, gateway)
        self._queue(_RTM_NEWROUTE, _F_CREATE | _F_REPLACE, body, "route replace")

    def delete_route(self, dst: bytes, dst_len: int, index: int) -> None:
        """Queue ``ip route del DST/LEN dev INDEX``."""
        body = struct.pack("=BBBBBBBBI", socket.AF_INET, dst_len, 0, 0, _RT_TABLE_MAIN, 0,
                           255, 0, 0)  # protocol/scope/type "any", as `ip route del` sends
        body += _attr(_RTA_DST, dst) + _attr(_RTA_OIF, struct.pack("=I", index))
        self._queue(_RTM_DELROUTE, 0, body, "route delete")

    def add_neighbour(self, index: int, address: bytes, lladdr: bytes) -> None:
        """Queue a permanent neighbour entry (no ARP needed): IPv4 ``address`` → MAC
        ``lladdr`` on link ``index``."""
        body = struct.pack("=BxxxiHBB", socket.AF_INET, index, _NUD_PERMANENT, 0, 1)
        body += _attr(_NDA_DST, address) + _attr(_NDA_LLADDR, lladdr)
        self._queue(_RTM_NEWNEIGH, _F_CREATE | _F_REPLACE, body, "neighbour")


#: errno values that mean "already so" or "already gone" for idempotent updates.
ALREADY = (errno.EEXIST, errno.ESRCH, errno.ENOENT)
