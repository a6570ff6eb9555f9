"""Typed dependency aliases so routes read like sentences."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.api.context import RequestContext, current_context


def get_context() -> RequestContext:
    ctx = current_context()
    assert ctx is not None, "RequestMiddleware is not installed"
    return ctx


ContextDep = Annotated[RequestContext, Depends(get_context)]
