"""The unit of work's connection, whose transaction begins with its first statement.

A round trip costs some 60 to 100 us of CPU on our side (bench/RESULTS.md), about what a write's
domain work costs. BEGIN alone is one: here it goes out with the first statement instead, in one
simple-protocol message when that statement has no parameters (a lead's writer lock), or just
before it otherwise.
"""

from __future__ import annotations

from typing import Any

import asyncpg


class Transaction:
    """What the repositories of one unit of work run their statements on, in its one transaction."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection
        self._begun = False
        # The active scoring model's version as the lead's locking statement read it: the write's
        # next question, answered without a round trip of its own (see SqlScoringModels.active).
        self.active_model_version: int | None = None

    async def begin_with(self, sql: str) -> None:
        """Run `sql`, which has no parameters, as the transaction's first statement if it has none yet.

        One simple-protocol message for both: Postgres runs each of its statements in turn, each
        with a snapshot of its own, and an error in either leaves the transaction to roll back.
        """
        await self._connection.execute(sql if self._begun else f"BEGIN; {sql}")
        self._begun = True

    async def execute(self, sql: str, *arguments: Any) -> str:
        await self._begin()
        status: str = await self._connection.execute(sql, *arguments)
        return status

    async def fetch(self, sql: str, *arguments: Any) -> list[asyncpg.Record]:
        await self._begin()
        rows: list[asyncpg.Record] = await self._connection.fetch(sql, *arguments)
        return rows

    async def fetchrow(self, sql: str, *arguments: Any) -> Any:
        await self._begin()
        return await self._connection.fetchrow(sql, *arguments)

    async def fetchval(self, sql: str, *arguments: Any) -> Any:
        await self._begin()
        return await self._connection.fetchval(sql, *arguments)

    async def commit(self) -> None:
        """COMMIT what was written; nothing to send when no statement ran."""
        if self._begun:
            await self._connection.execute("COMMIT")

    async def _begin(self) -> None:
        if not self._begun:
            await self._connection.execute("BEGIN")
            self._begun = True
