from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import undefer

from app.certificates.models import Certificate


async def by_serial(session: AsyncSession, serial: str, *, with_pdf: bool = False) -> Certificate | None:
    query = select(Certificate).where(Certificate.serial == serial)
    if with_pdf:
        query = query.options(undefer(Certificate.pdf))
    return (await session.execute(query)).scalar_one_or_none()


async def by_code(session: AsyncSession, code: str) -> Certificate | None:
    return (await session.execute(select(Certificate).where(Certificate.verification_code == code))).scalar_one_or_none()


async def by_sha256(session: AsyncSession, sha256: str) -> Certificate | None:
    return (await session.execute(select(Certificate).where(Certificate.pdf_sha256 == sha256))).scalar_one_or_none()


async def held_by(session: AsyncSession, holder_id_hash: str, *, serial: str) -> Certificate | None:
    """The certificate with this serial if this holder's; someone else's reads as none."""
    query = select(Certificate).where(Certificate.serial == serial, Certificate.holder_id_hash == holder_id_hash)
    return (await session.execute(query)).scalar_one_or_none()


async def all_held_by(session: AsyncSession, holder_id_hash: str, *, services: frozenset[str]) -> list[Certificate]:
    query = select(Certificate).where(Certificate.holder_id_hash == holder_id_hash, Certificate.service.in_(services))
    return list((await session.execute(query)).scalars().all())
