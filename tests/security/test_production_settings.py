"""Production hardening (issue 13, item 11; issue 27): /docs off unless DOCS_ENABLED=true and then served
without a CDN; an http:// JWKS URL, OIDC issuer or token-carrying agency URL refused, and a webhook aimed at
instance metadata; every 429 the service can answer documented in openapi.json."""

from __future__ import annotations

import inspect
import json
import subprocess
from pathlib import Path

import httpx
import pytest
from fastapi.routing import APIRoute
from pydantic import ValidationError

from app.auth.dev_keys import ensure_dev_keys
from app.certificates.signing import ensure_dev_signing_material
from app.config import Settings
from app.main import create_app
from tests.servers import CITYSERVICES, free_port, service_env

OPENAPI = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"


def _production(data_dir: Path, **overrides) -> Settings:
    key, cert = ensure_dev_signing_material(data_dir)
    values = {
        "environment": "production",
        "data_dir": data_dir,
        "auth_jwks_file": ensure_dev_keys(data_dir),
        "signing_key_file": key,
        "signing_cert_file": cert,
        "police_api_url": "https://police.example",
        "housing_api_url": "https://housing.example",
        "audit_hmac_key": "k" * 32,
        "database_url": "postgresql+asyncpg://nobody@127.0.0.1:1/none",  # never connected: no lifespan here
    }
    return Settings(**{**values, **overrides})


async def _get(app, path: str) -> httpx.Response:
    # No lifespan: /docs and its assets need nothing the lifespan builds.
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        return await client.get(path)


async def test_docs_are_off_in_production(tmp_path):
    app = create_app(_production(tmp_path), start_worker=False)
    for path in ("/docs", "/redoc", "/docs/assets/swagger-ui-bundle.js"):
        assert (await _get(app, path)).status_code == 404, path


@pytest.mark.parametrize("production", [True, False])
async def test_docs_when_served_need_no_cdn(tmp_path, settings, production):
    app = create_app(_production(tmp_path, docs_enabled=True) if production else settings, start_worker=False)
    page = await _get(app, "/docs")
    assert page.status_code == 200
    assert "cdn." not in page.text and "https://" not in page.text.split("<body>")[-1].split("</script>")[0]
    assert "/docs/assets/swagger-ui-bundle.js" in page.text and "/docs/assets/swagger-ui.css" in page.text
    script = await _get(app, "/docs/assets/swagger-ui-bundle.js")
    assert script.status_code == 200 and len(script.content) > 100_000
    assert (await _get(app, "/docs/assets/swagger-ui.css")).status_code == 200
    redoc = await _get(app, "/redoc")
    assert redoc.status_code == 200 and "/docs/assets/redoc.standalone.js" in redoc.text


def test_an_http_jwks_url_is_refused_in_production(tmp_path):
    with pytest.raises(ValidationError, match="http:// AUTH_JWKS_URL"):
        _production(tmp_path, auth_jwks_file=None, auth_jwks_url="http://idp.example/jwks")
    assert _production(tmp_path, auth_jwks_file=None, auth_jwks_url="https://idp.example/jwks").auth_jwks_url


def _may_answer_429(route: APIRoute) -> set[str]:
    """The 429 codes a route can answer, read from what it does: a rate limiter check, or an upload route
    (the middleware bounds uploads in flight per address)."""
    codes = set()
    if "limiter.check" in inspect.getsource(route.endpoint):
        codes.add("RATE_LIMITED")
    if route.path in ("/v1/materials", "/v1/verify") and "POST" in route.methods:
        codes.add("TOO_MANY_CONCURRENT_UPLOADS")
    return codes


def _api_routes(routes) -> list[APIRoute]:
    found = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):  # FastAPI's included routers (0.16x)
            found.extend(_api_routes(route.original_router.routes))
    return found


def test_every_429_the_service_can_answer_is_in_openapi_json(settings):
    document = json.loads(OPENAPI.read_text(encoding="utf-8"))
    routes = [r for r in _api_routes(create_app(settings, start_worker=False).routes) if r.include_in_schema]
    checked = 0
    for route in routes:
        expected = _may_answer_429(route)
        if not expected:
            continue
        for method in route.methods:
            documented = document["paths"][route.path][method.lower()]["responses"].get("429")
            assert documented is not None, f"{method} {route.path} answers 429 undocumented"
            if "application/problem+json" in documented.get("content", {}):  # the HTML page words its own
                assert expected <= set(documented["description"].split(", ")), (route.path, documented)
            checked += 1
    assert checked >= 5  # filing, uploads, both verifications, the verification page


def _production_env(data_dir: Path, **overrides: str) -> dict[str, str]:
    key, cert = ensure_dev_signing_material(data_dir)
    values = {
        "ENVIRONMENT": "production",
        "AUTH_JWKS_FILE": str(ensure_dev_keys(data_dir)),
        "SIGNING_KEY_FILE": str(key),
        "SIGNING_CERT_FILE": str(cert),
        "POLICE_API_URL": "https://police.example",
        "HOUSING_API_URL": "https://housing.example",
        "AUDIT_HMAC_KEY": "k" * 32,
        "DATABASE_URL": "postgresql+asyncpg://nobody@127.0.0.1:1/none",
    }
    return {k: v for k, v in service_env(data_dir, **{**values, **overrides}).items() if v != ""}


@pytest.mark.parametrize(
    "overrides,named",
    [
        ({"AUTH_JWKS_FILE": "", "AUTH_OIDC_ISSUER_URL": "http://idp.example/realms/city"}, "AUTH_OIDC_ISSUER_URL"),
        ({"POLICE_API_URL": "http://police.example", "POLICE_API_TOKEN": "s3cret-token"}, "POLICE_API_TOKEN"),
        ({"HOUSING_API_URL": "http://housing.example", "HOUSING_API_TOKEN": "s3cret-token"}, "HOUSING_API_TOKEN"),
        (
            {"NOTIFY_WEBHOOK_URL": "http://169.254.169.254/latest/meta-data/", "NOTIFY_WEBHOOK_SECRET": "x" * 32},
            "NOTIFY_WEBHOOK_URL",
        ),
        ({"NOTIFY_WEBHOOK_URL": "http://[fe80::1]/hook", "NOTIFY_WEBHOOK_SECRET": "x" * 32}, "NOTIFY_WEBHOOK_URL"),
        ({"NOTIFY_WEBHOOK_URL": "http://0xa9fea9fe/", "NOTIFY_WEBHOOK_SECRET": "x" * 32}, "NOTIFY_WEBHOOK_URL"),
        (
            {"NOTIFY_WEBHOOK_URL": "http://metadata.google.internal/", "NOTIFY_WEBHOOK_SECRET": "x" * 32},
            "NOTIFY_WEBHOOK_URL",
        ),
    ],
)
def test_production_refuses_clear_text_credentials_and_metadata_webhooks_in_one_line(tmp_path, overrides, named):
    env = _production_env(tmp_path, **overrides)
    result = subprocess.run(
        [*CITYSERVICES, "serve", "--port", str(free_port())], env=env, capture_output=True, text=True, timeout=60
    )
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode != 0 and len(lines) == 1, result.stderr
    assert named in lines[0], lines[0]
    assert "s3cret-token" not in result.stderr


def test_what_production_refuses_over_http_it_accepts_over_https(tmp_path):
    assert _production(tmp_path, police_api_token="t", housing_api_token="t").police_api_token is not None
    assert _production(tmp_path, auth_jwks_file=None, auth_oidc_issuer_url="https://idp.example").dev_auth is False
    with pytest.raises(ValidationError, match="http:// issuer"):
        _production(tmp_path, auth_jwks_file=None, auth_oidc_issuer_url="http://idp.example")
    # Clear text that never leaves the machine (a sidecar, a tunnel's end) is not refused.
    local = _production(tmp_path, auth_jwks_file=None, auth_oidc_issuer_url="http://127.0.0.1:8080/realms/city")
    assert local.auth_oidc_issuer_url is not None
    assert _production(tmp_path, police_api_url="http://localhost:8101", police_api_token="t").police_api_token
    # Development keeps its http:// simulators and local identity providers.
    assert Settings(data_dir=tmp_path, police_api_url="http://127.0.0.1:8101", police_api_token="t").police_api_token
