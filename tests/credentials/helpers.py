"""Builders for the wallet-credential tests: an issued certificate, its credential, and a holder's key."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from app.credentials.verifier import CredentialCheck, verify_credential
from tests.builders import ZHANG_WEI, file_residence_permit

ISSUER = "http://testserver"  # the test settings' PUBLIC_BASE_URL
PERMIT_VCT = "urn:cityservices:vct:residence-permit"


async def issued_permit(client: httpx.AsyncClient, tokens: Any) -> tuple[str, dict[str, str]]:
    headers = tokens.citizen(*ZHANG_WEI[:2])
    application = (await file_residence_permit(client, headers, ZHANG_WEI[2])).json()
    assert application["status"] == "issued", application
    return application["certificate"]["serial"], headers


async def credential_of(client: httpx.AsyncClient, serial: str, headers: dict[str, str], **params: str) -> str:
    response = await client.get(f"/v1/certificates/{serial}/credential", headers=headers, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/dc+sd-jwt"
    return response.text


async def verify(client: httpx.AsyncClient, presentation: str, **options: Any) -> CredentialCheck:
    return await verify_credential(presentation, http=client, trusted_issuers=[ISSUER], **options)


def payload_of(sd_jwt: str) -> dict[str, Any]:
    return dict(jwt.decode(sd_jwt.split("~")[0], options={"verify_signature": False}))


def holder_key() -> tuple[ec.EllipticCurvePrivateKey, str]:
    """A wallet's key pair, and its public JWK as the credential endpoint takes it (base64url JSON)."""
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    encoded = base64.urlsafe_b64encode(json.dumps(jwk).encode()).rstrip(b"=").decode()
    return key, encoded


def key_binding_jwt(key: ec.EllipticCurvePrivateKey, presentation: str, *, aud: str, nonce: str) -> str:
    """The holder's proof of possession over exactly this presentation (SD-JWT's KB-JWT)."""
    import hashlib

    sd_hash = base64.urlsafe_b64encode(hashlib.sha256(presentation.encode()).digest()).rstrip(b"=").decode()
    claims = {"iat": int(time.time()), "aud": aud, "nonce": nonce, "sd_hash": sd_hash}
    return jwt.encode(claims, key, algorithm="ES256", headers={"typ": "kb+jwt"})
