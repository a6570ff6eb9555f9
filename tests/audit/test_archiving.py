"""The request log by month (issue 29; docs/scaling.md, "The request log by month"): old months are
detached and archived by `cityservices audit-archive`, the live chain still verifies from the archived
boundary, and `cityservices verify-export --archive` walks the archive and the live export as one chain,
refusing a boundary no signed checkpoint vouches for. PostgreSQL only: SQLite has no partitions."""

from __future__ import annotations

import asyncio
import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from app.audit import partitions
from app.audit.checkpoints import make_checkpoint
from app.audit.events import AuditEntry, EventKind
from app.audit.partitions import Month
from app.audit.sealing import seal_all
from app.background import run_forever
from tests.builders import LI_NA, ZHANG_WEI, file, no_criminal_record
from tests.servers import CITYSERVICES, service_env

THIS_MONTH = Month.of(datetime.now(UTC))
OLD_MONTHS = (THIS_MONTH.plus(-2), THIS_MONTH.plus(-1))


async def _cli(settings, *args: str) -> subprocess.CompletedProcess:
    """In a thread: the app under test keeps serving its own transactions (a sealing round in flight
    holds a lock on the log that detaching a month waits for)."""
    env = service_env(settings.data_dir, DATABASE_URL=settings.database_url, PDF_PROCESSES="0")
    command = [*CITYSERVICES, *args]
    return await asyncio.to_thread(subprocess.run, command, env=env, capture_output=True, text=True, timeout=120)


async def _old_events(collaborators, month: Month, count: int) -> None:
    """Events of a past month, written the way the service writes a worker's events."""
    async with collaborators.uow() as work:
        for n in range(count):
            at = month.start + timedelta(days=3, minutes=n)
            collaborators.audit.add(
                work, AuditEntry(kind=EventKind.change, action="test.old", outcome="success", occurred_at=at)
            )
        await work.commit()


async def _a_log_over_three_months(client, tokens, collaborators) -> None:
    for month in OLD_MONTHS:
        await _old_events(collaborators, month, 3)
    await seal_all(collaborators.sessionmaker)
    # Their months' partitions made late: the events move out of the DEFAULT partition into them.
    async with collaborators.engine.begin() as conn:
        assert await conn.run_sync(lambda sync: partitions.ensure_months(sync, OLD_MONTHS)) == [
            m.partition for m in OLD_MONTHS
        ]
    for person in (ZHANG_WEI, LI_NA):
        await file(client, tokens.citizen(*person[:2]), no_criminal_record())
    # An event of last month sealed after this month's first ones: it stays live, after the boundary.
    await _old_events(collaborators, OLD_MONTHS[1], 1)
    await seal_all(collaborators.sessionmaker)
    assert await make_checkpoint(uow=collaborators.uow, signer=collaborators.issuer.pdfs.signer) is not None


async def _tables(collaborators, *names: str) -> dict[str, bool]:
    async with collaborators.engine.connect() as conn:
        return {n: (await conn.execute(text("SELECT to_regclass(:n)"), {"n": n})).scalar() is not None for n in names}


async def _verify(client, tokens, scope: str) -> dict:
    response = await client.get("/v1/audit/verify", params={"scope": scope}, headers=tokens.auditor())
    assert response.status_code == 200
    return response.json()


async def _verify_export(client, tokens, collaborators, settings, tmp_path: Path, *archives: Path):
    export = await client.get("/v1/audit/export", params={"format": "ndjson"}, headers=tokens.auditor())
    (tmp_path / "live.ndjson").write_bytes(export.content)
    (tmp_path / "trust.pem").write_text(collaborators.issuer.pdfs.signer.certificate_pem)
    given = [arg for archive in archives for arg in ("--archive", str(archive))]
    return await _cli(
        settings, "verify-export", str(tmp_path / "live.ndjson"), *given, "--trust", str(tmp_path / "trust.pem")
    )


@pytest.fixture
async def postgresql_only(settings, collaborators):
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("the request log is partitioned on PostgreSQL only")
    yield
    # The past months' tables, attached or kept after archiving, go: the next test makes them anew.
    async with collaborators.engine.begin() as conn:
        for month in OLD_MONTHS:
            await conn.execute(text(f"DROP TABLE IF EXISTS {month.partition}"))


async def test_sqlite_has_no_months_to_archive(client, settings, tmp_path):
    if settings.database_url.startswith("postgresql"):
        pytest.skip("SQLite's refusal")
    refused = await _cli(settings, "audit-archive", "--before", str(THIS_MONTH), "--out", str(tmp_path / "archive"))
    assert refused.returncode == 1 and "PostgreSQL only" in refused.stderr


async def test_old_months_archived_and_the_chain_verifies_across_the_cut(
    postgresql_only, client, tokens, collaborators, settings, tmp_path
):
    await _a_log_over_three_months(client, tokens, collaborators)
    before = await _verify(client, tokens, "all")
    assert before["intact"] is True and before["walked_from_seq"] == 1

    archive = tmp_path / "archive"
    done = await _cli(settings, "audit-archive", "--before", str(THIS_MONTH), "--out", str(archive))
    assert done.returncode == 0, done.stdout + done.stderr
    assert all(m.partition in done.stdout for m in OLD_MONTHS) and "dropped" in done.stdout
    assert await _tables(collaborators, *(m.partition for m in OLD_MONTHS)) == {m.partition: False for m in OLD_MONTHS}
    boundary = json.loads((archive / "boundary.json").read_text())
    assert (boundary["first_seq"], boundary["last_seq"], boundary["events"]) == (1, 6, 6)
    archived = [json.loads(line) for line in (archive / "events.ndjson").read_text().splitlines()]
    assert [e["seq"] for e in archived] == [1, 2, 3, 4, 5, 6] and archived[-1]["hash"] == boundary["last_hash"]

    # The live chain starts after the boundary, the late event of last month among it.
    whole = await _verify(client, tokens, "all")
    assert whole["intact"] is True and whole["walked_from_seq"] == 7 and whole["scope"] == "all"
    assert (await _verify(client, tokens, "tail"))["intact"] is True
    live = await client.get("/v1/audit/events", params={"action": "test.old"}, headers=tokens.auditor())
    assert [e["seq"] > 6 for e in live.json()["items"]] == [True]

    joined = await _verify_export(client, tokens, collaborators, settings, tmp_path, archive)
    assert joined.returncode == 0, joined.stdout + joined.stderr
    alone = await _verify_export(client, tokens, collaborators, settings, tmp_path)
    assert alone.returncode == 1 and "deletion: events 1–6 are missing" in alone.stdout

    # An archived event altered is a rewriting; a boundary no checkpoint vouches for is named.
    lines = (archive / "events.ndjson").read_text().splitlines()
    (archive / "events.ndjson").write_text(
        "\n".join([*lines[:2], lines[2].replace("test.old", "test.new"), *lines[3:]])
    )
    altered = await _verify_export(client, tokens, collaborators, settings, tmp_path, archive)
    assert altered.returncode == 1 and "rewriting: event 3" in altered.stdout
    (archive / "events.ndjson").write_text("\n".join(lines) + "\n")
    kept = [r for r in (archive / "checkpoints.jsonl").read_text().splitlines() if json.loads(r)["seq"] < 6]
    (archive / "checkpoints.jsonl").write_text("".join(r + "\n" for r in kept))
    unsigned = await _verify_export(client, tokens, collaborators, settings, tmp_path, archive)
    assert unsigned.returncode == 1 and "NOT INTACT: archive_boundary_unsigned" in unsigned.stdout, unsigned.stdout


async def test_a_boundary_without_its_checkpoint_is_a_break_for_the_api(
    postgresql_only, client, tokens, collaborators, settings, tmp_path
):
    await _a_log_over_three_months(client, tokens, collaborators)
    done = await _cli(
        settings, "audit-archive", "--before", str(THIS_MONTH), "--out", str(tmp_path / "a"), "--keep-detached"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert await _tables(collaborators, *(m.partition for m in OLD_MONTHS)) == {m.partition: True for m in OLD_MONTHS}
    # Whoever can move the boundary can delete the checkpoints after it: then nothing vouches for it.
    async with collaborators.engine.begin() as conn:
        await conn.execute(text("DELETE FROM audit_checkpoints WHERE seq >= 6"))
    for scope in ("tail", "all"):
        report = await _verify(client, tokens, scope)
        assert report == {**report, "intact": False, "break_reason": "archive_boundary_unsigned", "first_bad_event": 7}


async def test_a_broken_chain_is_not_archived(postgresql_only, client, tokens, collaborators, settings, tmp_path):
    await _a_log_over_three_months(client, tokens, collaborators)
    async with collaborators.engine.begin() as conn:
        await conn.execute(text("UPDATE audit_events SET outcome = 'error' WHERE seq = 2"))
    refused = await _cli(settings, "audit-archive", "--before", str(THIS_MONTH), "--out", str(tmp_path / "archive"))
    assert refused.returncode == 1 and "event_mismatch at event 2" in refused.stderr
    assert await _tables(collaborators, *(m.partition for m in OLD_MONTHS)) == {m.partition: True for m in OLD_MONTHS}
    assert not (tmp_path / "archive" / "boundary.json").exists()


async def test_the_worker_makes_the_coming_months(postgresql_only, collaborators):
    coming = [THIS_MONTH.plus(n).partition for n in range(3)]
    async with collaborators.engine.begin() as conn:
        await conn.execute(text(f"DROP TABLE {coming[-1]}"))  # two months ahead: empty yet
    assert await _tables(collaborators, *coming) == {**dict.fromkeys(coming, True), coming[-1]: False}
    stop = asyncio.Event()
    worker = asyncio.create_task(run_forever(collaborators, poll_seconds=0.05, stop=stop))
    try:
        async with asyncio.timeout(20):
            while not (await _tables(collaborators, coming[-1]))[coming[-1]]:
                await asyncio.sleep(0.1)
    finally:
        stop.set()
        await worker
    assert await _tables(collaborators, *coming) == dict.fromkeys(coming, True)


async def test_a_checkpoint_at_the_boundary_vouches_for_it(
    postgresql_only, client, tokens, collaborators, settings, tmp_path
):
    for month in OLD_MONTHS:
        await _old_events(collaborators, month, 2)
    await seal_all(collaborators.sessionmaker)
    archive = ["audit-archive", "--before", str(THIS_MONTH), "--out", str(tmp_path / "archive")]
    # The chain's head stays live (the sealer continues from it): nothing of this month yet, no archive.
    refused = await _cli(settings, *archive)
    assert refused.returncode == 1 and "nothing would be left live after event 4" in refused.stderr
    # It had signed the head first, as every archive does: a checkpoint stands at event 4.
    assert await make_checkpoint(uow=collaborators.uow, signer=collaborators.issuer.pdfs.signer) is None
    assert (await client.get("/v1/services")).status_code == 200
    done = await _cli(settings, *archive)
    assert done.returncode == 0, done.stdout + done.stderr
    assert [
        json.loads(line)["seq"] for line in (tmp_path / "archive" / "checkpoints.jsonl").read_text().splitlines()
    ] == [4]
    # Only the checkpoint at the boundary left: its event archived, it is held against the boundary's hash.
    async with collaborators.engine.begin() as conn:
        await conn.execute(text("DELETE FROM audit_checkpoints WHERE seq > 4"))
    for scope in ("tail", "all"):
        report = await _verify(client, tokens, scope)
        assert report == {**report, "intact": True, "walked_from_seq": 5}, report
    async with collaborators.engine.begin() as conn:
        await conn.execute(text("UPDATE audit_checkpoints SET head_hash = :h WHERE seq = 4"), {"h": "e" * 64})
    forged = await _verify(client, tokens, "tail")
    assert forged == {**forged, "intact": False, "break_reason": "checkpoint_signature_invalid"}
