"""SD-JWT (IETF, Selective Disclosure for JWTs), the little of it a certificate needs: flat claims, each
one selectively disclosable. A few dozen lines on top of PyJWT read more simply than the `sd-jwt` reference
package (last released in 2024, built around its own demo tooling), and are checked against the draft's
rules by the tests.

Format: `<issuer-signed JWT>~<disclosure>~...~<disclosure>~[<key-binding JWT>]`. A disclosure is the
base64url of the JSON array `[salt, claim name, claim value]`; the signed payload holds only the
base64url SHA-256 of each disclosure in `_sd`, so a claim the holder leaves out cannot be read from the
credential: its 128-bit salt defeats guessing the value from the digest. Decoy digests hide how many
claims there are.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from app.credentials.encoding import b64url, b64url_decode

SD_ALG = "sha-256"
SALT_BYTES = 16  # 128 bits, as the draft recommends
# Every credential carries at least this many digests (decoys fill the rest): the number of fields a
# service's certificate has says nothing about which were disclosed.
MIN_DIGESTS = 12
_RESERVED = frozenset({"_sd", "...", "_sd_alg", "iss", "iat", "nbf", "exp", "cnf", "vct", "status", "sub"})


class InvalidSdJwt(ValueError):
    """The presentation is malformed, or a disclosure is not one the issuer signed."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def make_disclosure(name: str, value: Any) -> str:
    salt = b64url(secrets.token_bytes(SALT_BYTES))
    array = json.dumps([salt, name, value], ensure_ascii=False, separators=(",", ":"))
    return b64url(array.encode("utf-8"))


def digest(disclosure: str) -> str:
    """The draft's digest: over the disclosure's base64url text as sent (its ASCII bytes), not the JSON."""
    return b64url(hashlib.sha256(disclosure.encode("ascii")).digest())


def issue(*, sign: Callable[[dict[str, Any]], str], claims: Mapping[str, Any], disclosable: Mapping[str, Any]) -> str:
    """An SD-JWT with `claims` in the clear and each of `disclosable` as its own disclosure (all included:
    the holder's wallet drops what it does not want to show)."""
    disclosures = [make_disclosure(name, value) for name, value in disclosable.items()]
    digests = [digest(d) for d in disclosures]
    digests += [b64url(hashlib.sha256(secrets.token_bytes(32)).digest()) for _ in range(MIN_DIGESTS - len(digests))]
    # Sorted, so the position of a digest does not tell which claim it is.
    payload = {**claims, "_sd": sorted(digests), "_sd_alg": SD_ALG}
    return "~".join([sign(payload), *disclosures]) + "~"


@dataclass(frozen=True)
class Parts:
    issuer_jwt: str
    disclosures: list[str]
    key_binding_jwt: str | None


def split(presentation: str) -> Parts:
    pieces = presentation.strip().split("~")
    if len(pieces) < 2 or not pieces[0] or pieces[0].count(".") != 2:
        raise InvalidSdJwt("MALFORMED", "not an SD-JWT: <JWT>~<disclosures>~[<KB-JWT>]")
    *middle, last = pieces[1:]
    if any(not d for d in middle):
        raise InvalidSdJwt("MALFORMED", "an empty disclosure")
    return Parts(pieces[0], middle, last or None)


def present(sd_jwt: str, *, keep: Iterable[str]) -> str:
    """The holder's side: the same SD-JWT with only the disclosures of the claims named in `keep`."""
    parts = split(sd_jwt)
    wanted = set(keep)
    kept = [d for d in parts.disclosures if _decode(d)[1] in wanted]
    return "~".join([parts.issuer_jwt, *kept]) + "~"


def disclose(payload: Mapping[str, Any], disclosures: Iterable[str]) -> dict[str, Any]:
    """The claims the verified `payload` and these disclosures establish. Every disclosure must be one whose
    digest the issuer signed, once; otherwise the whole presentation is refused."""
    if payload.get("_sd_alg", SD_ALG) != SD_ALG:
        raise InvalidSdJwt("UNSUPPORTED_SD_ALG", f"unsupported _sd_alg {payload.get('_sd_alg')!r}")
    signed = payload.get("_sd", [])
    if not isinstance(signed, list) or not all(isinstance(d, str) for d in signed):
        raise InvalidSdJwt("MALFORMED", "_sd is not a list of digests")
    claims = {k: v for k, v in payload.items() if k not in ("_sd", "_sd_alg")}
    seen: set[str] = set()
    for disclosure in disclosures:
        found = digest(disclosure)
        if found not in signed:
            raise InvalidSdJwt("DISCLOSURE_NOT_SIGNED", "a disclosure's digest is not in the signed payload")
        if found in seen:
            raise InvalidSdJwt("DUPLICATE_DISCLOSURE", "a disclosure appears twice")
        seen.add(found)
        _salt, name, value = _decode(disclosure)
        if name in _RESERVED or name in claims:
            raise InvalidSdJwt("MALFORMED", f"a disclosure may not set {name!r}")
        claims[name] = value
    return claims


def _decode(disclosure: str) -> tuple[str, str, Any]:
    try:
        array = json.loads(b64url_decode(disclosure))
    except ValueError as exc:
        raise InvalidSdJwt("MALFORMED", "a disclosure is not base64url JSON") from exc
    if not (isinstance(array, list) and len(array) == 3 and isinstance(array[0], str) and isinstance(array[1], str)):
        raise InvalidSdJwt("MALFORMED", "a disclosure is not [salt, name, value]")
    return array[0], array[1], array[2]
