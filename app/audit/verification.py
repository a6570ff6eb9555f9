"""Recomputing the chain: the first event whose position, link or content does not match is named."""

from __future__ import annotations

from collections.abc import AsyncIterable
from dataclasses import dataclass
from typing import Any

from app.audit.chain import CHAINED_FIELDS, GENESIS_HASH, event_hash
from app.audit.models import AuditEvent


@dataclass
class ChainState:
    expected_seq: int = 1
    prev_hash: str = GENESIS_HASH
    checked: int = 0
    first_bad: int | None = None

    def feed(self, seq: int, prev_hash: str, digest: str, fields: dict[str, Any]) -> bool:
        """Check one event; False (and remember it) at the first that breaks the chain."""
        self.checked += 1
        if seq != self.expected_seq or prev_hash != self.prev_hash or event_hash(prev_hash, fields) != digest:
            self.first_bad = seq
            return False
        self.expected_seq = seq + 1
        self.prev_hash = digest
        return True


def fields_of(event: AuditEvent) -> dict[str, Any]:
    return {name: getattr(event, name) for name in CHAINED_FIELDS}


async def verify_events(events: AsyncIterable[AuditEvent]) -> ChainState:
    state = ChainState()
    async for event in events:
        # Only sealed events are streamed; an unsealed one has no place in the chain yet.
        assert event.seq is not None and event.prev_hash is not None and event.hash is not None
        if not state.feed(event.seq, event.prev_hash, event.hash, fields_of(event)):
            break
    return state
