from __future__ import annotations

import secrets

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.certificates.models import Certificate, CertificateStatus
from app.credentials.models import StatusListEntry
from app.credentials.statuslist import FILL_LIMIT, LIST_SIZE


async def entry_of(session: AsyncSession, serial: str) -> StatusListEntry | None:
    return await session.get(StatusListEntry, serial)


async def take_entry(session: AsyncSession, serial: str) -> StatusListEntry:
    """A random free index in the newest list that is not yet half full (else a new list). Two issuances
    that draw the same index at once: the unique key lets one commit, the other answers 409 and retries."""
    newest = (
        await session.execute(
            select(StatusListEntry.list_id, func.count())
            .group_by(StatusListEntry.list_id)
            .order_by(StatusListEntry.list_id.desc())
            .limit(1)
        )
    ).first()
    list_id = 1 if newest is None else newest[0] + (1 if newest[1] >= FILL_LIMIT else 0)
    while True:
        idx = secrets.randbelow(LIST_SIZE)
        taken = await session.execute(
            select(StatusListEntry.idx).where(StatusListEntry.list_id == list_id, StatusListEntry.idx == idx)
        )
        if taken.first() is None:
            break
    entry = StatusListEntry(certificate_serial=serial, list_id=list_id, idx=idx)
    session.add(entry)
    return entry


async def list_exists(session: AsyncSession, list_id: int) -> bool:
    query = select(StatusListEntry.idx).where(StatusListEntry.list_id == list_id).limit(1)
    return (await session.execute(query)).first() is not None


async def invalid_indices(session: AsyncSession, list_id: int) -> list[int]:
    """The indices whose certificate is revoked or superseded, read as the certificates are now."""
    query = (
        select(StatusListEntry.idx)
        .join(Certificate, Certificate.serial == StatusListEntry.certificate_serial)
        .where(
            StatusListEntry.list_id == list_id,
            Certificate.status.in_((CertificateStatus.revoked, CertificateStatus.superseded)),
        )
    )
    return list((await session.execute(query)).scalars())
