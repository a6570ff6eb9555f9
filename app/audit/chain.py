"""The hash chain: each event's hash covers its content and the previous event's hash."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

GENESIS_HASH = "0" * 64

# The columns a hash covers, in a fixed order; adding one is a chain format change.
CHAINED_FIELDS = (
    "seq",
    "occurred_at",
    "kind",
    "action",
    "outcome",
    "request_id",
    "actor_sub",
    "actor_role",
    "actor_station",
    "channel",
    "method",
    "route",
    "status_code",
    "latency_ms",
    "client_addr",
    "resource_type",
    "resource_id",
    "application_id",
    "subject_hash",
    "subject_masked",
    "agency",
    "dataset",
    "on_behalf_of",
    "details",
)


def _plain(value: Any) -> Any:
    """What JSON cannot write itself: a time, as ISO 8601 with microseconds (the encoder asks only then)."""
    if isinstance(value, datetime):
        return value.isoformat(timespec="microseconds")
    raise TypeError(f"{type(value).__name__} has no place in an event")


# One encoder for every event: json.dumps would build one per call, and the walk of the chain hashes
# events by the ten thousand (issue 29). The same bytes as before: sorted keys, compact, UTF-8 as is.
_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_plain)


def canonical_content(fields: dict[str, Any]) -> bytes:
    return _ENCODER.encode({name: fields.get(name) for name in CHAINED_FIELDS}).encode()


def event_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical_content(fields)).hexdigest()
