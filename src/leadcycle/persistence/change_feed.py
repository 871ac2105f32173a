"""The change log, read in commit-safe order and fanned out to subscribers in this process.

Position in the log is (xid, id): the writing transaction's id, then the row's id. Sequence
values are taken at insert, not at commit, so following "id > last seen" would skip rows of
transactions that commit out of order. Instead the feed reads only rows whose transaction is
older than every transaction still in flight in this database (`_OWN_HORIZON`, at least the
`xmin` of a fresh snapshot): that set is final, so nothing can later appear before the position
already delivered. Writers of one lead
take their transaction id in lock order (repositories.py), so per lead the order is version order.

Each process holds one LISTEN connection. After a commit the writer pokes the feed: the local
reader wakes at once and one coalesced NOTIFY, sent outside any write transaction, wakes the
other processes (a process ignores its own). A periodic read covers wake-ups lost while a
connection was down.

The log is read only while this process has subscribers. Without any, a wake-up reads no rows:
`position` only moves to the horizon (xmin) of a fresh snapshot, which the NOTIFY statement
returns at no extra round trip. Every change committed later has a transaction id at or after
that horizon, so a subscriber registering then, without any I/O, misses nothing committed after
it registered (it may get the few changes committed just before, as it may get a change held
back behind an open transaction).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

import asyncpg

from leadcycle.domain.model import Lead
from leadcycle.domain.stages import ChangeKind, Stage
from leadcycle.persistence.mapping import lead_from_snapshot, loads

log = logging.getLogger(__name__)
T = TypeVar("T")
Position = tuple[int, int]  # (xid, id): a change's place in the log
CHANNEL = "leadcycle_changes"
# A closed connection raises InterfaceError, which is not a PostgresError.
_CONNECTION_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError)
# While committed changes wait behind an older open transaction, look again after 5 ms, then
# back off to a quarter second: a long transaction elsewhere must not make the reader spin.
_FIRST_RECHECK, _LAST_RECHECK = 0.005, 0.25
# The wake-up of the other processes waits this long for more commits to share it: a NOTIFY costs
# a round trip here and wakes every listening process, so under load one per several commits
# saves all of them work, for 2 ms more before a change reaches another process's subscribers.
_NOTIFY_GATHER = 0.002
_XMIN = "(pg_snapshot_xmin(pg_current_snapshot())::text)::bigint"
# The oldest transaction in flight that may write to this database: xmin spans the whole server, so
# a transaction open in another database (another application's, a long COPY) would hold every
# change back until it ends. Only a transaction of a backend connected to another database is
# passed over; one that cannot be placed (pg_stat_activity read a moment after the snapshot, a
# prepared transaction, too few privileges to see its xid) still counts, so a doubt only delays.
# xip holds 64-bit ids, backend_xid their low 32 bits.
_OWN_HORIZON = """(
    SELECT coalesce(min(running.xid), (pg_snapshot_xmax(pg_current_snapshot())::text)::bigint)
    FROM (SELECT (xip::text)::bigint AS xid FROM pg_snapshot_xip(pg_current_snapshot()) AS xip) AS running
    WHERE running.xid % 4294967296 NOT IN (
        SELECT (backend_xid::text)::bigint FROM pg_stat_activity
        WHERE backend_xid IS NOT NULL AND datname <> current_database()))"""
# The horizon of this database is looked up only when a row is at or past the server's (AND stops first).
_READ = f"""
    SELECT c.xid, c.id, c.kind, c.from_stage, c.to_stage, c.at, c.actor, c.snapshot::text AS snapshot,
           c.xid >= {_XMIN} AND c.xid >= {_OWN_HORIZON} AS in_flight_horizon
    FROM lead_changes c WHERE (c.xid, c.id) > ($1, $2) ORDER BY c.xid, c.id LIMIT $3"""
_HORIZON = f"SELECT {_XMIN}"
_NOTIFY = f"SELECT {_XMIN} FROM pg_notify('{CHANNEL}', '')"  # the horizon after the wake-up, in one round trip


@dataclass(frozen=True)
class ChangeRecord:
    """One change as published: the lead as of that change, and where it sits in the log."""

    xid: int
    id: int
    kind: ChangeKind
    from_stage: Stage | None
    to_stage: Stage | None
    at: datetime
    actor: str
    lead: Lead

    @property
    def lead_id(self) -> UUID:
        return self.lead.id

    @property
    def position(self) -> Position:
        """Where the change sits in the log: (writing transaction id, row id)."""
        return self.xid, self.id


def _stage(value: str | None) -> Stage | None:
    return Stage(value) if value else None


def change_record(row: Mapping[Any, Any]) -> ChangeRecord:
    """A change from a row of the log whose snapshot was read as text."""
    return ChangeRecord(
        row["xid"],
        row["id"],
        ChangeKind(row["kind"]),
        _stage(row["from_stage"]),
        _stage(row["to_stage"]),
        row["at"],
        row["actor"],
        lead_from_snapshot(loads(row["snapshot"])),
    )


class SubscriberTooSlow(Exception):
    """The subscriber fell more than its buffer behind and was dropped."""


class Buffer(Generic[T]):
    """What one consumer has yet to take, in order, at most `capacity`; beyond it, it is closed.

    The consumer waits on a future of its own, woken only when it waits: with a thousand
    subscribers, one change wakes a thousand consumers, so this is lighter than an asyncio.Event.
    """

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._buffer: deque[T] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._failure: Exception | None = None
        self._closed = False

    def offer(self, item: T) -> bool:
        """Queue an item; False when the consumer is over capacity and must be dropped."""
        if len(self._buffer) >= self._capacity:
            self.close(SubscriberTooSlow(f"more than {self._capacity} changes behind"))
            return False
        self._buffer.append(item)
        self._wake()
        return True

    def close(self, failure: Exception | None = None) -> None:
        """No more items: the consumer takes those queued, then `failure` is raised, if any."""
        self._failure, self._closed = failure, True
        self._wake()

    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():  # done: the consumer was cancelled while waiting
            waiter.set_result(None)

    @property
    def overflowed(self) -> bool:
        """The consumer was dropped: it holds what was buffered, and nothing after it."""
        return isinstance(self._failure, SubscriberTooSlow)

    def __aiter__(self) -> AsyncIterator[T]:
        return self

    async def __anext__(self) -> T:
        while not self._buffer:
            if self._failure is not None:
                raise self._failure
            if self._closed:
                raise StopAsyncIteration
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        return self._buffer.popleft()


class Subscription(Buffer[ChangeRecord]):
    """A subscriber's buffer: changes matching its predicate, in log order."""

    def __init__(self, wants: Callable[[ChangeRecord], bool], capacity: int) -> None:
        super().__init__(capacity)
        self.wants = wants


class ChangeFeed:
    """One per process: reads the change log when woken, while it has subscribers, and hands each change to them."""

    def __init__(
        self, dsn: str, *, idle_poll_seconds: float = 1.0, batch: int = 500, subscriber_capacity: int = 1000
    ) -> None:
        self._dsn = dsn
        self._capacity = subscriber_capacity
        self._idle_poll = idle_poll_seconds
        self._batch = batch
        self._subscribers: set[Subscription] = set()
        self._wake = asyncio.Event()
        self._notify = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._listener: asyncpg.Connection | None = None
        self._listener_pid = 0
        self._reader: asyncpg.Connection | None = None
        # The newest position delivered (or passed while nobody subscribed): every change at or before
        # it has reached the subscribers registered at that time, and nothing can later appear before it.
        self.position: Position = (0, 0)

    async def start(self) -> None:
        await self._connect()
        assert self._reader is not None
        self.position = (await self._reader.fetchval(_HORIZON), 0)
        self._tasks = [asyncio.create_task(self._read_forever()), asyncio.create_task(self._notify_forever())]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for subscriber in list(self._subscribers):
            subscriber.close()
        for connection in (self._listener, self._reader):
            if connection is not None:
                await connection.close()

    async def _connect(self) -> None:
        # Publish the connections only when ready: the notifier may use the listener at any time.
        # A NOTIFY assigns its transaction an id, so its commit would wait for a WAL flush of its own;
        # a wake-up lost in a crash costs nothing the periodic read does not cover (RESULTS.md, session 8).
        listener = await asyncpg.connect(self._dsn, server_settings={"synchronous_commit": "off"})
        await listener.add_listener(CHANNEL, self._on_notify)
        self._listener_pid = listener.get_server_pid()
        self._listener, self._reader = listener, await asyncpg.connect(self._dsn)

    async def _reconnect(self) -> None:
        """Replace both connections after a failure; a failed attempt is retried by the next read."""
        for connection in (self._listener, self._reader):
            if connection is not None:
                connection.terminate()
        try:
            await self._connect()
        except _CONNECTION_ERRORS:
            log.exception("could not reconnect the change feed")

    def poke(self) -> None:
        """A change was committed here: read now if anyone subscribes, and wake the other processes (coalesced)."""
        if self._subscribers:
            self._wake.set()
        self._notify.set()

    @contextlib.contextmanager
    def subscribe(self, wants: Callable[[ChangeRecord], bool], capacity: int | None = None) -> Iterator[Subscription]:
        """Receive every change after `position` (as it is now) that `wants`, until the block ends."""
        subscription = Subscription(wants, capacity or self._capacity)
        self._subscribers.add(subscription)
        try:
            yield subscription
        finally:
            self._subscribers.discard(subscription)

    def _on_notify(self, _connection: object, pid: int, *_args: object) -> None:
        if pid != self._listener_pid:  # our own NOTIFY: the poke before it woke the reader already
            self._wake.set()

    async def _notify_forever(self) -> None:
        assert self._listener is not None
        while True:
            await self._notify.wait()
            await asyncio.sleep(_NOTIFY_GATHER)
            self._notify.clear()
            try:
                self._pass_unwatched(await self._listener.fetchval(_NOTIFY))
            except Exception:  # e.g. while reconnecting; other processes still poll, so keep going
                log.exception("could not send the change-log wake-up")

    def _pass_unwatched(self, horizon: int) -> None:
        """Move past the log up to a snapshot's horizon, if nobody subscribes now (so nobody can miss it)."""
        if not self._subscribers:
            self.position = max(self.position, (horizon, 0))

    async def _read_forever(self) -> None:
        held_back_wait = _FIRST_RECHECK
        while True:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancellation that
            # lands as the event is set (https://github.com/python/cpython/issues/86296), so a
            # wake-up during stop() kept this task running and stop() waiting for it forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._idle_poll):
                    await self._wake.wait()
            self._wake.clear()
            held_back = await self._read_or_recover()
            if held_back:  # committed rows wait behind an older open transaction: look again soon
                await asyncio.sleep(held_back_wait)
                held_back_wait = min(held_back_wait * 2, _LAST_RECHECK)
                self._wake.set()
            else:
                held_back_wait = _FIRST_RECHECK

    async def _read_or_recover(self) -> bool:
        """Read what is final; after a failure wait an idle period, so the reader never dies or spins."""
        try:
            return await self.read_available()
        except _CONNECTION_ERRORS:
            # A lost connection (restart, failover, terminated backend) raises InterfaceError on
            # every later call: without a new connection delivery would stop for good. Resuming
            # from `position` stays exactly-once, as everything before it is final.
            log.exception("could not read the change log; reconnecting")
            await asyncio.sleep(self._idle_poll)
            await self._reconnect()
        except Exception:  # e.g. a snapshot that no longer decodes: keep trying, loudly, never skip
            log.exception("could not deliver the change log at %s", self.position)
            await asyncio.sleep(self._idle_poll)
        return True

    async def read_available(self) -> bool:
        """Deliver every change that is final; True if committed changes are still held back.

        Without subscribers, only move past the log: no rows are read.
        """
        assert self._reader is not None
        if not self._subscribers:
            self._pass_unwatched(await self._reader.fetchval(_HORIZON))
            return False
        while True:
            rows = await self._reader.fetch(_READ, *self.position, self._batch)
            for row in rows:
                if (row["xid"], row["id"]) <= self.position:  # passed while the read was under way
                    continue
                if row["in_flight_horizon"]:
                    return True
                self._deliver(change_record(row))
            if len(rows) < self._batch or not self._subscribers:
                return False

    def _deliver(self, record: ChangeRecord) -> None:
        self.position = record.position
        for subscriber in list(self._subscribers):
            if subscriber.wants(record) and not subscriber.offer(record):
                self._subscribers.discard(subscriber)
