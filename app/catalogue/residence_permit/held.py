"""The residence permit someone already holds, from our own records: whether it may be renewed or
moved, whether a new one would duplicate it, and what replacing it carries over."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from app.catalogue.decisions import Check, Effect, Outcome, ReasonCode
from app.catalogue.records import CertificateFamily, HeldCertificate, OwnRecords
from app.errors import Conflict
from app.i18n import Text

# Every service whose certificate is a residence permit: a renewed or moved permit is one too.
PERMIT_SERVICES = frozenset({"residence-permit", "residence-permit-renewal", "residence-permit-address-change"})
ADDRESS = "居住地址"  # the fact label every permit states its address under
RENEWAL_GRACE_DAYS = 30

# Keys in Findings.document_facts, read back when the certificate is issued (possibly after review).
SUPERSEDES = "supersedes"
OLD_EXPIRES_ON = "old_expires_on"

NO_VALID_PERMIT = ReasonCode(
    "NO_VALID_PERMIT",
    Effect.reject,
    Text("申请人名下没有该编号的有效居住证", "The applicant holds no valid residence permit with this serial"),
)


class CertificateStillValid(Conflict):
    code = "CERTIFICATE_STILL_VALID"
    title = Text(
        "您持有的居住证仍在有效期内：延期请申请居住证签注，搬家请申请居住证变更",
        "You hold a valid residence permit: to extend it, residence-permit-renewal; to move, "
        "residence-permit-address-change",
    )

    def __init__(self, serial: str) -> None:
        super().__init__(Text(f"有效居住证：{serial}", f"The valid permit is {serial}"), extensions={"serial": serial})


def is_permit(held: HeldCertificate) -> bool:
    return held.service in PERMIT_SERVICES


def renewable(held: HeldCertificate | None, today: date) -> bool:
    """A permit of theirs, not revoked or replaced, valid now or expired at most 30 days ago."""
    return (
        held is not None
        and is_permit(held)
        and held.status == "issued"
        and today <= held.expires_on + timedelta(days=RENEWAL_GRACE_DAYS)
    )


# A person holds one valid residence permit at a time (docs/api.md#one-valid-residence-permit): issuing one, new,
# renewed or moved, supersedes every other they hold that is valid or still renewable.
PERMITS = CertificateFamily("residence-permit", PERMIT_SERVICES, renewable)


def movable(held: HeldCertificate | None, today: date) -> bool:
    """A permit of theirs that is valid today."""
    return held is not None and is_permit(held) and held.current_on(today)


def still_valid_permit(held: list[HeldCertificate], today: date) -> HeldCertificate | None:
    """The permit that makes a new application pointless, if they hold one."""
    return next((h for h in held if is_permit(h) and h.current_on(today)), None)


async def refuse_if_replaced(records: OwnRecords, serial: str, today: date) -> None:
    """A renewal or move of a permit of theirs while they hold another valid one: with one valid permit
    per person, that one is newer and is the one to renew or move (409 CERTIFICATE_STILL_VALID)."""
    named = await records.certificate(serial)
    if named is None or not is_permit(named):
        return  # not a permit of theirs: the rules say NO_VALID_PERMIT
    held = await records.certificates(PERMIT_SERVICES)
    newer = next((h for h in held if h.serial != named.serial and is_permit(h) and h.current_on(today)), None)
    if newer is not None:
        raise CertificateStillValid(newer.serial)


def permit_check(held: HeldCertificate | None, serial: str, *, acceptable: bool) -> Check:
    """PERMIT: the outcome of `renewable`/`movable`, as a check whose evidence is the permit's PDF."""
    if not acceptable or held is None:
        return Check(
            "PERMIT",
            "cityservices",
            Outcome.failed,
            Text(f"申请人名下没有可用的居住证 {serial}", f"No usable residence permit {serial} of the applicant's"),
            held.pdf_sha256 if held else None,
            NO_VALID_PERMIT,
        )
    return Check(
        "PERMIT",
        "cityservices",
        Outcome.passed,
        Text(
            f"居住证 {held.serial} 属申请人，有效期至 {held.expires_on}",
            f"Residence permit {held.serial} is the applicant's, valid through {held.expires_on}",
        ),
        held.pdf_sha256,
    )


def _serial(value: str) -> str:
    return value.strip().upper()


CertificateSerial = Annotated[
    str,
    AfterValidator(_serial),
    StringConstraints(pattern=r"^\s*[A-Za-z]{2,5}-\d{4}-\d{8}\s*$"),
    Field(description="The serial of the residence permit held", examples=["JZZ-2026-00012345"]),
]
