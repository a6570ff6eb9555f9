"""亲属关系证明: the police certify how two members of one Shanghai household are related, as the
household register records it. A relative in another household goes to a clerk (NOT_SAME_HOUSEHOLD)."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from app.catalogue.base import (
    Applicant,
    ConsultFn,
    DocumentContent,
    Findings,
    ServiceDefinition,
    combined_evidence,
    identity_then,
)
from app.catalogue.decisions import Outcome
from app.catalogue.household_registration import hukou_local
from app.catalogue.kinship.rules import relation_to_applicant, relative_check, same_household_check
from app.catalogue.records import OwnRecords
from app.catalogue.text_fields import ShortText
from app.errors import ValidationFailed
from app.i18n import Text
from app.identity.id_number import IdNumber, mask
from integrations.agencies import Agencies


class RelativeIsApplicant(ValidationFailed):
    code = "RELATIVE_IS_APPLICANT"
    title = Text("亲属不能是申请人本人", "The relative cannot be the applicant")


class KinshipDetails(BaseModel):
    model_config = ConfigDict(extra="forbid")

    relative_id_number: IdNumber = Field(
        description="The relative's resident identity number", examples=["31010119930610057X"]
    )
    purpose: ShortText = Field(
        description="What the certificate is for (free text, ≤ 200 characters)", examples=["办理继承公证"]
    )


class KinshipCertificate(ServiceDefinition):
    code = "kinship-certificate"
    name = Text("亲属关系证明", "Kinship certificate")
    description = Text(
        "上海户籍人员与同户亲属之间关系的证明，关系以户籍登记为准",
        "Proof of how a Shanghai-hukou applicant and a relative in the same household are related, as "
        "the household register records it",
    )
    serial_prefix = "QSZ"
    validity_months = 3
    validity = Text("3个月", "3 months")
    agencies: ClassVar[list[str]] = ["police"]
    details_model = KinshipDetails
    filing_refusals = (RelativeIsApplicant,)
    third_party_fields = ("relative_id_number",)

    async def admit(self, *, applicant: Applicant, details: BaseModel, records: OwnRecords, today: date) -> None:
        assert isinstance(details, KinshipDetails)
        if details.relative_id_number == applicant.id_number:
            raise RelativeIsApplicant(
                errors=[
                    {
                        "loc": ["body", "details", "relative_id_number"],
                        "msg": "the relative cannot be the applicant",
                        "type": "relative_is_applicant",
                    }
                ]
            )

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
        assert isinstance(details, KinshipDetails)
        other = details.relative_id_number
        person = await consult("police", "population.person", agencies.police.get_person(applicant.id_number))
        checks = identity_then(person, applicant, "HUKOU_LOCAL", hukou_local)
        if checks[-1].outcome is not Outcome.passed:
            # A third person's record is read only for an applicant who is who they say and may have
            # this certificate; asking it for nothing would still show in that person's data access.
            return Findings(checks)
        relative = await consult(
            "police", "population.person", agencies.police.get_person(other), subject_id_number=other
        )
        found = relative_check(relative)
        checks.append(found)
        if found.outcome is not Outcome.passed:
            return Findings(checks)
        mine, theirs = person.data, relative.data
        household = same_household_check(mine, theirs, combined_evidence(person, relative))
        checks.append(household)
        if household.outcome is not Outcome.passed:
            # A clerk may still approve (say, spouses registered apart); the document must then not
            # claim what the register does not say.
            return Findings(checks, {"relative_name": theirs.name, "hukou_address": mine.hukou.address})
        facts = {
            "relative_name": theirs.name,
            "same_household": "yes",
            "applicant_relation_to_head": mine.hukou.relation_to_head,
            "relative_relation_to_head": theirs.hukou.relation_to_head,
            "hukou_address": mine.hukou.address,
        }
        relation = relation_to_applicant(mine, theirs)
        if relation is not None:
            facts["relation"] = relation
        return Findings(checks, facts)

    def document(self, *, applicant: Applicant, details: BaseModel, facts: dict[str, str]) -> DocumentContent:
        assert isinstance(details, KinshipDetails)
        relative = f"{facts.get('relative_name', '')}（公民身份号码 {mask(details.relative_id_number)}）"
        if "same_household" not in facts:  # approved by a clerk after NOT_SAME_HOUSEHOLD
            stated: tuple[tuple[str, str], ...] = (("亲属关系", "分属不同户，经窗口人工核实"),)
        elif "relation" in facts:
            stated = (("亲属关系", f"{facts['relative_name']}系申请人之{facts['relation']}"),)
        else:  # neither is the head: the register's own words, each member's relation to the head
            stated = (
                (
                    "与户主关系",
                    f"申请人：{facts.get('applicant_relation_to_head', '')}；"
                    f"{facts.get('relative_name', '')}：{facts.get('relative_relation_to_head', '')}",
                ),
            )
        return DocumentContent(
            title="亲属关系证明",
            facts=(
                ("亲属", relative),
                *stated,
                ("户籍地址", facts.get("hukou_address", "")),
                ("证明用途", details.purpose),
            ),
            body=(
                f"兹证明{applicant.name}（公民身份号码 {mask(applicant.id_number)}）与{relative}"
                + (
                    "系同户家庭成员，关系以户籍登记为准，如上所列。"
                    if "same_household" in facts
                    else "的亲属关系经公安机关窗口人工核实，如上所列。"
                )
            ),
        )
