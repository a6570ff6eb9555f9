"""The OpenAPI document the mobile app generates its client from: one Problem schema for every error."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem document",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string", "examples": ["urn:cityservices:problem:application-not-found"]},
        "title": {"type": "string", "examples": ["未找到该申请"]},
        "status": {"type": "integer", "examples": [404]},
        "detail": {"type": "string"},
        "code": {
            "type": "string",
            "description": "Stable UPPER_SNAKE identifier",
            "examples": ["APPLICATION_NOT_FOUND"],
        },
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "loc": {"type": "array", "items": {"type": "string"}},
                    "msg": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
}


def customize_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes, tags=app.openapi_tags
        )
        components = schema.setdefault("components", {})
        schemas = components.setdefault("schemas", {})
        schemas["Problem"] = PROBLEM_SCHEMA
        # FastAPI documents its own 422 shape; ours is the problem document.
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                response = operation.get("responses", {}).get("422")
                if response is not None:
                    response["content"] = {
                        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                    }
                    response.setdefault("description", "VALIDATION_FAILED")
                    if response["description"] == "Validation Error":
                        response["description"] = "VALIDATION_FAILED"
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
