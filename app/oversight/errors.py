from __future__ import annotations

from app.errors import TooManyRequests, ValidationFailed
from app.i18n import Text


class PurposeRequired(ValidationFailed):
    code = "PURPOSE_REQUIRED"
    title = Text(
        "按人员查询日志须说明查询目的（purpose，5至200个字符）",
        "Searching the log for a person needs a `purpose` (5 to 200 characters)",
    )


class PersonSearchesExhausted(TooManyRequests):
    code = "PERSON_SEARCH_LIMIT"
    title = Text("本小时按人员查询日志的次数已用完", "You have used this hour's searches of the log for a person")
