"""Concurrent writers of one lead on real Postgres: nothing lost, nothing doubled, stale writes refused."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from leadcycle.domain.commands import (
    AssignLead,
    CreateLead,
    RecordActivity,
    TransitionLead,
    UpdateBant,
    UpdateLead,
)
from leadcycle.domain.errors import VersionConflict
from leadcycle.domain.model import BANT_CRITERIA, BantCriterion, Company, Contact, Lead
from leadcycle.domain.stages import BantStatus, LeadEvent, Stage
from leadcycle.domain.use_cases import LeadUseCases
from leadcycle.persistence.tables import activities, lead_changes
from leadcycle.persistence.unit_of_work import unit_of_work_factory

ACTOR = "concurrency-test"
CONFIRMED = BantCriterion(BantStatus.CONFIRMED)


def utc_now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def use_cases(engine: AsyncEngine) -> LeadUseCases:
    return LeadUseCases(unit_of_work_factory(engine), utc_now)


async def create_lead(use_cases: LeadUseCases) -> Lead:
    """A new COLD lead of a uniquely named company."""
    suffix = uuid.uuid4().hex[:10]
    command = CreateLead(Company(f"Concurrent {suffix}"), Contact(f"Contact {suffix}"), "web_ad")
    return await use_cases.create(command, ACTOR)


async def create_sql_lead(use_cases: LeadUseCases) -> Lead:
    """A lead taken to SQL: hot by a demo request, BANT confirmed, qualified."""
    lead = await create_lead(use_cases)
    await use_cases.record_activity(RecordActivity(str(lead.id), "demo_request"), ACTOR)
    await use_cases.update_bant(UpdateBant(str(lead.id), {c: CONFIRMED for c in BANT_CRITERIA}), ACTOR)
    lead = await use_cases.transition(TransitionLead(str(lead.id), LeadEvent.QUALIFY), ACTOR)
    assert lead.stage is Stage.SQL
    return lead


async def reload(engine: AsyncEngine, lead_id: UUID) -> Lead:
    """The lead as committed."""
    async with unit_of_work_factory(engine)() as uow:
        lead = await uow.leads.get(lead_id)
    assert lead is not None
    return lead


async def logged_versions(engine: AsyncEngine, lead_id: UUID) -> list[int]:
    """The versions in the change log for one lead, in log order."""
    query = (
        select(lead_changes.c.version)
        .where(lead_changes.c.lead_id == lead_id)
        .order_by(lead_changes.c.xid, lead_changes.c.id)
    )
    async with engine.connect() as connection:
        return list((await connection.execute(query)).scalars())


class TestConcurrentActivities:
    async def test_fifty_concurrent_activities_are_all_counted_once(
        self, use_cases: LeadUseCases, engine: AsyncEngine
    ) -> None:
        lead = await create_lead(use_cases)
        kinds = ["email_open", "email_click"] * 25  # 25 x 1 + 25 x 3 points

        results = await asyncio.gather(
            *(use_cases.record_activity(RecordActivity(str(lead.id), kind), ACTOR) for kind in kinds)
        )

        stored = await reload(engine, lead.id)
        assert (stored.score, stored.version) == (100, 1 + 50)
        assert stored.stage is Stage.MQL  # moved by the score, still one version per mutation
        assert sorted(r.version for r in results) == list(range(2, 52))
        async with engine.connect() as connection:
            count = (await connection.execute(select(func.count()).where(activities.c.lead_id == lead.id))).scalar_one()
        assert count == 50
        assert await logged_versions(engine, lead.id) == list(range(1, 52))


class TestConcurrentTransitions:
    async def test_same_expected_version_lets_exactly_one_transition_through(
        self, use_cases: LeadUseCases, engine: AsyncEngine
    ) -> None:
        for _ in range(5):
            lead = await create_sql_lead(use_cases)
            version = lead.version
            commands = [
                TransitionLead(str(lead.id), LeadEvent.OPEN_OPPORTUNITY, expected_version=version),
                TransitionLead(str(lead.id), LeadEvent.RECYCLE, expected_version=version, reason="Budget frozen"),
            ]

            outcomes = await asyncio.gather(*(use_cases.transition(c, ACTOR) for c in commands), return_exceptions=True)

            winners = [o for o in outcomes if isinstance(o, Lead)]
            losers = [o for o in outcomes if not isinstance(o, Lead)]
            assert len(winners) == 1, outcomes
            assert len(losers) == 1
            assert isinstance(losers[0], VersionConflict), losers[0]
            assert losers[0].current_version == version + 1
            stored = await reload(engine, lead.id)
            assert (stored.stage, stored.version) == (winners[0].stage, version + 1)
            assert (await logged_versions(engine, lead.id))[-1] == version + 1


class TestConcurrentPatches:
    async def test_concurrent_edits_of_different_fields_all_survive(
        self, use_cases: LeadUseCases, engine: AsyncEngine
    ) -> None:
        for _ in range(5):
            lead = await create_lead(use_cases)
            industry, team = f"Industry {uuid.uuid4().hex[:6]}", f"Team {uuid.uuid4().hex[:6]}"
            title = f"Title {uuid.uuid4().hex[:6]}"
            edits: list[Any] = [
                use_cases.update(UpdateLead(str(lead.id), company={"industry": industry}), ACTOR),
                use_cases.update(UpdateLead(str(lead.id), contact={"title": title}), ACTOR),
                use_cases.update_bant(UpdateBant(str(lead.id), {"budget": CONFIRMED}), ACTOR),
                use_cases.assign(AssignLead(str(lead.id), {"owner_team": team}), ACTOR),
            ]

            await asyncio.gather(*edits)

            stored = await reload(engine, lead.id)
            assert stored.company.industry == industry
            assert stored.contact.title == title
            assert stored.bant.budget.status is BantStatus.CONFIRMED
            assert stored.owner_team == team
            assert stored.version == 1 + 4
            assert await logged_versions(engine, lead.id) == [1, 2, 3, 4, 5]
