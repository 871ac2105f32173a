"""Resuming from the change log: cursors, replay of what a client missed, and the seam to live changes.

A cursor is a change's position (xid, id) in the log. `follow` registers with the live feed
first, so every change delivered from then on is buffered; it replays from the log the changes
after the cursor up to the position the feed had delivered at that moment, then drains the live
buffer, skipping anything at or before the last position it handed out. Both halves are final
parts of the log (change_feed.py), so the seam has neither a gap nor a duplicate.

Retention deletes old changes and records the newest deleted position in `change_log_horizon`
(retention.py). A cursor before the horizon may have lost changes after it: it is refused,
never silently resumed with a gap. Each replayed page reads the horizon in the same snapshot as
its rows, so pruning during a replay is caught too.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import RowMapping, Text, and_, cast, exists, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from leadcycle.domain.stages import Stage
from leadcycle.persistence.change_feed import ChangeFeed, ChangeRecord, Position, change_record
from leadcycle.persistence.tables import change_log_horizon, lead_changes

_CURSOR_KIND = "change"
REPLAY_PAGE = 200


class InvalidChangeCursor(ValueError):
    """A cursor that is malformed, or names no change this log ever held."""


class CursorTooOld(Exception):
    """Changes after the cursor were pruned by retention: the client must refetch."""


def encode_cursor(position: Position) -> str:
    """The opaque cursor of a change's position."""
    return base64.urlsafe_b64encode(json.dumps([_CURSOR_KIND, *position]).encode()).decode()


def decode_cursor(cursor: str) -> Position:
    """The position a cursor stands for; InvalidChangeCursor when it is not one of ours."""
    try:
        kind, xid, change_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError, binascii.Error):
        raise InvalidChangeCursor("The cursor is malformed: pass back a cursor you received") from None
    if kind != _CURSOR_KIND or not all(type(n) is int and n >= 0 for n in (xid, change_id)):
        raise InvalidChangeCursor("The cursor is malformed: pass back a cursor you received")
    return xid, change_id


@dataclass(frozen=True)
class LogFilter:
    """Conditions the database can apply while replaying; `wants` still decides each change."""

    lead_id: UUID | None = None
    to_stage: Stage | None = None


async def _horizon(connection: AsyncConnection) -> Position:
    row = (await connection.execute(select(change_log_horizon.c.xid, change_log_horizon.c.change_id))).one()
    return row.xid, row.change_id


async def check_cursor(engine: AsyncEngine, after: Position) -> None:
    """Refuse a cursor that retention overtook (CursorTooOld) or that names no change (InvalidChangeCursor)."""
    async with engine.connect() as connection:
        horizon = await _horizon(connection)
        if after < horizon:
            raise CursorTooOld(after)
        if after == horizon:  # the change itself may be gone, but everything after it is kept
            return
        named = exists().where(lead_changes.c.xid == after[0], lead_changes.c.id == after[1])
        if not (await connection.execute(select(named))).scalar_one():
            raise InvalidChangeCursor("The cursor names no change of this server: subscribe without after")


async def _page(
    engine: AsyncEngine, after: Position, until: Position, where: LogFilter, size: int
) -> Sequence[RowMapping]:
    position = tuple_(lead_changes.c.xid, lead_changes.c.id)
    conditions = [position > tuple_(*after), position <= tuple_(*until)]
    if where.lead_id is not None:
        conditions.append(lead_changes.c.lead_id == where.lead_id)
    if where.to_stage is not None:
        conditions.append(lead_changes.c.to_stage == where.to_stage.value)
    c = lead_changes.c
    query = (
        select(c.xid, c.id, c.kind, c.from_stage, c.to_stage, c.at, c.actor, cast(c.snapshot, Text).label("snapshot"))
        .where(and_(*conditions))
        .order_by(c.xid, c.id)
        .limit(size)
    )
    async with engine.connect() as connection:
        # The horizon and the rows from one snapshot: rows pruned after `after` cannot go unnoticed.
        await connection.execution_options(isolation_level="REPEATABLE READ")
        async with connection.begin():
            if after < await _horizon(connection):
                raise CursorTooOld(after)
            return (await connection.execute(query)).mappings().all()


async def replay(
    engine: AsyncEngine,
    after: Position,
    until: Position,
    wants: Callable[[ChangeRecord], bool],
    where: LogFilter = LogFilter(),
    page: int = REPLAY_PAGE,
) -> AsyncIterator[ChangeRecord]:
    """The changes in (after, until] that `wants`, in log order, read a page at a time."""
    while after < until:
        rows = await _page(engine, after, until, where, page)  # no connection is held while yielding
        for row in rows:
            record = change_record(row)
            after = record.position
            if wants(record):
                yield record
        if len(rows) < page:
            return


async def follow(
    feed: ChangeFeed,
    engine: AsyncEngine,
    wants: Callable[[ChangeRecord], bool],
    after: Position | None,
    where: LogFilter = LogFilter(),
    page: int = REPLAY_PAGE,
) -> AsyncGenerator[ChangeRecord, None]:
    """The changes that `wants` after `after` (all live ones without it), each once, in log order.

    Raises CursorTooOld or InvalidChangeCursor for a cursor it cannot resume from, and
    SubscriberTooSlow when the consumer falls more than the feed's buffer behind live changes.
    """
    last, checked = after, False
    while True:
        with feed.subscribe(wants) as live:
            if last is not None:
                until = feed.position  # what the feed had delivered when `live` was registered
                if not checked:  # only now: registering first means no I/O before it
                    await check_cursor(engine, last)
                    checked = True
                async for record in replay(engine, last, until, wants, where, page):
                    last = record.position
                    yield record
                last = max(last, until)
                if live.overflowed:  # the consumer fell behind during a long replay: the log still has it all
                    continue
            async for record in live:
                if last is None or record.position > last:
                    last = record.position
                    yield record
            return
