"""Subscriptions asking the same thing share one execution per change, and nothing else."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from leadcycle.graph.fanout import Frame, Member
from leadcycle.persistence.change_feed import SubscriberTooSlow
from tests.api.live import Live, live
from tests.api.operations import create_lead, record
from tests.api.test_resume import CHANGES, changes_of, versions
from tests.conftest import GraphQLClient

WAIT = 10.0  # seconds: the bound of every wait for a member to end


async def after_creation(connection: Live, lead_id: str) -> dict[str, Any]:
    """The lead's next change other than its creation, which may or may not come first."""
    (change,) = await changes_of(connection, {lead_id}, 1)
    if change["lead"]["version"] == 1:
        (change,) = await changes_of(connection, {lead_id}, 1)
    return change


class TestEqualLiveSubscriptions:
    async def test_one_leaving_ends_neither_the_others_nor_a_newcomers(self, gql: GraphQLClient, api_url: str) -> None:
        lead_id = (await create_lead(gql))["id"]
        async with live(api_url) as first, live(api_url) as second, live(api_url) as newcomer:
            await first.subscribe(CHANGES, leadId=lead_id)
            await second.subscribe(CHANGES, leadId=lead_id)
            await record(gql, lead_id, "email_open")
            seen = [(await after_creation(c, lead_id))["lead"]["version"] for c in (first, second)]

            await first.send({"id": "1", "type": "complete"})
            await newcomer.subscribe(CHANGES, leadId=lead_id)
            await record(gql, lead_id, "email_open")
            later = [(await after_creation(c, lead_id))["lead"]["version"] for c in (second, newcomer)]
            with pytest.raises(TimeoutError):
                await first.message(wait=0.5)

        assert seen == [2, 2]
        assert later == [3, 3]


class TestResumingSubscriptions:
    async def test_two_resuming_from_one_cursor_each_get_the_whole_replay(
        self, gql: GraphQLClient, api_url: str
    ) -> None:
        lead_id = (await create_lead(gql))["id"]
        async with live(api_url) as watcher:
            await watcher.subscribe(CHANGES, leadId=lead_id)
            for _ in range(3):
                await record(gql, lead_id, "email_open")
            cursor = (await after_creation(watcher, lead_id))["cursor"]  # version 2's
        async with live(api_url) as early, live(api_url) as late:
            await early.subscribe(CHANGES, leadId=lead_id, after=cursor)
            replayed_early = await changes_of(early, {lead_id}, 2)
            await late.subscribe(CHANGES, leadId=lead_id, after=cursor)
            replayed_late = await changes_of(late, {lead_id}, 2)

        assert versions(replayed_early) == versions(replayed_late) == [3, 4]


class Client:
    """A subscriber's socket as a member writes to it: takes each message at once, or holds until released."""

    def __init__(self, *, holding: bool = False) -> None:
        self.received: list[str] = []
        self.started: list[str] = []
        self._gate = asyncio.Event()
        if not holding:
            self._gate.set()

    async def send(self, message: str) -> None:
        self.started.append(message)
        if message.startswith("gone"):
            raise RuntimeError("the client went away")
        await self._gate.wait()
        self.received.append(message)

    def release(self) -> None:
        self._gate.set()


def frames(*payloads: str) -> list[Frame]:
    return [Frame(payload, (1, number)) for number, payload in enumerate(payloads, start=1)]


class TestMemberWrites:
    async def test_a_client_that_keeps_up_is_written_to_as_the_frame_is_offered(self) -> None:
        client = Client()
        member = Member(client.send, "<", capacity=10)

        offered = [member.offer(frame) for frame in frames("a", "b")]

        assert offered == [True, True]
        assert client.received == ["<a}", "<b}"]  # no task had to run for it

    async def test_frames_queue_behind_a_write_that_waits_and_go_out_in_order(self) -> None:
        client = Client(holding=True)
        member = Member(client.send, "", capacity=10)

        offered = [member.offer(frame) for frame in frames("a", "b", "c")]
        started_while_held = list(client.started)
        client.release()
        member.close()
        failure = await asyncio.wait_for(member.ended(), WAIT)

        assert offered == [True, True, True]
        assert started_while_held == ["a}"]
        assert client.received == ["a}", "b}", "c}"]
        assert failure is None

    async def test_more_queued_than_its_capacity_ends_it_after_the_queued_ones_are_written(self) -> None:
        client = Client(holding=True)
        member = Member(client.send, "", capacity=2)

        offered = [member.offer(frame) for frame in frames("a", "b", "c", "d", "e")]
        client.release()
        failure = await asyncio.wait_for(member.ended(), WAIT)

        assert offered == [True, True, True, False, False]
        assert client.received == ["a}", "b}", "c}"]
        assert isinstance(failure, SubscriberTooSlow)
        assert member.last == (1, 3)

    async def test_a_failed_write_ends_it_with_the_error(self) -> None:
        client = Client()
        member = Member(client.send, "", capacity=10)

        offered = [member.offer(frame) for frame in frames("gone", "after")]
        failure = await asyncio.wait_for(member.ended(), WAIT)

        assert offered == [False, False]
        assert isinstance(failure, RuntimeError)
        assert client.started == ["gone}"]

    async def test_one_that_left_is_written_nothing_more_and_its_waiting_write_is_dropped(self) -> None:
        client = Client(holding=True)
        member = Member(client.send, "", capacity=10)
        member.offer(frames("a")[0])

        member.leave()
        offered = member.offer(frames("b")[0])
        await asyncio.sleep(0)
        client.release()
        await asyncio.sleep(0)

        assert offered is False
        assert client.received == []
