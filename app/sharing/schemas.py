from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.catalogue.text_fields import ShortText
from app.certificates.fields import Field as CertificateField


class ShareIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "recipient": "上海某某科技有限公司 人事部",
                    "expires_in_days": 14,
                    "fields": ["service", "holder_name"],
                }
            ]
        },
    )

    recipient: ShortText = Field(description="Who the link is for (an employer, a school…), as the holder names them")
    expires_in_days: int = Field(ge=1, le=90, description="The link works for this many days (1–90)")
    fields: list[CertificateField] | None = Field(
        default=None,
        min_length=1,
        description="What the recipient sees besides the live status; default every field. The PDF is shared "
        "only when every field is.",
    )
    notify: bool = Field(default=False, description="Tell me (a notification, `share.used`) each time it is used")

    @field_validator("fields")
    @classmethod
    def _distinct(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError("each field at most once")
        return value


class ShareCreatedOut(BaseModel):
    id: str
    url: str = Field(description="The link to hand to the recipient; its token is never shown again")
    expires_at: datetime
    recipient: str
    fields: list[str]
    notify: bool


class ShareOut(BaseModel):
    id: str
    recipient: str
    fields: list[str]
    notify: bool
    state: Literal["active", "revoked", "expired"]
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    uses: int
    last_used_at: datetime | None


class SharePage(BaseModel):
    items: list[ShareOut]
    next_cursor: str | None


class SharedCertificateOut(BaseModel):
    """What the recipient's link shows: the live status always, the holder's chosen fields, and the PDF's
    address when every field is shared."""

    status: Literal["valid", "revoked", "expired", "superseded"]
    recipient: str
    shared_until: datetime
    fields: dict[str, Any]
    pdf_url: str | None
