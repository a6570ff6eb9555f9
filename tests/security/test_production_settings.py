"""Production hardening (issue 13, item 11): /docs off unless DOCS_ENABLED=true and then served without a
CDN; an http:// JWKS URL refused; every 429 the service can answer documented in openapi.json."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import httpx
import pytest
from fastapi.routing import APIRoute
from pydantic import ValidationError

from app.auth.dev_keys import ensure_dev_keys
from app.certificates.signing import ensure_dev_signing_material
from app.config import Settings
from app.main import create_app

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
