"""One error shape for the whole API: RFC 9457 problem documents with a stable `code`."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.i18n import Text, localize

logger = logging.getLogger("cityservices.errors")

PROBLEM_MEDIA_TYPE = "application/problem+json"


class AppError(Exception):
    """Base of every error the domain raises; subclasses live next to their domain."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "BAD_REQUEST"
    title: ClassVar[Text] = Text("请求无效", "Bad request")

    def __init__(
        self,
        detail: Text | str | None = None,
        *,
        errors: Sequence[Mapping[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        extensions: Mapping[str, Any] | None = None,
    ) -> None:
        self.detail = detail
        self.errors = list(errors) if errors else None
        self.headers = dict(headers or {})
        # RFC 9457 extension members, e.g. the open application a duplicate filing collides with.
        self.extensions = dict(extensions or {})
        super().__init__(localize(detail) if detail else self.code)


class NotFound(AppError):
    status = 404
    code = "NOT_FOUND"
    title = Text("未找到", "Not found")


class Conflict(AppError):
    status = 409
    code = "CONFLICT"
    title = Text("状态冲突", "Conflict")


class ConcurrentChange(Conflict):
    """The optimistic lock lost: a record (an application, a certificate) changed between our read and our
    commit. Shared by every domain, which passes it to `UnitOfWork.commit(stale=...)` (app.db.uow)."""

    code = "CONCURRENT_CHANGE"
    title = Text("该记录已被他人同时修改", "Someone else changed this record at the same time")


class ValidationFailed(AppError):
    status = 422
    code = "VALIDATION_FAILED"
    title = Text("请求内容校验未通过", "The request did not pass validation")


class Unauthenticated(AppError):
    status = 401
    code = "UNAUTHENTICATED"
    title = Text("需要有效的身份令牌", "A valid bearer token is required")

    def __init__(self, detail: Text | str | None = None) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


class Forbidden(AppError):
    status = 403
    code = "FORBIDDEN"
    title = Text("无权执行此操作", "You are not allowed to do this")


class PayloadTooLarge(AppError):
    status = 413
    code = "PAYLOAD_TOO_LARGE"
    title = Text("请求内容过大", "Payload too large")


class UnsupportedMediaType(AppError):
    status = 415
    code = "UNSUPPORTED_MEDIA_TYPE"
    title = Text("不支持的内容类型", "Unsupported media type")


class BodyTooDeeplyNested(AppError):
    status = 400
    code = "BODY_TOO_DEEPLY_NESTED"
    title = Text("请求体嵌套层级过深", "The request body is nested too deeply")


class TooManyRequests(AppError):
    status = 429
    code = "RATE_LIMITED"
    title = Text("请求过于频繁", "Too many requests")


class TooManyConcurrentUploads(TooManyRequests):
    """Answered by the middleware (app.api.slow_clients) before the upload route runs; listed on the
    upload routes so that the OpenAPI document names every 429 they can give."""

    code = "TOO_MANY_CONCURRENT_UPLOADS"
    title = Text(
        "同一地址同时进行的上传过多，请稍后重试", "Too many uploads in flight from this address; retry shortly"
    )


class RequestTimeout(AppError):
    """Answered by the middleware when a request body stalls (app.api.slow_clients)."""

    status = 408
    code = "REQUEST_TIMEOUT"
    title = Text("请求体未能按时送达", "The request body did not arrive in time")


# Framework-raised statuses mapped to their stable codes and bilingual titles.
_HTTP_CODES: dict[int, tuple[str, Text]] = {
    400: ("BAD_REQUEST", Text("请求无效", "Bad request")),
    401: ("UNAUTHENTICATED", Text("需要有效的身份令牌", "A valid bearer token is required")),
    403: ("FORBIDDEN", Text("无权执行此操作", "You are not allowed to do this")),
    404: ("NOT_FOUND", Text("未找到", "Not found")),
    405: ("METHOD_NOT_ALLOWED", Text("不支持该请求方法", "Method not allowed")),
    406: ("NOT_ACCEPTABLE", Text("无法提供所请求的格式", "Not acceptable")),
    408: ("REQUEST_TIMEOUT", Text("请求体未能按时送达", "The request body did not arrive in time")),
    409: ("CONFLICT", Text("状态冲突", "Conflict")),
    413: ("PAYLOAD_TOO_LARGE", Text("请求内容过大", "Payload too large")),
    415: ("UNSUPPORTED_MEDIA_TYPE", Text("不支持的内容类型", "Unsupported media type")),
    429: ("RATE_LIMITED", Text("请求过于频繁", "Too many requests")),
    500: ("INTERNAL_ERROR", Text("服务内部错误", "Internal server error")),
    503: ("SERVICE_UNAVAILABLE", Text("服务暂不可用", "Service unavailable")),
}


def problem_type(code: str) -> str:
    return f"urn:cityservices:problem:{code.lower().replace('_', '-')}"


def problem_response(
    *,
    status: int,
    code: str,
    title: Text | str,
    detail: Text | str | None = None,
    errors: Sequence[Mapping[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        **(extensions or {}),
        "type": problem_type(code),
        "title": localize(title),
        "status": status,
        "detail": localize(detail) if detail else localize(title),
        "code": code,
    }
    if errors:
        body["errors"] = list(errors)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=dict(headers or {}))


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    # The offending input is never echoed back: it may be an identity number.
    return [
        {"loc": [str(part) for part in err.get("loc", ())], "msg": err.get("msg", ""), "type": err.get("type", "")}
        for err in exc.errors()
    ]


async def _app_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return problem_response(
        status=exc.status,
        code=exc.code,
        title=exc.title,
        detail=exc.detail,
        errors=exc.errors,
        headers=exc.headers,
        extensions=exc.extensions,
    )


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = _field_errors(exc)
    if any(err["type"] == "json_invalid" for err in errors):
        return problem_response(
            status=422,
            code="MALFORMED_JSON",
            title=Text("请求体不是有效的 JSON", "The request body is not valid JSON"),
            errors=errors,
        )
    return problem_response(status=422, code=ValidationFailed.code, title=ValidationFailed.title, errors=errors)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    # FastAPI turns a body it cannot decode into a bare 400; say what was wrong with it, as documented.
    if exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError):
        return problem_response(
            status=422, code="MALFORMED_JSON", title=Text("请求体不是有效的 JSON", "The request body is not valid JSON")
        )
    if exc.status_code == 400 and isinstance(exc.__cause__, RecursionError):
        return problem_response(status=400, code=BodyTooDeeplyNested.code, title=BodyTooDeeplyNested.title)
    code, title = _HTTP_CODES.get(
        exc.status_code,
        (
            HTTPStatus(exc.status_code).name,
            Text(HTTPStatus(exc.status_code).phrase, HTTPStatus(exc.status_code).phrase),
        ),
    )
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != HTTPStatus(exc.status_code).phrase else None
    return problem_response(status=exc.status_code, code=code, title=title, detail=detail, headers=exc.headers)


async def _too_deep(_: Request, exc: Exception) -> JSONResponse:
    return problem_response(status=400, code=BodyTooDeeplyNested.code, title=BodyTooDeeplyNested.title)


async def _no_connection(_: Request, exc: Exception) -> JSONResponse:
    # The connection pool stayed empty for DATABASE_POOL_TIMEOUT_SECONDS: the service is saturated, not
    # broken; the client may try again shortly.
    logger.warning("no database connection free within the pool timeout: %s", exc)
    code, title = _HTTP_CODES[503]
    return problem_response(status=503, code=code, title=title, headers={"Retry-After": "1"})


async def _unhandled(_: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error", exc_info=exc)
    code, title = _HTTP_CODES[500]
    return problem_response(status=500, code=code, title=title)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RecursionError, _too_deep)
    app.add_exception_handler(PoolTimeout, _no_connection)
    app.add_exception_handler(Exception, _unhandled)


# Answered before a JSON body reaches its handler: too big, not JSON, too deep.
JSON_BODY_ERRORS: tuple[type[AppError], ...] = (
    PayloadTooLarge,
    UnsupportedMediaType,
    BodyTooDeeplyNested,
    RequestTimeout,
)
# Answered before an upload reaches its handler: too many in flight from the address, or stalled.
UPLOAD_ERRORS: tuple[type[AppError], ...] = (TooManyConcurrentUploads, RequestTimeout)


def problem_responses(*errors: type[AppError]) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: every error it can answer, so the OpenAPI document is true."""
    documented: dict[int | str, dict[str, Any]] = {}
    every: tuple[type[AppError], ...] = (*errors, ValidationFailed)
    for error in every:
        entry = documented.setdefault(
            error.status,
            {"description": "", "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}},
        )
        codes = [c for c in entry["description"].split(", ") if c]
        if error.code not in codes:
            codes.append(error.code)
        entry["description"] = ", ".join(codes)
    return documented
