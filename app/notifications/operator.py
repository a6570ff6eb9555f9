"""`cityservices notifications --failed | --replay ID`: what an operator does with dead letters."""

from __future__ import annotations

import asyncio
import json
import sys

from app.config import Settings
from app.db.session import create_engine, create_sessionmaker
from app.db.uow import UnitOfWorkFactory
from app.notifications import service


async def _run(settings: Settings, *, failed: bool, replay: int | None) -> int:
    engine = create_engine(settings.resolved_database_url)
    try:
        async with UnitOfWorkFactory(create_sessionmaker(engine))() as work:
            if failed:
                events = await service.dead_letters(work.session)
                # The sinks that gave up on it: a replay sends it to those only (the others have it).
                dead_to = await service.dead_sinks(work.session, [e.id for e in events])
                for event in events:
                    line = {**event.payload(), "attempts": event.attempts, "last_error": event.last_error}
                    print(json.dumps({**line, "undelivered_to": dead_to[event.id]}, ensure_ascii=False))
                return 0
            assert replay is not None
            if await service.replay(work, replay):
                print(f"notification {replay} will be delivered again")
                return 0
            print(f"cityservices: no dead-lettered notification {replay}", file=sys.stderr)
            return 1
    finally:
        await engine.dispose()


def run(settings: Settings, *, failed: bool, replay: int | None) -> int:
    return asyncio.run(_run(settings, failed=failed, replay=replay))
