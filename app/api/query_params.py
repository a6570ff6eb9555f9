"""List endpoints refuse query parameters they do not know (docs/api.md#lists-cursors-and-query-parameters): a
misspelt filter such as `?id_numbr=` would otherwise be ignored and answer with everyone's records."""

from __future__ import annotations

import re

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from app.errors import ValidationFailed
from app.i18n import Text

_KNOWN: dict[int, frozenset[str]] = {}
# A name is echoed back only when it looks like a parameter name: it could be anything, an id number too.
_ECHOABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,40}$")


class UnknownParameter(ValidationFailed):
    code = "UNKNOWN_PARAMETER"
    title = Text("不支持的查询参数", "Unknown query parameter")


def _known(route: APIRoute) -> frozenset[str]:
    known = _KNOWN.get(id(route))
    if known is None:
        known = frozenset(_query_names(route.dependant))
        _KNOWN[id(route)] = known
    return known


def _query_names(dependant: Dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


async def known_query_params_only(request: Request) -> None:
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    unknown = sorted({name if _ECHOABLE.match(name) else "?" for name in set(request.query_params) - _known(route)})
    if unknown:
        raise UnknownParameter(
            Text(f"不支持的查询参数：{', '.join(unknown)}", f"Unknown query parameters: {', '.join(unknown)}"),
            errors=[
                {"loc": ["query", name], "msg": "unknown query parameter", "type": "unknown_parameter"}
                for name in unknown
            ],
        )
