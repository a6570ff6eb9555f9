"""The application resource as the API shows it (docs/api.md#filing-an-application)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from app.catalogue.schemas import LocalizedText
from app.catalogue.text_fields import ReasonText
from app.identity.id_number import IdNumber
from app.identity.names import clean_name

PersonName = Annotated[str, StringConstraints(max_length=256), AfterValidator(clean_name)]

EXAMPLE_FILING: dict[str, Any] = {
    "service": "residence-permit",
    "details": {"address": "上海市长宁区虹桥路1号5号楼301室", "material_ids": ["7d0c3c0e-2f4f-4c36-9a43-0d5b1a6b2e11"]},
}


class ApplicantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id_number: IdNumber = Field(description="GB 11643 resident identity number", examples=["11010519491231002X"])
    name: PersonName = Field(description="Real name as on the identity card", examples=["王芳"])


class FilingIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE_FILING]})

    service: str = Field(description="A service code from GET /v1/services", examples=["residence-permit"])
    details: dict[str, Any] = Field(description="Service-specific details (see the catalogue)")
    applicant: ApplicantIn | None = Field(
        default=None, description="Clerks filing at the window only: the person standing there"
    )


class DecisionIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"outcome": "approve", "reason": "租赁合同原件已核验 / lease checked in person"},
                {"outcome": "request_materials", "reason": "请上传在有效期内的租赁合同 / upload a lease valid today"},
            ]
        },
    )

    outcome: Literal["approve", "reject", "request_materials"] = Field(
        description="`request_materials` asks the applicant for further proof (补正): the case waits in "
        "`needs_materials` until they attach it"
    )
    reason: ReasonText = Field(
        description="Why, in a sentence; shown to the applicant (for `request_materials`, what to supply)"
    )


class CheckOut(BaseModel):
    code: str
    agency: str
    outcome: Literal["pass", "fail", "unavailable"]
    detail: LocalizedText
    evidence_sha256: str | None = Field(description="SHA-256 of the agency response this check relied on")


class ReasonOut(BaseModel):
    code: str
    message: LocalizedText


class DecisionOut(BaseModel):
    outcome: Literal["issued", "rejected", "needs_review", "needs_materials", "withdrawn"]
    by: Literal["rules", "clerk", "applicant"]
    reason: str | None = None
    station_id: str | None = None
    at: datetime


class ApplicantOut(BaseModel):
    name: str
    id_number_masked: str


class CertificateSummary(BaseModel):
    serial: str
    verification_code: str
    issued_at: datetime
    expires_at: datetime
    status: Literal["valid", "revoked", "expired", "superseded"]


class ApplicationOut(BaseModel):
    id: str
    service: str
    status: Literal[
        "submitted", "verifying", "pending_agency", "needs_review", "needs_materials", "issued", "rejected", "withdrawn"
    ]
    channel: Literal["online", "window"]
    station_id: str | None
    applicant: ApplicantOut
    details: dict[str, Any]
    checks: list[CheckOut]
    reasons: list[ReasonOut]
    decision: DecisionOut | None
    certificate: CertificateSummary | None
    created_at: datetime
    updated_at: datetime
    decided_at: datetime | None


class ApplicationPage(BaseModel):
    items: list[ApplicationOut]
    next_cursor: str | None


class MaterialsIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"material_ids": ["7d0c3c0e-2f4f-4c36-9a43-0d5b1a6b2e11"]}]}
    )

    material_ids: list[str] = Field(
        min_length=1, max_length=10, description="Materials you uploaded (POST /v1/materials)"
    )


class AttachedMaterialOut(BaseModel):
    id: str
    sha256: str
    size: int
    media_type: str = Field(examples=["application/pdf"])
    uploaded_at: datetime


class AttachedMaterials(BaseModel):
    items: list[AttachedMaterialOut]
