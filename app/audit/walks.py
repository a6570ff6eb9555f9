"""The chain's two walks (`GET /v1/audit/verify?scope=`): its tail, from the furthest signed checkpoint,
and the whole of it, against every checkpoint.

The tail is what is not yet vouched for: a checkpoint signed by our key proves the chain up to its
position, so the events after the furthest one (by position, never merely the newest made: a checkpoint
signed later over a cut, shorter chain must not hide the cut) are walked, and the checkpoint's own
event must still carry the signed hash and hash to it. With a checkpoint every AUDIT_CHECKPOINT_SECONDS
that is minutes of events however long the log (docs/scaling.md, "The request log by month"). The whole
chain is walked on request (`scope=all`), to find a rewriting before the furthest checkpoint.

Both start after the archived boundary when months were archived (`cityservices audit-archive`), and
a boundary that no signed checkpoint at or after it vouches for is a break (`archive_boundary_unsigned`):
the database alone could have moved it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit import repository
from app.audit.chain import event_hash
from app.audit.models import AuditCheckpoint
from app.audit.verification import ChainState, fields_of, verify_events

Scope = Literal["tail", "all"]
Genuine = Callable[[AuditCheckpoint], bool]  # signed by our key over exactly its position, hash and time


@dataclass
class ChainCheck:
    """The chain recomputed: over its tail or the whole of it, against the checkpoints it was held to."""

    state: ChainState
    # The checkpoint reported: the latest made (`all`), the furthest by position (`tail`).
    latest: AuditCheckpoint | None
    latest_signature_ok: bool | None
    checkpoints: int  # how many the chain was held against
    scope: Scope = "all"
    walked_from_seq: int = 1  # the first position the walk checked

    @property
    def intact(self) -> bool:
        return self.state.first_bad is None


def _hold_boundary(state: ChainState, boundary: tuple[int, str] | None, signed: list[int]) -> None:
    """An archived boundary counts only under a signed checkpoint at or after it: the walk from the
    boundary reproducing that checkpoint's hash is what proves the boundary's hash genuine."""
    if boundary is not None and state.first_bad is None and not any(seq >= boundary[0] for seq in signed):
        state.stop(boundary[0] + 1, "archive_boundary_unsigned")


async def walk_all(sessionmaker: async_sessionmaker[AsyncSession], genuine: Genuine) -> ChainCheck:
    """Every live event, held against every checkpoint at or after the start. A checkpoint we did not
    sign vouches for nothing, and one altered to hide a deletion must not pass quietly: it is a break."""
    async with sessionmaker() as session:
        checkpoints = await repository.checkpoints(session)
        boundary = await repository.archive_boundary(session)
        session.expunge_all()  # kept as read; no connection held while the log streams
    if boundary is not None:  # the archived ones were held when their months were archived
        checkpoints = [c for c in checkpoints if c.seq >= boundary[0]]
    good = {c.id: genuine(c) for c in checkpoints}
    signed = [(c.seq, c.head_hash) for c in checkpoints if good[c.id]]
    state = await verify_events(repository.chain_rows(sessionmaker), state=ChainState.after(boundary, signed))
    forged = [c for c in checkpoints if not good[c.id]]
    if forged and state.first_bad is None:
        state.stop(forged[0].seq, "checkpoint_signature_invalid")
    _hold_boundary(state, boundary, [seq for seq, _ in signed])
    latest = checkpoints[-1] if checkpoints else None
    return ChainCheck(
        state=state,
        latest=latest,
        latest_signature_ok=good[latest.id] if latest else None,
        checkpoints=len(checkpoints),
        scope="all",
        walked_from_seq=boundary[0] + 1 if boundary else 1,
    )


async def _from_checkpoint(sessionmaker: async_sessionmaker[AsyncSession], checkpoint: AuditCheckpoint) -> ChainState:
    """The checkpoint's own event first (still there, still the signed hash, still hashing to it), then
    every event after it."""
    state = ChainState.after((checkpoint.seq, checkpoint.head_hash))
    async with sessionmaker() as session:
        row = await repository.row_at(session, checkpoint.seq)
        head = await repository.head(session) if row is None else None
    if row is None:
        if head is None or head[0] < checkpoint.seq:
            state.stop((head[0] if head else 0) + 1, "behind_checkpoint")  # the first event it proves existed
        else:
            state.stop(checkpoint.seq, "event_mismatch")  # missing from inside the chain
        return state
    state.checked = 1
    if row.hash != checkpoint.head_hash:
        state.stop(checkpoint.seq, "checkpoint_mismatch")
    elif row.prev_hash is None or event_hash(row.prev_hash, fields_of(row)) != row.hash:
        state.stop(checkpoint.seq, "event_mismatch")
    else:
        await verify_events(repository.chain_rows(sessionmaker, after_seq=checkpoint.seq), state=state)
    return state


async def walk_tail(sessionmaker: async_sessionmaker[AsyncSession], genuine: Genuine) -> ChainCheck:
    """The events after the furthest genuine checkpoint (or after the boundary, or all, when there is none)."""
    async with sessionmaker() as session:
        boundary = await repository.archive_boundary(session)
        candidates = await repository.furthest_checkpoints(session)
        session.expunge_all()
    furthest = candidates[0] if candidates else None
    furthest_ok = genuine(furthest) if furthest is not None else None
    # A forged furthest one is a break (below); the walk still starts from the furthest we did sign.
    trusted = furthest if furthest_ok else next((c for c in candidates[1:] if genuine(c)), None)
    held: list[tuple[int, str]] = []  # a checkpoint at the boundary itself (its event archived)
    from_checkpoint = trusted is not None and (boundary is None or trusted.seq > boundary[0])
    if trusted is not None and from_checkpoint:
        state = await _from_checkpoint(sessionmaker, trusted)
        walked_from = trusted.seq
    else:  # from the boundary, or the first event
        if trusted is not None and boundary is not None and trusted.seq == boundary[0]:
            held = [(trusted.seq, trusted.head_hash)]  # held against the boundary's hash
        state = await verify_events(repository.chain_rows(sessionmaker), state=ChainState.after(boundary, held))
        walked_from = boundary[0] + 1 if boundary else 1
    if furthest is not None and not furthest_ok and state.first_bad is None:
        state.stop(furthest.seq, "checkpoint_signature_invalid")
    if not from_checkpoint:  # a signed checkpoint after the boundary vouches for the chain through it
        _hold_boundary(state, boundary, [seq for seq, _ in held])
    return ChainCheck(
        state=state,
        latest=furthest,
        latest_signature_ok=furthest_ok,
        checkpoints=len({c.id for c in (furthest, trusted) if c is not None}),
        scope="tail",
        walked_from_seq=walked_from,
    )
