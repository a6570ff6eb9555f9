"""AUTH_OIDC_ISSUER_URL and AUTH_CLAIM_*: tokens from a real OpenID Connect provider, found by discovery."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from app.auth.oidc import OidcJwks
from app.config import Settings
from app.main import create_app
from tests.builders import ZHANG_WEI, file, no_criminal_record
from tests.operations.oidc_login import CLIENT_ID, login, running_provider

CLAIM_SETTINGS = {
    "auth_claim_roles": "cityservices.roles",
    "auth_claim_id_number": "resident_id",
    "auth_claim_name": "name",
    "auth_claim_station": "police_station",
}


@pytest.fixture(scope="module")
def issuer() -> Any:
    with running_provider() as url:
        yield url


@pytest.fixture
async def oidc_client(settings: Settings, issuer: str, runtime: Any) -> AsyncIterator[httpx.AsyncClient]:
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


def _citizen_token(issuer: str, id_number: str, name: str) -> str:
    # The provider's own claim names (see CLAIM_SETTINGS); jti because CONTRACT §1 requires one.
    return login(
        issuer,
        sub=f"user-{uuid.uuid4()}",
        claims={
            "cityservices": {"roles": ["citizen"]},
            "resident_id": id_number,
            "name": name,
            "jti": str(uuid.uuid4()),
        },
    )


async def test_a_citizen_logged_in_at_the_provider_files_with_its_id_token(oidc_client, issuer):
    token = _citizen_token(issuer, ZHANG_WEI[0], ZHANG_WEI[1])
    headers = {"Authorization": f"Bearer {token}"}

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
            "jti": str(uuid.uuid4()),
        },
    )
    response = await oidc_client.get("/v1/review-queue", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text


async def test_a_token_with_the_default_claim_names_lacks_what_this_provider_is_configured_for(oidc_client, issuer):
    token = login(
        issuer,
        sub="someone",
        claims={"roles": ["citizen"], "id_number": ZHANG_WEI[0], "name": ZHANG_WEI[1], "jti": str(uuid.uuid4())},
    )
    response = await oidc_client.get("/v1/applications", headers={"Authorization": f"Bearer {token}"})
    # Genuine (signed by the provider) but no role under the configured claim name: 403 (CONTRACT 10.1).
    assert response.status_code == 403
    assert response.json()["code"] == "FORBIDDEN"
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_token_for_another_audience_is_refused(settings, issuer, runtime):
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


async def test_an_unreachable_provider_is_a_503_not_a_401(settings, runtime):
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


async def _readyz(settings: Settings) -> httpx.Response:
    app = create_app(settings, start_worker=False)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            return await client.get("/readyz")


async def test_readiness_holds_while_discovery_and_keys_load(settings, issuer, runtime):
    ready = await _readyz(settings.model_copy(update={"auth_oidc_issuer_url": issuer, **CLAIM_SETTINGS}))
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["identity_provider"] == "ok"


@pytest.mark.parametrize("where", ["issuer with a trailing slash", "unreachable issuer"])
async def test_an_issuer_whose_discovery_fails_makes_the_service_not_ready(settings, issuer, runtime, where):
    # The provider calls itself http://127.0.0.1:<port>; with a slash its discovery document names another issuer.
    configured = issuer + "/" if where.startswith("issuer") else "http://127.0.0.1:9"
    ready = await _readyz(settings.model_copy(update={"auth_oidc_issuer_url": configured, **CLAIM_SETTINGS}))
    assert ready.status_code == 503, ready.text
    body = ready.json()
    assert body["status"] == "not_ready" and body["checks"]["identity_provider"] == "unavailable"
    assert body["checks"]["database"] == "ok" and "identity_provider" in body["unavailable"]


async def test_a_jwks_url_that_cannot_be_loaded_makes_the_service_not_ready(settings, issuer, runtime):
    missing = settings.model_copy(update={"auth_jwks_url": f"{issuer}/no-such-jwks.json"})
    ready = await _readyz(missing)
    assert ready.status_code == 503 and ready.json()["checks"]["identity_provider"] == "unavailable", ready.text
