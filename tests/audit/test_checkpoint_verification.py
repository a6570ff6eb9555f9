"""GET /v1/audit/verify holds the chain against the latest signed checkpoint: deleting the newest events
is a break, and says which (issue 13, item 4)."""

from __future__ import annotations

from sqlalchemy import text

from app.audit import repository
from app.audit.checkpoints import make_checkpoint
from app.audit.sealing import seal_all
from app.audit.verification import verify_events
from tests.builders import LI_NA, ZHANG_WEI, file, no_criminal_record


async def _some_events(client, tokens) -> None:
    for person in (ZHANG_WEI, LI_NA):
        await file(client, tokens.citizen(*person[:2]), no_criminal_record())
    await client.get("/v1/services")


async def _verify(client, tokens) -> dict:
    response = await client.get("/v1/audit/verify", headers=tokens.auditor())
    assert response.status_code == 200
    return response.json()


async def _head(collaborators) -> int:
    await seal_all(collaborators.sessionmaker)
    async with collaborators.engine.connect() as conn:
        return int((await conn.execute(text("SELECT max(seq) FROM audit_events"))).scalar_one())


async def test_deleting_the_newest_events_behind_a_checkpoint_is_a_break(client, tokens, collaborators):
    await _some_events(client, tokens)
    checkpoint = await make_checkpoint(uow=collaborators.uow, signer=collaborators.issuer.pdfs.signer)
    assert checkpoint is not None
    intact = await _verify(client, tokens)
    assert intact["intact"] is True and intact["checkpoint_seq"] == checkpoint.seq
    assert intact["checkpoint_signature_valid"] is True
    cut = checkpoint.seq - 3
    await seal_all(collaborators.sessionmaker)  # the verify request's own event, so that nothing seals mid-delete
    async with collaborators.engine.begin() as conn:
        await conn.execute(text("DELETE FROM audit_events WHERE seq >= :n"), {"n": cut})
    report = await _verify(client, tokens)
    assert report["intact"] is False
    assert report["break_reason"] == "behind_checkpoint", (report, cut, checkpoint.seq)
    assert report["first_bad_event"] == cut  # the first event the checkpoint proves existed


async def test_deleting_the_tail_after_the_last_verify_is_caught_on_a_quiet_log(client, tokens, collaborators):
    await _some_events(client, tokens)
    checkpoint = await make_checkpoint(uow=collaborators.uow, signer=collaborators.issuer.pdfs.signer)
    assert checkpoint is not None
    async with collaborators.engine.begin() as conn:
        await conn.execute(text("DELETE FROM audit_events WHERE seq >= :n"), {"n": checkpoint.seq - 1})
        # Nothing left after the cut: the chain ends cleanly, only the checkpoint knows.
        await conn.execute(text("DELETE FROM audit_events WHERE seq IS NULL"))
    alone = await verify_events(repository.stream(collaborators.sessionmaker))
    assert alone.first_bad is None  # the chain alone looks fine...
    state = await verify_events(
        repository.stream(collaborators.sessionmaker), checkpoints=[(checkpoint.seq, checkpoint.head_hash)]
    )
    assert (state.first_bad, state.break_reason) == (checkpoint.seq - 1, "behind_checkpoint")  # ...not with it


async def test_a_chain_that_differs_from_the_checkpoint_is_a_break(client, tokens, collaborators):
    await _some_events(client, tokens)
    checkpoint = await make_checkpoint(uow=collaborators.uow, signer=collaborators.issuer.pdfs.signer)
    assert checkpoint is not None
    async with collaborators.engine.begin() as conn:
        await conn.execute(
            text("UPDATE audit_checkpoints SET head_hash = :h WHERE id = :id"), {"h": "f" * 64, "id": checkpoint.id}
        )
    report = await _verify(client, tokens)
    assert report["intact"] is False and report["break_reason"] == "checkpoint_signature_invalid"


async def test_without_a_checkpoint_the_chain_alone_is_verified(client, tokens, collaborators):
    await _some_events(client, tokens)
    report = await _verify(client, tokens)
    assert report["intact"] is True and report["checkpoint_seq"] is None
    assert report["break_reason"] is None and 0 < report["head_seq"] <= await _head(collaborators)
