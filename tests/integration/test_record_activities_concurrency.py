"""recordActivities under concurrency on real Postgres: nothing lost, nothing doubled, order kept."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from types import TracebackType
from uuid import UUID

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from leadcycle.domain.commands import CreateLead, RecordActivity
from leadcycle.domain.model import Company, Contact, Lead
from leadcycle.domain.use_cases import LeadUseCases
from leadcycle.persistence.tables import activities, lead_changes
from leadcycle.persistence.unit_of_work import SqlUnitOfWork, unit_of_work_factory
from tests.integration.test_concurrency import ACTOR, logged_versions, reload, utc_now

LEADS = 10
PER_LEAD = 12  # of each kind, per batch


@pytest.fixture
def use_cases(engine: AsyncEngine) -> LeadUseCases:
    return LeadUseCases(unit_of_work_factory(engine), utc_now)


async def create_leads(use_cases: LeadUseCases, count: int) -> list[Lead]:
    leads = []
    for _ in range(count):
        suffix = uuid.uuid4().hex[:10]
        command = CreateLead(Company(f"Batched {suffix}"), Contact(f"Contact {suffix}"), "web_ad")
        leads.append(await use_cases.create(command, ACTOR))
    return leads


def interleaved(leads: list[Lead], kind: str, key_prefix: str | None = None) -> list[RecordActivity]:
    """PER_LEAD activities of `kind` for every lead, leads taking turns."""
    return [
        RecordActivity(str(lead.id), kind, idempotency_key=f"{key_prefix}-{lead.id}-{n}" if key_prefix else None)
        for n in range(PER_LEAD)
        for lead in leads
    ]


async def activity_count(engine: AsyncEngine, lead_id: UUID) -> int:
    async with engine.connect() as connection:
        query = select(func.count()).where(activities.c.lead_id == lead_id)
        return int((await connection.execute(query)).scalar_one())


async def change_count(engine: AsyncEngine, lead_id: UUID) -> int:
    async with engine.connect() as connection:
        query = select(func.count()).where(lead_changes.c.lead_id == lead_id)
        return int((await connection.execute(query)).scalar_one())


def versions_per_lead(outcomes: list[Lead | Exception]) -> dict[UUID, list[int]]:
    """The versions each lead's results carry, in input order."""
    seen: dict[UUID, list[int]] = {}
    for outcome in outcomes:
        assert isinstance(outcome, Lead), outcome
        seen.setdefault(outcome.id, []).append(outcome.version)
    return seen


class TestConcurrentBatches:
    async def test_two_batches_on_the_same_leads_lose_nothing(
        self, use_cases: LeadUseCases, engine: AsyncEngine
    ) -> None:
        leads = await create_leads(use_cases, LEADS)
        opens, clicks = interleaved(leads, "email_open"), interleaved(leads, "email_click")
        singles = [RecordActivity(str(lead.id), "web_visit") for lead in leads]

        first, second, *_ = await asyncio.gather(
            use_cases.record_activities(opens, ACTOR),
            use_cases.record_activities(clicks, ACTOR),
            *(use_cases.record_activity(command, ACTOR) for command in singles),
        )

        for results in (first, second):
            for versions in versions_per_lead(results).values():
                assert versions == sorted(versions)
                assert len(set(versions)) == PER_LEAD
        changes = 2 * PER_LEAD + 1
        for lead in leads:
            stored = await reload(engine, lead.id)
            assert (stored.score, stored.version) == (PER_LEAD * 1 + PER_LEAD * 3 + 1, 1 + changes)
            assert await activity_count(engine, lead.id) == changes
            assert await logged_versions(engine, lead.id) == list(range(1, 2 + changes))

    async def test_a_batch_retried_while_it_runs_records_each_activity_once(
        self, use_cases: LeadUseCases, engine: AsyncEngine
    ) -> None:
        leads = await create_leads(use_cases, LEADS)
        batch = interleaved(leads, "email_click", key_prefix=uuid.uuid4().hex)

        outcomes = await asyncio.gather(*(use_cases.record_activities(batch, ACTOR) for _ in range(3)))

        for lead in leads:
            stored = await reload(engine, lead.id)
            assert (stored.score, stored.version) == (PER_LEAD * 3, 1 + PER_LEAD)
            assert await activity_count(engine, lead.id) == PER_LEAD
            assert await change_count(engine, lead.id) == 1 + PER_LEAD
        for results in outcomes:
            assert all(isinstance(r, Lead) for r in results), results


class CountingUnitOfWork(SqlUnitOfWork):
    """Counts the units of work open at once."""

    open_now = 0
    most_open = 0

    async def __aenter__(self) -> CountingUnitOfWork:
        CountingUnitOfWork.open_now += 1
        CountingUnitOfWork.most_open = max(CountingUnitOfWork.most_open, CountingUnitOfWork.open_now)
        await asyncio.sleep(0.01)  # give other leads' groups the chance to overlap
        return await super().__aenter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        CountingUnitOfWork.open_now -= 1
        await super().__aexit__(exc_type, exc, tb)


class TestParallelism:
    async def test_leads_run_in_parallel_but_no_more_than_allowed(self, engine: AsyncEngine) -> None:
        factory: Callable[[], SqlUnitOfWork] = lambda: CountingUnitOfWork(engine)  # noqa: E731
        use_cases = LeadUseCases(factory, utc_now, parallel_leads=3)
        leads = await create_leads(use_cases, LEADS)
        CountingUnitOfWork.most_open = 0

        await asyncio.gather(*(use_cases.record_activities(interleaved(leads, "email_open"), ACTOR) for _ in range(2)))

        assert CountingUnitOfWork.most_open == 3
        assert {(await reload(engine, lead.id)).score for lead in leads} == {2 * PER_LEAD}
