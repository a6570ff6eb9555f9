"""The HTTP side of identity: the bearer token checked once, the role a route needs, the actor written
into the request context. The typed aliases routes declare are in app.api.deps."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.api.collaborators import collaborators_of
from app.audit.context import current_context
from app.auth.principal import ClaimsProblem, NoAcceptedRole, Principal, Role
from app.auth.separation import StaffIdentityRequired
from app.auth.tokens import ID_TOKEN, KEYS_UNAVAILABLE, InvalidToken, TokenVerifier
from app.errors import AppError, Forbidden, Unauthenticated
from app.i18n import Text
from app.stations.errors import StationNotRegistered

bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="A JWT from the city's identity provider (RS256/ES256). In development: `cityservices token`.",
)


class IdentityProviderUnavailable(AppError):
    status = 503
    code = "IDENTITY_PROVIDER_UNAVAILABLE"
    title = Text("暂时无法校验身份令牌", "Tokens cannot be checked right now")


class IdTokenNotAccepted(Unauthenticated):
    """An OpenID Connect ID token sent as the bearer token: genuine, but not an access token."""

    code = "ID_TOKEN_NOT_ACCEPTED"
    title = Text("ID 令牌不能用作访问令牌，请发送访问令牌", "An ID token is not accepted; send the access token")


async def authenticate(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Principal:
    if credentials is None:
        raise Unauthenticated(Text("缺少 Bearer 身份令牌", "No bearer token was sent"))
    collaborators = collaborators_of(request.app)
    assert collaborators is not None, "the lifespan has not run"
    verifier: TokenVerifier = collaborators.token_verifier
    try:
        claims = await verifier.verify(credentials.credentials)
    except InvalidToken as exc:
        if exc.reason == KEYS_UNAVAILABLE:
            raise IdentityProviderUnavailable() from None
        if exc.reason == ID_TOKEN:
            raise IdTokenNotAccepted() from None
        raise Unauthenticated(Text(f"身份令牌无效（{exc.reason}）", f"The token is not valid: {exc.detail}")) from None
    try:
        return collaborators.principals.of(credentials.credentials, claims, collaborators.claim_names)
    except NoAcceptedRole as exc:
        ctx = current_context()
        if ctx is not None and isinstance(claims.get("sub"), str):
            ctx.actor_sub = claims["sub"]
        raise Forbidden(Text("身份令牌不含本服务接受的角色", str(exc))) from None
    except ClaimsProblem as exc:
        raise Unauthenticated(Text("身份令牌缺少必要信息", str(exc))) from None


_READS = frozenset({"GET", "HEAD"})


def _ensure_staff_person(request: Request, acting: Principal) -> None:
    """Staff are persons (docs/security.md, "Staff are persons"): in production a clerk's or auditor's token must carry their id
    number. In development such a token may still read, but changes nothing: a filing, decision or
    revocation it made could not be held against a person, so separation of duties could not hold."""
    if acting.role is Role.citizen or acting.id_number is not None:
        return
    collaborators = collaborators_of(request.app)
    production = collaborators is not None and collaborators.settings.is_production
    if production or request.method not in _READS:
        raise StaffIdentityRequired()


def _station_registered(request: Request, principal: Principal) -> None:
    """In production a clerk's station must be one of the registry's (a token for a station that does not
    exist is a misissued or forged credential); development accepts any well-formed id."""
    collaborators = collaborators_of(request.app)
    assert collaborators is not None, "the lifespan has not run"
    if collaborators.settings.is_production and principal.station_id not in collaborators.stations:
        raise StationNotRegistered()


async def authorize(
    request: Request, credentials: HTTPAuthorizationCredentials | None, allowed: tuple[Role, ...]
) -> Principal:
    """The caller, acting in the first of `allowed` their token grants, written into the request context
    as the actor; 401 without a valid token, 403 without one of the roles. Shared by `require_roles` and
    the hot reads' one dependency (`app.api.deps.reading`)."""
    principal = await authenticate(request, credentials)
    role = next((r for r in allowed if r in principal.roles), None)
    ctx = current_context()
    if ctx is not None:
        ctx.actor_sub = principal.sub
        ctx.actor_station = principal.station_id
    if role is None:
        if ctx is not None:
            ctx.actor_role = principal.role.value
        raise Forbidden(
            Text(f"需要以下角色之一：{'、'.join(allowed)}", f"This needs one of the roles: {', '.join(allowed)}")
        )
    acting = principal.acting_as(role)
    if ctx is not None:
        ctx.actor_role = role.value
        ctx.channel = acting.channel
        ctx.actor_id_number = acting.id_number
    _ensure_staff_person(request, acting)
    if role is Role.clerk:
        _station_registered(request, principal)
    return acting


def require_roles(*allowed: Role) -> Callable[..., Awaitable[Principal]]:
    # One dependency, not a chain (role check -> authenticate -> bearer): FastAPI resolves every level
    # of a chain on every request. `Security(bearer_scheme)` stays here so that the OpenAPI document
    # declares the bearer scheme on each route that needs it.
    async def dependency(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)]
    ) -> Principal:
        return await authorize(request, credentials, allowed)

    dependency.__name__ = "require_" + "_or_".join(allowed)
    return dependency
