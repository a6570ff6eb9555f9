"""The committed OpenAPI documents are the agencies' contract: the simulators must serve exactly
those shapes, and the clients must parse them."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator

from integrations.contracts import OPENAPI_DIR, agency_documents, render
from integrations.datasets import Dataset
from integrations.datasets.demo import NOT_IN_DATASET


def _committed(agency: str) -> dict[str, Any]:
    return json.loads((OPENAPI_DIR / f"{agency}.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("agency", ["police", "housing"])
def test_committed_openapi_matches_the_simulator(agency: str) -> None:
    generated = agency_documents()[agency]
    assert render(generated) == render(_committed(agency)), (
        f"openapi/{agency}.json and the {agency} simulator disagree; if the change is deliberate, "
        "run `python -m integrations.contracts` and review the diff"
    )


def _strict(node: Any) -> Any:
    """No undocumented fields: every object schema closed."""
    if isinstance(node, dict):
        node = {key: _strict(value) for key, value in node.items()}
        if node.get("type") == "object" and "properties" in node:
            node.setdefault("additionalProperties", False)
    elif isinstance(node, list):
        node = [_strict(item) for item in node]
    return node


def _validator(document: dict[str, Any], path: str, status: str) -> Draft202012Validator:
    content = document["paths"][path]["get"]["responses"][status]["content"]
    [body] = content.values()
    schema = {**body["schema"], "components": _strict(document["components"])}
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def _police_urls(demo: Dataset) -> list[tuple[str, str]]:
    urls = []
    for person in demo.persons:
        n = person["id_number"]
        urls += [
            ("/population/v1/persons/{id_number}", f"/population/v1/persons/{n}"),
            (
                "/population/v1/persons/{id_number}/residence-registrations",
                f"/population/v1/persons/{n}/residence-registrations",
            ),
            ("/records/v1/persons/{id_number}/criminal-records", f"/records/v1/persons/{n}/criminal-records"),
        ]
    return urls


async def test_police_simulator_serves_the_documented_shapes(police_server, demo: Dataset, http) -> None:
    document = _committed("police")
    for template, url in _police_urls(demo):
        response = await http.get(police_server.url + url)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        _validator(document, template, "200").validate(response.json())
    missing = await http.get(f"{police_server.url}/population/v1/persons/{NOT_IN_DATASET}")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    _validator(document, "/population/v1/persons/{id_number}", "404").validate(missing.json())


async def test_housing_simulator_serves_the_documented_shapes(housing_server, demo: Dataset, http) -> None:
    document = _committed("housing")
    served = 0
    for person in demo.persons:
        for path, param in (
            ("/housing/v1/properties", "owner_id_number"),
            ("/housing/v1/leases", "tenant_id_number"),
        ):
            response = await http.get(housing_server.url + path, params={param: person["id_number"]})
            assert response.status_code == 200
            body = response.json()
            _validator(document, path, "200").validate(body)
            served += len(body["items"])
    assert served > 10  # the demo's properties and leases were actually exercised


def test_documents_describe_every_route_of_section_9() -> None:
    assert set(_committed("police")["paths"]) == {
        "/population/v1/persons/{id_number}",
        "/population/v1/persons/{id_number}/residence-registrations",
        "/records/v1/persons/{id_number}/criminal-records",
    }
    assert set(_committed("housing")["paths"]) == {"/housing/v1/properties", "/housing/v1/leases"}


async def test_clients_parse_everything_the_simulators_serve(police_server, housing_server, demo: Dataset) -> None:
    from integrations.agencies import build_agencies

    agencies = build_agencies(police_url=police_server.url, housing_url=housing_server.url, dataset_path=None)
    try:
        for person in demo.persons:
            n = person["id_number"]
            assert (await agencies.police.get_person(n)).data.id_number == n
            await agencies.police.get_residence_registrations(n)
            await agencies.police.get_criminal_records(n)
            await agencies.housing.get_properties(n)
            await agencies.housing.get_leases(n)
    finally:
        await agencies.aclose()
