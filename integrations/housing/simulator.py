"""A stand-in for the housing bureau's property and lease registers (CONTRACT §9)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI

from integrations.datasets import Dataset
from integrations.faults import Faults
from integrations.housing.client import LEASES, PROPERTIES
from integrations.housing.schemas import Leases, Properties
from integrations.simapp import add_list_lookup, encode, new_app


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


def create_app(dataset: Dataset, faults: Faults | None = None) -> FastAPI:
    index = HousingIndex.build(dataset)
    app = new_app(
        title="Shanghai Housing Administration Bureau: properties and registered leases",
        description="Read-only lookups by resident identity number. Served here by a simulator.",
        faults=faults,
    )

    add_list_lookup(
        app,
        PROPERTIES,
        answers=index.properties_by_owner,
        key="owner_id_number",
        response_model=Properties,
        operation_id="listProperties",
        summary="List Properties",
        tag="housing",
        description="Properties whose ownership certificate names the person; empty for none.",
    )
    add_list_lookup(
        app,
        LEASES,
        answers=index.leases_by_tenant,
        key="tenant_id_number",
        response_model=Leases,
        operation_id="listLeases",
        summary="List Leases",
        tag="housing",
        description="Registered leases naming the person as a tenant, current or not; empty for none.",
    )
    return app
