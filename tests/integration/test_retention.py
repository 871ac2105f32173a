"""Retention on real Postgres, each test in a database of its own: pruning there moves the horizon."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import asyncpg
import httpx
import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine

from leadcycle.domain.commands import CreateLead, RecordActivity
from leadcycle.domain.model import Company, Contact
from leadcycle.domain.use_cases import LeadUseCases
from leadcycle.graph.settings import Settings
from leadcycle.persistence.change_log import CursorTooOld, replay
from leadcycle.persistence.database import create_engine, plain_url
from leadcycle.persistence.retention import Retention, RetentionJob, prune
from leadcycle.persistence.unit_of_work import unit_of_work_factory
from tests.servers import fresh_database, serving

WAIT = 10.0
T = TypeVar("T")
OLD, RECENT = timedelta(days=8), timedelta(days=6)  # either side of the default 7 days


class Log:
    """A fresh database: its engine, use cases writing to it, and a direct connection to age rows."""

    def __init__(self, url: str, engine: AsyncEngine, sql: asyncpg.Connection) -> None:
        self.url, self.engine, self.sql = url, engine, sql
        self.use_cases = LeadUseCases(unit_of_work_factory(engine), lambda: datetime.now(UTC))

    async def lead_with_changes(self, count: int) -> uuid.UUID:
        """A new lead with `count` changes: its creation and count - 1 activities."""
        lead = await self.use_cases.create(CreateLead(Company(f"Ret {uuid.uuid4().hex[:8]}"), Contact("C"), "seo"), "t")
        for _ in range(count - 1):
            await self.use_cases.record_activity(RecordActivity(str(lead.id), "web_visit"), "t")
        return lead.id

    async def age_changes(self, lead_id: uuid.UUID, age: timedelta, versions: list[int] | None = None) -> None:
        await self.sql.execute(
            "UPDATE lead_changes SET logged_at = now() - $2::interval WHERE lead_id = $1 "
            "AND ($3::int[] IS NULL OR version = ANY($3::int[]))",
            lead_id,
            age,
            versions,
        )

    async def key(self, age: timedelta) -> str:
        key = uuid.uuid4().hex
        await self.sql.execute(
            "INSERT INTO idempotency_keys (scope, key, fingerprint, lead_id, created_at) "
            "VALUES ('createLead', $1, 'f', gen_random_uuid(), now() - $2::interval)",
            key,
            age,
        )
        return key

    async def changes(self) -> list[tuple[uuid.UUID, int]]:
        rows = await self.sql.fetch("SELECT lead_id, version FROM lead_changes ORDER BY xid, id")
        return [(r["lead_id"], r["version"]) for r in rows]

    async def positions(self, lead_id: uuid.UUID) -> list[tuple[int, int]]:
        rows = await self.sql.fetch("SELECT xid, id FROM lead_changes WHERE lead_id = $1 ORDER BY version", lead_id)
        return [(r["xid"], r["id"]) for r in rows]

    async def horizon(self) -> tuple[int, int]:
        row = await self.sql.fetchrow("SELECT xid, change_id FROM change_log_horizon")
        return row["xid"], row["change_id"]

    async def keys(self) -> set[str]:
        return {r["key"] for r in await self.sql.fetch("SELECT key FROM idempotency_keys")}


async def until(read: Callable[[], Awaitable[T]], holds: Callable[[T], bool]) -> None:
    """Poll the database until what `read` returns `holds` (a job in the background has nothing to await)."""
    async with asyncio.timeout(WAIT):
        while not holds(await read()):  # noqa: ASYNC110
            await asyncio.sleep(0.05)


@pytest_asyncio.fixture
async def log(server_url: str) -> AsyncIterator[Log]:
    async with fresh_database(server_url) as url:
        engine, sql = create_engine(url), await asyncpg.connect(plain_url(url))
        try:
            yield Log(url, engine, sql)
        finally:
            await sql.close()
            await engine.dispose()


class TestPrune:
    async def test_deletes_only_what_is_past_retention_in_bounded_batches(self, log: Log) -> None:
        old, recent, fresh = [await log.lead_with_changes(3) for _ in range(3)]
        await log.age_changes(old, OLD)
        await log.age_changes(recent, RECENT)
        old_key, recent_key = await log.key(timedelta(hours=25)), await log.key(timedelta(hours=23))
        old_positions = await log.positions(old)

        pruned = await prune(log.engine, Retention(batch=2))

        assert (pruned.changes, pruned.idempotency_keys) == (3, 1)
        assert [lead for lead, _ in await log.changes()] == [recent] * 3 + [fresh] * 3
        assert await log.keys() == {recent_key}
        assert old_key not in await log.keys()
        assert await log.horizon() == max(old_positions)

    async def test_pruners_in_several_processes_delete_each_row_once(self, log: Log) -> None:
        leads = [await log.lead_with_changes(4) for _ in range(6)]
        for lead in leads:
            await log.age_changes(lead, OLD)
        newest = max([p for lead in leads for p in await log.positions(lead)])

        results = await asyncio.gather(*(prune(log.engine, Retention(batch=3)) for _ in range(3)))

        assert sum(r.changes for r in results) == 24
        assert await log.changes() == []
        assert await log.horizon() == newest

    async def test_the_horizon_never_moves_back(self, log: Log) -> None:
        first, second = await log.lead_with_changes(2), await log.lead_with_changes(2)
        await log.age_changes(second, OLD)
        await prune(log.engine, Retention())
        horizon = await log.horizon()
        await log.age_changes(first, OLD)  # older positions, deleted later

        await prune(log.engine, Retention())

        assert await log.horizon() == horizon
        assert await log.changes() == []


class TestReplayMeetsPruning:
    async def test_changes_pruned_during_a_replay_end_it_with_cursor_too_old(self, log: Log) -> None:
        lead = await log.lead_with_changes(6)
        positions = await log.positions(lead)
        changes = replay(log.engine, positions[0], positions[-1], lambda _: True, page=2)
        versions = [(await anext(changes)).lead.version]  # the first page (versions 2 and 3) is read
        await log.age_changes(lead, OLD, versions=[1, 2, 3, 4])
        await prune(log.engine, Retention())

        versions.append((await anext(changes)).lead.version)
        with pytest.raises(CursorTooOld):
            await anext(changes)
        assert versions == [2, 3]


class TestJob:
    async def test_prunes_every_interval_and_stops_promptly(self, log: Log) -> None:
        job = RetentionJob(log.engine, Retention(), interval_seconds=0.05)
        job.start()
        try:
            lead = await log.lead_with_changes(2)
            await log.age_changes(lead, OLD)
            await until(log.changes, lambda changes: not changes)
        finally:
            async with asyncio.timeout(WAIT):
                await job.stop()
        assert job.rounds >= 2

    async def test_the_server_runs_the_job_for_as_long_as_it_serves(self, log: Log) -> None:
        settings = Settings(retention_interval_seconds=0.1)
        async with serving(settings, log.url) as (api, _app), httpx.AsyncClient(base_url=api) as http:
            assert (await http.get("/readyz")).status_code == 200
            kept, old = await log.lead_with_changes(2), await log.lead_with_changes(2)
            await log.age_changes(old, OLD)
            old_key = await log.key(timedelta(hours=30))
            await until(log.keys, lambda keys: old_key not in keys)
        assert [lead for lead, _ in await log.changes()] == [kept, kept]
