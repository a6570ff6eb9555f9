"""How a person's id number appears in the request log: a keyed hash to search by, a mask to show."""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

from app.identity.id_number import mask

# A read hashes its caller's id number up to three times (may they see it, the actor, the subject): the
# hashes of the id numbers seen lately are kept, a bounded few, forgotten all at once when full.
_REMEMBERED = 4096


class SubjectHasher:
    def __init__(self, key: bytes) -> None:
        self._key = key
        self._hashes: dict[str, str] = {}

    def hash(self, id_number: str) -> str:
        found = self._hashes.get(id_number)
        if found is None:
            if len(self._hashes) >= _REMEMBERED:
                self._hashes.clear()
            # The one-shot HMAC-SHA256; what the log is searched by, so its output is pinned by
            # tests/identity/test_subjects.py.
            found = self._hashes[id_number] = hmac.digest(self._key, id_number.strip().upper().encode(), "sha256").hex()
        return found

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
