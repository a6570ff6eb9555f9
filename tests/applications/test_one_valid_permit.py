"""One valid residence permit per person (docs/api.md#one-valid-residence-permit; issue 26), over HTTP.

The red team filed a new permit beside one that had expired less than 30 days before (still renewable),
then renewed the old one: two valid permits for one person at one address. And a re-issue, a renewal and
a change of address of one permit sent at once answered 500 (an unhandled StaleWrite).

The race below runs concurrent requests through the ASGI app in this process: on PostgreSQL
(TEST_DATABASE_URL) they are truly concurrent transactions on separate connections; on SQLite they
interleave and the single writer serialises their commits.
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from datetime import timedelta

from app.clock import shanghai_today
from tests.applications.test_permits import obtain_permit, set_expiry
from tests.builders import ZHANG_WEI, address_change, file, renewal, residence_permit, upload_proof

HAN_MEI = ("210102199109090440", "韩梅")
HAN_OLD = "上海市闵行区莘庄镇沁春路100弄5号302室"  # registered, lease valid 10 more days
HAN_MOVED = "上海市徐汇区田林路200号3号楼1101室"  # registered and leased for 45 days
RACES = int(os.environ.get("PERMIT_RACES", "50"))
PERMITS = {"residence-permit", "residence-permit-renewal", "residence-permit-address-change"}


async def _valid_permits(client, citizen) -> list[str]:
    """The serials of the person's permits that verify as valid: each application shows its newest."""
    listed = (await client.get("/v1/applications?limit=100", headers=citizen)).json()["items"]
    return [
        a["certificate"]["serial"]
        for a in listed
        if a["service"] in PERMITS and a["certificate"] and a["certificate"]["status"] == "valid"
    ]


async def test_a_new_permit_beside_a_renewable_one_supersedes_it_and_the_old_one_cannot_be_renewed(
    client, tokens, collaborators
):
    citizen = tokens.citizen(*ZHANG_WEI[:2])
    old = await obtain_permit(client, tokens, ZHANG_WEI[:2], ZHANG_WEI[2])
    await set_expiry(collaborators, old["serial"], shanghai_today() - timedelta(days=10))  # expired, still renewable

    new = await file(client, citizen, residence_permit(ZHANG_WEI[2], [await upload_proof(client, citizen)]))
    assert new.status_code == 201 and new.json()["status"] == "issued", new.text
    new_serial = new.json()["certificate"]["serial"]
    verified = (await client.get(f"/v1/verify/{old['verification_code']}")).json()
    assert verified["status"] == "superseded" and verified["superseded_by"] == new_serial

    renewed = await file(client, citizen, renewal(old["serial"]))

    assert renewed.status_code == 409, renewed.text
    assert renewed.json()["code"] == "CERTIFICATE_STILL_VALID" and renewed.json()["serial"] == new_serial
    assert await _valid_permits(client, citizen) == [new_serial]


async def test_moving_an_old_permit_while_a_newer_one_is_valid_is_refused(client, tokens, collaborators):
    citizen = tokens.citizen(*HAN_MEI)
    old = await obtain_permit(client, tokens, HAN_MEI, HAN_OLD)
    renewed = (await file(client, citizen, renewal(old["serial"]))).json()
    assert renewed["status"] == "issued"

    moved = await file(client, citizen, address_change(old["serial"], HAN_MOVED, [await upload_proof(client, citizen)]))

    assert moved.status_code == 409 and moved.json()["code"] == "CERTIFICATE_STILL_VALID", moved.text
    assert await _valid_permits(client, citizen) == [renewed["certificate"]["serial"]]


async def _race(client, citizen, serial: str, address: str, *, reissue_after: float = 0.0) -> list:
    """All three at once; the re-issue (no agency to ask, so the quickest) may be held back a little so
    that each of the three wins some races."""
    elsewhere = HAN_MOVED if address == HAN_OLD else HAN_OLD
    material = await upload_proof(client, citizen)

    async def reissue():
        await asyncio.sleep(reissue_after)
        return await client.post(f"/v1/certificates/{serial}/reissue", headers=citizen)

    return list(
        await asyncio.gather(
            reissue(),
            file(client, citizen, renewal(serial)),
            file(client, citizen, address_change(serial, elsewhere, [material])),
        )
    )


async def test_a_racing_reissue_renewal_and_move_of_one_permit_one_wins_the_others_409(client, tokens):
    citizen = tokens.citizen(*HAN_MEI)
    permit = await obtain_permit(client, tokens, HAN_MEI, HAN_OLD)
    serial, address = permit["serial"], HAN_OLD
    statuses: Counter[int] = Counter()
    winners: Counter[str] = Counter()
    refusals: Counter[str] = Counter()
    for race in range(RACES):
        reissued, renewed, moved = await _race(client, citizen, serial, address, reissue_after=(race % 3) * 0.02)
        answers = {"reissue": reissued, "renewal": renewed, "move": moved}
        statuses.update(r.status_code for r in answers.values())
        assert sorted(r.status_code for r in answers.values()) == [201, 409, 409], {
            k: (r.status_code, r.text[:300]) for k, r in answers.items()
        }
        [(winner, won)] = [(k, r) for k, r in answers.items() if r.status_code == 201]
        winners[winner] += 1
        for loser in (r for r in answers.values() if r.status_code == 409):
            assert loser.headers["content-type"].startswith("application/problem+json")
            refusals[loser.json()["code"]] += 1
        body = won.json()
        serial = body["serial"] if winner == "reissue" else body["certificate"]["serial"]
        if winner == "move":
            address = HAN_MOVED if address == HAN_OLD else HAN_OLD
        assert await _valid_permits(client, citizen) == [serial]
    print(f"{RACES} races: statuses {dict(statuses)}, winners {dict(winners)}, refusals {dict(refusals)}")
    assert statuses[500] == 0 and statuses[201] == RACES and statuses[409] == 2 * RACES
