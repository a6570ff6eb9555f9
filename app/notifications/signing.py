"""What a delivery carries and how it is signed (CONTRACT §10.4, docs/notifications.md).

The body is the contract's eight fields plus `sent_at`, the time of this delivery attempt, as compact
UTF-8 JSON. `X-Cityservices-Signature: sha256=<hex>` is HMAC-SHA256 over those raw body bytes with
NOTIFY_WEBHOOK_SECRET, exactly as the contract says; because `sent_at` is inside the body, the signature
covers the timestamp too, so a receiver that refuses an old `sent_at` cannot be fed a captured request
again later. Retries of one event carry the same `id` and a new `sent_at` (and so a new signature).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime

SIGNATURE_HEADER = "X-Cityservices-Signature"


def delivery_body(payload: dict[str, object], *, sent_at: datetime) -> bytes:
    return json.dumps({**payload, "sent_at": sent_at.isoformat()}, ensure_ascii=False, separators=(",", ":")).encode()


def signature(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_matches(body: bytes, header: str | None, secret: str) -> bool:
    return header is not None and hmac.compare_digest(header, signature(body, secret))
