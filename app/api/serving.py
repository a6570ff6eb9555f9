"""The HTTP server's own defences against slow clients, which no ASGI middleware can see.

uvicorn closes an idle kept-alive connection, but a connection that sends its request headers a byte at
a time (slowloris) is never timed out: the application is not called until the headers are complete.
`HeaderDeadlineProtocol` gives every request HTTP_HEADER_TIMEOUT_SECONDS from its first byte (or from the
connection's opening) to the end of its headers; past that it answers 408 and closes. Body timeouts
and the bound on concurrent uploads per address live in app.api.middleware, where the request is known.
"""

from __future__ import annotations

import asyncio
from functools import cache
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

_TIMED_OUT = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/problem+json\r\nconnection: close\r\n"
    b"content-length: 0\r\n\r\n"
)


@cache
def header_timeout_seconds() -> float:
    # Read once per worker process from the same settings `serve` uses (a class attribute would not
    # survive uvicorn spawning its workers).
    from app.config import load_settings

    return load_settings().http_header_timeout_seconds


class HeaderDeadlineProtocol(HttpToolsProtocol):
    _header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._header_deadline is None:
            self._arm()  # the next request on a kept-alive connection gets its own deadline

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._header_deadline = self.loop.call_later(header_timeout_seconds(), self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if not self.transport.is_closing():
            self.transport.write(_TIMED_OUT)
            self.transport.close()


def uvicorn_protocol_options() -> dict[str, Any]:
    return {"http": HeaderDeadlineProtocol}
