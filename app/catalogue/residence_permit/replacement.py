"""A new residence permit in place of one the applicant holds, whatever the occasion (a renewal, a change
of address): the filing names the permit, a newer valid one refuses it, the permit named must be usable
before any agency is asked, and the new permit supersedes it, carrying over what the occasion keeps."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from app.catalogue.base import Applicant, ServiceDefinition
from app.catalogue.decisions import Check
from app.catalogue.records import HeldCertificate, OwnRecords
from app.catalogue.residence_permit.held import (
    OLD_EXPIRES_ON,
    PERMITS,
    SUPERSEDES,
    CertificateSerial,
    CertificateStillValid,
    permit_check,
    refuse_if_replaced,
)


class HeldPermitDetails(BaseModel):
    model_config = ConfigDict(extra="forbid")

    certificate_serial: CertificateSerial


class PermitReplacement(ServiceDefinition):
    serial_prefix = "JZZ"  # the new document is a residence permit like any other
    validity_months = None
    agencies: ClassVar[list[str]] = ["police", "housing"]
    filing_refusals = (CertificateStillValid,)
    family = PERMITS

    async def admit(self, *, applicant: Applicant, details: BaseModel, records: OwnRecords, today: date) -> None:
        assert isinstance(details, HeldPermitDetails)
        await refuse_if_replaced(records, details.certificate_serial, today)

    def supersedes(self, *, facts: dict[str, str]) -> str | None:
        return facts[SUPERSEDES]


async def replaceable(
    records: OwnRecords, serial: str, today: date, *, usable: Callable[[HeldCertificate | None, date], bool]
) -> tuple[Check, HeldCertificate | None]:
    """PERMIT, and the permit named when it may be replaced; None when there is nothing to replace, and then
    no agency is asked about the applicant."""
    held = await records.certificate(serial)
    ok = usable(held, today)
    return permit_check(held, serial, acceptable=ok), held if ok else None


def replaced(held: HeldCertificate) -> dict[str, str]:
    """The facts that issuing the new permit reads back: the serial it supersedes, and the old expiry."""
    return {SUPERSEDES: held.serial, OLD_EXPIRES_ON: held.expires_on.isoformat()}
