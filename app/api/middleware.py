"""The one middleware every request passes: request id, language, security headers, metrics, JSON
access log, and the request-log event, written before the response leaves (fail closed: no event,
no answer)."""

from __future__ import annotations

import itertools
import logging
import os
import re
import time
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.collaborators import collaborators_of
from app.api.serving import HEADERS_TOO_LARGE_CODE, HEADERS_TOO_LARGE_TITLE, MAX_HEADER_BYTES
from app.api.slow_clients import BodyTimeout, UploadSlots, deadlined
from app.audit.context import RequestContext, request_context
from app.errors import RequestTimeout, TooManyConcurrentUploads, problem_response
from app.i18n import Text, choose_language, language_var
from app.observability import LATENCY_BY, REQUESTS_BY, log_fields, request_id_var

logger = logging.getLogger("cityservices.access")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_UNAUDITED_PREFIXES = ("/healthz", "/readyz", "/metrics", "/docs", "/redoc", "/openapi.json", "/favicon.ico")
_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"strict-transport-security", b"max-age=31536000; includeSubDomains"),
]
_NO_STORE = (b"cache-control", b"no-store")


# Request ids: a random per-process prefix and a counter, not uuid4() (an os.urandom call per request).
# 80 random bits + 48 counter bits, 32 hex digits like a uuid4's hex; a forked child draws its own prefix.
_ids = itertools.count()
_id_prefix = os.urandom(10).hex()


def _new_prefix() -> None:
    global _ids, _id_prefix
    _ids = itertools.count()
    _id_prefix = os.urandom(10).hex()


os.register_at_fork(after_in_child=_new_prefix)


def new_request_id() -> str:
    return f"{_id_prefix}{next(_ids) & 0xFFFFFFFFFFFF:012x}"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


MAX_JSON_BODY = 256 * 1024
_MULTIPART_ROUTES = {"/v1/materials", "/v1/verify"}


class BodyTooLarge(HTTPException):
    """An HTTPException so that FastAPI's body reader lets it through as a 413, not a generic 400."""

    def __init__(self) -> None:
        super().__init__(status_code=413, detail="The request body is larger than 256 KiB")


_BODY_TIMEOUT = (RequestTimeout.status, RequestTimeout.code, RequestTimeout.title)
_TOO_MANY_UPLOADS = (TooManyConcurrentUploads.status, TooManyConcurrentUploads.code, TooManyConcurrentUploads.title)
_TOO_LARGE = (413, "PAYLOAD_TOO_LARGE", Text("请求体超过 256 KiB", "The request body is larger than 256 KiB"))
_HEADERS_TOO_LARGE = (431, HEADERS_TOO_LARGE_CODE, HEADERS_TOO_LARGE_TITLE)


# The methods the request log records (the standard ones, RFC 9110 and RFC 5789). Any other (QUERY,
# UNSUBSCRIBE, a 40-letter token) matches no route, so routing refuses it (405 with `Allow`, or 404)
# and no handler runs; it is not logged, so a method can never make an event unstorable, and it is
# no metrics label either.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"})
_NUL_REFUSED = (
    422,
    "INVALID_CHARACTER",
    Text("请求地址或查询参数含有 NUL 字符", "The path or query string contains a NUL character"),
)


def _precheck(scope: Scope) -> tuple[int, str, Text] | None:
    """Refuse, before any handler runs, what we would never accept: a NUL byte in the path or query (no
    database stores one), bodies too big or not JSON where JSON is due."""
    if "\x00" in scope["path"] or b"%00" in scope.get("query_string", b"") or b"\x00" in scope.get("query_string", b""):
        return _NUL_REFUSED
    if scope["method"] not in ("POST", "PUT", "PATCH") or not scope["path"].startswith("/v1/"):
        return None
    length = _header(scope, b"content-length")
    if scope["path"] in _MULTIPART_ROUTES:
        return None
    if length is not None and length.isdigit() and int(length) > MAX_JSON_BODY:
        return _TOO_LARGE
    content_type = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
    has_body = (length is not None and length != "0") or _header(scope, b"transfer-encoding") is not None
    if has_body and content_type != "application/json":
        return 415, "UNSUPPORTED_MEDIA_TYPE", Text("请求体须为 application/json", "The body must be application/json")
    return None


def is_audited(path: str, method: str = "GET") -> bool:
    return method in KNOWN_METHODS and (path.startswith("/v1/") or path.startswith("/verify/"))


class RequestMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # One pass over the headers for what every request needs.
        sent_id = accept_language = None
        has_body = False
        header_bytes = len(scope.get("raw_path") or b"") + len(scope.get("query_string", b""))
        for key, value in scope.get("headers", ()):
            header_bytes += len(key) + len(value)
            if key == b"x-request-id":
                if sent_id is None:
                    sent_id = bytes(value).decode("latin-1")
            elif key == b"accept-language":
                if accept_language is None:
                    accept_language = bytes(value).decode("latin-1")
            elif key == b"transfer-encoding" or (key == b"content-length" and value != b"0"):
                has_body = True
        request_id = sent_id if sent_id and _REQUEST_ID.match(sent_id) else new_request_id()
        client = scope.get("client")
        ctx = RequestContext(
            request_id=request_id,
            method=scope["method"],
            path=scope["path"],
            client_addr=client[0] if client else None,
        )
        tokens = (
            request_context.set(ctx),
            language_var.set(choose_language(accept_language)),
            request_id_var.set(request_id),
        )
        started = time.perf_counter()
        collaborators = collaborators_of(scope["app"]) if "app" in scope else None
        audit = collaborators.audit if collaborators is not None else None
        state: dict[str, Any] = {"started": False, "replaced": False}

        async def send_wrapper(message: Message) -> None:
            if state["replaced"]:
                return
            if message["type"] == "http.response.start":
                state["started"] = True
                status = message["status"]
                route = scope.get("route")
                ctx.route = getattr(route, "path", None)
                latency_ms = (time.perf_counter() - started) * 1000
                if audit is not None and is_audited(scope["path"], scope["method"]) and not ctx.recorded:
                    try:
                        await audit.write_request(ctx, status=status, latency_ms=latency_ms)
                    except Exception:
                        logger.exception("request log unavailable; refusing to answer without it")
                        state["replaced"] = True
                        await _send_problem(send, ctx, status=503)
                        return
                message["headers"] = self._headers(message.get("headers", []), request_id, scope["path"])
                self._observe(ctx, status, latency_ms)
            await send(message)

        # The server refuses them first (app/api/serving.py); this is for any other server in front of the app.
        refusal = _HEADERS_TOO_LARGE if header_bytes > MAX_HEADER_BYTES else _precheck(scope)
        settings = collaborators.settings if collaborators is not None else None
        limited_receive = receive
        # A GET or HEAD without Content-Length or Transfer-Encoding has no body (RFC 9112 §6.3): nothing to
        # time or count, so no wrappers on the hot reads. Anything that may carry a body gets both.
        if has_body or scope["method"] not in ("GET", "HEAD"):
            if settings is not None:
                limited_receive = deadlined(
                    receive,
                    idle_s=settings.http_body_idle_timeout_seconds,
                    total_s=settings.http_body_timeout_seconds,
                )
            if scope["path"] not in _MULTIPART_ROUTES:
                limited_receive = _limited(limited_receive, MAX_JSON_BODY)
        is_upload = scope["path"] in _MULTIPART_ROUTES and scope["method"] == "POST"
        try:
            slots = collaborators.upload_slots if collaborators is not None and is_upload else None
            with self._upload_slot(slots, ctx.client_addr) as slot:
                if refusal is None and not slot:
                    refusal = _TOO_MANY_UPLOADS
                if refusal is not None:
                    status, code, title = refusal
                    # Refused before its body was read: close rather than wait for a body we will not use.
                    headers = {"Retry-After": "5", "Connection": "close"} if status == 429 else None
                    await problem_response(status=status, code=code, title=title, headers=headers)(
                        scope, receive, send_wrapper
                    )
                else:
                    await self.app(scope, limited_receive, send_wrapper)
        except (BodyTooLarge, BodyTimeout) as exc:
            if state["started"]:
                raise
            status, code, title = _TOO_LARGE if isinstance(exc, BodyTooLarge) else _BODY_TIMEOUT
            await problem_response(status=status, code=code, title=title, headers=exc.headers)(
                scope, receive, send_wrapper
            )
        except Exception:
            if not state["started"] and audit is not None and is_audited(scope["path"], scope["method"]):
                try:
                    await audit.write_request(ctx, status=500, latency_ms=(time.perf_counter() - started) * 1000)
                except Exception:
                    logger.exception("request log unavailable while recording a failure")
            raise
        finally:
            request_context.reset(tokens[0])
            language_var.reset(tokens[1])
            request_id_var.reset(tokens[2])

    @staticmethod
    def _upload_slot(slots: UploadSlots | None, address: str | None) -> AbstractContextManager[bool]:
        if address is None or slots is None:
            return nullcontext(True)
        return slots.hold(address)

    @staticmethod
    def _headers(headers: Any, request_id: str, path: str) -> list[tuple[bytes, bytes]]:
        out = [(k, v) for k, v in headers if k.lower() != b"server"]
        out.append((b"x-request-id", request_id.encode()))
        out.extend(_SECURITY_HEADERS)
        if path.startswith("/v1/") and not any(k.lower() == b"cache-control" for k, _ in out):
            out.append(_NO_STORE)
        return out

    @staticmethod
    def _observe(ctx: RequestContext, status: int, latency_ms: float) -> None:
        route = ctx.route or "unmatched"
        method = ctx.method if ctx.method in KNOWN_METHODS else "OTHER"  # a caller must not mint label values
        REQUESTS_BY(method, route, str(status)).inc()
        LATENCY_BY(method, route).observe(latency_ms / 1000)
        if logger.isEnabledFor(logging.INFO):
            # `logger.info` without its search of the stack for the caller's file and line, which the JSON
            # line never prints (issue 29: one line per request).
            fields = log_fields(
                method=method,
                route=route,
                status=status,
                latency_ms=round(latency_ms, 2),
                actor=ctx.actor_sub,
                role=ctx.actor_role,
            )
            logger.handle(logger.makeRecord(logger.name, logging.INFO, __file__, 0, "request", (), None, extra=fields))


def _limited(receive: Receive, limit: int) -> Receive:
    """Counts body bytes as they arrive, for bodies sent without a Content-Length."""
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge()
        return message

    return wrapped


async def _send_problem(send: Send, ctx: RequestContext, *, status: int) -> None:
    response = problem_response(
        status=status,
        code="AUDIT_UNAVAILABLE",
        title=Text("审计日志暂不可用，请稍后重试", "The request log is unavailable; try again later"),
    )
    response.headers["x-request-id"] = ctx.request_id
    await response({"type": "http"}, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}
