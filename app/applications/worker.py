"""The background work: applications waiting on an agency are retried with backoff until decided, and
handed to the clerks after AGENCY_WAIT_LIMIT. Safe to run in several processes (claims skip locked rows)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime, timedelta

from app.applications import repository, workflow
from app.applications.states import Status, transition
from app.audit.checkpoints import make_checkpoint
from app.audit.recorder import ConcurrentChange, commit
from app.clock import SHANGHAI
from app.observability import log_fields
from app.runtime import Runtime
from app.services.decisions import MATERIALS_NOT_SUPPLIED, reason_dict
from app.stats.gauges import sample_backlogs, sample_breakers

logger = logging.getLogger("cityservices.worker")

POLL_SECONDS = 1.0
BATCH = 20
CONCURRENCY = 4
# A claimed application not finished within this lease (worker died) becomes due again.
LEASE = timedelta(minutes=2)
SAMPLE_SECONDS = 15.0  # how often the worker refreshes the backlog gauges its /metrics shows


async def process_due(runtime: Runtime, *, now: datetime | None = None) -> int:
    """Retry every application whose next attempt is due; return how many were tried."""
    now = now or datetime.now(UTC)
    async with runtime.sessionmaker() as session:
        ids = await repository.claim_due(session, now=now, lease_until=now + LEASE, limit=BATCH)
    # A few at a time: each retry may wait on an agency, and must not starve the request path of connections.
    limit = asyncio.Semaphore(CONCURRENCY)

    async def retry(application_id: str) -> None:
        async with limit:
            await _retry(runtime, application_id, now=now)

    await asyncio.gather(*(retry(application_id) for application_id in ids))
    return len(ids) + await reject_unanswered_material_requests(runtime, now=now)


async def reject_unanswered_material_requests(runtime: Runtime, *, now: datetime) -> int:
    """MATERIALS_WAIT_LIMIT passed with no answer: MATERIALS_NOT_SUPPLIED. Exactly once, however many
    workers run: each rejection is an UPDATE guarded by the version it read (ConcurrentChange otherwise)."""
    async with runtime.sessionmaker() as session:
        ids = await repository.overdue_material_requests(session, now=now, limit=BATCH)
    rejected = 0
    for application_id in ids:
        async with runtime.sessionmaker() as session:
            application = await repository.get(session, application_id)
            if application is None or application.status != Status.needs_materials:
                continue
            transition(application, Status.rejected, at=now, by="system:worker")
            application.reasons = [reason_dict(MATERIALS_NOT_SUPPLIED)]
            application.next_attempt_at = None
            workflow.decide_as(application, Status.rejected.value, by="rules", at=now)
            runtime.audit.record_change(
                session, ctx=None, action="application.rejected", resource_type="application",
                resource_id=application.id, application_id=application.id,
                subject_id_number=application.applicant_id_number,
                details={"from": Status.needs_materials.value, "to": Status.rejected.value,
                         "reason": MATERIALS_NOT_SUPPLIED.code},
            )
            try:
                await commit(session)
            except ConcurrentChange:
                continue  # supplied, withdrawn or rejected by another worker meanwhile: that stands
            rejected += 1
    return rejected


async def _retry(runtime: Runtime, application_id: str, *, now: datetime) -> None:
    async with runtime.sessionmaker() as session:
        application = await repository.get(session, application_id)
        if application is None or application.status != Status.pending_agency:
            return
        before = application.status
        await session.commit()  # end the read: no connection held while the agencies answer
        findings = await workflow.examine(runtime, session, application, ctx=None, today=now.astimezone(SHANGHAI).date())
        await workflow.conclude(runtime, session, application, findings, now=max(now, datetime.now(UTC)),
                                by="system:worker")
        if application.status != before:
            runtime.audit.record_change(
                session, ctx=None, action=f"application.{application.status}", resource_type="application",
                resource_id=application.id, application_id=application.id,
                subject_id_number=application.applicant_id_number,
                details={"from": before, "to": application.status, "attempts": application.attempts},
            )
        try:
            await commit(session)
        except ConcurrentChange:
            # Withdrawn or decided meanwhile: that change stands.
            return
        logger.info("retried", extra=log_fields(application_id=application.id, status=application.status,
                                                  attempts=application.attempts))


async def run_forever(
    runtime: Runtime, *, poll_seconds: float = POLL_SECONDS, stop: asyncio.Event | None = None
) -> None:
    """Until cancelled, or until `stop` is set: then the pass under way finishes first (a drain)."""
    stop = stop or asyncio.Event()
    last_checkpoint = last_sample = 0.0
    while not stop.is_set():
        try:
            tried = await process_due(runtime)
            if time.monotonic() - last_checkpoint >= runtime.settings.audit_checkpoint_seconds:
                await make_checkpoint(runtime)
                last_checkpoint = time.monotonic()
            if time.monotonic() - last_sample >= SAMPLE_SECONDS:
                await sample_backlogs(runtime.sessionmaker)
                await sample_breakers(runtime.agencies)
                last_sample = time.monotonic()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("worker pass failed; trying again")
            tried = 0
        if not tried:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), poll_seconds)
    logger.info("worker stopped: drained")
