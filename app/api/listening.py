"""Each worker process listens on a socket of its own (Linux `SO_REUSEPORT`), so that the kernel spreads
new connections over the workers.

uvicorn with `--workers` binds one socket in its parent and every worker accepts from it: a worker that
wakes accepts every connection waiting, so a burst (a client's pool, a proxy's kept-alive connections) can
land on one worker while the others idle (`ss` showed all 26 connections of a `bench/run.py` pool in one
of two workers). Sockets of their own, bound to one address with `SO_REUSEPORT`, are chosen by a hash of
each connection's addresses instead.

uvicorn hands each worker its parent's sockets by pickling them; `OwnSocket` stands in that list, and
unpickled in a worker it binds that worker's socket (asyncio's server calls `listen`).
"""

from __future__ import annotations

import logging
import socket
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import uvicorn


def spreads_connections(port: int) -> bool:
    """Whether this machine can: Linux, and a fixed port (with port 0 each worker would get another)."""
    return sys.platform == "linux" and hasattr(socket, "SO_REUSEPORT") and port != 0


def ensure_free(host: str, port: int) -> None:
    """Raise OSError if anything listens on the address: a socket of our own would otherwise join another
    `serve`'s group on it, and share its traffic, instead of failing as a busy port does."""
    with socket.socket(_family(host), socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))


def bind_own(host: str, port: int) -> socket.socket:
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


class OwnSocket:
    """In the parent's list of sockets: a worker's own socket, bound when the worker unpickles it."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port

    def __reduce__(self) -> tuple[Any, tuple[str, int]]:
        return bind_own, (self.host, self.port)


def serve_on_own_sockets(config: uvicorn.Config) -> None:
    """`uvicorn.run` with `config.workers` workers, each on a socket of its own; exits 3 (uvicorn's
    STARTUP_FAILURE, as when its own bind fails) if the address is taken."""
    from uvicorn.supervisors import Multiprocess

    try:
        ensure_free(config.host, config.port)
    except OSError as exc:
        logging.getLogger("uvicorn.error").error("%s:%d: %s", config.host, config.port, exc.strerror or exc)
        raise SystemExit(3) from exc
    logging.getLogger("uvicorn.error").info(
        "Uvicorn running on http://%s:%d, a socket per worker", config.host, config.port
    )
    Multiprocess(config, sockets=[OwnSocket(config.host, config.port)]).run()  # type: ignore[list-item]


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET
