"""Polite polling (docs/notifications.md): `ETag`/`If-None-Match` on an application, `Location` and `Retry-After`
on a 202, so the mobile app asks again when it is worth asking and downloads nothing that has not changed."""

from __future__ import annotations

import hashlib
import math
from datetime import UTC, datetime
from typing import Protocol

from app.applications.models import Application
from app.applications.repository import ApplicationView
from app.applications.states import Status

POLLING_HEADERS = {
    "Location": {"description": "The application's URL, to poll", "schema": {"type": "string"}},
    "Retry-After": {"description": "Seconds until the next attempt at the agency", "schema": {"type": "integer"}},
}


def etag(content: bytes) -> str:
    """A strong validator of the representation itself (the bytes sent): any change the client could see
    changes it."""
    return '"' + hashlib.sha256(content).hexdigest()[:32] + '"'


def not_modified(if_none_match: str | None, tag: str) -> bool:
    """RFC 9110 §13.1.2: weak comparison, a list of tags, or `*`."""
    if not if_none_match:
        return False
    candidates = [c.strip().removeprefix("W/") for c in if_none_match.split(",")]
    return "*" in candidates or tag in candidates


def retry_after_seconds(application: Application | ApplicationView, *, now: datetime | None = None) -> int:
    if application.next_attempt_at is None:
        return 1
    wait = (application.next_attempt_at - (now or datetime.now(UTC))).total_seconds()
    return max(1, math.ceil(wait))


class Headers(Protocol):
    """An answer's headers, as any web framework holds them."""

    def __setitem__(self, key: str, value: str) -> None: ...


def polite_polling(headers: Headers, application: Application) -> None:
    """A change's answer: where to poll, and while an agency is awaited, when (the route passes
    `response.headers`)."""
    headers["Location"] = f"/v1/applications/{application.id}"
    _ask_again(headers, application)


def read_headers(view: ApplicationView, tag: str) -> dict[str, str]:
    """A read's headers: its `ETag`, and while an agency is awaited, when to ask again."""
    headers = {"ETag": tag}
    _ask_again(headers, view)
    return headers


def _ask_again(headers: Headers, application: Application | ApplicationView) -> None:
    """While an agency is awaited: when to ask again."""
    if application.status == Status.pending_agency:
        headers["Retry-After"] = str(retry_after_seconds(application))
