"""Who may see what, written once: citizens reach only what is theirs; staff reach everything.

A citizen asking for someone else's resource gets the same 404 as for a resource that does not exist,
so the API never reveals that another person's application or certificate exists.
"""

from __future__ import annotations

from app.auth.principal import Principal, Role


def may_see_person(principal: Principal, id_number: str) -> bool:
    if principal.role is Role.citizen:
        return principal.id_number == id_number
    return principal.role in (Role.clerk, Role.auditor)


def may_use_material(principal: Principal, owner_sub: str) -> bool:
    return principal.sub == owner_sub
