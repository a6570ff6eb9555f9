"""The vocabulary of a decision: checks, reasons, verdicts, bilingual throughout
(docs/api.md#lifecycle-and-decisions)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from app.i18n import Text


class Outcome(StrEnum):
    passed = "pass"
    failed = "fail"
    unavailable = "unavailable"


class Effect(StrEnum):
    """What a reason does to the application."""

    reject = "rejected"
    review = "needs_review"


@dataclass(frozen=True)
class ReasonCode:
    code: str
    effect: Effect
    message: Text


IDENTITY_NOT_FOUND = ReasonCode(
    "IDENTITY_NOT_FOUND",
    Effect.reject,
    Text("公安人口信息库中没有该身份证号码", "The police population registry has no such id number"),
)
IDENTITY_MISMATCH = ReasonCode(
    "IDENTITY_MISMATCH",
    Effect.reject,
    Text(
        "姓名与人口信息库不一致，或该人员状态不是正常",
        "The name differs from the registry's, or the person is not active",
    ),
)
LOCAL_HUKOU = ReasonCode(
    "LOCAL_HUKOU",
    Effect.reject,
    Text("户籍在上海，无需办理居住证", "The applicant's hukou is in Shanghai; a residence permit is not for them"),
)
NOT_LOCAL_HUKOU = ReasonCode(
    "NOT_LOCAL_HUKOU",
    Effect.reject,
    Text("户籍不在上海，无法出具上海户籍证明", "The applicant's hukou is not in Shanghai"),
)
NO_RESIDENCE_REGISTRATION = ReasonCode(
    "NO_RESIDENCE_REGISTRATION",
    Effect.review,
    Text("该地址没有公安居住登记，转人工审核", "No police residence registration at this address; sent to a clerk"),
)
RESIDENCE_UNDER_6_MONTHS = ReasonCode(
    "RESIDENCE_UNDER_6_MONTHS",
    Effect.reject,
    Text("在该地址居住登记未满6个月", "Registered at this address less than 6 calendar months ago"),
)
NO_HOUSING_RECORD = ReasonCode(
    "NO_HOUSING_RECORD",
    Effect.review,
    Text(
        "房屋管理部门没有申请人在该地址的产权或有效租赁登记，转人工审核",
        "The housing bureau has no property owned by, nor valid lease naming, the applicant at this address; "
        "sent to a clerk",
    ),
)
CRIMINAL_RECORD_FOUND = ReasonCode(
    "CRIMINAL_RECORD_FOUND",
    Effect.review,
    Text(
        "公安机关存有申请人的犯罪记录，转人工审核",
        "The police hold a criminal record for the applicant; sent to a clerk",
    ),
)
AGENCY_UNAVAILABLE = ReasonCode(
    "AGENCY_UNAVAILABLE",
    Effect.review,
    Text(
        "部门数据在等待期限内仍无法获取，转人工审核",
        "An agency did not answer within the waiting limit; sent to a clerk",
    ),
)
MATERIALS_REQUESTED = ReasonCode(
    "MATERIALS_REQUESTED",
    Effect.review,
    Text(
        "审核民警要求补正材料，请按说明上传", "A clerk asked for further materials; upload them as the clerk explains"
    ),
)
MATERIALS_NOT_SUPPLIED = ReasonCode(
    "MATERIALS_NOT_SUPPLIED",
    Effect.reject,
    Text("补正材料期限内未提交材料", "The materials a clerk asked for were not supplied in time"),
)
REASON_CODES = {
    r.code: r
    for r in (
        IDENTITY_NOT_FOUND,
        IDENTITY_MISMATCH,
        LOCAL_HUKOU,
        NOT_LOCAL_HUKOU,
        NO_RESIDENCE_REGISTRATION,
        RESIDENCE_UNDER_6_MONTHS,
        NO_HOUSING_RECORD,
        CRIMINAL_RECORD_FOUND,
        AGENCY_UNAVAILABLE,
        MATERIALS_REQUESTED,
        MATERIALS_NOT_SUPPLIED,
    )
}


@dataclass(frozen=True)
class Check:
    code: str
    agency: str
    outcome: Outcome
    detail: Text
    evidence_sha256: str | None = None
    reason: ReasonCode | None = None  # what a failure means for the application

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "agency": self.agency,
            "outcome": self.outcome.value,
            "detail": self.detail.as_dict(),
            "evidence_sha256": self.evidence_sha256,
        }


@dataclass
class Verdict:
    status: str  # issued | needs_review | rejected | pending_agency
    checks: list[Check] = field(default_factory=list)
    reasons: list[ReasonCode] = field(default_factory=list)


def reason_dict(reason: ReasonCode) -> dict[str, Any]:
    return {"code": reason.code, "message": reason.message.as_dict()}


def verdict_from_checks(checks: list[Check]) -> Verdict:
    """Any rejecting failure rejects now (it does not depend on what is missing); otherwise a missing
    answer waits for the agency; otherwise any other failure sends the case to a clerk."""
    failures = [c.reason for c in checks if c.outcome is Outcome.failed and c.reason is not None]
    rejections = [r for r in failures if r.effect is Effect.reject]
    if rejections:
        return Verdict("rejected", checks, _unique(rejections))
    if any(c.outcome is Outcome.unavailable for c in checks):
        return Verdict("pending_agency", checks, [])
    if failures:
        return Verdict("needs_review", checks, _unique(failures))
    return Verdict("issued", checks, [])


def _unique(reasons: list[ReasonCode]) -> list[ReasonCode]:
    seen: dict[str, ReasonCode] = {}
    for r in reasons:
        seen.setdefault(r.code, r)
    return list(seen.values())
