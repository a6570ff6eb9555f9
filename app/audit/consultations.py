"""Staff reads of citizens' data, noted as they happen so the citizen can see them
(docs/api.md#separation-of-duties-and-staff-reads).

Every application a clerk or auditor receives (a detail, any list or queue page, a search hit), and every
auditor search of the log for a person, is a consultation of that person's data; so is it of a third
person the application names (a kinship certificate's relative). The handler notes each one on the
request context; the request-log writer inserts them with the request's own event, in one batched
statement per response, never one per row (a change: in its own transaction, with its event).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from app.audit.context import RequestContext
from app.identity.id_number import mask


class ApplicationRow(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def applicant_id_hash(self) -> str: ...
    @property
    def applicant_id_number(self) -> str: ...


def note_consultation(
    ctx: RequestContext,
    *,
    subject_hash: str | None = None,
    subject_masked: str | None = None,
    subject_id_number: str | None = None,
    application_id: str | None = None,
) -> None:
    """Whose data: the keyed hash (and mask) when that is what is at hand, or the id number, which the
    request log hashes and masks before storing it."""
    ctx.consulted.append(
        {
            "application_id": application_id,
            "subject_hash": subject_hash,
            "subject_masked": subject_masked,
            "subject_id_number": subject_id_number,
        }
    )


def note_applications_read(ctx: RequestContext, applications: Iterable[ApplicationRow]) -> None:
    """Call only for staff callers: a citizen reading their own applications consults nobody else."""
    for application in applications:
        note_consultation(
            ctx,
            subject_hash=application.applicant_id_hash,
            subject_masked=mask(application.applicant_id_number),
            application_id=application.id,
        )
