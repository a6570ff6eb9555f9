"""A stand-in for the police's population registry and criminal-records APIs (CONTRACT §9)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from fastapi import FastAPI, Response

from integrations.datasets import Dataset
from integrations.faults import Faults
from integrations.police.client import CRIMINAL_RECORDS, PERSON, RESIDENCE_REGISTRATIONS
from integrations.police.schemas import CriminalRecords, Person, ResidenceRegistrations
from integrations.simapp import add_list_lookup, encode, json_response, new_app, not_found_doc, problem_response


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


def create_app(dataset: Dataset, faults: Faults | None = None) -> FastAPI:
    index = PoliceIndex.build(dataset)
    app = new_app(
        title="Shanghai Public Security Bureau: population registry and criminal records",
        description="Read-only lookups by resident identity number. Served here by a simulator.",
        faults=faults,
    )

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

    add_list_lookup(
        app,
        RESIDENCE_REGISTRATIONS,
        answers=index.registrations,
        key="id_number",
        response_model=ResidenceRegistrations,
        operation_id="listResidenceRegistrations",
        summary="List Residence Registrations",
        tag="population",
        description="The person's residence registrations (居住登记); empty for none.",
    )
    add_list_lookup(
        app,
        CRIMINAL_RECORDS,
        answers=index.criminal_records,
        key="id_number",
        response_model=CriminalRecords,
        operation_id="listCriminalRecords",
        summary="List Criminal Records",
        tag="records",
        description="Criminal judgments against the person; empty for a clean record.",
    )

    return app
