"""Migration 0010_audit_partitions on PostgreSQL (issue 29): the request log becomes a table partitioned by
month with its rows, keys and id sequence, its chain intact; the downgrade gives the plain table back."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import text

import migrations
from app.audit import hours, repository
from app.audit.partitions import Month
from app.audit.sealing import seal_all
from app.audit.verification import verify_events
from app.db.session import create_engine, create_sessionmaker
from tests.conftest import TEST_DATABASE_URL, _create_pg_database, _drop_pg_database

pytestmark = pytest.mark.skipif(not TEST_DATABASE_URL, reason="the request log is partitioned on PostgreSQL only")

BEFORE, PARTITIONED = "0009_sink_deliveries", "0010_audit_partitions"
NOW = datetime.now(UTC)
OLD = datetime(2025, 3, 14, 9, 26, tzinfo=UTC)


def _to(url: str, revision: str, *, down: bool = False) -> None:
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).resolve().parent))
    config.attributes["database_url"] = url
    config.attributes["configure_logger"] = False
    (command.downgrade if down else command.upgrade)(config, revision)


async def _add_events(url: str, *moments: datetime) -> None:
    """Events written and sealed as the service does: plain inserts, then the sealer links them."""
    engine = create_engine(url)
    async with engine.begin() as conn:
        for at in moments:
            await conn.execute(
                text(
                    "INSERT INTO audit_events (occurred_at, kind, action, outcome) "
                    "VALUES (:at, 'change', 'test.migrated', 'success')"
                ),
                {"at": at},
            )
    await seal_all(create_sessionmaker(engine))
    await engine.dispose()


async def _no_hours(*_: object) -> None:
    return None


async def _shape(url: str) -> dict:
    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    async with engine.connect() as conn:

        async def one(sql: str):
            return (await conn.execute(text(sql))).scalar()

        shape = {
            "kind": await one("SELECT relkind::text FROM pg_class WHERE relname = 'audit_events'"),
            "events": await one("SELECT count(*) FROM audit_events"),
            "ids": await one("SELECT string_agg(id::text, ',' ORDER BY id) FROM audit_events"),
            "primary_key": await one(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'pk_audit_events'"
            ),
            "unique_seq": await one(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'uq_audit_events_seq'"
            ),
            "check": await one(
                "SELECT count(*) FROM pg_constraint WHERE conname = 'ck_audit_events_seq_positive' "
                "AND conrelid = 'audit_events'::regclass"
            ),
            "indexes": await one(
                "SELECT count(*) FROM pg_indexes WHERE tablename = 'audit_events' AND indexname LIKE 'ix_audit_events_%'"
            ),
            "partitions": (
                await conn.execute(
                    text(
                        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                        "WHERE i.inhparent = 'audit_events'::regclass ORDER BY 1"
                    )
                )
            )
            .scalars()
            .all(),
        }
    state = await verify_events(repository.chain_rows(sessionmaker))
    shape["chain"] = (state.first_bad, state.checked)
    await engine.dispose()
    return shape


async def _hours(url: str) -> list[tuple[datetime, int, int]]:
    engine = create_engine(url)
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT hour, first_seq, last_seq FROM audit_seq_hours ORDER BY hour"))
        found = [(hour, first, last) for hour, first, last in rows]
    await engine.dispose()
    return found


def test_the_request_log_is_partitioned_by_month_and_back(monkeypatch):
    # Below 0011 there is no table of the hours' positions for today's sealer to keep: seal without it, and
    # let migration 0011 fill it from the events (checked at the end).
    monkeypatch.setattr(hours, "record", _no_hours)
    url = asyncio.run(_create_pg_database(TEST_DATABASE_URL))
    try:
        _to(url, BEFORE)
        asyncio.run(_add_events(url, OLD, NOW, NOW))

        _to(url, PARTITIONED)
        # Every month from the oldest event's to two months ahead, each its own partition.
        last = Month.of(NOW).plus(2)
        months = [Month.of(OLD).plus(n) for n in range((last.year - OLD.year) * 12 + last.month - OLD.month + 1)]
        shape = asyncio.run(_shape(url))
        assert shape == {
            "kind": "p",
            "events": 3,
            "ids": "1,2,3",
            "primary_key": "PRIMARY KEY (id, occurred_at)",
            "unique_seq": "UNIQUE (seq, occurred_at)",
            "check": 1,
            "indexes": 5,
            "partitions": sorted([m.partition for m in months] + ["audit_events_default"]),
            "chain": (None, 3),
        }
        asyncio.run(_add_events(url, NOW))  # the id sequence and the chain carry on

        _to(url, BEFORE, down=True)
        plain = asyncio.run(_shape(url))
        assert plain == {
            **plain,
            "kind": "r",
            "events": 4,
            "ids": "1,2,3,4",
            "primary_key": "PRIMARY KEY (id)",
            "unique_seq": "UNIQUE (seq)",
            "check": 1,
            "indexes": 5,
            "partitions": [],
            "chain": (None, 4),
        }
        asyncio.run(_add_events(url, NOW))
        _to(url, "head")
        assert asyncio.run(_shape(url))["chain"] == (None, 5)
        now_hour = hours.hour_of(NOW)
        assert asyncio.run(_hours(url)) == [(hours.hour_of(OLD), 1, 1), (now_hour, 2, 5)]
    finally:
        asyncio.run(_drop_pg_database(url))
