"""Every service the city offers here; adding one is a new package and a line below."""

from __future__ import annotations

from app.catalogue.base import ServiceDefinition
from app.catalogue.household_registration import HouseholdRegistration
from app.catalogue.kinship import KinshipCertificate
from app.catalogue.no_criminal_record import NoCriminalRecord
from app.catalogue.residence_permit import ResidencePermit
from app.catalogue.residence_permit_address_change import ResidencePermitAddressChange
from app.catalogue.residence_permit_renewal import ResidencePermitRenewal
from app.catalogue.residence_registration import ResidenceRegistration
from app.catalogue.temporary_identity import TemporaryIdentityCertificate

SERVICES: dict[str, ServiceDefinition] = {
    s.code: s
    for s in (
        ResidencePermit(),
        NoCriminalRecord(),
        HouseholdRegistration(),
        ResidenceRegistration(),
        ResidencePermitRenewal(),
        ResidencePermitAddressChange(),
        KinshipCertificate(),
        TemporaryIdentityCertificate(),
    )
}


# What filing may be refused with, whichever the service (documented on the filing route).
FILING_REFUSALS = tuple(dict.fromkeys(e for s in SERVICES.values() for e in s.filing_refusals))


def get_service(code: str) -> ServiceDefinition | None:
    return SERVICES.get(code)
