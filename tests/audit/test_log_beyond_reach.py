"""The request log beyond the reach of the service's own database role (issue 27).

The reproduction: with only the UPDATE/DELETE grants the service has, delete the newest events (or set
their `seq` negative); `/v1/audit/verify` says `behind_checkpoint`, but only until the worker signs its
next checkpoint, which used to sign the shorter chain and launder the deletion for the API and the
offline verifier alike. Now the sealer refuses, the API holds the chain against every checkpoint, the
database refuses a position at or below zero, and the anchors outside the database keep every
checkpoint for `cityservices verify-export`.
"""

from __future__ import annotations

import base64
import logging
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from app.audit.anchors import FileAnchor
from app.audit.checkpoints import checkpoint_message, make_checkpoint
from app.audit.models import AuditCheckpoint
from app.audit.sealing import seal_all
from tests.builders import LI_NA, ZHANG_WEI, file, no_criminal_record
from tests.servers import CITYSERVICES


async def _some_events(client, tokens) -> None:
    for person in (ZHANG_WEI, LI_NA):
        await file(client, tokens.citizen(*person[:2]), no_criminal_record())
    await client.get("/v1/services", headers=tokens.citizen(*ZHANG_WEI[:2]))


async def _verify(client, tokens, scope: str = "tail") -> dict:
    response = await client.get("/v1/audit/verify", params={"scope": scope}, headers=tokens.auditor())
    assert response.status_code == 200
    return response.json()


async def _delete_from(collaborators, seq: int) -> None:
    await seal_all(collaborators.sessionmaker)  # nothing unsealed left to be sealed mid-delete
    async with collaborators.engine.begin() as conn:
        await conn.execute(text("DELETE FROM audit_events WHERE seq >= :n"), {"n": seq})


def _broken_gauge() -> float | None:
    return REGISTRY.get_sample_value("cityservices_audit_chain_broken")


async def _verify_export(
    client, tokens, collaborators, tmp_path: Path, anchor: FileAnchor
) -> subprocess.CompletedProcess:
    export = await client.get("/v1/audit/export", params={"format": "ndjson"}, headers=tokens.auditor())
    (tmp_path / "events.ndjson").write_bytes(export.content)
    (tmp_path / "trust.pem").write_text(collaborators.issuer.pdfs.signer.certificate_pem)
    return subprocess.run(
        [
            *CITYSERVICES,
            "verify-export",
            str(tmp_path / "events.ndjson"),
            "--trust",
            str(tmp_path / "trust.pem"),
            "--anchor",
            anchor.url,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_deleting_the_newest_events_stays_a_break_after_the_next_checkpoint(
    client, tokens, collaborators, tmp_path, caplog
):
    anchor = FileAnchor(f"file://{tmp_path}/anchor.jsonl")
    signer = collaborators.issuer.pdfs.signer
    await _some_events(client, tokens)
    first = await make_checkpoint(uow=collaborators.uow, signer=signer, anchor=anchor)
    assert first is not None and (await _verify(client, tokens))["intact"] is True
    assert (await _verify_export(client, tokens, collaborators, tmp_path, anchor)).returncode == 0

    await _delete_from(collaborators, first.seq - 3)
    await _some_events(client, tokens)  # life goes on: new events are sealed over the deleted positions
    with caplog.at_level(logging.ERROR, logger="cityservices.audit"):
        second = await make_checkpoint(uow=collaborators.uow, signer=signer, anchor=anchor)  # the worker's next round

    assert second is None
    refusal = [r for r in caplog.records if "audit checkpoint refused" in r.getMessage()]
    assert refusal and refusal[0].levelno == logging.ERROR, caplog.text
    assert _broken_gauge() == 1
    report = await _verify(client, tokens)
    assert report["intact"] is False and report["break_reason"] == "checkpoint_mismatch"
    assert report["first_bad_event"] == first.seq and report["checkpoints_checked"] == 1
    offline = await _verify_export(client, tokens, collaborators, tmp_path, anchor)
    assert offline.returncode == 1, offline.stdout + offline.stderr
    assert f"NOT INTACT: rewriting: event {first.seq} differs from the checkpoint" in offline.stdout


async def test_a_quiet_log_cut_behind_its_checkpoint_is_truncation_for_api_and_export(
    client, tokens, collaborators, tmp_path
):
    anchor = FileAnchor(f"file://{tmp_path}/anchor.jsonl")
    await _some_events(client, tokens)
    first = await make_checkpoint(uow=collaborators.uow, signer=collaborators.issuer.pdfs.signer, anchor=anchor)
    assert first is not None
    await _delete_from(collaborators, first.seq - 2)
    # Whoever can delete events can delete the checkpoints in the same database: the anchor keeps them.
    async with collaborators.engine.begin() as conn:
        await conn.execute(text("DELETE FROM audit_checkpoints"))
    assert (
        await make_checkpoint(uow=collaborators.uow, signer=collaborators.issuer.pdfs.signer, anchor=anchor) is not None
    )
    # The database alone is fooled: it signed what it had...
    assert (await _verify(client, tokens))["intact"] is True
    # ...the anchor is not.
    offline = await _verify_export(client, tokens, collaborators, tmp_path, anchor)
    assert offline.returncode == 1
    assert "NOT INTACT: rewriting: event" in offline.stdout or "NOT INTACT: truncation" in offline.stdout
    assert len(anchor.path.read_text().splitlines()) == 2  # both checkpoints appended, the first one kept


async def test_a_checkpoint_over_a_laundered_chain_does_not_hide_the_earlier_one(client, tokens, collaborators):
    signer = collaborators.issuer.pdfs.signer
    await _some_events(client, tokens)
    first = await make_checkpoint(uow=collaborators.uow, signer=signer)
    assert first is not None
    await _delete_from(collaborators, first.seq - 3)
    # What the sealer used to do: sign whatever head there is, the shorter chain.
    async with collaborators.engine.connect() as conn:
        head_seq, head_hash = (
            await conn.execute(text("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1"))
        ).one()
    signed_at = datetime.now(UTC).replace(microsecond=0)
    laundering = AuditCheckpoint(
        seq=head_seq,
        head_hash=head_hash,
        signed_at=signed_at,
        signature=base64.b64encode(signer.sign_bytes(checkpoint_message(head_seq, head_hash, signed_at))).decode(),
        certificate_pem=signer.certificate_pem,
    )
    async with collaborators.sessionmaker() as session:
        session.add(laundering)
        await session.commit()

    report = await _verify(client, tokens, scope="all")
    assert report["intact"] is False and report["checkpoints_checked"] == 2
    assert report["break_reason"] == "behind_checkpoint" and report["checkpoint_signature_valid"] is True
    # The tail walks from the furthest checkpoint by position, the earlier one: the later one cannot hide it.
    tail = await _verify(client, tokens)
    assert tail == {**tail, "intact": False, "break_reason": "behind_checkpoint", "checkpoint_seq": first.seq}


@pytest.mark.parametrize("position", ["-seq", "0"])
async def test_the_database_refuses_a_position_at_or_below_zero(client, tokens, collaborators, position):
    await _some_events(client, tokens)
    await seal_all(collaborators.sessionmaker)
    with pytest.raises(IntegrityError):
        async with collaborators.engine.begin() as conn:
            await conn.execute(text(f"UPDATE audit_events SET seq = {position} WHERE seq >= 3"))
    assert (await _verify(client, tokens))["intact"] is True


async def test_an_intact_chain_is_checkpointed_and_the_gauge_is_down(client, tokens, collaborators, tmp_path):
    anchor = FileAnchor(f"file://{tmp_path}/anchor.jsonl")
    await _some_events(client, tokens)
    assert (
        await make_checkpoint(uow=collaborators.uow, signer=collaborators.issuer.pdfs.signer, anchor=anchor) is not None
    )
    assert _broken_gauge() == 0
    await _some_events(client, tokens)
    second = await make_checkpoint(uow=collaborators.uow, signer=collaborators.issuer.pdfs.signer, anchor=anchor)
    assert second is not None and _broken_gauge() == 0
    report = await _verify(client, tokens, scope="all")
    assert report["intact"] is True and report["checkpoints_checked"] == 2
    tail = await _verify(client, tokens)
    assert tail == {**tail, "intact": True, "checkpoints_checked": 1, "walked_from_seq": second.seq}
    offline = await _verify_export(client, tokens, collaborators, tmp_path, anchor)
    assert offline.returncode == 0, offline.stdout
    assert "every one of 2 checkpoints matches" in offline.stdout
