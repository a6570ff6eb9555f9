"""Who may see what, written once: citizens reach only what is theirs; staff reach everything.

A citizen asking for someone else's resource gets the same 404 as for a resource that does not exist,
so the API never reveals that another person's application or certificate exists. Records carry the
keyed hash of their subject's id number, so ownership is compared hash to hash.
"""

from __future__ import annotations

from app.auth.principal import Principal, Role
from app.identity.subjects import SubjectHasher


def may_see_subject(principal: Principal, subject_hash: str, hasher: SubjectHasher) -> bool:
    if principal.role is Role.citizen:
        return principal.id_number is not None and hasher.hash(principal.id_number) == subject_hash
    return principal.role in (Role.clerk, Role.auditor)
