"""Separation of duties (CONTRACT 10.1): no clerk decides, re-checks, requests materials on, or revokes
anything of a case that is their own.

A case is a clerk's own when they filed it at the window themselves, or when its applicant is the
clerk (the token carries the clerk's `id_number` and it is the applicant's). Another clerk must act.
Every route that takes such an action calls `ensure_not_own_case` once it has loaded the application.
"""

from __future__ import annotations

from typing import Protocol

from app.auth.principal import Principal, Role
from app.errors import Forbidden
from app.i18n import Text
from app.identity.subjects import SubjectHasher


class SeparationOfDuties(Forbidden):
    code = "SEPARATION_OF_DUTIES"
    title = Text(
        "不得处理本人受理或本人为申请人的事项，请由其他民警办理",
        "You may not act on a case you filed at the window or in which you are the applicant; another clerk must do it",
    )


class Case(Protocol):
    """What the guard needs of an application (app.applications.models.Application has it)."""

    @property
    def filed_by_sub(self) -> str: ...
    @property
    def filed_by_role(self) -> str: ...
    @property
    def applicant_id_hash(self) -> str: ...


def is_own_case(principal: Principal, case: Case, *, hasher: SubjectHasher) -> bool:
    filed_it = case.filed_by_role == Role.clerk.value and case.filed_by_sub == principal.sub
    is_applicant = principal.id_number is not None and hasher.hash(principal.id_number) == case.applicant_id_hash
    return filed_it or is_applicant


def ensure_not_own_case(principal: Principal, case: Case, *, hasher: SubjectHasher) -> None:
    """Raise SeparationOfDuties (403) when a clerk would act on their own case."""
    if principal.role is Role.clerk and is_own_case(principal, case, hasher=hasher):
        raise SeparationOfDuties()
