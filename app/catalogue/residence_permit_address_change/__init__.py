"""居住证变更: the holder of a valid residence permit who moved gets a permit at the new address with
the same expiry; the old one is superseded. The residence-permit rules apply at the new address, except
the six months: a move does not restart the clock."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from pydantic import BaseModel, Field

from app.catalogue.base import Applicant, ConsultFn, DocumentContent, Findings
from app.catalogue.records import OwnRecords
from app.catalogue.residence_permit.held import ADDRESS, OLD_EXPIRES_ON, SUPERSEDES, movable
from app.catalogue.residence_permit.inquiry import permit_checks
from app.catalogue.residence_permit.replacement import HeldPermitDetails, PermitReplacement, replaceable, replaced
from app.catalogue.text_fields import ShortText
from app.i18n import Text
from app.identity.id_number import mask
from integrations.agencies import Agencies


class AddressChangeDetails(HeldPermitDetails):
    address: ShortText = Field(
        description="The new Shanghai address lived at", examples=["上海市徐汇区宜山路700号3号楼801室"]
    )
    material_ids: list[str] = Field(
        min_length=1, max_length=10, description="Uploaded proofs of the new address (the caller's own)"
    )


class ResidencePermitAddressChange(PermitReplacement):
    code = "residence-permit-address-change"
    name = Text("居住证变更", "Residence permit change of address")
    description = Text(
        "居住证持有人在本市变更居住地址的，换领新地址的居住证，有效期不变",
        "For the holder of a valid residence permit who moved within Shanghai: a permit at the new "
        "address, with the same expiry",
    )
    validity = Text("与原居住证有效期相同", "The old permit's expiry")
    required_materials: ClassVar[list[Text]] = [
        Text(
            "新居住地址证明（租赁合同、房产证或单位证明；PDF、JPEG 或 PNG）",
            "Proof of the new address (lease, property certificate or employer's letter; PDF, JPEG or PNG)",
        ),
    ]
    details_model = AddressChangeDetails

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
        assert isinstance(details, AddressChangeDetails)
        permit, held = await replaceable(records, details.certificate_serial, today, usable=movable)
        if held is None:
            return Findings([permit])
        checks = await permit_checks(
            applicant=applicant,
            address=details.address,
            agencies=agencies,
            consult=consult,
            today=today,
            minimum_months=None,
        )
        return Findings([permit, *checks], replaced(held))

    def expires_on(self, *, issued_on: date, facts: dict[str, str]) -> date:
        return date.fromisoformat(facts[OLD_EXPIRES_ON])

    def document(self, *, applicant: Applicant, details: BaseModel, facts: dict[str, str]) -> DocumentContent:
        assert isinstance(details, AddressChangeDetails)
        return DocumentContent(
            title="上海市居住证",
            facts=((ADDRESS, details.address), ("变更", f"原证 {facts[SUPERSEDES]} 变更居住地址")),
            body=(
                f"持证人{applicant.name}（公民身份号码 {mask(applicant.id_number)}）居住地址变更为上述地址，"
                f"经公安机关核验居住登记与房屋信息，准予换领，有效期不变。原证 {facts[SUPERSEDES]} 同时作废。"
            ),
        )
