"""A relative's data (docs/api.md#a-relatives-data; issue 26): a kinship application's relative is a person whose data
staff consult.

The red team found the relative's full id number in every clerk and auditor list and search, and none
of those reads in the relative's data access. Now the number is masked everywhere but the detail a
clerk opens, and every staff read of the application (list, search, queue, detail) is a consultation
of the relative too.
"""

from __future__ import annotations

from tests.builders import SHEN_GUOQIANG, file, kinship

SHEN_HAO = ("31010119930610057X", "沈浩")  # 沈国强's son, in the same household
MASKED = "3101**********057X"


async def _staff_reads_of(client, tokens, person) -> list[tuple[str, str | None, str | None]]:
    items = (await client.get("/v1/me/data-access?limit=100", headers=tokens.citizen(*person))).json()["items"]
    return [(i["action"], i["by_role"], i["application_id"]) for i in items if i["kind"] == "staff_read"]


async def test_the_relatives_number_is_masked_in_every_staff_list_and_search(client, tokens):
    filed = (await file(client, tokens.citizen(*SHEN_GUOQIANG), kinship(SHEN_HAO[0]))).json()
    assert filed["status"] == "issued"
    clerk, auditor = tokens.clerk(), tokens.auditor()
    serial = filed["certificate"]["serial"]
    for headers in (clerk, auditor):
        for path in (
            "/v1/applications",
            f"/v1/applications?id_number={SHEN_GUOQIANG[0]}",
            f"/v1/applications?serial={serial}",
            "/v1/applications?service=kinship-certificate",
        ):
            response = await client.get(path, headers=headers)
            assert response.status_code == 200, response.text
            assert SHEN_HAO[0] not in response.text, path
            [item] = response.json()["items"]
            assert item["details"]["relative_id_number"] == MASKED
    # Full only in the detail a clerk opens; an auditor's detail is masked too.
    opened = (await client.get(f"/v1/applications/{filed['id']}", headers=clerk)).json()
    assert opened["details"]["relative_id_number"] == SHEN_HAO[0]
    audited = (await client.get(f"/v1/applications/{filed['id']}", headers=auditor)).text
    assert SHEN_HAO[0] not in audited and MASKED in audited
    own = (await client.get("/v1/applications", headers=tokens.citizen(*SHEN_GUOQIANG))).json()["items"]
    assert own[0]["details"]["relative_id_number"] == MASKED


async def test_each_staff_read_of_the_application_is_in_the_relatives_data_access(client, tokens):
    filed = (await file(client, tokens.citizen(*SHEN_GUOQIANG), kinship(SHEN_HAO[0]))).json()
    assert await _staff_reads_of(client, tokens, SHEN_HAO) == []

    assert (await client.get("/v1/applications", headers=tokens.clerk())).status_code == 200
    searched = await client.get(f"/v1/applications?id_number={SHEN_GUOQIANG[0]}", headers=tokens.auditor())
    assert searched.status_code == 200
    assert (await client.get(f"/v1/applications/{filed['id']}", headers=tokens.clerk())).status_code == 200

    assert sorted(await _staff_reads_of(client, tokens, SHEN_HAO)) == sorted(
        [
            ("application.list", "clerk", filed["id"]),
            ("application.list", "auditor", filed["id"]),
            ("application.read", "clerk", filed["id"]),
        ]
    )
    # The applicant reading his own application consults nobody else.
    await client.get(f"/v1/applications/{filed['id']}", headers=tokens.citizen(*SHEN_GUOQIANG))
    assert len(await _staff_reads_of(client, tokens, SHEN_HAO)) == 3
