"""Every list endpoint refuses a query parameter it does not know (422 UNKNOWN_PARAMETER) instead of
ignoring a misspelt filter: an auditor's `?subjct_id_number=` must not answer with the whole log."""

from __future__ import annotations

import pytest

from tests.builders import ZHANG_WEI


@pytest.mark.parametrize(
    "path,who,misspelt",
    [
        ("/v1/audit/events", "auditor", "subjct_id_number"),
        ("/v1/me/data-access", "citizen", "limt"),
        ("/v1/me/notifications", "citizen", "sinceid"),
    ],
)
async def test_a_misspelt_filter_is_422_not_everything(client, tokens, path, who, misspelt):
    headers = tokens.auditor() if who == "auditor" else tokens.citizen(*ZHANG_WEI[:2])
    response = await client.get(path, headers=headers, params={misspelt: ZHANG_WEI[0]})
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "UNKNOWN_PARAMETER" and problem["errors"][0]["loc"] == ["query", misspelt]
    assert ZHANG_WEI[0] not in response.text
    assert (await client.get(path, headers=headers)).status_code == 200  # the known parameters still work
