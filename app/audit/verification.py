"""Recomputing the chain: the first event whose position, link or content does not match is named.

A chain is only self-consistent: deleting its newest events leaves a shorter chain that still links, and
once new events are sealed after the cut it is a whole new chain. So it is also held against every
signed checkpoint: a head behind a checkpoint (events are missing), or a different hash at a
checkpoint's position (history rewritten, or cut and sealed again), is a break too.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.audit.chain import CHAINED_FIELDS, GENESIS_HASH, event_hash
from app.audit.models import AuditEvent, EventRow

# Events hashed between two turns of the event loop: a checkpoint or `GET /v1/audit/verify` walks tens of
# thousands of events in the serving process, and a page of 5,000 rows walked at once held the loop for
# 80-90 ms; 200 events are ~5 ms (docs/perf/2026-12-06-driver-render-walk.md).
SLICE = 200

# An event as the walk reads it: a plain row of the hashed columns and links, or (in tests) the ORM object.
Walked = AuditEvent | EventRow


@dataclass
class ChainState:
    expected_seq: int = 1
    prev_hash: str = GENESIS_HASH
    checked: int = 0
    first_bad: int | None = None
    break_reason: str | None = None  # event_mismatch | behind_checkpoint | checkpoint_mismatch | ...
    # The checkpoints' (position, signed hash), and the hash the walk found at each such position.
    checkpoints: Sequence[tuple[int, str]] = ()
    found: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._watched = {seq for seq, _ in self.checkpoints}

    @classmethod
    def after(cls, start: tuple[int, str] | None, checkpoints: Sequence[tuple[int, str]] = ()) -> ChainState:
        """A walk that starts after a known position and hash (an archived boundary, a verified
        checkpoint), or at the first event when `start` is None. Checkpoints before the start are not this
        walk's to hold; one at the start is held against the start's hash."""
        if start is None:
            return cls(checkpoints=checkpoints)
        seq, digest = start
        state = cls(expected_seq=seq + 1, prev_hash=digest, checkpoints=[c for c in checkpoints if c[0] >= seq])
        state.found[seq] = digest
        return state

    def stop(self, first_bad: int, reason: str) -> None:
        self.first_bad, self.break_reason = first_bad, reason

    def feed(self, seq: int, prev_hash: str, digest: str, fields: dict[str, Any]) -> bool:
        """Check one event; False (and remember it) at the first that breaks the chain."""
        self.checked += 1
        if seq != self.expected_seq or prev_hash != self.prev_hash or event_hash(prev_hash, fields) != digest:
            self.first_bad = seq
            self.break_reason = "event_mismatch"
            return False
        self.expected_seq = seq + 1
        self.prev_hash = digest
        if seq in self._watched:
            self.found[seq] = digest
        return True

    @property
    def head_seq(self) -> int:
        return self.expected_seq - 1

    def hold_against_checkpoints(self) -> None:
        """After the walk: the chain must reach every checkpoint and agree with each one there."""
        if self.first_bad is not None:
            return
        for seq, head_hash in sorted(self.checkpoints):
            if self.head_seq < seq:
                self.first_bad = self.head_seq + 1  # the first event the checkpoint proves existed
                self.break_reason = "behind_checkpoint"
                return
            if self.found.get(seq) != head_hash:
                self.first_bad = seq
                self.break_reason = "checkpoint_mismatch"
                return


def fields_of(event: Walked) -> dict[str, Any]:
    if isinstance(event, AuditEvent):
        return {name: getattr(event, name) for name in CHAINED_FIELDS}
    # A walked row starts with the hashed columns in their order (repository.chain_rows): no lookups by name.
    return dict(zip(CHAINED_FIELDS, event, strict=False))


async def verify_events(
    events: AsyncIterable[Walked],
    *,
    checkpoints: Sequence[tuple[int, str]] = (),
    state: ChainState | None = None,
) -> ChainState:
    """Walk the chain, then hold it against the checkpoints given as (position, signed head hash); from
    `state` when the walk starts after a known position (`ChainState.after`)."""
    state = state or ChainState(checkpoints=checkpoints)
    async for event in events:
        # Only sealed events are streamed; an unsealed one has no place in the chain yet.
        assert event.seq is not None and event.prev_hash is not None and event.hash is not None
        if not state.feed(event.seq, event.prev_hash, event.hash, fields_of(event)):
            break
        if state.checked % SLICE == 0:
            await asyncio.sleep(0)  # the walk shares its process's event loop with the requests it serves
    state.hold_against_checkpoints()
    return state
