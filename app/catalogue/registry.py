"""Every service the city offers here; adding one is a new package and a line below."""

from __future__ import annotations

from app.catalogue.base import ServiceDefinition
from app.catalogue.household_registration import HouseholdRegistration
from app.catalogue.no_criminal_record import NoCriminalRecord
from app.catalogue.residence_permit import ResidencePermit

SERVICES: dict[str, ServiceDefinition] = {
    s.code: s for s in (ResidencePermit(), NoCriminalRecord(), HouseholdRegistration())
}


def get_service(code: str) -> ServiceDefinition | None:
    return SERVICES.get(code)
