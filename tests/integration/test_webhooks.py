"""Webhook dispatch and delivery on real Postgres, in a database of their own (no app's worker running there)."""

from __future__ import annotations

import asyncio
import inspect
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from leadcycle.domain.commands import CreateLead, RecordActivity
from leadcycle.domain.model import Company, Contact
from leadcycle.domain.stages import ChangeKind, Stage
from leadcycle.domain.use_cases import LeadUseCases
from leadcycle.domain.webhooks import DeliveryStatus, Endpoint, RetryPolicy, new_endpoint
from leadcycle.persistence import webhooks
from leadcycle.persistence.database import create_engine
from leadcycle.persistence.retention import Retention, prune
from leadcycle.persistence.tables import lead_changes, webhook_dispatch
from leadcycle.persistence.unit_of_work import unit_of_work_factory
from leadcycle.persistence.webhook_addresses import ALLOW_SETTING
from leadcycle.persistence.webhook_delivery import Outcome, Worker, WorkerOptions, claim, record
from leadcycle.persistence.webhook_dispatch import dispatch_batch
from leadcycle.persistence.webhook_runtime import Webhooks
from leadcycle.persistence.webhooks import DeliveryRange
from tests.integration.test_change_feed import WAIT, ObservedFeed
from tests.servers import fresh_database
from tests.webhook_receiver import Received, Receiver, receiving

SECRET = "integration-secret-0123"
LEASE = timedelta(seconds=30)
FAST = RetryPolicy(max_attempts=3, base_seconds=0.05, max_delay_seconds=0.1)


@dataclass
class Hooks:
    engine: AsyncEngine
    use_cases: LeadUseCases

    async def endpoint(self, url: str, kinds: tuple[ChangeKind, ...] = (), stages: tuple[Stage, ...] = ()) -> Endpoint:
        return await webhooks.register(self.engine, new_endpoint(url, kinds, stages, SECRET), "test")

    async def lead_with_changes(self, count: int) -> uuid.UUID:
        """A new lead with `count` changes: its creation, then activities."""
        company = Company(f"Hook {uuid.uuid4().hex[:8]}")
        lead = await self.use_cases.create(CreateLead(company, Contact("C"), "seo"), "t")
        for _ in range(count - 1):
            await self.use_cases.record_activity(RecordActivity(str(lead.id), "web_visit"), "t")
        return lead.id

    async def dispatch_all(self) -> int:
        """Dispatch until every change logged so far is dispatched; the deliveries written.

        A change waits for every older transaction on the server (other databases too) to end.
        """
        newest = await self._newest()
        written = 0
        async with asyncio.timeout(30):
            while newest is not None and await self._position() < newest:
                done = await dispatch_batch(self.engine, 500)
                written += done[1] if done else 0
                await asyncio.sleep(0 if done and done[0] else 0.01)
        return written

    async def dispatched_through_newest(self) -> None:
        """Wait until the dispatch position has passed every change logged so far (someone else dispatches)."""
        newest = await self._newest()
        async with asyncio.timeout(30):
            while newest is not None and await self._position() < newest:  # noqa: ASYNC110 (another task moves it)
                await asyncio.sleep(0.01)

    async def _newest(self) -> tuple[int, int] | None:
        query = select(lead_changes.c.xid, lead_changes.c.id).order_by(
            lead_changes.c.xid.desc(), lead_changes.c.id.desc()
        )
        async with self.engine.connect() as connection:
            newest = (await connection.execute(query.limit(1))).first()
        return None if newest is None else (newest.xid, newest.id)

    async def _position(self) -> tuple[int, int]:
        async with self.engine.connect() as connection:
            row = (await connection.execute(select(webhook_dispatch.c.xid, webhook_dispatch.c.change_id))).one()
        return row.xid, row.change_id

    async def statuses(self, endpoint: Endpoint) -> list[DeliveryStatus]:
        found = await webhooks.deliveries(self.engine, endpoint.id, DeliveryRange(None, None, 1000))
        return [delivery.status for delivery in found]

    async def run_worker(
        self,
        until: Callable[[], bool | Awaitable[bool]],
        workers: int = 1,
        answer_within: float = 5.0,
        allow_private: bool = True,
    ) -> None:
        """Run `workers` delivery workers until `until()` holds (at most 30 s); receivers are on 127.0.0.1."""
        options = WorkerOptions(
            concurrency=4,
            timeout_seconds=answer_within,
            poll_seconds=0.02,
            retry=FAST,
            allow_private_addresses=allow_private,
        )
        running = [Worker(self.engine, options) for _ in range(workers)]
        for worker in running:
            worker.start()
        try:
            async with asyncio.timeout(30):
                while not await _holds(until):  # noqa: ASYNC110 (the workers run in the background)
                    await asyncio.sleep(0.02)
        finally:
            for worker in running:
                await worker.stop()


async def _holds(condition: Callable[[], bool | Awaitable[bool]]) -> bool:
    outcome = condition()
    return await outcome if inspect.isawaitable(outcome) else outcome


@pytest_asyncio.fixture
async def hooks(server_url: str) -> AsyncIterator[Hooks]:
    async with fresh_database(server_url) as url:
        engine = create_engine(url)
        try:
            yield Hooks(engine, LeadUseCases(unit_of_work_factory(engine), lambda: datetime.now(UTC)))
        finally:
            await engine.dispose()


def versions(posts: list[Received], lead_id: uuid.UUID) -> list[int]:
    return [p.document["lead"]["version"] for p in posts if p.document["lead"]["id"] == str(lead_id)]


class TestDispatch:
    async def test_writes_one_delivery_per_matching_endpoint_and_change_once(self, hooks: Hooks) -> None:
        every = await hooks.endpoint("http://127.0.0.1:9/every")
        created_only = await hooks.endpoint("http://127.0.0.1:9/created", kinds=(ChangeKind.CREATED,))
        won_only = await hooks.endpoint("http://127.0.0.1:9/won", stages=(Stage.WON,))
        await hooks.lead_with_changes(3)

        assert await hooks.dispatch_all() == 4
        assert await hooks.dispatch_all() == 0
        assert len(await hooks.statuses(every)) == 3
        assert len(await hooks.statuses(created_only)) == 1
        assert await hooks.statuses(won_only) == []

    async def test_without_endpoints_moves_past_changes_and_a_later_endpoint_gets_only_later_ones(
        self, hooks: Hooks
    ) -> None:
        earlier = await hooks.lead_with_changes(2)
        assert await hooks.dispatch_all() == 0
        endpoint = await hooks.endpoint("http://127.0.0.1:9/hook")
        later = await hooks.lead_with_changes(1)

        assert await hooks.dispatch_all() == 1
        [delivery] = await webhooks.deliveries(hooks.engine, endpoint.id, DeliveryRange(None, None, 10))
        assert delivery.lead_id == later != earlier

    async def test_concurrent_dispatchers_dispatch_each_change_once(self, hooks: Hooks) -> None:
        endpoint = await hooks.endpoint("http://127.0.0.1:9/hook")
        for _ in range(20):
            await hooks.lead_with_changes(2)

        counts = await asyncio.gather(*(hooks.dispatch_all() for _ in range(4)))

        assert sum(counts) == 40
        assert len(await hooks.statuses(endpoint)) == 40

    async def test_retention_keeps_changes_not_yet_dispatched(self, hooks: Hooks) -> None:
        await hooks.endpoint("http://127.0.0.1:9/hook")
        await hooks.lead_with_changes(2)
        everything = Retention(change_log=timedelta(0))

        assert (await prune(hooks.engine, everything)).changes == 0
        await hooks.dispatch_all()
        assert (await prune(hooks.engine, everything)).changes == 2

    async def test_retention_deletes_delivered_deliveries_and_keeps_unfinished_ones(self, hooks: Hooks) -> None:
        async with receiving(Receiver()) as receiver:
            answered = await hooks.endpoint(receiver.url)
            unreachable = await hooks.endpoint("http://127.0.0.1:9/nobody-listens")
            await hooks.lead_with_changes(1)
            await hooks.dispatch_all()
            await hooks.run_worker(until=lambda: len(receiver.received) == 1)

        pruned = await prune(hooks.engine, Retention(change_log=timedelta(0)))

        assert pruned.webhook_deliveries == 1
        assert await hooks.statuses(answered) == []
        assert len(await hooks.statuses(unreachable)) == 1


class TestWakeUps:
    async def test_the_feed_reads_the_log_for_the_dispatcher_only_while_an_endpoint_exists(
        self, server_url: str
    ) -> None:
        async with fresh_database(server_url) as url:
            engine, feed = create_engine(url), ObservedFeed(url)
            await feed.start()
            hooks = Hooks(
                engine, LeadUseCases(unit_of_work_factory(engine, after_commit=feed.poke), lambda: datetime.now(UTC))
            )
            runtime = Webhooks(engine, feed, WorkerOptions(poll_seconds=0.05, allow_private_addresses=True))
            runtime.start()
            try:
                await hooks.lead_with_changes(1)  # wakes the dispatcher, which finds no endpoint
                await hooks.dispatched_through_newest()
                await asyncio.sleep(0.05)
                read_before = feed.delivered
                await hooks.lead_with_changes(3)
                await hooks.dispatched_through_newest()  # by the dispatcher's poll
                read_without_endpoint = feed.delivered - read_before

                endpoint = await hooks.endpoint("http://127.0.0.1:9/hook")
                await asyncio.sleep(0.2)  # a few polls: the dispatcher sees the endpoint
                await hooks.lead_with_changes(1)
                async with asyncio.timeout(WAIT):
                    while not await hooks.statuses(endpoint):  # noqa: ASYNC110 (the runtime dispatches)
                        await asyncio.sleep(0.01)
            finally:
                await runtime.stop()
                await feed.stop()
                await engine.dispose()

        assert read_without_endpoint == 0, "the feed read the log for the dispatcher without any endpoint"
        assert feed.delivered > read_before, "the feed did not read the log for the dispatcher again"


class TestClaim:
    async def test_two_workers_claiming_at_once_never_take_the_same_delivery(self, hooks: Hooks) -> None:
        await hooks.endpoint("http://127.0.0.1:9/hook")
        for _ in range(30):
            await hooks.lead_with_changes(1)
        await hooks.dispatch_all()

        first, second = await asyncio.gather(claim(hooks.engine, 20, LEASE), claim(hooks.engine, 20, LEASE))

        ids = [c.id for c in first + second]
        assert len(ids) == len(set(ids)) == 30

    async def test_two_running_workers_deliver_each_once(self, hooks: Hooks) -> None:
        async with receiving(Receiver(delay=0.01)) as receiver:
            await hooks.endpoint(receiver.url)
            for _ in range(40):
                await hooks.lead_with_changes(1)
            await hooks.dispatch_all()

            await hooks.run_worker(until=lambda: len(receiver.received) >= 40, workers=2)

        assert len(set(receiver.ids())) == len(receiver.ids()) == 40
        assert all(post.signed_with(SECRET) for post in receiver.received)

    async def test_a_lease_that_ran_out_is_claimed_again_and_the_stale_outcome_ignored(self, hooks: Hooks) -> None:
        endpoint = await hooks.endpoint("http://127.0.0.1:9/hook")
        await hooks.lead_with_changes(1)
        await hooks.dispatch_all()
        [lost] = await claim(hooks.engine, 10, timedelta(0))  # its worker dies: the lease runs out at once

        [again] = await claim(hooks.engine, 10, LEASE)
        await record(hooks.engine, lost, Outcome(500, "HTTP 500: stale"), FAST)

        assert (again.id, again.attempts) == (lost.id, 2)
        assert await hooks.statuses(endpoint) == [DeliveryStatus.IN_FLIGHT]


class TestOrder:
    async def test_a_leads_later_change_waits_while_an_earlier_one_is_unfinished(self, hooks: Hooks) -> None:
        await hooks.endpoint("http://127.0.0.1:9/hook")
        lead_id = await hooks.lead_with_changes(3)
        other_id = await hooks.lead_with_changes(1)
        await hooks.dispatch_all()

        first_round = await claim(hooks.engine, 10, LEASE)
        second_round = await claim(hooks.engine, 10, LEASE)

        assert len(first_round) == 2  # the first change of each lead
        assert second_round == []  # both leads have one in flight
        assert {json.loads(c.body)["lead"]["id"] for c in first_round} == {str(lead_id), str(other_id)}

    async def test_each_endpoint_receives_a_leads_changes_in_order_despite_failures(self, hooks: Hooks) -> None:
        failed_once: set[str] = set()

        def flaky(post: Received) -> int:  # every delivery fails its first attempt
            if post.delivery_id in failed_once:
                return 204
            failed_once.add(post.delivery_id)
            return 503

        async with receiving(Receiver(flaky)) as receiver:
            await hooks.endpoint(receiver.url)
            lead_ids = [await hooks.lead_with_changes(4) for _ in range(3)]
            await hooks.dispatch_all()

            await hooks.run_worker(until=lambda: len(receiver.received) >= 24, workers=2)

        delivered = [post for post in receiver.received if post.delivery_id in failed_once]
        for lead_id in lead_ids:
            assert versions(delivered, lead_id) == [1, 1, 2, 2, 3, 3, 4, 4]


class TestDeadLetter:
    async def test_gives_up_after_max_attempts_and_later_changes_go_on(self, hooks: Hooks) -> None:
        def refuse_version_1(post: Received) -> int:
            return 500 if post.document["lead"]["version"] == 1 else 200

        async with receiving(Receiver(refuse_version_1)) as receiver:
            endpoint = await hooks.endpoint(receiver.url)
            lead_id = await hooks.lead_with_changes(2)
            await hooks.dispatch_all()

            await hooks.run_worker(until=lambda: len(receiver.received) >= FAST.max_attempts + 1)

        assert versions(receiver.received, lead_id) == [1, 1, 1, 2]
        [newest, dead] = await webhooks.deliveries(hooks.engine, endpoint.id, DeliveryRange(None, None, 10))
        assert (dead.status, dead.attempts, dead.last_status_code) == (DeliveryStatus.DEAD, 3, 500)
        assert dead.last_error is not None
        assert dead.last_error.startswith("HTTP 500")
        assert newest.status == DeliveryStatus.DELIVERED

    async def test_an_unreachable_endpoint_records_the_connection_error(self, hooks: Hooks) -> None:
        endpoint = await hooks.endpoint("http://127.0.0.1:9/nobody-listens")
        await hooks.lead_with_changes(1)
        await hooks.dispatch_all()

        async def dead() -> bool:
            return await hooks.statuses(endpoint) == [DeliveryStatus.DEAD]

        await hooks.run_worker(until=dead)

        [delivery] = await webhooks.deliveries(hooks.engine, endpoint.id, DeliveryRange(None, None, 10))
        assert delivery.last_status_code is None
        assert delivery.last_error is not None
        assert "Connect" in delivery.last_error

    async def test_a_host_resolving_to_a_loopback_address_is_refused_at_post_time(self, hooks: Hooks) -> None:
        async with receiving(Receiver()) as receiver:
            endpoint = await hooks.endpoint(receiver.url.replace("127.0.0.1", "localhost"))
            await hooks.lead_with_changes(1)
            await hooks.dispatch_all()

            async def dead() -> bool:
                return await hooks.statuses(endpoint) == [DeliveryStatus.DEAD]

            await hooks.run_worker(until=dead, allow_private=False)

        [delivery] = await webhooks.deliveries(hooks.engine, endpoint.id, DeliveryRange(None, None, 10))
        assert receiver.received == []
        assert (delivery.attempts, delivery.last_status_code) == (FAST.max_attempts, None)
        assert delivery.last_error is not None
        assert "a loopback address" in delivery.last_error
        assert ALLOW_SETTING in delivery.last_error

    async def test_an_answer_slower_than_the_timeout_is_a_failed_attempt(self, hooks: Hooks) -> None:
        async with receiving(Receiver(delay=2.0)) as receiver:
            endpoint = await hooks.endpoint(receiver.url)
            await hooks.lead_with_changes(1)
            await hooks.dispatch_all()

            async def failed() -> bool:
                return DeliveryStatus.DEAD in await hooks.statuses(endpoint)

            await hooks.run_worker(until=failed, answer_within=0.2)

        [delivery] = await webhooks.deliveries(hooks.engine, endpoint.id, DeliveryRange(None, None, 10))
        assert (delivery.last_error, delivery.last_status_code, delivery.attempts) == ("TimeoutError", None, 3)

    async def test_the_log_shows_the_start_of_an_error_answer(self, hooks: Hooks) -> None:
        async with receiving(Receiver(lambda _post: 422)) as receiver:
            endpoint = await hooks.endpoint(receiver.url)
            await hooks.lead_with_changes(1)
            await hooks.dispatch_all()
            await hooks.run_worker(until=lambda: len(receiver.received) == FAST.max_attempts)

        [delivery] = await webhooks.deliveries(hooks.engine, endpoint.id, DeliveryRange(None, None, 10))
        assert delivery.last_error == "HTTP 422: refused"


class TestRetryByHand:
    async def test_a_dead_delivery_retried_is_delivered_with_the_same_id_and_body(self, hooks: Hooks) -> None:
        answers = {"status": 500}
        async with receiving(Receiver(lambda _post: answers["status"])) as receiver:
            endpoint = await hooks.endpoint(receiver.url)
            await hooks.lead_with_changes(1)
            await hooks.dispatch_all()
            await hooks.run_worker(until=lambda: len(receiver.received) >= FAST.max_attempts)
            [dead] = await webhooks.deliveries(hooks.engine, endpoint.id, DeliveryRange(None, None, 10))
            answers["status"] = 200

            retried = await webhooks.retry(hooks.engine, dead.id)
            await hooks.run_worker(until=lambda: len(receiver.received) > FAST.max_attempts)

        assert retried is not None
        assert (retried.status, retried.attempts) == (DeliveryStatus.PENDING, 0)
        assert set(receiver.ids()) == {str(dead.id)}
        assert len({post.body for post in receiver.received}) == 1
        assert await hooks.statuses(endpoint) == [DeliveryStatus.DELIVERED]

    async def test_refuses_a_delivery_still_pending(self, hooks: Hooks) -> None:
        endpoint = await hooks.endpoint("http://127.0.0.1:9/hook")
        await hooks.lead_with_changes(1)
        await hooks.dispatch_all()
        [pending] = await webhooks.deliveries(hooks.engine, endpoint.id, DeliveryRange(None, None, 10))

        with pytest.raises(webhooks.DeliveryUnfinished):
            await webhooks.retry(hooks.engine, pending.id)
        assert await webhooks.retry(hooks.engine, uuid.uuid4()) is None
