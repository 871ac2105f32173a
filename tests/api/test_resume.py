"""leadChanged(after:) over a real WebSocket: what a client missed, then live changes, none twice."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from typing import Any

import asyncpg
import httpx
import pytest

from leadcycle.domain.model_use_cases import ScoringModelUseCases
from leadcycle.domain.use_cases import LeadUseCases
from leadcycle.graph.app import utc_now
from leadcycle.graph.context import Context, Services
from leadcycle.graph.schema import build_schema
from leadcycle.graph.settings import Settings
from leadcycle.persistence.change_feed import ChangeFeed
from leadcycle.persistence.change_log import encode_cursor
from leadcycle.persistence.database import create_engine, plain_url
from leadcycle.persistence.retention import Retention, prune
from leadcycle.persistence.unit_of_work import unit_of_work_factory
from tests.api.live import Live, live, subscribed
from tests.api.operations import create_lead, record
from tests.conftest import GraphQLClient
from tests.servers import fresh_database, serving

CHANGES = """
subscription($leadId: ID, $after: String) {
  leadChanged(leadId: $leadId, after: $after) { kind cursor lead { id version } }
}"""


async def changes_of(connection: Live, lead_ids: set[str], count: int) -> list[dict[str, Any]]:
    """The next `count` changes of these leads, skipping other leads' changes."""
    changes: list[dict[str, Any]] = []
    while len(changes) < count:
        change = await connection.data("leadChanged")
        if change["lead"]["id"] in lead_ids:
            changes.append(change)
    return changes


def versions(changes: list[dict[str, Any]]) -> list[int]:
    return [c["lead"]["version"] for c in changes]


def b64(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


class TestResume:
    async def test_missed_changes_come_first_in_order_then_live_ones_each_once(
        self, gql: GraphQLClient, api_url: str
    ) -> None:
        async with subscribed(api_url, CHANGES) as before_the_drop:
            lead_id = (await create_lead(gql))["id"]
            for _ in range(3):
                await record(gql, lead_id, "email_open")
            seen = await changes_of(before_the_drop, {lead_id}, 4)
        for _ in range(4):  # missed while disconnected
            await record(gql, lead_id, "web_visit")

        async with subscribed(api_url, CHANGES, leadId=lead_id, after=seen[-1]["cursor"]) as resumed:
            for _ in range(2):
                await record(gql, lead_id, "email_open")
            caught_up = await changes_of(resumed, {lead_id}, 6)
            await record(gql, lead_id, "email_open")
            (sentinel,) = await changes_of(resumed, {lead_id}, 1)

        assert versions(seen) == [1, 2, 3, 4]
        assert versions(caught_up) == [5, 6, 7, 8, 9, 10]
        assert versions([sentinel]) == [11], "a change was delivered twice"
        assert len({c["cursor"] for c in seen + caught_up}) == 10

    async def test_no_gap_or_duplicate_at_the_seam_while_writers_keep_writing(
        self, gql: GraphQLClient, api_url: str
    ) -> None:
        async with subscribed(api_url, CHANGES) as watcher:
            lead_ids = [(await create_lead(gql))["id"] for _ in range(3)]
            await record(gql, lead_ids[0], "email_open")
            *_, mark = await changes_of(watcher, set(lead_ids), 4)
        written, halfway = 0, asyncio.Event()

        async def writer(lead_id: str) -> None:
            nonlocal written
            for _ in range(12):
                await record(gql, lead_id, "web_visit")
                written += 1
                if written == 20:
                    halfway.set()

        writers = asyncio.gather(*(writer(lead_id) for lead_id in lead_ids for _ in range(2)))
        await halfway.wait()  # resume in the middle of the writing
        async with subscribed(api_url, CHANGES, after=mark["cursor"]) as resumed:
            resumed_while_written = written
            await writers
            pushed = await changes_of(resumed, set(lead_ids), 3 * 24)
            await record(gql, lead_ids[1], "email_open")
            (sentinel,) = await changes_of(resumed, set(lead_ids), 1)

        assert 20 <= resumed_while_written < 72, "the resume did not overlap the writing"
        first_missed = {lead_id: 2 for lead_id in lead_ids} | {lead_ids[0]: 3}
        for lead_id, first in first_missed.items():
            mine = [c for c in pushed if c["lead"]["id"] == lead_id]
            assert versions(mine) == list(range(first, first + 24))
        assert (sentinel["lead"]["id"], sentinel["lead"]["version"]) == (lead_ids[1], 26), "delivered twice"


class TestCursorRefused:
    @pytest.mark.parametrize(
        "cursor",
        ["not a cursor", "", b64({"xid": 1}), b64(["change", -1, 5]), b64(["change", 1.5, 5]), b64(["lead", 1, 5])],
        ids=["garbage", "empty", "object", "negative", "fraction", "other-kind"],
    )
    async def test_a_malformed_cursor_is_a_graphql_error(self, api_url: str, cursor: str) -> None:
        async with live(api_url) as connection:
            await connection.subscribe(CHANGES, after=cursor)
            error = await connection.error()
        assert error["extensions"] == {"code": "INVALID_CURSOR"}
        assert "malformed" in error["message"]

    async def test_a_cursor_naming_no_change_of_this_log_is_a_graphql_error(self, api_url: str) -> None:
        async with live(api_url) as connection:
            await connection.subscribe(CHANGES, after=encode_cursor((2**62, 1)))
            error = await connection.error()
        assert error["extensions"] == {"code": "INVALID_CURSOR"}
        assert "subscribe without after" in error["message"]


async def back_date_changes(database_url: str, lead_id: str, versions: list[int]) -> None:
    """Make these changes look logged eight days ago, past the default retention."""
    connection = await asyncpg.connect(plain_url(database_url))
    try:
        await connection.execute(
            "UPDATE lead_changes SET logged_at = now() - interval '8 days' "
            "WHERE lead_id = $1::uuid AND version = ANY($2::int[])",
            lead_id,
            versions,
        )
    finally:
        await connection.close()


class TestRetention:
    async def test_a_cursor_overtaken_by_retention_is_refused_with_a_refetch_hint(self, server_url: str) -> None:
        async with (
            fresh_database(server_url) as database_url,
            serving(Settings(), database_url) as (api, _app),
            httpx.AsyncClient(base_url=api, timeout=30) as http,
        ):
            gql = GraphQLClient(http)
            async with subscribed(api, CHANGES) as watcher:
                lead_id = (await create_lead(gql))["id"]
                for _ in range(3):
                    await record(gql, lead_id, "email_open")
                cursors = [c["cursor"] for c in await changes_of(watcher, {lead_id}, 4)][1:]  # versions 2, 3, 4
            await back_date_changes(database_url, lead_id, [1, 2, 3])
            await prune_now(database_url)

            async with live(api) as connection:
                await connection.subscribe(CHANGES, leadId=lead_id, after=cursors[0])
                expired = await connection.error()
            async with subscribed(api, CHANGES, leadId=lead_id, after=cursors[1]) as at_the_horizon:
                (kept,) = await changes_of(at_the_horizon, {lead_id}, 1)

        assert expired["extensions"] == {"code": "CURSOR_EXPIRED"}
        assert "Refetch" in expired["message"]
        assert kept["lead"]["version"] == 4


async def prune_now(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        pruned = await prune(engine, Retention())
        assert pruned.changes > 0
    finally:
        await engine.dispose()


class TestUnexpectedErrors:
    async def test_a_failure_inside_a_subscription_is_masked_for_the_client_and_logged(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        engine = create_engine("postgresql://postgres@127.0.0.1:9/nowhere")
        factory = unit_of_work_factory(engine)
        leads, scoring = LeadUseCases(factory, utc_now), ScoringModelUseCases(factory, utc_now)
        services = Services(engine=engine, leads=leads, feed=ChangeFeed("postgresql://unused"), scoring=scoring)
        context = Context(request=None, response=None, services=services, actor="test")  # type: ignore[arg-type]
        try:
            with caplog.at_level(logging.ERROR, logger="leadcycle.graph"):
                stream = await build_schema(Settings()).subscribe(
                    CHANGES, variable_values={"after": encode_cursor((1, 1))}, context_value=context
                )
                result = await anext(stream)  # type: ignore[arg-type]
                await stream.aclose()  # type: ignore[union-attr]
        finally:
            await engine.dispose()

        assert [e.message for e in result.errors] == ["Unexpected error; it was logged."]
        assert "127.0.0.1" not in json.dumps(result.errors[0].formatted)
        assert any("unexpected error at a subscription stream" in r.getMessage() for r in caplog.records)
