"""The dispatcher: turns committed changes into webhook deliveries, one process at a time.

The change log is the outbox: every change is written in its lead's transaction already. The
dispatcher reads it in commit-safe order (only rows of transactions older than every one in
flight, as change_feed.py does) after the position stored in `webhook_dispatch`, writes one
delivery per matching endpoint, and moves the position, all in one transaction. It holds the
position's row lock while it works, and another process finding it locked skips its turn
(SKIP LOCKED): each change is dispatched once, whatever the number of processes. Retention
never prunes a change after the position while an endpoint exists (retention.py).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple
from uuid import UUID

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from leadcycle.domain.webhooks import DeliveryStatus, WebhookChange, WebhookFilter, payload
from leadcycle.persistence.change_feed import ChangeRecord, change_record
from leadcycle.persistence.change_log import encode_cursor
from leadcycle.persistence.tables import webhook_deliveries, webhook_dispatch, webhook_endpoints
from leadcycle.persistence.tasks import cancel, woken
from leadcycle.persistence.webhooks import endpoint_from_row

log = logging.getLogger(__name__)

_POSITION = (
    select(webhook_dispatch.c.xid, webhook_dispatch.c.change_id)
    .where(webhook_dispatch.c.id == 1)
    .with_for_update(skip_locked=True)
)
_FINAL = "(c.xid, c.id) > (:xid, :id) AND c.xid < (pg_snapshot_xmin(pg_current_snapshot())::text)::bigint"
_FINAL_CHANGES = text(f"""
    SELECT c.xid, c.id, c.kind, c.from_stage, c.to_stage, c.at, c.actor, c.snapshot::text AS snapshot
    FROM lead_changes c WHERE {_FINAL} ORDER BY c.xid, c.id LIMIT :batch""")
_NEWEST_FINAL = text(f"SELECT c.xid, c.id FROM lead_changes c WHERE {_FINAL} ORDER BY c.xid DESC, c.id DESC LIMIT 1")


def _webhook_change(record: ChangeRecord) -> WebhookChange:
    cursor = encode_cursor(record.position)
    return WebhookChange(cursor, record.kind, record.from_stage, record.to_stage, record.at, record.actor, record.lead)


def _deliveries(records: Sequence[ChangeRecord], filters: Mapping[UUID, WebhookFilter]) -> list[dict[str, Any]]:
    """One delivery row per change and endpoint that wants it, in log order."""
    rows = []
    for record in records:
        change = _webhook_change(record)
        for endpoint_id, wanted in filters.items():
            if wanted.matches(record.kind, record.lead.stage):
                delivery_id = uuid.uuid4()
                rows.append(
                    {
                        "id": delivery_id,
                        "endpoint_id": endpoint_id,
                        "lead_id": record.lead_id,
                        "change_xid": record.xid,
                        "change_id": record.id,
                        "kind": record.kind.value,
                        "body": payload(delivery_id, change).decode(),
                        "status": DeliveryStatus.PENDING.value,
                        "attempts": 0,
                    }
                )
    return rows


async def _filters(connection: AsyncConnection) -> dict[UUID, WebhookFilter]:
    rows = (await connection.execute(select(webhook_endpoints))).mappings()
    return {endpoint.id: endpoint.filter for endpoint in map(endpoint_from_row, rows)}


async def _move(connection: AsyncConnection, xid: int, change_id: int) -> None:
    await connection.execute(update(webhook_dispatch).values(xid=xid, change_id=change_id))


class Dispatched(NamedTuple):
    """What one batch did."""

    changes: int  # read from the log
    deliveries: int  # written
    endpoints: bool  # whether any endpoint existed


async def dispatch_batch(engine: AsyncEngine, batch: int) -> Dispatched | None:
    """Dispatch the next final changes, at most `batch`.

    Without endpoints it moves past every final change without reading them. None when another
    process holds the position: it is dispatching, and this one need not.
    """
    async with engine.begin() as connection:
        position = (await connection.execute(_POSITION)).first()
        if position is None:
            return None
        params = {"xid": position.xid, "id": position.change_id, "batch": batch}
        filters = await _filters(connection)
        if not filters:
            if newest := (await connection.execute(_NEWEST_FINAL, params)).first():
                await _move(connection, newest.xid, newest.id)
            return Dispatched(0, 0, endpoints=False)
        records = [change_record(row) for row in (await connection.execute(_FINAL_CHANGES, params)).mappings()]
        if not records:
            return Dispatched(0, 0, endpoints=True)
        rows = _deliveries(records, filters)
        if rows:
            now = func.now()
            statement = insert(webhook_deliveries).values(next_attempt_at=now, created_at=now)
            await connection.execute(statement.on_conflict_do_nothing(), rows)
        await _move(connection, records[-1].xid, records[-1].id)
        return Dispatched(len(records), len(rows), endpoints=True)


class Dispatcher:
    """Dispatches whenever woken (a change was published here) and at least every `poll_seconds`.

    `on_dispatched` is called after deliveries were written, to wake this process's worker, and
    `on_endpoints` after each batch with whether any endpoint exists: while none does, nothing
    can be owed, so the caller need not wake it per change (moving past the log at each poll
    spares every process a transaction per change).
    """

    def __init__(
        self,
        engine: AsyncEngine,
        on_dispatched: Callable[[], None],
        on_endpoints: Callable[[bool], None],
        *,
        poll_seconds: float,
        batch: int = 500,
    ) -> None:
        self._engine = engine
        self._on_dispatched = on_dispatched
        self._on_endpoints = on_endpoints
        self._poll = poll_seconds
        self._batch = batch
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Cancel; a batch cut short rolls back, and the next dispatcher does it again."""
        await cancel(self._task)

    async def _run(self) -> None:
        while True:
            await woken(self._wake, self._poll)
            await self._dispatch_available()

    async def _dispatch_available(self) -> None:
        try:
            while (done := await dispatch_batch(self._engine, self._batch)) is not None:
                self._on_endpoints(done.endpoints)
                if done.deliveries:
                    self._on_dispatched()
                if done.changes < self._batch:
                    return
        except Exception:  # e.g. the database is restarting: the next round tries again
            log.exception("could not dispatch webhook deliveries")
