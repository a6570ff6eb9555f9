"""The worker's liveness (WORKER_HEALTH_PORT, docs/deployment.md "Ports"): `/healthz` answers 200 while
the background loop keeps ending passes, 503 once none has ended for WORKER_STALL_SECONDS.

A process that is up is not a worker that works: a pass stuck on a database that accepts connections and
never answers, or an event loop blocked by a runaway call, leaves the process alive and nothing done. The
loop beats a `Heartbeat` at every turn; a small HTTP server on its own thread (so that it answers even
while the event loop is stuck) reports how long ago the last beat was. Orchestrators restart on the 503.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Heartbeat:
    """When the worker loop last turned (monotonic seconds), and whether that is too long ago."""

    def __init__(self, stall_seconds: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.stall_seconds = stall_seconds
        self._clock = clock
        self._last = clock()  # a fresh worker is given one full stall period for its first pass

    def beat(self) -> None:
        self._last = self._clock()

    def seconds_since_beat(self) -> float:
        return self._clock() - self._last

    def stalled(self) -> bool:
        return self.seconds_since_beat() >= self.stall_seconds


def _handler_for(heartbeat: Heartbeat) -> type[BaseHTTPRequestHandler]:
    class HealthHandler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the standard library's name
            if self.path.split("?", 1)[0] != "/healthz":
                self._answer(404, {"status": "not_found"})
                return
            since = round(heartbeat.seconds_since_beat(), 3)
            stalled = heartbeat.stalled()
            self._answer(
                503 if stalled else 200,
                {"status": "stalled" if stalled else "ok", "seconds_since_last_turn": since},
            )

        def _answer(self, status: int, body: dict[str, object]) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the standard library's name
            """Probes every few seconds would drown the worker's own log: not logged."""

    return HealthHandler


def serve_worker_health(host: str, port: int, heartbeat: Heartbeat) -> ThreadingHTTPServer:
    """Start answering on host:port (a daemon thread); the caller may `shutdown()` the returned server."""
    server = ThreadingHTTPServer((host, port), _handler_for(heartbeat))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="worker-health", daemon=True).start()
    return server
