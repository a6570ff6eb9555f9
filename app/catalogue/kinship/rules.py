"""亲属关系证明 rules: who the relative is to the applicant, as the household register records it."""

from __future__ import annotations

from app.catalogue.base import Consultation, unavailable_check
from app.catalogue.decisions import Check, Effect, Outcome, ReasonCode
from app.i18n import Text
from integrations.police.schemas import Person

HEAD = "本人"

NOT_SAME_HOUSEHOLD = ReasonCode(
    "NOT_SAME_HOUSEHOLD",
    Effect.review,
    Text(
        "申请人与亲属不在同一户，关系无法从户籍登记确认，转人工审核",
        "The applicant and the relative are not in the same household; the registry cannot confirm "
        "the relation; sent to a clerk",
    ),
)
RELATIVE_NOT_FOUND = ReasonCode(
    "RELATIVE_NOT_FOUND",
    Effect.reject,
    Text("公安人口信息库中没有该亲属的身份证号码", "The population registry has no such relative's id number"),
)

# What the head of the household is to a member, by the member's relation to the head and the head's
# gender: the registry records each member's relation to the head, never the converse.
_HEAD_TO_MEMBER = {
    "配偶": {"M": "配偶", "F": "配偶"},
    "子": {"M": "父亲", "F": "母亲"},
    "女": {"M": "父亲", "F": "母亲"},
    "父": {"M": "子", "F": "女"},
    "父亲": {"M": "子", "F": "女"},
    "母": {"M": "子", "F": "女"},
    "母亲": {"M": "子", "F": "女"},
}


def relation_to_applicant(applicant: Person, relative: Person) -> str | None:
    """The relative's relation to the applicant, when the register states it: one of them is the head
    of the household. Between two other members (two children of the head, say) the register states
    only how each relates to the head, and we infer nothing more."""
    if applicant.hukou.relation_to_head == HEAD:
        return relative.hukou.relation_to_head
    if relative.hukou.relation_to_head == HEAD:
        return _HEAD_TO_MEMBER.get(applicant.hukou.relation_to_head, {}).get(relative.gender)
    return None


def relative_check(relative: Consultation) -> Check:
    """RELATIVE: in the population registry (deceased or not: a kinship certificate is often needed
    precisely because a relative has died)."""
    if not relative.answered:
        return unavailable_check("RELATIVE", relative)
    if relative.outcome == "not_found":
        return Check(
            "RELATIVE",
            "police",
            Outcome.failed,
            Text("人口信息库中无此亲属", "No such relative in the population registry"),
            relative.evidence,
            RELATIVE_NOT_FOUND,
        )
    return Check(
        "RELATIVE",
        "police",
        Outcome.passed,
        Text("亲属在人口信息库中有登记", "The relative is in the population registry"),
        relative.evidence,
    )


def same_household_check(applicant: Person, relative: Person, evidence: str | None) -> Check:
    """SAME_HOUSEHOLD: both registered under one household head."""
    if applicant.hukou.household_head_id_number != relative.hukou.household_head_id_number:
        return Check(
            "SAME_HOUSEHOLD",
            "police",
            Outcome.failed,
            Text("申请人与亲属不在同一户", "The applicant and the relative are in different households"),
            evidence,
            NOT_SAME_HOUSEHOLD,
        )
    return Check(
        "SAME_HOUSEHOLD",
        "police",
        Outcome.passed,
        Text("申请人与亲属在同一户", "The applicant and the relative are in one household"),
        evidence,
    )
