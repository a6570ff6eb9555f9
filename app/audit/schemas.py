from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class AuditEventOut(BaseModel):
    seq: int
    occurred_at: datetime
    kind: str
    action: str
    outcome: str
    request_id: str | None
    actor_sub: str | None
    actor_role: str | None
    actor_station: str | None
    channel: str | None
    method: str | None
    route: str | None
    status_code: int | None
    latency_ms: float | None
    client_addr: str | None
    resource_type: str | None
    resource_id: str | None
    application_id: str | None
    subject_hash: str | None
    subject_masked: str | None
    agency: str | None
    dataset: str | None
    on_behalf_of: str | None
    details: dict[str, Any] | None
    prev_hash: str
    hash: str


class AuditPage(BaseModel):
    items: list[AuditEventOut]
    next_cursor: str | None


class ChainVerification(BaseModel):
    intact: bool
    events_checked: int
    first_bad_event: int | None
    break_reason: str | None = Field(
        default=None,
        description="Why the chain is broken: an event altered or missing (`event_mismatch`), the newest events "
        "gone (`behind_checkpoint`: the head is behind a signed checkpoint), a chain that differs from "
        "the checkpoint (`checkpoint_mismatch`), a checkpoint not signed by our key "
        "(`checkpoint_signature_invalid`), or an archived boundary no signed checkpoint vouches for "
        "(`archive_boundary_unsigned`)",
        examples=["behind_checkpoint"],
    )
    head_seq: int | None
    head_hash: str | None
    checkpoint_seq: int | None = Field(
        default=None,
        description="The checkpoint reported: the furthest by position (`tail`), the latest signed (`all`)",
    )
    checkpoint_signature_valid: bool | None = Field(default=None, description="Whether our key signed it")
    checkpoints_checked: int = Field(
        default=0, description="How many checkpoints the chain was held against (`tail`: the furthest alone)"
    )
    scope: Literal["tail", "all"] = Field(
        default="tail",
        description="What was walked: the events from the furthest signed checkpoint (`tail`), or the whole "
        "live chain against every checkpoint (`all`)",
    )
    walked_from_seq: int = Field(
        default=1,
        description="The first position the walk checked: the furthest checkpoint's (`tail`), else 1, or the "
        "first after the archived months",
    )


class DataAccessOut(BaseModel):
    at: datetime
    kind: str  # agency_call | staff_read | verification | share_use
    action: str
    agency: str | None
    dataset: str | None
    application_id: str | None
    certificate_serial: str | None
    on_behalf_of: str | None
    by_role: str | None
    by_station: str | None
    request_id: str | None
    recipient: str | None = None  # share_use: whom the holder shared the certificate with


class DataAccessPage(BaseModel):
    items: list[DataAccessOut]
    next_cursor: str | None


class CheckpointOut(BaseModel):
    seq: int
    head_hash: str
    signed_at: datetime
    signature: str
    certificate_pem: str
