"""Retention: delete change-log rows and idempotency keys past their retention, in bounded batches.

Ages are measured on the database's clock (`logged_at`, `created_at`), never the use cases'
injected one. Each batch is one short transaction that claims its rows with SKIP LOCKED, so
several server processes can prune at once without waiting on each other or deleting a row
twice, and writers are never blocked. Deleting change-log rows moves the horizon (the newest
deleted position) in the same transaction, so a resuming client can tell that its cursor was
overtaken (change_log.py). While any webhook endpoint exists, a change the webhook dispatcher has
not reached yet is kept whatever its age (webhook_dispatch.py); delivered webhook deliveries are
kept as long as changes, pending and dead ones until delivered or their endpoint is deleted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import TextClause, bindparam, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.types import Integer, Interval

from leadcycle.persistence.periodic import PeriodicJob

log = logging.getLogger(__name__)

_PRUNE_CHANGES = text("""
    WITH doomed AS (
        SELECT ctid FROM lead_changes
        WHERE logged_at < now() - :age AND (
            (xid, id) <= (SELECT xid, change_id FROM webhook_dispatch)
            OR NOT EXISTS (SELECT FROM webhook_endpoints))
        LIMIT :batch FOR UPDATE SKIP LOCKED
    ), deleted AS (
        DELETE FROM lead_changes c USING doomed WHERE c.ctid = doomed.ctid RETURNING c.xid, c.id
    ), newest AS (
        SELECT xid, id FROM deleted ORDER BY xid DESC, id DESC LIMIT 1
    ), moved AS (
        UPDATE change_log_horizon h SET xid = newest.xid, change_id = newest.id, pruned_at = now()
        FROM newest WHERE h.id = 1 AND (newest.xid, newest.id) > (h.xid, h.change_id)
    )
    SELECT count(*) FROM deleted""").bindparams(bindparam("age", type_=Interval), bindparam("batch", type_=Integer))

_PRUNE_KEYS = text("""
    WITH doomed AS (
        SELECT ctid FROM idempotency_keys WHERE created_at < now() - :age LIMIT :batch FOR UPDATE SKIP LOCKED
    ), deleted AS (
        DELETE FROM idempotency_keys k USING doomed WHERE k.ctid = doomed.ctid RETURNING 1
    )
    SELECT count(*) FROM deleted""").bindparams(bindparam("age", type_=Interval), bindparam("batch", type_=Integer))


_PRUNE_DELIVERIES = text("""
    WITH doomed AS (
        SELECT id FROM webhook_deliveries WHERE status = 'DELIVERED' AND delivered_at < now() - :age
        LIMIT :batch FOR UPDATE SKIP LOCKED
    ), deleted AS (
        DELETE FROM webhook_deliveries d USING doomed WHERE d.id = doomed.id RETURNING 1
    )
    SELECT count(*) FROM deleted""").bindparams(bindparam("age", type_=Interval), bindparam("batch", type_=Integer))


@dataclass(frozen=True)
class Retention:
    """How long changes (and delivered webhooks) and idempotency keys are kept, and rows per batch."""

    change_log: timedelta = timedelta(days=7)
    idempotency_keys: timedelta = timedelta(hours=24)
    batch: int = 1000


@dataclass(frozen=True)
class Pruned:
    changes: int
    idempotency_keys: int
    webhook_deliveries: int


async def _prune_batch(engine: AsyncEngine, statement: TextClause, age: timedelta, batch: int) -> int:
    async with engine.begin() as connection:
        return int((await connection.execute(statement, {"age": age, "batch": batch})).scalar_one())


async def _prune_all(
    engine: AsyncEngine, statement: TextClause, age: timedelta, batch: int, stopping: Callable[[], bool]
) -> int:
    deleted = 0
    while not stopping():
        count = await _prune_batch(engine, statement, age, batch)
        deleted += count
        if count < batch:
            break
    return deleted


async def prune(engine: AsyncEngine, retention: Retention, stopping: Callable[[], bool] = lambda: False) -> Pruned:
    """Delete, batch by batch, every change, idempotency key and delivered webhook past retention (until `stopping`)."""
    changes = await _prune_all(engine, _PRUNE_CHANGES, retention.change_log, retention.batch, stopping)
    keys = await _prune_all(engine, _PRUNE_KEYS, retention.idempotency_keys, retention.batch, stopping)
    deliveries = await _prune_all(engine, _PRUNE_DELIVERIES, retention.change_log, retention.batch, stopping)
    return Pruned(changes, keys, deliveries)


class RetentionJob(PeriodicJob):
    """Prunes at start and then every `interval_seconds`, until stopped; a failure waits for the next round."""

    def __init__(self, engine: AsyncEngine, retention: Retention, interval_seconds: float) -> None:
        super().__init__("retention", self._prune, interval_seconds)
        self._engine = engine
        self._retention = retention

    async def _prune(self, stopping: Callable[[], bool]) -> None:
        pruned = await prune(self._engine, self._retention, stopping)
        if any(vars(pruned).values()):
            log.info("retention deleted %d changes, %d idempotency keys, %d webhook deliveries", *vars(pruned).values())
