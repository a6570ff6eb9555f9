"""The background work: applications waiting on an agency are retried with backoff until decided, and
handed to the clerks after AGENCY_WAIT_LIMIT. Safe to run in several processes (claims skip locked rows).

Each claim and each retry is one unit of work: one transaction, one commit, its audit events inside."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from app.applications import repository, workflow
from app.applications.decision_kit import DecisionKit
from app.applications.states import Actor, Event, Status, fire
from app.audit.events import AuditEntry
from app.catalogue.decisions import MATERIALS_NOT_SUPPLIED, reason_dict
from app.clock import SHANGHAI
from app.db.uow import UnitOfWorkFactory
from app.errors import ConcurrentChange
from app.observability import log_fields

logger = logging.getLogger("cityservices.worker")

BATCH = 20
CONCURRENCY = 4
# A claimed application not finished within this lease (worker died) becomes due again.
LEASE = timedelta(minutes=2)


class AgencyRetries:
    """The retry job, with the collaborators it uses, built once in the lifespan (or by `cityservices worker`)."""

    def __init__(self, *, uow: UnitOfWorkFactory, kit: DecisionKit) -> None:
        self._uow = uow
        self._kit = kit

    async def process_due(self, *, now: datetime | None = None) -> int:
        """Retry every application whose next attempt is due; return how many were tried."""
        now = now or self._kit.clock()
        async with self._uow() as work:
            ids = await repository.claim_due(work.session, now=now, lease_until=now + LEASE, limit=BATCH)
            await work.commit()
        # A few at a time: each retry may wait on an agency, and must not starve the request path of connections.
        limit = asyncio.Semaphore(CONCURRENCY)

        async def retry(application_id: str) -> None:
            async with limit:
                await self._retry(application_id, now=now)

        await asyncio.gather(*(retry(application_id) for application_id in ids))
        return len(ids) + await self.reject_unanswered_material_requests(now=now)

    async def reject_unanswered_material_requests(self, *, now: datetime) -> int:
        """MATERIALS_WAIT_LIMIT passed with no answer: MATERIALS_NOT_SUPPLIED. Exactly once, however many
        workers run: each rejection is a unit of work guarded by the version it read (ConcurrentChange)."""
        async with self._uow() as work:
            ids = await repository.overdue_material_requests(work.session, now=now, limit=BATCH)
        rejected = 0
        for application_id in ids:
            async with self._uow() as work:
                application = await repository.get(work.session, application_id)
                if application is None or application.status != Status.needs_materials:
                    continue
                fire(application, Event.decide, Status.rejected, actor=Actor.system, at=now, by="system:worker")
                application.reasons = [reason_dict(MATERIALS_NOT_SUPPLIED)]
                self._kit.audit.add(
                    work,
                    AuditEntry.for_change(
                        None,
                        action="application.rejected",
                        resource_type="application",
                        resource_id=application.id,
                        application_id=application.id,
                        subject_id_number=application.applicant_id_number,
                        details={
                            "from": Status.needs_materials.value,
                            "to": Status.rejected.value,
                            "reason": MATERIALS_NOT_SUPPLIED.code,
                        },
                    ),
                )
                try:
                    await work.commit(stale=ConcurrentChange)
                except ConcurrentChange:
                    continue  # supplied, withdrawn or rejected by another worker meanwhile: that stands
                rejected += 1
        return rejected

    async def _retry(self, application_id: str, *, now: datetime) -> None:
        async with self._uow() as work:
            application = await repository.get(work.session, application_id)
            if application is None or application.status != Status.pending_agency:
                return
            before = application.status
            findings = await workflow.examine(
                work=work, kit=self._kit, application=application, ctx=None, today=now.astimezone(SHANGHAI).date()
            )
            await workflow.conclude(
                work=work,
                kit=self._kit,
                application=application,
                findings=findings,
                now=max(now, self._kit.clock()),
                by="system:worker",
            )
            if application.status != before:
                self._kit.audit.add(
                    work,
                    AuditEntry.for_change(
                        None,
                        action=f"application.{application.status}",
                        resource_type="application",
                        resource_id=application.id,
                        application_id=application.id,
                        subject_id_number=application.applicant_id_number,
                        details={
                            "from": before.value,
                            "to": application.status.value,
                            "attempts": application.attempts,
                        },
                    ),
                )
            try:
                await work.commit(stale=ConcurrentChange)
            except ConcurrentChange:
                # Withdrawn or decided meanwhile: that change stands.
                return
        logger.info(
            "retried",
            extra=log_fields(application_id=application.id, status=application.status, attempts=application.attempts),
        )
