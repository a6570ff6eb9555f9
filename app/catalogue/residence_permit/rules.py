"""The residence-permit rules, shared by the whole permit family (new, renewal, change of address)."""

from __future__ import annotations

from datetime import date

from app.catalogue.base import Consultation, combined_evidence, unavailable_check
from app.catalogue.calendar import add_months
from app.catalogue.decisions import (
    LOCAL_HUKOU,
    NO_HOUSING_RECORD,
    NO_RESIDENCE_REGISTRATION,
    RESIDENCE_UNDER_6_MONTHS,
    Check,
    Outcome,
)
from app.i18n import Text
from app.identity.address import same_address

SHANGHAI = "31"


def hukou_not_local(person: Consultation) -> Check:
    province = person.data.hukou.province_code
    if province == SHANGHAI:
        return Check(
            "HUKOU_NOT_LOCAL",
            "police",
            Outcome.failed,
            Text("户籍地在上海", "The hukou is in Shanghai"),
            person.evidence,
            LOCAL_HUKOU,
        )
    return Check(
        "HUKOU_NOT_LOCAL",
        "police",
        Outcome.passed,
        Text(f"户籍地省级代码 {province}，非上海", f"Hukou province code {province}, not Shanghai"),
        person.evidence,
    )


def residence_registration(
    registrations: Consultation, address: str, today: date, *, minimum_months: int | None = 6
) -> Check:
    """Registered with the police at this address; for a new permit, at least `minimum_months` ago
    (None: any registration counts, as for a change of address)."""
    if not registrations.answered:
        return unavailable_check("RESIDENCE_REGISTRATION", registrations)
    items = registrations.data.items if registrations.data is not None else []
    here = sorted(r.registered_on for r in items if same_address(r.address, address))
    if not here:
        return Check(
            "RESIDENCE_REGISTRATION",
            "police",
            Outcome.failed,
            Text("该地址无居住登记", "No residence registration at this address"),
            registrations.evidence,
            NO_RESIDENCE_REGISTRATION,
        )
    since = here[0]
    if minimum_months is None:
        return Check(
            "RESIDENCE_REGISTRATION",
            "police",
            Outcome.passed,
            Text(f"自 {since} 起在该地址登记居住", f"Registered at this address since {since}"),
            registrations.evidence,
        )
    if since > add_months(today, -minimum_months):
        return Check(
            "RESIDENCE_REGISTRATION",
            "police",
            Outcome.failed,
            Text(
                f"自 {since} 起在该地址登记居住，未满6个月",
                f"Registered at this address since {since}, under 6 calendar months",
            ),
            registrations.evidence,
            RESIDENCE_UNDER_6_MONTHS,
        )
    return Check(
        "RESIDENCE_REGISTRATION",
        "police",
        Outcome.passed,
        Text(
            f"自 {since} 起在该地址登记居住，已满6个月",
            f"Registered at this address since {since}, 6 calendar months or more",
        ),
        registrations.evidence,
    )


def housing_record(properties: Consultation, leases: Consultation, id_number: str, address: str, today: date) -> Check:
    owned = (
        properties.answered
        and properties.data is not None
        and any(id_number in p.owner_id_numbers and same_address(p.address, address) for p in properties.data.items)
    )
    leased = (
        leases.answered
        and leases.data is not None
        and any(
            id_number in lease.tenant_id_numbers and lease.valid_on(today) and same_address(lease.address, address)
            for lease in leases.data.items
        )
    )
    evidence = combined_evidence(properties, leases)
    if owned:
        return Check(
            "HOUSING_RECORD",
            "housing",
            Outcome.passed,
            Text("申请人在该地址有登记产权", "The applicant owns a registered property at this address"),
            properties.evidence,
        )
    if leased:
        return Check(
            "HOUSING_RECORD",
            "housing",
            Outcome.passed,
            Text(
                "申请人在该地址有今日有效的租赁登记",
                "A lease registered at this address, valid today, names the applicant",
            ),
            leases.evidence,
        )
    if not (properties.answered and leases.answered):
        return unavailable_check("HOUSING_RECORD", properties if not properties.answered else leases)
    return Check(
        "HOUSING_RECORD",
        "housing",
        Outcome.failed,
        Text(
            "该地址无申请人的产权或有效租赁登记",
            "No property owned by, nor valid lease naming, the applicant at this address",
        ),
        evidence,
        NO_HOUSING_RECORD,
    )
