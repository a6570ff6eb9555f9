"""A real webhook receiver on a loopback port, answering each POST as its script says."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    body: bytes
    signature: str | None
    at: float  # time.perf_counter() on arrival
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def payload(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # two dispatchers' concurrent connections, not the default backlog of 5
    daemon_threads = True


@dataclass
class Receiver:
    """`script`: one answer per request, in order ("ok", "fail" = HTTP 500, "slow" = answers after
    `slow_s`, past the sender's timeout); "ok" once the script is used up."""

    script: list[str] = field(default_factory=list)
    slow_s: float = 1.5
    received: list[Received] = field(default_factory=list)

    def __enter__(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with lock:
                    receiver.received.append(
                        Received(
                            body,
                            self.headers.get("X-Cityservices-Signature"),
                            time.perf_counter(),
                            dict(self.headers.items()),
                        )
                    )
                    answer = receiver.script.pop(0) if receiver.script else "ok"
                if answer == "slow":
                    time.sleep(receiver.slow_s)
                self.send_response(500 if answer == "fail" else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks/cityservices"

    def ids(self) -> list[int]:
        return [r.payload["id"] for r in self.received]
