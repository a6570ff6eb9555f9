"""A transaction-scoped lock (app.db.locks) is taken once per transaction: asking again for a key the
transaction holds sends nothing, and the next transaction takes it anew."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from app.db.locks import lock_until_transaction_ends
from tests.statements import Sent, statements_sent


def locks_asked(sent: list[Sent]) -> int:
    return sum("pg_advisory_xact_lock" in s.statement for s in sent)


async def test_a_held_key_is_not_asked_for_again_until_the_transaction_ends(collaborators):
    if collaborators.engine.dialect.name != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's; SQLite's single writer needs none")
    with statements_sent(collaborators.engine) as sent:
        async with collaborators.sessionmaker() as session:
            await lock_until_transaction_ends(session, "filing:a")
            await lock_until_transaction_ends(session, "filing:a")
            await lock_until_transaction_ends(session, "filing:b")
            assert locks_asked(sent) == 2
            await session.commit()
            await lock_until_transaction_ends(session, "filing:a")  # a new transaction holds nothing yet
            assert locks_asked(sent) == 3
            await session.rollback()
            await lock_until_transaction_ends(session, "filing:a")
            assert locks_asked(sent) == 4
        async with collaborators.sessionmaker() as other:  # another session: its own transaction
            await lock_until_transaction_ends(other, "filing:a")
            assert locks_asked(sent) == 5


async def test_the_lock_is_really_held_until_the_transaction_ends(collaborators):
    if collaborators.engine.dialect.name != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's")
    probe = text("SELECT pg_try_advisory_xact_lock(hashtextextended(:key, 0))")
    async with collaborators.sessionmaker() as holder, collaborators.sessionmaker() as other:
        await lock_until_transaction_ends(holder, "filing:held")
        await lock_until_transaction_ends(holder, "filing:held")
        assert (await other.execute(probe, {"key": "filing:held"})).scalar_one() is False
        await other.rollback()
        await holder.commit()
        assert (await other.execute(probe, {"key": "filing:held"})).scalar_one() is True
        await other.rollback()
