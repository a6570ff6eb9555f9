"""Objects in any S3-compatible store (AWS S3, MinIO, Ceph, OSS…) with boto3, off the event loop.

Keys are `<prefix>/sha256/<first two hex>/<sha256>`: the same content is one object, an object never
changes once written, and a reader can check what it got. Endpoint, region and credentials come from the
usual AWS variables (AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, …).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from app.storage import DatabaseStore, StoredObjectUnavailable, checked, sha256_of

logger = logging.getLogger("cityservices.storage")


class S3Store:
    def __init__(self, *, bucket: str, prefix: str, client: Any) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._client = client

    @classmethod
    def from_url(cls, url: str) -> S3Store:
        parts = urlsplit(url)
        # Adaptive retries ride out a throttled or briefly unreachable store; a bounded pool per process.
        config = Config(
            retries={"mode": "adaptive", "max_attempts": 4}, max_pool_connections=20, connect_timeout=3, read_timeout=10
        )
        return cls(bucket=parts.netloc, prefix=parts.path, client=boto3.session.Session().client("s3", config=config))

    def key(self, sha256: str) -> str:
        return "/".join(filter(None, [self.prefix, "sha256", sha256[:2], sha256]))

    async def save(self, data: bytes) -> tuple[str, bytes | None]:
        sha256 = sha256_of(data)
        try:
            await asyncio.to_thread(self._client.put_object, Bucket=self.bucket, Key=self.key(sha256), Body=data)
        except (BotoCoreError, ClientError) as exc:
            logger.error("object store write failed (%s)", type(exc).__name__)
            raise StoredObjectUnavailable() from None
        return sha256, None

    async def load(self, *, sha256: str, inline: bytes | None) -> bytes:
        if inline is not None:  # saved before STORAGE_URL was set: still in the database
            return await DatabaseStore().load(sha256=sha256, inline=inline)
        try:
            data = await asyncio.to_thread(self._read, self.key(sha256))
        except (BotoCoreError, ClientError) as exc:
            logger.error("object store read failed (%s)", type(exc).__name__)
            raise StoredObjectUnavailable() from None
        return checked(data, sha256)

    async def delete(self, sha256: str) -> None:
        """Remove the object (the caller knows no record refers to these bytes any more)."""
        try:
            await asyncio.to_thread(self._client.delete_object, Bucket=self.bucket, Key=self.key(sha256))
        except (BotoCoreError, ClientError) as exc:
            logger.error("object store delete failed (%s)", type(exc).__name__)
            raise StoredObjectUnavailable() from None

    def _read(self, key: str) -> bytes:
        body = self._client.get_object(Bucket=self.bucket, Key=key)["Body"]
        try:
            return bytes(body.read())
        finally:
            body.close()

    def close(self) -> None:
        self._client.close()
