"""Putting events in the outbox, inside the transaction of the change they announce.

Application status changes are announced from the one place every change passes through,
`app.applications.states.transition()`, with `announce(...)`. The application may not be in a session
yet at that moment (filing adds it last) and its certificate is issued just after, so the announcement
waits on the instance and becomes an outbox row when the session flushes it: same flush, same commit,
no event without its change and no change without its event. Certificate changes call `emit(...)`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from sqlalchemy import event, inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app.applications.models import Application
from app.certificates.models import Certificate
from app.clock import SHANGHAI
from app.notifications.models import OutboxEvent
from app.stations.models import Appointment

# The statuses a citizen is told about (CONTRACT §10.4); the others are steps on the way.
ANNOUNCED_STATUSES = frozenset({"issued", "rejected", "needs_review", "needs_materials", "withdrawn"})
CERTIFICATE_CHANGES = frozenset({"revoked", "superseded", "expiring"})
APPOINTMENT_CHANGES = frozenset({"booked", "cancelled", "reminder"})
# What a certificate event reports as `status`: the certificate's state after the change.
_CERTIFICATE_STATUS = {"revoked": "revoked", "superseded": "superseded", "expiring": "valid"}
_WAITING = "notifications_announced"
_WROTE = "notifications_outbox_written"


def subject_of(application: Application) -> str | None:
    """The citizen's `sub`, known only when the citizen filed; never an id number."""
    return application.filed_by_sub if application.filed_by_role == "citizen" else None


def announce(application: Application, status: str, *, at: datetime) -> None:
    """Called by `transition()` on every status change; keeps those the citizen is told about."""
    if status in ANNOUNCED_STATUSES:
        inspect(application).info.setdefault(_WAITING, []).append((status, at))


def emit(
    session: AsyncSession | Session, *, certificate: Certificate, application: Application, change: str, at: datetime
) -> OutboxEvent:
    """Add a `certificate.<change>` event (revoked, superseded) to `session`, beside the change it announces:
    it commits with it. `application` is the one that issued the certificate (whose citizen is told)."""
    row = certificate_event(certificate=certificate, application=application, change=change, at=at)
    session.add(row)
    return row


def certificate_event(
    *, certificate: Certificate, application: Application, change: str, at: datetime, dedupe_key: str | None = None
) -> OutboxEvent:
    if change not in CERTIFICATE_CHANGES:
        raise ValueError(f"not a certificate change the contract announces: {change!r}")
    return OutboxEvent(
        type=f"certificate.{change}",
        occurred_at=at,
        application_id=application.id,
        service=certificate.service,
        status=_CERTIFICATE_STATUS[change],
        certificate_serial=certificate.serial,
        subject=subject_of(application),
        subject_hash=certificate.holder_id_hash,
        dedupe_key=dedupe_key,
        state="pending",
        attempts=0,
        next_attempt_at=at,
        created_at=at,
    )


def appointment_event(
    *, appointment: Appointment, change: str, at: datetime, dedupe_key: str | None = None
) -> OutboxEvent:
    """`appointment.<booked|cancelled|reminder>` for the citizen who booked; `status` is the appointment's."""
    if change not in APPOINTMENT_CHANGES:
        raise ValueError(f"not an appointment change the service announces: {change!r}")
    return OutboxEvent(
        type=f"appointment.{change}",
        occurred_at=at,
        status=appointment.status.value,
        appointment={
            "id": appointment.id,
            "station_id": appointment.station_id,
            "station_name": appointment.station_name,
            "line": appointment.line,
            "start": appointment.starts_at.astimezone(SHANGHAI).isoformat(),
            "end": appointment.ends_at.astimezone(SHANGHAI).isoformat(),
        },
        subject=appointment.citizen_sub,
        subject_hash=appointment.citizen_hash,
        dedupe_key=dedupe_key,
        state="pending",
        attempts=0,
        next_attempt_at=at,
        created_at=at,
    )


def _application_event(application: Application, status: str, at: datetime, serial: str | None) -> OutboxEvent:
    return OutboxEvent(
        type=f"application.{status}",
        occurred_at=at,
        application_id=application.id,
        service=application.service,
        status=status,
        certificate_serial=serial,
        subject=subject_of(application),
        subject_hash=application.applicant_id_hash,
        state="pending",
        attempts=0,
        next_attempt_at=at,
    )


@event.listens_for(Session, "before_flush")
def _outbox_rows_for_announcements(session: Session, _context: object, _instances: object) -> None:
    waiting = [
        obj
        for obj in (*session.new, *session.dirty)
        if isinstance(obj, Application) and inspect(obj).info.get(_WAITING)
    ]
    if waiting or any(isinstance(obj, OutboxEvent) for obj in session.new):
        session.info[_WROTE] = True
    if not waiting:
        return
    # An application issued in this transaction has its certificate in this same flush.
    serials = {c.application_id: c.serial for c in _new(session.new, Certificate)}
    for application in waiting:
        for status, at in inspect(application).info.pop(_WAITING):
            session.add(_application_event(application, status, at, serials.get(application.id)))


# Called after a commit that wrote outbox rows: a dispatcher in this process wakes at once instead of
# at its next poll. (Dispatchers in other processes poll.)
_after_outbox_commit: list[Callable[[], None]] = []


def on_outbox_commit(callback: Callable[[], None]) -> Callable[[], None]:
    _after_outbox_commit.append(callback)
    return lambda: _after_outbox_commit.remove(callback)


@event.listens_for(Session, "after_commit")
def _wake_dispatchers(session: Session) -> None:
    if session.info.pop(_WROTE, False):
        for callback in list(_after_outbox_commit):
            callback()


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_WROTE, None)


def _new(objects: Iterable[object], kind: type[Certificate]) -> list[Certificate]:
    return [obj for obj in objects if isinstance(obj, kind)]
