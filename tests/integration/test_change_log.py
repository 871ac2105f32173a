"""Resuming from the change log on real Postgres: replay up to the feed's position, then live, none twice."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import asyncpg
import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine

from leadcycle.domain.commands import RecordActivity
from leadcycle.domain.model import Lead
from leadcycle.domain.use_cases import LeadUseCases
from leadcycle.persistence import change_log
from leadcycle.persistence.change_feed import ChangeRecord, Position
from leadcycle.persistence.change_log import InvalidChangeCursor, decode_cursor, encode_cursor, follow
from leadcycle.persistence.database import plain_url
from leadcycle.persistence.unit_of_work import unit_of_work_factory
from tests.integration.test_change_feed import (
    _COPY_CHANGE,
    WAIT,
    ObservedFeed,
    create_lead,
    delivered_through,
    newest_position,
)

ACTOR = "log-test"


@pytest_asyncio.fixture
async def feed(engine: AsyncEngine, database_url: str) -> AsyncIterator[ObservedFeed]:
    feed = ObservedFeed(database_url)
    feed._capacity = 3  # small, so that a replay can outlast the live buffer
    await feed.start()
    yield feed
    await feed.stop()


@pytest.fixture
def use_cases(engine: AsyncEngine, feed: ObservedFeed) -> LeadUseCases:
    return LeadUseCases(unit_of_work_factory(engine, after_commit=feed.poke), lambda: datetime.now(UTC))


def of(lead: Lead) -> Callable[[ChangeRecord], bool]:
    return lambda record: record.lead_id == lead.id


async def activities(use_cases: LeadUseCases, engine: AsyncEngine, lead: Lead, count: int) -> Position:
    """Record `count` activities; the position of the lead's newest change."""
    for _ in range(count):
        await use_cases.record_activity(RecordActivity(str(lead.id), "web_visit"), ACTOR)
    return await newest_position(engine, lead)


async def take(changes: AsyncIterator[ChangeRecord], count: int) -> list[int]:
    async with asyncio.timeout(WAIT):
        return [(await anext(changes)).lead.version for _ in range(count)]


class TestCursor:
    def test_a_cursor_stands_for_its_position(self) -> None:
        assert decode_cursor(encode_cursor((123_456_789_012, 42))) == (123_456_789_012, 42)

    @pytest.mark.parametrize("cursor", ["", "!!", "bnVsbA==", encode_cursor((1, 2))[:-4]])
    def test_anything_else_is_invalid(self, cursor: str) -> None:
        with pytest.raises(InvalidChangeCursor):
            decode_cursor(cursor)


class TestIdleFeed:
    async def test_a_subscriber_leaves_and_another_resumes_from_its_cursor_what_nobody_listened_to(
        self, feed: ObservedFeed, use_cases: LeadUseCases, engine: AsyncEngine
    ) -> None:
        lead = await create_lead(use_cases, "Leave")
        await delivered_through(feed, await newest_position(engine, lead))
        with feed.subscribe(of(lead)) as first:
            cursor = await activities(use_cases, engine, lead, 2)
            assert await take(first, 2) == [2, 3]
        read_before = feed.delivered
        await delivered_through(feed, await activities(use_cases, engine, lead, 2))  # versions 4 and 5, unheard
        assert feed.delivered == read_before, "the log was read while nobody subscribed"

        changes = follow(feed, engine, of(lead), cursor)
        try:
            replayed = await take(changes, 2)
            await activities(use_cases, engine, lead, 1)
            live = await take(changes, 1)
        finally:
            await changes.aclose()

        assert replayed + live == [4, 5, 6]


class TestSeam:
    async def test_changes_written_during_the_replay_follow_it_live_once_each(
        self, feed: ObservedFeed, use_cases: LeadUseCases, engine: AsyncEngine
    ) -> None:
        lead = await create_lead(use_cases, "Seam")
        cursor = await newest_position(engine, lead)
        await delivered_through(feed, await activities(use_cases, engine, lead, 5))  # missed: versions 2-6

        changes = follow(feed, engine, of(lead), cursor, page=2)
        try:
            replayed_first = await take(changes, 1)
            # committed and delivered while the replay is still on its first page: into the live buffer
            await delivered_through(feed, await activities(use_cases, engine, lead, 2))
            rest = await take(changes, 6)
            await activities(use_cases, engine, lead, 1)
            after = await take(changes, 1)
        finally:
            await changes.aclose()

        assert replayed_first + rest == [2, 3, 4, 5, 6, 7, 8]
        assert after == [9], "a change was delivered twice"

    async def test_a_replay_that_outlasts_the_live_buffer_catches_up_from_the_log(
        self, feed: ObservedFeed, use_cases: LeadUseCases, engine: AsyncEngine
    ) -> None:
        lead = await create_lead(use_cases, "Catch-up")
        cursor = await newest_position(engine, lead)
        await delivered_through(feed, await activities(use_cases, engine, lead, 4))

        changes = follow(feed, engine, of(lead), cursor, page=2)
        try:
            replayed_first = await take(changes, 1)
            # five live changes overflow the buffer of three while the client is still replaying
            await delivered_through(feed, await activities(use_cases, engine, lead, 5))
            rest = await take(changes, 8)
            await activities(use_cases, engine, lead, 1)
            after = await take(changes, 1)
        finally:
            await changes.aclose()

        assert replayed_first + rest == list(range(2, 11))
        assert after == [11]

    async def test_a_resume_while_an_older_transaction_is_open_neither_skips_nor_repeats(
        self,
        feed: ObservedFeed,
        use_cases: LeadUseCases,
        engine: AsyncEngine,
        database_url: str,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        actor = f"held-{uuid.uuid4().hex[:8]}"
        first, second = await create_lead(use_cases, "Held"), await create_lead(use_cases, "Held")
        cursor = await newest_position(engine, second)
        await delivered_through(feed, cursor)
        replayed = asyncio.Event()
        real_replay = change_log.replay

        async def observed_replay(*args: object, **kwargs: object) -> AsyncIterator[ChangeRecord]:
            async for record in real_replay(*args, **kwargs):  # type: ignore[arg-type]
                yield record
            replayed.set()

        monkeypatch.setattr(change_log, "replay", observed_replay)
        older, newer = await asyncpg.connect(plain_url(database_url)), await asyncpg.connect(plain_url(database_url))
        received: asyncio.Queue[int] = asyncio.Queue()

        async def client() -> None:
            async for record in follow(feed, engine, lambda r: r.actor == actor, cursor):
                received.put_nowait(record.id)

        consumer = asyncio.create_task(client())
        try:
            older_tx = older.transaction()
            await older_tx.start()
            low = await older.fetchrow(_COPY_CHANGE, first.id, actor)
            async with newer.transaction():  # committed, but after the open one in the log
                high = await newer.fetchrow(_COPY_CHANGE, second.id, actor)
            async with asyncio.timeout(WAIT):
                await replayed.wait()
            assert await feed.next_read_from(feed.reads_started) is True, "the committed row was not held back"
            assert received.empty(), "resumed past an open older transaction"

            await older_tx.commit()
            async with newer.transaction():
                sentinel = await newer.fetchrow(_COPY_CHANGE, first.id, actor)
            feed.poke()
            async with asyncio.timeout(WAIT):
                delivered = [await received.get() for _ in range(3)]
        finally:
            consumer.cancel()
            await older.close()
            await newer.close()

        assert delivered == [low["id"], high["id"], sentinel["id"]]
