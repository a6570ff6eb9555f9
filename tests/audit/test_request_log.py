"""The request log (docs/api.md#the-request-log): every request and agency call, no raw id numbers, a chain that
detects tampering, offline verification, and citizens' view of who consulted their data."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
from pathlib import Path

import httpx
from sqlalchemy import text

from app.audit.checkpoints import make_checkpoint
from app.main import create_app
from integrations.datasets.demo import CASES
from tests.builders import (
    LI_NA,
    SHEN_GUOQIANG,
    WANG_FANG,
    ZHANG_WEI,
    file,
    file_residence_permit,
    household_registration,
    no_criminal_record,
)

ROOT = Path(__file__).resolve().parents[2]
ALL_DEMO_IDS = [c.id_number for c in CASES]


async def _export(client, tokens, fmt="ndjson") -> httpx.Response:
    response = await client.get(f"/v1/audit/export?format={fmt}", headers=tokens.auditor())
    assert response.status_code == 200
    return response


def _events(response: httpx.Response) -> list[dict]:
    return [json.loads(line) for line in response.text.splitlines() if line]


async def _a_day_of_work(client, tokens) -> dict:
    citizen = tokens.citizen(*ZHANG_WEI[:2])
    issued = (await file_residence_permit(client, citizen, ZHANG_WEI[2])).json()
    review = (await file_residence_permit(client, tokens.citizen(*WANG_FANG[:2]), WANG_FANG[2])).json()
    window = (
        await file(
            client,
            tokens.clerk(),
            {**household_registration(), "applicant": {"id_number": SHEN_GUOQIANG[0], "name": SHEN_GUOQIANG[1]}},
        )
    ).json()
    await client.get(f"/v1/applications/{review['id']}", headers=tokens.clerk())
    await client.get(f"/v1/applications/{issued['id']}", headers=tokens.auditor())
    await client.get(f"/v1/verify/{issued['certificate']['verification_code']}")
    await client.get("/v1/services")
    await client.get("/v1/applications", headers={"Authorization": "Bearer nonsense"})
    await client.get(f"/v1/applications/{review['id']}", headers=tokens.citizen(*LI_NA[:2]))
    return {"issued": issued, "review": review, "window": window}


async def test_every_route_class_leaves_an_event_with_the_fields_of_section_7(client, tokens):
    await _a_day_of_work(client, tokens)
    events = _events(await _export(client, tokens))
    requests = [e for e in events if e["kind"] == "request"]
    routes = {(e["method"], e["route"], e["status_code"]) for e in requests}
    assert ("POST", "/v1/materials", 201) in routes
    assert ("POST", "/v1/applications", 201) in routes
    assert ("GET", "/v1/applications/{application_id}", 200) in routes
    assert ("GET", "/v1/applications/{application_id}", 404) in routes
    assert ("GET", "/v1/verify/{code}", 200) in routes
    assert ("GET", "/v1/services", 200) in routes
    assert ("GET", "/v1/applications", 401) in routes
    for event in requests:
        assert event["request_id"] and event["occurred_at"] and event["client_addr"] == "203.0.113.7"
    clerk_filing = next(e for e in requests if e["route"] == "/v1/applications" and e["actor_role"] == "clerk")
    assert clerk_filing["channel"] == "window" and clerk_filing["actor_station"] == "310105-HQLB"
    agency_calls = [e for e in events if e["kind"] == "agency_call"]
    assert {(e["agency"], e["dataset"]) for e in agency_calls} >= {
        ("police", "population.person"),
        ("police", "population.residence-registrations"),
        ("housing", "housing.properties"),
        ("housing", "housing.leases"),
    }
    assert all(e["application_id"] and e["subject_hash"] and e["on_behalf_of"] for e in agency_calls)
    assert {e["on_behalf_of"] for e in agency_calls} == {"citizen", "clerk@310105-HQLB"}


async def test_no_raw_id_number_in_any_event_export_or_log_line(client, tokens, caplog):
    caplog.set_level(logging.INFO)  # the level the service runs at; our own loggers at their most talkative
    for ours in ("cityservices", "integrations", "app"):
        caplog.set_level(logging.DEBUG, logger=ours)
    await _a_day_of_work(client, tokens)
    exported = (await _export(client, tokens)).text + (await _export(client, tokens, "csv")).text
    logged = "\n".join(
        r.getMessage() + json.dumps(getattr(r, "fields", {}), ensure_ascii=False) for r in caplog.records
    )
    for id_number in ALL_DEMO_IDS:
        assert id_number not in exported
        assert id_number not in logged
    assert "3301**********0150" in exported  # masked form is there for display


async def test_searching_by_subject_id_number_hashes_the_query(client, tokens):
    await _a_day_of_work(client, tokens)
    response = await client.get(
        f"/v1/audit/events?subject_id_number={ZHANG_WEI[0]}&purpose=核查市民投诉&limit=100", headers=tokens.auditor()
    )
    items = response.json()["items"]
    assert items and all(e["subject_masked"] == "3301**********0150" for e in items)
    bad = await client.get("/v1/audit/events?subject_id_number=123&purpose=核查市民投诉", headers=tokens.auditor())
    assert bad.status_code == 422


async def test_chain_verifies_and_a_direct_update_is_named(client, tokens, collaborators):
    await _a_day_of_work(client, tokens)
    intact = (await client.get("/v1/audit/verify", headers=tokens.auditor())).json()
    assert intact["intact"] is True and intact["events_checked"] > 10 and intact["first_bad_event"] is None
    async with collaborators.engine.begin() as conn:
        await conn.execute(text("UPDATE audit_events SET actor_sub = 'someone-else' WHERE seq = 7"))
    broken = (await client.get("/v1/audit/verify", headers=tokens.auditor())).json()
    assert broken["intact"] is False and broken["first_bad_event"] == 7


async def test_deleting_an_event_is_detected_as_a_gap(client, tokens, collaborators):
    await _a_day_of_work(client, tokens)
    assert (await client.get("/v1/audit/verify", headers=tokens.auditor())).json()["intact"] is True
    async with collaborators.engine.begin() as conn:
        await conn.execute(text("DELETE FROM audit_events WHERE seq = 5"))
    broken = (await client.get("/v1/audit/verify", headers=tokens.auditor())).json()
    assert broken == {**broken, "intact": False, "first_bad_event": 6}


async def test_concurrent_writers_from_two_service_instances_keep_the_chain(client, tokens, settings):
    other = create_app(settings, start_worker=False)
    async with other.router.lifespan_context(other):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=other), base_url="http://other") as second:
            citizen = tokens.citizen(*ZHANG_WEI[:2])
            await asyncio.gather(
                *(
                    c.post("/v1/applications", headers=citizen, json=no_criminal_record())
                    for _ in range(10)
                    for c in (client, second)
                ),
                *(c.get("/v1/services") for _ in range(10) for c in (client, second)),
            )
    verdict = (await client.get("/v1/audit/verify", headers=tokens.auditor())).json()
    assert verdict["intact"] is True and verdict["events_checked"] >= 60


async def test_export_verifies_offline_against_a_signed_checkpoint(client, tokens, collaborators, tmp_path):
    await _a_day_of_work(client, tokens)
    checkpoint = await make_checkpoint(uow=collaborators.uow, signer=collaborators.issuer.pdfs.signer)
    assert checkpoint is not None
    (tmp_path / "events.ndjson").write_text((await _export(client, tokens)).text, encoding="utf-8")
    latest = await client.get("/v1/audit/checkpoints/latest", headers=tokens.auditor())
    (tmp_path / "checkpoint.json").write_text(latest.text, encoding="utf-8")
    (tmp_path / "trust.pem").write_text(collaborators.issuer.pdfs.signer.certificate_pem)
    script = [
        sys.executable,
        str(ROOT / "scripts" / "verify_audit_export.py"),
        str(tmp_path / "events.ndjson"),
        str(tmp_path / "checkpoint.json"),
        "--trust",
        str(tmp_path / "trust.pem"),
    ]
    ok = subprocess.run(script, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "chain intact" in ok.stdout and "checkpoint at event" in ok.stdout
    lines = (tmp_path / "events.ndjson").read_text(encoding="utf-8").splitlines()
    tampered = json.loads(lines[3])
    tampered["status_code"] = 200 if tampered["status_code"] != 200 else 201
    lines[3] = json.dumps(tampered, ensure_ascii=False)
    (tmp_path / "events.ndjson").write_text("\n".join(lines), encoding="utf-8")
    bad = subprocess.run(script, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and "event 4" in bad.stdout


async def test_csv_export_opens_in_a_spreadsheet_with_chinese_intact(client, tokens):
    await _a_day_of_work(client, tokens)
    response = await _export(client, tokens, "csv")
    assert response.content.startswith("\ufeff".encode())
    assert response.headers["content-type"].startswith("text/csv")
    header = response.content.decode("utf-8-sig").splitlines()[0].split(",")
    assert "hash" in header and "prev_hash" in header and "subject_masked" in header


async def test_data_access_shows_exactly_this_citizens_consultations(client, tokens):
    work = await _a_day_of_work(client, tokens)
    mine = (await client.get("/v1/me/data-access?limit=100", headers=tokens.citizen(*ZHANG_WEI[:2]))).json()["items"]
    kinds = {item["kind"] for item in mine}
    assert kinds == {"agency_call", "staff_read", "verification"}
    assert {item["application_id"] for item in mine} == {work["issued"]["id"]}
    assert {(i["agency"], i["dataset"]) for i in mine if i["kind"] == "agency_call"} == {
        ("police", "population.person"),
        ("police", "population.residence-registrations"),
        ("housing", "housing.properties"),
        ("housing", "housing.leases"),
    }
    staff = [i for i in mine if i["kind"] == "staff_read"]
    assert [i["by_role"] for i in staff] == ["auditor"]
    shen = (await client.get("/v1/me/data-access", headers=tokens.citizen(*SHEN_GUOQIANG))).json()["items"]
    assert shen and all(i["application_id"] == work["window"]["id"] for i in shen)
    assert {i["on_behalf_of"] for i in shen if i["kind"] == "agency_call"} == {"clerk@310105-HQLB"}
    nobody = (await client.get("/v1/me/data-access", headers=tokens.citizen(*LI_NA[:2]))).json()["items"]
    assert nobody == []


async def test_online_rate_matches_a_hand_count(client, tokens):
    for _ in range(3):
        await file(client, tokens.citizen(*ZHANG_WEI[:2]), no_criminal_record())
    await file(client, tokens.clerk(), {**no_criminal_record(), "applicant": {"id_number": LI_NA[0], "name": LI_NA[1]}})
    stats = (await client.get("/v1/stats", headers=tokens.auditor())).json()
    assert stats["filed"] == 4 and stats["by_channel"] == {"online": 3, "window": 1}
    assert stats["online_rate"] == 0.75
    service = stats["services"][0]
    assert service["service"] == "no-criminal-record-certificate" and service["decided"] == 4
    assert service["processing_seconds_p50"] is not None
    empty = (await client.get("/v1/stats?since=2099-01-01T00:00:00Z", headers=tokens.clerk())).json()
    assert empty["filed"] == 0 and empty["online_rate"] is None
    assert (await client.get("/v1/stats", headers=tokens.citizen(*ZHANG_WEI[:2]))).status_code == 403
