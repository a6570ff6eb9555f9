"""上海市居住证: for people whose hukou is elsewhere and who have lived at a Shanghai address ≥ 6 months."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from app.catalogue.base import Applicant, ConsultFn, DocumentContent, Findings, ServiceDefinition
from app.catalogue.records import OwnRecords
from app.catalogue.residence_permit.held import (
    ADDRESS,
    PERMIT_SERVICES,
    PERMITS,
    CertificateStillValid,
    still_valid_permit,
)
from app.catalogue.residence_permit.inquiry import permit_checks
from app.catalogue.text_fields import ShortText
from app.i18n import Text
from app.identity.id_number import mask
from integrations.agencies import Agencies


class ResidencePermitDetails(BaseModel):
    model_config = ConfigDict(extra="forbid")

    address: ShortText = Field(
        description="The Shanghai address lived at", examples=["上海市长宁区虹桥路1号5号楼301室"]
    )
    material_ids: list[str] = Field(
        min_length=1, max_length=10, description="Uploaded proofs of address (the caller's own)"
    )


class ResidencePermit(ServiceDefinition):
    code = "residence-permit"
    name = Text("上海市居住证", "Shanghai residence permit")
    description = Text(
        "非上海户籍人员在本市居住满6个月，凭合法稳定住所申领居住证",
        "For people whose hukou is outside Shanghai who have lived at a Shanghai address for 6 months",
    )
    serial_prefix = "JZZ"
    validity_months = 12
    validity = Text("1年", "1 year")
    required_materials: ClassVar[list[Text]] = [
        Text(
            "居住地址证明（租赁合同、房产证或单位证明；PDF、JPEG 或 PNG）",
            "Proof of address (lease, property certificate or employer's letter; PDF, JPEG or PNG)",
        ),
    ]
    agencies: ClassVar[list[str]] = ["police", "housing"]
    details_model = ResidencePermitDetails
    filing_refusals = (CertificateStillValid,)
    family = PERMITS

    async def admit(self, *, applicant: Applicant, details: BaseModel, records: OwnRecords, today: date) -> None:
        """A second permit while one is valid has no purpose: say which service the holder wants."""
        held = still_valid_permit(await records.certificates(PERMIT_SERVICES), today)
        if held is not None:
            raise CertificateStillValid(held.serial)

    async def examine(
        self,
        *,
        applicant: Applicant,
        details: BaseModel,
        agencies: Agencies,
        consult: ConsultFn,
        records: OwnRecords,
        today: date,
    ) -> Findings:
        assert isinstance(details, ResidencePermitDetails)
        return Findings(
            await permit_checks(
                applicant=applicant,
                address=details.address,
                agencies=agencies,
                consult=consult,
                today=today,
                minimum_months=6,
            )
        )

    def document(self, *, applicant: Applicant, details: BaseModel, facts: dict[str, str]) -> DocumentContent:
        assert isinstance(details, ResidencePermitDetails)
        return DocumentContent(
            title="上海市居住证",
            facts=((ADDRESS, details.address),),
            body=(
                f"持证人{applicant.name}（公民身份号码 {mask(applicant.id_number)}）在上海市居住，"
                "经公安机关核验居住登记与房屋信息，符合《上海市居住证管理办法》规定，准予发放居住证。"
            ),
        )
