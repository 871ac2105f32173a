"""Test databases: one fresh database per run, on DATABASE_URL's server or an embedded Postgres.

The database is migrated once by the app's own migrations. Tests that commit (HTTP, WebSocket,
concurrency) use unique random data rather than cleanup tricks.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
import uvicorn
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from leadcycle.graph.app import create_app
from leadcycle.graph.settings import Settings
from leadcycle.persistence.database import create_engine, migrate, plain_url
from leadcycle.persistence.embedded import embedded_postgres


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """A Postgres server: DATABASE_URL's, else an embedded one for this run.

    The embedded one lives in a temporary folder of its own, not under pytest's base folder: pytest
    deletes the oldest of those when later runs start, which would pull the data folder from under a
    run still going beside them.
    """
    configured = os.environ.get("LEADCYCLE_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if configured:
        yield configured
        return
    with (
        tempfile.TemporaryDirectory(prefix="leadcycle-test-postgres-") as folder,
        embedded_postgres(Path(folder)) as url,
    ):
        yield url


@pytest_asyncio.fixture(scope="session")
async def database_url(server_url: str) -> AsyncIterator[str]:
    """A database of its own for this run, dropped at the end."""
    name = f"leadcycle_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(plain_url(server_url))
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(plain_url(server_url)).set(database=name).render_as_string(hide_password=False)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest_asyncio.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    await migrate(engine)
    yield engine
    await engine.dispose()


@pytest_asyncio.fixture(scope="session")
async def api_url(engine: AsyncEngine, database_url: str) -> AsyncIterator[str]:
    """The app served by a real uvicorn on a free local port, for the whole run.

    It may post webhooks to private addresses: the tests' receivers listen on 127.0.0.1.
    """
    app = create_app(Settings(webhook_allow_private_addresses=True), database_url)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    with contextlib.suppress(asyncio.CancelledError):
        await task


@pytest_asyncio.fixture
async def client(api_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as client:
        yield client


class GraphQLClient:
    """Posts operations as a client application would; `actor` goes in X-Actor."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def execute(self, query: str, actor: str | None = None, **variables: Any) -> dict[str, Any]:
        headers = {"x-actor": actor} if actor else {}
        response = await self.http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def data(self, query: str, actor: str | None = None, **variables: Any) -> dict[str, Any]:
        """The data of an operation that must not fail."""
        body = await self.execute(query, actor, **variables)
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data


@pytest.fixture
def gql(client: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(client)
