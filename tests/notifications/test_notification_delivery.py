"""Delivery at least once, through a real receiver: failures, timeouts, a crash, two dispatchers."""

from __future__ import annotations

import asyncio
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.notifications.dispatcher import Dispatcher, DispatchPolicy
from app.notifications.models import OutboxEvent
from app.notifications.signing import signature
from app.notifications.sinks import WebhookSink
from tests.builders import ZHANG_WEI, file, no_criminal_record
from tests.notifications.receiver import Receiver
from tests.servers import CITYSERVICES

SECRET = "test-webhook-secret-0123456789"
QUICK = DispatchPolicy(backoff_base_s=0.01, backoff_max_s=0.02, lease=timedelta(seconds=30))


def dispatcher(
    collaborators, receiver: Receiver, *, timeout_s: float = 10, policy: DispatchPolicy = QUICK
) -> Dispatcher:
    return Dispatcher(
        collaborators.sessionmaker, [WebhookSink(receiver.url, secret=SECRET, timeout_s=timeout_s)], policy
    )


async def add_events(collaborators, count: int) -> list[int]:
    now = datetime.now(UTC)
    rows = [
        OutboxEvent(
            type="application.issued",
            occurred_at=now,
            application_id=f"app-{i}",
            service="s",
            status="issued",
            subject=f"citizen-{i}",
            subject_hash="h" * 64,
            state="pending",
            attempts=0,
            next_attempt_at=now,
        )
        for i in range(count)
    ]
    async with collaborators.sessionmaker() as session:
        session.add_all(rows)
        await session.commit()
    return [r.id for r in rows]


async def state_of(collaborators, event_id: int) -> OutboxEvent:
    async with collaborators.sessionmaker() as session:
        return (await session.execute(select(OutboxEvent).where(OutboxEvent.id == event_id))).scalar_one()


def later(seconds: float = 1.0) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


async def test_a_receiver_that_fails_then_times_out_then_recovers_gets_the_event_signed_with_one_id(
    client, tokens, collaborators
):
    application = (await file(client, tokens.citizen(*ZHANG_WEI[:2], sub="citizen-zhang"), no_criminal_record())).json()
    with Receiver(script=["fail", "slow"], slow_s=3) as receiver:
        d = dispatcher(collaborators, receiver, timeout_s=0.8)
        try:
            assert await d.run_once() == 1
            [event] = await _all(collaborators)
            assert (event.state, event.attempts, event.last_error) == (
                "pending",
                1,
                "webhook: webhook answered HTTP 500",
            )
            assert await d.run_once(now=later()) == 1
            assert "timed out" in (await state_of(collaborators, event.id)).last_error
            assert await d.run_once(now=later(2)) == 1
        finally:
            await d.stop()
    delivered = await state_of(collaborators, event.id)
    assert (delivered.state, delivered.attempts) == ("sent", 3)
    assert receiver.ids() == [event.id] * 3
    for received in receiver.received:
        assert received.signature == signature(received.body, SECRET)
        body = received.payload
        assert {k: body[k] for k in ("type", "application_id", "status", "subject")} == {
            "type": "application.issued",
            "application_id": application["id"],
            "status": "issued",
            "subject": "citizen-zhang",
        }
        assert body["certificate_serial"] == application["certificate"]["serial"]
        assert set(body) == {
            "id",
            "type",
            "occurred_at",
            "application_id",
            "service",
            "status",
            "certificate_serial",
            "subject",
            "sent_at",
        }
    assert len({r.body for r in receiver.received}) == 3  # a new `sent_at`, so a new signature, each time


async def test_after_the_limit_an_event_is_dead_lettered_listed_and_replayed_by_the_operator(collaborators, settings):
    [event_id] = await add_events(collaborators, 1)
    policy = DispatchPolicy(max_attempts=2, backoff_base_s=0.01, backoff_max_s=0.02)
    with Receiver(script=["fail"] * 2) as receiver:
        d = dispatcher(collaborators, receiver, policy=policy)
        try:
            await d.run_once()
            await d.run_once(now=later())
            assert (await state_of(collaborators, event_id)).state == "dead"
            assert await d.run_once(now=later(60)) == 0  # a dead letter is left alone

            env = {
                "DATABASE_URL": settings.resolved_database_url,
                "DATA_DIR": str(settings.data_dir),
                "PATH": "/usr/bin:/bin",
            }
            listed = subprocess.run(
                [*CITYSERVICES, "notifications", "--failed"], env=env, capture_output=True, text=True, timeout=60
            )
            assert listed.returncode == 0, listed.stderr
            assert f'"id": {event_id},' in listed.stdout and "HTTP 500" in listed.stdout
            replayed = subprocess.run(
                [*CITYSERVICES, "notifications", "--replay", str(event_id)],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert replayed.returncode == 0, replayed.stderr
            again = subprocess.run(
                [*CITYSERVICES, "notifications", "--replay", str(event_id)],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert again.returncode == 1 and "no dead-lettered notification" in again.stderr

            assert await d.run_once() == 1
        finally:
            await d.stop()
    assert (await state_of(collaborators, event_id)).state == "sent"
    assert receiver.ids() == [event_id] * 3


class Crash(BaseException):
    """The process dies: nothing after this point runs."""


class CrashAfterSending(WebhookSink):
    async def deliver(self, payload, *, sent_at):  # type: ignore[no-untyped-def]
        await super().deliver(payload, sent_at=sent_at)
        raise Crash()


async def test_a_dispatcher_that_dies_between_sending_and_marking_is_followed_by_a_resend_with_the_same_id(
    collaborators,
):
    [event_id] = await add_events(collaborators, 1)
    with Receiver() as receiver:
        dying = Dispatcher(
            collaborators.sessionmaker, [CrashAfterSending(receiver.url, secret=SECRET, timeout_s=10)], QUICK
        )
        with pytest.raises(Crash):
            await dying.run_once()
        await dying.stop()
        assert (await state_of(collaborators, event_id)).state == "pending"
        successor = dispatcher(collaborators, receiver)
        try:
            assert await successor.run_once() == 0  # still leased to the dead one
            assert await successor.run_once(now=later(QUICK.lease.total_seconds() + 1)) == 1
        finally:
            await successor.stop()
    assert receiver.ids() == [event_id, event_id]
    assert (await state_of(collaborators, event_id)).state == "sent"


async def test_two_dispatchers_at_once_never_send_one_event_twice(collaborators):
    ids = await add_events(collaborators, 60)
    policy = DispatchPolicy(batch=10, backoff_base_s=0.01, backoff_max_s=0.02)
    with Receiver() as receiver:
        pair = [dispatcher(collaborators, receiver, policy=policy), dispatcher(collaborators, receiver, policy=policy)]
        try:

            async def drain(d: Dispatcher) -> int:
                total = 0
                while tried := await d.run_once():
                    total += tried
                return total

            shares = await asyncio.gather(*(drain(d) for d in pair))
        finally:
            for d in pair:
                await d.stop()
    assert sorted(receiver.ids()) == ids  # every event, each exactly once
    assert sum(shares) == len(ids)
    if collaborators.engine.dialect.name == "postgresql":
        assert all(shares), shares  # SKIP LOCKED lets both work at once


async def test_without_a_webhook_or_broker_events_are_kept_for_the_feed_and_not_sent(collaborators):
    [event_id] = await add_events(collaborators, 1)
    assert await Dispatcher(collaborators.sessionmaker, []).run_once() == 1
    assert (await state_of(collaborators, event_id)).state == "skipped"


async def _all(collaborators) -> list[OutboxEvent]:
    async with collaborators.sessionmaker() as session:
        return list((await session.execute(select(OutboxEvent).order_by(OutboxEvent.id))).scalars())


def test_production_refuses_an_unsigned_webhook():
    from pydantic import ValidationError

    from app.config import Settings

    with pytest.raises(ValidationError, match="NOTIFY_WEBHOOK_SECRET"):
        Settings(environment="production", notify_webhook_url="https://notify.example.gov.cn/hooks")


async def test_a_round_takes_no_more_than_its_batch(collaborators):
    await add_events(collaborators, 25)
    with Receiver() as receiver:
        d = dispatcher(collaborators, receiver, policy=DispatchPolicy(batch=10))
        try:
            assert [await d.run_once(), await d.run_once(), await d.run_once(), await d.run_once()] == [10, 10, 5, 0]
        finally:
            await d.stop()
