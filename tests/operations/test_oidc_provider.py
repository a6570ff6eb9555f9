"""AUTH_OIDC_ISSUER_URL, AUTH_CLAIM_*, AUTH_ROLE_MAP, AUTH_JWKS_CACHE_SECONDS: tokens from a real OpenID
Connect provider (oidc-provider-mock, over HTTP), found by discovery. The provider issues RFC 9068 access
tokens without `jti`, as stock providers do, and an ID token beside each, which must be refused."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from app.api.collaborators import collaborators_of
from app.auth.oidc import OidcJwks
from app.config import Settings
from app.main import create_app
from tests.builders import ZHANG_WEI, file, no_criminal_record
from tests.operations.oidc_login import CLIENT_ID, Tokens, login, running_provider

CLAIM_SETTINGS = {
    "auth_claim_roles": "cityservices.roles",
    "auth_claim_id_number": "resident_id",
    "auth_claim_name": "name",
    "auth_claim_station": "police_station",
}


def _claims_of(token: str) -> dict[str, Any]:
    import base64
    import json

    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


@pytest.fixture(scope="module")
def issuer() -> Any:
    with running_provider() as url:
        yield url


@pytest.fixture
async def oidc_client(settings: Settings, issuer: str, collaborators: Any) -> AsyncIterator[httpx.AsyncClient]:
    configured = settings.model_copy(
        update={
            "auth_oidc_issuer_url": issuer,
            "auth_audience": CLIENT_ID,
            "auth_jwks_cache_seconds": 60,
            **CLAIM_SETTINGS,
        }
    )
    app = create_app(configured, start_worker=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=30) as client:
            yield client


def _citizen_login(issuer: str, id_number: str, name: str) -> Tokens:
    # The provider's own claim names (see CLAIM_SETTINGS); no jti, as a stock provider issues them.
    return login(
        issuer,
        sub=f"user-{uuid.uuid4()}",
        claims={"cityservices": {"roles": ["citizen"]}, "resident_id": id_number, "name": name},
    )


def _citizen_token(issuer: str, id_number: str, name: str) -> str:
    return _citizen_login(issuer, id_number, name).access_token


async def test_a_citizen_logged_in_at_the_provider_files_with_its_access_token(oidc_client, issuer):
    tokens = _citizen_login(issuer, ZHANG_WEI[0], ZHANG_WEI[1])
    assert "jti" not in _claims_of(tokens.access_token)  # a stock access token: jti is optional (RFC 9068)
    headers = {"Authorization": f"Bearer {tokens.access_token}"}

    response = await file(oidc_client, headers, no_criminal_record())

    assert response.status_code in (200, 201, 202), response.text
    assert response.json()["status"] == "issued"
    mine = await oidc_client.get("/v1/applications", headers=headers)
    assert [a["id"] for a in mine.json()["items"]] == [response.json()["id"]]


async def test_a_clerk_claim_named_by_the_settings_is_read(oidc_client, issuer):
    token = login(
        issuer,
        sub="clerk-9",
        claims={
            "cityservices": {"roles": ["clerk"]},
            "name": "窗口民警",
            "police_station": "310105-HQLB",
        },
    ).access_token
    response = await oidc_client.get("/v1/review-queue", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text


async def test_a_token_with_the_default_claim_names_lacks_what_this_provider_is_configured_for(oidc_client, issuer):
    token = login(
        issuer,
        sub="someone",
        claims={"roles": ["citizen"], "id_number": ZHANG_WEI[0], "name": ZHANG_WEI[1]},
    ).access_token
    response = await oidc_client.get("/v1/applications", headers={"Authorization": f"Bearer {token}"})
    # Genuine (signed by the provider) but no role under the configured claim name: 403, not 401.
    assert response.status_code == 403
    assert response.json()["code"] == "FORBIDDEN"
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_token_for_another_audience_is_refused(settings, issuer, collaborators):
    configured = settings.model_copy(
        update={"auth_oidc_issuer_url": issuer, "auth_audience": "someone-else", **CLAIM_SETTINGS}
    )
    app = create_app(configured, start_worker=False)
    token = _citizen_token(issuer, ZHANG_WEI[0], ZHANG_WEI[1])
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            response = await client.get("/v1/applications", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


async def test_discovery_must_name_the_configured_issuer_exactly(issuer):
    # The provider calls itself http://127.0.0.1:<port> (no slash): a look-alike configured issuer is not it.
    keys = OidcJwks(issuer + "/", min_retry_interval_s=0)
    with pytest.raises(Exception, match="has not succeeded"):
        await keys.key_for("any")
    assert keys.jwks is None


async def test_an_unreachable_provider_is_a_503_not_a_401(settings, collaborators):
    configured = settings.model_copy(update={"auth_oidc_issuer_url": "http://127.0.0.1:9", **CLAIM_SETTINGS})
    app = create_app(configured, start_worker=False)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            token = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsiLCJ0eXAiOiJKV1QifQ.e30.c2ln"
            response = await client.get("/v1/applications", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 503
    assert response.json()["code"] == "IDENTITY_PROVIDER_UNAVAILABLE"


def test_the_jwks_cache_lifetime_is_a_setting():
    assert Settings(auth_jwks_cache_seconds=42).auth_jwks_cache_seconds == 42
    with pytest.raises(ValueError):
        Settings(auth_jwks_cache_seconds=0)


async def test_the_id_token_from_the_same_login_is_refused_with_its_own_code(oidc_client, issuer):
    tokens = _citizen_login(issuer, ZHANG_WEI[0], ZHANG_WEI[1])
    by_id_token = await oidc_client.get("/v1/applications", headers={"Authorization": f"Bearer {tokens.id_token}"})
    assert by_id_token.status_code == 401, by_id_token.text
    assert by_id_token.json()["code"] == "ID_TOKEN_NOT_ACCEPTED"
    assert by_id_token.headers["content-type"].startswith("application/problem+json")
    by_access_token = {"Authorization": f"Bearer {tokens.access_token}"}
    assert (await oidc_client.get("/v1/applications", headers=by_access_token)).status_code == 200


async def _client_for(configured: Settings) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    app = create_app(configured, start_worker=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=30) as client:
            yield app, client


async def test_the_providers_role_values_are_mapped_to_ours(settings, issuer, collaborators):
    role_map = {"cs-citizen": "citizen", "cs-window-clerk": "clerk"}
    configured = settings.model_copy(
        update={"auth_oidc_issuer_url": issuer, "auth_audience": CLIENT_ID, **CLAIM_SETTINGS, "auth_role_map": role_map}
    )
    citizen = login(
        issuer,
        sub=f"user-{uuid.uuid4()}",
        claims={
            "cityservices": {"roles": ["cs-citizen", "offline_access"]},
            "resident_id": ZHANG_WEI[0],
            "name": "张伟",
        },
    ).access_token
    clerk = login(
        issuer,
        sub=f"clerk-{uuid.uuid4()}",
        claims={"cityservices": {"roles": ["cs-window-clerk"]}, "name": "窗口民警", "police_station": "310105-HQLB"},
    ).access_token
    ours_unmapped = login(
        issuer,
        sub=f"user-{uuid.uuid4()}",
        claims={"cityservices": {"roles": ["citizen", "auditor"]}, "resident_id": ZHANG_WEI[0], "name": "张伟"},
    ).access_token
    async for _, client in _client_for(configured):
        filed = await file(client, {"Authorization": f"Bearer {citizen}"}, no_criminal_record())
        assert filed.status_code == 201 and filed.json()["channel"] == "online", filed.text
        queue = await client.get("/v1/review-queue", headers={"Authorization": f"Bearer {clerk}"})
        assert queue.status_code == 200, queue.text
        # Set, the map is the whole truth: values spelt like ours but not in it grant nothing.
        refused = await client.get("/v1/applications", headers={"Authorization": f"Bearer {ours_unmapped}"})
        assert refused.status_code == 403 and refused.json()["code"] == "FORBIDDEN"


async def test_a_jwks_cache_under_a_minute_takes_effect(settings, issuer, collaborators):
    token = _citizen_token(issuer, ZHANG_WEI[0], ZHANG_WEI[1])
    headers = {"Authorization": f"Bearer {token}"}
    configured = settings.model_copy(
        update={
            "auth_jwks_url": f"{issuer}/jwks",
            "auth_issuer": issuer,
            "auth_audience": CLIENT_ID,
            # Seconds, not less: on a loaded machine the start-up fetch and two requests can take 0.5 s.
            "auth_jwks_cache_seconds": 3,
            **CLAIM_SETTINGS,
        }
    )
    async for app, client in _client_for(configured):
        keys = collaborators_of(app).token_verifier.keys
        assert (await client.get("/v1/applications", headers=headers)).status_code == 200
        assert (await client.get("/v1/applications", headers=headers)).status_code == 200
        assert keys.fetch_count == 1  # reused within its lifetime
        await asyncio.sleep(3.2)
        assert (await client.get("/v1/applications", headers=headers)).status_code == 200
        assert keys.fetch_count == 2  # refetched after 3 s, not after the 60 s refresh interval


async def _readyz(settings: Settings) -> httpx.Response:
    app = create_app(settings, start_worker=False)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            return await client.get("/readyz")


async def test_readiness_holds_while_discovery_and_keys_load(settings, issuer, collaborators):
    ready = await _readyz(settings.model_copy(update={"auth_oidc_issuer_url": issuer, **CLAIM_SETTINGS}))
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["identity_provider"] == "ok"


@pytest.mark.parametrize("where", ["issuer with a trailing slash", "unreachable issuer"])
async def test_an_issuer_whose_discovery_fails_makes_the_service_not_ready(
    settings, issuer, collaborators, where, caplog
):
    # The provider calls itself http://127.0.0.1:<port>; with a slash its discovery document names another issuer.
    configured = issuer + "/" if where.startswith("issuer") else "http://127.0.0.1:9"
    with caplog.at_level(logging.WARNING, logger="app.auth.oidc"):
        ready = await _readyz(settings.model_copy(update={"auth_oidc_issuer_url": configured, **CLAIM_SETTINGS}))
    assert ready.status_code == 503, ready.text
    body = ready.json()
    assert body["status"] == "not_ready" and body["checks"]["identity_provider"] == "unavailable"
    assert body["checks"]["database"] == "ok" and "identity_provider" in body["unavailable"]
    if where.startswith("issuer"):
        # Not ready, and the log says the one-character fix.
        assert "set AUTH_OIDC_ISSUER_URL to exactly that" in caplog.text and repr(issuer) in caplog.text


async def test_an_issuer_with_a_trailing_slash_is_not_ready_and_every_call_agrees(settings, issuer, collaborators):
    configured = settings.model_copy(update={"auth_oidc_issuer_url": issuer + "/", **CLAIM_SETTINGS})
    token = _citizen_token(issuer, ZHANG_WEI[0], ZHANG_WEI[1])
    async for _, client in _client_for(configured):
        ready = await client.get("/readyz")
        call = await client.get("/v1/applications", headers={"Authorization": f"Bearer {token}"})
    # Never "ready" while calls fail: both say the identity provider cannot be used.
    assert ready.status_code == 503 and call.status_code == 503
    assert call.json()["code"] == "IDENTITY_PROVIDER_UNAVAILABLE"


async def test_a_jwks_url_that_cannot_be_loaded_makes_the_service_not_ready(settings, issuer, collaborators):
    missing = settings.model_copy(update={"auth_jwks_url": f"{issuer}/no-such-jwks.json"})
    ready = await _readyz(missing)
    assert ready.status_code == 503 and ready.json()["checks"]["identity_provider"] == "unavailable", ready.text
