"""居住证签注: the holder of a residence permit valid now, or expired at most 30 days ago, who still
lives at its address, gets a new permit valid one year from the old expiry; the old one is superseded."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

from app.catalogue.base import Applicant, ConsultFn, DocumentContent, Findings
from app.catalogue.calendar import add_months
from app.catalogue.records import HeldCertificate, OwnRecords
from app.catalogue.residence_permit.held import ADDRESS, OLD_EXPIRES_ON, SUPERSEDES, renewable
from app.catalogue.residence_permit.inquiry import permit_checks
from app.catalogue.residence_permit.replacement import HeldPermitDetails, PermitReplacement, replaceable, replaced
from app.i18n import Text
from app.identity.id_number import mask
from integrations.agencies import Agencies

RENEWAL_MONTHS = 12


class RenewalDetails(HeldPermitDetails):
    pass  # only the permit named: the renewed one keeps its address


def renewed_expiry(old_expires_on: date) -> date:
    """One year from the old expiry, not from today: renewing early loses nothing, late gains nothing."""
    return add_months(old_expires_on, RENEWAL_MONTHS)


def _renewable_at_its_address(held: HeldCertificate | None, today: date) -> bool:
    return renewable(held, today) and held is not None and ADDRESS in held.facts


class ResidencePermitRenewal(PermitReplacement):
    code = "residence-permit-renewal"
    name = Text("居住证签注", "Residence permit renewal")
    description = Text(
        "居住证有效期满前或期满后30日内，仍在原地址居住的，签注延长一年",
        "Extend a residence permit valid now or expired at most 30 days ago by one year, for a holder "
        "still registered and housed at its address",
    )
    validity = Text("自原有效期满之日起1年", "1 year from the old permit's expiry")
    details_model = RenewalDetails

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
        permit, held = await replaceable(records, details.certificate_serial, today, usable=_renewable_at_its_address)
        if held is None:
            return Findings([permit])
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
        return Findings([permit, *checks], {ADDRESS: address, **replaced(held)})

    def expires_on(self, *, issued_on: date, facts: dict[str, str]) -> date:
        return renewed_expiry(date.fromisoformat(facts[OLD_EXPIRES_ON]))

    def document(self, *, applicant: Applicant, details: BaseModel, facts: dict[str, str]) -> DocumentContent:
        return DocumentContent(
            title="上海市居住证",
            facts=((ADDRESS, facts[ADDRESS]), ("签注", f"原证 {facts[SUPERSEDES]} 签注延期")),
            body=(
                f"持证人{applicant.name}（公民身份号码 {mask(applicant.id_number)}）仍在上述地址居住，"
                f"经公安机关核验，准予签注，有效期自原证期满之日起延长一年。原证 {facts[SUPERSEDES]} 同时作废。"
            ),
        )
