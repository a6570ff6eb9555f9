"""居住证签注: the holder of a residence permit valid now, or expired at most 30 days ago, who still
lives at its address, gets a new permit valid one year from the old expiry; the old one is superseded."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from app.catalogue.base import Applicant, ConsultFn, DocumentContent, Findings, ServiceDefinition
from app.catalogue.calendar import add_months
from app.catalogue.records import OwnRecords
from app.catalogue.residence_permit.held import (
    ADDRESS,
    OLD_EXPIRES_ON,
    PERMITS,
    SUPERSEDES,
    CertificateSerial,
    CertificateStillValid,
    permit_check,
    refuse_if_replaced,
    renewable,
)
from app.catalogue.residence_permit.inquiry import permit_checks
from app.i18n import Text
from app.identity.id_number import mask
from integrations.agencies import Agencies

RENEWAL_MONTHS = 12


class RenewalDetails(BaseModel):
    model_config = ConfigDict(extra="forbid")

    certificate_serial: CertificateSerial


def renewed_expiry(old_expires_on: date) -> date:
    """One year from the old expiry, not from today: renewing early loses nothing, late gains nothing."""
    return add_months(old_expires_on, RENEWAL_MONTHS)


class ResidencePermitRenewal(ServiceDefinition):
    code = "residence-permit-renewal"
    name = Text("居住证签注", "Residence permit renewal")
    description = Text(
        "居住证有效期满前或期满后30日内，仍在原地址居住的，签注延长一年",
        "Extend a residence permit valid now or expired at most 30 days ago by one year, for a holder "
        "still registered and housed at its address",
    )
    serial_prefix = "JZZ"  # the new document is a residence permit like any other
    validity_months = None
    validity = Text("自原有效期满之日起1年", "1 year from the old permit's expiry")
    agencies: ClassVar[list[str]] = ["police", "housing"]
    details_model = RenewalDetails
    filing_refusals = (CertificateStillValid,)
    family = PERMITS

    async def admit(self, *, applicant: Applicant, details: BaseModel, records: OwnRecords, today: date) -> None:
        assert isinstance(details, RenewalDetails)
        await refuse_if_replaced(records, details.certificate_serial, today)

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
        assert isinstance(details, RenewalDetails)
        serial = details.certificate_serial
        held = await records.certificate(serial)
        ok = renewable(held, today) and held is not None and ADDRESS in held.facts
        permit = permit_check(held, serial, acceptable=ok)
        if not ok or held is None:
            return Findings([permit])  # nothing to renew: no agency is asked about the applicant
        address = held.facts[ADDRESS]
        checks = await permit_checks(
            applicant=applicant,
            address=address,
            agencies=agencies,
            consult=consult,
            today=today,
            minimum_months=None,
            hukou=False,
        )
        return Findings(
            [permit, *checks],
            {
                ADDRESS: address,
                SUPERSEDES: held.serial,
                OLD_EXPIRES_ON: held.expires_on.isoformat(),
            },
        )

    def expires_on(self, *, issued_on: date, facts: dict[str, str]) -> date:
        return renewed_expiry(date.fromisoformat(facts[OLD_EXPIRES_ON]))

    def supersedes(self, *, facts: dict[str, str]) -> str | None:
        return facts[SUPERSEDES]

    def document(self, *, applicant: Applicant, details: BaseModel, facts: dict[str, str]) -> DocumentContent:
        return DocumentContent(
            title="上海市居住证",
            facts=((ADDRESS, facts[ADDRESS]), ("签注", f"原证 {facts[SUPERSEDES]} 签注延期")),
            body=(
                f"持证人{applicant.name}（公民身份号码 {mask(applicant.id_number)}）仍在上述地址居住，"
                f"经公安机关核验，准予签注，有效期自原证期满之日起延长一年。原证 {facts[SUPERSEDES]} 同时作废。"
            ),
        )
