"""Issuing a certificate's wallet credential (an SD-JWT VC), and serving the status lists it points into."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from sqlalchemy.ext.asyncio import AsyncSession

from app.applications import repository as applications
from app.audit.context import RequestContext
from app.auth.principal import Principal
from app.certificates.errors import CertificateNotFound
from app.certificates.fields import certificate_fields, refuse_unless_valid
from app.certificates.service import visible
from app.clock import Clock
from app.credentials import repository, sdjwt, statuslist
from app.credentials.encoding import b64url_decode
from app.credentials.errors import InvalidHolderKey, StatusListNotFound
from app.credentials.keys import IssuerKeys
from app.db.uow import UnitOfWork
from app.errors import ConcurrentChange
from app.identity.subjects import SubjectHasher

CREDENTIAL_TYPE = "dc+sd-jwt"
CREDENTIAL_MEDIA_TYPE = "application/dc+sd-jwt"
VCT_PREFIX = "urn:cityservices:vct:"
# The status list token's own lifetime; a verifier refetches after its `ttl` anyway.
STATUS_LIST_LIFETIME = timedelta(days=1)


def vct_of(service: str) -> str:
    """The credential type names the service: `urn:cityservices:vct:residence-permit`."""
    return f"{VCT_PREFIX}{service}"


@dataclass(frozen=True)
class CredentialIssuer:
    """The issuer's identity (`iss` = PUBLIC_BASE_URL) and keys; built once in the lifespan."""

    keys: IssuerKeys
    issuer: str

    @classmethod
    def of(cls, keys: IssuerKeys, public_base_url: str) -> CredentialIssuer:
        return cls(keys=keys, issuer=public_base_url.rstrip("/"))

    def status_list_uri(self, list_id: int) -> str:
        return f"{self.issuer}/v1/status-lists/{list_id}"

    def metadata(self) -> dict[str, Any]:
        """The JWT VC Issuer Metadata that `/.well-known/jwt-vc-issuer` answers."""
        return {"issuer": self.issuer, "jwks": self.keys.jwks()}


async def credential(
    *,
    work: UnitOfWork,
    hasher: SubjectHasher,
    issuer: CredentialIssuer,
    clock: Clock,
    ctx: RequestContext,
    principal: Principal,
    serial: str,
    holder_jwk: str | None = None,
) -> str:
    """The holder's certificate as an SD-JWT VC, every field a disclosure; bound to the holder's key
    (`cnf`) when the wallet sent one."""
    session = work.session
    certificate = await visible(session=session, hasher=hasher, principal=principal, serial=serial, ctx=ctx)
    now = clock()
    refuse_unless_valid(certificate, now=now)
    application = await applications.get(session, certificate.application_id)
    if application is None:  # a certificate always has its application (foreign key)
        raise CertificateNotFound()
    cnf = {"jwk": holder_public_jwk(holder_jwk)} if holder_jwk else None
    entry = await repository.entry_of(session, certificate.serial)
    if entry is None:
        entry = await repository.take_entry(session, certificate.serial)
    claims: dict[str, Any] = {
        "iss": issuer.issuer,
        "iat": _seconds(now),
        "exp": _seconds(certificate.expires_at),
        "vct": vct_of(certificate.service),
        "status": {"status_list": {"idx": entry.idx, "uri": issuer.status_list_uri(entry.list_id)}},
    }
    if cnf:
        claims["cnf"] = cnf
    token = sdjwt.issue(
        sign=lambda payload: issuer.keys.sign(payload, typ=CREDENTIAL_TYPE),
        claims=claims,
        disclosable=certificate_fields(certificate, id_number=application.applicant_id_number),
    )
    await work.commit(stale=ConcurrentChange)
    return token


def holder_public_jwk(encoded: str) -> dict[str, Any]:
    """The wallet's public key (a JWK, base64url-encoded JSON): P-256 EC or RSA, public members only."""
    try:
        jwk = json.loads(b64url_decode(encoded))
    except ValueError as exc:
        raise InvalidHolderKey("holder_jwk is not base64url-encoded JSON") from exc
    if not isinstance(jwk, dict):
        raise InvalidHolderKey("holder_jwk is not a JWK object")
    members: tuple[str, ...]
    if jwk.get("kty") == "EC" and jwk.get("crv") == "P-256":
        members = ("kty", "crv", "x", "y")
    elif jwk.get("kty") == "RSA":
        members = ("kty", "n", "e")
    else:
        raise InvalidHolderKey("holder_jwk must be an EC P-256 or RSA public key")
    if "d" in jwk:  # a private key sent over the wire is compromised: refuse rather than embed it
        raise InvalidHolderKey("holder_jwk must be a public key")
    public = {name: jwk.get(name) for name in members}
    if not all(isinstance(v, str) and v for v in public.values()):
        raise InvalidHolderKey("holder_jwk lacks members of its key type")
    try:
        jwt.PyJWK(public)
    except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError) as exc:
        raise InvalidHolderKey("holder_jwk is not a valid public key") from exc
    return public


async def status_list_token(*, session: AsyncSession, issuer: CredentialIssuer, list_id: int, now: datetime) -> str:
    if list_id < 1 or not await repository.list_exists(session, list_id):
        raise StatusListNotFound()
    invalid = await repository.invalid_indices(session, list_id)
    claims = {
        "iss": issuer.issuer,
        "sub": issuer.status_list_uri(list_id),
        "iat": _seconds(now),
        "exp": _seconds(now + STATUS_LIST_LIFETIME),
        "ttl": statuslist.TTL_SECONDS,
        "status_list": {"bits": 1, "lst": statuslist.encode(invalid)},
    }
    return issuer.keys.sign(claims, typ=statuslist.TOKEN_TYPE)


def _seconds(at: datetime) -> int:
    return int(at.timestamp())
