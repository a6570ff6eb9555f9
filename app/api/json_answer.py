"""An answer serialised once, by pydantic, for a route that builds its own response model.

FastAPI, given a model to return, validates it again, turns it into Python objects and then into JSON; a hot
route or a large answer (a year's stats) returns this instead, and keeps `response_model` for the OpenAPI
document (issue 29)."""

from __future__ import annotations

from fastapi import Response
from pydantic import BaseModel


def json_answer(body: BaseModel, *, status_code: int = 200) -> Response:
    return Response(
        type(body).__pydantic_serializer__.to_json(body), status_code=status_code, media_type="application/json"
    )
