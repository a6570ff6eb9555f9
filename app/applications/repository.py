"""The only place applications and idempotency records are queried."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, and_, bindparam, exists, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import aliased, undefer

from app.applications.models import Application, IdempotencyRecord
from app.applications.states import OPEN, Status
from app.certificates.models import Certificate, CertificateStatus
from app.db.driver import DriverRead
from app.db.locks import lock_until_transaction_ends
from app.db.queue import Queue
from app.materials.models import ApplicationMaterial, Material
from app.notifications.models import OutboxEvent


async def get(session: AsyncSession, application_id: str) -> Application | None:
    return await session.get(Application, application_id)


# An application's certificate is its newest: a re-issue (补发) replaces the earlier one of the same
# application. "Not superseded" would not do: a renewal or a move supersedes the certificate of
# another application, which must still show its (now superseded) certificate.
def _newest_last(certificate: type[Certificate]) -> tuple[Any, Any]:
    """The order that makes the newest certificate last (or first, descending); one rule for every query."""
    return (certificate.issued_at, certificate.serial)


_NEWEST_LAST = _newest_last(Certificate)


async def certificate_for(session: AsyncSession, application_id: str) -> Certificate | None:
    query = (
        select(Certificate)
        .where(Certificate.application_id == application_id)
        .order_by(*(c.desc() for c in _NEWEST_LAST))
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


class ApplicationView(NamedTuple):
    """One application as a read shows it (GET /v1/applications/{id}), with its newest certificate's
    summary: the columns the answer, the access rule and the audit need, and nothing a change needs
    (history, document facts, attempts, version). Read-only: a change loads the `Application`."""

    id: str
    service: str
    status: Status
    channel: str
    station_id: str | None
    applicant_id_number: str
    applicant_id_hash: str
    applicant_name: str
    details: dict[str, Any]
    checks: list[dict[str, Any]]
    reasons: list[dict[str, Any]]
    decision: dict[str, Any] | None
    next_attempt_at: datetime | None
    created_at: datetime
    updated_at: datetime
    decided_at: datetime | None
    certificate_serial: str | None
    certificate_code: str | None
    certificate_issued_at: datetime | None
    certificate_expires_at: datetime | None
    certificate_status: CertificateStatus | None


_newer = aliased(Certificate)
# One statement, one round trip, no ORM objects: the application and its newest certificate joined by
# a correlated subquery (an index lookup on certificates.application_id; PostgreSQL and SQLite alike).
# Built once; the id is a bound parameter.
_VIEW = DriverRead(
    select(
        Application.id,
        Application.service,
        Application.status,
        Application.channel,
        Application.station_id,
        Application.applicant_id_number,
        Application.applicant_id_hash,
        Application.applicant_name,
        Application.details,
        Application.checks,
        Application.reasons,
        Application.decision,
        Application.next_attempt_at,
        Application.created_at,
        Application.updated_at,
        Application.decided_at,
        Certificate.serial,
        Certificate.verification_code,
        Certificate.issued_at,
        Certificate.expires_at,
        Certificate.status,
    )
    .outerjoin(
        Certificate,
        Certificate.serial
        == (
            select(_newer.serial)
            .where(_newer.application_id == Application.id)
            .order_by(*(c.desc() for c in _newest_last(_newer)))
            .limit(1)
            .correlate(Application)
            .scalar_subquery()
        ),
    )
    .where(Application.id == bindparam("application_id"))
)


async def view(connection: AsyncConnection, application_id: str) -> ApplicationView | None:
    row = await _VIEW.first(connection, {"application_id": application_id})
    return None if row is None else ApplicationView._make(row)


async def certificates_for(session: AsyncSession, application_ids: Sequence[str]) -> dict[str, Certificate]:
    if not application_ids:
        return {}
    rows = await session.execute(
        select(Certificate).where(Certificate.application_id.in_(application_ids)).order_by(*_NEWEST_LAST)
    )
    return {c.application_id: c for c in rows.scalars()}  # later rows win: the newest of each application


async def page(
    session: AsyncSession,
    *,
    applicant_hash: str | None,
    status: Status | None,
    service: str | None,
    application_id: str | None = None,
    after: tuple[datetime, str] | None,
    limit: int,
    oldest_first: bool = False,
) -> list[Application]:
    query = select(Application)
    if applicant_hash is not None:
        query = query.where(Application.applicant_id_hash == applicant_hash)
    if status is not None:
        query = query.where(Application.status == status)
    if service is not None:
        query = query.where(Application.service == service)
    if application_id is not None:
        query = query.where(Application.id == application_id)
    if after is not None:
        created, app_id = after
        if oldest_first:
            query = query.where(
                or_(Application.created_at > created, and_(Application.created_at == created, Application.id > app_id))
            )
        else:
            query = query.where(
                or_(Application.created_at < created, and_(Application.created_at == created, Application.id < app_id))
            )
    order = (
        (Application.created_at.asc(), Application.id.asc())
        if oldest_first
        else (Application.created_at.desc(), Application.id.desc())
    )
    rows = await session.execute(query.order_by(*order).limit(limit + 1))
    return list(rows.scalars())


async def idempotency_record(session: AsyncSession, *, actor_sub: str, key: str) -> IdempotencyRecord | None:
    return (
        await session.execute(
            select(IdempotencyRecord).where(IdempotencyRecord.actor_sub == actor_sub, IdempotencyRecord.key == key)
        )
    ).scalar_one_or_none()


# Applications waiting on an agency, retried by the worker (app.db.queue: claims, leases, backoff).
AGENCY_RETRIES = Queue(
    key=Application.id,
    due_at=Application.next_attempt_at,
    waiting=Application.status == Status.pending_agency.value,
    # A claim is a change: a request that read the application before it fails its commit as stale.
    on_claim={Application.version: Application.version + 1},
)


async def claim_due(session: AsyncSession, *, now: datetime, lease_until: datetime, limit: int) -> list[str]:
    """Take up to `limit` applications whose retry is due, leased until `lease_until` (app.db.queue)."""
    return await AGENCY_RETRIES.claim(session, now=now, lease_until=lease_until, limit=limit)


# Built once: every filing asks it, and building a select of a mapped class costs more than running it.
_OPEN_CASE = (
    select(Application)
    .where(
        Application.applicant_id_hash == bindparam("applicant_hash"),
        Application.service == bindparam("service"),
        Application.status.in_([s.value for s in OPEN]),
    )
    .limit(1)
)


async def open_application(session: AsyncSession, *, applicant_hash: str, service: str) -> Application | None:
    found = await session.execute(_OPEN_CASE, {"applicant_hash": applicant_hash, "service": service})
    return found.scalar_one_or_none()


async def serialize_filings(session: AsyncSession, *, applicant_hash: str) -> None:
    """Hold, until this transaction ends, a lock that every filing by the same person takes (and every issue
    of a certificate they hold one of at a time): the checks made under it see every one committed before.
    PostgreSQL only; SQLite has a single writer, and the unique indexes catch what remains."""
    await lock_until_transaction_ends(session, f"filing:{applicant_hash}")


def attach(session: AsyncSession, *, application_id: str, material_ids: Sequence[str], at: datetime) -> None:
    session.add_all(
        ApplicationMaterial(application_id=application_id, material_id=m, attached_at=at)
        for m in dict.fromkeys(material_ids)
    )


async def attached_ids(session: AsyncSession, application_id: str) -> set[str]:
    rows = await session.execute(
        select(ApplicationMaterial.material_id).where(ApplicationMaterial.application_id == application_id)
    )
    return set(rows.scalars())


async def attached_materials(session: AsyncSession, application_id: str) -> list[tuple[Material, datetime]]:
    rows = await session.execute(
        select(Material, ApplicationMaterial.attached_at)
        .join(ApplicationMaterial, ApplicationMaterial.material_id == Material.id)
        .where(ApplicationMaterial.application_id == application_id)
        .order_by(ApplicationMaterial.attached_at, Material.created_at, Material.id)
    )
    return [(material, attached_at) for material, attached_at in rows.all()]


async def attached_material(session: AsyncSession, *, application_id: str, material_id: str) -> Material | None:
    query = (
        select(Material)
        .join(ApplicationMaterial, ApplicationMaterial.material_id == Material.id)
        .where(ApplicationMaterial.application_id == application_id, Material.id == material_id)
        .options(undefer(Material.content))
    )
    return (await session.execute(query)).scalar_one_or_none()


async def application_id_for_certificate(
    session: AsyncSession, *, serial: str | None = None, code: str | None = None
) -> str | None:
    query = select(Certificate.application_id)
    query = (
        query.where(Certificate.serial == serial)
        if serial is not None
        else query.where(Certificate.verification_code == code)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def overdue_material_requests(session: AsyncSession, *, now: datetime, limit: int) -> list[str]:
    """Applications whose citizen did not supply the asked-for materials in time (next_attempt_at is the
    deadline while in needs_materials)."""
    rows = await session.execute(
        select(Application.id)
        .where(Application.status == Status.needs_materials.value, Application.next_attempt_at <= now)
        .order_by(Application.next_attempt_at)
        .limit(limit)
    )
    return list(rows.scalars())


async def latest_address(session: AsyncSession, *, applicant_hash: str) -> str | None:
    """The address on this person's latest application that names one (a residence permit, a residence
    registration, a change of address): where the city last heard they live."""
    rows = await session.execute(
        select(Application.details)
        .where(Application.applicant_id_hash == applicant_hash)
        .order_by(Application.created_at.desc())
        .limit(20)
    )
    for details in rows.scalars():
        address = details.get("address") if isinstance(details, dict) else None
        if isinstance(address, str):
            return address
    return None


async def expiring_unreminded(
    session: AsyncSession, *, now: datetime, notice: timedelta, key_prefix: str, limit: int
) -> list[tuple[Certificate, Application]]:
    """Valid certificates ending within `notice`, valid longer than it in all, with no outbox event keyed
    `key_prefix + serial` yet; with the application that issued each."""
    reminded = exists().where(OutboxEvent.dedupe_key == literal(key_prefix) + Certificate.serial)
    rows = await session.execute(
        select(Certificate, Application)
        .join(Application, Application.id == Certificate.application_id)
        .where(
            Certificate.status == "issued",
            Certificate.expires_at > now,
            Certificate.expires_at <= now + notice,
            _valid_longer_than(session, notice),
            ~reminded,
        )
        .order_by(Certificate.expires_at)
        .limit(limit)
    )
    return [(certificate, application) for certificate, application in rows.all()]


def _valid_longer_than(session: AsyncSession, window: timedelta) -> ColumnElement[bool]:
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        return Certificate.expires_at - Certificate.issued_at > window
    # SQLite keeps timestamps as text: compare in days.
    days = func.julianday(Certificate.expires_at) - func.julianday(Certificate.issued_at)
    return days > window.total_seconds() / 86400
