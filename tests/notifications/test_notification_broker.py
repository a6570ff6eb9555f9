"""The same events published to NATS JetStream, against the real server on this machine."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import nats
import pytest
from sqlalchemy import select

from app.notifications.broker import NatsSink
from app.notifications.dispatcher import Dispatcher, DispatchPolicy
from app.notifications.models import OutboxEvent
from app.notifications.signing import signature
from tests.builders import ZHANG_WEI, file, no_criminal_record
from tests.servers import nats_is_up

NATS_URL = "nats://127.0.0.1:4222"
SECRET = "test-webhook-secret-0123456789"


pytestmark = pytest.mark.skipif(not nats_is_up(), reason="no NATS server on 127.0.0.1:4222")


@pytest.fixture
async def stream() -> AsyncIterator[tuple[str, str]]:
    """A stream and subject of this test's own, deleted afterwards."""
    tag = uuid.uuid4().hex[:10]
    name, subject = f"CITYSERVICES_TEST_{tag}", f"cityservices-test.{tag}"
    yield name, subject
    client = await nats.connect(NATS_URL)
    try:
        await client.jetstream().delete_stream(name)
    finally:
        await client.close()


class Crash(BaseException):
    pass


class CrashAfterPublishing(NatsSink):
    async def deliver(self, payload, *, sent_at):  # type: ignore[no-untyped-def]
        await super().deliver(payload, sent_at=sent_at)
        raise Crash()


async def test_a_decision_is_published_signed_and_a_republish_after_a_crash_is_dropped_by_jetstream(
    client, tokens, collaborators, stream
):
    name, subject = stream
    application = (await file(client, tokens.citizen(*ZHANG_WEI[:2]), no_criminal_record())).json()
    policy = DispatchPolicy(lease=timedelta(seconds=30))
    dying = Dispatcher(
        collaborators.sessionmaker,
        [CrashAfterPublishing(NATS_URL, secret=SECRET, timeout_s=2, subject=subject, stream=name)],
        policy,
    )
    with pytest.raises(Crash):
        await dying.run_once()
    await dying.stop()
    successor = Dispatcher(
        collaborators.sessionmaker,
        [NatsSink(NATS_URL, secret=SECRET, timeout_s=2, subject=subject, stream=name)],
        policy,
    )
    try:
        assert await successor.run_once(now=datetime.now(UTC) + timedelta(seconds=31)) == 1
    finally:
        await successor.stop()

    reader = await nats.connect(NATS_URL)
    try:
        js = reader.jetstream()
        assert (await js.stream_info(name)).state.messages == 1  # the second publish was a duplicate
        consumer = await js.pull_subscribe(f"{subject}.>", durable=None, stream=name)
        [message] = await consumer.fetch(1, timeout=2)
    finally:
        await reader.close()
    body = json.loads(message.data)
    assert message.subject == f"{subject}.application.issued"
    assert (body["application_id"], body["status"]) == (application["id"], "issued")
    assert message.headers["Nats-Msg-Id"] == str(body["id"])
    assert message.headers["X-Cityservices-Signature"] == signature(message.data, SECRET)
    async with collaborators.sessionmaker() as session:
        assert (await session.execute(select(OutboxEvent.state))).scalar_one() == "sent"


async def test_a_broker_that_is_down_is_a_failed_attempt_retried_later(collaborators):
    async with collaborators.sessionmaker() as session:
        session.add(
            OutboxEvent(
                type="application.issued",
                occurred_at=datetime.now(UTC),
                subject_hash="h" * 64,
                state="pending",
                attempts=0,
                next_attempt_at=datetime.now(UTC),
            )
        )
        await session.commit()
    d = Dispatcher(collaborators.sessionmaker, [NatsSink("nats://127.0.0.1:1", secret=None, timeout_s=0.5)])
    try:
        assert await d.run_once() == 1
    finally:
        await d.stop()
    async with collaborators.sessionmaker() as session:
        event = (await session.execute(select(OutboxEvent))).scalar_one()
    assert (event.state, event.attempts) == ("pending", 1) and event.last_error.startswith("nats:")
