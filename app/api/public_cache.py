"""Public answers that any cache may keep (the stations' registry, the city's published figures):
`Cache-Control: public` and a strong `ETag` of the bytes sent; a request whose `If-None-Match` names that
tag is answered 304, with no body."""

from __future__ import annotations

import hashlib

from fastapi import Response

# The data behind these answers changes when the city publishes anew, not by the minute.
PUBLIC_MAX_AGE_S = 300


def public_headers(content: bytes) -> dict[str, str]:
    tag = '"' + hashlib.sha256(content).hexdigest()[:32] + '"'
    return {"Cache-Control": f"public, max-age={PUBLIC_MAX_AGE_S}", "ETag": tag}


def not_modified(if_none_match: str | None, headers: dict[str, str]) -> Response | None:
    """304 when the caller already holds this answer."""
    if if_none_match is not None and headers["ETag"] in if_none_match:
        return Response(status_code=304, headers=headers)
    return None
