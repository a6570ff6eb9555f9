"""Filing an application, in named steps: refuse a matter done at a window, read the filing, take the
applicant's lock, answer a retry as before, check admissibility, consult the agencies, decide, record the
case and commit once (docs/architecture.md, "One filing, through the layers")."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.applications import repository, window_only, workflow
from app.applications.decision_kit import DecisionKit
from app.applications.errors import (
    ApplicantNotAllowed,
    ApplicantRequired,
    DuplicateApplication,
    IdempotencyKeyReused,
    InvalidDetails,
    UnknownService,
)
from app.applications.models import Application, IdempotencyRecord
from app.applications.records import ApplicantCertificates
from app.applications.schemas import FilingIn
from app.applications.service import Outcome, about, actor_of, check_materials
from app.applications.states import Event, Status, fire
from app.audit.context import RequestContext
from app.auth.principal import Principal, Role
from app.catalogue.base import Applicant, ServiceDefinition
from app.catalogue.registry import get_service
from app.catalogue.window_matters import get_window_matter
from app.certificates.models import Certificate
from app.clock import SHANGHAI
from app.db.uow import UnitOfWork
from app.errors import ConcurrentChange
from app.identity.subjects import SubjectHasher
from app.observability import APPLICATIONS_FILED
from app.stations.registry import StationRegistry


@dataclass(frozen=True)
class Filing:
    """A filing read and checked for shape: what it asks, for whom, and how a retry of it is recognised."""

    service: ServiceDefinition
    details: dict[str, object]
    applicant: Applicant
    applicant_hash: str
    material_ids: list[str]
    request_hash: str  # of the whole body: a retry with the same key must send the same body
    idempotency_key: str | None


async def file(
    *,
    work: UnitOfWork,
    kit: DecisionKit,
    stations: StationRegistry,
    ctx: RequestContext,
    principal: Principal,
    body: FilingIn,
    idempotency_key: str | None,
) -> Outcome:
    """Check, consult the agencies, decide and (if due) issue: all in `work`, committed once at the end."""
    session, hasher = work.session, kit.audit.hasher
    await _refuse_window_matter(session, stations=stations, hasher=hasher, principal=principal, body=body)
    filing = read_filing(body, principal=principal, hasher=hasher, idempotency_key=idempotency_key)
    # Held until the commit (PostgreSQL): a retry or another filing by this person waits here, then sees
    # this one committed; so what is checked below stays true while the agencies answer.
    await repository.serialize_filings(session, applicant_hash=filing.applicant_hash)
    earlier = await _earlier_answer(session, principal=principal, filing=filing)
    if earlier is not None:
        return earlier
    if filing.material_ids:
        await check_materials(session, principal, filing.material_ids)
    await ensure_admissible(session, filing=filing, now=kit.clock())

    now = kit.clock()
    application = _new_application(filing, principal=principal, hasher=hasher, now=now)
    about(ctx, application)
    fire(application, Event.file, Status.verifying, actor=actor_of(principal), at=now, by=principal.sub)
    certificate = await _decide(work, kit=kit, ctx=ctx, application=application, filed_at=now)
    status_code = 202 if application.status == Status.pending_agency else 201
    _record(session, application=application, filing=filing, principal=principal, status_code=status_code, at=now)
    ctx.status = status_code
    try:
        await work.commit(stale=ConcurrentChange)
    except ConcurrentChange:
        earlier = await _after_lost_race(session, principal=principal, filing=filing, now=kit.clock())
        if earlier is not None:
            return earlier
        raise  # a certificate it relied on changed meanwhile (re-issued, renewed, moved): 409
    APPLICATIONS_FILED.labels(application.service, application.status, application.channel).inc()
    return Outcome(status_code, application, certificate)


async def _refuse_window_matter(
    session: AsyncSession, *, stations: StationRegistry, hasher: SubjectHasher, principal: Principal, body: FilingIn
) -> None:
    """A matter done at a window is refused with the nearest windows that handle it."""
    matter = get_window_matter(body.service)
    if matter is not None:
        raise await window_only.refusal(
            session=session, stations=stations, hasher=hasher, principal=principal, matter=matter, details=body.details
        )


def read_filing(body: FilingIn, *, principal: Principal, hasher: SubjectHasher, idempotency_key: str | None) -> Filing:
    service = get_service(body.service)
    if service is None:
        raise UnknownService(errors=[{"loc": ["body", "service"], "msg": "unknown service code", "type": "unknown"}])
    details = _details(service, body.details)
    applicant = _applicant(principal, body)
    raw_ids = details.get("material_ids")
    return Filing(
        service=service,
        details=details,
        applicant=applicant,
        applicant_hash=hasher.hash(applicant.id_number),
        material_ids=[str(m) for m in raw_ids] if isinstance(raw_ids, list) else [],
        request_hash=_request_hash(body),
        idempotency_key=idempotency_key,
    )


def _request_hash(body: FilingIn) -> str:
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _applicant(principal: Principal, body: FilingIn) -> Applicant:
    if principal.role is Role.citizen:
        if body.applicant is not None:
            raise ApplicantNotAllowed()
        assert principal.id_number and principal.name
        return Applicant(id_number=principal.id_number, name=principal.name)
    if body.applicant is None:
        raise ApplicantRequired()
    return Applicant(id_number=body.applicant.id_number, name=body.applicant.name)


def _details(service: ServiceDefinition, raw: dict[str, object]) -> dict[str, object]:
    try:
        return service.parse_details(raw).model_dump(mode="json", exclude_none=True)
    except ValidationError as exc:
        raise InvalidDetails.from_validation(exc) from None


async def _earlier_answer(session: AsyncSession, *, principal: Principal, filing: Filing) -> Outcome | None:
    """A retry with the same Idempotency-Key answers what the first filing answered (with another body: 422)."""
    if filing.idempotency_key is None:
        return None
    record = await repository.idempotency_record(session, actor_sub=principal.sub, key=filing.idempotency_key)
    if record is None:
        return None
    if record.request_sha256 != filing.request_hash:
        raise IdempotencyKeyReused()
    application = await repository.get(session, record.application_id)
    assert application is not None
    return Outcome(record.status_code, application, await repository.certificate_for(session, application.id))


async def ensure_admissible(session: AsyncSession, *, filing: Filing, now: datetime) -> None:
    """One open case per person and service; and whatever the service itself refuses from our own
    records (a second residence permit while one is valid)."""
    service = filing.service
    open_case = await repository.open_application(session, applicant_hash=filing.applicant_hash, service=service.code)
    if open_case is not None:
        raise DuplicateApplication(open_case.id)
    await service.admit(
        applicant=filing.applicant,
        details=service.parse_details(filing.details),
        records=ApplicantCertificates(session, holder_id_hash=filing.applicant_hash),
        today=now.astimezone(SHANGHAI).date(),
    )


def _new_application(filing: Filing, *, principal: Principal, hasher: SubjectHasher, now: datetime) -> Application:
    return Application(
        id=str(uuid.uuid4()),
        service=filing.service.code,
        status=Status.submitted,
        channel=principal.channel,
        station_id=principal.station_id,
        applicant_id_number=filing.applicant.id_number,
        applicant_id_hash=filing.applicant_hash,
        applicant_name=filing.applicant.name,
        filed_by_sub=principal.sub,
        filed_by_role=principal.role.value,
        filed_by_id_hash=hasher.hash(principal.id_number) if principal.id_number else None,
        details=filing.details,
        checks=[],
        reasons=[],
        history=[],
        attempts=0,
        created_at=now,
        updated_at=now,
    )


async def _decide(
    work: UnitOfWork, *, kit: DecisionKit, ctx: RequestContext, application: Application, filed_at: datetime
) -> Certificate | None:
    """Consult the agencies, then decide. No other filing by this person can commit meanwhile (their lock
    is held); on SQLite, which has none, the unique indexes refuse the second commit (`_after_lost_race`)."""
    findings = await workflow.examine(
        work=work, kit=kit, application=application, ctx=ctx, today=filed_at.astimezone(SHANGHAI).date()
    )
    return await workflow.conclude(
        work=work, kit=kit, application=application, findings=findings, now=kit.clock(), by="rules"
    )


def _record(
    session: AsyncSession,
    *,
    application: Application,
    filing: Filing,
    principal: Principal,
    status_code: int,
    at: datetime,
) -> None:
    """Stage the case, its materials and, for a keyed filing, the answer a retry will get."""
    session.add(application)
    repository.attach(session, application_id=application.id, material_ids=filing.material_ids, at=at)
    if filing.idempotency_key is not None:
        session.add(
            IdempotencyRecord(
                actor_sub=principal.sub,
                key=filing.idempotency_key,
                request_sha256=filing.request_hash,
                status_code=status_code,
                application_id=application.id,
            )
        )


async def _after_lost_race(
    session: AsyncSession, *, principal: Principal, filing: Filing, now: datetime
) -> Outcome | None:
    """The commit lost to a concurrent transaction. A retry with the same key that committed first: answer
    what it answered. Another filing by the same person (the open-case index, the newest permit): say
    which (409). Otherwise None: the caller answers the lost race itself."""
    earlier = await _earlier_answer(session, principal=principal, filing=filing)
    if earlier is not None:
        return earlier
    await ensure_admissible(session, filing=filing, now=now)
    return None
