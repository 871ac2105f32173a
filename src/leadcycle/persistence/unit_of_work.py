"""One transaction per use case; leaving it without `commit()` rolls everything back."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Self

import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from leadcycle.persistence.repositories import SqlIdempotencyKeys, SqlLeadRepository
from leadcycle.persistence.rescoring import SqlRescoringRuns
from leadcycle.persistence.scoring_models import ModelCache, SqlScoringModels


class SqlUnitOfWork:
    """Implements the domain's UnitOfWork port on one pooled connection.

    The transaction is the driver's: the lead repository talks to asyncpg directly (the hot path),
    and SQLAlchemy, switched to autocommit on this connection so that it begins nothing of its
    own, runs its statements inside the same transaction.

    `after_commit` runs once the transaction is durable: the change-log wake-up goes there,
    never inside the transaction (a NOTIFY at commit takes a database-wide lock).
    """

    leads: SqlLeadRepository
    idempotency: SqlIdempotencyKeys
    scoring_models: SqlScoringModels
    rescoring: SqlRescoringRuns

    def __init__(
        self,
        engine: AsyncEngine,
        after_commit: Callable[[], None] | None = None,
        models: ModelCache | None = None,
    ) -> None:
        self._engine = engine
        self._after_commit = after_commit
        self._models = models or ModelCache()
        self._connection: AsyncConnection | None = None
        self._driver: asyncpg.Connection | None = None

    async def __aenter__(self) -> Self:
        connection = await self._engine.connect()
        try:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            driver: asyncpg.Connection = (await connection.get_raw_connection()).driver_connection
            await driver.execute("BEGIN")
        except BaseException:
            await connection.invalidate()
            await connection.close()
            raise
        self._connection, self._driver = connection, driver
        self.leads = SqlLeadRepository(driver)
        self.idempotency = SqlIdempotencyKeys(connection)
        self.scoring_models = SqlScoringModels(connection, driver, self._models)
        self.rescoring = SqlRescoringRuns(connection)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._connection is not None
        assert self._driver is not None
        try:
            if self._driver.is_in_transaction():
                await self._driver.execute("ROLLBACK")
        except BaseException:
            # Never hand a connection that may still be in our transaction back to the pool.
            await self._connection.invalidate()
            raise
        finally:
            await self._connection.close()
            self._connection = self._driver = None

    async def commit(self) -> None:
        assert self._driver is not None
        await self._driver.execute("COMMIT")
        if self._after_commit is not None:
            self._after_commit()


def unit_of_work_factory(
    engine: AsyncEngine, after_commit: Callable[[], None] | None = None
) -> Callable[[], SqlUnitOfWork]:
    """What the use cases are given: a fresh unit of work per call, sharing one cache of parsed models."""
    models = ModelCache()
    return lambda: SqlUnitOfWork(engine, after_commit, models)
