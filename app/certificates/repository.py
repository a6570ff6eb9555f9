from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import undefer

from app.certificates.models import Certificate, CertificateNumber


async def next_number(session: AsyncSession) -> int:
    """Unique under concurrency, never max()+1, drawn inside the caller's transaction; a rolled-back
    issuance leaves a gap, never a duplicate."""
    if session.get_bind().dialect.name == "postgresql":
        # The table's own identity sequence (nextval is never rolled back, so no row is needed).
        result = await session.execute(text("SELECT nextval(pg_get_serial_sequence('certificate_numbers', 'id'))"))
        return int(result.scalar_one())
    # SQLite has no sequences: the row's autoincrement key is the number (held by this transaction's lock).
    result = await session.execute(
        insert(CertificateNumber).values(created_at=datetime.now(UTC)).returning(CertificateNumber.id)
    )
    return int(result.scalar_one())


async def by_serial(session: AsyncSession, serial: str, *, with_pdf: bool = False) -> Certificate | None:
    query = select(Certificate).where(Certificate.serial == serial)
    if with_pdf:
        query = query.options(undefer(Certificate.pdf))
    return (await session.execute(query)).scalar_one_or_none()


async def by_code(session: AsyncSession, code: str) -> Certificate | None:
    return (
        await session.execute(select(Certificate).where(Certificate.verification_code == code))
    ).scalar_one_or_none()


async def by_sha256(session: AsyncSession, sha256: str) -> Certificate | None:
    return (await session.execute(select(Certificate).where(Certificate.pdf_sha256 == sha256))).scalar_one_or_none()


async def held_by(session: AsyncSession, holder_id_hash: str, *, serial: str) -> Certificate | None:
    """The certificate with this serial if this holder's; someone else's reads as none."""
    query = select(Certificate).where(Certificate.serial == serial, Certificate.holder_id_hash == holder_id_hash)
    return (await session.execute(query)).scalar_one_or_none()


async def all_held_by(session: AsyncSession, holder_id_hash: str, *, services: frozenset[str]) -> list[Certificate]:
    query = select(Certificate).where(Certificate.holder_id_hash == holder_id_hash, Certificate.service.in_(services))
    return list((await session.execute(query)).scalars().all())
