"""An auditor's search of the request log for a person (docs/api.md#the-log-beyond-reach): by whose data it was
(`subject_id_number`) or by whose account acted (`actor`).

Each one says why (`purpose`, kept in the request's event), counts against the auditor's hourly
allowance (AUDIT_PERSON_SEARCHES_PER_HOUR, per person, shared by every process through the database),
and is a consultation of the person searched for, which they see in their data access: for `actor`,
the person or persons the log recorded behind that account. Without the allowance, `subject_id_number`
answers yes or no about any guessed id number: a full number is recovered from its masked form in a
few thousand guesses.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.audit import repository as audit_repository
from app.audit.consultations import note_consultation
from app.audit.context import RequestContext
from app.auth.principal import Principal
from app.db.uow import UnitOfWorkFactory
from app.i18n import Text
from app.identity.id_number import mask
from app.identity.subjects import SubjectHasher
from app.oversight import repository
from app.oversight.errors import PersonSearchesExhausted, PurposeRequired


@dataclass(frozen=True, slots=True)
class PersonSearch:
    """Who a filter searches for, and why: `actor` (whose account acted) or `subject_id_number` (whose data)."""

    actor: str | None
    subject_id_number: str | None
    purpose: str | None

    @property
    def names_a_person(self) -> bool:
        return self.actor is not None or self.subject_id_number is not None


WINDOW = timedelta(hours=1)
# A purpose is free text an auditor types; an id number typed into it is kept masked, like every other.
_ID_NUMBER = re.compile(r"(?<![0-9])[1-9][0-9]{16}[0-9Xx](?![0-9A-Za-z])")


def _masked(purpose: str) -> str:
    return _ID_NUMBER.sub(lambda match: mask(match.group(0).upper()), purpose.strip())


def _auditor(principal: Principal, hasher: SubjectHasher) -> str:
    """Counted per person: a second account of the same auditor shares the allowance."""
    return f"id:{hasher.hash(principal.id_number)}" if principal.id_number else f"sub:{principal.sub}"


async def admit(
    *,
    uow: UnitOfWorkFactory,
    hasher: SubjectHasher,
    ctx: RequestContext,
    principal: Principal,
    per_hour: int,
    now: datetime,
    search: PersonSearch,
) -> None:
    """Refuse a search for a person without a purpose (422) or beyond the allowance (429); otherwise count
    it and note it as a consultation of that person."""
    actor, subject_id_number = search.actor, search.subject_id_number
    if search.purpose is None:
        raise PurposeRequired()
    ctx.details["purpose"] = _masked(search.purpose)
    async with uow() as work:
        persons = await audit_repository.persons_behind(work.session, actor) if actor is not None else []
        free_at = await repository.take_person_search(
            work.session, auditor=_auditor(principal, hasher), now=now, window=WINDOW, limit=per_hour
        )
        if free_at is not None:
            retry_after = max(1, math.ceil((free_at - now).total_seconds()))
            raise PersonSearchesExhausted(
                Text(
                    f"每小时 {per_hour} 次；{retry_after} 秒后可再查询",
                    f"{per_hour} an hour; the next in {retry_after} s",
                ),
                headers={"Retry-After": str(retry_after)},
            )
        await work.commit()
    if subject_id_number is not None:
        note_consultation(
            ctx, subject_hash=hasher.hash(subject_id_number), subject_masked=hasher.mask(subject_id_number)
        )
    for person in persons:
        note_consultation(ctx, subject_hash=person)
