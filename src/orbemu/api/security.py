"""Who may do what: the token, where the server listens, and bounded inputs.

- The server binds to ``127.0.0.1`` by default. Bound to any other address it requires a token,
  generated with :func:`secrets.token_urlsafe` and printed at start unless one is given
  (``--token``).
- When a token is set, every control request needs it: ``POST``/``PUT``/``DELETE`` and the
  WebSocket's control messages. When the server listens beyond the loopback, reads (``GET``,
  the stream) need it too.
- The token travels in ``Authorization: Bearer TOKEN`` (or ``X-Orbemu-Token``); a WebSocket
  gives it in its first message (browsers cannot set WebSocket headers, and a URL would leave it
  in logs). The console takes it from the page's ``#token=`` fragment, which browsers never
  send to the server.
- Control requests from a page of another site (its ``Origin`` is not this server) are refused
  (403), and so is its WebSocket; a server on the loopback answers only to loopback host names
  (``Host``: 127.0.0.1, localhost, [::1]), which stops DNS rebinding.
- Tokens are compared in constant time (:func:`hmac.compare_digest`). No token → 401, a wrong
  one → 403.
- Request bodies are bounded (:data:`MAX_BODY_BYTES`, 413 beyond), as are SQL text, result
  rows, uploaded files and their number (see :mod:`orbemu.api.app`).
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

__all__ = ["LOOPBACK_HOSTS", "MAX_BODY_BYTES", "ApiError", "Auth", "BodyLimit", "is_loopback",
           "new_token", "same_origin"]

#: Largest request body accepted, bytes (a scenario and its files).
MAX_BODY_BYTES = 32 * 1024 * 1024


class ApiError(Exception):
    """An error the API answers with ``status`` and the usual JSON body."""

    def __init__(self, status: int, message: str, *, error: str | None = None,
                 fix: str | None = None, headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.error = error or {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden",
                               404: "NotFound", 409: "Conflict", 413: "PayloadTooLarge",
                               422: "ValidationError"}.get(status, "Error")
        self.message = message + (f". {fix}" if fix else "")
        self.headers = headers
        super().__init__(self.message)


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def new_token() -> str:
    """A fresh token (32 random bytes, URL-safe text)."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Auth:
    """The server's rule: ``token`` (None: nothing needs one) and whether reads need it."""

    token: str | None = None
    reads_need_token: bool = False

    @classmethod
    def for_host(cls, host: str, token: str | None) -> Auth:
        """The rule for a server on ``host``: beyond the loopback a token is required (give
        one or let :func:`new_token` make it) and reads need it too."""
        if not is_loopback(host):
            return cls(token or new_token(), True)
        return cls(token, False)

    def _valid(self, given: str | None) -> bool:
        if self.token is None:
            return True
        if not given:
            return False
        return hmac.compare_digest(given.encode("utf-8"), self.token.encode("utf-8"))

    def check(self, given: str | None, *, control: bool) -> None:
        """Raise :class:`ApiError` 401/403 unless ``given`` may do this."""
        if self.token is None or not (control or self.reads_need_token):
            return
        what = "control requests" if control else "this server"
        if not given:
            raise ApiError(401, f"{what} need the token", fix="Send Authorization: Bearer "
                           "TOKEN (the token orbemu serve printed, or gave with --token)",
                           headers={"WWW-Authenticate": "Bearer"})
        if not self._valid(given):
            raise ApiError(403, "wrong token", fix="Use the token orbemu serve printed")

    def allows(self, given: str | None, *, control: bool) -> bool:
        try:
            self.check(given, control=control)
        except ApiError:
            return False
        return True


def same_origin(headers: Any) -> bool:
    """False for a browser request from another site: its ``Origin`` names another host than
    the one it asks (``Host``). A page elsewhere cannot steer a server on this machine through
    its visitor's browser (cross-site form posts, WebSockets); tools that send no ``Origin``
    (curl, httpx) are not browsers and pass."""
    origin = headers.get("origin")
    if not origin:
        return True
    from urllib.parse import urlsplit

    return bool(urlsplit(origin).netloc.lower() == str(headers.get("host", "")).lower())


#: Host names a server on the loopback answers to (others: DNS rebinding; refused).
LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "::1", "[::1]"]


def token_from_headers(headers: Any) -> str | None:
    """The token of a request: ``Authorization: Bearer X`` or ``X-Orbemu-Token: X``."""
    auth = headers.get("authorization")
    if auth:
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return str(value.strip())
    value = headers.get("x-orbemu-token")
    return str(value) if value else None


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class BodyLimit:
    """ASGI middleware: refuse request bodies over ``limit`` bytes with 413 (by the declared
    length at once, else while reading)."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]],
                 limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await _too_large(send, self.limit)
            return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await _too_large(send, self.limit)


class _BodyTooLarge(Exception):
    pass


async def _too_large(send: Send, limit: int) -> None:
    import json

    body = json.dumps({"error": "PayloadTooLarge",
                       "message": f"the request body is over {limit:,} bytes",
                       "problems": []}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
