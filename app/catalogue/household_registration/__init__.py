"""户籍证明: the police certify a Shanghai hukou, its address and the relation to the household head."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from app.catalogue.base import (
    Applicant,
    Consultation,
    ConsultFn,
    DocumentContent,
    Findings,
    ServiceDefinition,
    consult_all,
    identity_then,
)
from app.catalogue.decisions import NOT_LOCAL_HUKOU, Check, Outcome
from app.catalogue.records import OwnRecords
from app.catalogue.text_fields import ShortText
from app.i18n import Text
from app.identity.id_number import mask
from integrations.agencies import Agencies

SHANGHAI = "31"


class HouseholdRegistrationDetails(BaseModel):
    model_config = ConfigDict(extra="forbid")

    purpose: ShortText = Field(
        description="What the certificate is for (free text, ≤ 200 characters)", examples=["办理子女入学"]
    )


class HouseholdRegistration(ServiceDefinition):
    code = "household-registration-certificate"
    name = Text("户籍证明", "Household-registration certificate")
    description = Text(
        "上海户籍人员的户籍地址及与户主关系证明，无需再到户籍派出所",
        "Proof of a Shanghai hukou, its address and relation to the household head, without visiting the station",
    )
    serial_prefix = "HJZ"
    validity_months = 3
    validity = Text("3个月", "3 months")
    agencies: ClassVar[list[str]] = ["police"]
    details_model = HouseholdRegistrationDetails

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
        found = await consult_all(
            consult,
            {
                "person": ("police", "population.person", agencies.police.get_person(applicant.id_number)),
            },
        )
        person = found["person"]
        checks = identity_then(person, applicant, "HUKOU_LOCAL", hukou_local)
        facts: dict[str, str] = {}
        if checks[0].outcome is Outcome.passed:  # the record's facts count only once it is the applicant's
            facts = {"hukou_address": person.data.hukou.address, "relation_to_head": person.data.hukou.relation_to_head}
        return Findings(checks, facts)

    def document(self, *, applicant: Applicant, details: BaseModel, facts: dict[str, str]) -> DocumentContent:
        assert isinstance(details, HouseholdRegistrationDetails)
        return DocumentContent(
            title="户籍证明",
            facts=(
                ("户籍地址", facts.get("hukou_address", "")),
                ("与户主关系", facts.get("relation_to_head", "")),
                ("证明用途", details.purpose),
            ),
            body=(
                f"兹证明{applicant.name}（公民身份号码 {mask(applicant.id_number)}）系上海市常住户口，户籍信息如上。"
            ),
        )


def hukou_local(person: Consultation) -> Check:
    hukou = person.data.hukou
    if hukou.province_code != SHANGHAI:
        return Check(
            "HUKOU_LOCAL",
            "police",
            Outcome.failed,
            Text(
                f"户籍地省级代码 {hukou.province_code}，不在上海",
                f"Hukou province code {hukou.province_code}, not Shanghai",
            ),
            person.evidence,
            NOT_LOCAL_HUKOU,
        )
    return Check(
        "HUKOU_LOCAL", "police", Outcome.passed, Text("户籍在上海", "The hukou is in Shanghai"), person.evidence
    )
