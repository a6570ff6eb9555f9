"""The clerk's review beyond approve and reject (CONTRACT 10.2): re-running every check of a case in
review, and the citizen answering a request for materials (补正), which re-runs them too."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.api.context import RequestContext
from app.applications import repository, workflow
from app.applications.models import Application
from app.applications.service import check_materials, visible
from app.applications.states import InvalidTransition, Status, transition
from app.audit.recorder import commit
from app.auth.principal import Principal
from app.auth.separation import ensure_not_own_case
from app.clock import SHANGHAI
from app.runtime import Runtime


async def recheck(
    runtime: Runtime, session: AsyncSession, *, ctx: RequestContext, principal: Principal, application_id: str
) -> Application:
    """A clerk asks the agencies again, e.g. after a case was escalated because one of them was down."""
    application = await visible(runtime, session, principal, application_id, ctx=ctx)
    ctx.action = "application.recheck"
    ensure_not_own_case(principal, application, hasher=runtime.audit.hasher)
    if application.status != Status.needs_review:
        raise InvalidTransition(application.status, Status.verifying)
    return await _decide_again(runtime, session, application, ctx=ctx, by=principal.sub)


async def supply_materials(
    runtime: Runtime, session: AsyncSession, *, ctx: RequestContext, principal: Principal, application_id: str,
    material_ids: list[str],
) -> Application:
    """The applicant attaches what the clerk asked for; every check runs again and the case is decided anew."""
    application = await visible(runtime, session, principal, application_id, ctx=ctx)
    ctx.action = "application.materials.supply"
    if application.status != Status.needs_materials:
        raise InvalidTransition(application.status, Status.verifying)
    await check_materials(session, principal, material_ids, loc=("body", "material_ids"))
    already = await repository.attached_ids(session, application.id)
    repository.attach(session, application_id=application.id,
                      material_ids=[m for m in material_ids if m not in already], at=datetime.now(UTC))
    return await _decide_again(runtime, session, application, ctx=ctx, by=principal.sub)


async def _decide_again(
    runtime: Runtime, session: AsyncSession, application: Application, *, ctx: RequestContext, by: str
) -> Application:
    now = datetime.now(UTC)
    transition(application, Status.verifying, at=now, by=by)
    findings = await workflow.examine(runtime, session, application, ctx=ctx, today=now.astimezone(SHANGHAI).date())
    await workflow.conclude(runtime, session, application, findings, now=datetime.now(UTC), by="rules")
    runtime.audit.record_request(session, ctx, status=202 if application.status == Status.pending_agency else 200)
    await commit(session)
    return application
