from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class AppointmentRef(BaseModel):
    id: str
    station_id: str
    station_name: str
    line: str
    start: datetime
    end: datetime


class NotificationOut(BaseModel):
    id: int = Field(description="The event's id, the same as the webhook's; pass the last one as `since_id`")
    type: str = Field(
        description="`application.<status>`, `certificate.<revoked|superseded|expiring>` or "
        "`appointment.<booked|cancelled|reminder>`",
        examples=["application.issued"],
    )
    occurred_at: datetime
    application_id: str | None
    service: str | None
    status: str | None
    certificate_serial: str | None
    appointment: AppointmentRef | None = Field(
        default=None, description="For `appointment.*` events: which appointment, at which window, when"
    )


class NotificationFeed(BaseModel):
    items: list[NotificationOut] = Field(description="Oldest first: the newest is last")
    last_id: int | None = Field(description="The newest id here (or the `since_id` sent when nothing is new)")
