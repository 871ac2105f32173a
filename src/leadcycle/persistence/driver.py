"""Plain SQL on the asyncpg connection under SQLAlchemy's pool: the read side's way to the database.

Through SQLAlchemy's AsyncConnection a read costs three round trips (its adapter begins a
transaction before the statement and rolls it back on close) and the Core statement's compilation,
cache key and result machinery: more CPU than the statement itself (bench/RESULTS.md). Here a
read takes a connection of the same pool, sends one statement, compiled once, and gives it back.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import ClauseElement
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.engine.interfaces import PoolProxiedConnection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.util import greenlet_spawn

_DIALECT = asyncpg_dialect()  # type: ignore[no-untyped-call]  # SQLAlchemy leaves dialect constructors untyped


@contextlib.asynccontextmanager
async def connection(engine: AsyncEngine) -> AsyncIterator[asyncpg.Connection]:
    """A connection of the engine's pool, outside any transaction: each statement commits on its own.

    It goes back to the pool as it is when the block ends, or after a statement the server refused
    (the connection is then idle again), unless a transaction was left open; after anything else (a
    cancelled statement, a lost connection) its state is unknown, and it is closed instead.
    """
    pooled = await engine.raw_connection()
    driver: asyncpg.Connection = pooled.driver_connection
    usable = False
    try:
        yield driver
        usable = True
    except asyncpg.PostgresError:
        usable = True
        raise
    finally:
        usable = usable and not driver.is_in_transaction()
        await hand_back(pooled, broken=not usable)


async def hand_back(pooled: PoolProxiedConnection, *, broken: bool) -> None:
    """Return the connection to the pool, or close it for good when its state is unknown.

    Both may close a connection (a broken one, or one whose pool was disposed meanwhile), which
    SQLAlchemy's asyncpg adapter awaits: hence the greenlet.
    """
    await greenlet_spawn(pooled.invalidate if broken else pooled.close)


@dataclass(frozen=True)
class Plain:
    """A Core statement as asyncpg's SQL: its numbered parameters by name, with the values the statement binds."""

    sql: str
    names: tuple[str, ...]
    bound: Mapping[str, Any]

    def arguments(self, **given: Any) -> list[Any]:
        """The parameters in order: `given` for the statement's open bind parameters, the bound values for the rest."""
        return [given[name] if name in given else self.bound[name] for name in self.names]


def plain(statement: ClauseElement) -> Plain:
    """Compile `statement` once for asyncpg (lists of IN expanded), as SQLAlchemy's engine would send it.

    Open parameters (`bindparam(name, None, type_=...)`) are named in `Plain.arguments`; the values must
    need no bind processing (the read side binds strings, numbers, timestamps and UUIDs).
    """
    compiled = statement.compile(dialect=_DIALECT, compile_kwargs={"render_postcompile": True})
    assert isinstance(compiled, SQLCompiler)
    return Plain(compiled.string, tuple(compiled.positiontup or ()), dict(compiled.params))
