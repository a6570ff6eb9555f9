"""Typed dependency aliases so routes read like sentences."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.api.context import RequestContext, current_context


async def get_context(request: Request) -> RequestContext:
    ctx = current_context()
    assert ctx is not None, "RequestMiddleware is not installed"
    # Known once routed; handlers that record their own event inside their transaction need it now.
    ctx.route = getattr(request.scope.get("route"), "path", None)
    return ctx


ContextDep = Annotated[RequestContext, Depends(get_context)]
