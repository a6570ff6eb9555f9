"""GET /v1/audit/verify holds the chain against the latest signed checkpoint: deleting the newest events
is a break, and says which (issue 13, item 4)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from sqlalchemy import text

from app.audit import repository
from app.audit.checkpoints import checkpoint_message, make_checkpoint
from app.audit.models import AuditCheckpoint
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


async def _verify_scope(client, tokens, scope: str) -> dict:
    response = await client.get("/v1/audit/verify", params={"scope": scope}, headers=tokens.auditor())
    assert response.status_code == 200
    return response.json()


async def test_the_tail_is_walked_from_the_furthest_checkpoint_and_all_from_the_first_event(
    client, tokens, collaborators
):
    await _some_events(client, tokens)
    checkpoint = await make_checkpoint(uow=collaborators.uow, signer=collaborators.issuer.pdfs.signer)
    assert checkpoint is not None
    await _some_events(client, tokens)
    head = await _head(collaborators)
    tail = await _verify_scope(client, tokens, "tail")
    assert tail == {
        **tail,
        "intact": True,
        "scope": "tail",
        "walked_from_seq": checkpoint.seq,
        "checkpoint_seq": checkpoint.seq,
        "checkpoints_checked": 1,
    }
    # The checkpoint's own event and every one after it, no more (the verify request may add its own).
    assert head - checkpoint.seq + 1 <= tail["events_checked"] <= head - checkpoint.seq + 2
    whole = await _verify_scope(client, tokens, "all")
    assert whole == {**whole, "intact": True, "scope": "all", "walked_from_seq": 1}
    assert whole["events_checked"] >= head
    assert (await _verify(client, tokens))["scope"] == "tail"  # the default
    bad = await client.get("/v1/audit/verify", params={"scope": "some"}, headers=tokens.auditor())
    assert bad.status_code == 422


async def test_an_event_altered_before_the_furthest_checkpoint_is_for_the_whole_walk(client, tokens, collaborators):
    await _some_events(client, tokens)
    checkpoint = await make_checkpoint(uow=collaborators.uow, signer=collaborators.issuer.pdfs.signer)
    assert checkpoint is not None and checkpoint.seq > 3
    async with collaborators.engine.begin() as conn:
        await conn.execute(text("UPDATE audit_events SET outcome = 'error' WHERE seq = 2"))
    # The tail trusts what the signed checkpoint vouches for; the whole walk finds the rewriting.
    assert (await _verify_scope(client, tokens, "tail"))["intact"] is True
    whole = await _verify_scope(client, tokens, "all")
    assert whole == {**whole, "intact": False, "first_bad_event": 2, "break_reason": "event_mismatch"}


async def test_the_checkpoints_own_event_altered_is_a_break_of_the_tail(client, tokens, collaborators):
    await _some_events(client, tokens)
    checkpoint = await make_checkpoint(uow=collaborators.uow, signer=collaborators.issuer.pdfs.signer)
    assert checkpoint is not None
    async with collaborators.engine.begin() as conn:
        await conn.execute(text("UPDATE audit_events SET outcome = 'error' WHERE seq = :n"), {"n": checkpoint.seq})
    tail = await _verify_scope(client, tokens, "tail")
    assert tail == {**tail, "intact": False, "first_bad_event": checkpoint.seq, "break_reason": "event_mismatch"}


async def test_a_chain_cut_before_a_later_checkpoint_is_still_found_by_the_tail(client, tokens, collaborators):
    signer = collaborators.issuer.pdfs.signer
    await _some_events(client, tokens)
    first = await make_checkpoint(uow=collaborators.uow, signer=signer)
    assert first is not None
    await seal_all(collaborators.sessionmaker)
    async with collaborators.engine.begin() as conn:
        await conn.execute(text("DELETE FROM audit_events WHERE seq >= :n"), {"n": first.seq - 3})
    # A later checkpoint over the cut, shorter chain (what the worker refuses to sign; signed here by hand).
    head_seq = await _head(collaborators)
    async with collaborators.engine.connect() as conn:
        head_hash = (await conn.execute(text("SELECT hash FROM audit_events WHERE seq = :n"), {"n": head_seq})).scalar()
    signed_at = datetime.now(UTC).replace(microsecond=0)
    async with collaborators.sessionmaker() as session:
        session.add(
            AuditCheckpoint(
                seq=head_seq,
                head_hash=head_hash,
                signed_at=signed_at,
                signature=base64.b64encode(
                    signer.sign_bytes(checkpoint_message(head_seq, head_hash, signed_at))
                ).decode(),
                certificate_pem=signer.certificate_pem,
            )
        )
        await session.commit()
    # The newest checkpoint made is the later one; the tail starts from the furthest by position.
    tail = await _verify_scope(client, tokens, "tail")
    assert tail == {
        **tail,
        "intact": False,
        "break_reason": "behind_checkpoint",
        "first_bad_event": first.seq - 3,
        "checkpoint_seq": first.seq,
        "walked_from_seq": first.seq,
    }
    # And new events sealed over the cut, past the furthest checkpoint, are a different chain there.
    for _ in range(3):
        await _some_events(client, tokens)
    assert await _head(collaborators) > first.seq
    tail = await _verify_scope(client, tokens, "tail")
    assert tail == {**tail, "intact": False, "break_reason": "checkpoint_mismatch", "first_bad_event": first.seq}
