"""Several `leadcycle serve` processes on one database: a change made through any reaches the
subscribers of every one, exactly once, per lead in version order, in the change log's order."""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio

from leadcycle.persistence.change_log import encode_cursor
from leadcycle.persistence.database import plain_url
from tests.api.commands import START_SECONDS, embedded_data_dir, serving, stop
from tests.api.live import Live, live
from tests.api.operations import create_lead, record
from tests.conftest import GraphQLClient
from tests.servers import fresh_database

CHANGES = "subscription { leadChanged { kind cursor lead { id version } } }"
LEADS, ACTIVITIES = 6, 10  # activities per lead, recorded concurrently
IN_FLIGHT = 8  # writes at a time: enough to interleave, few enough for a busy server's lock timeout


@pytest_asyncio.fixture
async def shared_database(server_url: str) -> AsyncIterator[str]:
    """A database of its own: the test compares what arrives with its whole change log."""
    async with fresh_database(server_url) as url:
        yield url


@pytest.fixture
def two_servers(shared_database: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two independent `serve` processes on the one database."""
    database = ["--database-url", shared_database]
    with serving(database, tmp_path / "a.log") as (a, _), serving(database, tmp_path / "b.log") as (b, _):
        yield a, b


@pytest.fixture
def two_workers(shared_database: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`serve --workers 2` on the database; its URL and its log."""
    log = tmp_path / "workers.log"
    with serving(["--database-url", shared_database, "--workers", "2"], log) as (api, _):
        until_both_started(log)
        yield api, log


def until_both_started(log: Path) -> None:
    """Wait for the second worker too: /healthz answers as soon as one has started, and a busy machine is slow."""
    deadline = time.monotonic() + START_SECONDS
    while log.read_text().count("Application startup complete.") < 2:
        assert time.monotonic() < deadline, f"two workers did not start within {START_SECONDS} s:\n{log.read_text()}"
        time.sleep(0.2)


async def drive(apis: list[str]) -> list[str]:
    """Create leads, then record activities on all of them concurrently, spread over the servers; the lead ids."""
    clients = [GraphQLClient(httpx.AsyncClient(base_url=api, timeout=30)) for api in apis]
    slots = asyncio.Semaphore(IN_FLIGHT)

    async def write(client: GraphQLClient, lead_id: str) -> None:
        async with slots:
            await record(client, lead_id, "email_open")

    try:
        leads = [(await create_lead(clients[n % len(clients)]))["id"] for n in range(LEADS)]
        turns = [(n, lead) for n in range(ACTIVITIES) for lead in range(LEADS)]
        await asyncio.gather(*(write(clients[(lead + n) % len(clients)], leads[lead]) for n, lead in turns))
    finally:
        await asyncio.gather(*(client.http.aclose() for client in clients))
    return leads


async def received(subscriber: Live, count: int) -> list[dict[str, Any]]:
    return [await subscriber.data("leadChanged") for _ in range(count)]


async def log_order(database_url: str) -> list[str]:
    """The cursors of every change in the log, in log order."""
    connection = await asyncpg.connect(plain_url(database_url))
    try:
        rows = await connection.fetch("SELECT xid, id FROM lead_changes ORDER BY xid, id")
    finally:
        await connection.close()
    return [encode_cursor((row["xid"], row["id"])) for row in rows]


def versions_per_lead(changes: list[dict[str, Any]]) -> dict[str, list[int]]:
    versions: dict[str, list[int]] = defaultdict(list)
    for change in changes:
        versions[change["lead"]["id"]].append(change["lead"]["version"])
    return versions


class TestIndependentProcesses:
    async def test_every_change_through_either_reaches_subscribers_of_both_once_in_log_order(
        self, two_servers: tuple[str, str], shared_database: str
    ) -> None:
        a, b = two_servers
        total = LEADS * (1 + ACTIVITIES)
        async with live(a) as on_a, live(b) as on_b:
            await on_a.subscribe(CHANGES)
            await on_b.subscribe(CHANGES)
            leads = await drive([b, b, a])  # mostly through B, some through A
            got_on_a, got_on_b = await asyncio.gather(received(on_a, total), received(on_b, total))
            with pytest.raises(TimeoutError):
                await on_a.message(wait=0.5)  # and nothing more

        log = await log_order(shared_database)
        assert len(log) == total
        for got in (got_on_a, got_on_b):
            assert [change["cursor"] for change in got] == log
            assert versions_per_lead(got) == {lead: list(range(1, ACTIVITIES + 2)) for lead in leads}


def serving_processes(log: str) -> set[str]:
    """The worker processes alive at the end: started, less those uvicorn saw die (and replaced) on a busy machine."""
    started = set(re.findall(r"Started server process \[(\d+)\]", log))
    return started - set(re.findall(r"Child process \[(\d+)\] died", log))


class TestWorkers:
    async def test_serve_with_two_workers_answers_and_delivers(self, two_workers: tuple[str, Path]) -> None:
        api, log = two_workers
        async with contextlib.AsyncExitStack() as stack:
            connections = [await stack.enter_async_context(live(api)) for _ in range(4)]
            for connection in connections:
                await connection.subscribe(CHANGES)
            leads = await drive([api])
            got = await asyncio.gather(*(received(c, LEADS * (1 + ACTIVITIES)) for c in connections))

        assert len(serving_processes(log.read_text())) == 2
        expected = {lead: list(range(1, ACTIVITIES + 2)) for lead in leads}
        assert [versions_per_lead(changes) for changes in got] == [expected] * len(connections)

    def test_a_signal_stops_the_workers_then_the_embedded_postgres(self, tmp_path: Path) -> None:
        log = tmp_path / "embedded.log"
        with (
            embedded_data_dir(tmp_path / "data") as data_dir,
            serving(["--data-dir", str(data_dir), "--workers", "2"], log) as (api, process),
        ):
            assert httpx.get(f"{api}/readyz", timeout=10).status_code == 200
            assert stop(process, signal.SIGTERM) == 0, log.read_text()
            stopped = log.read_text()

        assert len(re.findall(r"Finished server process \[\d+\]", stopped)) == 2
        assert stopped.rstrip().endswith("Stopped.")
        assert not (data_dir / "postmaster.pid").exists(), "the embedded Postgres is still running"
