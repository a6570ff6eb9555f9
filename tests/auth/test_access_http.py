"""Callers and tokens (docs/api.md#callers-and-tokens) over HTTP against the real app: every refusal is a problem
document and reaches no handler."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid

import pytest
from sqlalchemy import func, select

from app.applications.models import Application
from app.auth.tokens import sign_token
from tests.builders import LI_NA, ZHANG_WEI, file, no_criminal_record

ISSUER, AUDIENCE = "cityservices-dev", "cityservices"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _claims(**overrides):
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "u1",
        "iat": now,
        "exp": now + 600,
        "jti": uuid.uuid4().hex,
        "roles": ["citizen"],
        "id_number": ZHANG_WEI[0],
        "name": ZHANG_WEI[1],
    }
    claims.update(overrides)
    return claims


@pytest.fixture(scope="module")
def dev_key(data_dir):
    jwks = json.loads((data_dir / "auth-dev-jwks.json").read_text())
    key = jwks["keys"][0]
    pem = (data_dir / "auth-dev-es256.pem").read_bytes()
    return key["kid"], pem, key


def _signed(dev_key, **overrides) -> str:
    kid, pem, _ = dev_key
    return sign_token(_claims(**overrides), pem, algorithm="ES256", kid=kid)


def _alg_none(dev_key) -> str:
    header = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": dev_key[0]}).encode())
    return f"{header}.{_b64(json.dumps(_claims()).encode())}."


def _hs256_with_public_key(dev_key) -> str:
    kid, _, jwk = dev_key
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    payload = _b64(json.dumps(_claims()).encode())
    secret = json.dumps(jwk).encode()
    signature = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def _bad_signature(dev_key) -> str:
    token = _signed(dev_key)
    head, payload, signature = token.split(".")
    flipped = _b64(bytes(b ^ 1 for b in base64.urlsafe_b64decode(signature + "==")))
    return f"{head}.{payload}.{flipped}"


REFUSALS = {
    "malformed": lambda k: "not-a-token",
    "alg none": _alg_none,
    "HS256 with the public key": _hs256_with_public_key,
    "unknown kid": lambda k: sign_token(_claims(), k[1], algorithm="ES256", kid="someone-else"),
    "bad signature": _bad_signature,
    "expired": lambda k: _signed(k, exp=int(time.time()) - 120, iat=int(time.time()) - 900),
    "not yet valid": lambda k: _signed(k, nbf=int(time.time()) + 600),
    "wrong issuer": lambda k: _signed(k, iss="someone-else"),
    "wrong audience": lambda k: _signed(k, aud="another-service"),
    "citizen without a valid id number": lambda k: _signed(k, id_number="330106198803120151"),
    "expires more than a day ahead": lambda k: _signed(k, exp=int(time.time()) + 2 * 86400),
}


async def _applications(collaborators) -> int:
    async with collaborators.sessionmaker() as session:
        return int((await session.execute(select(func.count()).select_from(Application))).scalar_one())


async def test_no_token_is_401(client):
    response = await client.post("/v1/applications", json=no_criminal_record())
    assert response.status_code == 401
    assert response.json()["code"] == "UNAUTHENTICATED"
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("name", list(REFUSALS))
async def test_refused_tokens_are_401_problems_and_reach_no_handler(client, collaborators, dev_key, name):
    token = REFUSALS[name](dev_key)
    response = await client.post(
        "/v1/applications", headers={"Authorization": f"Bearer {token}"}, json=no_criminal_record()
    )
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "UNAUTHENTICATED"
    assert await _applications(collaborators) == 0


async def test_a_valid_token_without_the_role_is_403(client, tokens):
    response = await client.get("/v1/audit/events", headers=tokens.citizen(*ZHANG_WEI[:2]))
    assert response.status_code == 403 and response.json()["code"] == "FORBIDDEN"
    clerk_reads_citizen_view = await client.get("/v1/me/data-access", headers=tokens.clerk())
    assert clerk_reads_citizen_view.status_code == 403


@pytest.mark.parametrize("roles", [["mayor"], [], None, ["", "root"]])
async def test_a_genuine_token_with_no_accepted_role_is_403_not_401(client, collaborators, dev_key, roles):
    # The signature is good, so the caller is known; they simply may not do this (docs/api.md#callers-and-tokens).
    claims = _claims(roles=roles)
    if roles is None:
        del claims["roles"]  # absent altogether
    token = sign_token(claims, dev_key[1], algorithm="ES256", kid=dev_key[0])
    response = await client.post(
        "/v1/applications", headers={"Authorization": f"Bearer {token}"}, json=no_criminal_record()
    )
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "FORBIDDEN"
    assert await _applications(collaborators) == 0


async def test_a_citizen_reaching_for_anothers_application_gets_404(client, tokens):
    theirs = (await file(client, tokens.citizen(*LI_NA[:2]), no_criminal_record())).json()
    response = await client.get(f"/v1/applications/{theirs['id']}", headers=tokens.citizen(*ZHANG_WEI[:2]))
    assert response.status_code == 404
    missing = await client.get(
        "/v1/applications/00000000-0000-0000-0000-000000000000", headers=tokens.citizen(*ZHANG_WEI[:2])
    )
    assert response.json() == {**missing.json()}  # indistinguishable from a missing one


async def test_a_token_from_the_dev_command_is_accepted(client, tokens):
    response = await client.get("/v1/applications", headers=tokens.citizen(*ZHANG_WEI[:2]))
    assert response.status_code == 200
