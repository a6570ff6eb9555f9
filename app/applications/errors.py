from __future__ import annotations

from app.errors import NotFound, ValidationFailed
from app.i18n import Text


class ApplicationNotFound(NotFound):
    code = "APPLICATION_NOT_FOUND"
    title = Text("未找到该申请", "No such application")


class UnknownService(ValidationFailed):
    code = "UNKNOWN_SERVICE"
    title = Text("没有这项服务", "No such service")


class InvalidDetails(ValidationFailed):
    code = "INVALID_DETAILS"
    title = Text("申请事项内容不符合要求", "The service details are not valid")


class ApplicantRequired(ValidationFailed):
    code = "APPLICANT_REQUIRED"
    title = Text("窗口代办须填写申请人", "A clerk filing at the window must name the applicant")


class ApplicantNotAllowed(ValidationFailed):
    code = "APPLICANT_NOT_ALLOWED"
    title = Text("市民本人申请不能指定他人为申请人", "Citizens file for themselves; `applicant` is for clerks")


class MaterialNotFound(ValidationFailed):
    code = "MATERIAL_NOT_FOUND"
    title = Text("材料不存在或不属于您", "A material does not exist or is not yours")


class IdempotencyKeyReused(ValidationFailed):
    code = "IDEMPOTENCY_KEY_REUSED"
    title = Text("同一幂等键已用于不同的请求", "This Idempotency-Key was used with a different request")
