"""Why a certificate was revoked, as the public may see it (docs/api.md#duplicates-renewal-and-re-issue).

The clerk's free-text reason can hold anything (an id number, a neighbour's complaint): it stays in
the staff-only record. The verification answer and page show only one of these codes, and its label.
"""

from __future__ import annotations

from enum import StrEnum

from app.i18n import Text


class ReasonCode(StrEnum):
    LOST = "LOST"
    DATA_CORRECTED = "DATA_CORRECTED"
    ISSUED_IN_ERROR = "ISSUED_IN_ERROR"
    FRAUD_SUSPECTED = "FRAUD_SUSPECTED"
    OTHER = "OTHER"


REASON_LABELS: dict[ReasonCode, Text] = {
    ReasonCode.LOST: Text("证明遗失", "The certificate was lost"),
    ReasonCode.DATA_CORRECTED: Text("证明信息已更正", "The certificate's details were corrected"),
    ReasonCode.ISSUED_IN_ERROR: Text("证明系错误签发", "The certificate was issued in error"),
    ReasonCode.FRAUD_SUSPECTED: Text("涉嫌以不正当手段取得", "Obtained by suspected fraud"),
    ReasonCode.OTHER: Text("其他原因", "Another reason"),
}


def reason_label(code: str | None, language: str) -> str | None:
    if code is None:
        return None
    try:
        label = REASON_LABELS[ReasonCode(code)]
    except ValueError:
        label = REASON_LABELS[ReasonCode.OTHER]
    return label.en if language == "en" else label.zh
