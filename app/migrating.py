"""Applying the database migrations (`cityservices migrate`, and `serve` in development)."""

from __future__ import annotations

from pathlib import Path

from app.config import Settings


def migrate(settings: Settings) -> None:
    """Upgrade the database to the newest revision (`cityservices migrate`)."""
    from alembic import command
    from alembic.config import Config

    import migrations

    # No alembic.ini needed: the scripts are the installed `migrations` package (shipped in the wheel).
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).resolve().parent))
    config.attributes["database_url"] = settings.resolved_database_url
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")
    _ensure_partitions(settings)


def _ensure_partitions(settings: Settings) -> None:
    """This month's and the next two months' request-log partitions, at every migrate (PostgreSQL; the
    migration that partitioned the table made the months of its day, and the worker keeps them coming)."""
    import asyncio

    from sqlalchemy.engine import make_url

    if make_url(settings.resolved_database_url).get_backend_name() != "postgresql":
        return
    from app.audit.partitions import ensure_partitions
    from app.clock import utc_now
    from app.db.session import create_engine

    async def ensure() -> None:
        engine = create_engine(settings.resolved_database_url)
        try:
            await ensure_partitions(engine, now=utc_now())
        finally:
            await engine.dispose()

    asyncio.run(ensure())


class DatabaseUnreachable(SystemExit):
    """Migrations could not reach the database: one line naming where, not the driver's traceback."""


def _where(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    url = make_url(settings.resolved_database_url)
    if url.get_backend_name() == "sqlite":
        return str(url.database)
    return f"{url.host or 'localhost'}:{url.port or 5432}/{url.database or ''}"


def migrate_or_explain(settings: Settings) -> None:
    """`migrate`, but a database that cannot be reached (refused, unknown host, bad password, timeout)
    stops the command with one line and exit status 1."""
    from sqlalchemy.exc import DBAPIError, OperationalError

    try:
        migrate(settings)
    except (OSError, OperationalError, DBAPIError) as exc:
        cause = getattr(exc, "orig", None) or exc
        reason = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
        raise DatabaseUnreachable(
            f"cityservices: cannot migrate the database at {_where(settings)}: {type(cause).__name__}: {reason}"
        ) from None
