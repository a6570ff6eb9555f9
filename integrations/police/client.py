"""Typed client for the police (docs/api.md#the-agencies). Every call goes through `AgencyHttp`."""

from __future__ import annotations

from integrations.http import AgencyHttp, AgencyResponse
from integrations.police.schemas import CriminalRecords, Person, ResidenceRegistrations

PERSON = "/population/v1/persons/{id_number}"
RESIDENCE_REGISTRATIONS = "/population/v1/persons/{id_number}/residence-registrations"
CRIMINAL_RECORDS = "/records/v1/persons/{id_number}/criminal-records"


class PoliceClient:
    def __init__(self, http: AgencyHttp) -> None:
        self.http = http

    async def get_person(self, id_number: str) -> AgencyResponse[Person]:
        """Raises AgencyNotFound when the population registry has no such id number."""
        return await self.http.get(PERSON, model=Person, dataset="population.person", path={"id_number": id_number})

    async def get_residence_registrations(self, id_number: str) -> AgencyResponse[ResidenceRegistrations]:
        """Empty `items` when there are none (also for an unknown id number)."""
        return await self.http.get(
            RESIDENCE_REGISTRATIONS,
            model=ResidenceRegistrations,
            dataset="population.residence-registrations",
            path={"id_number": id_number},
        )

    async def get_criminal_records(self, id_number: str) -> AgencyResponse[CriminalRecords]:
        """Empty `items` for a clean record (also for an unknown id number)."""
        return await self.http.get(
            CRIMINAL_RECORDS,
            model=CriminalRecords,
            dataset="records.criminal-records",
            path={"id_number": id_number},
        )

    async def aclose(self) -> None:
        await self.http.aclose()
