"""Decay over simulated time on real Postgres: the refresh looks only at due leads, cools WARM ones,
and flags MQLs going cold.

The decaying model scores only a probe activity no other test records, so other leads lose their
points while it is active; version 1 is put back in force (and every lead rescored) afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from leadcycle.domain.commands import CreateLead, RecordActivity
from leadcycle.domain.model import Company, Contact, Lead
from leadcycle.domain.model_use_cases import ScoringModelUseCases
from leadcycle.domain.rescoring import Rescoring
from leadcycle.domain.stages import Stage, Temperature
from leadcycle.domain.use_cases import LeadUseCases
from leadcycle.persistence import kept_counts, queries
from leadcycle.persistence.mapping import lead_from_row
from leadcycle.persistence.tables import lead_history, leads
from leadcycle.persistence.unit_of_work import unit_of_work_factory
from tests.integration.test_kept_counts import counted_in_table

ACTOR = "decay-test"
PROBE = f"decay_probe_{uuid.uuid4().hex[:8]}"
DECAYING = {
    "warmThreshold": 20,
    "hotThreshold": 50,
    "halfLifeDays": 30,
    "rules": [{"type": "activity", "name": "activity.probe", "activity": PROBE, "points": 30}],
}


@dataclass
class SettableClock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass
class World:
    clock: SettableClock
    leads: LeadUseCases
    models: ScoringModelUseCases
    worker: Rescoring


@pytest_asyncio.fixture
async def world(engine: AsyncEngine) -> AsyncIterator[World]:
    """The decaying model in force, every lead rescored by it; afterwards version 1 and real time again."""
    clock = SettableClock(datetime.now(UTC))
    factory = unit_of_work_factory(engine)
    models = ScoringModelUseCases(factory, clock)
    draft = await models.create_draft(DECAYING, "probe points fade", "marketing")
    await models.activate(draft.version, ACTOR)
    worker = Rescoring(factory, clock, batch=500)
    await worker.run_until_done()
    yield World(clock, LeadUseCases(factory, clock), models, worker)
    clock.now = datetime.now(UTC)
    await models.activate(1, ACTOR)
    await worker.run_until_done()


async def probed(world: World, times: int) -> Lead:
    suffix = uuid.uuid4().hex[:10]
    lead = await world.leads.create(CreateLead(Company(f"Fading {suffix}"), Contact(f"C {suffix}"), "seo"), ACTOR)
    for _ in range(times):
        lead = await world.leads.record_activity(RecordActivity(str(lead.id), PROBE), ACTOR)
    return lead


async def reload(engine: AsyncEngine, lead: Lead) -> tuple[Lead, list[str]]:
    """The lead as stored, and the events of its transitions in order."""
    async with engine.connect() as connection:
        row = (await connection.execute(select(leads).where(leads.c.id == lead.id))).mappings().one()
        query = select(lead_history.c.data).where(
            lead_history.c.lead_id == lead.id, lead_history.c.kind == "transition"
        )
        events = [data["event"] for data in (await connection.execute(query.order_by(lead_history.c.id))).scalars()]
    return lead_from_row(row), events


class TestDecayOverTime:
    async def test_a_warm_lead_left_alone_cools_when_its_review_comes(self, world: World, engine: AsyncEngine) -> None:
        warm = await probed(world, 1)
        assert (warm.stage, warm.score, warm.review_at is not None) == (Stage.WARM, 30, True)

        world.clock.now += timedelta(days=10)
        early = await world.worker.refresh_due()
        world.clock.now += timedelta(days=9)
        due = await world.worker.refresh_due()
        again = await world.worker.refresh_due()

        cooled, events = await reload(engine, warm)
        assert early == 0  # nothing crossed a threshold yet: no lead looked at
        assert due >= 1
        assert again == 0  # refreshed leads got their next review time
        assert (cooled.stage, cooled.temperature, cooled.score) == (Stage.COLD, Temperature.COLD, 19)
        assert events == ["WARM", "COOL"]
        assert cooled.version == warm.version + 1

    async def test_rescoring_and_cooling_keep_the_stage_counts_exact(self, world: World, engine: AsyncEngine) -> None:
        warm = await probed(world, 1)
        world.clock.now += timedelta(days=19)
        await world.worker.refresh_due()

        cooled, _events = await reload(engine, warm)
        assert cooled.stage is Stage.COLD
        assert await kept_counts.counts(engine) == await counted_in_table(engine)

    async def test_an_mql_going_cold_keeps_its_stage_and_is_found_by_the_filter(
        self, world: World, engine: AsyncEngine
    ) -> None:
        hot = await probed(world, 2)
        assert (hot.stage, hot.score) == (Stage.MQL, 60)

        world.clock.now += timedelta(days=12)
        await world.worker.refresh_due()

        cooling, _ = await reload(engine, hot)
        going_cold = queries.LeadFilter(going_cold=True, search=hot.company.name)
        found, _ = await queries.lead_page(engine, going_cold, queries.LeadOrder(), 10, None)
        assert (cooling.stage, cooling.temperature, cooling.going_cold) == (Stage.MQL, Temperature.WARM, True)
        assert [lead.id for lead in found] == [hot.id]
