"""Separation of duties (docs/security.md, "Staff are persons"): no clerk decides, re-checks, requests materials on, or
revokes anything of a case that is their own, and staff are persons, not accounts.

A case is a clerk's own when its applicant is the clerk, or when the clerk filed it at the window, from
this account or any other of the same person. Persons are compared by the keyed hash of their id number
(the applicant's, the filing clerk's, and the one the clerk's token carries), so a second account of
the same person is refused like the first. A staff token without an id number names no person: it can
never be shown not to be the applicant, so it passes no such check. Every route that takes such an
action calls `ensure_not_own_case` once it has loaded the application.
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


class StaffIdentityRequired(Forbidden):
    code = "STAFF_IDENTITY_REQUIRED"
    title = Text(
        "工作人员身份令牌须载明本人公民身份号码",
        "A staff token must carry the person's resident identity number",
    )


class Case(Protocol):
    """What the guard needs of an application (app.applications.models.Application has it)."""

    @property
    def filed_by_sub(self) -> str: ...
    @property
    def filed_by_role(self) -> str: ...
    @property
    def filed_by_id_hash(self) -> str | None: ...
    @property
    def applicant_id_hash(self) -> str: ...


def is_own_case(principal: Principal, case: Case, *, hasher: SubjectHasher) -> bool:
    if principal.id_number is None:
        return True  # no person to compare: never shown not to be theirs
    person = hasher.hash(principal.id_number)
    # The account too: window filings made before filings named their clerk as a person have only it.
    filed_it = case.filed_by_role == Role.clerk.value and (
        case.filed_by_id_hash == person or case.filed_by_sub == principal.sub
    )
    return filed_it or case.applicant_id_hash == person


def ensure_not_own_case(principal: Principal, case: Case, *, hasher: SubjectHasher) -> None:
    """Raise SeparationOfDuties (403) when a clerk would act on their own case, StaffIdentityRequired
    (403) when the clerk's token does not say who they are."""
    if principal.role is not Role.clerk:
        return
    if principal.id_number is None:
        raise StaffIdentityRequired()
    if is_own_case(principal, case, hasher=hasher):
        raise SeparationOfDuties()
