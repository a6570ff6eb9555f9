"""Bad input is a 422 problem document, never a 500, on both databases (issue 13, item 9)."""

from __future__ import annotations

import base64
import json

import pytest

from tests.builders import ZHANG_WEI


def _cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _problem(response, code: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code


@pytest.mark.parametrize(
    "url",
    [
        "/v1/applications?service=a%00b",
        "/v1/applications?status=issued&service=%00",
        "/v1/applications/abc%00def",
        "/v1/audit/events?actor=a%00b",
        "/v1/certificates/JZZ-2026%0000001",
    ],
)
async def test_a_nul_byte_in_the_path_or_query_is_422(client, tokens, url):
    headers = tokens.auditor() if "/audit/" in url else tokens.clerk()
    _problem(await client.get(url, headers=headers), "INVALID_CHARACTER")


SEQ_CURSORS = [
    "[Infinity]",
    "[-Infinity]",
    "[NaN]",
    "[1e300]",
    "[1e18]",
    "[99999999999999999999]",
    "[-1]",
    "[true]",
    '["1"]',
    "[1.5]",
    "[null]",
    "{}",
    "[1, 2]",
]


@pytest.mark.parametrize("raw", SEQ_CURSORS)
async def test_audit_and_data_access_cursors_are_checked_before_any_query(client, tokens, raw):
    _problem(await client.get(f"/v1/audit/events?cursor={_cursor(raw)}", headers=tokens.auditor()), "INVALID_CURSOR")
    _problem(
        await client.get(f"/v1/me/data-access?cursor={_cursor(raw)}", headers=tokens.citizen(*ZHANG_WEI[:2])),
        "INVALID_CURSOR",
    )


@pytest.mark.parametrize(
    "raw",
    [
        '["2026-01-01T00:00:00", "x"]',  # no time zone
        '[1e300, "x"]',
        '[Infinity, "x"]',
        '["2026-01-01T00:00:00+00:00", 5]',
        json.dumps(["2026-01-01T00:00:00+00:00", "x" * 100]),
        '["2026-01-01T00:00:00+00:00", "a\\u0000b"]',
        '["not a date", "x"]',
    ],
)
async def test_application_list_cursors_are_checked_before_any_query(client, tokens, raw):
    _problem(await client.get(f"/v1/applications?cursor={_cursor(raw)}", headers=tokens.clerk()), "INVALID_CURSOR")


@pytest.mark.parametrize("since", ["2020-01-01", "2020-01-01T00:00:00", "2020-01-01T00:00", "yesterday"])
@pytest.mark.parametrize("path", ["/v1/audit/events", "/v1/audit/export", "/v1/stats"])
async def test_a_time_without_a_time_zone_is_422(client, tokens, since, path):
    for name in ("since", "until"):
        _problem(await client.get(f"{path}?{name}={since}", headers=tokens.auditor()), "VALIDATION_FAILED")


@pytest.mark.parametrize("path", ["/v1/audit/events", "/v1/stats"])
async def test_times_with_a_zone_still_work(client, tokens, path):
    response = await client.get(
        f"{path}?since=2020-01-01T00:00:00%2B08:00&until=2099-01-01T00:00:00Z", headers=tokens.auditor()
    )
    assert response.status_code == 200


@pytest.mark.parametrize("path", ["/v1/audit/events", "/v1/stats"])
async def test_times_at_the_edge_of_the_calendar_are_not_500(client, tokens, path):
    for value in ("9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00%2B14:00"):
        response = await client.get(f"{path}?since={value}", headers=tokens.auditor())
        assert response.status_code in (200, 422), response.text
