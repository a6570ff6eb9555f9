"""Typed client for the housing bureau (docs/api.md#the-agencies). Every call goes through `AgencyHttp`."""

from __future__ import annotations

from integrations.housing.schemas import Leases, Properties
from integrations.http import AgencyHttp, AgencyResponse

PROPERTIES = "/housing/v1/properties"
LEASES = "/housing/v1/leases"


class HousingClient:
    def __init__(self, http: AgencyHttp) -> None:
        self.http = http

    async def get_properties(self, owner_id_number: str) -> AgencyResponse[Properties]:
        """Properties whose ownership certificate names this person (empty `items` if none)."""
        return await self.http.get(
            PROPERTIES,
            model=Properties,
            dataset="housing.properties",
            query={"owner_id_number": owner_id_number},
        )

    async def get_leases(self, tenant_id_number: str) -> AgencyResponse[Leases]:
        """Registered leases naming this person as a tenant, current or not (empty `items` if none)."""
        return await self.http.get(
            LEASES, model=Leases, dataset="housing.leases", query={"tenant_id_number": tenant_id_number}
        )

    async def aclose(self) -> None:
        await self.http.aclose()
