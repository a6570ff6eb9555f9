"""Nothing a stranger sends can make other people's requests fail on the request log (issue 13, item 1).

Run on PostgreSQL (TEST_DATABASE_URL) to mean anything for lengths and NUL bytes: SQLite enforces neither,
which is how the original defect passed every SQLite test.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from sqlalchemy import func, select, text

from app.audit.models import AuditEvent
from app.audit.sanitise import LENGTHS, storable
from app.audit.sealing import seal_all
from tests.builders import ZHANG_WEI, file, no_criminal_record

BAD_METHODS = ["UNSUBSCRIBE", "PROPPATCH", "MKCALENDAR", "X" * 40, "BREW"]


async def _events(collaborators, **where) -> list[AuditEvent]:
    await seal_all(collaborators.sessionmaker)
    async with collaborators.sessionmaker() as session:
        query = select(AuditEvent)
        for name, value in where.items():
            query = query.where(getattr(AuditEvent, name) == value)
        return list((await session.execute(query.order_by(AuditEvent.id))).scalars())


async def test_bad_methods_sent_with_normal_requests_fail_none_of_them(client, tokens, collaborators):
    citizen = tokens.citizen(*ZHANG_WEI[:2])
    issued = await file(client, citizen, no_criminal_record())
    serial = issued.json()["certificate"]["serial"]

    async def normal(i: int):
        if i % 3 == 0:
            return await client.get(f"/v1/certificates/{serial}/pdf", headers=citizen)
        if i % 3 == 1:
            return await client.get("/v1/applications", headers=citizen)
        return await client.get("/v1/services")

    async def hostile(i: int):
        return await client.request(BAD_METHODS[i % len(BAD_METHODS)], "/v1/services")

    rounds = 5
    normal_statuses: Counter[int] = Counter()
    hostile_statuses: Counter[int] = Counter()
    for _ in range(rounds):
        # Interleaved in one burst, so that they share group-commit batches.
        results = await asyncio.gather(*(normal(i) for i in range(40)), *(hostile(i) for i in range(40)))
        normal_statuses.update(r.status_code for r in results[:40])
        hostile_statuses.update(r.status_code for r in results[40:])
    print(f"normal requests: {dict(normal_statuses)}; bad-method requests: {dict(hostile_statuses)}")
    assert normal_statuses[503] == 0
    assert set(normal_statuses) == {200}
    assert set(hostile_statuses) == {405}
    refused = await client.request("UNSUBSCRIBE", "/v1/services")
    assert refused.json()["code"] == "METHOD_NOT_ALLOWED" and refused.headers["allow"] == "GET"
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert (await client.request("QUERY", "/v1/no-such-thing")).status_code == 404
    # A standard method a route does not take is routed as usual: 405, logged like any request.
    assert (await client.request("TRACE", "/v1/services")).status_code == 405
    # Every normal request was logged; the unknown methods were not (routing refused them).
    methods = {e.method for e in await _events(collaborators, kind="request")}
    assert methods <= {"GET", "POST", "TRACE"}


async def test_nul_strings_from_a_token_are_cleaned_not_fatal(client, tokens, collaborators):
    sub = "evil\x00" + "s" * 250
    token = tokens.mint(roles=["auditor"], sub=sub, name="审计员")
    response = await client.get("/v1/applications", headers=tokens.header(token))
    assert response.status_code == 200, response.text
    [event] = [e for e in await _events(collaborators, kind="request") if e.actor_role == "auditor"]
    assert event.actor_sub is not None and "\x00" not in event.actor_sub
    assert len(event.actor_sub) <= LENGTHS["actor_sub"]


async def test_one_unstorable_event_fails_only_its_own_request_in_a_shared_batch(collaborators):
    writer = collaborators.audit.writer

    def good(i: int) -> dict:
        return {"kind": "request", "action": "test.batch", "outcome": "success", "request_id": f"good-{i}"}

    bad = {"kind": None, "action": "test.batch", "outcome": "success", "request_id": "bad"}  # NOT NULL
    results = await asyncio.gather(
        *(writer.write(good(i)) for i in range(10)),
        writer.write(bad),
        *(writer.write(good(i)) for i in range(10, 20)),
        return_exceptions=True,
    )
    failures = [i for i, r in enumerate(results) if isinstance(r, BaseException)]
    assert failures == [10]
    async with collaborators.sessionmaker() as session:
        stored = (
            await session.execute(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "test.batch"))
        ).scalar_one()
    assert stored == 20


@pytest.mark.parametrize("name", ["method", "actor_sub", "route", "client_addr", "resource_id", "subject_masked"])
def test_every_string_is_cut_to_its_column_and_loses_nul_bytes(name):
    cleaned = storable({name: "a\x00b" + "x" * 5000})
    assert len(cleaned[name]) <= LENGTHS[name] and "\x00" not in cleaned[name]


def test_details_are_cleaned_and_bounded():
    cleaned = storable({"details": {"note": "a\x00b", "huge": "y" * 100_000, "nested": [{"k": "\x00"}]}})
    assert "\x00" not in repr(cleaned["details"])
    assert len(repr(cleaned["details"])) < 10_000


async def test_an_unreachable_database_fails_the_batch_once_without_splitting_it(tmp_path):
    from app.audit.batching import RequestLogWriter
    from app.db.session import create_engine, create_sessionmaker

    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'missing-dir' / 'x.db'}")  # cannot be opened

    class Counting(RequestLogWriter):
        attempts = 0

        async def _write_batch(self, batch):
            Counting.attempts += 1
            await super()._write_batch(batch)

    writer = Counting(create_sessionmaker(engine))
    writer.start()
    try:
        results = await asyncio.gather(
            *(writer.write({"kind": "request", "action": "x", "outcome": "success"}) for _ in range(16)),
            return_exceptions=True,
        )
    finally:
        await writer.stop()
        await engine.dispose()
    assert all(isinstance(r, Exception) for r in results)
    assert Counting.attempts == 1  # a database that is down is not bisected 31 times


async def test_a_value_a_column_cannot_take_fails_only_its_own_request(collaborators, database_url):
    """On PostgreSQL the writer runs its batch on asyncpg itself, which refuses such a value before the
    server sees it (a DataError, an InterfaceError too): that is the batch's fault, not the database's."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite stores any value in any column")
    writer = collaborators.audit.writer

    def event(i: int, status: object) -> dict:
        return {"kind": "request", "action": "test.typed", "outcome": "success", "request_id": f"typed-{i}",
                "status_code": status}  # fmt: skip

    results = await asyncio.gather(
        *(writer.write(event(i, 200)) for i in range(5)),
        writer.write(event(5, "not a number")),
        *(writer.write(event(i, 201)) for i in range(6, 10)),
        return_exceptions=True,
    )
    assert [i for i, r in enumerate(results) if isinstance(r, BaseException)] == [5]
    stored = await _events(collaborators, action="test.typed")
    assert sorted(e.request_id for e in stored) == sorted(f"typed-{i}" for i in range(10) if i != 5)
    assert {e.status_code for e in stored} == {200, 201}


async def test_the_writer_outlives_the_end_of_its_held_connection(collaborators, database_url):
    """A server restart ends every connection, the one the writer holds between batches too; the next
    batch is written on a new one, and the request waiting for it is not refused."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite: no connection held between batches")
    writer = collaborators.audit.writer
    await writer.write({"kind": "request", "action": "test.held", "outcome": "success", "request_id": "held-1"})
    async with collaborators.sessionmaker() as session:
        ended = await session.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
        assert any(ended.scalars())
    # The pools' connections ended too: new ones, as SQLAlchemy makes once it finds that on their next use.
    await collaborators.engine.dispose()
    await collaborators.read_engine.dispose()
    await writer.write({"kind": "request", "action": "test.held", "outcome": "success", "request_id": "held-2"})
    stored = await _events(collaborators, action="test.held")
    assert [e.request_id for e in stored] == ["held-1", "held-2"]
