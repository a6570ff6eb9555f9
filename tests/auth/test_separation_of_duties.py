"""Separation of duties (docs/api.md#separation-of-duties-and-staff-reads): no clerk decides or revokes anything of a
case they filed at the window, or of one whose applicant is themselves (issue 13, item 2). Re-check and
request-materials call the same guard (app.auth.separation.ensure_not_own_case) when they exist."""

from __future__ import annotations

from tests.builders import SHEN_GUOQIANG, WU_JIANGUO, ZHANG_WEI, file, household_registration, no_criminal_record


def _clerk_who_is(tokens, person: tuple[str, ...], sub: str) -> dict[str, str]:
    return tokens.header(
        tokens.mint(roles=["clerk"], sub=sub, name=person[1], station_id="310105-HQLB", id_number=person[0])
    )


async def _decide(client, headers, application_id: str):
    return await client.post(
        f"/v1/applications/{application_id}/decision",
        headers=headers,
        json={"outcome": "approve", "reason": "核查无误"},
    )


def _refused(response) -> None:
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "SEPARATION_OF_DUTIES"
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_clerk_cannot_decide_a_case_they_filed_at_the_window(client, tokens):
    filed = await file(
        client,
        tokens.clerk(sub="clerk-window"),
        {**no_criminal_record(), "applicant": {"id_number": WU_JIANGUO[0], "name": WU_JIANGUO[1]}},
    )
    review = filed.json()
    assert review["status"] == "needs_review"
    _refused(await _decide(client, tokens.clerk(sub="clerk-window"), review["id"]))
    still = await client.get(f"/v1/applications/{review['id']}", headers=tokens.clerk(sub="clerk-window"))
    assert still.json()["status"] == "needs_review"
    assert (await _decide(client, tokens.clerk(sub="clerk-other"), review["id"])).json()["status"] == "issued"


async def test_a_clerk_cannot_decide_their_own_application(client, tokens):
    review = (await file(client, tokens.citizen(*WU_JIANGUO[:2]), no_criminal_record())).json()
    assert review["status"] == "needs_review"
    _refused(await _decide(client, _clerk_who_is(tokens, WU_JIANGUO, "clerk-wu"), review["id"]))
    assert (await _decide(client, _clerk_who_is(tokens, ZHANG_WEI, "clerk-zhang"), review["id"])).status_code == 200


async def test_a_clerk_cannot_revoke_their_own_certificate_nor_one_they_filed(client, tokens):
    own = (await file(client, tokens.citizen(*ZHANG_WEI[:2]), no_criminal_record())).json()
    serial = own["certificate"]["serial"]
    body = {"reason": "核查发现信息有误"}
    _refused(
        await client.post(
            f"/v1/certificates/{serial}/revoke", headers=_clerk_who_is(tokens, ZHANG_WEI, "c-z"), json=body
        )
    )
    window = (
        await file(
            client,
            tokens.clerk(sub="clerk-window"),
            {**household_registration(), "applicant": {"id_number": SHEN_GUOQIANG[0], "name": SHEN_GUOQIANG[1]}},
        )
    ).json()
    window_serial = window["certificate"]["serial"]
    _refused(
        await client.post(
            f"/v1/certificates/{window_serial}/revoke", headers=tokens.clerk(sub="clerk-window"), json=body
        )
    )
    revoked = await client.post(
        f"/v1/certificates/{window_serial}/revoke", headers=tokens.clerk(sub="clerk-other"), json=body
    )
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"


async def test_the_refusal_is_logged_as_denied(client, tokens):
    review = (await file(client, tokens.citizen(*WU_JIANGUO[:2]), no_criminal_record())).json()
    await _decide(client, _clerk_who_is(tokens, WU_JIANGUO, "clerk-wu"), review["id"])
    events = (
        await client.get("/v1/audit/events?actor=clerk-wu&purpose=分工复核检查", headers=tokens.auditor())
    ).json()["items"]
    assert [(e["status_code"], e["outcome"]) for e in events] == [(403, "denied")]
