"""Slots and appointments at a window (docs/windows.md), through HTTP: booking, a full slot, one open
appointment per line, cancellation, the clerk's station boundary, arrivals and no-shows, notifications
and the staff figures."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
from sqlalchemy import select

from app.background import REMINDERS
from app.clock import SHANGHAI
from app.config import Environment
from app.main import create_app
from app.notifications.dispatcher import Dispatcher
from app.notifications.models import OutboxEvent
from tests.builders import LI_NA, ZHANG_WEI
from tests.stations.windows import HQLB, PEOPLE, XJH, book, free_slots, move_slot


async def _free_at(client, start: str, station: str = HQLB, line: str = "household") -> int:
    day = start[:10]
    items = (await client.get(f"/v1/stations/{station}/slots", params={"date": day, "line": line})).json()["items"]
    return next(s["free"] for s in items if s["start"] == start)


async def test_a_days_slots_follow_the_opening_hours_per_line(client):
    monday = datetime.now(SHANGHAI).date() + timedelta(days=7 - datetime.now(SHANGHAI).weekday())
    slots = (await client.get(f"/v1/stations/{HQLB}/slots", params={"date": monday.isoformat()})).json()
    assert slots["slot_minutes"] == 30
    household = [s for s in slots["items"] if s["line"] == "household"]
    # 09:00-12:00 and 13:30-17:00 on a weekday: 6 + 7 half-hour slots, each for 4 people.
    assert [s["start"][11:16] for s in household] == [
        "09:00", "09:30", "10:00", "10:30", "11:00", "11:30",
        "13:30", "14:00", "14:30", "15:00", "15:30", "16:00", "16:30",
    ]  # fmt: skip
    assert all(s["capacity"] == 4 and s["free"] == 4 and s["start"].endswith("+08:00") for s in household)
    assert {s["line"] for s in slots["items"]} == {"household", "public_order", "exit_entry", "traffic"}
    sunday = monday - timedelta(days=1)
    closed = await client.get(f"/v1/stations/{HQLB}/slots", params={"date": sunday.isoformat()})
    assert closed.status_code == 200 and closed.json()["items"] == []


async def test_slots_only_for_the_days_open_for_booking(client):
    today = datetime.now(SHANGHAI).date()
    for day in (today - timedelta(days=1), today + timedelta(days=15)):
        answer = await client.get(f"/v1/stations/{HQLB}/slots", params={"date": day.isoformat()})
        assert answer.status_code == 422 and answer.json()["code"] == "DATE_NOT_BOOKABLE"
    assert (await client.get("/v1/stations/310105-NOPE/slots")).json()["code"] == "STATION_NOT_FOUND"
    assert (await client.get(f"/v1/stations/{HQLB}/slots", params={"day": "2026-12-07"})).status_code == 422


async def test_a_citizen_books_a_slot_and_sees_it(client, tokens):
    start = (await free_slots(client))[0]["start"]
    zhang = tokens.citizen(*ZHANG_WEI[:2])
    booked = await book(client, zhang, start)
    assert booked.status_code == 201, booked.text
    appointment = booked.json()
    assert (appointment["station_id"], appointment["station_name"], appointment["line"]) == (
        HQLB,
        "虹桥路派出所",
        "household",
    )
    assert appointment["start"] == start and appointment["status"] == "booked"
    assert appointment["citizen"] == {"name": "张伟", "id_number_masked": "3301**********0150"}
    assert await _free_at(client, start) == 3
    mine = (await client.get("/v1/me/appointments", headers=zhang)).json()["items"]
    assert [a["id"] for a in mine] == [appointment["id"]]
    assert (await client.get("/v1/me/appointments", headers=tokens.citizen(*LI_NA[:2]))).json()["items"] == []


async def test_a_full_slot_is_refused(client, tokens):
    start = (await free_slots(client))[0]["start"]
    answers = [(await book(client, tokens.citizen(*person), start)).status_code for person in PEOPLE[:5]]
    assert answers == [201, 201, 201, 201, 409]
    full = await book(client, tokens.citizen(*PEOPLE[5]), start)
    assert full.status_code == 409 and full.json()["code"] == "SLOT_FULL"
    assert await _free_at(client, start) == 0


async def test_one_open_appointment_per_citizen_and_line(client, tokens):
    first, second = (await free_slots(client, at_least=2))[:2]
    zhang = tokens.citizen(*ZHANG_WEI[:2])
    held = (await book(client, zhang, first["start"])).json()
    again = await book(client, zhang, second["start"])
    assert again.status_code == 409 and again.json()["code"] == "APPOINTMENT_ALREADY_BOOKED"
    assert again.json()["appointment_id"] == held["id"]
    assert await _free_at(client, second["start"]) == 4  # the refused booking took no place
    other_line = await book(client, zhang, first["start"], line="exit_entry")
    assert other_line.status_code == 201


async def test_bookings_that_name_no_slot_are_refused(client, tokens):
    zhang = tokens.citizen(*ZHANG_WEI[:2])
    start = (await free_slots(client))[0]["start"]
    every = (await client.get("/v1/stations", params={"limit": 100})).json()["items"]
    no_traffic = next(s["id"] for s in every if "traffic" not in s["lines"])
    cases = [
        ({"station_id": "310105-NOPE", "line": "household", "start": start}, 422, "UNKNOWN_STATION"),
        ({"station_id": no_traffic, "line": "traffic", "start": start}, 422, "LINE_NOT_HANDLED"),
        (
            {"station_id": HQLB, "line": "household", "start": start.replace(":00+08:00", ":10+08:00")},
            422,
            "NO_SUCH_SLOT",
        ),
        ({"station_id": HQLB, "line": "household", "start": start[:19]}, 422, "VALIDATION_FAILED"),  # no zone
        ({"station_id": HQLB, "line": "parking", "start": start}, 422, "VALIDATION_FAILED"),
    ]
    yesterday = (datetime.now(SHANGHAI) - timedelta(days=7)).date()
    far = (datetime.now(SHANGHAI) + timedelta(days=28)).date()
    for day in (yesterday, far):
        weekday_slot = (
            next(d for d in (day + timedelta(days=i) for i in range(7)) if d.isoweekday() <= 5).isoformat()
            + "T09:00:00+08:00"
        )
        cases.append(({"station_id": HQLB, "line": "household", "start": weekday_slot}, 422, "SLOT_NOT_BOOKABLE"))
    for body, status, code in cases:
        answer = await client.post("/v1/appointments", headers=zhang, json=body)
        assert (answer.status_code, answer.json()["code"]) == (status, code), body
    as_clerk = await client.post("/v1/appointments", headers=tokens.clerk(), json=cases[0][0])
    assert as_clerk.status_code == 403


async def test_the_owner_cancels_until_the_slot_starts_and_the_place_comes_back(client, tokens, collaborators):
    start = (await free_slots(client))[0]["start"]
    zhang, li = tokens.citizen(*ZHANG_WEI[:2]), tokens.citizen(*LI_NA[:2])
    appointment = (await book(client, zhang, start)).json()
    assert (await client.delete(f"/v1/appointments/{appointment['id']}", headers=li)).status_code == 404
    cancelled = await client.delete(f"/v1/appointments/{appointment['id']}", headers=zhang)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["cancelled_at"] is not None
    assert await _free_at(client, start) == 4
    twice = await client.delete(f"/v1/appointments/{appointment['id']}", headers=zhang)
    assert twice.status_code == 409 and twice.json()["code"] == "APPOINTMENT_NOT_OPEN"
    rebooked = (await book(client, zhang, start)).json()  # the line is free again
    await move_slot(collaborators, rebooked["id"], datetime.now(SHANGHAI) - timedelta(minutes=10))  # begun, not over
    late = await client.delete(f"/v1/appointments/{rebooked['id']}", headers=zhang)
    assert late.status_code == 409 and late.json()["code"] == "APPOINTMENT_STARTED"


async def test_only_the_stations_own_clerks_see_its_day_and_mark_arrivals(client, tokens):
    start = (await free_slots(client))[0]["start"]
    zhang = tokens.citizen(*ZHANG_WEI[:2])
    appointment = (await book(client, zhang, start)).json()
    day = {"date": start[:10]}
    ours, theirs = tokens.clerk(HQLB, sub="clerk-hqlb"), tokens.clerk(XJH, sub="clerk-xjh")

    listed = await client.get(f"/v1/stations/{HQLB}/appointments", headers=ours, params=day)
    assert listed.status_code == 200 and [a["id"] for a in listed.json()["items"]] == [appointment["id"]]
    assert listed.json()["items"][0]["citizen"]["id_number_masked"] == "3301**********0150"
    refused = await client.get(f"/v1/stations/{HQLB}/appointments", headers=theirs, params=day)
    assert refused.status_code == 403 and refused.json()["code"] == "NOT_YOUR_STATION"
    assert (await client.get(f"/v1/stations/{XJH}/appointments", headers=theirs, params=day)).json()["items"] == []
    assert (await client.get(f"/v1/stations/{HQLB}/appointments", headers=zhang, params=day)).status_code == 403

    elsewhere = await client.post(f"/v1/appointments/{appointment['id']}/arrival", headers=theirs)
    assert elsewhere.status_code == 404 and elsewhere.json()["code"] == "APPOINTMENT_NOT_FOUND"
    arrived = await client.post(f"/v1/appointments/{appointment['id']}/arrival", headers=ours)
    assert arrived.status_code == 200 and arrived.json()["status"] == "arrived"
    again = await client.post(f"/v1/appointments/{appointment['id']}/arrival", headers=ours)
    assert again.status_code == 409 and again.json()["code"] == "APPOINTMENT_NOT_OPEN"
    assert (await client.delete(f"/v1/appointments/{appointment['id']}", headers=zhang)).status_code == 409

    # The clerk's reading of the day is a consultation of the citizen's data.
    seen = (await client.get("/v1/me/data-access", headers=zhang, params={"limit": 50})).json()["items"]
    assert any(item["action"] == "appointment.list_station" and item["by_station"] == HQLB for item in seen)


async def test_after_the_slot_ends_no_arrival_is_a_no_show(client, tokens, collaborators):
    slots = await free_slots(client, at_least=2)
    zhang = tokens.citizen(*ZHANG_WEI[:2])
    missed = (await book(client, zhang, slots[0]["start"])).json()
    await move_slot(collaborators, missed["id"])
    mine = (await client.get("/v1/me/appointments", headers=zhang)).json()["items"]
    assert [(a["id"], a["status"]) for a in mine] == [(missed["id"], "no_show")]
    late = await client.post(f"/v1/appointments/{missed['id']}/arrival", headers=tokens.clerk(HQLB))
    assert late.status_code == 409 and late.json()["code"] == "APPOINTMENT_ENDED"
    # A missed appointment is not an open one: the citizen may book again in that line.
    assert (await book(client, zhang, slots[1]["start"])).status_code == 201


async def _as_clerk_of(app_settings, tokens, station: str) -> httpx.Response:
    app = create_app(app_settings, start_worker=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("198.51.100.40", 1))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.get(f"/v1/stations/{HQLB}/appointments", headers=tokens.clerk(station, sub="c"))


async def test_in_production_a_clerk_of_a_station_not_in_the_registry_is_refused(settings, tokens):
    # The same settings as the suite's, but for the environment: what production decides is the point.
    production = settings.model_copy(update={"environment": Environment.production})
    refused = await _as_clerk_of(production, tokens, "310105-NOPE")
    assert refused.status_code == 403 and refused.json()["code"] == "STATION_NOT_REGISTERED"
    assert (await _as_clerk_of(production, tokens, HQLB)).status_code == 200
    # Development takes any well-formed station: this clerk is simply not HQLB's.
    assert (await _as_clerk_of(settings, tokens, "310105-NOPE")).json()["code"] == "NOT_YOUR_STATION"


async def test_booking_and_cancelling_are_notified_and_reminded_the_day_before(client, tokens, collaborators):
    start = (await free_slots(client))[0]["start"]
    zhang = tokens.citizen(*ZHANG_WEI[:2], sub="citizen-zhang")
    appointment = (await book(client, zhang, start)).json()
    starts = datetime.fromisoformat(start)
    dispatchers = [Dispatcher(collaborators.sessionmaker, [], reminders=REMINDERS) for _ in range(2)]
    two_days_before = starts - timedelta(days=2)
    assert await dispatchers[0].remind(now=two_days_before) == 0
    the_evening_before = datetime.combine(starts.date() - timedelta(days=1), datetime.min.time(), tzinfo=SHANGHAI)
    the_evening_before += timedelta(hours=20)
    written = [await d.remind(now=the_evening_before) for d in dispatchers]
    assert sorted(written) == [0, 1]  # once, however many dispatchers scan
    await client.delete(f"/v1/appointments/{appointment['id']}", headers=zhang)

    feed = (await client.get("/v1/me/notifications", headers=zhang)).json()["items"]
    assert [(e["type"], e["status"]) for e in feed] == [
        ("appointment.booked", "booked"),
        ("appointment.reminder", "booked"),
        ("appointment.cancelled", "cancelled"),
    ]
    assert all(e["appointment"]["id"] == appointment["id"] and e["appointment"]["start"] == start for e in feed)
    assert feed[0]["appointment"]["station_name"] == "虹桥路派出所"
    # Only a booked appointment is reminded: a new scan after the cancellation writes nothing.
    assert await dispatchers[0].remind(now=the_evening_before) == 0
    # What the webhook receives: the citizen's `sub` and the appointment, never an id number.
    async with collaborators.sessionmaker() as session:
        bodies = [e.payload() for e in (await session.execute(select(OutboxEvent).order_by(OutboxEvent.id))).scalars()]
    assert [(b["type"], b["subject"], b["appointment"]["id"]) for b in bodies] == [
        (f"appointment.{change}", "citizen-zhang", appointment["id"]) for change in ("booked", "reminder", "cancelled")
    ]
    assert ZHANG_WEI[0] not in str(bodies)


async def test_staff_figures_give_appointments_by_station_and_day_with_the_no_show_rate(client, tokens, collaborators):
    slots = await free_slots(client, at_least=2)
    people = [tokens.citizen(*person) for person in PEOPLE[:4]]
    made = [(await book(client, p, slots[0]["start"])).json() for p in people[:3]]
    await client.post(f"/v1/appointments/{made[0]['id']}/arrival", headers=tokens.clerk(HQLB))
    await client.delete(f"/v1/appointments/{made[1]['id']}", headers=people[1])
    for appointment in made:
        await move_slot(collaborators, appointment["id"])
    await book(client, people[3], slots[1]["start"])

    # A window filing at the station, to show its name beside its filings too.
    clerk = tokens.clerk(HQLB)
    await client.post(
        "/v1/applications",
        headers=clerk,
        json={
            "service": "no-criminal-record-certificate",
            "details": {"purpose": "employment"},
            "applicant": {"id_number": LI_NA[0], "name": LI_NA[1]},
        },
    )
    figures = (await client.get("/v1/stats", headers=tokens.auditor())).json()
    assert [(s["station_id"], s["name"]) for s in figures["by_station"]] == [(HQLB, "虹桥路派出所")]
    rows = {(a["station_id"], a["day"]): a for a in figures["appointments"]}
    yesterday = (datetime.now(SHANGHAI).date() - timedelta(days=1)).isoformat()
    past = rows[(HQLB, yesterday)]
    assert (past["name"], past["made"], past["arrived"], past["cancelled"], past["no_show"]) == (
        "虹桥路派出所",
        3,
        1,
        1,
        1,
    )
    assert past["no_show_rate"] == 0.5
    ahead = rows[(HQLB, slots[1]["start"][:10])]
    assert (ahead["made"], ahead["upcoming"], ahead["no_show_rate"]) == (1, 1, None)
    assert figures["appointments_no_show_rate"] == 0.5
    public = (await client.get("/v1/stats/public")).json()
    assert "appointments" not in public
