"""Engine, migrations and health of the Postgres database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from leadcycle.persistence.mapping import dumps, jsonb_decoder, jsonb_encoder, loads

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
_MIGRATION_LOCK = 7_420_111  # advisory lock key: one migrator at a time across processes


def async_url(url: str) -> str:
    """Any Postgres URL (postgres://, postgresql://, +asyncpg) as SQLAlchemy's asyncpg URL."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def plain_url(url: str) -> str:
    """The same database as a libpq URL, for asyncpg's own connections (LISTEN, benchmarks)."""
    return make_url(async_url(url)).set(drivername="postgresql").render_as_string(hide_password=False)


def create_engine(
    url: str, *, pool_size: int = 20, lock_timeout_ms: int = 5_000, statement_timeout_ms: int = 30_000
) -> AsyncEngine:
    """An engine whose stuck locks and runaway statements become errors, not hung requests.

    Its pool opens up to `pool_size` connections as they are needed and keeps them. No overflow:
    SQLAlchemy closes an overflow connection that comes back while `pool_size` others are idle,
    which under bursts happens all the time, and each new one costs a Postgres backend, its start-up
    and our codecs' type introspection. At 64 concurrent clients that churn cost a fifth of the
    mutations' throughput (bench/RESULTS.md, session 6).

    The most recently returned connection goes out first (LIFO): at a load below the pool's size
    the same few backends serve it with their caches warm, instead of all twenty in turn, and the
    rest stay idle (RESULTS.md, session 8).
    """
    settings = {"lock_timeout": str(lock_timeout_ms), "statement_timeout": str(statement_timeout_ms)}
    engine = create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=0,
        pool_use_lifo=True,
        json_serializer=dumps,
        json_deserializer=loads,
        connect_args={"server_settings": settings},
    )
    event.listen(engine.sync_engine, "connect", _use_our_jsonb_codec)
    return engine


def _use_our_jsonb_codec(connection: Any, _record: Any) -> None:
    """Decode jsonb values as `loads` does, straight from asyncpg's bytes: a write decodes a dozen.

    SQLAlchemy's codec (set up before this listener runs) wraps its deserializer in a function of
    its own that first decodes the bytes to text.
    """
    connection.run_async(_set_jsonb_codec)


async def _set_jsonb_codec(connection: asyncpg.Connection) -> None:
    await connection.set_type_codec(
        "jsonb", encoder=jsonb_encoder, decoder=jsonb_decoder, schema="pg_catalog", format="binary"
    )


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest migration; safe when several processes start at once."""
    async with engine.connect() as connection:
        await connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _MIGRATION_LOCK})
        try:
            await connection.run_sync(_upgrade)
            await connection.commit()
        finally:
            await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _MIGRATION_LOCK})
            await connection.commit()


def _upgrade(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def current_revision(engine: AsyncEngine) -> str | None:
    """The migration the database's schema is at; None before the first."""
    async with engine.connect() as connection:
        revision: str | None = await connection.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())
    return revision


async def is_ready(engine: AsyncEngine) -> bool:
    """The database answers and its schema is at the newest migration."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    return await current_revision(engine) == head
