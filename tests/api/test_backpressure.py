"""Slow subscribers and keep-alive, over real WebSockets to servers with settings of their own."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from leadcycle.graph.settings import Settings
from tests.api.live import Live, live
from tests.api.operations import create_lead, record
from tests.conftest import GraphQLClient
from tests.servers import serving

BUFFER = 20  # the slow server's subscriber buffer: more than one read of the log delivers at once
WRITES = 80
HEAVY = """
subscription($leadId: ID, $after: String) {
  leadChanged(leadId: $leadId, after: $after) { cursor lead { version activities(first: 200) { properties } } }
}"""
LIGHT = """
subscription($leadId: ID, $after: String) {
  leadChanged(leadId: $leadId, after: $after) { cursor lead { id version } }
}"""
NEWEST = """
subscription($leadId: ID) {
  leadChanged(leadId: $leadId) { cursor lead { version activities(first: 20) { properties } } }
}"""  # up to 300 kB a message
PADDING = {"note": "x" * 15_000}  # each activity read with a change adds 15 kB to its message


@contextlib.asynccontextmanager
async def small_buffer_server(database_url: str) -> AsyncIterator[tuple[str, GraphQLClient]]:
    async with (
        serving(Settings(subscriber_buffer=BUFFER), database_url) as (api, _app),
        httpx.AsyncClient(base_url=api, timeout=30) as http,
    ):
        yield api, GraphQLClient(http)


@contextlib.asynccontextmanager
async def stalled(api: str) -> AsyncIterator[Live]:
    """A client that stops reading once frames wait: a tiny receive window, a queue of one, no compression."""
    address = urlsplit(api)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((address.hostname, address.port))
    sock.setblocking(False)
    async with live(api, sock=sock, max_queue=1, compression=None) as connection:  # deflate would shrink it all
        yield connection


async def versions_then_error(connection: Live) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Read a stalled subscription: the changes it still had, then the error that ended it."""
    changes = []
    while True:
        message = await connection.message()
        assert message["type"] == "next", message
        if "errors" in message["payload"]:
            assert (await connection.message())["type"] == "complete"
            return changes, message["payload"]["errors"][0]
        changes.append(message["payload"]["data"]["leadChanged"])


async def versions_of(connection: Live, lead_id: str, count: int) -> list[int]:
    """The versions of the lead's next `count` changes, other leads' changes skipped."""
    found: list[int] = []
    while len(found) < count:
        change = await connection.data("leadChanged")
        if change["lead"]["id"] == lead_id:
            found.append(change["lead"]["version"])
    return found


async def next_version(connection: Live) -> int:
    version: int = (await connection.data("leadChanged"))["lead"]["version"]
    return version


class TestSlowSubscriber:
    async def test_falls_behind_ends_with_a_resumable_error_and_never_holds_up_the_others(
        self, database_url: str
    ) -> None:
        async with small_buffer_server(database_url) as (api, gql), live(api) as fast:
            await fast.subscribe(LIGHT)
            lead_id = (await create_lead(gql))["id"]
            for _ in range(10):
                await record(gql, lead_id, "web_visit", properties=PADDING)
            assert await versions_of(fast, lead_id, 11) == list(range(1, 12))
            async with stalled(api) as slow:
                await slow.subscribe(HEAVY, leadId=lead_id)  # from version 12 on: 11 was delivered before
                for _ in range(WRITES):
                    await record(gql, lead_id, "email_open")
                kept_up = await versions_of(fast, lead_id, WRITES)

                got, error = await versions_then_error(slow)
            async with live(api) as resumed:
                await resumed.subscribe(LIGHT, leadId=lead_id, after=error["extensions"]["cursor"])
                rest = await versions_of(resumed, lead_id, WRITES - len(got))

        last = 11 + WRITES
        assert kept_up == list(range(12, last + 1))
        assert [c["lead"]["version"] for c in got] == list(range(12, 12 + len(got)))
        assert len(got) < WRITES - BUFFER, "the slow subscriber was never behind"
        assert error["extensions"] == {"code": "FELL_BEHIND", "cursor": got[-1]["cursor"]}
        assert "fell behind" in error["message"]
        assert got[-1]["cursor"] in error["message"]
        assert rest == list(range(12 + len(got), last + 1))

    async def test_a_stalled_client_never_slows_the_others_asking_the_same(self, database_url: str) -> None:
        """Same document and variables: the subscribers share one execution, but not a fate."""
        async with small_buffer_server(database_url) as (api, gql), live(api) as fast, live(api) as also_fast:
            lead_id = (await create_lead(gql))["id"]
            await fast.subscribe(NEWEST, leadId=lead_id)
            await record(gql, lead_id, "web_visit")
            while await next_version(fast) < 2:  # its creation may come first
                pass
            async with stalled(api) as slow:
                await also_fast.subscribe(NEWEST, leadId=lead_id)
                await slow.subscribe(NEWEST, leadId=lead_id)
                slowest = 0.0
                for version in range(3, 3 + WRITES):
                    started = time.monotonic()
                    await record(gql, lead_id, "web_visit", properties=PADDING)
                    assert [await next_version(fast), await next_version(also_fast)] == [version, version]
                    slowest = max(slowest, time.monotonic() - started)

                got, error = await versions_then_error(slow)

        assert slowest < 2.0, f"a change took {slowest:.1f} s to reach the subscribers that read"
        assert [c["lead"]["version"] for c in got] == list(range(3, 3 + len(got)))
        assert len(got) < WRITES - BUFFER, "the stalled client was never behind"
        assert error["extensions"] == {"code": "FELL_BEHIND", "cursor": got[-1]["cursor"]}


class TestKeepAlive:
    async def test_the_server_pings_every_interval_and_the_connection_stays_usable(
        self, database_url: str, gql: GraphQLClient
    ) -> None:
        async with serving(Settings(ws_keep_alive_seconds=0.1), database_url) as (api, _app), live(api) as connection:
            with pytest.raises(TimeoutError):
                await connection.message(wait=0.55)
            pinged = connection.pings
            await connection.subscribe(LIGHT)
            lead_id = (await create_lead(gql))["id"]
            created = await versions_of(connection, lead_id, 1)

        assert pinged >= 3
        assert created == [1]

    async def test_no_pings_when_turned_off(self, database_url: str) -> None:
        async with serving(Settings(ws_keep_alive_seconds=0), database_url) as (api, _app), live(api) as connection:
            with pytest.raises(TimeoutError):
                await connection.message(wait=0.3)
        assert connection.pings == 0
