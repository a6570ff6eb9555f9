"""What both simulators share: the app shell, pre-encoded JSON answers, problem documents."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel

from integrations.faults import Faults, install_faults


class Problem(BaseModel):
    """RFC 9457 problem document, as the agencies answer errors."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None


def encode(body: Any) -> bytes:
    """Bodies are encoded once, when the index is built: a request then costs a dict lookup."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def json_response(body: bytes) -> Response:
    return Response(content=body, media_type="application/json")


def problem_response(status: int, title: str, detail: str) -> Response:
    body = Problem(title=title, status=status, detail=detail).model_dump_json().encode()
    return Response(content=body, status_code=status, media_type="application/problem+json")


def not_found_doc(what: str) -> dict[int | str, dict[str, Any]]:
    return {
        404: {
            "description": f"No such {what}",
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
    }


EMPTY_LIST = encode({"items": []})


@dataclass(frozen=True)
class ListLookup:
    """A GET listing the records an agency holds about one person, found by their id number, `key`: in the
    path where `path` names it, else a query parameter."""

    path: str
    key: str
    response_model: type[BaseModel]
    operation_id: str  # camelCase; its words make the summary ("listLeases": "List Leases")
    tag: str
    description: str


def add_list_lookups(app: FastAPI, lookups: Iterable[tuple[ListLookup, Mapping[str, bytes]]]) -> None:
    """Each lookup answers the pre-encoded `{"items": [...]}` of its index, or an empty list for someone
    with none: every list of both agencies is this one handler over its own index."""
    for lookup, answers in lookups:
        _add_list_lookup(app, lookup, answers)


def _add_list_lookup(app: FastAPI, lookup: ListLookup, answers: Mapping[str, bytes]) -> None:
    source = Path if "{" + lookup.key + "}" in lookup.path else Query

    async def handler(id_number: str = source(alias=lookup.key)) -> Response:
        return json_response(answers.get(id_number, EMPTY_LIST))

    app.get(
        lookup.path,
        response_model=lookup.response_model,
        operation_id=lookup.operation_id,
        summary=re.sub(r"(?<!^)(?=[A-Z])", " ", lookup.operation_id).title(),
        tags=[lookup.tag],
        description=lookup.description,
    )(handler)


# What both agencies' documents say of themselves.
READ_ONLY_LOOKUPS = "Read-only lookups by resident identity number. Served here by a simulator."


def new_app(*, title: str, faults: Faults | None, description: str = READ_ONLY_LOOKUPS) -> FastAPI:
    app = FastAPI(title=title, description=description, version="1.0", docs_url="/_sim/docs", redoc_url=None)
    install_faults(app, faults or Faults())
    return app


def agency_openapi(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document as committed in `openapi/`: FastAPI's request-validation 422s
    are a simulator artefact, not part of the agency's contract, so they are left out."""
    doc = app.openapi()
    doc = json.loads(json.dumps(doc))  # a deep copy: FastAPI caches the original
    for path_item in doc["paths"].values():
        for operation in path_item.values():
            operation.get("responses", {}).pop("422", None)
    schemas = doc.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    # Problem is referenced by hand in `responses=`, so FastAPI does not collect it.
    schemas["Problem"] = Problem.model_json_schema()
    doc["components"]["schemas"] = dict(sorted(schemas.items()))
    # How callers prove who they are: a client certificate (mutual TLS) or a bearer token, either one.
    doc["components"]["securitySchemes"] = SECURITY_SCHEMES
    doc["security"] = [{"mutualTLS": []}, {"bearerToken": []}]
    return dict(doc)


SECURITY_SCHEMES: dict[str, Any] = {
    "mutualTLS": {
        "type": "mutualTLS",
        "description": "A client certificate issued to the city-services platform by the agency's CA "
        "(cityservices: AGENCY_CLIENT_CERT_FILE, AGENCY_CLIENT_KEY_FILE, AGENCY_CA_FILE).",
    },
    "bearerToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "A token the agency issued to the platform (cityservices: POLICE_API_TOKEN, "
        "HOUSING_API_TOKEN). The simulators demand it only when started with --require-token.",
    },
}
