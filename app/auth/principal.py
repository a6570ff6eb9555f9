"""Who is calling: the verified claims turned into a Principal, validated per role."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from app.identity.id_number import InvalidIdNumber, validate
from app.identity.names import clean_name


class Role(StrEnum):
    citizen = "citizen"
    clerk = "clerk"
    auditor = "auditor"


_STATION = re.compile(r"^\d{6}-[A-Z0-9]{2,12}$")


class ClaimsProblem(ValueError):
    pass


class NoAcceptedRole(ClaimsProblem):
    """The token is genuine but grants no role here."""


@dataclass(frozen=True)
class Principal:
    sub: str
    roles: frozenset[Role]
    name: str | None
    id_number: str | None
    station_id: str | None
    role: Role  # the role this request acts in (the one the route allowed)

    @property
    def channel(self) -> str | None:
        return {Role.citizen: "online", Role.clerk: "window"}.get(self.role)

    def acting_as(self, role: Role) -> Principal:
        return Principal(self.sub, self.roles, self.name, self.id_number, self.station_id, role)


def _valid_or_none(id_number: Any) -> str | None:
    if not isinstance(id_number, str):
        return None
    try:
        return validate(id_number)
    except InvalidIdNumber:
        return None


@dataclass(frozen=True)
class ClaimNames:
    """Which claim carries what (AUTH_CLAIM_*): identity providers name them differently. A dotted name
    reaches into nested objects, e.g. `realm_access.roles` (Keycloak).

    `role_map` (AUTH_ROLE_MAP) names the provider's role values for ours, e.g. `cityservices-clerk` ->
    `clerk`. Empty, the values are ours as they are; set, only the values it names grant a role: a
    provider's realm roles serve many applications, and one of theirs that happens to be spelt `auditor`
    must not make its holder our auditor."""

    roles: str = "roles"
    id_number: str = "id_number"
    name: str = "name"
    station: str = "station_id"
    role_map: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Any) -> ClaimNames:
        return cls(
            roles=settings.auth_claim_roles,
            id_number=settings.auth_claim_id_number,
            name=settings.auth_claim_name,
            station=settings.auth_claim_station,
            role_map=dict(settings.auth_role_map),
        )

    def our_roles(self, values: list[Any]) -> frozenset[Role]:
        """The roles of ours that the provider's role values grant; values we do not know grant nothing."""
        named = (self.role_map.get(v, "") if self.role_map else v for v in values if isinstance(v, str))
        return frozenset(Role(r) for r in named if r in Role.__members__)

    def read(self, claims: dict[str, Any], which: str) -> Any:
        value: Any = claims
        path = getattr(self, which)
        if path in claims:  # a flat claim whose name holds a dot (e.g. a URL-style name) wins
            return claims[path]
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return value


def principal_from_claims(claims: dict[str, Any], names: ClaimNames = ClaimNames()) -> Principal:
    raw_roles = names.read(claims, "roles")
    if raw_roles is not None and not isinstance(raw_roles, list):
        raise ClaimsProblem("roles must be a list")
    # Roles this service does not know grant nothing; a validly signed token left with none is a
    # caller we know but may not serve: 403, not 401 (docs/security.md, "Tokens and roles").
    roles = names.our_roles(raw_roles or [])
    if not roles:
        raise NoAcceptedRole("the token carries no role this service accepts")
    id_number = names.read(claims, "id_number")
    name = names.read(claims, "name")
    station = names.read(claims, "station")
    if Role.citizen in roles:
        if not isinstance(id_number, str):
            raise ClaimsProblem("a citizen token must carry id_number")
        try:
            id_number = validate(id_number)
        except InvalidIdNumber as exc:
            raise ClaimsProblem("the token's id_number is not a valid resident identity number") from exc
        if not isinstance(name, str) or not name.strip():
            raise ClaimsProblem("a citizen token must carry the verified name")
        try:
            # The name is stored with each filing (64 characters): one we could not store is no name.
            name = clean_name(name)
        except ValueError as exc:
            raise ClaimsProblem(f"the token's name cannot be accepted: {exc}") from exc
    else:
        # A staff member is a person: their id number (when valid) is who they are, whatever the account.
        # Without it, staff may not act (app.api.security answers 403 STAFF_IDENTITY_REQUIRED).
        id_number = _valid_or_none(id_number)
    if Role.clerk in roles and not (isinstance(station, str) and _STATION.match(station)):
        raise ClaimsProblem("a clerk token must carry station_id like 310105-HQLB")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise ClaimsProblem("the token has no subject")
    primary = next(r for r in (Role.citizen, Role.clerk, Role.auditor) if r in roles)
    return Principal(
        sub=sub,
        roles=roles,
        name=name if isinstance(name, str) else None,
        id_number=id_number,
        station_id=station if Role.clerk in roles else None,
        role=primary,
    )


class Principals:
    """The principal each recently seen token's claims make, remembered by token (issue 29: validating the
    id number and the name again on every request of the same caller cost more than the token check,
    which the verifier already remembers). Served only for the very claims, read with the very claim
    names, it was made from, so a token whose claims the verifier answers differently is read afresh;
    refusals are never remembered."""

    def __init__(self, size: int = 10_000) -> None:
        self._size = size
        self._made: dict[str, tuple[dict[str, Any], ClaimNames, Principal]] = {}

    def of(self, token: str, claims: dict[str, Any], names: ClaimNames) -> Principal:
        made = self._made.get(token)
        if made is not None and made[1] is names and made[0] == claims:
            return made[2]
        principal = principal_from_claims(claims, names)
        if len(self._made) >= self._size:
            del self._made[next(iter(self._made))]  # the oldest first: insertion order
        self._made[token] = (claims, names, principal)
        return principal
