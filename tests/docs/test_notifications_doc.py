"""docs/notifications.md's example receiver, run as written against the real dispatcher; the README's
walk-through carries the same receiver."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from app.notifications.dispatcher import Dispatcher
from app.notifications.signing import delivery_body, signature
from app.notifications.sinks import WebhookSink
from tests.builders import ZHANG_WEI, file, no_criminal_record
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
SECRET = "docs-example-secret-0123456789"


def example_receiver() -> str:
    blocks = re.findall(
        r"^```python\n(.*?)^```",
        (ROOT / "docs" / "notifications.md").read_text(encoding="utf-8"),
        re.MULTILINE | re.DOTALL,
    )
    [receiver] = [b for b in blocks if "X-Cityservices-Signature" in b]
    return receiver


def test_the_example_receiver_is_about_twenty_lines_and_the_readme_carries_it_verbatim() -> None:
    receiver = example_receiver()
    assert len(receiver.splitlines()) <= 25
    assert receiver in (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.fixture
def running_receiver(tmp_path: Path):  # type: ignore[no-untyped-def]
    script = tmp_path / "receiver.py"
    script.write_text(example_receiver(), encoding="utf-8")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(script)],
        env={"NOTIFY_WEBHOOK_SECRET": SECRET, "PORT": str(port)},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/"
    for _ in range(100):
        try:
            httpx.get(url, timeout=0.2)
            break
        except httpx.HTTPError:
            time.sleep(0.05)
    yield url, process
    process.terminate()
    process.wait(timeout=10)


async def test_the_example_receiver_takes_a_signed_event_once_and_refuses_forgeries_and_stale_replays(
    client, tokens, collaborators, running_receiver
):
    url, process = running_receiver
    application = (await file(client, tokens.citizen(*ZHANG_WEI[:2]), no_criminal_record())).json()
    dispatcher = Dispatcher(collaborators.sessionmaker, [WebhookSink(url, secret=SECRET, timeout_s=2)])
    try:
        assert await dispatcher.run_once() == 1
        await _replay_as_a_retry(dispatcher, url)
    finally:
        await dispatcher.stop()

    payload = {
        "id": 999,
        "type": "application.issued",
        "occurred_at": datetime.now(UTC).isoformat(),
        "application_id": "x",
        "service": "s",
        "status": "issued",
        "certificate_serial": None,
        "subject": None,
    }
    fresh = delivery_body(payload, sent_at=datetime.now(UTC))
    async with httpx.AsyncClient() as http:
        forged = await http.post(
            url, content=fresh, headers={"X-Cityservices-Signature": signature(fresh, "wrong" * 4)}
        )
        stale = delivery_body(payload, sent_at=datetime(2026, 1, 1, tzinfo=UTC))
        replayed = await http.post(url, content=stale, headers={"X-Cityservices-Signature": signature(stale, SECRET)})
    assert (forged.status_code, replayed.status_code) == (401, 401)

    process.terminate()
    out, _ = process.communicate(timeout=10)
    serial = application["certificate"]["serial"]
    [line] = out.splitlines()  # delivered twice, handled once
    assert re.fullmatch(rf"\d+ application\.issued {application['id']} {serial}", line), line


async def _replay_as_a_retry(dispatcher: Dispatcher, url: str) -> None:
    """The same event delivered again (as after a lost answer): the receiver dedupes it by id."""
    from sqlalchemy import update

    from app.notifications.models import OutboxEvent

    async with dispatcher.sessionmaker() as session:
        await session.execute(update(OutboxEvent).values(state="pending", next_attempt_at=datetime.now(UTC)))
        await session.commit()
    assert await dispatcher.run_once() == 1
