"""The application lifecycle (docs/api.md#lifecycle-and-decisions), as one table keyed by event: which event may move
an application from which status to which, and who may fire it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import inspect

from app.errors import Conflict
from app.i18n import Text
from app.observability import PROCESSING_SECONDS

if TYPE_CHECKING:
    from app.applications.models import Application


__all__ = ["Actor", "Event", "InvalidTransition", "Status", "fire"]


class Status(StrEnum):
    submitted = "submitted"
    verifying = "verifying"
    pending_agency = "pending_agency"
    needs_review = "needs_review"
    needs_materials = "needs_materials"
    issued = "issued"
    rejected = "rejected"
    withdrawn = "withdrawn"


class Event(StrEnum):
    file = "file"  # the application is accepted and its checks begin
    decide = "decide"  # the rules (on the agencies' answers, or a request left unanswered) or a clerk decide
    request_materials = "request_materials"  # a clerk asks the citizen for better proof (补正)
    recheck = "recheck"  # every check runs again: the worker retrying, a clerk, or the citizen supplying proof
    withdraw = "withdraw"  # the applicant, or a clerk for them, withdraws before a decision
    escalate = "escalate"  # still no answer from an agency after AGENCY_WAIT_LIMIT: a clerk decides


class Actor(StrEnum):
    applicant = "applicant"
    clerk = "clerk"
    system = "system"  # the published rules, during filing or in the worker


@dataclass(frozen=True)
class Rule:
    sources: frozenset[Status]
    targets: frozenset[Status]
    actors: frozenset[Actor]


def _rule(sources: set[Status], targets: set[Status], actors: set[Actor]) -> Rule:
    return Rule(frozenset(sources), frozenset(targets), frozenset(actors))


S, A = Status, Actor
TRANSITIONS: dict[Event, tuple[Rule, ...]] = {
    Event.file: (_rule({S.submitted}, {S.verifying}, {A.applicant, A.clerk}),),
    Event.decide: (
        # The rules: a verdict, or (an agency did not answer) waiting for it.
        _rule({S.verifying}, {S.issued, S.rejected, S.needs_review, S.pending_agency}, {A.system}),
        _rule({S.needs_review}, {S.issued, S.rejected}, {A.clerk}),
        # MATERIALS_WAIT_LIMIT passed with no answer: MATERIALS_NOT_SUPPLIED.
        _rule({S.needs_materials}, {S.rejected}, {A.system}),
    ),
    Event.request_materials: (_rule({S.needs_review}, {S.needs_materials}, {A.clerk}),),
    Event.recheck: (
        _rule({S.pending_agency}, {S.verifying}, {A.system}),
        _rule({S.needs_review}, {S.verifying}, {A.clerk}),
        _rule({S.needs_materials}, {S.verifying}, {A.applicant}),
    ),
    Event.escalate: (_rule({S.pending_agency}, {S.needs_review}, {A.system}),),
    Event.withdraw: (
        _rule(
            {S.submitted, S.pending_agency, S.needs_review, S.needs_materials}, {S.withdrawn}, {A.applicant, A.clerk}
        ),
    ),
}
DECIDED = frozenset({Status.issued, Status.rejected})
# The changes a citizen is told about; the others are steps on the way.
ANNOUNCED = frozenset({Status.issued, Status.rejected, Status.needs_review, Status.needs_materials, Status.withdrawn})
ANNOUNCED_KEY = "status_changes_to_announce"
# An application still being handled: a second filing of the same service by the same person is refused.
OPEN = frozenset(
    {Status.submitted, Status.verifying, Status.pending_agency, Status.needs_review, Status.needs_materials}
)


class InvalidTransition(Conflict):
    code = "INVALID_TRANSITION"
    title = Text("申请当前状态不允许此操作", "The application's status does not allow this")

    def __init__(self, current: str, new: str) -> None:
        super().__init__(
            Text(f"申请状态为 {current}，不能变为 {new}", f"The application is {current}; it cannot become {new}")
        )
        self.current = current
        self.new = new


def allowed(event: Event, current: Status, new: Status, actor: Actor) -> bool:
    return any(current in r.sources and new in r.targets and actor in r.actors for r in TRANSITIONS[event])


_DECIDED_BY = {Actor.system: "rules", Actor.clerk: "clerk", Actor.applicant: "applicant"}


def fire(
    application: Application,
    event: Event,
    new: Status,
    *,
    actor: Actor,
    at: datetime,
    by: str,
    reason: str | None = None,
    station_id: str | None = None,
) -> None:
    """Move the application by `event`, or refuse with 409 if the table does not allow it. The one place a
    status change is recorded: the status, its step in the history, the wait it ends, the decision (for a
    status the citizen is told about) and the announcement itself."""
    current = application.status
    if not allowed(event, current, new, actor):
        raise InvalidTransition(current, new)
    application.status = new
    application.history = [
        *application.history,
        {"from": current.value, "to": new.value, "at": at.isoformat(), "by": by},
    ]
    application.updated_at = at
    # A move ends the old status's wait; whoever moves it into a waiting status sets the new deadline.
    application.next_attempt_at = None
    if new in ANNOUNCED:
        application.decision = {
            "outcome": new.value,
            "by": _DECIDED_BY[actor],
            "reason": reason,
            "station_id": station_id,
            "at": at.isoformat(),
        }
        # The citizen is told, in this same transaction: app.applications.announcements turns this into an
        # outbox row when the session flushes the application (filing adds it to the session only later).
        inspect(application).info.setdefault(ANNOUNCED_KEY, []).append((new, at))
    if new in DECIDED:
        application.decided_at = at
        PROCESSING_SECONDS.labels(application.service).observe((at - application.created_at).total_seconds())
