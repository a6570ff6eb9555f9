"""The application lifecycle of CONTRACT §5, in one table."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from app.errors import Conflict
from app.i18n import Text
from app.notifications.outbox import announce
from app.observability import PROCESSING_SECONDS

if TYPE_CHECKING:
    from app.applications.models import Application


class Status(StrEnum):
    submitted = "submitted"
    verifying = "verifying"
    pending_agency = "pending_agency"
    needs_review = "needs_review"
    needs_materials = "needs_materials"
    issued = "issued"
    rejected = "rejected"
    withdrawn = "withdrawn"


ALLOWED: dict[Status, frozenset[Status]] = {
    Status.submitted: frozenset({Status.verifying, Status.withdrawn}),
    Status.verifying: frozenset({Status.issued, Status.needs_review, Status.rejected, Status.pending_agency}),
    Status.pending_agency: frozenset({Status.verifying, Status.needs_review, Status.withdrawn}),
    # verifying again: a clerk's recheck; needs_materials: a clerk asks the citizen for better proof (补正).
    Status.needs_review: frozenset({Status.issued, Status.rejected, Status.withdrawn, Status.verifying,
                                    Status.needs_materials}),
    # verifying: the citizen supplied the materials; rejected: MATERIALS_WAIT_LIMIT passed unanswered.
    Status.needs_materials: frozenset({Status.verifying, Status.rejected, Status.withdrawn}),
    Status.issued: frozenset(),
    Status.rejected: frozenset(),
    Status.withdrawn: frozenset(),
}
DECIDED = frozenset({Status.issued, Status.rejected})
# An application still being handled: a second filing of the same service by the same person is refused.
OPEN = frozenset({Status.submitted, Status.verifying, Status.pending_agency, Status.needs_review,
                  Status.needs_materials})


class InvalidTransition(Conflict):
    code = "INVALID_TRANSITION"
    title = Text("申请当前状态不允许此操作", "The application's status does not allow this")

    def __init__(self, current: str, new: str) -> None:
        super().__init__(
            Text(f"申请状态为 {current}，不能变为 {new}", f"The application is {current}; it cannot become {new}")
        )
        self.current = current
        self.new = new


def transition(application: Application, new: Status, *, at: datetime, by: str) -> None:
    current = Status(application.status)
    if new not in ALLOWED[current]:
        raise InvalidTransition(current, new)
    application.status = new.value
    application.history = [*application.history, {"from": current.value, "to": new.value, "at": at.isoformat(), "by": by}]
    application.updated_at = at
    announce(application, new.value, at=at)  # the citizen is told, in this same transaction (CONTRACT §10.4)
    if new in DECIDED:
        application.decided_at = at
        PROCESSING_SECONDS.labels(application.service).observe((at - application.created_at).total_seconds())
