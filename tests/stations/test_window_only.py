"""Matters done at a window (docs/windows.md): listed in the catalogue with processing mode `window`;
filed online, answered 409 WINDOW_ONLY_SERVICE naming the nearest stations that handle them."""

from __future__ import annotations

import pytest

from tests.applications.test_new_services import EIGHT
from tests.builders import SHEN_GUOQIANG, ZHANG_WEI, file, file_residence_permit
from tests.stations.windows import HQLB

AT_A_WINDOW = {
    "hukou-transfer": "household",
    "exit-entry-document": "exit_entry",
    "driving-licence-replacement": "traffic",
}


async def test_the_catalogue_keeps_eight_online_services_and_lists_the_matters_done_at_a_window(client):
    items = (await client.get("/v1/services")).json()["items"]
    assert {s["code"] for s in items if s["processing_mode"] == "automatic"} == EIGHT
    window = {s["code"]: s for s in items if s["processing_mode"] == "window"}
    assert {code: s["line"] for code, s in window.items()} == AT_A_WINDOW
    for matter in window.values():
        assert matter["name"]["zh"] and matter["required_materials"] and matter["agencies"] == []
        assert set(matter["details_schema"]["properties"]) == {"near", "district"}
    assert window["exit-entry-document"]["name"]["zh"] == "出入境证件申请"


def _refusal(answer, line: str) -> dict:
    assert answer.status_code == 409, answer.text
    body = answer.json()
    assert body["code"] == "WINDOW_ONLY_SERVICE" and body["line"] == line
    assert 1 <= len(body["stations"]) <= 5 and all(line in s["lines"] for s in body["stations"])
    assert body["book_with"] == {"method": "POST", "path": "/v1/appointments", "line": line}
    assert all(s["slots"] == f"/v1/stations/{s['id']}/slots?line={line}" for s in body["stations"])
    return body


async def test_filed_online_the_answer_names_the_nearest_windows_from_where_the_citizen_is(client, tokens):
    zhang = tokens.citizen(*ZHANG_WEI[:2])
    body = _refusal(
        await file(client, zhang, {"service": "exit-entry-document", "details": {"near": "31.2006,121.4170"}}),
        "exit_entry",
    )
    assert body["located_by"] == "near" and body["stations"][0]["id"] == HQLB
    distances = [s["distance_m"] for s in body["stations"]]
    assert distances == sorted(distances) and distances[-1] < 5000
    assert "POST /v1/appointments" in body["detail"]
    # Nothing was filed.
    assert (await client.get("/v1/applications", headers=zhang)).json()["items"] == []


async def test_or_from_the_district_the_request_names(client, tokens):
    body = _refusal(
        await file(
            client, tokens.citizen(*SHEN_GUOQIANG), {"service": "hukou-transfer", "details": {"district": "黄浦"}}
        ),
        "household",
    )
    assert body["located_by"] == "district" and body["district"] == "黄浦区"
    assert {s["district"] for s in body["stations"]} == {"黄浦区"}


async def test_otherwise_from_the_district_of_the_address_on_the_citizens_latest_application(client, tokens):
    zhang = tokens.citizen(*ZHANG_WEI[:2])
    assert (await file_residence_permit(client, zhang, ZHANG_WEI[2])).json()["status"] == "issued"  # 长宁区
    body = _refusal(await file(client, zhang, {"service": "driving-licence-replacement", "details": {}}), "traffic")
    assert body["located_by"] == "address_on_record" and body["district"] == "长宁区"
    assert {s["district"] for s in body["stations"]} == {"长宁区"}


async def test_with_nothing_to_go_by_community_centre_windows_come_first(client, tokens):
    body = _refusal(
        await file(client, tokens.citizen(*SHEN_GUOQIANG), {"service": "hukou-transfer", "details": {}}), "household"
    )
    assert body["located_by"] == "none" and body["district"] is None
    assert all(s["in_community_centre"] and s["distance_m"] is None for s in body["stations"])


@pytest.mark.parametrize(
    ("details", "code"),
    [
        ({"district": "火星区"}, "UNKNOWN_DISTRICT"),
        ({"near": "95.0,121.4"}, "INVALID_LOCATION"),
        ({"near": "here"}, "INVALID_DETAILS"),
        ({"passport": "E12345678"}, "INVALID_DETAILS"),
    ],
)
async def test_where_the_citizen_is_must_make_sense(client, tokens, details, code):
    answer = await file(client, tokens.citizen(*ZHANG_WEI[:2]), {"service": "hukou-transfer", "details": details})
    assert answer.status_code == 422 and answer.json()["code"] == code
