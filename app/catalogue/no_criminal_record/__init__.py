"""无犯罪记录证明: the police state that they hold no criminal record for the applicant."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.catalogue.base import (
    Applicant,
    Consultation,
    ConsultFn,
    DocumentContent,
    Findings,
    ServiceDefinition,
    consult_all,
    unavailable_check,
)
from app.catalogue.decisions import CRIMINAL_RECORD_FOUND, Check, Outcome
from app.catalogue.records import OwnRecords
from app.catalogue.text_fields import ShortText
from app.i18n import Text
from app.identity.id_number import mask
from integrations.agencies import Agencies


class Purpose(StrEnum):
    employment = "employment"
    study = "study"
    visa = "visa"
    other = "other"


PURPOSE_ZH = {Purpose.employment: "就业", Purpose.study: "升学", Purpose.visa: "出国（境）签证", Purpose.other: "其他"}


class NoCriminalRecordDetails(BaseModel):
    model_config = ConfigDict(extra="forbid")

    purpose: Purpose = Field(description="What the certificate is for", examples=["employment"])
    purpose_note: ShortText | None = Field(default=None, description="Required when purpose is `other`")

    @model_validator(mode="after")
    def _note_for_other(self) -> NoCriminalRecordDetails:
        if self.purpose is Purpose.other and not self.purpose_note:
            raise ValueError("purpose_note is required when purpose is other")
        return self


class NoCriminalRecord(ServiceDefinition):
    code = "no-criminal-record-certificate"
    name = Text("无犯罪记录证明", "No-criminal-record certificate")
    description = Text(
        "公安机关出具的本人无犯罪记录的证明，用于就业、升学、签证等",
        "The police certify that they hold no criminal record for you; for employment, study, visas",
    )
    serial_prefix = "WFZ"
    validity_months = 3
    validity = Text("3个月", "3 months")
    agencies: ClassVar[list[str]] = ["police"]
    details_model = NoCriminalRecordDetails

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
        n = applicant.id_number
        found = await consult_all(
            consult,
            {
                "person": ("police", "population.person", agencies.police.get_person(n)),
                "records": ("police", "records.criminal-records", agencies.police.get_criminal_records(n)),
            },
        )
        return Findings([self.identity_check(found["person"], applicant), _criminal_record(found["records"])])

    def document(self, *, applicant: Applicant, details: BaseModel, facts: dict[str, str]) -> DocumentContent:
        assert isinstance(details, NoCriminalRecordDetails)
        purpose = PURPOSE_ZH[details.purpose]
        if details.purpose_note:
            purpose = f"{purpose}（{details.purpose_note}）"
        return DocumentContent(
            title="无犯罪记录证明",
            facts=(("证明用途", purpose),),
            body=(
                f"经查询公安机关违法犯罪记录信息库，截至出具之日，未发现{applicant.name}"
                f"（公民身份号码 {mask(applicant.id_number)}）有犯罪记录。"
            ),
        )


def _criminal_record(records: Consultation) -> Check:
    if not records.answered:
        return unavailable_check("CRIMINAL_RECORD", records)
    count = len(records.data.items) if records.data is not None else 0
    if count:
        return Check(
            "CRIMINAL_RECORD",
            "police",
            Outcome.failed,
            Text(f"查到 {count} 条犯罪记录", f"{count} criminal record(s) found"),
            records.evidence,
            CRIMINAL_RECORD_FOUND,
        )
    return Check(
        "CRIMINAL_RECORD",
        "police",
        Outcome.passed,
        Text("未查到犯罪记录", "No criminal record found"),
        records.evidence,
    )
