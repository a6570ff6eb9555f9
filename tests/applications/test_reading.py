"""Reading one application (the hottest authenticated read): the same answer as filing and listing give,
with the newest certificate, and an ETag that is the hash of the bytes sent."""

from __future__ import annotations

import hashlib
from datetime import datetime

from tests.builders import ZHANG_WEI, file, no_criminal_record


async def test_reading_an_application_answers_what_filing_and_the_list_answered(client, tokens):
    zhang = tokens.citizen(*ZHANG_WEI[:2])
    filed = await file(client, zhang, no_criminal_record())
    assert filed.status_code == 201, filed.text
    assert filed.json()["certificate"] is not None

    read = await client.get(f"/v1/applications/{filed.json()['id']}", headers=zhang)
    assert read.status_code == 200
    assert read.headers["content-type"] == "application/json"
    answer, first_answer = read.json(), filed.json()
    # The same instants; the filing's answer spells the certificate's expiry in Shanghai time, as computed.
    for body in (answer, first_answer):
        body["certificate"]["expires_at"] = datetime.fromisoformat(body["certificate"]["expires_at"])
    assert answer == first_answer
    assert (await client.get("/v1/applications", headers=zhang)).json()["items"] == [read.json()]
    assert read.headers["etag"] == '"' + hashlib.sha256(read.content).hexdigest()[:32] + '"'


async def test_reading_shows_the_certificate_that_replaced_the_first(client, tokens):
    zhang = tokens.citizen(*ZHANG_WEI[:2])
    filed = (await file(client, zhang, no_criminal_record())).json()
    first = filed["certificate"]["serial"]
    reissued = await client.post(f"/v1/certificates/{first}/reissue", headers=zhang)
    assert reissued.status_code == 201, reissued.text

    read = (await client.get(f"/v1/applications/{filed['id']}", headers=zhang)).json()
    assert read["certificate"]["serial"] == reissued.json()["serial"] != first
    assert read["certificate"]["status"] == "valid"
    assert (await client.get("/v1/applications", headers=zhang)).json()["items"] == [read]
