"""居住登记: someone whose hukou is elsewhere registers the Shanghai address they live at, and gets a
registration receipt (居住登记凭证). It is the registration the residence permit later counts six
months from, so it asks only that they live there lawfully: a property owned or a lease valid today."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from pydantic import BaseModel

from app.catalogue.base import (
    Applicant,
    ConsultFn,
    DocumentContent,
    Findings,
    ServiceDefinition,
    consult_all,
    identity_then,
)
from app.catalogue.records import OwnRecords
from app.catalogue.residence_permit import ResidencePermitDetails
from app.catalogue.residence_permit.held import ADDRESS
from app.catalogue.residence_permit.rules import housing_record, hukou_not_local
from app.i18n import Text
from app.identity.id_number import mask
from integrations.agencies import Agencies


class ResidenceRegistrationDetails(ResidencePermitDetails):
    pass  # what a permit is applied for with: the address lived at, and proofs of it


class ResidenceRegistration(ServiceDefinition):
    code = "residence-registration"
    name = Text("居住登记", "Residence registration")
    description = Text(
        "非上海户籍人员在本市居住地办理居住登记，取得居住登记凭证（申领居住证的居住时间自此起算）",
        "For people whose hukou is outside Shanghai: register the address you live at and get a "
        "registration receipt (the residence permit's six months count from it)",
    )
    serial_prefix = "JZD"
    validity_months = 12
    validity = Text("1年", "1 year")
    required_materials: ClassVar[list[Text]] = [
        Text(
            "居住地址证明（租赁合同或房产证；PDF、JPEG 或 PNG）",
            "Proof of address (lease or property certificate; PDF, JPEG or PNG)",
        ),
    ]
    agencies: ClassVar[list[str]] = ["police", "housing"]
    details_model = ResidenceRegistrationDetails

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
        assert isinstance(details, ResidenceRegistrationDetails)
        n = applicant.id_number
        found = await consult_all(
            consult,
            {
                "person": ("police", "population.person", agencies.police.get_person(n)),
                "properties": ("housing", "housing.properties", agencies.housing.get_properties(n)),
                "leases": ("housing", "housing.leases", agencies.housing.get_leases(n)),
            },
        )
        checks = identity_then(found["person"], applicant, "HUKOU_NOT_LOCAL", hukou_not_local)
        checks.append(housing_record(found["properties"], found["leases"], n, details.address, today))
        return Findings(checks)

    def document(self, *, applicant: Applicant, details: BaseModel, facts: dict[str, str]) -> DocumentContent:
        assert isinstance(details, ResidenceRegistrationDetails)
        return DocumentContent(
            title="居住登记凭证",
            facts=((ADDRESS, details.address),),
            body=(
                f"{applicant.name}（公民身份号码 {mask(applicant.id_number)}）已在上述地址办理居住登记。"
                "居住时间自登记之日起计算。"
            ),
        )
