"""What a delivery carries and how it is signed (docs/notifications.md).

The body is the documented eight fields plus `sent_at`, the time of this delivery attempt, as compact
UTF-8 JSON. `X-Cityservices-Signature: sha256=<hex>` is HMAC-SHA256 over those raw body bytes with
NOTIFY_WEBHOOK_SECRET, exactly as docs/notifications.md says; because `sent_at` is inside the body, the signature
covers the timestamp too, so a receiver that refuses an old `sent_at` cannot be fed a captured request
again later. Retries of one event carry the same `id` and a new `sent_at` (and so a new signature).

Beside ours, the Standard Webhooks headers (standardwebhooks.com), for receivers that use one of its
libraries: `webhook-id` (the event's `id`, the same on every retry), `webhook-timestamp` (`sent_at` in
whole Unix seconds) and `webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, keyed
with the same secret's UTF-8 bytes; in the spec's own notation that secret is `whsec_` followed by
their base64.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
from datetime import datetime

SIGNATURE_HEADER = "X-Cityservices-Signature"


def delivery_body(payload: dict[str, object], *, sent_at: datetime) -> bytes:
    return json.dumps({**payload, "sent_at": sent_at.isoformat()}, ensure_ascii=False, separators=(",", ":")).encode()


def signature(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_matches(body: bytes, header: str | None, secret: str) -> bool:
    return header is not None and hmac.compare_digest(header, signature(body, secret))


def standard_webhook_headers(body: bytes, *, message_id: str, sent_at: datetime, secret: str) -> dict[str, str]:
    """The Standard Webhooks headers of one delivery, signed with the same secret as ours."""
    timestamp = str(math.floor(sent_at.timestamp()))
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).digest()
    return {
        "webhook-id": message_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": "v1," + base64.b64encode(digest).decode(),
    }
