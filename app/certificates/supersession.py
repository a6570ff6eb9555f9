"""One certificate replacing another: a re-issue (补发), a renewal, a change of address (CONTRACT 10.3, 10.5).

Kept apart from reissue.py, which depends on the applications workflow, so that the workflow itself can
supersede what a service's issue replaces without an import cycle."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.applications.models import Application
from app.certificates.errors import AlreadyRevoked, AlreadySuperseded
from app.certificates.models import Certificate, CertificateStatus
from app.notifications.outbox import emit


def supersede(
    session: AsyncSession, old: Certificate, new: Certificate, *, application: Application, at: datetime
) -> None:
    """Mark `old` as replaced by `new`, and tell its holder (`certificate.superseded`, in this transaction);
    `application` is the one that replaced it."""
    old.status = CertificateStatus.superseded
    old.superseded_by = new.serial
    old.superseded_at = at
    emit(session, certificate=old, application=application, change="superseded", at=at)


def refuse_unless_current(old: Certificate) -> None:
    """A certificate replaced or revoked since the decision relied on it cannot be replaced again: two
    successors of one permit (a renewal and a move approved at once) would both look valid."""
    if old.status == CertificateStatus.revoked:
        raise AlreadyRevoked()
    if old.status == CertificateStatus.superseded:
        raise AlreadySuperseded(old.superseded_by)
