"""Framework-level behaviour over HTTP: problem documents, request ids, health, metrics, headers."""

from __future__ import annotations

import json
import os
import re

import httpx
import pytest
from starlette.routing import Match

from app.api.middleware import new_request_id
from app.main import SERVED_FIRST, create_app


def _is_problem(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["code"] == code
    assert body["type"].startswith("urn:cityservices:problem:") and body["title"] and body["detail"]
    return body


async def test_the_routes_served_first_take_no_request_meant_for_another(app):
    """The hottest routes are the app's own first routes (app/main.py): no other operation's path, its
    parameters filled in, may be matched by them."""
    first = [route for router in SERVED_FIRST for route in router.routes]
    assert app.router.routes[: len(first)] == first
    theirs = {(method.upper(), route.path) for route in first for method in route.methods}
    others = [
        (method.upper(), re.sub(r"\{[^}]+\}", "x-1", path))
        for path, operations in app.openapi()["paths"].items()
        for method in operations
        if (method.upper(), path) not in theirs
    ]
    assert len(others) > 40
    for method, path in others:
        scope = {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}
        assert all(route.matches(scope)[0] is not Match.FULL for route in first), (method, path)


async def test_unknown_route_is_a_404_problem(client):
    _is_problem(await client.get("/v1/nothing-here"), 404, "NOT_FOUND")


async def test_wrong_method_is_a_405_problem(client):
    _is_problem(await client.delete("/v1/services"), 405, "METHOD_NOT_ALLOWED")


async def test_validation_error_is_a_422_problem_with_field_errors(client, tokens):
    body = _is_problem(
        await client.post("/v1/applications", headers=tokens.clerk(), json={"details": {}}), 422, "VALIDATION_FAILED"
    )
    assert any(e["loc"] == ["body", "service"] for e in body["errors"])


async def test_malformed_json_is_a_problem(client, tokens):
    response = await client.post(
        "/v1/applications", headers={**tokens.clerk(), "content-type": "application/json"}, content=b'{"service": '
    )
    _is_problem(response, 422, "MALFORMED_JSON")


async def test_non_json_body_is_a_415_problem(client, tokens):
    response = await client.post(
        "/v1/applications",
        headers={**tokens.clerk(), "content-type": "text/plain"},
        content=b"service=residence-permit",
    )
    _is_problem(response, 415, "UNSUPPORTED_MEDIA_TYPE")


async def test_oversize_json_is_a_413_problem(client, tokens):
    big = json.dumps({"service": "x", "details": {"purpose": "a" * 400_000}})
    response = await client.post(
        "/v1/applications", headers={**tokens.clerk(), "content-type": "application/json"}, content=big
    )
    _is_problem(response, 413, "PAYLOAD_TOO_LARGE")


async def test_oversize_json_without_length_is_a_413_problem(client, tokens):
    async def chunks():
        for _ in range(40):
            yield b"[" * 10_000

    response = await client.post(
        "/v1/applications", headers={**tokens.clerk(), "content-type": "application/json"}, content=chunks()
    )
    _is_problem(response, 413, "PAYLOAD_TOO_LARGE")


async def test_deeply_nested_json_is_a_clear_4xx(client, tokens):
    body = b'{"service": "x", "details": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response = await client.post(
        "/v1/applications", headers={**tokens.clerk(), "content-type": "application/json"}, content=body[:250_000]
    )
    assert 400 <= response.status_code < 500
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_unhandled_error_is_a_500_problem_without_internals(settings):
    app = create_app(settings, start_worker=False)

    @app.get("/v1/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            response = await c.get("/v1/boom")
    body = _is_problem(response, 500, "INTERNAL_ERROR")
    assert "secret" not in json.dumps(body)


async def test_request_id_is_echoed_or_made(client):
    echoed = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    made = await client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
    assert made.headers["x-request-id"] != "bad id\twith spaces" and len(made.headers["x-request-id"]) == 32
    problem = await client.get("/v1/nothing")
    assert problem.headers["x-request-id"]


async def test_health_readiness_and_metrics(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["database"] == "ok"
    await client.get("/v1/services")
    metrics = await client.get("/metrics")
    assert metrics.status_code == 200
    assert "cityservices_http_requests_total" in metrics.text


async def test_catalogue_lists_eight_services_in_both_languages(client):
    # Beside them, the matters done at a window (tests/stations/test_window_only.py).
    items = [i for i in (await client.get("/v1/services")).json()["items"] if i["processing_mode"] != "window"]
    assert {i["code"] for i in items} == {
        "residence-permit",
        "no-criminal-record-certificate",
        "household-registration-certificate",
        "residence-registration",
        "residence-permit-renewal",
        "residence-permit-address-change",
        "kinship-certificate",
        "temporary-identity-certificate",
    }
    for item in items:
        assert item["name"]["zh"] and item["name"]["en"] and item["agencies"]
        assert item["details_schema"]["type"] == "object"


async def test_security_headers_and_no_store_on_personal_data(client, tokens):
    response = await client.get("/v1/applications", headers=tokens.auditor())
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "server" not in response.headers


@pytest.mark.parametrize(
    "language,title", [("en", "Not found"), ("zh-CN", "未找到"), (None, "未找到"), ("fr, en;q=0.5", "Not found")]
)
async def test_accept_language_chooses_problem_language(client, language, title):
    headers = {"Accept-Language": language} if language else {}
    assert (await client.get("/v1/nothing", headers=headers)).json()["title"] == title


def test_request_ids_made_here_are_unique_and_a_forked_process_makes_its_own():
    ids = {new_request_id() for _ in range(10_000)}
    assert len(ids) == 10_000 and all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: a worker forked from the parent after import
        os.write(write_end, new_request_id().encode())
        os._exit(0)
    os.close(write_end)
    child_id = os.read(read_end, 64).decode()
    os.close(read_end)
    os.waitpid(pid, 0)
    assert len(child_id) == 32 and child_id[:20] != next(iter(ids))[:20]
