"""The lead counts the writes keep (pipeline by stage, funnel by source): exact under concurrent writers and folds,
current after each commit."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from leadcycle.domain.commands import CreateLead, RecordActivity, TransitionLead
from leadcycle.domain.errors import DomainError
from leadcycle.domain.model import Company, Contact, Lead
from leadcycle.domain.stages import LeadEvent, Stage
from leadcycle.domain.use_cases import LeadUseCases
from leadcycle.persistence import kept_counts, queries
from leadcycle.persistence.database import alembic_config, create_engine, migrate, plain_url
from leadcycle.persistence.tables import lead_count_deltas, lead_counts, leads
from leadcycle.persistence.unit_of_work import unit_of_work_factory

ACTOR = "stage-counts-test"
LEADS = 24
KEPT_COUNTS_REVISION = "f3a9c1d7e2b4"
SOURCES = ("web_ad", "seo", "referral")
EVER = datetime(2000, 1, 1, tzinfo=UTC)  # a `since` before every lead: the funnel counted in the table


def utc_now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def use_cases(engine: AsyncEngine) -> LeadUseCases:
    return LeadUseCases(unit_of_work_factory(engine), utc_now)


async def counted_in_table(engine: AsyncEngine) -> dict[Stage, int]:
    """Leads per stage as `count(*)` over the whole table finds them."""
    query = select(leads.c.stage, func.count()).group_by(leads.c.stage)
    async with engine.connect() as connection:
        counted = {Stage(stage): count for stage, count in (await connection.execute(query)).all()}
    return {stage: counted.get(stage, 0) for stage in Stage}


async def kept_funnel(engine: AsyncEngine) -> list[queries.ChannelCounts]:
    """The channel funnel as the kept counts have it."""
    return [queries.ChannelCounts(*row) for row in await kept_counts.funnel(engine)]


async def funnel_in_table(engine: AsyncEngine) -> list[queries.ChannelCounts]:
    """The channel funnel as counting the leads finds it."""
    return await queries.channel_counts(engine, EVER, None)


async def create_lead(use_cases: LeadUseCases, source: str = "web_ad") -> Lead:
    suffix = uuid.uuid4().hex[:10]
    return await use_cases.create(CreateLead(Company(f"Counted {suffix}"), Contact(f"Contact {suffix}"), source), ACTOR)


async def recycle(use_cases: LeadUseCases, lead: Lead) -> Lead:
    return await use_cases.transition(TransitionLead(str(lead.id), LeadEvent.RECYCLE, reason="No budget"), ACTOR)


async def story(use_cases: LeadUseCases, source: str) -> None:
    """Created COLD, hot to MQL automatically, recycled by two racing writers (one is refused), hot again."""
    lead = await create_lead(use_cases, source)
    await use_cases.record_activity(RecordActivity(str(lead.id), "demo_request"), ACTOR)
    outcomes = await asyncio.gather(recycle(use_cases, lead), recycle(use_cases, lead), return_exceptions=True)
    assert sum(isinstance(outcome, DomainError) for outcome in outcomes) == 1, outcomes
    await use_cases.record_activity(RecordActivity(str(lead.id), "demo_request"), ACTOR)


@contextlib.asynccontextmanager
async def fresh_engine(server_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on a new, empty database of the test server, dropped afterwards."""
    name = f"leadcycle_counts_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(plain_url(server_url))
    await admin.execute(f'CREATE DATABASE "{name}"')
    engine = create_engine(make_url(plain_url(server_url)).set(database=name).render_as_string(hide_password=False))
    try:
        yield engine
    finally:
        await engine.dispose()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def migrate_kept_counts_again(connection: Connection) -> None:
    """Down to just before the kept counts' migration, then up to the head again (the leads stay)."""
    config = alembic_config()
    config.attributes["connection"] = connection
    before = ScriptDirectory.from_config(config).get_revision(KEPT_COUNTS_REVISION).down_revision
    assert isinstance(before, str)
    command.downgrade(config, before)
    command.upgrade(config, "head")


@contextlib.asynccontextmanager
async def folding(engine: AsyncEngine) -> AsyncIterator[list[int]]:
    """Folds one after another until the block ends; yields how many deltas each fold took."""
    folded: list[int] = []
    done = asyncio.Event()

    async def keep_folding() -> None:
        while not done.is_set():
            folded.append(await kept_counts.fold(engine))

    task = asyncio.create_task(keep_folding())
    try:
        yield folded
    finally:
        done.set()
        await task


class TestConcurrentWrites:
    async def test_counts_equal_the_table_after_concurrent_stories_and_folds(
        self, engine: AsyncEngine, use_cases: LeadUseCases
    ) -> None:
        before = await kept_counts.counts(engine)
        async with folding(engine) as folded:
            await asyncio.gather(*(story(use_cases, SOURCES[n % len(SOURCES)]) for n in range(LEADS)))
        assert await kept_counts.counts(engine) == await counted_in_table(engine)
        assert await kept_funnel(engine) == await funnel_in_table(engine)
        assert sum(folded) > 0
        assert sum((await kept_counts.counts(engine)).values()) == sum(before.values()) + LEADS

    async def test_a_fold_takes_every_delta_and_changes_no_count(
        self, engine: AsyncEngine, use_cases: LeadUseCases
    ) -> None:
        await create_lead(use_cases)
        before = await kept_counts.counts(engine)
        await kept_counts.fold(engine)  # the test server's fold job may have taken some already
        async with engine.connect() as connection:
            left = (await connection.execute(select(func.count()).select_from(lead_count_deltas))).scalar_one()
        assert left == 0
        assert await kept_counts.counts(engine) == before == await counted_in_table(engine)
        assert await kept_funnel(engine) == await funnel_in_table(engine)


class TestReadAfterCommit:
    async def test_the_unfiltered_pipeline_shows_each_committed_move(
        self, engine: AsyncEngine, use_cases: LeadUseCases
    ) -> None:
        everything = queries.LeadFilter()
        before = await queries.stage_counts(engine, everything)
        lead = await create_lead(use_cases)
        created = await queries.stage_counts(engine, everything)
        await use_cases.record_activity(RecordActivity(str(lead.id), "demo_request"), ACTOR)
        hot = await queries.stage_counts(engine, everything)
        assert created == before | {Stage.COLD: before[Stage.COLD] + 1}
        assert hot == created | {Stage.COLD: created[Stage.COLD] - 1, Stage.MQL: created[Stage.MQL] + 1}

    async def test_the_all_time_channel_funnel_shows_each_committed_lead(
        self, engine: AsyncEngine, use_cases: LeadUseCases
    ) -> None:
        source = f"kept_{uuid.uuid4().hex[:8]}"  # a channel of this test's own

        async def channel() -> queries.ChannelCounts | None:
            return next((c for c in await queries.channel_counts(engine, None, None) if c.source == source), None)

        assert await channel() is None
        lead = await create_lead(use_cases, source)
        assert await channel() == queries.ChannelCounts(source, leads=1, reached_mql=0, reached_opportunity=0, won=0)
        await use_cases.record_activity(RecordActivity(str(lead.id), "demo_request"), ACTOR)
        assert await channel() == queries.ChannelCounts(source, leads=1, reached_mql=1, reached_opportunity=0, won=0)
        await recycle(use_cases, lead)
        assert await channel() == queries.ChannelCounts(source, leads=1, reached_mql=1, reached_opportunity=0, won=0)

    async def test_a_refused_transition_counts_nothing(self, engine: AsyncEngine, use_cases: LeadUseCases) -> None:
        lead = await create_lead(use_cases)
        before = await kept_counts.counts(engine)
        with pytest.raises(DomainError):
            await use_cases.transition(TransitionLead(str(lead.id), LeadEvent.WIN), ACTOR)
        assert await kept_counts.counts(engine) == before


class TestMigration:
    async def test_the_totals_start_as_the_leads_already_there(self, server_url: str) -> None:
        async with fresh_engine(server_url) as engine:
            await migrate(engine)
            use_cases = LeadUseCases(unit_of_work_factory(engine), utc_now)
            hot = await create_lead(use_cases)
            await use_cases.record_activity(RecordActivity(str(hot.id), "demo_request"), ACTOR)
            await create_lead(use_cases)
            async with engine.begin() as connection:
                await connection.run_sync(migrate_kept_counts_again)
            async with engine.connect() as connection:
                totals = {tuple(key): count for *key, count in (await connection.execute(select(lead_counts))).all()}
            assert totals == {("web_ad", "COLD", False, False): 1, ("web_ad", "MQL", True, False): 1}
            assert await kept_counts.counts(engine) == await counted_in_table(engine)
