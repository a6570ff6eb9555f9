"""What the citizen is told about their applications and certificates, as announcements for the outbox.

A status change is noted on the application by `states.fire`; the application may not be in a session
yet at that moment (filing adds it last) and its certificate is issued just after, so the announcement
is made when the session flushes the application: same flush, same commit as the change."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import event, inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app.applications.models import Application
from app.applications.states import ANNOUNCED_KEY, Status
from app.certificates.models import Certificate
from app.notifications import outbox
from app.notifications.outbox import Announcement

CertificateChange = Literal["revoked", "superseded", "expiring"]
# What a certificate event reports as `status`: the certificate's state after the change.
_CERTIFICATE_STATUS: dict[CertificateChange, str] = {
    "revoked": "revoked",
    "superseded": "superseded",
    "expiring": "valid",
}


def subject_of(application: Application) -> str | None:
    """The citizen's `sub`, known only when the citizen filed; never an id number."""
    return application.filed_by_sub if application.filed_by_role == "citizen" else None


def certificate_changed(
    certificate: Certificate,
    application: Application,
    change: CertificateChange,
    *,
    at: datetime,
    dedupe_key: str | None = None,
) -> Announcement:
    """`certificate.<change>`; `application` is the one that issued the certificate (whose citizen is told)."""
    return Announcement(
        type=f"certificate.{change}",
        occurred_at=at,
        status=_CERTIFICATE_STATUS[change],
        subject=subject_of(application),
        subject_hash=certificate.holder_id_hash,
        application_id=application.id,
        service=certificate.service,
        certificate_serial=certificate.serial,
        dedupe_key=dedupe_key,
    )


def tell_certificate_changed(
    session: AsyncSession,
    certificate: Certificate,
    application: Application,
    change: CertificateChange,
    *,
    at: datetime,
) -> None:
    outbox.add(session, certificate_changed(certificate, application, change, at=at))


def _status_changed(application: Application, status: Status, at: datetime, serial: str | None) -> Announcement:
    return Announcement(
        type=f"application.{status.value}",
        occurred_at=at,
        status=status.value,
        subject=subject_of(application),
        subject_hash=application.applicant_id_hash,
        application_id=application.id,
        service=application.service,
        certificate_serial=serial,
    )


@event.listens_for(Session, "before_flush")
def _announce_status_changes(session: Session, _context: object, _instances: object) -> None:
    waiting = [
        obj
        for obj in (*session.new, *session.dirty)
        if isinstance(obj, Application) and inspect(obj).info.get(ANNOUNCED_KEY)
    ]
    if not waiting:
        return
    # An application issued in this transaction has its certificate in this same flush.
    serials = {obj.application_id: obj.serial for obj in session.new if isinstance(obj, Certificate)}
    for application in waiting:
        for status, at in inspect(application).info.pop(ANNOUNCED_KEY):
            outbox.add(session, _status_changed(application, status, at, serials.get(application.id)))
