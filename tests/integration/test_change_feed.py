"""The change feed on real Postgres: every committed change delivered once, in order, gaps included."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import asyncpg
import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from leadcycle.domain.commands import CreateLead, RecordActivity, UpdateLead
from leadcycle.domain.model import Company, Contact, Lead
from leadcycle.domain.stages import ChangeKind
from leadcycle.domain.use_cases import LeadUseCases
from leadcycle.persistence.change_feed import ChangeFeed, ChangeRecord, Position, SubscriberTooSlow, Subscription
from leadcycle.persistence.database import plain_url
from leadcycle.persistence.unit_of_work import unit_of_work_factory

ACTOR = "feed-test"
WAIT = 10.0  # seconds: the bound of every wait for a delivery

# A copy of a lead's latest change, written outside the use cases to control commit order.
_COPY_CHANGE = """
    INSERT INTO lead_changes (lead_id, version, kind, actor, at, snapshot)
    SELECT lead_id, version, 'update', $2, now(), snapshot FROM lead_changes
    WHERE lead_id = $1 ORDER BY id DESC LIMIT 1
    RETURNING id, xid"""


class ObservedFeed(ChangeFeed):
    """The real feed, noting each read of the log: its start order and whether rows were held back."""

    def __init__(self, database_url: str) -> None:
        # Named, so that a test can find its connections in pg_stat_activity.
        self.application_name = f"feed-test-{uuid.uuid4().hex[:8]}"
        url = make_url(plain_url(database_url)).update_query_dict({"application_name": self.application_name})
        super().__init__(url.render_as_string(hide_password=False))
        self.reads_started = 0
        self.reads: list[tuple[int, bool]] = []
        self.delivered = 0  # changes read from the log and handed out
        self._read_done = asyncio.Event()

    async def read_available(self) -> bool:
        number = self.reads_started
        self.reads_started += 1
        held_back = await super().read_available()
        self.reads.append((number, held_back))
        self._read_done.set()
        return held_back

    def _deliver(self, record: ChangeRecord) -> None:
        self.delivered += 1
        super()._deliver(record)

    async def next_read_from(self, mark: int) -> bool:
        """Wake the reader and wait for a read that started at or after `mark`; whether it held rows back."""
        self._wake.set()  # not poke(): that wakes the reader only while someone subscribes
        async with asyncio.timeout(WAIT):
            while not (done := [held for number, held in self.reads if number >= mark]):
                self._read_done.clear()
                await self._read_done.wait()
        return done[0]


@pytest_asyncio.fixture
async def feed(engine: AsyncEngine, database_url: str) -> AsyncIterator[ObservedFeed]:
    feed = ObservedFeed(database_url)
    await feed.start()
    yield feed
    await feed.stop()


@pytest.fixture
def use_cases(engine: AsyncEngine, feed: ChangeFeed) -> LeadUseCases:
    return LeadUseCases(unit_of_work_factory(engine, after_commit=feed.poke), lambda: datetime.now(UTC))


async def create_lead(use_cases: LeadUseCases, tag: str) -> Lead:
    command = CreateLead(Company(f"{tag} {uuid.uuid4().hex[:8]}"), Contact("Feed Contact"), "seo")
    return await use_cases.create(command, ACTOR)


def tagged(tag: str) -> Callable[[ChangeRecord], bool]:
    """Changes of the leads whose company name starts with `tag`."""
    return lambda record: record.lead.company.name.startswith(tag)


async def take(subscription: Subscription, count: int) -> list[ChangeRecord]:
    """The next `count` deliveries, waiting at most WAIT seconds for all of them."""
    async with asyncio.timeout(WAIT):
        return [await anext(subscription) for _ in range(count)]


async def already_delivered(subscription: Subscription) -> list[ChangeRecord]:
    """What the subscription holds right now, without waiting for more.

    `asyncio.timeout(0)` cancels only an await that suspends: a buffered change is returned at
    once, an empty buffer ends the loop.
    """
    records = []
    try:
        while True:
            async with asyncio.timeout(0):
                records.append(await anext(subscription))
    except TimeoutError:
        return records


class TestManyWriters:
    async def test_changes_of_concurrent_writers_arrive_once_and_per_lead_in_version_order(
        self, feed: ObservedFeed, use_cases: LeadUseCases
    ) -> None:
        tag = f"Feed-{uuid.uuid4().hex[:8]}"
        with feed.subscribe(tagged(tag)) as changes:
            leads = await asyncio.gather(*(create_lead(use_cases, tag) for _ in range(5)))
            writes = [
                use_cases.record_activity(RecordActivity(str(lead.id), "email_open"), f"writer-{n}")
                for n in range(8)
                for lead in leads
            ] + [use_cases.update(UpdateLead(str(lead.id), company={"industry": "Retail"}), ACTOR) for lead in leads]
            await asyncio.gather(*writes)

            delivered = await take(changes, 5 * 10)
            sentinel = await create_lead(use_cases, tag)
            (after,) = await take(changes, 1)

        assert after.lead_id == sentinel.id, "a change was delivered twice"
        positions = [(r.xid, r.id) for r in delivered]
        assert positions == sorted(set(positions)), "not in change-log order, or delivered twice"
        for lead in leads:
            mine = [r for r in delivered if r.lead_id == lead.id]
            assert [r.lead.version for r in mine] == list(range(1, 11))
            assert mine[0].kind is ChangeKind.CREATED
            # each snapshot is the lead as of its change: one point per activity before it
            activity_scores = [r.lead.score for r in mine if r.kind is ChangeKind.ACTIVITY]
            assert activity_scores == list(range(1, 9))
            assert sum(r.kind is ChangeKind.UPDATE for r in mine) == 1


class TestCommitsOutOfSequenceOrder:
    async def test_row_committed_before_an_older_open_one_waits_and_neither_is_skipped(
        self, feed: ObservedFeed, use_cases: LeadUseCases, database_url: str
    ) -> None:
        tag, actor = f"Gap-{uuid.uuid4().hex[:8]}", f"gap-{uuid.uuid4().hex[:8]}"
        first_lead, second_lead = await create_lead(use_cases, tag), await create_lead(use_cases, tag)
        older, newer = await asyncpg.connect(plain_url(database_url)), await asyncpg.connect(plain_url(database_url))
        try:
            with feed.subscribe(lambda record: record.actor == actor) as changes:
                older_tx = older.transaction()
                await older_tx.start()
                low = await older.fetchrow(_COPY_CHANGE, first_lead.id, actor)
                async with newer.transaction():
                    high = await newer.fetchrow(_COPY_CHANGE, second_lead.id, actor)
                assert (low["id"], low["xid"]) < (high["id"], high["xid"])

                mark = feed.reads_started
                assert await feed.next_read_from(mark) is True, "the committed row was not reported held back"
                assert await already_delivered(changes) == [], "delivered past an open older transaction"

                await older_tx.commit()
                feed.poke()
                delivered = await take(changes, 2)
                async with newer.transaction():
                    sentinel = await newer.fetchrow(_COPY_CHANGE, first_lead.id, actor)
                feed.poke()
                (after,) = await take(changes, 1)
        finally:
            await older.close()
            await newer.close()

        assert [r.id for r in delivered] == [low["id"], high["id"]]
        assert [r.lead_id for r in delivered] == [first_lead.id, second_lead.id]
        assert after.id == sentinel["id"], "a change was delivered twice"


class TestOtherDatabases:
    async def test_a_transaction_open_in_another_database_holds_nothing_back(
        self, feed: ObservedFeed, use_cases: LeadUseCases, server_url: str, database_url: str
    ) -> None:
        actor = f"elsewhere-{uuid.uuid4().hex[:8]}"
        lead = await create_lead(use_cases, f"Elsewhere-{uuid.uuid4().hex[:8]}")
        elsewhere, writer = await asyncpg.connect(plain_url(server_url)), await asyncpg.connect(plain_url(database_url))
        try:
            assert await elsewhere.fetchval("SELECT current_database()") != await writer.fetchval(
                "SELECT current_database()"
            )
            with feed.subscribe(lambda record: record.actor == actor) as changes:
                async with elsewhere.transaction():
                    older = await elsewhere.fetchval("SELECT (pg_current_xact_id()::text)::bigint")
                    async with writer.transaction():
                        written = await writer.fetchrow(_COPY_CHANGE, lead.id, actor)
                    feed.poke()
                    delivered = await take(changes, 1)  # while the other database's older transaction is open
        finally:
            await elsewhere.close()
            await writer.close()

        assert older < written["xid"]
        assert [record.id for record in delivered] == [written["id"]]


class TestSlowSubscriber:
    async def test_overflowing_subscriber_is_dropped_while_others_keep_receiving(
        self, feed: ObservedFeed, use_cases: LeadUseCases
    ) -> None:
        tag = f"Slow-{uuid.uuid4().hex[:8]}"
        with feed.subscribe(tagged(tag), capacity=3) as slow, feed.subscribe(tagged(tag)) as fast:
            lead = await create_lead(use_cases, tag)
            await visit(use_cases, lead, times=5)
            assert [r.lead.version for r in await take(fast, 6)] == [1, 2, 3, 4, 5, 6]

            assert [r.lead.version for r in await take(slow, 3)] == [1, 2, 3]
            with pytest.raises(SubscriberTooSlow):
                await take(slow, 1)

            await visit(use_cases, lead)
            assert [r.lead.version for r in await take(fast, 1)] == [7]


async def visit(use_cases: LeadUseCases, lead: Lead, times: int = 1) -> None:
    """`times` web visits of the lead, each a change of its own."""
    for _ in range(times):
        await use_cases.record_activity(RecordActivity(str(lead.id), "web_visit"), ACTOR)


async def newest_lead_version(engine: AsyncEngine, lead: Lead) -> int:
    async with engine.connect() as connection:
        version = await connection.scalar(
            text("SELECT max(version) FROM lead_changes WHERE lead_id = :id"), {"id": lead.id}
        )
    return int(version)


async def newest_position(engine: AsyncEngine, lead: Lead) -> Position:
    query = text("SELECT xid, id FROM lead_changes WHERE lead_id = :id ORDER BY version DESC LIMIT 1")
    async with engine.connect() as connection:
        xid, change_id = (await connection.execute(query, {"id": lead.id})).one()
    return int(xid), int(change_id)


async def delivered_through(feed: ObservedFeed, position: Position) -> None:
    """Wait until the feed has handed out (or, without subscribers, passed) everything up to `position`."""
    async with asyncio.timeout(WAIT):
        while feed.position < position:
            await feed.next_read_from(feed.reads_started)


async def versions_through(subscription: Subscription, version: int) -> list[int]:
    """The versions delivered until `version` arrives, waiting at most WAIT seconds."""
    versions: list[int] = []
    async with asyncio.timeout(WAIT):
        while not versions or versions[-1] < version:
            versions.append((await anext(subscription)).lead.version)
    return versions


class TestWithoutSubscribers:
    async def test_the_log_is_not_read_and_a_newcomer_gets_only_the_changes_after_it(
        self, feed: ObservedFeed, use_cases: LeadUseCases, engine: AsyncEngine
    ) -> None:
        tag = f"Idle-{uuid.uuid4().hex[:8]}"
        lead = await create_lead(use_cases, tag)
        await visit(use_cases, lead, times=5)
        await delivered_through(feed, await newest_position(engine, lead))
        assert feed.delivered == 0, "the log was read while nobody subscribed"

        with feed.subscribe(tagged(tag)) as changes:
            await visit(use_cases, lead)
            (first,) = await take(changes, 1)

        assert first.lead.version == 7, "a change committed before the subscription was delivered"

    async def test_a_change_whose_transaction_began_before_a_newcomer_and_committed_after_reaches_it(
        self, feed: ObservedFeed, use_cases: LeadUseCases, engine: AsyncEngine, database_url: str
    ) -> None:
        actor = f"straddle-{uuid.uuid4().hex[:8]}"
        lead = await create_lead(use_cases, "Straddle")
        older = await asyncpg.connect(plain_url(database_url))
        try:
            transaction = older.transaction()
            await transaction.start()
            straddling = await older.fetchrow(_COPY_CHANGE, lead.id, actor)
            await feed.next_read_from(feed.reads_started)  # the idle feed moves on while it is open
            with feed.subscribe(lambda record: record.actor == actor) as changes:
                await transaction.commit()
                feed.poke()
                (delivered,) = await take(changes, 1)
        finally:
            await older.close()

        assert delivered.id == straddling["id"]

    async def test_subscribers_coming_and_going_amid_writes_get_each_later_change_once_in_order(
        self, feed: ObservedFeed, use_cases: LeadUseCases, engine: AsyncEngine
    ) -> None:
        tag = f"Amid-{uuid.uuid4().hex[:8]}"
        lead = await create_lead(use_cases, tag)

        async def write_until_cancelled() -> None:
            while True:
                await visit(use_cases, lead)

        writer = asyncio.create_task(write_until_cancelled())
        try:
            for _ in range(5):
                with feed.subscribe(tagged(tag)) as changes:
                    committed_before = await newest_lead_version(engine, lead)  # later ones are owed
                    await asyncio.sleep(0.05)
                    owed_through = await newest_lead_version(engine, lead)
                    received = await versions_through(changes, owed_through)
                assert received == list(range(received[0], owed_through + 1)), "a gap, a repeat or out of order"
                assert received[0] <= committed_before + 1, "a change committed after the subscriber came was missed"
                await asyncio.sleep(0.05)  # nobody subscribes meanwhile
        finally:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer


class TestLostConnection:
    async def test_delivery_resumes_exactly_once_after_the_feeds_connections_are_dropped(
        self, feed: ObservedFeed, use_cases: LeadUseCases, database_url: str
    ) -> None:
        tag = f"Drop-{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(plain_url(database_url))
        try:
            with feed.subscribe(tagged(tag)) as changes:
                before = await create_lead(use_cases, tag)
                (delivered_before,) = await take(changes, 1)
                terminated = await admin.fetch(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
                    feed.application_name,
                )
                assert len(terminated) == 2  # the reader and the listener

                after = await create_lead(use_cases, tag)
                (delivered_after,) = await take(changes, 1)
        finally:
            await admin.close()

        assert delivered_before.lead_id == before.id
        # the change before the drop would come first if it were delivered again
        assert delivered_after.lead_id == after.id


class TestStop:
    async def test_stops_even_when_woken_as_it_stops(self, engine: AsyncEngine, database_url: str) -> None:
        hung = 0
        for _ in range(3):
            feed = ObservedFeed(database_url)
            await feed.start()
            await feed.next_read_from(0)  # the reader is back to waiting for a wake-up
            with feed.subscribe(lambda _record: False):  # so that a poke wakes the reader
                feed.poke()  # a commit pokes the feed just as the server shuts down
                stopping = asyncio.ensure_future(feed.stop())
                done, _ = await asyncio.wait({stopping}, timeout=WAIT)
            if not done:  # a second cancellation lands outside the race: leave no reader behind
                hung += 1
                await feed.stop()
                await stopping
        assert hung == 0, f"stop() hung {hung} times out of 3"
