"""Recomputing the chain: the first event whose position, link or content does not match is named.

A chain is only self-consistent: deleting its newest events leaves a shorter chain that still links.
So it is also held against the latest signed checkpoint: a head behind the checkpoint (events are
missing), or a different hash at the checkpoint's position, is a break too.
"""

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
    break_reason: str | None = None  # event_mismatch | behind_checkpoint | checkpoint_mismatch | ...
    watch_seq: int | None = None  # the checkpoint's position, whose hash we keep
    watched_hash: str | None = None

    def feed(self, seq: int, prev_hash: str, digest: str, fields: dict[str, Any]) -> bool:
        """Check one event; False (and remember it) at the first that breaks the chain."""
        self.checked += 1
        if seq != self.expected_seq or prev_hash != self.prev_hash or event_hash(prev_hash, fields) != digest:
            self.first_bad = seq
            self.break_reason = "event_mismatch"
            return False
        self.expected_seq = seq + 1
        self.prev_hash = digest
        if seq == self.watch_seq:
            self.watched_hash = digest
        return True

    @property
    def head_seq(self) -> int:
        return self.expected_seq - 1

    def hold_against_checkpoint(self, seq: int, head_hash: str) -> None:
        """After the walk: the chain must reach the signed checkpoint and agree with it there."""
        if self.first_bad is not None:
            return
        if self.head_seq < seq:
            self.first_bad = self.head_seq + 1  # the first event the checkpoint proves existed
            self.break_reason = "behind_checkpoint"
        elif self.watched_hash != head_hash:
            self.first_bad = seq
            self.break_reason = "checkpoint_mismatch"


def fields_of(event: AuditEvent) -> dict[str, Any]:
    return {name: getattr(event, name) for name in CHAINED_FIELDS}


async def verify_events(events: AsyncIterable[AuditEvent], *, watch_seq: int | None = None) -> ChainState:
    state = ChainState(watch_seq=watch_seq)
    async for event in events:
        # Only sealed events are streamed; an unsealed one has no place in the chain yet.
        assert event.seq is not None and event.prev_hash is not None and event.hash is not None
        if not state.feed(event.seq, event.prev_hash, event.hash, fields_of(event)):
            break
    return state
