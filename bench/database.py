"""The benchmark's own database: created fresh on a Postgres server, migrated, dropped at the end."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from leadcycle.persistence.database import create_engine, migrate, plain_url


@contextlib.contextmanager
def postgres_server(database_url: str | None) -> Iterator[str]:
    """The server to work on: the given URL, else LEADCYCLE_DATABASE_URL / DATABASE_URL, else an embedded one."""
    configured = database_url or os.environ.get("LEADCYCLE_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if configured:
        yield configured
        return
    from leadcycle.persistence.embedded import embedded_postgres  # only when needed: it starts a server

    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")  # pgserver asks platformdirs
    with tempfile.TemporaryDirectory(prefix="leadcycle-bench-") as folder, embedded_postgres(Path(folder)) as url:
        yield url


@contextlib.asynccontextmanager
async def fresh_database(server_url: str, *, keep: bool = False) -> AsyncIterator[str]:
    """A new, migrated database `leadcycle_bench_<random>` on the server; dropped on exit unless `keep`."""
    name = f"leadcycle_bench_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(plain_url(server_url))
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(plain_url(server_url)).set(database=name).render_as_string(hide_password=False)
    try:
        engine = create_engine(url)
        try:
            await migrate(engine)
        finally:
            await engine.dispose()
        yield url
    finally:
        if not keep:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
