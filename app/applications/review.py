"""The clerk's review beyond approve and reject (docs/api.md#the-clerks-review): re-running every check of a case in
review, and the citizen answering a request for materials (补正), which re-runs them too. Each is one
unit of work, committed once."""

from __future__ import annotations

from app.applications import repository, workflow
from app.applications.decision_kit import DecisionKit
from app.applications.service import Outcome, check_materials, visible
from app.applications.states import Actor, Event, Status, fire
from app.audit.context import RequestContext
from app.auth.principal import Principal, Role
from app.auth.separation import ensure_not_own_case
from app.clock import SHANGHAI
from app.db.uow import UnitOfWork
from app.errors import ConcurrentChange


async def recheck(
    *, work: UnitOfWork, kit: DecisionKit, ctx: RequestContext, principal: Principal, application_id: str
) -> Outcome:
    """A clerk asks the agencies again, e.g. after a case was escalated because one of them was down."""
    application = await visible(
        session=work.session, hasher=kit.audit.hasher, principal=principal, application_id=application_id, ctx=ctx
    )
    ensure_not_own_case(principal, application, hasher=kit.audit.hasher)
    fire(application, Event.recheck, Status.verifying, actor=Actor.clerk, at=kit.clock(), by=principal.sub)
    return await _decide_again(work=work, kit=kit, ctx=ctx, application_id=application.id)


async def supply_materials(
    *,
    work: UnitOfWork,
    kit: DecisionKit,
    ctx: RequestContext,
    principal: Principal,
    application_id: str,
    material_ids: list[str],
) -> Outcome:
    """The applicant attaches what the clerk asked for; every check runs again and the case is decided anew."""
    session = work.session
    application = await visible(
        session=session, hasher=kit.audit.hasher, principal=principal, application_id=application_id, ctx=ctx
    )
    actor = Actor.clerk if principal.role is Role.clerk else Actor.applicant
    fire(application, Event.recheck, Status.verifying, actor=actor, at=kit.clock(), by=principal.sub)
    await check_materials(session, principal, material_ids, loc=("body", "material_ids"))
    attached = await repository.attached_ids(session, application.id)
    repository.attach(
        session,
        application_id=application.id,
        material_ids=[m for m in material_ids if m not in attached],
        at=kit.clock(),
    )
    return await _decide_again(work=work, kit=kit, ctx=ctx, application_id=application.id)


async def _decide_again(
    *,
    work: UnitOfWork,
    kit: DecisionKit,
    ctx: RequestContext,
    application_id: str,
) -> Outcome:
    application = await repository.get(work.session, application_id)
    assert application is not None
    now = kit.clock()
    findings = await workflow.examine(
        work=work, kit=kit, application=application, ctx=ctx, today=now.astimezone(SHANGHAI).date()
    )
    certificate = await workflow.conclude(
        work=work, kit=kit, application=application, findings=findings, now=kit.clock(), by="rules"
    )
    ctx.status = 202 if application.status == Status.pending_agency else 200
    await work.commit(stale=ConcurrentChange)
    return Outcome(ctx.status, application, certificate)
