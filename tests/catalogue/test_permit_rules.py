"""The residence-permit family's rules on our own records, one test per rule (app/catalogue/residence_permit/held.py,
the renewal and change-of-address packages)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from pydantic import TypeAdapter, ValidationError

from app.catalogue.decisions import Outcome
from app.catalogue.records import HeldCertificate
from app.catalogue.residence_permit.held import (
    ADDRESS,
    OLD_EXPIRES_ON,
    SUPERSEDES,
    CertificateSerial,
    movable,
    permit_check,
    renewable,
    still_valid_permit,
)
from app.catalogue.residence_permit_address_change import ResidencePermitAddressChange
from app.catalogue.residence_permit_renewal import ResidencePermitRenewal, renewed_expiry

TODAY = date(2026, 11, 30)


def permit(
    *, expires_on: date = TODAY + timedelta(days=100), status: str = "issued", service: str = "residence-permit"
) -> HeldCertificate:
    return HeldCertificate(
        serial="JZZ-2026-00000001",
        service=service,
        status=status,
        expires_on=expires_on,
        facts={ADDRESS: "上海市长宁区虹桥路1号5号楼301室"},
        pdf_sha256="a" * 64,
    )


@pytest.mark.parametrize(
    ("held", "expected"),
    [
        (permit(), True),
        (permit(expires_on=TODAY), True),
        (permit(expires_on=TODAY - timedelta(days=30)), True),
        (permit(expires_on=TODAY - timedelta(days=31)), False),
        (permit(status="revoked"), False),
        (permit(status="superseded"), False),
        (permit(service="residence-permit-renewal"), True),
        (permit(service="residence-permit-address-change"), True),
        (permit(service="no-criminal-record-certificate"), False),
        (None, False),
    ],
)
def test_renewable_within_30_days_of_expiry_only_a_current_permit(held, expected):
    assert renewable(held, TODAY) is expected


@pytest.mark.parametrize(
    ("held", "expected"),
    [
        (permit(), True),
        (permit(expires_on=TODAY), True),
        (permit(expires_on=TODAY - timedelta(days=1)), False),
        (permit(status="superseded"), False),
        (permit(service="kinship-certificate"), False),
        (None, False),
    ],
)
def test_movable_only_while_valid_today(held, expected):
    assert movable(held, TODAY) is expected


def test_still_valid_permit_ignores_expired_replaced_and_other_certificates():
    assert still_valid_permit([], TODAY) is None
    stale = [
        permit(expires_on=TODAY - timedelta(days=1)),
        permit(status="superseded"),
        permit(status="revoked"),
        permit(service="temporary-identity-certificate"),
    ]
    assert still_valid_permit(stale, TODAY) is None
    current = permit(service="residence-permit-renewal")
    assert still_valid_permit([*stale, current], TODAY) is current


def test_permit_check_rejects_with_no_valid_permit_and_cites_the_pdf_it_read():
    failed = permit_check(permit(status="revoked"), "JZZ-2026-00000001", acceptable=False)
    assert failed.outcome is Outcome.failed and failed.reason is not None
    assert failed.reason.code == "NO_VALID_PERMIT" and failed.reason.effect.value == "rejected"
    assert failed.reason.message.zh and failed.reason.message.en
    assert failed.evidence_sha256 == "a" * 64
    unknown = permit_check(None, "JZZ-2026-00000009", acceptable=False)
    assert unknown.outcome is Outcome.failed and unknown.evidence_sha256 is None
    passed = permit_check(permit(), "JZZ-2026-00000001", acceptable=True)
    assert passed.outcome is Outcome.passed and passed.agency == "cityservices"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (date(2026, 12, 31), date(2027, 12, 31)),
        (date(2028, 2, 29), date(2029, 2, 28)),  # a leap day clamps to the month's end
        (date(2026, 11, 1), date(2027, 11, 1)),
    ],
)
def test_renewal_runs_one_year_from_the_old_expiry(old, new):
    assert renewed_expiry(old) == new
    facts = {OLD_EXPIRES_ON: old.isoformat(), SUPERSEDES: "JZZ-2026-00000001"}
    assert ResidencePermitRenewal().expires_on(issued_on=TODAY, facts=facts) == new


def test_address_change_keeps_the_old_expiry_and_both_name_what_they_supersede():
    facts = {OLD_EXPIRES_ON: "2027-03-15", SUPERSEDES: "JZZ-2026-00000001"}
    assert ResidencePermitAddressChange().expires_on(issued_on=TODAY, facts=facts) == date(2027, 3, 15)
    assert ResidencePermitAddressChange().supersedes(facts=facts) == "JZZ-2026-00000001"
    assert ResidencePermitRenewal().supersedes(facts=facts) == "JZZ-2026-00000001"


def test_certificate_serial_is_normalised_as_typed_and_shape_checked():
    adapter = TypeAdapter(CertificateSerial)
    assert adapter.validate_python(" jzz-2026-00012345 ") == "JZZ-2026-00012345"
    for bad in ("JZZ-2026-123", "JZZ202600012345", "<script>", ""):
        with pytest.raises(ValidationError):
            adapter.validate_python(bad)
