"""From an application and its agencies' answers to a decision: shared by filing, the worker and clerks."""

from __future__ import annotations

import time
from collections.abc import Awaitable
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import BaseModel

from app.applications import (
    late_changes,  # noqa: F401 - counts, on flush, the changes to days that are over
    repository,
)
from app.applications.announcements import tell_certificate_changed
from app.applications.decision_kit import DecisionKit
from app.applications.models import Application
from app.applications.records import ApplicantCertificates, as_held
from app.applications.states import Actor, Event, Status, fire
from app.applications.turns import stepped_aside
from app.audit.context import RequestContext
from app.audit.events import AuditEntry
from app.catalogue.base import Applicant, Consultation, Findings, ServiceDefinition
from app.catalogue.decisions import AGENCY_UNAVAILABLE, reason_dict, verdict_from_checks
from app.catalogue.registry import SERVICES
from app.certificates import repository as certificates_repository
from app.certificates.issuing import CertificateIssuer
from app.certificates.lifecycle import mark_superseded, refuse_unless_current
from app.certificates.models import Certificate
from app.clock import SHANGHAI
from app.db.queue import Backoff
from app.db.uow import UnitOfWork
from app.observability import APPLICATIONS_DECIDED
from integrations.errors import AgencyError
from integrations.http import AgencyResponse

RETRY_BASE_SECONDS = 5.0
RETRY_MAX_SECONDS = 600.0
AGENCY_BACKOFF = Backoff(RETRY_BASE_SECONDS, RETRY_MAX_SECONDS)


def applicant_of(application: Application) -> Applicant:
    return Applicant(id_number=application.applicant_id_number, name=application.applicant_name)


def service_of(application: Application) -> ServiceDefinition:
    return SERVICES[application.service]


def details_of(application: Application) -> BaseModel:
    return service_of(application).parse_details(application.details)


def on_behalf_of(application: Application) -> str:
    return "citizen" if application.channel == "online" else f"clerk@{application.station_id}"


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff with jitter, so a recovering agency is not hit by every waiting case at once."""
    return AGENCY_BACKOFF.delay(attempts)


async def examine(
    *,
    work: UnitOfWork,
    kit: DecisionKit,
    application: Application,
    ctx: RequestContext | None,
    today: date,
) -> Findings:
    """Ask the agencies what the service needs; every call becomes a request-log event in this unit of work."""

    async def consult(
        agency: str, dataset: str, call: Awaitable[AgencyResponse[Any]], /, *, subject_id_number: str | None = None
    ) -> Consultation:
        started = time.perf_counter()
        try:
            consultation = Consultation(agency, dataset, response=await call)
        except AgencyError as exc:
            consultation = Consultation(agency, dataset, error=exc)
        kit.audit.add(
            work,
            AuditEntry.for_agency_call(
                ctx,
                agency=agency,
                dataset=dataset,
                outcome=consultation.outcome,
                subject_id_number=subject_id_number or application.applicant_id_number,
                application_id=application.id,
                on_behalf_of=on_behalf_of(application),
                elapsed_ms=(time.perf_counter() - started) * 1000,
                evidence_sha256=consultation.evidence,
            ),
        )
        return consultation

    async with stepped_aside():
        return await service_of(application).examine(
            applicant=applicant_of(application),
            details=details_of(application),
            agencies=kit.agencies,
            consult=consult,
            records=records_of(work, application),
            today=today,
        )


def records_of(work: UnitOfWork, application: Application) -> ApplicantCertificates:
    return ApplicantCertificates(work.session, holder_id_hash=application.applicant_id_hash)


async def conclude(
    *,
    work: UnitOfWork,
    kit: DecisionKit,
    application: Application,
    findings: Findings,
    now: datetime,
    by: str,
) -> Certificate | None:
    """Apply the rules to the findings and move the application; issue the certificate if it is due."""
    verdict = verdict_from_checks(findings.checks)
    application.checks = [c.as_dict() for c in findings.checks]
    if findings.document_facts:
        application.document_facts = findings.document_facts
    if verdict.status == Status.pending_agency:
        _wait_for_agency(application, now=now, by=by, wait_limit=kit.wait_limit)
        return None
    if application.status == Status.pending_agency:
        fire(application, Event.recheck, Status.verifying, actor=Actor.system, at=now, by=by)
    outcome = Status(verdict.status)
    fire(application, Event.decide, outcome, actor=Actor.system, at=now, by=by)
    application.reasons = [reason_dict(r) for r in verdict.reasons]
    certificate = (
        await issue(work=work, issuer=kit.issuer, application=application, now=now)
        if outcome is Status.issued
        else None
    )
    APPLICATIONS_DECIDED.labels(application.service, application.status, application.channel).inc()
    return certificate


def _wait_for_agency(application: Application, *, now: datetime, by: str, wait_limit: timedelta) -> None:
    if application.status != Status.pending_agency:
        fire(application, Event.decide, Status.pending_agency, actor=Actor.system, at=now, by=by)
    application.attempts += 1
    deadline = _round_started(application) + wait_limit
    if now >= deadline:
        fire(application, Event.escalate, Status.needs_review, actor=Actor.system, at=now, by=by)
        application.reasons = [reason_dict(AGENCY_UNAVAILABLE)]
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
    *,
    work: UnitOfWork,
    issuer: CertificateIssuer,
    application: Application,
    now: datetime,
    replaces: Certificate | None = None,
) -> Certificate:
    """Issue the application's certificate; with `replaces`, a re-issue of that one (same content and
    expiry). Otherwise the service says until when it is valid, and which earlier certificate of the
    applicant's it replaces (a renewed or moved permit). Whatever it replaces is marked superseded."""
    service = service_of(application)
    applicant = applicant_of(application)
    facts = application.document_facts or {}
    content = service.document(applicant=applicant, details=details_of(application), facts=facts)
    if replaces is not None:
        expires_on = replaces.expires_at.astimezone(SHANGHAI).date()
    else:
        expires_on = service.expires_on(issued_on=now.astimezone(SHANGHAI).date(), facts=facts)
    displaced = await _displaced(work, service, application, replaces=replaces, today=now.astimezone(SHANGHAI).date())
    certificate = await issuer.issue(
        session=work.session,
        application_id=application.id,
        service_code=service.code,
        serial_prefix=service.serial_prefix,
        expires_on=expires_on,
        applicant=applicant,
        content=content,
        holder_id_hash=application.applicant_id_hash,
        now=now,
        replaces=replaces,
        current_key=f"{service.family.name}:{application.applicant_id_hash}" if service.family else None,
    )
    for old in displaced:
        # The holder is told, in this transaction; `application` is the one that replaced it.
        mark_superseded(old, certificate, at=now)
        tell_certificate_changed(work.session, old, application, "superseded", at=now)
    return certificate


async def _displaced(
    work: UnitOfWork,
    service: ServiceDefinition,
    application: Application,
    *,
    replaces: Certificate | None,
    today: date,
) -> list[Certificate]:
    """The applicant's certificates this issue supersedes, read as they are now: the one a re-issue,
    renewal or move replaces (409 if it was revoked or replaced since it was relied on) and, for a family a
    person holds one of at a time, every other they still hold (docs/api.md#one-valid-residence-permit). For such a
    family, under the person's lock, which every filing of theirs takes too."""
    session = work.session
    holder = application.applicant_id_hash
    named = replaces.serial if replaces is not None else service.supersedes(facts=application.document_facts or {})
    family = service.family
    if family is not None:
        await repository.serialize_filings(session, applicant_hash=holder)
    # One read, decided on as it is: reading again would refresh the versions that make the commit fail if
    # anyone (a revocation, another issue on SQLite) changes these certificates after this.
    if family is not None:
        held = await certificates_repository.all_held_by(session, holder, services=family.services)
    else:
        one = await certificates_repository.held_by(session, holder, serial=named) if named is not None else None
        held = [one] if one is not None else []
    displaced: list[Certificate] = []
    if named is not None:
        old = next((c for c in held if c.serial == named), None)
        if old is None:  # the rules only ever name the applicant's own certificate
            raise AssertionError(f"{service.code} supersedes {named}, which the applicant does not hold")
        refuse_unless_current(old)
        displaced.append(old)
    if family is not None:
        for other in held:
            if other.serial != named and family.still_holds(as_held(other), today):
                displaced.append(other)
            if other.current_key is not None:
                other.current_key = None  # the new certificate is the newest (cleared before it is inserted)
    return displaced
