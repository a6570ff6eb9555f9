"""One typed request-log event: what was done, by whom, about what, with what outcome.

Three kinds share it (a request answered, an agency consulted, a change made by the worker); the
constructors below fill the fields each kind has. A person is named here by id number only on the way
in: `AuditLog` turns it into the keyed hash and the mask before anything is stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from app.audit.context import RequestContext
from app.audit.sanitise import storable

WORKER = "system:worker"


class EventKind(StrEnum):
    request = "request"
    agency_call = "agency_call"
    change = "change"
    consultation = "consultation"


def outcome_of(status: int) -> str:
    if status < 400:
        return "success"
    if status in (401, 403):
        return "denied"
    return "error"


@dataclass(frozen=True, kw_only=True)
class AuditEntry:
    kind: EventKind
    action: str
    outcome: str
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    request_id: str | None = None
    actor_sub: str | None = None
    actor_role: str | None = None
    actor_station: str | None = None
    actor_id_number: str | None = None  # hashed by AuditLog (actor_id_hash), never stored
    channel: str | None = None
    method: str | None = None
    route: str | None = None
    status_code: int | None = None
    latency_ms: float | None = None
    client_addr: str | None = None
    resource_type: str | None = None
    resource_id: str | None = None
    application_id: str | None = None
    agency: str | None = None
    dataset: str | None = None
    on_behalf_of: str | None = None
    details: dict[str, Any] | None = None
    # Either the id number (hashed and masked by AuditLog) or, when only the hash is at hand, both forms.
    subject_id_number: str | None = None
    subject_hash: str | None = None
    subject_masked: str | None = None

    @classmethod
    def for_request(cls, ctx: RequestContext, *, status: int, latency_ms: float | None) -> AuditEntry:
        return cls(
            kind=EventKind.request,
            action=ctx.action or f"{ctx.method} {ctx.route or 'unmatched'}",
            outcome=outcome_of(status),
            status_code=status,
            latency_ms=latency_ms,
            method=ctx.method,
            route=ctx.route,
            client_addr=ctx.client_addr,
            details=ctx.details or None,
            **_actor(ctx),
            **_about(ctx),
        )

    @classmethod
    def for_agency_call(
        cls,
        ctx: RequestContext | None,
        *,
        agency: str,
        dataset: str,
        outcome: str,
        subject_id_number: str,
        application_id: str,
        on_behalf_of: str,
        elapsed_ms: float | None,
        evidence_sha256: str | None,
    ) -> AuditEntry:
        return cls(
            kind=EventKind.agency_call,
            action=f"agency.{agency}.{dataset}",
            outcome=outcome,
            latency_ms=elapsed_ms,
            resource_type="application",
            resource_id=application_id,
            application_id=application_id,
            agency=agency,
            dataset=dataset,
            on_behalf_of=on_behalf_of,
            details={"evidence_sha256": evidence_sha256} if evidence_sha256 else None,
            subject_id_number=subject_id_number,
            **_actor(ctx),
        )

    @classmethod
    def for_change(
        cls,
        ctx: RequestContext | None,
        *,
        action: str,
        resource_type: str,
        resource_id: str,
        application_id: str | None = None,
        subject_id_number: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> AuditEntry:
        """A state change made outside any request (the worker), chained like the rest."""
        actor = _actor(ctx)
        actor.pop("channel")
        return cls(
            kind=EventKind.change,
            action=action,
            outcome="success",
            resource_type=resource_type,
            resource_id=resource_id,
            application_id=application_id,
            subject_id_number=subject_id_number,
            details=details,
            **actor,
        )

    @classmethod
    def for_consultation(cls, ctx: RequestContext, seen: dict[str, str | None]) -> AuditEntry:
        """A staff member received this person's data: the citizen sees it in GET /v1/me/data-access
        (docs/api.md#separation-of-duties-and-staff-reads)."""
        return cls(
            kind=EventKind.consultation,
            action=ctx.action or f"{ctx.method} {ctx.route or 'unmatched'}",
            outcome="success",
            resource_type="application" if seen.get("application_id") else None,
            resource_id=seen.get("application_id"),
            application_id=seen.get("application_id"),
            subject_hash=seen.get("subject_hash"),
            subject_masked=seen.get("subject_masked"),
            subject_id_number=seen.get("subject_id_number"),
            **_actor(ctx),
        )

    def fields(self) -> dict[str, Any]:
        """The columns, without the raw id number (AuditLog replaces it with hash and mask). A shallow
        copy: `asdict` would deep-copy `details`, which `prepared` copies anyway as it cleans it."""
        out = {name: getattr(self, name) for name in _COLUMNS}
        out["kind"] = self.kind.value
        return out


_COLUMNS = tuple(f.name for f in dataclass_fields(AuditEntry) if f.name not in ("subject_id_number", "actor_id_number"))


def prepared(fields: dict[str, Any]) -> dict[str, Any]:
    """An event as it is inserted: timestamped, latency rounded, every string bounded and cleaned (the one
    way into the log, so that no event can fail on what a caller sent)."""
    fields = dict(fields)
    fields.setdefault("occurred_at", datetime.now(UTC))
    if fields.get("latency_ms") is not None:
        fields["latency_ms"] = round(float(fields["latency_ms"]), 3)
    return storable(fields)


def _actor(ctx: RequestContext | None) -> dict[str, Any]:
    if ctx is None:
        return {
            "actor_sub": WORKER,
            "request_id": None,
            "actor_role": None,
            "actor_station": None,
            "actor_id_number": None,
            "channel": None,
        }
    return {
        "actor_sub": ctx.actor_sub,
        "request_id": ctx.request_id,
        "actor_role": ctx.actor_role,
        "actor_station": ctx.actor_station,
        "actor_id_number": ctx.actor_id_number,
        "channel": ctx.channel,
    }


def _about(ctx: RequestContext) -> dict[str, Any]:
    return {
        "resource_type": ctx.resource_type,
        "resource_id": ctx.resource_id,
        "application_id": ctx.application_id,
        "on_behalf_of": ctx.on_behalf_of,
        "subject_id_number": ctx.subject_id_number,
        "subject_hash": ctx.subject_hash,
        "subject_masked": ctx.subject_masked,
    }
