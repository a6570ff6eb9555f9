from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class NotificationOut(BaseModel):
    id: int = Field(description="The event's id, the same as the webhook's; pass the last one as `since_id`")
    type: str = Field(
        description="`application.<status>` or `certificate.<revoked|superseded|expiring>`",
        examples=["application.issued"],
    )
    occurred_at: datetime
    application_id: str | None
    service: str | None
    status: str | None
    certificate_serial: str | None


class NotificationFeed(BaseModel):
    items: list[NotificationOut] = Field(description="Oldest first: the newest is last")
    last_id: int | None = Field(description="The newest id here (or the `since_id` sent when nothing is new)")
