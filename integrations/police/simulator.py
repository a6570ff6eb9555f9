"""A stand-in for the police's population registry and criminal-records APIs (docs/api.md#the-agencies)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from fastapi import FastAPI, Response

from integrations.datasets import Dataset
from integrations.faults import Faults
from integrations.police.client import CRIMINAL_RECORDS, PERSON, RESIDENCE_REGISTRATIONS
from integrations.police.schemas import CriminalRecords, Person, ResidenceRegistrations
from integrations.simapp import (
    ListLookup,
    add_list_lookups,
    encode,
    json_response,
    new_app,
    not_found_doc,
    problem_response,
)


@dataclass(frozen=True)
class PoliceIndex:
    """Answers keyed by id number, encoded once; dropping the dataset afterwards frees its dicts."""

    persons: dict[str, bytes]
    registrations: dict[str, bytes]
    criminal_records: dict[str, bytes]

    @classmethod
    def build(cls, dataset: Dataset) -> PoliceIndex:
        registrations: defaultdict[str, list[dict[str, str]]] = defaultdict(list)
        for reg in dataset.residence_registrations:
            registrations[reg["id_number"]].append({"address": reg["address"], "registered_on": reg["registered_on"]})
        records: defaultdict[str, list[dict[str, str]]] = defaultdict(list)
        for rec in dataset.criminal_records:
            records[rec["id_number"]].append(
                {
                    "case_number": rec["case_number"],
                    "offence": rec["offence"],
                    "judgment_date": rec["judgment_date"],
                }
            )
        return cls(
            persons={p["id_number"]: encode(p) for p in dataset.persons},
            registrations={k: encode({"items": v}) for k, v in registrations.items()},
            criminal_records={k: encode({"items": v}) for k, v in records.items()},
        )


TITLE = "Shanghai Public Security Bureau: population registry and criminal records"
# The lists the police keep about a person (a person record, which answers 404 for nobody, has its own route).
LOOKUPS = (
    ListLookup(RESIDENCE_REGISTRATIONS, "id_number", ResidenceRegistrations, "listResidenceRegistrations", "population", "The person's residence registrations (居住登记); empty for none."),
    ListLookup(CRIMINAL_RECORDS, "id_number", CriminalRecords, "listCriminalRecords", "records", "Criminal judgments against the person; empty for a clean record."),
)  # fmt: skip


def create_app(dataset: Dataset, faults: Faults | None = None) -> FastAPI:
    index = PoliceIndex.build(dataset)
    app = new_app(title=TITLE, faults=faults)

    @app.get(
        PERSON,
        response_model=Person,
        responses=not_found_doc("person"),
        operation_id="getPerson",
        tags=["population"],
    )
    async def get_person(id_number: str) -> Response:
        body = index.persons.get(id_number)
        if body is None:
            return problem_response(404, "Not Found", "no person with this id number")
        return json_response(body)

    add_list_lookups(app, zip(LOOKUPS, (index.registrations, index.criminal_records), strict=True))

    return app
