"""临时身份证明: a paper proof of identity for someone whose card is lost, expired or elsewhere while they
travel; the police state what the population registry holds. Valid 30 days."""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from app.catalogue.base import Applicant, ConsultFn, DocumentContent, Findings, ServiceDefinition
from app.catalogue.decisions import Outcome
from app.catalogue.records import OwnRecords
from app.i18n import Text
from app.identity.id_number import mask
from integrations.agencies import Agencies

VALIDITY_DAYS = 30


class Reason(StrEnum):
    card_lost = "card_lost"
    card_expired = "card_expired"
    travel = "travel"


REASON_ZH = {Reason.card_lost: "居民身份证遗失", Reason.card_expired: "居民身份证过期", Reason.travel: "出行"}
GENDER_ZH = {"M": "男", "F": "女"}


class TemporaryIdentityDetails(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason = Field(description="Why the card cannot be shown", examples=["card_lost"])


def temporary_expiry(issued_on: date) -> date:
    return issued_on + timedelta(days=VALIDITY_DAYS)


class TemporaryIdentityCertificate(ServiceDefinition):
    code = "temporary-identity-certificate"
    name = Text("临时身份证明", "Temporary identity certificate")
    description = Text(
        "居民身份证遗失、过期或出行时未携带的，凭人口信息库登记出具临时身份证明",
        "A proof of identity from the population registry while the identity card is lost, expired "
        "or not at hand for travel",
    )
    serial_prefix = "LSZ"
    validity_months = None
    validity = Text("30天", "30 days")
    agencies: ClassVar[list[str]] = ["police"]
    details_model = TemporaryIdentityDetails

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
        person = await consult("police", "population.person", agencies.police.get_person(applicant.id_number))
        identity = self.identity_check(person, applicant)
        if identity.outcome is not Outcome.passed:
            return Findings([identity])
        record = person.data
        return Findings(
            [identity],
            {
                "gender": GENDER_ZH.get(record.gender, record.gender),
                "ethnicity": record.ethnicity,
                "birth_date": record.birth_date.isoformat(),
                "hukou_address": record.hukou.address,
            },
        )

    def expires_on(self, *, issued_on: date, facts: dict[str, str]) -> date:
        return temporary_expiry(issued_on)

    def document(self, *, applicant: Applicant, details: BaseModel, facts: dict[str, str]) -> DocumentContent:
        assert isinstance(details, TemporaryIdentityDetails)
        return DocumentContent(
            title="临时身份证明",
            facts=(
                ("性别", facts.get("gender", "")),
                ("民族", facts.get("ethnicity", "")),
                ("出生日期", facts.get("birth_date", "")),
                ("户籍地址", facts.get("hukou_address", "")),
                ("事由", REASON_ZH[details.reason]),
            ),
            body=(
                f"兹证明{applicant.name}（公民身份号码 {mask(applicant.id_number)}）系本市公安机关人口信息库登记人员，"
                f"登记信息如上。本证明自出具之日起{VALIDITY_DAYS}日内有效。"
            ),
        )
