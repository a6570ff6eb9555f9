"""A stand-in for the housing bureau's property and lease registers (docs/api.md#the-agencies)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI

from integrations.datasets import Dataset
from integrations.faults import Faults
from integrations.housing.client import LEASES, PROPERTIES
from integrations.housing.schemas import Leases, Properties
from integrations.simapp import ListLookup, add_list_lookups, encode, new_app


def _by_person(records: list[Any], key: str) -> dict[str, bytes]:
    """One entry per person named in `key`: a co-owned flat answers for each of its owners."""
    grouped: defaultdict[str, list[Any]] = defaultdict(list)
    for record in records:
        for id_number in record[key]:
            grouped[id_number].append(record)
    return {id_number: encode({"items": items}) for id_number, items in grouped.items()}


@dataclass(frozen=True)
class HousingIndex:
    properties_by_owner: dict[str, bytes]
    leases_by_tenant: dict[str, bytes]

    @classmethod
    def build(cls, dataset: Dataset) -> HousingIndex:
        return cls(
            properties_by_owner=_by_person(dataset.properties, "owner_id_numbers"),
            leases_by_tenant=_by_person(dataset.leases, "tenant_id_numbers"),
        )


TITLE = "Shanghai Housing Administration Bureau: properties and registered leases"
# What the bureau lists about a person, in the order of HousingIndex's fields.
LOOKUPS = (
    ListLookup(PROPERTIES, "owner_id_number", Properties, "listProperties", "housing", "Properties whose ownership certificate names the person; empty for none."),
    ListLookup(LEASES, "tenant_id_number", Leases, "listLeases", "housing", "Registered leases naming the person as a tenant, current or not; empty for none."),
)  # fmt: skip


def create_app(dataset: Dataset, faults: Faults | None = None) -> FastAPI:
    index = HousingIndex.build(dataset)
    app = new_app(title=TITLE, faults=faults)
    add_list_lookups(app, zip(LOOKUPS, (index.properties_by_owner, index.leases_by_tenant), strict=True))
    return app
