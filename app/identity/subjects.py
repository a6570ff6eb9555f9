"""How a person's id number appears in the request log: a keyed hash to search by, a mask to show."""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

from app.identity.id_number import mask


class SubjectHasher:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def hash(self, id_number: str) -> str:
        # The one-shot HMAC-SHA256 (no HMAC object kept); what the log is searched by, so its output is
        # pinned by tests/identity/test_subjects.py.
        return hmac.digest(self._key, id_number.strip().upper().encode(), "sha256").hex()

    @staticmethod
    def mask(id_number: str) -> str:
        return mask(id_number.strip().upper())


def load_or_create_dev_key(data_dir: Path) -> bytes:
    """Development only: a random key made once in DATA_DIR (production must set AUDIT_HMAC_KEY)."""
    path = data_dir / "audit_hmac.key"
    if path.exists():
        return path.read_bytes().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32).encode()
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(key)
    tmp.chmod(0o600)
    try:
        os.link(tmp, path)  # first writer wins if two processes start at once
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_bytes().strip()
