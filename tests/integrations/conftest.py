"""Simulators on real loopback ports, run by uvicorn in background threads."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Self

import pytest
import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from integrations.datasets import Dataset, load_dataset
from integrations.faults import Faults, FaultSettings
from integrations.housing import simulator as housing_simulator
from integrations.police import simulator as police_simulator


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Recorder:
    """Wraps an app to count the requests that reach it and keep their headers."""

    app: ASGIApp
    headers: list[dict[str, str]] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.headers.append({k.decode().lower(): v.decode() for k, v in scope["headers"]})
        await self.app(scope, receive, send)


class ServerThread:
    def __init__(self, app: Any, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False, lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("simulator did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)


@dataclass
class Simulator:
    url: str
    faults: Faults
    recorder: Recorder


@pytest.fixture(scope="session")
def demo() -> Dataset:
    return load_dataset()


def _serve(app: Any, faults: Faults) -> Iterator[Simulator]:
    recorder = Recorder(app)
    with ServerThread(recorder) as server:
        yield Simulator(server.url, faults, recorder)


@pytest.fixture(scope="session")
def _police_server(demo: Dataset) -> Iterator[Simulator]:
    faults = Faults()
    yield from _serve(police_simulator.create_app(demo, faults), faults)


@pytest.fixture(scope="session")
def _housing_server(demo: Dataset) -> Iterator[Simulator]:
    faults = Faults()
    yield from _serve(housing_simulator.create_app(demo, faults), faults)


@pytest.fixture
def police_server(_police_server: Simulator) -> Iterator[Simulator]:
    """The shared police simulator, with faults and recorded requests cleared for this test."""
    _police_server.faults.update(FaultSettings())
    _police_server.recorder.headers.clear()
    yield _police_server
    _police_server.faults.update(FaultSettings())


@pytest.fixture
def housing_server(_housing_server: Simulator) -> Iterator[Simulator]:
    _housing_server.faults.update(FaultSettings())
    yield _housing_server
    _housing_server.faults.update(FaultSettings())


@pytest.fixture
def serve() -> type[ServerThread]:
    """`with serve(app) as server:` runs any ASGI app on a free loopback port for the block."""
    return ServerThread


@pytest.fixture
def unused_port() -> int:
    """A loopback port nothing listens on (a real outage, not a simulated one)."""
    return free_port()
