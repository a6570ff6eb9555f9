"""Crash safety on PostgreSQL: filings from concurrent clients while the service is SIGKILLed and
restarted, twice. Every answered application exists and ends decided, none has two certificates,
and the request log verifies intact."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from app.db.session import create_engine
from integrations.datasets.demo import CASES
from tests.builders import PDF_PROOF
from tests.conftest import _create_pg_database, _drop_pg_database
from tests.servers import CITYSERVICES, free_port, mint, service_env, wait_until_up

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not TEST_DATABASE_URL, reason="crash safety is proven on PostgreSQL"),
]
# A residence registration asks both agencies and takes a material like a residence permit, and may be
# filed again and again (a second residence permit while one is valid is refused: CERTIFICATE_STILL_VALID).
ISSUABLE = [c for c in CASES if c.residence_registration == "issued" and c.address]
CLIENTS = 6
ROUNDS = 3  # run, kill, restart, run, kill, restart, run


def _start(data_dir: Path, port: int, database_url: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*CITYSERVICES, "serve", "--port", str(port)],
        env=service_env(
            data_dir, DATABASE_URL=database_url, RATE_LIMIT_FILING="100000/minute", RATE_LIMIT_UPLOADS="100000/minute"
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


async def _citizen(base: str, token: str, case, worker: int, answered: dict[str, str], stop: asyncio.Event) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    n = 0
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        while not stop.is_set() and n < 500:
            key = f"w{worker}-{n}"
            try:
                material = (
                    await client.post("/v1/materials", headers=headers, files={"file": ("p.pdf", PDF_PROOF)})
                ).json()["id"]
                response = await client.post(
                    "/v1/applications",
                    headers={**headers, "Idempotency-Key": key},
                    json={
                        "service": "residence-registration",
                        "details": {"address": case.address, "material_ids": [material]},
                    },
                )
                if response.status_code in (201, 202):
                    answered[key] = response.json()["id"]
                n += 1
            except (httpx.HTTPError, KeyError, ValueError):
                await asyncio.sleep(0.2)  # the service is down: try again (same key for the next filing is fine)


async def _load(base: str, tokens: list[str], answered: dict[str, str], seconds: float) -> None:
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(_citizen(base, tokens[i], ISSUABLE[i % len(ISSUABLE)], i, answered, stop))
        for i in range(CLIENTS)
    ]
    await asyncio.sleep(seconds)
    stop.set()
    await asyncio.gather(*tasks)


async def _scenario(tmp_path: Path, database_url: str) -> tuple[dict[str, str], list[dict], dict, int]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    data_dir = tmp_path / "data"
    answered: dict[str, str] = {}
    process = _start(data_dir, port, database_url)
    try:
        wait_until_up(f"{base}/healthz", 60)
        tokens = [
            mint(
                data_dir,
                "--role",
                "citizen",
                "--id-number",
                ISSUABLE[i % len(ISSUABLE)].id_number,
                "--name",
                ISSUABLE[i % len(ISSUABLE)].name,
            )
            for i in range(CLIENTS)
        ]
        for round_ in range(ROUNDS):
            load = asyncio.create_task(_load(base, tokens, answered, 4.0))
            if round_ < ROUNDS - 1:
                await asyncio.sleep(2.0 + round_ * 0.37)
                os.killpg(process.pid, signal.SIGKILL)  # mid-load, no goodbye
                process.wait(timeout=10)
                process = _start(data_dir, port, database_url)
                await asyncio.to_thread(wait_until_up, f"{base}/healthz", 60)
            await load
        auditor = mint(data_dir, "--role", "auditor")
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient(
            base_url=base, timeout=30, headers={"Authorization": f"Bearer {auditor}"}
        ) as client:
            while True:
                finals = [(await client.get(f"/v1/applications/{i}")).json() for i in answered.values()]
                if (
                    all(a.get("status") not in ("pending_agency", "verifying", "submitted") for a in finals)
                    or time.monotonic() > deadline
                ):
                    break
                await asyncio.sleep(1)
            verdict = (await client.get("/v1/audit/verify")).json()
        engine = create_engine(database_url)
        async with engine.connect() as conn:
            duplicates = (
                await conn.execute(
                    text(
                        # Current certificates only: a re-issue (补发) legitimately adds a second, superseding one.
                        "SELECT count(*) FROM (SELECT application_id FROM certificates WHERE superseded_by IS NULL "
                        "GROUP BY application_id HAVING count(*) > 1) d"
                    )
                )
            ).scalar_one()
        await engine.dispose()
        return answered, finals, verdict, int(duplicates)
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(process.pid, signal.SIGKILL)


async def test_sigkill_twice_under_load_loses_nothing(tmp_path):
    # A database of its own: the session's holds checkpoints signed with the session's key, which this
    # service (its own DATA_DIR, its own key) would rightly call foreign.
    database_url = await _create_pg_database(TEST_DATABASE_URL)
    try:
        answered, finals, verdict, duplicates = await _scenario(tmp_path, database_url)
    finally:
        await _drop_pg_database(database_url)
    print(
        f"\ncrash test: {len(answered)} filings answered 201/202 across 2 SIGKILLs; "
        f"{sum(1 for a in finals if 'id' not in a)} lost; {duplicates} duplicate certificates"
    )
    assert len(answered) > 20
    assert all("id" in a for a in finals), "an answered application is missing"
    assert all(a["status"] in ("issued", "needs_review", "rejected") for a in finals)
    assert all(a["status"] == "issued" and a["certificate"] for a in finals)
    assert duplicates == 0
    assert verdict["intact"] is True, verdict
