from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.certificates.revocation import ReasonCode
from app.services.text_fields import ReasonText

CertificateStatus = Literal["valid", "revoked", "expired", "superseded"]


class CertificateOut(BaseModel):
    serial: str = Field(examples=["JZZ-2026-00012345"])
    service: str
    application_id: str
    verification_code: str = Field(examples=["7KQM-3XPT-9HWDA"])
    verify_url: str
    holder_name: str
    id_number_masked: str
    facts: list[tuple[str, str]]
    issued_at: datetime
    expires_at: datetime
    status: CertificateStatus
    revoked_at: datetime | None
    revocation_reason_code: ReasonCode | None
    revoked_reason: str | None = Field(description="The clerk's free text: staff only (null for the holder)")
    superseded_by: str | None = Field(description="When superseded: the serial of the certificate that replaced it")
    replaces: str | None = Field(description="On a re-issue: the serial of the certificate it replaced")
    sha256: str
    size: int


class RevokeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"reason_code": "DATA_CORRECTED", "reason": "地址信息填报错误 / wrong address"}]})

    reason_code: ReasonCode = Field(default=ReasonCode.OTHER, description="Public: shown on verification")
    reason: ReasonText = Field(description="Staff only: never shown publicly")


class VerificationOut(BaseModel):
    status: CertificateStatus
    service: str
    serial: str
    holder_name_masked: str
    id_number_masked: str
    issued_at: datetime
    expires_at: datetime
    sha256: str
    revoked_at: datetime | None = None
    revocation_reason_code: ReasonCode | None = None
    superseded_by: str | None = Field(default=None, description="When superseded: the serial that replaced it")


class PdfVerificationOut(BaseModel):
    signature_intact: bool
    on_record: bool
    serial: str | None
    status: CertificateStatus | None
