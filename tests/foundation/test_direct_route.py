"""app.api.direct: a route that hands its endpoint the request, path parameters and optional headers as they
came, and refuses to be built for anything FastAPI would have to validate."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Annotated

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request, Response

from app.api.direct import DirectRoute, NotDirect


async def _echo(item_id: str, request: Request, x_tag: Annotated[str | None, Header()] = None) -> Response:
    body = {"item_id": item_id, "x_tag": x_tag, "path": request.url.path}
    return Response(json.dumps(body), media_type="application/json")


def _app() -> FastAPI:
    router = APIRouter(route_class=DirectRoute)
    router.get("/items/{item_id}")(_echo)
    app = FastAPI()
    app.include_router(router)
    return app


async def _get(app: FastAPI, path: str, **headers: str) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        return await client.get(path, headers=headers)


async def test_the_endpoint_gets_its_path_parameter_and_header_as_sent() -> None:
    app = _app()
    answer = await _get(app, "/items/a%20b", **{"X-Tag": '"v1"'})
    assert answer.json() == {"item_id": "a b", "x_tag": '"v1"', "path": "/items/a b"}
    assert (await _get(app, "/items/7")).json()["x_tag"] is None


def test_the_openapi_document_still_lists_the_parameters() -> None:
    operation = _app().openapi()["paths"]["/items/{item_id}"]["get"]
    assert {(p["name"], p["in"]) for p in operation["parameters"]} == {("item_id", "path"), ("x-tag", "header")}


async def _with_query(request: Request, page: Annotated[int, Query()] = 1) -> Response:
    return Response()


async def _with_constrained_header(request: Request, x: Annotated[str | None, Header(max_length=3)] = None) -> Response:
    return Response()


async def _with_typed_path(item_id: int, request: Request) -> Response:
    return Response()


async def _with_dependency(request: Request, who: Annotated[str, Depends(lambda: "someone")]) -> Response:
    return Response()


async def _without_request(item_id: str) -> Response:
    return Response()


@pytest.mark.parametrize(
    "endpoint", [_with_query, _with_constrained_header, _with_typed_path, _with_dependency, _without_request]
)
def test_an_endpoint_that_needs_validation_is_refused_when_the_route_is_built(
    endpoint: Callable[..., Awaitable[Response]],
) -> None:
    router = APIRouter(route_class=DirectRoute)
    with pytest.raises(NotDirect):
        router.get("/items/{item_id}")(endpoint)
