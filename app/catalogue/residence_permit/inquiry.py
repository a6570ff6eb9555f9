"""The agencies' answers every residence permit relies on, whatever the occasion: identity, hukou
outside Shanghai, a police residence registration and a housing record at the address."""

from __future__ import annotations

from datetime import date

from app.catalogue.base import Applicant, ConsultFn, ServiceDefinition, consult_all, identity_then
from app.catalogue.decisions import Check
from app.catalogue.residence_permit.rules import housing_record, hukou_not_local, residence_registration
from integrations.agencies import Agencies


async def permit_checks(
    *,
    applicant: Applicant,
    address: str,
    agencies: Agencies,
    consult: ConsultFn,
    today: date,
    minimum_months: int | None,
    hukou: bool = True,
) -> list[Check]:
    n = applicant.id_number
    found = await consult_all(
        consult,
        {
            "person": ("police", "population.person", agencies.police.get_person(n)),
            "registrations": (
                "police",
                "population.residence-registrations",
                agencies.police.get_residence_registrations(n),
            ),
            "properties": ("housing", "housing.properties", agencies.housing.get_properties(n)),
            "leases": ("housing", "housing.leases", agencies.housing.get_leases(n)),
        },
    )
    person = found["person"]
    if hukou:
        checks = identity_then(person, applicant, "HUKOU_NOT_LOCAL", hukou_not_local)
    else:
        checks = [ServiceDefinition.identity_check(person, applicant)]
    checks.append(residence_registration(found["registrations"], address, today, minimum_months=minimum_months))
    checks.append(housing_record(found["properties"], found["leases"], n, address, today))
    return checks
