"""Filing, reading, withdrawing and deciding applications (CONTRACT §4, §5)."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.context import RequestContext
from app.applications import repository, workflow
from app.applications.errors import (
    ApplicantNotAllowed,
    ApplicantRequired,
    ApplicationNotFound,
    DuplicateApplication,
    IdempotencyKeyReused,
    InvalidDetails,
    MaterialNotFound,
    UnknownService,
)
from app.applications.models import Application, IdempotencyRecord
from app.applications.records import ApplicantCertificates
from app.applications.schemas import DecisionIn, FilingIn
from app.applications.states import InvalidTransition, Status, transition
from app.audit.recorder import commit
from app.auth.access import may_see_subject
from app.auth.principal import Principal, Role
from app.auth.separation import ensure_not_own_case
from app.clock import SHANGHAI
from app.materials import repository as materials
from app.observability import APPLICATIONS_FILED
from app.runtime import Runtime
from app.services.base import Applicant, ServiceDefinition
from app.services.decisions import MATERIALS_REQUESTED, reason_dict
from app.services.registry import get_service


def _now() -> datetime:
    return datetime.now(UTC)


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
        errors = [
            {"loc": ["body", "details", *map(str, e["loc"])], "msg": e["msg"], "type": e["type"]} for e in exc.errors()
        ]
        raise InvalidDetails(errors=errors) from None


async def check_materials(
    session: AsyncSession, principal: Principal, material_ids: list[str],
    *, loc: tuple[str, ...] = ("body", "details", "material_ids"),
) -> None:
    owned = await materials.owned_ids(session, owner_sub=principal.sub, ids=material_ids)
    missing = [i for i, m in enumerate(material_ids) if m not in owned]
    if missing:
        raise MaterialNotFound(
            errors=[{"loc": [*loc, str(i)], "msg": "no such material of yours",
                     "type": "material_not_found"} for i in missing]
        )


async def _replay(
    session: AsyncSession, record: IdempotencyRecord, request_hash: str
) -> tuple[int, Application]:
    if record.request_sha256 != request_hash:
        raise IdempotencyKeyReused()
    application = await repository.get(session, record.application_id)
    assert application is not None
    return record.status_code, application


async def file(
    runtime: Runtime,
    session: AsyncSession,
    *,
    ctx: RequestContext,
    principal: Principal,
    body: FilingIn,
    idempotency_key: str | None,
) -> tuple[int, Application]:
    service = get_service(body.service)
    if service is None:
        raise UnknownService(errors=[{"loc": ["body", "service"], "msg": "unknown service code", "type": "unknown"}])
    details = _details(service, body.details)
    applicant = _applicant(principal, body)
    request_hash = _request_hash(body)
    if idempotency_key is not None:
        earlier = await repository.idempotency_record(session, actor_sub=principal.sub, key=idempotency_key)
        if earlier is not None:
            return await _replay(session, earlier, request_hash)
    material_ids: list[str] = list(details.get("material_ids") or [])  # type: ignore[call-overload]
    if material_ids:
        await check_materials(session, principal, material_ids)
    applicant_hash = runtime.audit.hasher.hash(applicant.id_number)
    await ensure_admissible(runtime, session, service=service, applicant=applicant, details=details,
                            applicant_hash=applicant_hash)
    await session.commit()  # end the read transaction: no connection held while the agencies answer

    now = _now()
    application = Application(
        id=str(uuid.uuid4()),
        service=service.code,
        status=Status.submitted.value,
        channel=principal.channel,
        station_id=principal.station_id,
        applicant_id_number=applicant.id_number,
        applicant_id_hash=applicant_hash,
        applicant_name=applicant.name,
        filed_by_sub=principal.sub,
        filed_by_role=principal.role.value,
        details=details,
        checks=[],
        reasons=[],
        history=[],
        attempts=0,
        created_at=now,
        updated_at=now,
    )
    _about(ctx, application)
    ctx.action = "application.file"
    transition(application, Status.verifying, at=now, by=principal.sub)
    findings = await workflow.examine(runtime, session, application, ctx=ctx, today=now.astimezone(SHANGHAI).date())
    # Again, now under a lock every filing by this person takes: another filing may have been committed
    # while the agencies answered.
    await repository.serialize_filings(session, applicant_hash=applicant_hash)
    await ensure_admissible(runtime, session, service=service, applicant=applicant, details=details,
                            applicant_hash=applicant_hash)
    await workflow.conclude(runtime, session, application, findings, now=_now(), by="rules")
    status_code = 202 if application.status == Status.pending_agency else 201
    session.add(application)
    repository.attach(session, application_id=application.id, material_ids=material_ids, at=now)
    if idempotency_key is not None:
        session.add(IdempotencyRecord(actor_sub=principal.sub, key=idempotency_key, request_sha256=request_hash,
                                      status_code=status_code, application_id=application.id))
    runtime.audit.record_request(session, ctx, status=status_code)
    try:
        await commit(session)
    except IntegrityError:
        # A concurrent retry with the same key committed first: answer what it answered.
        if idempotency_key is not None:
            earlier = await repository.idempotency_record(session, actor_sub=principal.sub, key=idempotency_key)
            if earlier is not None:
                return await _replay(session, earlier, request_hash)
        # Or another filing of the same service by the same person won the open-case index.
        await ensure_admissible(runtime, session, service=service, applicant=applicant, details=details,
                                applicant_hash=applicant_hash)
        raise
    APPLICATIONS_FILED.labels(application.service, application.status, application.channel).inc()
    return status_code, application


async def ensure_admissible(
    runtime: Runtime, session: AsyncSession, *, service: ServiceDefinition, applicant: Applicant,
    details: dict[str, object], applicant_hash: str,
) -> None:
    """CONTRACT 10.3: one open case per person and service; and whatever the service itself refuses
    from our own records (a second residence permit while one is valid)."""
    open_case = await repository.open_application(session, applicant_hash=applicant_hash, service=service.code)
    if open_case is not None:
        raise DuplicateApplication(open_case.id)
    await service.admit(
        applicant=applicant, details=service.parse_details(details),
        records=ApplicantCertificates(runtime.sessionmaker, holder_id_hash=applicant_hash),
        today=_now().astimezone(SHANGHAI).date(),
    )


def _about(ctx: RequestContext, application: Application) -> None:
    ctx.about(resource_type="application", resource_id=application.id, application_id=application.id,
              subject_id_number=application.applicant_id_number)


async def visible(
    runtime: Runtime, session: AsyncSession, principal: Principal, application_id: str, *, ctx: RequestContext
) -> Application:
    """The application if this caller may see it; otherwise the same 404 as for one that doesn't exist."""
    application = await repository.get(session, application_id)
    if application is None or not may_see_subject(principal, application.applicant_id_hash, runtime.audit.hasher):
        raise ApplicationNotFound()
    _about(ctx, application)
    return application


async def withdraw(
    runtime: Runtime, session: AsyncSession, *, ctx: RequestContext, principal: Principal, application_id: str
) -> Application:
    application = await visible(runtime, session, principal, application_id, ctx=ctx)
    ctx.action = "application.withdraw"
    now = _now()
    transition(application, Status.withdrawn, at=now, by=principal.sub)
    application.next_attempt_at = None
    workflow.decide_as(application, "withdrawn", by="clerk" if principal.role is Role.clerk else "applicant",
                       at=now, station_id=principal.station_id)
    runtime.audit.record_request(session, ctx, status=200)
    await commit(session)
    return application


async def decide(
    runtime: Runtime,
    session: AsyncSession,
    *,
    ctx: RequestContext,
    principal: Principal,
    application_id: str,
    body: DecisionIn,
) -> Application:
    application = await visible(runtime, session, principal, application_id, ctx=ctx)
    ctx.action = f"application.decision.{body.outcome}"
    ensure_not_own_case(principal, application, hasher=runtime.audit.hasher)
    now = _now()
    new = _DECISION_STATUS[body.outcome]
    if application.status != Status.needs_review:
        raise InvalidTransition(application.status, new)
    transition(application, new, at=now, by=principal.sub)
    workflow.decide_as(application, new.value, by="clerk", at=now, reason=body.reason,
                       station_id=principal.station_id)
    if new is Status.needs_materials:
        application.reasons = [reason_dict(MATERIALS_REQUESTED)]
        # While the case waits on the citizen, next_attempt_at is the deadline the worker enforces.
        application.next_attempt_at = now + timedelta(seconds=runtime.settings.materials_wait_limit)
    if new is Status.issued:
        await workflow.issue(runtime, session, application, now=now)
    runtime.audit.record_request(session, ctx, status=200)
    await commit(session)
    return application


_DECISION_STATUS = {"approve": Status.issued, "reject": Status.rejected, "request_materials": Status.needs_materials}
