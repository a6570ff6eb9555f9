"""Test harness: one database per test worker, migrated once with Alembic, emptied between tests.

SQLite by default; PostgreSQL when TEST_DATABASE_URL is set (a fresh database per xdist worker is
created on that server). The app runs in-process behind httpx's ASGI transport with the agency
simulators in-process too; tests that need real sockets start `cityservices` themselves.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.api.collaborators import Collaborators, collaborators_of
from app.auth.dev_keys import mint_dev_token
from app.cli import _migrate
from app.config import Settings
from app.db.session import create_engine
from app.main import create_app
from app.models import Base
from tests.builders import staff_id_number

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
ISSUER, AUDIENCE = "cityservices-dev", "cityservices"


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


async def _create_pg_database(url: str) -> str:
    parsed = make_url(url)
    name = f"{parsed.database or 'cityservices'}_{_worker()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(
        parsed.set(database="postgres").render_as_string(hide_password=False), isolation_level="AUTOCOMMIT"
    )
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


async def _drop_pg_database(url: str) -> None:
    parsed = make_url(url)
    admin = create_engine(
        parsed.set(database="postgres").render_as_string(hide_password=False), isolation_level="AUTOCOMMIT"
    )
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    await admin.dispose()


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="session")
def database_url(data_dir: Path) -> Iterator[str]:
    if TEST_DATABASE_URL:
        url = asyncio.run(_create_pg_database(TEST_DATABASE_URL))
    else:
        url = f"sqlite+aiosqlite:///{data_dir / 'test.db'}"
    _migrate(Settings(data_dir=data_dir, database_url=url))
    yield url
    if TEST_DATABASE_URL:
        asyncio.run(_drop_pg_database(url))


@pytest.fixture(scope="session")
def settings(data_dir: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        environment="test",
        agency_deadline_seconds=1.5,
        agency_timeout_seconds=0.5,
        agency_breaker_reset_seconds=0.2,
        public_base_url="http://testserver",
        pdf_processes=0,  # threads in tests; `cityservices serve` in tests/cli and tests/reliability uses processes
        # Generous here; tests/security/test_rate_limits.py builds an app with tight limits.
        rate_limit_filing="10000/minute",
        rate_limit_uploads="10000/minute",
        rate_limit_verify="10000/minute",
        rate_limit_public_stats="10000/minute",
        rate_limit_reissue="10000/minute",
        rate_limit_stations="10000/minute",
        rate_limit_shares="10000/minute",
        uploads_per_address=1000,  # tests/security/test_slow_clients.py serves with a tight bound
    )


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[Any]:
    application = create_app(settings, start_worker=False)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="session")
def collaborators(app: Any) -> Collaborators:
    collaborators = collaborators_of(app)
    assert collaborators is not None
    return collaborators


async def _empty_tables(collaborators: Collaborators) -> None:
    # The request log first: the service's sealer, still running between tests, reads and links its events
    # before it writes the hours' positions; locked first, the truncation waits for the sealer's round
    # instead of holding audit_seq_hours while the sealer holds audit_events (a deadlock).
    tables = sorted((t.name for t in reversed(Base.metadata.sorted_tables)), key=lambda name: name != "audit_events")
    async with collaborators.engine.begin() as conn:
        if collaborators.engine.dialect.name == "postgresql":
            await conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                await conn.execute(text(f"DELETE FROM {table}"))


@pytest.fixture(autouse=True)
async def _clean_state(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    if "collaborators" not in request.fixturenames and "client" not in request.fixturenames:
        yield
        return
    collaborators: Collaborators = request.getfixturevalue("collaborators")
    await _empty_tables(collaborators)
    for control in (collaborators.agencies.police_simulator, collaborators.agencies.housing_simulator):
        if control is not None:
            control.reset()
    yield
    collaborators.agencies.reset_circuits()


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=30) as c:
        yield c


@dataclass
class Tokens:
    data_dir: Path

    def mint(self, **claims: Any) -> str:
        return mint_dev_token(self.data_dir, issuer=ISSUER, audience=AUDIENCE, **claims)

    def citizen(self, id_number: str, name: str, *, sub: str | None = None) -> dict[str, str]:
        return self.header(self.mint(roles=["citizen"], id_number=id_number, name=name, sub=sub))

    # Staff are persons (docs/api.md#staff-are-persons): each account below is its own person unless `id_number` says
    # otherwise (a second account of the same person).
    def clerk(
        self, station: str = "310105-HQLB", *, sub: str = "clerk-1", id_number: str | None = None
    ) -> dict[str, str]:
        return self.header(
            self.mint(
                roles=["clerk"],
                sub=sub,
                name="窗口民警",
                station_id=station,
                id_number=id_number or staff_id_number(sub),
            )
        )

    def auditor(self, *, sub: str = "auditor-1", id_number: str | None = None) -> dict[str, str]:
        return self.header(
            self.mint(roles=["auditor"], sub=sub, name="审计员", id_number=id_number or staff_id_number(sub))
        )

    @staticmethod
    def header(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="session")
def tokens(data_dir: Path, app: Any) -> Tokens:
    return Tokens(data_dir)
