"""From an application and its agencies' answers to a decision: shared by filing, the worker and clerks."""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.context import RequestContext
from app.applications.models import Application
from app.applications.records import ApplicantCertificates
from app.applications.states import Status, transition
from app.certificates import repository as certificates_repository
from app.certificates.models import Certificate
from app.certificates.supersession import refuse_unless_current, supersede
from app.clock import SHANGHAI
from app.observability import APPLICATIONS_DECIDED
from app.runtime import Runtime
from app.services.base import Applicant, Consultation, Findings, ServiceDefinition
from app.services.decisions import AGENCY_UNAVAILABLE, Verdict, reason_dict, verdict_from_checks
from app.services.registry import SERVICES
from integrations.errors import AgencyError
from integrations.http import AgencyResponse

RETRY_BASE_SECONDS = 5.0
RETRY_MAX_SECONDS = 600.0


def applicant_of(application: Application) -> Applicant:
    return Applicant(id_number=application.applicant_id_number, name=application.applicant_name)


def service_of(application: Application) -> ServiceDefinition:
    return SERVICES[application.service]


def details_of(application: Application) -> BaseModel:
    return service_of(application).parse_details(application.details)


def on_behalf_of(application: Application) -> str:
    return "citizen" if application.channel == "online" else f"clerk@{application.station_id}"


def decide_as(
    application: Application, outcome: str, *, by: str, at: datetime, reason: str | None = None,
    station_id: str | None = None,
) -> None:
    """The `decision` every path writes the same way: the rules, a clerk, or the applicant withdrawing."""
    application.decision = {"outcome": outcome, "by": by, "reason": reason, "station_id": station_id,
                            "at": at.isoformat()}


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff with jitter, so a recovering agency is not hit by every waiting case at once."""
    base = min(RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0), RETRY_MAX_SECONDS)
    return timedelta(seconds=base * random.uniform(0.8, 1.2))


async def examine(
    runtime: Runtime, session: AsyncSession, application: Application, *, ctx: RequestContext | None, today: Any
) -> Findings:
    """Ask the agencies what the service needs; every call becomes a request-log event in `session`."""

    async def consult(
        agency: str, dataset: str, call: Awaitable[AgencyResponse[Any]], /, *, subject_id_number: str | None = None
    ) -> Consultation:
        started = time.perf_counter()
        try:
            consultation = Consultation(agency, dataset, response=await call)
        except AgencyError as exc:
            consultation = Consultation(agency, dataset, error=exc)
        runtime.audit.record_agency_call(
            session,
            ctx=ctx,
            agency=agency,
            dataset=dataset,
            outcome=consultation.outcome,
            subject_id_number=subject_id_number or application.applicant_id_number,
            application_id=application.id,
            on_behalf_of=on_behalf_of(application),
            elapsed_ms=(time.perf_counter() - started) * 1000,
            evidence_sha256=consultation.evidence,
        )
        return consultation

    return await service_of(application).examine(
        applicant=applicant_of(application),
        details=details_of(application),
        agencies=runtime.agencies,
        consult=consult,
        records=records_of(runtime, application),
        today=today,
    )


def records_of(runtime: Runtime, application: Application) -> ApplicantCertificates:
    return ApplicantCertificates(runtime.sessionmaker, holder_id_hash=application.applicant_id_hash)


async def conclude(
    runtime: Runtime, session: AsyncSession, application: Application, findings: Findings, *, now: datetime, by: str
) -> Verdict:
    """Apply the rules to the findings and move the application; issue the certificate if it is due."""
    verdict = verdict_from_checks(findings.checks)
    application.checks = [c.as_dict() for c in findings.checks]
    if findings.document_facts:
        application.document_facts = findings.document_facts
    if verdict.status == Status.pending_agency:
        _wait_for_agency(runtime, application, now=now, by=by)
        return verdict
    if application.status == Status.pending_agency:
        transition(application, Status.verifying, at=now, by=by)
    transition(application, Status(verdict.status), at=now, by=by)
    application.reasons = [reason_dict(r) for r in verdict.reasons]
    application.next_attempt_at = None
    decide_as(application, verdict.status, by="rules", at=now)
    if verdict.status == Status.issued:
        await issue(runtime, session, application, now=now)
    APPLICATIONS_DECIDED.labels(application.service, application.status, application.channel).inc()
    return verdict


def _wait_for_agency(runtime: Runtime, application: Application, *, now: datetime, by: str) -> None:
    if application.status != Status.pending_agency:
        transition(application, Status.pending_agency, at=now, by=by)
    application.attempts += 1
    deadline = _round_started(application) + timedelta(seconds=runtime.settings.agency_wait_limit)
    if now >= deadline:
        transition(application, Status.needs_review, at=now, by=by)
        application.reasons = [reason_dict(AGENCY_UNAVAILABLE)]
        application.next_attempt_at = None
        decide_as(application, "needs_review", by="rules", at=now)
        return
    application.next_attempt_at = min(now + retry_delay(application.attempts), deadline)


def _round_started(application: Application) -> datetime:
    """When the checks now waiting began: the filing, or a later recheck or supply of materials, each of
    which gets its own AGENCY_WAIT_LIMIT."""
    for step in reversed(application.history):
        if step["to"] == Status.verifying.value and step["from"] != Status.pending_agency.value:
            return datetime.fromisoformat(step["at"])
    return application.created_at


async def issue(
    runtime: Runtime, session: AsyncSession, application: Application, *, now: datetime,
    replaces: Certificate | None = None,
) -> Certificate:
    """Issue the application's certificate; with `replaces`, a re-issue of that one (same content and
    expiry). Otherwise the service says until when it is valid, and which earlier certificate of the
    applicant's it replaces (a renewed or moved permit), which is then marked superseded."""
    service = service_of(application)
    applicant = applicant_of(application)
    facts = application.document_facts or {}
    content = service.document(applicant=applicant, details=details_of(application), facts=facts)
    if replaces is not None:
        expires_on = replaces.expires_at.astimezone(SHANGHAI).date()
    else:
        expires_on = service.expires_on(issued_on=now.astimezone(SHANGHAI).date(), facts=facts)
    replaced = await _certificate_it_replaces(session, service, application) if replaces is None else None
    certificate = await runtime.issuer.issue(
        session,
        application_id=application.id,
        service_code=service.code,
        serial_prefix=service.serial_prefix,
        expires_on=expires_on,
        applicant=applicant,
        content=content,
        holder_id_hash=application.applicant_id_hash,
        now=now,
        replaces=replaces,
    )
    if replaced is not None:
        supersede(session, replaced, certificate, application=application, at=now)
    return certificate


async def _certificate_it_replaces(
    session: AsyncSession, service: ServiceDefinition, application: Application
) -> Certificate | None:
    """The applicant's certificate this issue supersedes, refused (409) before anything is signed if it
    was revoked or replaced since the rules relied on it."""
    serial = service.supersedes(facts=application.document_facts or {})
    if serial is None:
        return None
    old = await certificates_repository.held_by(session, application.applicant_id_hash, serial=serial)
    if old is None:  # the rules only ever name the applicant's own certificate
        raise AssertionError(f"{service.code} supersedes {serial}, which the applicant does not hold")
    refuse_unless_current(old)
    return old
