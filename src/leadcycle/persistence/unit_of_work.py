"""One transaction per use case; leaving it without `commit()` rolls everything back."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from leadcycle.persistence.repositories import SqlIdempotencyKeys, SqlLeadRepository
from leadcycle.persistence.rescoring import SqlRescoringRuns
from leadcycle.persistence.scoring_models import ModelCache, SqlScoringModels


class SqlUnitOfWork:
    """Implements the domain's UnitOfWork port on one pooled connection.

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

    async def __aenter__(self) -> Self:
        self._connection = await self._engine.connect()
        await self._connection.begin()
        self.leads = SqlLeadRepository(self._connection)
        self.idempotency = SqlIdempotencyKeys(self._connection)
        self.scoring_models = SqlScoringModels(self._connection, self._models)
        self.rescoring = SqlRescoringRuns(self._connection)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._connection is not None
        try:
            if self._connection.in_transaction():
                await self._connection.rollback()
        finally:
            await self._connection.close()
            self._connection = None

    async def commit(self) -> None:
        assert self._connection is not None
        await self._connection.commit()
        if self._after_commit is not None:
            self._after_commit()


def unit_of_work_factory(
    engine: AsyncEngine, after_commit: Callable[[], None] | None = None
) -> Callable[[], SqlUnitOfWork]:
    """What the use cases are given: a fresh unit of work per call, sharing one cache of parsed models."""
    models = ModelCache()
    return lambda: SqlUnitOfWork(engine, after_commit, models)
