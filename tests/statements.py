"""What a test sent to the database: every statement SQLAlchemy hands to the driver on an engine, and every
statement the service runs on asyncpg itself (app/db/driver.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

from sqlalchemy import event

from app.db import driver


class Sent(NamedTuple):
    statement: str
    parameters: Any
    executemany: bool

    def inserts_into(self, table: str) -> bool:
        return self.statement.lstrip().upper().startswith(f"INSERT INTO {table.upper()}")


@contextmanager
def statements_sent(engine: Any) -> Iterator[list[Sent]]:
    """`with statements_sent(engine) as sent:` each statement sent on `engine` (an AsyncEngine) meanwhile,
    and each run on asyncpg itself (on whatever engine's connection), in order, appended as it is sent."""
    sent: list[Sent] = []

    def listener(_conn: Any, _cursor: Any, statement: str, parameters: Any, _ctx: Any, executemany: bool) -> None:
        sent.append(Sent(statement, parameters, executemany))

    def by_driver(statement: str, parameters: Any, executemany: bool) -> None:
        sent.append(Sent(statement, parameters, executemany))

    event.listen(engine.sync_engine, "before_cursor_execute", listener)
    driver.statement_listeners.append(by_driver)
    try:
        yield sent
    finally:
        driver.statement_listeners.remove(by_driver)
        event.remove(engine.sync_engine, "before_cursor_execute", listener)
