"""One transaction per use case; leaving it without `commit()` rolls everything back."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Self

import asyncpg
from sqlalchemy.engine.interfaces import PoolProxiedConnection
from sqlalchemy.ext.asyncio import AsyncEngine

from leadcycle.persistence.driver import hand_back
from leadcycle.persistence.repositories import SqlIdempotencyKeys, SqlLeadRepository
from leadcycle.persistence.rescoring import SqlRescoringRuns
from leadcycle.persistence.scoring_models import ModelCache, SqlScoringModels
from leadcycle.persistence.transaction import Transaction


class SqlUnitOfWork:
    """Implements the domain's UnitOfWork port on one connection of the engine's pool.

    Every repository talks to the asyncpg connection directly, in the transaction its first
    statement begins (transaction.py): a write is four round trips, and SQLAlchemy's connection,
    transaction and result machinery around each cost more CPU than the statements
    (bench/RESULTS.md). The pool is still SQLAlchemy's, shared with the read side, so one size
    bounds both.

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
        self._pooled: PoolProxiedConnection | None = None
        self._driver: asyncpg.Connection | None = None
        self._transaction: Transaction | None = None

    async def __aenter__(self) -> Self:
        pooled = await self._engine.raw_connection()
        driver: asyncpg.Connection = pooled.driver_connection
        self._pooled, self._driver = pooled, driver
        self._transaction = transaction = Transaction(driver)
        self.leads = SqlLeadRepository(transaction)
        self.idempotency = SqlIdempotencyKeys(transaction)
        self.scoring_models = SqlScoringModels(transaction, self._models)
        self.rescoring = SqlRescoringRuns(transaction)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._pooled is not None
        assert self._driver is not None
        pooled, driver = self._pooled, self._driver
        self._pooled = self._driver = self._transaction = None
        broken = True
        try:
            # After a failure, and above all a cancellation, the driver's transaction status may be the one
            # before the last message (its BEGIN went with the lock): only a ROLLBACK, which waits for the
            # cancelled message to end, leaves the connection out of any transaction.
            if exc is not None or driver.is_in_transaction():
                await driver.execute("ROLLBACK")
            broken = False
        finally:
            # Never hand a connection that may still be in our transaction back to the pool.
            await hand_back(pooled, broken=broken)

    async def commit(self) -> None:
        assert self._transaction is not None
        await self._transaction.commit()
        if self._after_commit is not None:
            self._after_commit()


def unit_of_work_factory(
    engine: AsyncEngine, after_commit: Callable[[], None] | None = None
) -> Callable[[], SqlUnitOfWork]:
    """What the use cases are given: a fresh unit of work per call, sharing one cache of parsed models."""
    models = ModelCache()
    return lambda: SqlUnitOfWork(engine, after_commit, models)
