"""Subscriptions asking the same thing share one execution per change, and nothing else."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.live import Live, live
from tests.api.operations import create_lead, record
from tests.api.test_resume import CHANGES, changes_of, versions
from tests.conftest import GraphQLClient


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
