"""Anchors: every signed checkpoint appended outside the service's database (AUDIT_ANCHOR_URL), where
the database role that can rewrite the request log cannot reach.

- `file:///path`: one JSON line per checkpoint, appended and fsynced (a file on a WORM volume, or one
  shipped elsewhere by the operator's log shipper);
- `s3://bucket/prefix`: one object per checkpoint under `prefix/checkpoints/`, written with S3 Object
  Lock in compliance mode (the bucket must have Object Lock enabled): nobody, the bucket's owner
  included, can delete or overwrite it until its retention ends;
- `nats://host:port/stream`: one message per checkpoint in a JetStream stream created with
  `deny_delete` and `deny_purge`, so messages cannot be removed through the API.

The same classes read the anchors back for `cityservices verify-export`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

logger = logging.getLogger("cityservices.audit")

# Compliance-mode retention of each anchored checkpoint: as long as the request log is kept (10 years).
RETENTION = timedelta(days=3653)
_TIMEOUT_S = 5.0


class SignedCheckpoint(Protocol):
    seq: int
    head_hash: str
    signed_at: datetime
    signature: str
    certificate_pem: str


@dataclass(frozen=True)
class CheckpointRecord:
    """A checkpoint as anchored and as `GET /v1/audit/checkpoints/latest` shows it."""

    seq: int
    head_hash: str
    signed_at: str  # ISO 8601, as signed (whole seconds, UTC)
    signature: str
    certificate_pem: str

    @classmethod
    def of(cls, checkpoint: SignedCheckpoint) -> CheckpointRecord:
        return cls(
            seq=checkpoint.seq,
            head_hash=checkpoint.head_hash,
            signed_at=checkpoint.signed_at.astimezone(UTC).isoformat(),
            signature=checkpoint.signature,
            certificate_pem=checkpoint.certificate_pem,
        )

    @classmethod
    def from_json(cls, data: str | bytes) -> CheckpointRecord:
        fields = json.loads(data)
        return cls(**{name: fields[name] for name in cls.__dataclass_fields__})

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))


class Anchor:
    """Where checkpoints are appended; `append` raises on failure, `append_logged` only logs it (an
    anchor that is down must not stop the worker: the checkpoint is in the database, the next goes out)."""

    url: str

    async def append(self, record: CheckpointRecord) -> None:
        raise NotImplementedError

    async def read_all(self) -> list[CheckpointRecord]:
        raise NotImplementedError

    async def close(self) -> None:
        return None

    async def append_logged(self, record: CheckpointRecord) -> bool:
        try:
            await asyncio.wait_for(self.append(record), timeout=_TIMEOUT_S * 3)
        except Exception:
            logger.error("audit checkpoint %s not anchored at %s", record.seq, _redacted(self.url), exc_info=True)
            return False
        return True


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.hostname or "")) if parts.password else url


class FileAnchor(Anchor):
    def __init__(self, url: str) -> None:
        self.url = url
        self.path = Path(urlsplit(url).path)

    async def append(self, record: CheckpointRecord) -> None:
        await asyncio.to_thread(self._append, (record.to_json() + "\n").encode())

    def _append(self, line: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)

    async def read_all(self) -> list[CheckpointRecord]:
        text = await asyncio.to_thread(self.path.read_text, encoding="utf-8")
        return [CheckpointRecord.from_json(line) for line in text.splitlines() if line.strip()]


class S3Anchor(Anchor):
    def __init__(self, url: str, *, client: Any = None) -> None:
        import boto3
        from botocore.config import Config

        parts = urlsplit(url)
        self.url = url
        self.bucket = parts.netloc
        self.prefix = "/".join(filter(None, [parts.path.strip("/"), "checkpoints"]))
        self._client = client or boto3.session.Session().client(
            "s3", config=Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=3, read_timeout=10)
        )

    def key(self, record: CheckpointRecord) -> str:
        # Zero-padded position first: a listing comes back in chain order.
        return f"{self.prefix}/{record.seq:020d}-{record.head_hash[:16]}.json"

    async def append(self, record: CheckpointRecord) -> None:
        await asyncio.to_thread(
            self._client.put_object,
            Bucket=self.bucket,
            Key=self.key(record),
            Body=record.to_json().encode(),
            ContentType="application/json",
            ObjectLockMode="COMPLIANCE",
            ObjectLockRetainUntilDate=datetime.now(UTC) + RETENTION,
            ChecksumAlgorithm="SHA256",  # S3 requires an integrity checksum on a locked write
        )

    async def read_all(self) -> list[CheckpointRecord]:
        return await asyncio.to_thread(self._read_all)

    def _read_all(self) -> list[CheckpointRecord]:
        # Every version, not the listing: a delete marker (which anyone with s3:DeleteObject may add) hides
        # an object from a listing, while the locked version beneath it stays readable.
        records = []
        pages = self._client.get_paginator("list_object_versions").paginate(
            Bucket=self.bucket, Prefix=self.prefix + "/"
        )
        for page in pages:
            for version in page.get("Versions", []):
                body = self._client.get_object(Bucket=self.bucket, Key=version["Key"], VersionId=version["VersionId"])
                records.append(CheckpointRecord.from_json(body["Body"].read()))
        return sorted(records, key=lambda r: (r.seq, r.signed_at))

    async def close(self) -> None:
        self._client.close()


class NatsAnchor(Anchor):
    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.url = url
        self.server = urlunsplit(parts._replace(path="", query="", fragment=""))
        self.stream = parts.path.strip("/")
        self.subject = f"{self.stream}.checkpoint"
        self._client: Any = None
        self._js: Any = None

    async def _jetstream(self) -> Any:
        import nats
        from nats.js.errors import NotFoundError

        if self._js is None or self._client is None or self._client.is_closed:
            self._client = await asyncio.wait_for(
                nats.connect(self.server, connect_timeout=_TIMEOUT_S, allow_reconnect=False), timeout=_TIMEOUT_S * 2
            )
            js = self._client.jetstream(timeout=_TIMEOUT_S)
            try:
                await js.stream_info(self.stream)
            except NotFoundError:
                # Append-only from the start: no message can be deleted, nor the stream purged.
                await js.add_stream(name=self.stream, subjects=[self.subject], deny_delete=True, deny_purge=True)
            self._js = js
        return self._js

    async def append(self, record: CheckpointRecord) -> None:
        js = await self._jetstream()
        # The message id makes a repeated append of the same checkpoint one message (JetStream dedupes).
        await js.publish(
            self.subject, record.to_json().encode(), headers={"Nats-Msg-Id": f"{record.seq}-{record.head_hash}"}
        )

    async def read_all(self) -> list[CheckpointRecord]:
        js = await self._jetstream()
        info = await js.stream_info(self.stream)
        records = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            if info.state.messages == 0:
                break
            message = await js.get_msg(self.stream, seq)
            if message.data:
                records.append(CheckpointRecord.from_json(message.data))
        return records

    async def close(self) -> None:
        if self._client is not None and not self._client.is_closed:
            await self._client.close()
        self._client = self._js = None


def open_anchor(url: str | None) -> Anchor | None:
    """The anchor AUDIT_ANCHOR_URL names (validated by app.config), or None."""
    if not url:
        return None
    scheme = urlsplit(url).scheme
    if scheme == "file":
        return FileAnchor(url)
    if scheme == "s3":
        return S3Anchor(url)
    if scheme == "nats":
        return NatsAnchor(url)
    raise ValueError(f"unknown anchor scheme {scheme!r}")
