"""The clients against the simulators over real HTTP: parsing, not-found, request id, in-process path."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator
from datetime import date

import pytest

from integrations.agencies import Agencies, build_agencies
from integrations.datasets.demo import NOT_IN_DATASET
from integrations.errors import AgencyNotFound
from integrations.http import ClientPolicy, request_id_var

ZHANG = "330106198803120150"  # owns his flat; see integrations/datasets/README.md
LI = "340104199205200242"  # leases
WU_JIANGUO = "310107197511200333"  # criminal record
SHEN_YUE = "31010120010918102X"  # daughter of a Shanghai household; id ends in X
MA_CHAO, LIN_XIAOHONG = "610113198401010515", "310115198602140625"  # co-owners


@pytest.fixture
async def agencies(police_server, housing_server) -> AsyncIterator[Agencies]:
    agencies = build_agencies(police_url=police_server.url, housing_url=housing_server.url, dataset_path=None)
    yield agencies
    await agencies.aclose()


async def test_person_is_parsed_into_the_wire_model(agencies: Agencies) -> None:
    response = await agencies.police.get_person(SHEN_YUE)
    person = response.data
    assert person.name == "沈悦" and person.gender == "F" and person.status == "active"
    assert person.birth_date == date(2001, 9, 18)
    assert person.hukou.province_code == "31"
    assert person.hukou.relation_to_head == "女"
    assert person.hukou.household_head_id_number == "31010119650815031X"
    assert response.dataset == "population.person"
    assert len(response.sha256) == 64 and response.elapsed_ms > 0


async def test_residence_registrations_are_parsed_with_dates(agencies: Agencies) -> None:
    response = await agencies.police.get_residence_registrations(ZHANG)
    [registration, *_] = response.data.items  # and, 20 days ago, the flat the demo moves him to
    assert registration.address == "上海市长宁区虹桥路1号5号楼301室"
    assert isinstance(registration.registered_on, date) and registration.registered_on < date.today()
    assert response.dataset == "population.residence-registrations"


async def test_criminal_records_are_parsed_and_clean_records_are_empty(agencies: Agencies) -> None:
    records = await agencies.police.get_criminal_records(WU_JIANGUO)
    assert [r.offence for r in records.data.items] == ["盗窃罪"]
    assert records.data.items[0].judgment_date == date(2016, 9, 12)
    assert records.dataset == "records.criminal-records"
    clean = await agencies.police.get_criminal_records(ZHANG)
    assert clean.data.items == []


async def test_properties_answer_for_every_co_owner(agencies: Agencies) -> None:
    for owner in (MA_CHAO, LIN_XIAOHONG):
        response = await agencies.housing.get_properties(owner)
        [flat] = response.data.items
        assert set(flat.owner_id_numbers) == {MA_CHAO, LIN_XIAOHONG}
        assert response.dataset == "housing.properties"


async def test_leases_are_parsed_and_valid_on_today(agencies: Agencies) -> None:
    response = await agencies.housing.get_leases(LI)
    [lease] = response.data.items
    assert lease.valid_on(date.today())
    assert response.dataset == "housing.leases"
    assert (await agencies.housing.get_leases(WU_JIANGUO)).data.items == []


async def test_unknown_person_is_not_found(agencies: Agencies) -> None:
    with pytest.raises(AgencyNotFound) as caught:
        await agencies.police.get_person(NOT_IN_DATASET)
    assert caught.value.agency == "police"


async def test_sub_resources_of_an_unknown_person_are_empty_not_missing(agencies: Agencies) -> None:
    assert (await agencies.police.get_residence_registrations(NOT_IN_DATASET)).data.items == []
    assert (await agencies.police.get_criminal_records(NOT_IN_DATASET)).data.items == []


async def test_sha256_is_of_the_body_the_agency_sent(agencies: Agencies, police_server) -> None:
    import httpx

    response = await agencies.police.get_person(ZHANG)
    async with httpx.AsyncClient() as raw:
        body = (await raw.get(f"{police_server.url}/population/v1/persons/{ZHANG}")).content
    assert response.sha256 == hashlib.sha256(body).hexdigest()


async def test_request_id_is_passed_on(agencies: Agencies, police_server) -> None:
    token = request_id_var.set("req-4711")
    try:
        await agencies.police.get_person(ZHANG)
    finally:
        request_id_var.reset(token)
    assert police_server.recorder.headers[-1]["x-request-id"] == "req-4711"


async def test_a_request_id_is_made_up_when_none_is_set(agencies: Agencies, police_server) -> None:
    await agencies.police.get_person(ZHANG)
    assert len(police_server.recorder.headers[-1]["x-request-id"]) == 32


async def test_logs_name_the_route_template_never_the_id_number(
    agencies: Agencies, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await agencies.police.get_person(ZHANG)
    with pytest.raises(AgencyNotFound):
        await agencies.police.get_person(NOT_IN_DATASET)
    await agencies.housing.get_leases(LI)
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "route=GET /population/v1/persons/{id_number}" in text
    assert "outcome=ok" in text and "outcome=not_found" in text
    for id_number in (ZHANG, NOT_IN_DATASET, LI):
        assert id_number not in text
    assert logging.getLogger("httpx").getEffectiveLevel() >= logging.WARNING
    calls = [r for r in caplog.records if hasattr(r, "agency_call")]
    assert {c.agency_call["dataset"] for c in calls} == {"population.person", "housing.leases"}


async def test_in_process_simulators_use_the_same_client_path() -> None:
    agencies = build_agencies(police_url=None, housing_url=None, dataset_path=None)
    try:
        assert agencies.police_simulator is not None and agencies.housing_simulator is not None
        assert (await agencies.police.get_person(ZHANG)).data.name == "张伟"
        assert len((await agencies.housing.get_properties(ZHANG)).data.items) == 1
        with pytest.raises(AgencyNotFound):
            await agencies.police.get_person(NOT_IN_DATASET)
    finally:
        await agencies.aclose()


async def test_in_process_only_for_the_agency_without_a_url(housing_server) -> None:
    agencies = build_agencies(
        police_url=None, housing_url=housing_server.url, dataset_path=None, policy=ClientPolicy(deadline_s=2)
    )
    try:
        assert agencies.police_simulator is not None and agencies.housing_simulator is None
        assert (await agencies.housing.get_leases(LI)).data.items
    finally:
        await agencies.aclose()
