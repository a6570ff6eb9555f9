"""The request log's writer: request events, agency calls and changes, all through the same chain."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.api.context import RequestContext
from app.audit.batching import RequestLogWriter
from app.audit.recorder import on_commit, record
from app.audit.subjects import SubjectHasher
from app.observability import AUDIT_EVENTS


def outcome_of(status: int) -> str:
    if status < 400:
        return "success"
    if status in (401, 403):
        return "denied"
    return "error"


class AuditLog:
    def __init__(self, *, sessionmaker: async_sessionmaker[AsyncSession], hasher: SubjectHasher) -> None:
        self.hasher = hasher
        self.writer = RequestLogWriter(sessionmaker)

    def subject(self, id_number: str | None) -> dict[str, str | None]:
        if not id_number:
            return {"subject_hash": None, "subject_masked": None}
        return {"subject_hash": self.hasher.hash(id_number), "subject_masked": self.hasher.mask(id_number)}

    def _request_fields(self, ctx: RequestContext, *, status: int, latency_ms: float | None) -> dict[str, Any]:
        return {
            "kind": "request",
            "action": ctx.action or f"{ctx.method} {ctx.route or 'unmatched'}",
            "outcome": outcome_of(status),
            "request_id": ctx.request_id,
            "actor_sub": ctx.actor_sub,
            "actor_role": ctx.actor_role,
            "actor_station": ctx.actor_station,
            "channel": ctx.channel,
            "method": ctx.method,
            "route": ctx.route,
            "status_code": status,
            "latency_ms": latency_ms,
            "client_addr": ctx.client_addr,
            "resource_type": ctx.resource_type,
            "resource_id": ctx.resource_id,
            "application_id": ctx.application_id,
            "on_behalf_of": ctx.on_behalf_of,
            "details": ctx.details or None,
            **(self.subject(ctx.subject_id_number) if ctx.subject_id_number
               else {"subject_hash": ctx.subject_hash, "subject_masked": ctx.subject_masked}),
        }

    def record_request(self, session: AsyncSession, ctx: RequestContext, *, status: int) -> None:
        """Inside a handler's own transaction: the event commits with the change it describes."""
        latency_ms = (time.perf_counter() - ctx.started) * 1000
        record(session, **self._request_fields(ctx, status=status, latency_ms=latency_ms))
        on_commit(session, lambda: setattr(ctx, "recorded", True))
        AUDIT_EVENTS.labels("request").inc()

    async def write_request(self, ctx: RequestContext, *, status: int, latency_ms: float) -> None:
        """After a handler that changed nothing (or failed): committed with other such events (group
        commit) before the response leaves, together with the consultations the response carries."""
        consultations = self._consultation_fields(ctx) if status < 400 else []
        await self.writer.write(self._request_fields(ctx, status=status, latency_ms=latency_ms), *consultations)
        AUDIT_EVENTS.labels("request").inc()
        if consultations:
            AUDIT_EVENTS.labels("consultation").inc(len(consultations))

    @staticmethod
    def _consultation_fields(ctx: RequestContext) -> list[dict[str, Any]]:
        """A staff member received these people's data: each is a consultation the citizen sees in
        GET /v1/me/data-access (CONTRACT 10.1)."""
        return [
            {
                "kind": "consultation",
                "action": ctx.action or f"{ctx.method} {ctx.route or 'unmatched'}",
                "outcome": "success",
                "request_id": ctx.request_id,
                "actor_sub": ctx.actor_sub,
                "actor_role": ctx.actor_role,
                "actor_station": ctx.actor_station,
                "channel": ctx.channel,
                "resource_type": "application" if seen.get("application_id") else None,
                "resource_id": seen.get("application_id"),
                "application_id": seen.get("application_id"),
                "subject_hash": seen.get("subject_hash"),
                "subject_masked": seen.get("subject_masked"),
            }
            for seen in ctx.consulted
        ]

    def record_agency_call(
        self,
        session: AsyncSession,
        *,
        ctx: RequestContext | None,
        agency: str,
        dataset: str,
        outcome: str,
        subject_id_number: str,
        application_id: str,
        on_behalf_of: str,
        elapsed_ms: float | None,
        evidence_sha256: str | None,
    ) -> None:
        record(
            session,
            kind="agency_call",
            action=f"agency.{agency}.{dataset}",
            outcome=outcome,
            request_id=ctx.request_id if ctx else None,
            actor_sub=ctx.actor_sub if ctx else "system:worker",
            actor_role=ctx.actor_role if ctx else None,
            actor_station=ctx.actor_station if ctx else None,
            channel=ctx.channel if ctx else None,
            latency_ms=elapsed_ms,
            resource_type="application",
            resource_id=application_id,
            application_id=application_id,
            agency=agency,
            dataset=dataset,
            on_behalf_of=on_behalf_of,
            details={"evidence_sha256": evidence_sha256} if evidence_sha256 else None,
            **self.subject(subject_id_number),
        )
        AUDIT_EVENTS.labels("agency_call").inc()

    def record_change(
        self,
        session: AsyncSession,
        *,
        ctx: RequestContext | None,
        action: str,
        resource_type: str,
        resource_id: str,
        application_id: str | None = None,
        subject_id_number: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        """A state change made outside any request (the worker), chained like the rest."""
        record(
            session,
            kind="change",
            action=action,
            outcome="success",
            request_id=ctx.request_id if ctx else None,
            actor_sub=ctx.actor_sub if ctx else "system:worker",
            actor_role=ctx.actor_role if ctx else None,
            actor_station=ctx.actor_station if ctx else None,
            resource_type=resource_type,
            resource_id=resource_id,
            application_id=application_id,
            details=details,
            **self.subject(subject_id_number),
        )
        AUDIT_EVENTS.labels("change").inc()
