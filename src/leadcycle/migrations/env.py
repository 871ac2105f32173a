"""Alembic environment: migrations run on the connection `database.migrate` hands over,
or, from the `alembic` command line, on LEADCYCLE_DATABASE_URL / DATABASE_URL."""

import asyncio
import os

from alembic import context
from sqlalchemy import Connection

from leadcycle.persistence.database import create_engine
from leadcycle.persistence.tables import metadata


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


async def _run_from_url(url: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    url = os.environ.get("LEADCYCLE_DATABASE_URL") or os.environ["DATABASE_URL"]
    asyncio.run(_run_from_url(url))
