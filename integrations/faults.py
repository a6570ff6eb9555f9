"""Fault injection for the simulators: added latency, an error rate, and "down".

Set at start (constructor, or `--latency-ms --error-rate --down` on the runner) and at run time
through `GET/PUT /_sim/faults`, or directly through `SimulatorControl` when the simulator runs
in-process. Admin routes are never faulted, so a "down" simulator can be brought back up.
"""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import dataclass, field

from fastapi import APIRouter, FastAPI
from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Receive, Scope, Send

ADMIN_PREFIX = "/_sim"


class FaultSettings(BaseModel):
    latency_ms: float = Field(default=0.0, ge=0, description="added before every answer")
    error_rate: float = Field(default=0.0, ge=0, le=1, description="share of requests answered 503")
    down: bool = Field(default=False, description="answer 503 to everything")
    seed: int | None = Field(default=None, description="seed of the error draw, for repeatable tests")


@dataclass
class Faults:
    """The live fault settings one simulator consults on every request."""

    latency_ms: float = 0.0
    error_rate: float = 0.0
    down: bool = False
    seed: int | None = None
    _rng: random.Random = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.update(
            FaultSettings(latency_ms=self.latency_ms, error_rate=self.error_rate, down=self.down, seed=self.seed)
        )

    def update(self, settings: FaultSettings) -> None:
        """Replace every setting (PUT semantics); a new seed restarts the error draw."""
        self.latency_ms = settings.latency_ms
        self.error_rate = settings.error_rate
        self.down = settings.down
        self.seed = settings.seed
        self._rng = random.Random(settings.seed)

    def settings(self) -> FaultSettings:
        return FaultSettings(latency_ms=self.latency_ms, error_rate=self.error_rate, down=self.down, seed=self.seed)

    def draw_error(self) -> bool:
        return self.error_rate > 0 and self._rng.random() < self.error_rate


@dataclass
class SimulatorControl:
    """Handle on an in-process simulator, so tests can inject faults into it."""

    agency: str
    app: FastAPI
    faults: Faults

    def set_faults(
        self, *, latency_ms: float = 0.0, error_rate: float = 0.0, down: bool = False, seed: int | None = None
    ) -> None:
        self.faults.update(FaultSettings(latency_ms=latency_ms, error_rate=error_rate, down=down, seed=seed))

    def reset(self) -> None:
        self.set_faults()


_UNAVAILABLE = json.dumps(
    {"type": "about:blank", "title": "Service Unavailable", "status": 503, "detail": "injected fault"}
).encode()


class FaultMiddleware:
    """Plain ASGI rather than BaseHTTPMiddleware: it sits on every request of a benchmark target."""

    def __init__(self, app: ASGIApp, faults: Faults) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(ADMIN_PREFIX + "/"):
            await self.app(scope, receive, send)
            return
        faults = self.faults
        if not faults.down and faults.latency_ms > 0:
            await asyncio.sleep(faults.latency_ms / 1000)
        if faults.down or faults.draw_error():
            await send(
                {
                    "type": "http.response.start",
                    "status": 503,
                    "headers": [
                        (b"content-type", b"application/problem+json"),
                        (b"content-length", str(len(_UNAVAILABLE)).encode()),
                        (b"retry-after", b"1"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": _UNAVAILABLE})
            return
        await self.app(scope, receive, send)


def install_faults(app: FastAPI, faults: Faults) -> None:
    """Add the middleware and the admin routes (kept out of the agency's OpenAPI document)."""
    app.add_middleware(FaultMiddleware, faults=faults)
    router = APIRouter(prefix=ADMIN_PREFIX, include_in_schema=False)

    @router.get("/faults")
    async def get_faults() -> FaultSettings:
        return faults.settings()

    @router.put("/faults")
    async def put_faults(settings: FaultSettings) -> FaultSettings:
        faults.update(settings)
        return faults.settings()

    @router.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(router)
    app.state.faults = faults
