"""The collaborators the lifespan builds, and the typed dependency aliases routes declare.

This is the only module that turns them into FastAPI dependencies: routes read like sentences
(`principal: Filer, work: UnitOfWorkDep`, `dependencies=[audit_action("application.file")]`) and hand what the domain
needs to it as keyword arguments. The collaborators reach a request one way only: `collaborators_of`,
reading the one attribute the lifespan sets on the application.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.api.collaborators import Collaborators, collaborators_of
from app.api.query_params import known_query_params_only as _known_query_params_only
from app.api.security import authorize, bearer_scheme, require_roles
from app.audit.context import RequestContext, current_context
from app.auth.principal import Principal, Role
from app.db.uow import UnitOfWork

__all__ = ["Collaborators", "collaborators_of"]


# Dependencies are `async def` even when they never await: FastAPI runs plain `def` ones in a thread pool.
# Each takes only the request, not another dependency: FastAPI solves a sub-dependency's tree at every use
# before it consults its cache, and the context reached a route three ways (~0.16 M instructions per
# request; bench/floor.py, rungs service-shaped and service-flat).
async def get_collaborators(request: Request) -> Collaborators:
    collaborators = collaborators_of(request.app)
    assert collaborators is not None, "the lifespan has not run"
    return collaborators


CollaboratorsDep = Annotated[Collaborators, Depends(get_collaborators)]


async def _context(request: Request) -> RequestContext:
    ctx = current_context()
    assert ctx is not None, "RequestMiddleware is not installed"
    # Known once routed; a change records its event inside its own transaction, before the middleware.
    route = request.scope.get("route")
    ctx.route = getattr(route, "path", None)
    ctx.status = getattr(route, "status_code", None) or 200
    return ctx


ContextDep = Annotated[RequestContext, Depends(_context)]


def audit_action(action: str) -> Any:
    """The route's audit action, declared once in its decorator (`dependencies=[audit_action(...)]`), the
    same way for reads and writes."""

    async def declare(request: Request) -> None:
        (await _context(request)).declare(action)

    return Depends(declare)


@asynccontextmanager
async def _recorded_unit_of_work(collaborators: Collaborators, ctx: RequestContext) -> AsyncIterator[UnitOfWork]:
    async with collaborators.uow() as work:
        # A change made by this request commits with this request's own event, in one transaction.
        collaborators.audit.record_request(work, ctx)
        yield work


async def _unit_of_work(request: Request) -> AsyncIterator[UnitOfWork]:
    async with _recorded_unit_of_work(await get_collaborators(request), await _context(request)) as work:
        yield work


# scope="function": the session closes when the handler returns, before the response is sent, so
# the middleware's request-log write never waits on a connection this request still holds.
UnitOfWorkDep = Annotated[UnitOfWork, Depends(_unit_of_work, scope="function")]

# Routes take the request's one unit of work, the same way for reads and writes: a read uses
# `work.session` and never commits; a change commits once, with the request's own event. The hot reads
# below take one dependency instead (docs/architecture.md, "The hot reads").

READERS = (Role.clerk, Role.auditor, Role.citizen)  # the roles of `Reader`, in its order
Citizen = Annotated[Principal, Depends(require_roles(Role.citizen))]
Clerk = Annotated[Principal, Depends(require_roles(Role.clerk))]
Auditor = Annotated[Principal, Depends(require_roles(Role.auditor))]
Filer = Annotated[Principal, Depends(require_roles(Role.clerk, Role.citizen))]
Reader = Annotated[Principal, Depends(require_roles(*READERS))]
Staff = Annotated[Principal, Depends(require_roles(Role.clerk, Role.auditor))]
Downloader = Annotated[Principal, Depends(require_roles(Role.clerk, Role.citizen))]


# -- the hot reads: one dependency each -------------------------------------------------------------
# A read that changes nothing takes everything from one dependency instead of four (role, collaborators,
# context, unit of work): FastAPI's solving costs per dependency, not per line of work (issue 29, with
# the AUTOCOMMIT read engine, the read's own connection). The route opens the connection (`connect()`)
# around its one statement, so it is back in the pool before the middleware writes the request's event.


@dataclass(frozen=True, slots=True)
class PublicReading:
    """A public read: the request context with its action declared, and what the read needs."""

    ctx: RequestContext
    collaborators: Collaborators

    def connect(self) -> AsyncConnection:
        """`async with read.connect() as connection:` an AUTOCOMMIT connection (app.db.session)."""
        return self.collaborators.read_engine.connect()

    def session(self) -> AsyncSession:
        """`async with read.session() as session:` for a read of mapped objects, on the same engine."""
        return self.collaborators.read_sessions()


@dataclass(frozen=True, slots=True)
class Reading(PublicReading):
    """A read by an authenticated caller acting in one of the route's roles."""

    principal: Principal


async def public_read_as(request: Request, action: str) -> PublicReading:
    """What `public_reading` gives, for a route that takes the request instead (below)."""
    ctx = await _context(request)
    ctx.declare(action)
    return PublicReading(ctx, await get_collaborators(request))


def public_reading(action: str) -> Any:
    """`Annotated[PublicReading, public_reading("certificate.verify")]`: the route's audit action and its
    read's collaborators, in one dependency (no token)."""

    async def dependency(request: Request) -> PublicReading:
        return await public_read_as(request, action)

    return Depends(dependency)


async def _read_as(
    request: Request, credentials: HTTPAuthorizationCredentials | None, action: str, allowed: tuple[Role, ...]
) -> Reading:
    ctx = await _context(request)
    ctx.declare(action)  # first, as `audit_action` in a decorator: a refused caller's event names it
    principal = await authorize(request, credentials, allowed)
    return Reading(ctx, await get_collaborators(request), principal)


async def read_as(request: Request, action: str, *allowed: Role) -> Reading:
    """What `reading` gives, for a route that takes the request instead (below)."""
    return await _read_as(request, await bearer_scheme(request), action, allowed)


def reading(action: str, *allowed: Role) -> Any:
    """`Annotated[Reading, reading("application.read", *READERS)]`: the audit action declared, the caller
    authenticated and authorised (as `require_roles`), in one dependency."""

    async def dependency(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)]
    ) -> Reading:
        return await _read_as(request, credentials, action, allowed)

    return Depends(dependency)


# The hottest routes (an application and a certificate read, a certificate by its code, a citizen's upload)
# go one step further: no dependency, and no parameter solving either (app.api.direct.DirectRoute). The
# route takes the request beside its path parameters and calls `read_as` / `public_read_as` / `act_as`
# first thing, so FastAPI solves no dependant at all instead of three (the route's, `reading`'s, the bearer
# scheme's), each of which reads the query, headers and cookies and builds a Response (issue 29). With no
# `Security` dependency to say so, such a route declares its bearer requirement itself:
# `openapi_extra=BEARER_REQUIRED`.
BEARER_REQUIRED: dict[str, Any] = {"security": [{bearer_scheme.scheme_name: []}]}


@dataclass(frozen=True, slots=True)
class Acting:
    """A change by an authenticated caller acting in one of the route's roles: as `Reading`, but its work
    goes through a unit of work that commits with the request's own event."""

    ctx: RequestContext
    collaborators: Collaborators
    principal: Principal

    def unit_of_work(self) -> AbstractAsyncContextManager[UnitOfWork]:
        """`async with acting.unit_of_work() as work:`, closed before the answer is sent (as `UnitOfWorkDep`)."""
        return _recorded_unit_of_work(self.collaborators, self.ctx)


async def act_as(request: Request, action: str, *allowed: Role) -> Acting:
    """`read_as`, for a route that changes something."""
    read = await read_as(request, action, *allowed)
    return Acting(read.ctx, read.collaborators, read.principal)


def acting(action: str, *allowed: Role) -> Any:
    """`Annotated[Acting, acting("application.file", Role.clerk, Role.citizen)]`: `reading`, for a route that
    changes something and takes a body (FastAPI validates the body after this, so a refused caller is told
    so before anything about what they sent)."""

    async def dependency(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)]
    ) -> Acting:
        read = await _read_as(request, credentials, action, allowed)
        return Acting(read.ctx, read.collaborators, read.principal)

    return Depends(dependency)


# Refuses a query parameter the route does not declare (422 UNKNOWN_PARAMETER).
known_query_params_only = Depends(_known_query_params_only)
