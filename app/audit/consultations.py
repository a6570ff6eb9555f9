"""Staff reads of citizens' data, noted as they happen so the citizen can see them (CONTRACT 10.1).

Every application a clerk or auditor receives (a detail, any list or queue page, a search hit), and every
auditor query of the log filtered by a person's id number, is a consultation of that person's data. The
handler notes each one on the request context; the request-log writer inserts them with the request's own
event, in one batched statement per response, never one per row.
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
    ctx: RequestContext, *, subject_hash: str, subject_masked: str | None, application_id: str | None = None
) -> None:
    ctx.consulted.append(
        {"application_id": application_id, "subject_hash": subject_hash, "subject_masked": subject_masked}
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
