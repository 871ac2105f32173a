"""More servers and databases than the session's one: for settings of their own, or a log of their own.

A test that prunes the change log, or needs the retention horizon to move, must not do it in the
shared database, where other tests resume from cursors; it takes a fresh database instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx
import uvicorn
from sqlalchemy.engine import make_url
from starlette.applications import Starlette

from leadcycle.graph.app import create_app
from leadcycle.graph.settings import Settings
from leadcycle.persistence.database import create_engine, migrate, plain_url
from tests.conftest import GraphQLClient


@contextlib.asynccontextmanager
async def fresh_database(server_url: str) -> AsyncIterator[str]:
    """A new, migrated database on the test server, dropped afterwards."""
    name = f"leadcycle_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(plain_url(server_url))
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(plain_url(server_url)).set(database=name).render_as_string(hide_password=False)
    try:
        engine = create_engine(url)
        await migrate(engine)
        await engine.dispose()
        yield url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@contextlib.asynccontextmanager
async def uvicorn_serving(app: Starlette) -> AsyncIterator[str]:
    """Any ASGI app under a real uvicorn on a free local port: its base URL, until the block ends."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task


@contextlib.asynccontextmanager
async def serving(settings: Settings, database_url: str) -> AsyncIterator[tuple[str, Starlette]]:
    """The app with these settings under a real uvicorn on a free port: its URL, and the app."""
    app = create_app(settings, database_url)
    async with uvicorn_serving(app) as url:
        yield url, app


@contextlib.asynccontextmanager
async def own_server(server_url: str, settings: Settings) -> AsyncIterator[GraphQLClient]:
    """A client of the app with these settings, on a fresh database of its own.

    Its own database, so that its webhook workers never touch another test's deliveries.
    """
    async with (
        fresh_database(server_url) as database_url,
        serving(settings, database_url) as (api, _app),
        httpx.AsyncClient(base_url=api, timeout=30) as http,
    ):
        yield GraphQLClient(http)
