"""What the citizen is told about their appointments at a window: booked, cancelled, and the reminder the
day before (Shanghai days), as announcements for the outbox."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import SHANGHAI
from app.notifications.outbox import Announcement
from app.stations import repository
from app.stations.models import Appointment

AppointmentChange = Literal["booked", "cancelled", "reminder"]
REMINDER_KEY_PREFIX = "appointment.reminder:"


def appointment_changed(
    appointment: Appointment, change: AppointmentChange, *, at: datetime, dedupe_key: str | None = None
) -> Announcement:
    """`appointment.<change>` for the citizen who booked; `status` is the appointment's."""
    return Announcement(
        type=f"appointment.{change}",
        occurred_at=at,
        status=appointment.status.value,
        subject=appointment.citizen_sub,
        subject_hash=appointment.citizen_hash,
        appointment={
            "id": appointment.id,
            "station_id": appointment.station_id,
            "station_name": appointment.station_name,
            "line": appointment.line,
            "start": appointment.starts_at.astimezone(SHANGHAI).isoformat(),
            "end": appointment.ends_at.astimezone(SHANGHAI).isoformat(),
        },
        dedupe_key=dedupe_key,
    )


async def tomorrows_appointments(session: AsyncSession, now: datetime, *, limit: int = 200) -> list[Announcement]:
    """One `appointment.reminder` for every appointment still booked for tomorrow that has none yet. One
    booked today for today gets none: its booking was the news."""
    tomorrow = now.astimezone(SHANGHAI).date() + timedelta(days=1)
    starting_from = datetime.combine(tomorrow, datetime.min.time(), tzinfo=SHANGHAI)
    due = await repository.booked_unreminded(
        session,
        starting_from=starting_from,
        starting_before=starting_from + timedelta(days=1),
        key_prefix=REMINDER_KEY_PREFIX,
        limit=limit,
    )
    return [appointment_changed(a, "reminder", at=now, dedupe_key=REMINDER_KEY_PREFIX + a.id) for a in due]
