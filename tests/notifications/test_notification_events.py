"""Events are written with the change they announce: application decisions, revocations, expiry."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.applications.announcements import tell_certificate_changed
from app.applications.models import Application
from app.applications.states import Actor, Event, Status, fire
from app.background import REMINDERS
from app.certificates.models import Certificate
from app.notifications.dispatcher import Dispatcher
from app.notifications.models import OutboxEvent
from tests.builders import LI_NA, WANG_FANG, ZHANG_WEI, file, no_criminal_record, residence_permit, upload_proof


async def _events(collaborators) -> list[OutboxEvent]:
    async with collaborators.sessionmaker() as session:
        return list((await session.execute(select(OutboxEvent).order_by(OutboxEvent.id))).scalars())


async def test_an_issued_application_has_its_event_with_the_certificate_and_the_citizens_sub(
    client, tokens, collaborators
):
    headers = tokens.citizen(*ZHANG_WEI[:2], sub="citizen-zhang")
    issued = (await file(client, headers, no_criminal_record())).json()

    [event] = await _events(collaborators)
    assert event.payload() == {
        "id": event.id,
        "type": "application.issued",
        "occurred_at": event.occurred_at.isoformat(),
        "application_id": issued["id"],
        "service": "no-criminal-record-certificate",
        "status": "issued",
        "certificate_serial": issued["certificate"]["serial"],
        "subject": "citizen-zhang",
    }
    assert ZHANG_WEI[0] not in str(event.payload())


async def test_review_then_a_clerks_approval_are_two_events_and_steps_on_the_way_none(client, tokens, collaborators):
    headers = tokens.citizen(*WANG_FANG[:2])
    material = await upload_proof(client, headers)
    review = (await file(client, headers, residence_permit(WANG_FANG[2], [material]))).json()
    assert review["status"] == "needs_review"
    decided = await client.post(
        f"/v1/applications/{review['id']}/decision",
        headers=tokens.clerk(),
        json={"outcome": "approve", "reason": "租赁合同已续签"},
    )
    assert decided.status_code == 200

    events = await _events(collaborators)
    assert [e.type for e in events] == ["application.needs_review", "application.issued"]
    assert events[0].certificate_serial is None
    assert events[1].certificate_serial == decided.json()["certificate"]["serial"]


async def test_waiting_on_an_agency_is_not_announced_but_the_decision_after_it_is(client, tokens, collaborators):
    headers = tokens.citizen(*ZHANG_WEI[:2])
    collaborators.agencies.police_simulator.set_faults(down=True)
    pending = (await file(client, headers, no_criminal_record())).json()
    assert pending["status"] == "pending_agency"
    assert await _events(collaborators) == []

    collaborators.agencies.police_simulator.reset()
    await asyncio.sleep(0.3)  # the circuit's reset interval in tests
    await collaborators.worker.process_due(now=datetime.now(UTC) + timedelta(hours=1))
    assert [(e.type, e.application_id) for e in await _events(collaborators)] == [("application.issued", pending["id"])]


async def test_withdrawing_is_announced(client, tokens, collaborators):
    headers = tokens.citizen(*ZHANG_WEI[:2])
    collaborators.agencies.police_simulator.set_faults(down=True)
    pending = (await file(client, headers, no_criminal_record())).json()
    assert (await client.post(f"/v1/applications/{pending['id']}/withdraw", headers=headers)).status_code == 200
    assert [e.type for e in await _events(collaborators)] == ["application.withdrawn"]


async def test_a_change_that_is_rolled_back_leaves_no_event(client, tokens, collaborators):
    headers = tokens.citizen(*ZHANG_WEI[:2])
    collaborators.agencies.police_simulator.set_faults(down=True)
    pending = (await file(client, headers, no_criminal_record())).json()
    async with collaborators.sessionmaker() as session:
        application = await session.get(Application, pending["id"])
        assert application is not None
        fire(application, Event.withdraw, Status.withdrawn, actor=Actor.applicant, at=datetime.now(UTC), by="test")
        await session.flush()
        await session.rollback()
    assert await _events(collaborators) == []


async def test_a_revocation_is_announced_in_its_transaction(client, tokens, collaborators):
    headers = tokens.citizen(*ZHANG_WEI[:2], sub="citizen-zhang")
    serial = (await file(client, headers, no_criminal_record())).json()["certificate"]["serial"]
    revoked = await client.post(
        f"/v1/certificates/{serial}/revoke", headers=tokens.clerk(), json={"reason": "issued on forged materials"}
    )
    assert revoked.status_code == 200, revoked.text

    last = (await _events(collaborators))[-1]
    assert (last.type, last.status, last.certificate_serial, last.subject) == (
        "certificate.revoked",
        "revoked",
        serial,
        "citizen-zhang",
    )


async def test_a_certificate_change_is_announced_with_the_callers_commit(client, tokens, collaborators):
    """The workflow's supersession tells the holder in its own session; nothing is written until it commits."""
    serial = (await file(client, tokens.citizen(*ZHANG_WEI[:2]), no_criminal_record())).json()["certificate"]["serial"]
    async with collaborators.sessionmaker() as session:
        certificate = await session.get(Certificate, serial)
        application = await session.get(Application, certificate.application_id)
        tell_certificate_changed(session, certificate, application, "superseded", at=datetime.now(UTC))
        await session.rollback()
    assert [e.type for e in await _events(collaborators)] == ["application.issued"]
    async with collaborators.sessionmaker() as session:
        certificate = await session.get(Certificate, serial)
        application = await session.get(Application, certificate.application_id)
        tell_certificate_changed(session, certificate, application, "superseded", at=datetime.now(UTC))
        await session.commit()
    last = (await _events(collaborators))[-1]
    assert (last.type, last.status, last.certificate_serial) == ("certificate.superseded", "superseded", serial)


async def test_an_expiry_reminder_is_written_thirty_days_before_and_only_once(client, tokens, collaborators):
    serial = (await file(client, tokens.citizen(*LI_NA[:2]), no_criminal_record())).json()["certificate"]["serial"]
    async with collaborators.sessionmaker() as session:
        expires_at = (await session.get(Certificate, serial)).expires_at
    dispatchers = [Dispatcher(collaborators.sessionmaker, [], reminders=REMINDERS) for _ in range(2)]

    assert await dispatchers[0].remind(now=expires_at - timedelta(days=31)) == 0
    due = expires_at - timedelta(days=29)
    written = await asyncio.gather(*(d.remind(now=due) for d in dispatchers))
    assert sorted(written) == [0, 1]
    assert await dispatchers[1].remind(now=due + timedelta(days=1)) == 0
    reminders = [e for e in await _events(collaborators) if e.type == "certificate.expiring"]
    assert [(e.certificate_serial, e.status) for e in reminders] == [(serial, "valid")]


async def test_a_reissue_tells_the_holder_the_old_copy_is_superseded(client, tokens, collaborators):
    headers = tokens.citizen(*ZHANG_WEI[:2], sub="citizen-zhang")
    issued = (await file(client, headers, no_criminal_record())).json()
    old = issued["certificate"]["serial"]
    new = (await client.post(f"/v1/certificates/{old}/reissue", headers=headers)).json()

    feed = (await client.get("/v1/me/notifications", headers=headers)).json()["items"]
    assert [(e["type"], e["certificate_serial"]) for e in feed][-1] == ("certificate.superseded", old)
    assert new["serial"] != old
