"""The issuer's keys for wallet credentials, and their publication (`/.well-known/jwt-vc-issuer`).

The credential issuer is the same office that signs the PDFs, so it signs with the same configured key
(SIGNING_KEY_FILE; a dev key in DATA_DIR otherwise). After a key rotation the earlier signing certificates
(SIGNING_TRUSTED_CERTS) stay published as verification keys: credentials signed before the rotation still
verify. Each key's `kid` is its RFC 7638 thumbprint, so it follows from the key alone.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from app.certificates.signing import load_certificate_chain, load_private_key
from app.credentials.encoding import b64url

PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey
# Only these two, as for the identity provider's tokens: the algorithm follows from the key's type.
ALGORITHMS = ("ES256", "RS256")


def algorithm_of(key: PublicKey) -> str:
    if isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise ValueError("an ECDSA credential key must be on P-256 (ES256)")
        return "ES256"
    return "RS256"


def public_jwk(key: PublicKey) -> dict[str, Any]:
    """The key as a JWK with its `kid` (thumbprint), `alg` and `use`."""
    if isinstance(key, ec.EllipticCurvePublicKey):
        members = ECAlgorithm.to_jwk(key, as_dict=True)
    else:
        members = RSAAlgorithm.to_jwk(key, as_dict=True)
    return {**members, "kid": thumbprint(members), "alg": algorithm_of(key), "use": "sig"}


def thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638: SHA-256 over the required members, in lexicographic order, with no whitespace."""
    required = ("crv", "kty", "x", "y") if jwk["kty"] == "EC" else ("e", "kty", "n")
    canonical = json.dumps({name: jwk[name] for name in required}, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


class IssuerKeys:
    """Signs with the current key; publishes it and the earlier ones. Build once (in the lifespan)."""

    def __init__(
        self, *, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, earlier: list[PublicKey] | None = None
    ) -> None:
        self._key = key
        self.algorithm = algorithm_of(key.public_key())
        self.jwk = public_jwk(key.public_key())
        self.kid: str = self.jwk["kid"]
        published = [self.jwk, *(public_jwk(k) for k in earlier or [])]
        # One entry per key: a trusted-certificates file may repeat the current certificate.
        self._jwks = list({k["kid"]: k for k in published}.values())

    @classmethod
    def from_files(cls, *, key_file: Path, trusted_certs_file: Path | None = None) -> IssuerKeys:
        earlier = load_certificate_chain(trusted_certs_file) if trusted_certs_file else []
        keys = [c.public_key() for c in earlier]
        return cls(
            key=load_private_key(key_file),
            earlier=[k for k in keys if isinstance(k, ec.EllipticCurvePublicKey | rsa.RSAPublicKey)],
        )

    def sign(self, claims: dict[str, Any], *, typ: str) -> str:
        """A compact JWS of `claims` with `typ` (dc+sd-jwt, statuslist+jwt) and our `kid` in its header."""
        return jwt.encode(claims, self._key, algorithm=self.algorithm, headers={"typ": typ, "kid": self.kid})

    def jwks(self) -> dict[str, Any]:
        return {"keys": list(self._jwks)}
