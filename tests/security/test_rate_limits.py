"""429 with Retry-After: per citizen on filing and uploads, per client address on verification, and
shared across service processes through Redis when REDIS_URL is set."""

from __future__ import annotations

import socket
import uuid

import httpx
import pytest

from app.main import create_app
from app.ratelimit import MemoryMovingWindow
from tests.builders import LI_NA, ZHANG_WEI, file, no_criminal_record, upload_proof


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


async def _client(app, address: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 1234)), base_url="http://t")


@pytest.fixture
async def tight_app(settings):
    app = create_app(
        settings.model_copy(
            update={"rate_limit_filing": "2/minute", "rate_limit_uploads": "2/minute", "rate_limit_verify": "3/minute"}
        ),
        start_worker=False,
    )
    async with app.router.lifespan_context(app):
        yield app


async def test_filing_is_limited_per_citizen_with_retry_after(tight_app, tokens):
    async with await _client(tight_app, "198.51.100.1") as client:
        zhang = tokens.citizen(*ZHANG_WEI[:2])
        statuses = [(await file(client, zhang, no_criminal_record())).status_code for _ in range(3)]
        assert statuses == [201, 201, 429]
        limited = await file(client, zhang, no_criminal_record())
        assert limited.json()["code"] == "RATE_LIMITED"
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        assert (await file(client, tokens.citizen(*LI_NA[:2]), no_criminal_record())).status_code == 201
        assert (
            await file(
                client,
                tokens.clerk(),
                {**no_criminal_record(), "applicant": {"id_number": ZHANG_WEI[0], "name": ZHANG_WEI[1]}},
            )
        ).status_code == 201


async def test_uploads_are_limited_per_citizen(tight_app, tokens):
    async with await _client(tight_app, "198.51.100.2") as client:
        li = tokens.citizen(*LI_NA[:2])
        await upload_proof(client, li)
        await upload_proof(client, li)
        third = await client.post("/v1/materials", headers=li, files={"file": ("p.pdf", b"%PDF-1.4\n%%EOF\n")})
        assert third.status_code == 429 and "retry-after" in third.headers


async def test_verification_is_limited_per_client_address(tight_app):
    async with await _client(tight_app, "198.51.100.3") as one, await _client(tight_app, "198.51.100.4") as other:
        statuses = [(await one.get("/v1/verify/2222-2222-22222")).status_code for _ in range(4)]
        assert statuses == [404, 404, 404, 429]
        assert (await one.get("/verify/2222-2222-22222")).status_code == 429
        assert (await other.get("/v1/verify/2222-2222-22222")).status_code == 404


@pytest.mark.skipif(not _redis_up(), reason="Redis is not running on 127.0.0.1:6379")
async def test_limits_are_shared_by_service_processes_through_redis(settings):
    limits = {"rate_limit_verify": "3/minute", "redis_url": "redis://127.0.0.1:6379"}
    first = create_app(settings.model_copy(update=limits), start_worker=False)
    second = create_app(settings.model_copy(update=limits), start_worker=False)
    address = f"198.51.100.{uuid.uuid4().int % 200 + 10}"
    async with first.router.lifespan_context(first), second.router.lifespan_context(second):
        async with await _client(first, address) as a, await _client(second, address) as b:
            statuses = [(await c.get(f"/v1/verify/{uuid.uuid4().hex[:13]}")).status_code for c in (a, b, a, b)]
    assert statuses[-1] == 429 and statuses.count(429) == 1


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_in_process_window_is_a_moving_window_of_sixty_a_minute():
    clock = _Clock()
    window = MemoryMovingWindow(60, 60, clock=clock)
    for i in range(60):
        clock.now = 100.0 + i * 0.5  # 60 hits over 29.5 s
        assert window.hit("198.51.100.7") is None
    clock.now = 130.0
    assert window.hit("198.51.100.7") == pytest.approx(30.0)  # until the first hit leaves the window
    assert window.hit("198.51.100.8") is None  # another address has its own window
    clock.now = 160.0  # the first hit (at 100.0) has left: one more, not a fresh sixty
    assert window.hit("198.51.100.7") is None
    assert window.hit("198.51.100.7") == pytest.approx(0.5)
    clock.now = 1000.0  # a whole window idle: everything allowed again
    assert all(window.hit("198.51.100.7") is None for _ in range(60))
    assert window.hit("198.51.100.7") is not None
