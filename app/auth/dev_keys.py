"""Development only: a local stand-in for the identity provider.

`ensure_dev_keys(data_dir)` makes, once, an ES256 (P-256) key pair in `data_dir`:

- `auth-dev-es256.pem`: the private key (PKCS#8 PEM, mode 0600), the source of truth;
- `auth-dev-jwks.json`: its public JWKS, one key whose `kid` is the RFC 7638 thumbprint.

It is idempotent and safe when several processes (uvicorn workers, the CLI) call it at once: the private
key is published with a no-replace hard link from a temporary file, so exactly one key wins and every
caller derives the same JWKS from it; the JWKS is written to a temporary file and `os.replace`d.

`mint_dev_token(...)` signs a token with that key, which the service accepts when it runs with no JWKS
configured (`cityservices token`). The caller must make sure this never runs in production.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import stat
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from app.auth.tokens import sign_token

log = logging.getLogger(__name__)

PRIVATE_KEY_FILE = "auth-dev-es256.pem"
JWKS_FILE = "auth-dev-jwks.json"
ALGORITHM = "ES256"
# Staff are persons (docs/security.md): a development clerk or auditor token carries this id number unless
# told another (`cityservices token --id-number`). Checksum-valid, and none of the demo dataset's people,
# so a default clerk is never the applicant of a demo case; every default staff token is this one person.
DEV_STAFF_ID_NUMBER = "310101198001010018"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def public_jwk(private_key: ec.EllipticCurvePrivateKey) -> dict[str, str]:
    """The public JWK of a P-256 key, with `kid` = RFC 7638 thumbprint, `alg` ES256, `use` sig."""
    numbers = private_key.public_key().public_numbers()
    members = {
        "crv": "P-256",
        "kty": "EC",
        "x": _b64url(numbers.x.to_bytes(32, "big")),
        "y": _b64url(numbers.y.to_bytes(32, "big")),
    }
    thumbprint = hashlib.sha256(json.dumps(members, separators=(",", ":"), sort_keys=True).encode("ascii")).digest()
    return {**members, "kid": _b64url(thumbprint), "alg": ALGORITHM, "use": "sig"}


def _write_temp(directory: Path, data: bytes, mode: int) -> Path:
    fd, name = tempfile.mkstemp(dir=directory, prefix=".tmp-auth-dev-")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)


def _publish_no_replace(temp: Path, final: Path) -> None:
    """Move `temp` to `final` unless `final` exists (then the existing file wins)."""
    try:
        os.link(temp, final)  # atomic, fails if final exists
    except FileExistsError:
        pass
    except OSError:
        # A file system without hard links: best effort.
        if not final.exists():
            os.replace(temp, final)
            return
    temp.unlink(missing_ok=True)


def _load_private_key(path: Path, attempts: int = 20) -> ec.EllipticCurvePrivateKey:
    for attempt in range(attempts):
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except ValueError:
            # Only possible on the non-hard-link fallback path while another process writes.
            if attempt == attempts - 1:
                raise
            time.sleep(0.05)
            continue
        if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
            raise ValueError(f"{path} is not a P-256 EC private key")
        return key
    raise AssertionError("unreachable")


def _private_key_path(data_dir: Path) -> Path:
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = data_dir / PRIVATE_KEY_FILE
    if not path.exists():
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        _publish_no_replace(_write_temp(data_dir, pem, 0o600), path)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("%s is readable by other users (mode %o); it should be 0600", path, mode)
    return path


def ensure_dev_keys(data_dir: Path) -> Path:
    """Make the development key pair if absent; return the path of its public JWKS."""
    data_dir = Path(data_dir)
    key = _load_private_key(_private_key_path(data_dir))
    document = {"keys": [public_jwk(key)]}
    jwks_path = data_dir / JWKS_FILE
    wanted = json.dumps(document, indent=2, sort_keys=True).encode("utf-8") + b"\n"
    try:
        current = jwks_path.read_bytes()
    except FileNotFoundError:
        current = None
    if current != wanted:
        os.replace(_write_temp(data_dir, wanted, 0o644), jwks_path)
    return jwks_path


def _dev_subject(private_pem: bytes, identity: str) -> str:
    """A stable `sub` for the same person, that does not reveal their id number (the request log
    stores `sub`): an HMAC keyed by this installation's dev key."""
    secret = hashlib.sha256(b"cityservices-dev-sub\0" + private_pem).digest()
    return "dev-" + hmac.new(secret, identity.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def mint_dev_token(
    data_dir: Path,
    *,
    issuer: str,
    audience: str,
    roles: list[str],
    sub: str | None = None,
    id_number: str | None = None,
    name: str | None = None,
    station_id: str | None = None,
    ttl_s: int = 3600,
) -> str:
    """A token signed by the development key. Claims are not validated here beyond their types
    (so tests can mint tokens the service must refuse, e.g. a citizen without an id number).

    Without `sub`, one is derived from a citizen's id number, or from a staff token's roles, station,
    name and id number, so the same person gets the same `sub` every time (and one staff member's
    accounts as clerk and as auditor are two accounts).
    """
    if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
        raise TypeError("roles must be a list of strings")
    if ttl_s <= 0:
        raise ValueError("ttl_s must be positive")
    data_dir = Path(data_dir)
    ensure_dev_keys(data_dir)
    private_path = data_dir / PRIVATE_KEY_FILE
    private_pem = private_path.read_bytes()
    key = _load_private_key(private_path)
    kid = public_jwk(key)["kid"]

    if sub is None:
        staff = f"roles:{','.join(sorted(roles))}|{station_id}|{name}"
        identity = f"id:{id_number}" if id_number and roles == ["citizen"] else f"{staff}|{id_number or ''}"
        sub = _dev_subject(private_pem, identity)
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "sub": sub,
        "iat": now,
        "nbf": now,
        "exp": now + int(ttl_s),
        "jti": uuid.uuid4().hex,
        "roles": list(roles),
    }
    if id_number is not None:
        claims["id_number"] = id_number
    if name is not None:
        claims["name"] = name
    if station_id is not None:
        claims["station_id"] = station_id
    return sign_token(claims, private_pem, algorithm=ALGORITHM, kid=kid)
