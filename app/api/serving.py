"""The HTTP server's own defences against slow clients and oversized headers, which no ASGI middleware can
see in time.

uvicorn closes an idle kept-alive connection, but a connection that sends its request headers a byte at
a time (slowloris) is never timed out: the application is not called until the headers are complete.
`HeaderDeadlineProtocol` gives every request HTTP_HEADER_TIMEOUT_SECONDS from its first byte (or from the
connection's opening) to the end of its headers; past that it answers 408 and closes. Body timeouts
and the bound on concurrent uploads per address live in app.api.middleware, where the request is known.

httptools sets no limit on the size of request headers: 8 MiB of them were accepted, buffered whole
before the application saw anything, and twenty such stalled connections pinned 200 MB. The protocol
counts a request's bytes until its headers are complete and answers 431 past MAX_HEADER_BYTES (16 KiB
for the request line and headers together), then closes, without parsing further.
"""

from __future__ import annotations

import asyncio
import json
from functools import cache
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.i18n import Text

MAX_HEADER_BYTES = 16 * 1024
HEADERS_TOO_LARGE_CODE = "HEADERS_TOO_LARGE"
HEADERS_TOO_LARGE_TITLE = Text("请求头超过 16 KiB", "The request headers are larger than 16 KiB")
_HEADERS_TOO_LARGE_BODY = json.dumps(
    {
        "type": "urn:cityservices:problem:headers-too-large",
        "title": HEADERS_TOO_LARGE_TITLE.zh,
        "status": 431,
        "detail": HEADERS_TOO_LARGE_TITLE.en,
        "code": HEADERS_TOO_LARGE_CODE,
    }
).encode()
_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/problem+json\r\n"
    b"connection: close\r\ncontent-length: " + str(len(_HEADERS_TOO_LARGE_BODY)).encode() + b"\r\n\r\n"
) + _HEADERS_TOO_LARGE_BODY

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
    _in_headers = True  # between requests or inside a request's headers: bytes received count
    _header_bytes = 0  # bytes received since the headers began (a bound on them while they arrive)
    _exact = 0  # the request line and headers as parsed (the bound once they are complete)
    _refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._in_headers:
            # Counted before parsing: a chunk that ends the headers may carry body bytes too, so it is
            # only a refusal if the headers are still not complete after it (checked below).
            self._header_bytes += len(data)
        super().data_received(data)
        if self._in_headers and self._header_bytes > MAX_HEADER_BYTES:
            self._headers_too_large()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_headers = True
        if self._header_deadline is None:
            self._arm()  # the next request on a kept-alive connection gets its own deadline

    def on_url(self, url: bytes) -> None:
        self._exact = len(url)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._exact += len(name) + len(value) + 4  # ": " and CRLF
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._disarm()
        exact, self._exact = self._exact, 0
        self._in_headers, self._header_bytes = False, 0
        if exact > MAX_HEADER_BYTES:
            self._headers_too_large()
            return
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._refused:
            return
        super().on_message_complete()
        self._in_headers = True

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

    def _headers_too_large(self) -> None:
        self._disarm()
        self._refused = True
        if not self.transport.is_closing():
            self.transport.write(_TOO_LARGE)
            self.transport.close()

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if not self.transport.is_closing():
            self.transport.write(_TIMED_OUT)
            self.transport.close()


def uvicorn_protocol_options() -> dict[str, Any]:
    return {"http": HeaderDeadlineProtocol}
