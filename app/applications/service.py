"""Reading, withdrawing and deciding applications, and what filing (app.applications.filing) and review
(app.applications.review) share: an outcome, the caller's own materials, an application shown only to
who may see it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.applications import repository, workflow
from app.applications.errors import (
    ApplicationNotFound,
    AttachedMaterialNotFound,
    MaterialNotFound,
    SearchNotAllowed,
)
from app.applications.models import Application
from app.applications.presenter import present
from app.applications.schemas import ApplicationPage, DecisionIn
from app.applications.states import Actor, Event, Status, fire
from app.audit.consultations import note_applications_read, note_consultation
from app.audit.context import RequestContext
from app.auth.access import may_see_subject
from app.auth.principal import Principal, Role
from app.auth.separation import ensure_not_own_case
from app.catalogue.decisions import MATERIALS_REQUESTED, reason_dict
from app.catalogue.registry import get_service
from app.certificates.codes import normalize_code
from app.certificates.issuing import CertificateIssuer
from app.certificates.models import Certificate
from app.clock import Clock
from app.cursor import cut_page, decode_cursor
from app.db.uow import UnitOfWork
from app.errors import ConcurrentChange
from app.identity.subjects import SubjectHasher
from app.materials import repository as materials
from app.materials.models import Material


@dataclass(frozen=True)
class Outcome:
    """What a change answers: its status code, the application, and its certificate if it has one (all
    known at the commit, so the answer needs no second transaction)."""

    status_code: int
    application: Application
    certificate: Certificate | None


def actor_of(principal: Principal) -> Actor:
    return Actor.clerk if principal.role is Role.clerk else Actor.applicant


async def check_materials(
    session: AsyncSession,
    principal: Principal,
    material_ids: list[str],
    *,
    loc: tuple[str, ...] = ("body", "details", "material_ids"),
) -> None:
    owned = await materials.owned_ids(session, owner_sub=principal.sub, ids=material_ids)
    missing = [i for i, m in enumerate(material_ids) if m not in owned]
    if missing:
        raise MaterialNotFound(
            errors=[
                {"loc": [*loc, str(i)], "msg": "no such material of yours", "type": "material_not_found"}
                for i in missing
            ]
        )


def about(ctx: RequestContext, application: Application | repository.ApplicationView) -> None:
    ctx.about(
        resource_type="application",
        resource_id=application.id,
        application_id=application.id,
        subject_id_number=application.applicant_id_number,
    )


def _note_third_parties(
    ctx: RequestContext, principal: Principal, applications: Iterable[Application | repository.ApplicationView]
) -> None:
    """A staff member who receives an application also consults the other people it names (a kinship
    certificate's relative): each appears in that person's data access (docs/api.md#a-relatives-data)."""
    if principal.role is Role.citizen:
        return
    for application in applications:
        service = get_service(application.service)
        for name in service.third_party_fields if service is not None else ():
            id_number = application.details.get(name)
            if isinstance(id_number, str):
                note_consultation(ctx, subject_id_number=id_number, application_id=application.id)


_Found = TypeVar("_Found", Application, repository.ApplicationView)


def _shown_to(found: _Found | None, *, hasher: SubjectHasher, principal: Principal, ctx: RequestContext) -> _Found:
    """What was loaded, if this caller may see it: noted as what the request is about, with the other
    people it names. One that exists but is someone else's answers the same 404 as one that does not."""
    if found is None or not may_see_subject(principal, found.applicant_id_hash, hasher):
        raise ApplicationNotFound()
    about(ctx, found)
    _note_third_parties(ctx, principal, [found])
    return found


async def visible(
    *, session: AsyncSession, hasher: SubjectHasher, principal: Principal, application_id: str, ctx: RequestContext
) -> Application:
    """The application if this caller may see it; otherwise the same 404 as for one that doesn't exist."""
    application = await repository.get(session, application_id)
    return _shown_to(application, hasher=hasher, principal=principal, ctx=ctx)


async def view(
    *,
    connection: AsyncConnection,
    hasher: SubjectHasher,
    principal: Principal,
    application_id: str,
    ctx: RequestContext,
) -> repository.ApplicationView:
    """What a read shows, if this caller may see it; otherwise the same 404 as `visible`. One Core query on
    a connection, no session, no ORM object: for reads only (a change goes through `visible`)."""
    found = await repository.view(connection, application_id)
    return _shown_to(found, hasher=hasher, principal=principal, ctx=ctx)


async def withdraw(
    *,
    work: UnitOfWork,
    hasher: SubjectHasher,
    clock: Clock,
    ctx: RequestContext,
    principal: Principal,
    application_id: str,
) -> Application:
    application = await visible(
        session=work.session, hasher=hasher, principal=principal, application_id=application_id, ctx=ctx
    )
    now = clock()
    fire(
        application,
        Event.withdraw,
        Status.withdrawn,
        actor=actor_of(principal),
        at=now,
        by=principal.sub,
        station_id=principal.station_id,
    )
    await work.commit(stale=ConcurrentChange)
    return application


_DECISIONS = {
    "approve": (Event.decide, Status.issued),
    "reject": (Event.decide, Status.rejected),
    "request_materials": (Event.request_materials, Status.needs_materials),
}


async def decide(
    *,
    work: UnitOfWork,
    hasher: SubjectHasher,
    issuer: CertificateIssuer,
    clock: Clock,
    materials_wait_limit: timedelta,
    ctx: RequestContext,
    principal: Principal,
    application_id: str,
    body: DecisionIn,
) -> Outcome:
    application = await visible(
        session=work.session, hasher=hasher, principal=principal, application_id=application_id, ctx=ctx
    )
    ensure_not_own_case(principal, application, hasher=hasher)
    now = clock()
    event, new = _DECISIONS[body.outcome]
    fire(
        application,
        event,
        new,
        actor=Actor.clerk,
        at=now,
        by=principal.sub,
        reason=body.reason,
        station_id=principal.station_id,
    )
    if new is Status.needs_materials:
        application.reasons = [reason_dict(MATERIALS_REQUESTED)]
        # While the case waits on the citizen, next_attempt_at is the deadline the worker enforces.
        application.next_attempt_at = now + materials_wait_limit
    certificate = (
        await workflow.issue(work=work, issuer=issuer, application=application, now=now)
        if new is Status.issued
        else None
    )
    await work.commit(stale=ConcurrentChange)
    return Outcome(200, application, certificate)


async def page(
    session: AsyncSession,
    *,
    ctx: RequestContext,
    principal: Principal,
    applicant_hash: str | None,
    status: Status | None,
    service_code: str | None,
    limit: int,
    cursor: str | None,
    oldest_first: bool,
    application_id: str | None = None,
) -> ApplicationPage:
    """One page of applications, newest (or oldest) first, each with its certificate if it has one; a
    staff member's page is noted as consultations of the people on it."""
    after = decode_cursor(cursor, kinds=(datetime, str)) if cursor else None
    rows = await repository.page(
        session,
        applicant_hash=applicant_hash,
        status=status,
        service=service_code,
        application_id=application_id,
        after=after,
        limit=limit,
        oldest_first=oldest_first,
    )
    page, next_cursor = cut_page(rows, limit, lambda a: (a.created_at, a.id))
    if principal.role is not Role.citizen:
        note_applications_read(ctx, page)
        _note_third_parties(ctx, principal, page)
    certificates = await repository.certificates_for(session, [a.id for a in page])
    return ApplicationPage(
        items=[present(a, certificates.get(a.id)) for a in page],
        next_cursor=next_cursor,
    )


async def search(
    *,
    session: AsyncSession,
    hasher: SubjectHasher,
    ctx: RequestContext,
    principal: Principal,
    status: Status | None,
    service_code: str | None,
    id_number: str | None,
    serial: str | None,
    verification_code: str | None,
    limit: int,
    cursor: str | None,
) -> ApplicationPage:
    """Citizens list their own; staff list all, or find a person's applications (`id_number`) or the one
    holding a certificate (`serial`, `verification_code`)."""
    if principal.role is Role.citizen:
        if id_number is not None or serial is not None or verification_code is not None:
            raise SearchNotAllowed()
        applicant_hash = hasher.hash(principal.id_number) if principal.id_number else None
    else:
        # Through the keyed hash, as the records are indexed: never a scan of raw id numbers.
        applicant_hash = hasher.hash(id_number) if id_number is not None else None
    # The application holding that certificate; both given, they must name the same one.
    holders: list[str | None] = []
    if serial is not None:
        holders.append(await repository.application_id_for_certificate(session, serial=serial))
    if verification_code is not None:
        code = normalize_code(verification_code)
        holders.append(await repository.application_id_for_certificate(session, code=code) if code else None)
    if None in holders or len(set(holders)) > 1:
        return ApplicationPage(items=[], next_cursor=None)
    return await page(
        session,
        ctx=ctx,
        principal=principal,
        applicant_hash=applicant_hash,
        status=status,
        service_code=service_code,
        application_id=holders[0] if holders else None,
        limit=limit,
        cursor=cursor,
        oldest_first=False,
    )


async def attached_materials(
    *, session: AsyncSession, hasher: SubjectHasher, principal: Principal, application_id: str, ctx: RequestContext
) -> list[Material]:
    await visible(session=session, hasher=hasher, principal=principal, application_id=application_id, ctx=ctx)
    return [m for m, _ in await repository.attached_materials(session, application_id)]


async def attached_material(
    *,
    session: AsyncSession,
    hasher: SubjectHasher,
    principal: Principal,
    application_id: str,
    material_id: str,
    ctx: RequestContext,
) -> Material:
    await visible(session=session, hasher=hasher, principal=principal, application_id=application_id, ctx=ctx)
    ctx.details = {"material_id": material_id[:36]}
    material = await repository.attached_material(session, application_id=application_id, material_id=material_id)
    if material is None:
        raise AttachedMaterialNotFound()
    return material
