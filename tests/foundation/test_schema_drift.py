"""The committed contracts stay true: Alembic matches the models, openapi.json matches the code."""

from __future__ import annotations

import asyncio

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from app.audit.partitions import include_name
from app.cli import OPENAPI_FILE, render_openapi
from app.db.session import create_engine
from app.models import Base

# On PostgreSQL the request log is partitioned by month, and a partitioned table's unique keys must hold
# its partition key: `seq` is unique with `occurred_at` there, alone in the model (app/audit/models.py).
# That one difference, exactly, and nothing else; the month tables themselves are filtered as env.py does.
PARTITION_KEYED = [
    ("remove_constraint", "audit_events", ["seq", "occurred_at"]),
    ("add_constraint", "audit_events", ["seq"]),
]


def _shape(change) -> tuple:
    kind, constraint = change[0], change[1]
    return (kind, constraint.table.name, [column.name for column in constraint.columns])


def test_migrations_match_the_models(database_url):
    async def diff():
        engine = create_engine(database_url)
        async with engine.connect() as conn:
            result = await conn.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": True, "include_name": include_name}),
                    Base.metadata,
                )
            )
        await engine.dispose()
        return result

    changes = asyncio.run(diff())
    if database_url.startswith("postgresql"):
        assert [_shape(c) if c[0].endswith("_constraint") else c for c in changes] == PARTITION_KEYED
    else:
        assert changes == []


def test_the_request_log_is_keyed_by_month_on_postgresql(database_url):
    """Alembic does not compare primary keys: the partitioned table's is checked here."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no partitions")

    async def keys():
        engine = create_engine(database_url)
        async with engine.connect() as conn:
            found = await conn.run_sync(lambda sync: inspect(sync).get_pk_constraint("audit_events"))
            kind = (
                await conn.execute(text("SELECT relkind::text FROM pg_class WHERE relname = 'audit_events'"))
            ).scalar()
        await engine.dispose()
        return found["constrained_columns"], kind

    assert asyncio.run(keys()) == (["id", "occurred_at"], "p")


def test_committed_openapi_document_matches_the_code():
    assert OPENAPI_FILE.read_text(encoding="utf-8") == render_openapi(), "run `cityservices openapi`"
