"""AUDIT_ANCHOR_URL: every signed checkpoint appended outside the database, in an S3 bucket with Object
Lock (moto's server: an S3-compatible endpoint) or a JetStream stream that denies deletes, and read back
by `cityservices verify-export`, whatever the database or the store's delete permission says."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from sqlalchemy import text

from app.audit.anchors import NatsAnchor, S3Anchor, open_anchor
from app.audit.checkpoints import make_checkpoint
from app.audit.sealing import seal_all
from app.config import Settings
from tests.builders import ZHANG_WEI, file, no_criminal_record
from tests.servers import CITYSERVICES, moto_s3_server, nats_is_up, service_env


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with moto_s3_server() as endpoint:
        yield endpoint


@pytest.fixture
def s3_env(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = {
        "AWS_ENDPOINT_URL": s3_endpoint,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


async def _two_checkpoints(client, tokens, collaborators, anchor) -> list[int]:
    positions = []
    for _ in range(2):
        await file(client, tokens.citizen(*ZHANG_WEI[:2]), no_criminal_record())
        checkpoint = await make_checkpoint(
            uow=collaborators.uow, signer=collaborators.issuer.pdfs.signer, anchor=anchor
        )
        assert checkpoint is not None
        positions.append(checkpoint.seq)
    return positions


async def _cut_the_log(collaborators, seq: int) -> None:
    await seal_all(collaborators.sessionmaker)
    async with collaborators.engine.begin() as conn:
        await conn.execute(text("DELETE FROM audit_events WHERE seq >= :n"), {"n": seq})
        await conn.execute(text("DELETE FROM audit_checkpoints"))


async def _verify_export(client, tokens, collaborators, tmp_path: Path, url: str, env: dict[str, str]):
    import subprocess

    export = await client.get("/v1/audit/export", params={"format": "ndjson"}, headers=tokens.auditor())
    (tmp_path / "events.ndjson").write_bytes(export.content)
    (tmp_path / "trust.pem").write_text(collaborators.issuer.pdfs.signer.certificate_pem)
    command = [*CITYSERVICES, "verify-export", str(tmp_path / "events.ndjson"), "--trust", str(tmp_path / "trust.pem")]
    return subprocess.run(
        [*command, "--anchor", url], env=service_env(tmp_path, **env), capture_output=True, text=True, timeout=60
    )


def test_the_anchor_url_is_validated_and_opened_by_scheme(tmp_path):
    assert open_anchor(None) is None
    assert isinstance(open_anchor("nats://127.0.0.1:4222/AUDIT"), NatsAnchor)
    for bad in ("http://x/y", "nats://127.0.0.1:4222", "s3:///nobucket", "file://relative/path"):
        with pytest.raises(ValueError):
            Settings(data_dir=tmp_path, audit_anchor_url=bad)


async def test_s3_anchor_with_object_lock_survives_deletes_and_catches_a_truncation(
    client, tokens, collaborators, tmp_path, s3_env
):
    s3 = boto3.client("s3")
    bucket = f"audit-anchor-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    url = f"s3://{bucket}/cityservices/prod"
    anchor = S3Anchor(url)
    first, second = await _two_checkpoints(client, tokens, collaborators, anchor)
    assert [r.seq for r in await anchor.read_all()] == [first, second]

    # The store's own permissions do not reach it either: a locked version cannot be deleted, and a
    # delete marker (what a plain DELETE adds) does not hide it from the verifier.
    versions = s3.list_object_versions(Bucket=bucket)["Versions"]
    with pytest.raises(ClientError, match="AccessDenied"):
        s3.delete_object(Bucket=bucket, Key=versions[0]["Key"], VersionId=versions[0]["VersionId"])
    s3.delete_object(Bucket=bucket, Key=versions[0]["Key"])
    assert len(await anchor.read_all()) == 2

    await _cut_the_log(collaborators, first - 1)
    offline = await _verify_export(client, tokens, collaborators, tmp_path, url, s3_env)
    assert offline.returncode == 1, offline.stdout + offline.stderr
    assert "NOT INTACT: truncation" in offline.stdout or "NOT INTACT: rewriting" in offline.stdout
    await anchor.close()


async def test_an_s3_anchor_without_object_lock_is_logged_not_fatal(client, tokens, collaborators, s3_env, caplog):
    s3 = boto3.client("s3")
    bucket = f"audit-anchor-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)  # no Object Lock: a locked write is refused
    anchor = S3Anchor(f"s3://{bucket}/x")
    await file(client, tokens.citizen(*ZHANG_WEI[:2]), no_criminal_record())
    checkpoint = await make_checkpoint(uow=collaborators.uow, signer=collaborators.issuer.pdfs.signer, anchor=anchor)
    assert checkpoint is not None  # signed and kept in the database all the same
    assert f"audit checkpoint {checkpoint.seq} not anchored" in caplog.text
    await anchor.close()


@pytest.mark.skipif(not nats_is_up(), reason="no NATS server on 127.0.0.1:4222")
async def test_nats_anchor_denies_deletes_and_catches_a_truncation(client, tokens, collaborators, tmp_path):
    stream = f"audit-anchor-{uuid.uuid4().hex[:12]}"
    url = f"nats://127.0.0.1:4222/{stream}"
    anchor = NatsAnchor(url)
    try:
        first, second = await _two_checkpoints(client, tokens, collaborators, anchor)
        assert [r.seq for r in await anchor.read_all()] == [first, second]
        js = await anchor._jetstream()
        info = await js.stream_info(stream)
        assert info.config.deny_delete and info.config.deny_purge
        with pytest.raises(Exception, match="(?i)delete|not allowed|denied"):
            await js.delete_msg(stream, 1)
        await _cut_the_log(collaborators, first - 1)
        offline = await _verify_export(client, tokens, collaborators, tmp_path, url, {})
        assert offline.returncode == 1, offline.stdout + offline.stderr
        assert "NOT INTACT" in offline.stdout
    finally:
        js = await anchor._jetstream()
        await js.delete_stream(stream)  # the test's own stream; deny_delete is about its messages
        await anchor.close()
