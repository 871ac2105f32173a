"""The read side's connections: taken from the engine's pool, given back usable or closed, never half-used."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncEngine

from leadcycle.persistence import driver
from leadcycle.persistence.database import create_engine
from leadcycle.persistence.tables import leads


@pytest_asyncio.fixture
async def one_connection(engine: AsyncEngine, database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine (on the migrated database) whose pool holds one connection."""
    engine = create_engine(database_url, pool_size=1)
    yield engine
    await engine.dispose()


async def server_pid(engine: AsyncEngine) -> int:
    async with driver.connection(engine) as connection:
        pid: int = connection.get_server_pid()
        assert await connection.fetchval("SELECT 1") == 1
    return pid


async def fail_in_a_transaction(engine: AsyncEngine) -> None:
    async with driver.connection(engine) as connection:
        await connection.execute("BEGIN")
        await connection.fetchval("SELECT 1 / 0")


class TestConnection:
    async def test_a_connection_goes_back_to_the_pool_after_its_statements(self, one_connection: AsyncEngine) -> None:
        first = await server_pid(one_connection)
        assert await server_pid(one_connection) == first
        assert one_connection.sync_engine.pool.checkedout() == 0  # type: ignore[attr-defined]

    async def test_a_statement_the_server_refuses_leaves_the_connection_usable(
        self, one_connection: AsyncEngine
    ) -> None:
        first = await server_pid(one_connection)
        with pytest.raises(asyncpg.DivisionByZeroError):
            async with driver.connection(one_connection) as connection:
                await connection.fetchval("SELECT 1 / 0")
        assert await server_pid(one_connection) == first

    async def test_a_cancelled_statement_closes_the_connection(self, one_connection: AsyncEngine) -> None:
        first = await server_pid(one_connection)
        with pytest.raises(TimeoutError):
            async with driver.connection(one_connection) as connection:
                await asyncio.wait_for(connection.fetchval("SELECT pg_sleep(5)"), timeout=0.05)
        assert await server_pid(one_connection) != first  # a new connection, which works

    async def test_a_transaction_left_open_closes_the_connection(self, one_connection: AsyncEngine) -> None:
        first = await server_pid(one_connection)
        with pytest.raises(asyncpg.DivisionByZeroError):
            await fail_in_a_transaction(one_connection)
        assert await server_pid(one_connection) != first


class TestPlain:
    def test_a_statement_is_compiled_once_with_its_open_and_bound_parameters(self) -> None:
        query = select(leads.c.id).where(
            leads.c.stage.in_(["MQL", "SQL"]), leads.c.score >= bindparam("least", None, type_=leads.c.score.type)
        )
        plain = driver.plain(query)
        assert plain.sql.count("$") == 3
        assert plain.arguments(least=40) == [40 if name == "least" else plain.bound[name] for name in plain.names]
        assert sorted(value for name, value in plain.bound.items() if name != "least") == ["MQL", "SQL"]

    async def test_its_sql_runs_on_the_driver_as_the_engine_would_run_it(self, engine: AsyncEngine) -> None:
        plain = driver.plain(
            select(leads.c.id).where(leads.c.score >= bindparam("least", None, type_=leads.c.score.type))
        )
        async with driver.connection(engine) as connection:
            found = await connection.fetch(plain.sql, *plain.arguments(least=2**30))
        assert found == []


async def test_a_burst_wider_than_the_pool_reuses_its_connections(engine: AsyncEngine, database_url: str) -> None:
    """Requests beyond the pool wait for a connection; none is opened and closed again (a new backend each)."""
    pool = create_engine(database_url, pool_size=4)
    seen: list[int] = []

    async def use() -> None:
        async with driver.connection(pool) as connection:
            seen.append(connection.get_server_pid())
            await connection.fetchval("SELECT pg_sleep(0.01)")

    try:
        for _ in range(3):
            await asyncio.gather(*(use() for _ in range(16)))
        assert len(seen) == 48
        assert len(set(seen)) == 4
    finally:
        await pool.dispose()
