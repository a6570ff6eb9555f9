"""Sealing is batched and shared by the processes on one database (issue 20, R2), and still leaves no
event unsealed and no fork in the chain.

Another process's sealer is played by a second engine on the same database (PostgreSQL: another
connection taking the same advisory lock; SQLite: the per-file lock the sealers of this process share).
"""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.audit.sealing import BATCH, hold_chain, seal_all, seal_once
from app.db.session import create_engine, create_sessionmaker
from tests.statements import statements_sent


async def _unsealed(collaborators) -> int:
    async with collaborators.engine.connect() as conn:
        query = select(func.count()).select_from(AuditEvent).where(AuditEvent.seq.is_(None))
        return int((await conn.execute(query)).scalar_one())


async def _verify(client, tokens) -> dict:
    response = await client.get("/v1/audit/verify", headers=tokens.auditor())
    assert response.status_code == 200
    return response.json()


async def test_events_committed_while_another_sealer_holds_the_chain_are_sealed_after_it(client, collaborators):
    async with collaborators.sessionmaker() as other, hold_chain(other) as held:
        assert held
        for _ in range(5):
            assert (await client.get("/v1/services")).status_code == 200
        await asyncio.sleep(0.3)  # the service's sealer was woken, found the chain held and skipped
        assert await _unsealed(collaborators) >= 5
        async with collaborators.sessionmaker() as third, hold_chain(third, wait=False) as also_held:
            assert not also_held  # the chain is one sealer's at a time: a try does not wait
        await other.rollback()  # the other sealer finishes without sealing them
    # Nobody calls seal_all and nothing new is committed: the service's sealer looks again by itself.
    deadline = time.monotonic() + 10
    while await _unsealed(collaborators) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert await _unsealed(collaborators) == 0


async def test_sealers_of_two_processes_racing_build_one_chain(client, tokens, collaborators, database_url):
    engines = [create_engine(database_url) for _ in range(2)]
    makers = [create_sessionmaker(engine) for engine in engines]
    try:
        stop = asyncio.Event()

        async def eager(maker) -> None:  # another process's sealer, never waiting, as often as it can
            while not stop.is_set():
                await seal_once(maker, wait=False)
                await asyncio.sleep(0)

        racers = [asyncio.create_task(eager(maker)) for maker in makers]
        for _ in range(4):
            statuses = await asyncio.gather(*(client.get("/v1/services") for _ in range(15)))
            assert {r.status_code for r in statuses} == {200}
            await seal_all(makers[0])  # a reader in the other process, waiting for the chain
        stop.set()
        await asyncio.gather(*racers)
    finally:
        for engine in engines:
            await engine.dispose()
    report = await _verify(client, tokens)  # seals what is left, then walks the chain from the genesis
    assert report["intact"] is True and report["head_seq"] >= 60


async def test_seal_all_below_a_batch_is_one_round_and_one_update(client, tokens, collaborators, database_url):
    engine = create_engine(database_url)
    try:
        async with collaborators.sessionmaker() as other, hold_chain(other):
            for _ in range(8):  # committed while the service's own sealer cannot take them
                await client.get("/v1/services")
            await other.rollback()
        with statements_sent(engine) as sent:
            sealed = await seal_all(create_sessionmaker(engine))
    finally:
        await engine.dispose()
    statements = [s.statement for s in sent]
    assert 0 <= sealed < BATCH
    reads = [s for s in statements if "FROM audit_events" in s and "seq IS NULL" in s]
    writes = [s for s in statements if s.lstrip().upper().startswith("UPDATE")]
    # One round: it found fewer than a batch, so no second, empty round follows; its rows, if any, in
    # one UPDATE (SQLite: one executemany).
    assert len(reads) == 1, statements
    assert len(writes) == (1 if sealed else 0), statements
    assert (await _verify(client, tokens))["intact"] is True
