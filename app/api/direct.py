"""A route that calls its endpoint directly, for the hottest routes (an application's read, verify by code, a
certificate's PDF, an upload).

FastAPI solves an endpoint's parameters through its general machinery (an exit stack, a cache, pydantic
validation of each parameter, lists of errors): 24 µs a request for an application's id, the request and an
optional header, against 7 µs for the request alone, of a read's ~0.7 ms of CPU (issue 29). A
`DirectRoute` takes only what needs no validation: the request, path parameters and optional headers that
are plain strings. It checks that once, when the route is built, and then hands them over as they came;
the endpoint does the caller's part itself (`read_as`, `act_as` in app.api.deps). The route is otherwise
FastAPI's: its OpenAPI document, its exception handling, its middleware."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.params import Header
from fastapi.routing import APIRoute


class NotDirect(TypeError):
    """The endpoint takes something that needs FastAPI's own handling (a dependency, a body, a query
    parameter, a constraint, a type other than str)."""


def _plain_str(field: Any, *, optional: bool) -> bool:
    allowed = (str, str | None) if optional else (str,)
    return field.field_info.annotation in allowed and not field.field_info.metadata


class DirectRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        dependant = self.dependant
        if (
            dependant.dependencies
            or dependant.query_params
            or dependant.cookie_params
            or dependant.body_params
            or dependant.request_param_name is None
            or not all(_plain_str(p, optional=False) for p in dependant.path_params)
            or not all(_plain_str(p, optional=True) and p.field_info.default is None for p in dependant.header_params)
        ):
            raise NotDirect(f"{self.path}: {self.endpoint.__name__} needs FastAPI's parameter handling")
        endpoint, request_name = self.endpoint, dependant.request_param_name
        path_names = [p.name for p in dependant.path_params]
        headers = [(p.name, _header_name(p)) for p in dependant.header_params]

        async def handler(request: Request) -> Response:
            arguments: dict[str, Any] = {name: request.path_params[name] for name in path_names}
            for name, header in headers:
                arguments[name] = request.headers.get(header)
            arguments[request_name] = request
            response: Response = await endpoint(**arguments)
            return response

        return handler


def _header_name(field: Any) -> str:
    info = field.field_info
    converts = info.convert_underscores if isinstance(info, Header) else True
    return str(field.alias).replace("_", "-") if converts else str(field.alias)
