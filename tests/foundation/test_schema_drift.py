"""The committed contracts stay true: Alembic matches the models, openapi.json matches the code."""

from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.cli import OPENAPI_FILE, render_openapi
from app.db.session import create_engine
from app.models import Base


def test_migrations_match_the_models(database_url):
    async def diff():
        engine = create_engine(database_url)
        async with engine.connect() as conn:
            result = await conn.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": True}), Base.metadata
                )
            )
        await engine.dispose()
        return result

    assert asyncio.run(diff()) == []


def test_committed_openapi_document_matches_the_code():
    assert OPENAPI_FILE.read_text(encoding="utf-8") == render_openapi(), "run `cityservices openapi`"
