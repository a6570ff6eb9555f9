from __future__ import annotations

from pydantic import ValidationError

from app.errors import Conflict, Forbidden, NotFound, ValidationFailed
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

    @classmethod
    def from_validation(cls, exc: ValidationError) -> InvalidDetails:
        """Each of pydantic's complaints about `details`, located in the request body."""
        return cls(
            errors=[
                {"loc": ["body", "details", *map(str, e["loc"])], "msg": e["msg"], "type": e["type"]}
                for e in exc.errors()
            ]
        )


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


class AttachedMaterialNotFound(NotFound):
    code = "ATTACHED_MATERIAL_NOT_FOUND"
    title = Text("该申请没有这份材料", "No such material attached to this application")


class DuplicateApplication(Conflict):
    code = "DUPLICATE_APPLICATION"
    title = Text("您已有一件同类申请正在办理", "An application for this service is already open for this person")

    def __init__(self, application_id: str) -> None:
        super().__init__(
            Text(f"正在办理的申请：{application_id}", f"The open application is {application_id}"),
            extensions={"application_id": application_id},
        )


class SearchNotAllowed(Forbidden):
    code = "SEARCH_NOT_ALLOWED"
    title = Text(
        "只有民警和审计人员可以按身份证号、证书编号或核验码查找",
        "Only staff may search by id number, serial or verification code",
    )


class WindowOnlyService(Conflict):
    """A matter done at a window, filed online: the answer names the nearest windows handling it
    (extension members `stations`, `line`, `located_by`) and how to book one (`book_with`)."""

    code = "WINDOW_ONLY_SERVICE"
    title = Text("该事项须到派出所综合窗口办理", "This matter is done at a police station's comprehensive window")
