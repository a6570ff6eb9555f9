from __future__ import annotations

from datetime import UTC, datetime
from typing import NamedTuple

from sqlalchemy import bindparam, exists, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import undefer

from app.certificates.models import Certificate, CertificateNumber, CertificateStatus
from app.db.driver import DriverRead

_NEXT_NUMBER = text("SELECT nextval(pg_get_serial_sequence('certificate_numbers', 'id'))")


async def next_number(session: AsyncSession) -> int:
    """Unique under concurrency, never max()+1, drawn inside the caller's transaction; a rolled-back
    issuance leaves a gap, never a duplicate."""
    if session.get_bind().dialect.name == "postgresql":
        # The table's own identity sequence (nextval is never rolled back, so no row is needed).
        result = await session.execute(_NEXT_NUMBER)
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


class VerificationView(NamedTuple):
    """What public verification shows and records of a certificate: no facts, no staff-only reason,
    no PDF bookkeeping. Read-only: a change loads the `Certificate`."""

    serial: str
    application_id: str
    service: str
    holder_name: str
    holder_id_hash: str
    holder_id_masked: str
    status: CertificateStatus
    issued_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    revocation_reason_code: str | None
    superseded_by: str | None
    pdf_sha256: str


# Built once, the code a bound parameter: one indexed lookup (verification_code is unique), no ORM object.
_VERIFICATION = DriverRead(
    select(
        Certificate.serial,
        Certificate.application_id,
        Certificate.service,
        Certificate.holder_name,
        Certificate.holder_id_hash,
        Certificate.holder_id_masked,
        Certificate.status,
        Certificate.issued_at,
        Certificate.expires_at,
        Certificate.revoked_at,
        Certificate.revocation_reason_code,
        Certificate.superseded_by,
        Certificate.pdf_sha256,
    ).where(Certificate.verification_code == bindparam("code"))
)


async def verification_by_code(connection: AsyncConnection, code: str) -> VerificationView | None:
    row = await _VERIFICATION.first(connection, {"code": code})
    return None if row is None else VerificationView._make(row)


class DownloadView(NamedTuple):
    """What a download needs of a certificate: whose it is, what it is about, and its PDF. Read-only."""

    serial: str
    application_id: str
    service: str
    holder_id_hash: str
    holder_id_masked: str
    pdf_sha256: str
    pdf: bytes | None  # the bytes when stored in the record (app.storage)


_DOWNLOAD = DriverRead(
    select(
        Certificate.serial,
        Certificate.application_id,
        Certificate.service,
        Certificate.holder_id_hash,
        Certificate.holder_id_masked,
        Certificate.pdf_sha256,
        Certificate.pdf,
    ).where(Certificate.serial == bindparam("serial"))
)


async def download_by_serial(connection: AsyncConnection, serial: str) -> DownloadView | None:
    row = await _DOWNLOAD.first(connection, {"serial": serial})
    return None if row is None else DownloadView._make(row)


async def by_sha256(session: AsyncSession, sha256: str) -> Certificate | None:
    return (await session.execute(select(Certificate).where(Certificate.pdf_sha256 == sha256))).scalar_one_or_none()


# A holder's certificates are read as they are now, even when this session loaded them earlier: the rules
# (what may be renewed, replaced, re-issued) are decided again on them once the person's lock is held.
# Built once (a filing reads them twice): building a select of a mapped class costs more than running it.
_HELD = (
    select(Certificate)
    .where(Certificate.serial == bindparam("serial"), Certificate.holder_id_hash == bindparam("holder"))
    .execution_options(populate_existing=True)
)
_ALL_HELD = (
    select(Certificate)
    .where(
        Certificate.holder_id_hash == bindparam("holder"),
        Certificate.service.in_(bindparam("services", expanding=True)),
    )
    .execution_options(populate_existing=True)
)


async def held_by(session: AsyncSession, holder_id_hash: str, *, serial: str) -> Certificate | None:
    """The certificate with this serial if this holder's; someone else's reads as none."""
    return (await session.execute(_HELD, {"serial": serial, "holder": holder_id_hash})).scalar_one_or_none()


async def all_held_by(session: AsyncSession, holder_id_hash: str, *, services: frozenset[str]) -> list[Certificate]:
    found = await session.execute(_ALL_HELD, {"holder": holder_id_hash, "services": sorted(services)})
    return list(found.scalars().all())


async def holds_bytes(session: AsyncSession, sha256: str) -> bool:
    """A certificate's PDF is these bytes (the object store keeps one copy per hash)."""
    return bool((await session.execute(select(exists().where(Certificate.pdf_sha256 == sha256)))).scalar())
