"""Stalled connections are closed (issue 13, item 7): request headers and bodies must arrive in time, and
one address may have only a few uploads in flight. Against a real `cityservices serve` over TCP, since
header timeouts live in the HTTP server, below ASGI."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import running_service

HEADER_S, IDLE_S, TOTAL_S = 1.0, 2.0, 4.0


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir: Path = tmp_path_factory.mktemp("slow-clients")
    with running_service(
        data_dir,
        HTTP_HEADER_TIMEOUT_SECONDS=str(HEADER_S),
        HTTP_BODY_IDLE_TIMEOUT_SECONDS=str(IDLE_S),
        HTTP_BODY_TIMEOUT_SECONDS=str(TOTAL_S),
        UPLOADS_PER_ADDRESS="2",
    ) as url:
        yield url


def _connect(base: str) -> socket.socket:
    host, port = base.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    return sock


def _read_until_closed(sock: socket.socket, limit_s: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and how long that took."""
    started, received = time.monotonic(), b""
    sock.settimeout(limit_s)
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except TimeoutError:
        raise AssertionError(f"still open after {limit_s} s; got {received[:200]!r}") from None
    except ConnectionResetError:
        pass
    return received, time.monotonic() - started


def _upload_head(length: int) -> bytes:
    return (
        f"POST /v1/verify HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary=b\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


_PART_START = b'--b\r\nContent-Disposition: form-data; name="file"; filename="x.pdf"\r\n\r\n%PDF-1.4\n'


def test_connections_that_never_finish_their_headers_are_closed(base):
    sockets = [_connect(base) for _ in range(30)]
    for sock in sockets:
        sock.sendall(b"POST /v1/verify HTTP/1.1\r\nHost: t\r\nX-Slow: ")  # and then nothing
    for sock in sockets:
        received, waited = _read_until_closed(sock, limit_s=HEADER_S + 5)
        assert received.startswith(b"HTTP/1.1 408") or received == b""
        sock.close()
    assert waited < HEADER_S + 5


def test_a_stalled_body_is_answered_408_and_closed(base):
    sock = _connect(base)
    sock.sendall(_upload_head(1_000_000) + _PART_START)  # promises a megabyte, sends a few bytes
    received, waited = _read_until_closed(sock, limit_s=IDLE_S + 5)
    sock.close()
    assert received.startswith(b"HTTP/1.1 408"), received[:300]
    assert b"REQUEST_TIMEOUT" in received
    assert IDLE_S - 0.5 < waited < IDLE_S + 5


def test_a_trickled_body_is_cut_off_at_the_total_deadline(base):
    sock = _connect(base)
    sock.sendall(_upload_head(1_000_000) + _PART_START)
    started = time.monotonic()
    sock.settimeout(0.2)
    received = b""
    while time.monotonic() - started < TOTAL_S + 5:
        try:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
        except TimeoutError:
            pass
        except OSError:
            break
        if received:
            continue  # the answer has begun: stop sending (more bytes would only earn a reset), read the rest
        try:
            sock.sendall(b"0" * 10)  # a little, often enough never to be idle
        except OSError:
            break
    sock.close()
    assert received.startswith(b"HTTP/1.1 408"), received[:300]
    assert time.monotonic() - started < TOTAL_S + 5


def test_one_address_has_only_a_few_uploads_in_flight(base):
    stalled = [_connect(base) for _ in range(2)]
    for sock in stalled:
        sock.sendall(_upload_head(1_000_000) + _PART_START)
    time.sleep(0.3)
    third = _connect(base)
    third.sendall(_upload_head(1_000_000) + _PART_START)
    received, waited = _read_until_closed(third, limit_s=IDLE_S + 5)
    assert received.startswith(b"HTTP/1.1 429"), received[:300]
    assert b"TOO_MANY_CONCURRENT_UPLOADS" in received and b"retry-after" in received.lower()
    assert waited < IDLE_S  # refused at once, not after a timeout
    for sock in [*stalled, third]:
        sock.close()


def _get_with_headers(padding: int, count: int = 1) -> bytes:
    pad = "".join(f"X-Pad-{i}: {'a' * padding}\r\n" for i in range(count))
    return f"GET /healthz HTTP/1.1\r\nHost: t\r\n{pad}\r\n".encode()


def test_request_headers_over_16_kib_are_431_from_the_server_itself(base):
    sock = _connect(base)
    sock.sendall(_get_with_headers(1000, count=17))  # 17 headers of ~1 KiB: over 16 KiB in all
    received, _ = _read_until_closed(sock, limit_s=5)
    sock.close()
    assert received.startswith(b"HTTP/1.1 431"), received[:300]
    assert b"HEADERS_TOO_LARGE" in received


def _answer(sock: socket.socket) -> bytes:
    """One whole /healthz answer on a kept-alive connection."""
    received = b""
    while b'{"status":"ok"}' not in received and not received.startswith(b"HTTP/1.1 4"):
        chunk = sock.recv(65536)
        if not chunk:
            break
        received += chunk
    return received


def test_headers_just_under_16_kib_are_served(base):
    sock = _connect(base)
    sock.settimeout(5)
    sock.sendall(_get_with_headers(1000, count=15))
    assert _answer(sock).startswith(b"HTTP/1.1 200")
    sock.close()


def test_a_header_of_megabytes_is_refused_before_it_is_all_read(base):
    """The reproduction: 8 MiB of headers used to be accepted (and twenty stalled such connections pinned
    200 MB). Now the server answers 431 and closes after 16 KiB, whatever is still coming."""
    sock = _connect(base)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: ")
    sent = 0
    try:
        while sent < 8 * 2**20:
            sock.sendall(b"a" * 65536)
            sent += 65536
    except (BrokenPipeError, ConnectionResetError):
        pass
    received, _ = _read_until_closed(sock, limit_s=5)
    sock.close()
    assert sent < 8 * 2**20  # the server closed long before
    assert received.startswith(b"HTTP/1.1 431") or received == b"", received[:300]


def test_a_kept_alive_connection_counts_each_request_s_headers_afresh(base):
    sock = _connect(base)
    sock.settimeout(5)
    for _ in range(3):  # 3 × 12 KiB on one connection: each request is under the bound
        sock.sendall(_get_with_headers(1000, count=12))
        assert _answer(sock).startswith(b"HTTP/1.1 200")
    sock.close()
