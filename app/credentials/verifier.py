"""The verifier's side of a wallet credential: what an employer's or a school's system runs on an SD-JWT VC
it is shown (`cityservices verify-credential`, and the tests).

In order, refusing at the first failure: the issuer is one the verifier trusts; the issuer's keys come from
its `/.well-known/jwt-vc-issuer`; the signature is by one of them (ES256 or RS256 only, by `kid`); the type
is `dc+sd-jwt`; it has not expired; `vct` is a certificate type (the expected one, when given); every
disclosure's digest is one the issuer signed; a key-binding JWT, if the credential is bound to a holder
key, is signed by that key over this presentation; and the status list the credential points into, signed
by the same issuer, does not mark it invalid. The status list is fetched whole: the issuer cannot tell
which credential is being checked.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import jwt

from app.credentials import sdjwt, statuslist
from app.credentials.encoding import b64url
from app.credentials.keys import ALGORITHMS
from app.credentials.sdjwt import InvalidSdJwt
from app.credentials.service import CREDENTIAL_TYPE, VCT_PREFIX

LEEWAY_SECONDS = 60
KEY_BINDING_TYPE = "kb+jwt"


@dataclass
class CredentialCheck:
    """`valid` only when every check passed; otherwise `problem` is a stable code and `detail` says why.
    `status` is the status list's verdict (`valid` or `invalid`) once the signature checks out."""

    valid: bool
    problem: str | None = None
    detail: str | None = None
    issuer: str | None = None
    vct: str | None = None
    status: str | None = None
    expires_at: int | None = None
    claims: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "problem": self.problem,
            "detail": self.detail,
            "issuer": self.issuer,
            "vct": self.vct,
            "status": self.status,
            "expires_at": self.expires_at,
            "claims": self.claims,
        }


class _Refused(Exception):
    def __init__(self, problem: str, detail: str) -> None:
        super().__init__(detail)
        self.problem, self.detail = problem, detail


def metadata_url(issuer: str) -> str:
    """SD-JWT VC: `/.well-known/jwt-vc-issuer` goes between the issuer's host and its path."""
    parts = urlsplit(issuer)
    return urlunsplit((parts.scheme, parts.netloc, "/.well-known/jwt-vc-issuer" + parts.path.rstrip("/"), "", ""))


async def verify_credential(
    presentation: str,
    *,
    http: httpx.AsyncClient,
    trusted_issuers: Collection[str],
    expected_vct: str | None = None,
    audience: str | None = None,
    nonce: str | None = None,
    now: float | None = None,
) -> CredentialCheck:
    check = CredentialCheck(valid=False)
    try:
        await _verify(presentation, check, http, trusted_issuers, expected_vct, audience, nonce, now or time.time())
    except _Refused as refusal:
        check.problem, check.detail = refusal.problem, refusal.detail
        return check
    except InvalidSdJwt as exc:
        check.problem, check.detail = exc.code, str(exc)
        return check
    check.valid = True
    return check


async def _verify(
    presentation: str,
    check: CredentialCheck,
    http: httpx.AsyncClient,
    trusted_issuers: Collection[str],
    expected_vct: str | None,
    audience: str | None,
    nonce: str | None,
    now: float,
) -> None:
    parts = sdjwt.split(presentation)
    try:
        header = jwt.get_unverified_header(parts.issuer_jwt)
        unverified = jwt.decode(parts.issuer_jwt, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise _Refused("MALFORMED", f"the issuer-signed JWT cannot be read: {exc}") from exc
    if header.get("typ") != CREDENTIAL_TYPE:
        raise _Refused("WRONG_TYPE", f"typ is {header.get('typ')!r}, not {CREDENTIAL_TYPE!r}")
    issuer = unverified.get("iss")
    trusted = {i.rstrip("/") for i in trusted_issuers}
    if not isinstance(issuer, str) or issuer.rstrip("/") not in trusted:
        raise _Refused("UNTRUSTED_ISSUER", f"issuer {issuer!r} is not one this verifier trusts")
    check.issuer = issuer
    keys = await _issuer_keys(http, issuer)
    payload = _verified(parts.issuer_jwt, keys, now=now, typ=CREDENTIAL_TYPE, required=["iss", "iat", "exp", "vct"])
    check.expires_at = int(payload["exp"])
    vct = payload.get("vct")
    check.vct = vct if isinstance(vct, str) else None
    if not isinstance(vct, str) or not vct.startswith(VCT_PREFIX):
        raise _Refused("WRONG_VCT", f"vct {vct!r} is not a certificate type")
    if expected_vct is not None and vct != expected_vct:
        raise _Refused("WRONG_VCT", f"vct is {vct!r}, expected {expected_vct!r}")
    claims = sdjwt.disclose(payload, parts.disclosures)
    _check_key_binding(presentation, parts, payload, audience=audience, nonce=nonce, now=now)
    check.claims = {k: v for k, v in claims.items() if k not in ("iss", "iat", "exp", "vct", "status", "cnf")}
    check.status = await _status(http, payload, keys, now=now)
    if check.status != "valid":
        raise _Refused("REVOKED", "the issuer's status list marks this credential invalid (revoked or replaced)")


async def _issuer_keys(http: httpx.AsyncClient, issuer: str) -> dict[str, jwt.PyJWK]:
    try:
        response = await http.get(metadata_url(issuer), headers={"Accept": "application/json"})
        response.raise_for_status()
        metadata = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise _Refused("ISSUER_METADATA_UNAVAILABLE", f"cannot read the issuer's metadata: {exc}") from exc
    if not isinstance(metadata, dict) or str(metadata.get("issuer", "")).rstrip("/") != issuer.rstrip("/"):
        raise _Refused("ISSUER_METADATA_MISMATCH", "the issuer's metadata names another issuer")
    keys: dict[str, jwt.PyJWK] = {}
    for jwk in (metadata.get("jwks") or {}).get("keys", []):
        try:
            keys[jwk["kid"]] = jwt.PyJWK(jwk)
        except (KeyError, TypeError, jwt.PyJWKError, jwt.InvalidKeyError):
            continue  # a key we cannot use is no key of ours to verify with
    return keys


def _verified(token: str, keys: dict[str, jwt.PyJWK], *, now: float, typ: str, required: list[str]) -> dict[str, Any]:
    header = jwt.get_unverified_header(token)
    key = keys.get(header.get("kid", ""))
    if key is None:
        raise _Refused("UNKNOWN_KEY", "signed with a key the issuer does not publish")
    if header.get("typ") != typ:
        raise _Refused("WRONG_TYPE", f"typ is {header.get('typ')!r}, not {typ!r}")
    try:
        # The algorithm is pinned to the published key's own, never taken from the token's header.
        claims: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=[key.algorithm_name] if key.algorithm_name in ALGORITHMS else [],
            options={"require": required, "verify_aud": False},
            leeway=LEEWAY_SECONDS,
        )
    except jwt.ExpiredSignatureError as exc:
        raise _Refused("EXPIRED", "the credential has expired") from exc
    except jwt.PyJWTError as exc:
        raise _Refused("BAD_SIGNATURE", f"the signature or claims do not verify: {exc}") from exc
    if claims.get("exp", now + 1) < now - LEEWAY_SECONDS:  # PyJWT checks exp against the wall clock
        raise _Refused("EXPIRED", "the credential has expired")
    return claims


def _check_key_binding(
    presentation: str,
    parts: sdjwt.Parts,
    payload: dict[str, Any],
    *,
    audience: str | None,
    nonce: str | None,
    now: float,
) -> None:
    """A credential bound to a holder key (`cnf.jwk`) is accepted only with a KB-JWT by that key over this
    exact presentation (`sd_hash`); one bound to no key has nothing to check (and may carry no KB-JWT)."""
    cnf = payload.get("cnf")
    if parts.key_binding_jwt is None:
        # Bound to a key, it proves nothing without that key's signature: whoever copied it could show it.
        if cnf is not None:
            raise _Refused("KEY_BINDING_MISSING", "a holder-bound credential was presented without a KB-JWT")
        return
    if not isinstance(cnf, dict) or not isinstance(cnf.get("jwk"), dict):
        raise _Refused("KEY_BINDING_UNEXPECTED", "a KB-JWT on a credential bound to no key")
    try:
        holder = jwt.PyJWK(cnf["jwk"])
        header = jwt.get_unverified_header(parts.key_binding_jwt)
        kb = jwt.decode(
            parts.key_binding_jwt,
            holder.key,
            algorithms=[holder.algorithm_name] if holder.algorithm_name in ALGORITHMS else [],
            options={"require": ["iat", "sd_hash"], "verify_aud": audience is not None},
            audience=audience,
            leeway=LEEWAY_SECONDS,
        )
    except jwt.PyJWTError as exc:
        raise _Refused("BAD_KEY_BINDING", f"the KB-JWT does not verify: {exc}") from exc
    if header.get("typ") != KEY_BINDING_TYPE:
        raise _Refused("BAD_KEY_BINDING", "the KB-JWT's typ is not kb+jwt")
    signed_part = presentation.strip()[: -len(parts.key_binding_jwt)]
    if kb.get("sd_hash") != b64url(hashlib.sha256(signed_part.encode("ascii")).digest()):
        raise _Refused("BAD_KEY_BINDING", "the KB-JWT is over another presentation")
    if nonce is not None and kb.get("nonce") != nonce:
        raise _Refused("BAD_KEY_BINDING", "the KB-JWT's nonce is not the verifier's")
    if abs(now - float(kb["iat"])) > 300 + LEEWAY_SECONDS:
        raise _Refused("BAD_KEY_BINDING", "the KB-JWT is not fresh")


async def _status(http: httpx.AsyncClient, payload: dict[str, Any], keys: dict[str, jwt.PyJWK], *, now: float) -> str:
    reference = (payload.get("status") or {}).get("status_list") or {}
    uri, idx = reference.get("uri"), reference.get("idx")
    if not isinstance(uri, str) or not isinstance(idx, int) or isinstance(idx, bool):
        raise _Refused("STATUS_MISSING", "the credential has no status list reference")
    issuer = str(payload["iss"]).rstrip("/")
    if not uri.startswith(issuer + "/"):  # a list elsewhere could say anything about our credential
        raise _Refused("STATUS_UNTRUSTED", "the status list is not the issuer's")
    try:
        response = await http.get(uri, headers={"Accept": statuslist.MEDIA_TYPE})
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise _Refused("STATUS_UNAVAILABLE", f"cannot fetch the status list: {exc}") from exc
    token = _verified(response.text.strip(), keys, now=now, typ=statuslist.TOKEN_TYPE, required=["sub", "iat"])
    if token.get("sub") != uri:
        raise _Refused("STATUS_UNTRUSTED", "the status list token is for another list")
    listing = token.get("status_list") or {}
    try:
        value = statuslist.status_at(str(listing.get("lst")), idx, bits=int(listing.get("bits", 1)))
    except (ValueError, IndexError) as exc:
        raise _Refused("STATUS_UNAVAILABLE", f"the status list cannot be read: {exc}") from exc
    return "valid" if value == statuslist.VALID else "invalid"
