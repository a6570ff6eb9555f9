"""The request log's writer: every event goes through `AuditLog`, which hashes and masks its subject.

A change's events join the change's unit of work (`add`, `record_request`); a request that changed
nothing (or failed) is written by the middleware through the group-commit writer (`write`).
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit.batching import RequestLogWriter
from app.audit.context import RequestContext
from app.audit.events import AuditEntry, outcome_of, prepared
from app.audit.models import EVENTS_TABLE, insert_row
from app.db.uow import UnitOfWork
from app.identity.subjects import SubjectHasher
from app.observability import AUDIT_EVENTS_BY

__all__ = ["AuditLog", "outcome_of"]


class AuditLog:
    def __init__(self, *, sessionmaker: async_sessionmaker[AsyncSession], hasher: SubjectHasher) -> None:
        self.hasher = hasher
        self.writer = RequestLogWriter(sessionmaker)

    def _row(self, entry: AuditEntry) -> dict[str, Any]:
        """The entry as the row inserted: subject hashed and masked, prepared once (`prepared`)."""
        columns = entry.fields()
        if entry.subject_id_number:
            columns["subject_hash"] = self.hasher.hash(entry.subject_id_number)
            columns["subject_masked"] = self.hasher.mask(entry.subject_id_number)
        if entry.actor_id_number:
            columns["actor_id_hash"] = self.hasher.hash(entry.actor_id_number)
        return insert_row(prepared(columns))

    def add(self, work: UnitOfWork, entry: AuditEntry) -> None:
        """Inside a unit of work: the event commits with the change it describes, or not at all."""
        work.add_event(EVENTS_TABLE, self._row(entry))
        AUDIT_EVENTS_BY(entry.kind.value).inc()

    def record_request(self, work: UnitOfWork, ctx: RequestContext) -> None:
        """This request's own event joins its unit of work, written at the commit with `ctx.status`."""

        def at_commit(w: UnitOfWork) -> None:
            latency_ms = (time.perf_counter() - ctx.started) * 1000
            for entry in _request_entries(ctx, status=ctx.status, latency_ms=latency_ms):
                self.add(w, entry)

        work.before_commit(at_commit)
        work.after_commit(lambda: setattr(ctx, "recorded", True))

    async def write_request(self, ctx: RequestContext, *, status: int, latency_ms: float) -> None:
        """After a request that changed nothing (or failed): its event, with the consultations its answer
        carries, committed with other such requests' (group commit) before the response leaves."""
        entries = _request_entries(ctx, status=status, latency_ms=latency_ms)
        await self.writer.write_rows([self._row(entry) for entry in entries])
        for entry in entries:
            AUDIT_EVENTS_BY(entry.kind.value).inc()


def _request_entries(ctx: RequestContext, *, status: int, latency_ms: float) -> list[AuditEntry]:
    """A request's own event, and the consultations its answer carried (none when it failed)."""
    entries = [AuditEntry.for_request(ctx, status=status, latency_ms=latency_ms)]
    if status < 400:
        entries += [AuditEntry.for_consultation(ctx, seen) for seen in ctx.consulted]
    return entries
