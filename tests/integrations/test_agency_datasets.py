"""The demo dataset covers every decision; relative dates resolve; the generator is consistent."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from app.identity.id_number import is_valid
from integrations.datasets import DEMO_PATH, Dataset, dataset_from_dict, load_dataset, resolve_date
from integrations.datasets import demo as demo_module
from integrations.datasets.generate import generate, write_dataset
from integrations.police import simulator as police_simulator

README = DEMO_PATH.with_name("README.md")
DAY = date(2025, 8, 31)


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        ("2024-02-29", date(2024, 2, 29)),
        ("today", DAY),
        ("today-30d", date(2025, 8, 1)),
        ("today+365d", date(2026, 8, 31)),
        ("today-6m", date(2025, 2, 28)),  # calendar months, clamped to the month's end
        ("today-6m+1d", date(2025, 3, 1)),
        ("today-3y", date(2022, 8, 31)),
        ("today+1y-1d", date(2026, 8, 30)),
    ],
)
def test_dates_may_be_iso_or_relative_to_the_load_day(form: str, expected: date) -> None:
    assert resolve_date(form, today=DAY) == expected


def test_a_malformed_date_is_refused_at_load() -> None:
    with pytest.raises(ValidationError, match="today"):
        dataset_from_dict(
            {
                "residence_registrations": [
                    {"id_number": "330106198803120150", "address": "x", "registered_on": "yesterday"}
                ]
            }
        )


def test_relative_dates_are_resolved_when_loading() -> None:
    dataset = load_dataset(today=DAY)
    assert dataset.today == DAY
    guo = next(r for r in dataset.residence_registrations if r["id_number"] == "360102199501150287")
    assert guo["registered_on"] == "2025-02-28"


def test_demo_json_is_what_demo_py_builds() -> None:
    assert json.loads(DEMO_PATH.read_text(encoding="utf-8")) == demo_module.build(), (
        "run `python -m integrations.datasets.demo` after editing demo.py"
    )


def test_readme_table_is_what_demo_py_describes() -> None:
    assert demo_module.render_table() in README.read_text(encoding="utf-8"), (
        "paste the table printed by `python -m integrations.datasets.demo` into the README"
    )


def _codes(outcomes: list[str]) -> set[str]:
    return {code for outcome in outcomes for code in re.findall(r"[A-Z][A-Z0-9_]{5,}", outcome) or [outcome]}


def test_demo_covers_every_decision_of_section_5_for_each_service() -> None:
    identity = {"issued", "IDENTITY_NOT_FOUND", "IDENTITY_MISMATCH"}
    cases = demo_module.CASES
    assert _codes([c.residence_permit for c in cases]) == identity | {
        "LOCAL_HUKOU",
        "NO_RESIDENCE_REGISTRATION",
        "RESIDENCE_UNDER_6_MONTHS",
        "NO_HOUSING_RECORD",
    }
    assert _codes([c.no_criminal_record for c in cases]) == identity | {"CRIMINAL_RECORD_FOUND"}
    assert _codes([c.household_registration for c in cases]) == identity | {"NOT_LOCAL_HUKOU"}
    first_three = demo_module.CASES[:3]
    assert any(c.residence_permit == "issued" for c in first_three)
    assert any(c.no_criminal_record == "issued" for c in first_three)
    assert any(c.household_registration == "issued" for c in first_three)


def test_demo_cases_agree_with_the_data(demo: Dataset) -> None:
    persons = {p["id_number"]: p for p in demo.persons}
    convicted = {r["id_number"] for r in demo.criminal_records}
    for case in demo_module.CASES:
        assert is_valid(case.id_number), case.name
        person = persons.get(case.id_number)
        if case.residence_permit.endswith("IDENTITY_NOT_FOUND"):
            assert person is None
            continue
        assert person is not None and person["name"] == case.name
        if case.residence_permit.endswith("IDENTITY_MISMATCH"):
            assert person["status"] != "active" or case.file_as not in (None, case.name)
            continue
        local = person["hukou"]["province_code"] == "31"
        assert (case.residence_permit == "rejected: LOCAL_HUKOU") == local
        assert (case.household_registration == "issued") == local
        assert (case.no_criminal_record == "issued") == (case.id_number not in convicted)


def test_demo_households_are_consistent(demo: Dataset) -> None:
    persons = {p["id_number"]: p for p in demo.persons}
    for person in demo.persons:
        hukou = person["hukou"]
        head = persons[hukou["household_head_id_number"]]
        assert head["hukou"]["address"] == hukou["address"]
        assert head["hukou"]["relation_to_head"] == "本人"
        assert (hukou["relation_to_head"] == "本人") == (head is person)
        assert person["gender"] == ("M" if int(person["id_number"][16]) % 2 else "F")


def test_generated_dataset_is_valid_and_consistent() -> None:
    raw = generate(3000, seed=7, today=DAY)
    dataset = dataset_from_dict(raw, today=DAY)
    ids = [p["id_number"] for p in dataset.persons]
    assert len(ids) == 3000 == len(set(ids))
    assert all(is_valid(n) for n in ids)
    persons = {p["id_number"]: p for p in dataset.persons}
    for person in dataset.persons:
        assert person["id_number"][:2] == person["hukou"]["province_code"]
        head = persons[person["hukou"]["household_head_id_number"]]
        assert head["hukou"]["address"] == person["hukou"]["address"]
    referenced = (
        [r["id_number"] for r in dataset.residence_registrations]
        + [r["id_number"] for r in dataset.criminal_records]
        + [n for p in dataset.properties for n in p["owner_id_numbers"]]
        + [n for lease in dataset.leases for n in lease["tenant_id_numbers"]]
    )
    assert set(referenced) <= set(persons)
    assert all(r["address"].startswith("上海市") for r in dataset.residence_registrations)
    assert {p["hukou"]["province_code"] == "31" for p in dataset.persons} == {True, False}
    statuses = {p["status"] for p in dataset.persons}
    assert "active" in statuses and len(statuses) > 1
    valid_today = [lease for lease in dataset.leases if lease["start_date"] <= DAY.isoformat() <= lease["end_date"]]
    assert 0 < len(valid_today) < len(dataset.leases)  # some current, some expired
    assert dataset.criminal_records and dataset.properties and dataset.residence_registrations


def test_generation_is_deterministic_for_a_seed() -> None:
    assert generate(200, seed=3, today=DAY) == generate(200, seed=3, today=DAY)
    assert generate(200, seed=3, today=DAY) != generate(200, seed=4, today=DAY)


async def test_streamed_file_loads_and_is_served(tmp_path: Path) -> None:
    out = tmp_path / "people.json"
    counts = write_dataset(out, people=500, seed=11, today=DAY)
    assert counts["persons"] == 500
    assert json.loads(out.read_text(encoding="utf-8")) == generate(500, seed=11, today=DAY)
    dataset = load_dataset(out)
    someone = dataset.persons[123]
    app = police_simulator.create_app(dataset)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim") as client:
        response = await client.get(f"/population/v1/persons/{someone['id_number']}")
    assert response.json() == someone


def test_generate_command_writes_a_loadable_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from integrations.datasets.generate import main

    out = tmp_path / "cli.json"
    main(["--people", "300", "--seed", "2", "--out", str(out)])
    assert "300 persons" in capsys.readouterr().out
    assert len(load_dataset(out).persons) == 300
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".generate-")]  # spill files cleaned up
