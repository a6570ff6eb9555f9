"""Where the bytes of materials and certificate PDFs live (STORAGE_URL).

Callers see one small interface, `BlobStore`:

- `await store.save(data)` before the record commits: returns the SHA-256 the record keeps and the bytes
  the record itself should hold (the data, for the database store; None when the object lives outside).
- `await store.load(sha256=..., inline=...)` returns the bytes, checked against that SHA-256.

Unset STORAGE_URL keeps everything in the database (the embedded default). `s3://bucket/prefix` puts each
object, content-addressed by its SHA-256, in any S3-compatible store; identical content is one object.
"""

from __future__ import annotations

import hashlib
from typing import Protocol

from app.errors import AppError
from app.i18n import Text


class StoredObjectUnavailable(AppError):
    status = 503
    code = "STORED_OBJECT_UNAVAILABLE"
    title = Text("文件存储暂时不可用", "The file store is unavailable right now")


class StoredObjectCorrupt(AppError):
    """The bytes read back do not have the SHA-256 the record holds: never serve them."""

    status = 500
    code = "STORED_OBJECT_CORRUPT"
    title = Text("存储的文件已损坏", "The stored file is damaged")


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def checked(data: bytes, sha256: str) -> bytes:
    if sha256_of(data) != sha256:
        raise StoredObjectCorrupt()
    return data


class BlobStore(Protocol):
    async def save(self, data: bytes) -> tuple[str, bytes | None]: ...

    async def load(self, *, sha256: str, inline: bytes | None) -> bytes: ...

    async def delete(self, sha256: str) -> None: ...

    def close(self) -> None: ...


class DatabaseStore:
    """The embedded default: the record holds the bytes; reading checks them all the same."""

    async def save(self, data: bytes) -> tuple[str, bytes | None]:
        return sha256_of(data), data

    async def load(self, *, sha256: str, inline: bytes | None) -> bytes:
        if inline is None:
            # Saved while STORAGE_URL pointed at an object store that is no longer configured.
            raise StoredObjectUnavailable()
        return checked(inline, sha256)

    async def delete(self, sha256: str) -> None:
        return None  # the bytes went with their record

    def close(self) -> None:
        return None


def open_store(url: str | None) -> BlobStore:
    if url is None:
        return DatabaseStore()
    from app.storage.s3 import S3Store

    return S3Store.from_url(url)
