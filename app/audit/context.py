"""What the request log needs to know about the request in flight, filled in as the request proceeds.

Who writes what, once each: the middleware opens it (id, method, path, client); the role dependency sets
the actor; the route declares its action (`app.api.deps.audit_action`); the domain says what it is about
(`about`) and, for a change, the status it answers with; the unit of work or the middleware writes it."""

from __future__ import annotations

import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any


@dataclass
class RequestContext:
    request_id: str
    method: str
    path: str
    client_addr: str | None
    started: float = field(default_factory=time.perf_counter)
    route: str | None = None
    actor_sub: str | None = None
    actor_role: str | None = None
    actor_station: str | None = None
    # The person behind the account (the token's id number): stored only as its keyed hash, so that a
    # search of the log by an account is known to be a consultation of that person (docs/api.md#the-log-beyond-reach).
    actor_id_number: str | None = None
    channel: str | None = None
    action: str | None = None
    resource_type: str | None = None
    resource_id: str | None = None
    application_id: str | None = None
    subject_id_number: str | None = None
    # When only the keyed hash is at hand (a certificate record), with its masked form for display.
    subject_hash: str | None = None
    subject_masked: str | None = None
    on_behalf_of: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    # The status a change answers with, recorded with the change in its unit of work.
    status: int = 200
    # Set when the handler already wrote this request's event inside its own transaction.
    recorded: bool = False
    # Whose data a staff member received in this response (docs/api.md#separation-of-duties-and-staff-reads): one
    # consultation event each, written with the request's own event. Items: application_id, subject_hash,
    # subject_masked.
    consulted: list[dict[str, str | None]] = field(default_factory=list)

    def declare(self, action: str) -> None:
        """The route's audit action, declared once (by its dependency); refined by `detail`."""
        self.action = action

    def detail(self, suffix: str) -> None:
        """One action per route, made precise by the request (`application.decision` + `.approve`)."""
        self.action = f"{self.action}.{suffix}" if self.action else suffix

    def about(
        self,
        *,
        resource_type: str | None = None,
        resource_id: str | None = None,
        application_id: str | None = None,
        subject_id_number: str | None = None,
    ) -> None:
        if resource_type:
            self.resource_type = resource_type
        if resource_id:
            self.resource_id = resource_id
        if application_id:
            self.application_id = application_id
        if subject_id_number:
            self.subject_id_number = subject_id_number


request_context: ContextVar[RequestContext | None] = ContextVar("request_context", default=None)


def current_context() -> RequestContext | None:
    return request_context.get()
