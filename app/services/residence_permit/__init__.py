"""上海市居住证: for people whose hukou is elsewhere and who have lived at a Shanghai address ≥ 6 months."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from app.i18n import Text
from app.identity.address import same_address
from app.identity.id_number import mask
from app.services.base import (
    Applicant,
    Consultation,
    ConsultFn,
    DocumentContent,
    Findings,
    ServiceDefinition,
    combined_evidence,
    consult_all,
    unavailable_check,
)
from app.services.calendar import add_months
from app.services.decisions import (
    LOCAL_HUKOU,
    NO_HOUSING_RECORD,
    NO_RESIDENCE_REGISTRATION,
    RESIDENCE_UNDER_6_MONTHS,
    Check,
    Outcome,
)
from app.services.text_fields import ShortText
from integrations.agencies import Agencies

SHANGHAI = "31"


class ResidencePermitDetails(BaseModel):
    model_config = ConfigDict(extra="forbid")

    address: ShortText = Field(description="The Shanghai address lived at", examples=["上海市长宁区虹桥路1号5号楼301室"])
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
    one_valid_at_a_time = True
    validity_months = 12
    required_materials: ClassVar[list[Text]] = [
        Text("居住地址证明（租赁合同、房产证或单位证明；PDF、JPEG 或 PNG）",
             "Proof of address (lease, property certificate or employer's letter; PDF, JPEG or PNG)"),
    ]
    agencies: ClassVar[list[str]] = ["police", "housing"]
    details_model = ResidencePermitDetails

    async def examine(
        self, *, applicant: Applicant, details: BaseModel, agencies: Agencies, consult: ConsultFn, today: date
    ) -> Findings:
        assert isinstance(details, ResidencePermitDetails)
        n = applicant.id_number
        found = await consult_all(consult, {
            "person": ("police", "population.person", agencies.police.get_person(n)),
            "registrations": ("police", "population.residence-registrations",
                              agencies.police.get_residence_registrations(n)),
            "properties": ("housing", "housing.properties", agencies.housing.get_properties(n)),
            "leases": ("housing", "housing.leases", agencies.housing.get_leases(n)),
        })
        person = found["person"]
        identity = self.identity_check(person, applicant)
        checks = [identity]
        if not person.answered:
            checks.append(unavailable_check("HUKOU_NOT_LOCAL", person))
        elif identity.outcome is Outcome.passed:  # the record's facts count only once it is the applicant's
            checks.append(_hukou_not_local(person))
        checks.append(_residence_registration(found["registrations"], details.address, today))
        checks.append(_housing_record(found["properties"], found["leases"], n, details.address, today))
        return Findings(checks)

    def document(self, *, applicant: Applicant, details: BaseModel, facts: dict[str, str]) -> DocumentContent:
        assert isinstance(details, ResidencePermitDetails)
        return DocumentContent(
            title="上海市居住证",
            facts=(("居住地址", details.address),),
            body=(
                f"持证人{applicant.name}（公民身份号码 {mask(applicant.id_number)}）在上海市居住，"
                "经公安机关核验居住登记与房屋信息，符合《上海市居住证管理办法》规定，准予发放居住证。"
            ),
        )


def _hukou_not_local(person: Consultation) -> Check:
    province = person.data.hukou.province_code
    if province == SHANGHAI:
        return Check("HUKOU_NOT_LOCAL", "police", Outcome.failed,
                     Text("户籍地在上海", "The hukou is in Shanghai"), person.evidence, LOCAL_HUKOU)
    return Check("HUKOU_NOT_LOCAL", "police", Outcome.passed,
                 Text(f"户籍地省级代码 {province}，非上海", f"Hukou province code {province}, not Shanghai"),
                 person.evidence)


def _residence_registration(registrations: Consultation, address: str, today: date) -> Check:
    if not registrations.answered:
        return unavailable_check("RESIDENCE_REGISTRATION", registrations)
    items = registrations.data.items if registrations.data is not None else []
    here = sorted(r.registered_on for r in items if same_address(r.address, address))
    if not here:
        return Check("RESIDENCE_REGISTRATION", "police", Outcome.failed,
                     Text("该地址无居住登记", "No residence registration at this address"),
                     registrations.evidence, NO_RESIDENCE_REGISTRATION)
    since = here[0]
    if since > add_months(today, -6):
        return Check("RESIDENCE_REGISTRATION", "police", Outcome.failed,
                     Text(f"自 {since} 起在该地址登记居住，未满6个月",
                          f"Registered at this address since {since}, under 6 calendar months"),
                     registrations.evidence, RESIDENCE_UNDER_6_MONTHS)
    return Check("RESIDENCE_REGISTRATION", "police", Outcome.passed,
                 Text(f"自 {since} 起在该地址登记居住，已满6个月",
                      f"Registered at this address since {since}, 6 calendar months or more"),
                 registrations.evidence)


def _housing_record(properties: Consultation, leases: Consultation, id_number: str, address: str, today: date) -> Check:
    owned = properties.answered and properties.data is not None and any(
        id_number in p.owner_id_numbers and same_address(p.address, address) for p in properties.data.items
    )
    leased = leases.answered and leases.data is not None and any(
        id_number in lease.tenant_id_numbers and lease.valid_on(today) and same_address(lease.address, address)
        for lease in leases.data.items
    )
    evidence = combined_evidence(properties, leases)
    if owned:
        return Check("HOUSING_RECORD", "housing", Outcome.passed,
                     Text("申请人在该地址有登记产权", "The applicant owns a registered property at this address"),
                     properties.evidence)
    if leased:
        return Check("HOUSING_RECORD", "housing", Outcome.passed,
                     Text("申请人在该地址有今日有效的租赁登记",
                          "A lease registered at this address, valid today, names the applicant"),
                     leases.evidence)
    if not (properties.answered and leases.answered):
        return unavailable_check("HOUSING_RECORD", properties if not properties.answered else leases)
    return Check("HOUSING_RECORD", "housing", Outcome.failed,
                 Text("该地址无申请人的产权或有效租赁登记",
                      "No property owned by, nor valid lease naming, the applicant at this address"),
                 evidence, NO_HOUSING_RECORD)
