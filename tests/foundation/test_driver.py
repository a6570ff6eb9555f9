"""The hot reads' statements run by asyncpg itself (app/db/driver.py) answer exactly what SQLAlchemy's
execution of the same statement answers: the same values of the same types (JSON decoded, enums, aware
times, nulls), on PostgreSQL by the driver and on SQLite by SQLAlchemy; and a connection that broke under
a read is not handed out again."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import bindparam, select, text

from app.applications.models import Application
from app.applications.repository import view
from app.certificates.codes import normalize_code
from app.certificates.models import Certificate
from app.certificates.repository import verification_by_code
from app.db.driver import DriverRead
from app.db.session import create_engine, create_read_engine
from tests.builders import LI_NA, ZHANG_WEI, file, file_residence_permit, no_criminal_record

# Every kind of column the hot reads show, and a parameter the caller does not pass (the subquery's LIMIT).
_NEWEST = (
    select(Certificate.serial)
    .where(Certificate.application_id == Application.id)
    .order_by(Certificate.issued_at.desc())
    .limit(1)
    .correlate(Application)
    .scalar_subquery()
)
READ = DriverRead(
    select(
        Application.id,
        Application.status,
        Application.station_id,
        Application.details,
        Application.checks,
        Application.decision,
        Application.created_at,
        Application.decided_at,
        Certificate.status,
        Certificate.expires_at,
    )
    .outerjoin(Certificate, Certificate.serial == _NEWEST)
    .where(Application.id == bindparam("application_id"))
)


def _typed(row: tuple[object, ...] | None) -> list[tuple[type, object]] | None:
    return None if row is None else [(type(value), value) for value in row]


async def test_the_driver_answers_what_sqlalchemy_answers(client, tokens, collaborators):
    issued = (await file_residence_permit(client, tokens.citizen(*ZHANG_WEI[:2]), ZHANG_WEI[2])).json()
    assert issued["status"] == "issued"
    other = (await file(client, tokens.citizen(*LI_NA[:2]), no_criminal_record(note="夜间申请"))).json()
    async with collaborators.read_engine.connect() as connection:
        for application_id in (issued["id"], other["id"], "no-such-application"):
            params = {"application_id": application_id}
            expected = (await connection.execute(READ.statement, params)).first()
            found = await READ.first(connection, params)
            assert _typed(found) == _typed(None if expected is None else tuple(expected))
        # The service's two hot reads, through the same path.
        shown = await view(connection, issued["id"])
        assert shown is not None and shown.details == issued["details"] and shown.status == "issued"
        assert shown.created_at.tzinfo is not None and shown.certificate_serial == issued["certificate"]["serial"]
        code = normalize_code(issued["certificate"]["verification_code"])  # as shown: in groups, with dashes
        assert code is not None
        verified = await verification_by_code(connection, code)
        assert verified is not None and verified.serial == issued["certificate"]["serial"]
        assert verified.issued_at.tzinfo is not None
        assert await verification_by_code(connection, "NO-SUCH-CODE") is None


async def test_a_connection_broken_under_a_read_is_not_used_again(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite reads in process: no connection to break")
    engine = create_engine(database_url)
    reads = create_read_engine(engine, pool_size=1, pool_timeout=5)  # one connection: the broken one, if kept
    params = {"application_id": "no-such-application"}
    try:
        async with reads.connect() as connection:
            pid = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        async with engine.connect() as admin:
            await admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        # asyncpg's own error (which one depends on when it learns of the end: AdminShutdownError,
        # ConnectionDoesNotExistError, InternalClientError: "another operation is in progress")
        with pytest.raises((asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError, OSError)):
            async with reads.connect() as connection:
                await READ.first(connection, params)
        async with reads.connect() as connection:
            assert await READ.first(connection, params) is None
            assert (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one() != pid
    finally:
        await reads.dispose()
        await engine.dispose()
