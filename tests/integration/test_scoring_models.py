"""Stored, versioned scoring models on real Postgres: seeded default, drafts, one active at a time.

Activating a model changes scoring for the whole database, so every test here that activates one
puts version 1 back in force before it ends (the run's tests share one database, one at a time).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from leadcycle.domain.commands import CreateLead, RecordActivity
from leadcycle.domain.errors import InvalidInput, ModelRejected
from leadcycle.domain.model import Company, Contact, Lead
from leadcycle.domain.model_use_cases import ScoringModelUseCases
from leadcycle.domain.scoring import DEFAULT_SCORING_MODEL
from leadcycle.domain.scoring_models import ModelStatus
from leadcycle.domain.use_cases import LeadUseCases
from leadcycle.persistence.tables import scoring_models
from leadcycle.persistence.unit_of_work import unit_of_work_factory
from tests.model_documents import opens_worth

ACTOR = "scoring-test"


def utc_now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def lead_cases(engine: AsyncEngine) -> LeadUseCases:
    return LeadUseCases(unit_of_work_factory(engine), utc_now)


async def create_lead(cases: LeadUseCases) -> Lead:
    suffix = uuid.uuid4().hex[:10]
    return await cases.create(CreateLead(Company(f"Scored {suffix}"), Contact(f"Contact {suffix}"), "web_ad"), ACTOR)


class TestSeededModel:
    async def test_version_1_is_the_default_model_and_active(self, models: ScoringModelUseCases) -> None:
        stored = await models.active()

        assert (stored.version, stored.status) == (1, ModelStatus.ACTIVE)
        assert stored.model == DEFAULT_SCORING_MODEL

    async def test_leads_record_the_version_that_scored_them(self, lead_cases: LeadUseCases) -> None:
        lead = await create_lead(lead_cases)

        assert lead.scoring_model_version == 1


class TestDrafts:
    async def test_a_draft_gets_the_next_version_and_changes_no_score(
        self, models: ScoringModelUseCases, lead_cases: LeadUseCases
    ) -> None:
        newest = (await models.newest(1))[0].version

        draft = await models.create_draft(opens_worth(7), "opens matter more", "marketing")
        lead = await create_lead(lead_cases)
        lead = await lead_cases.record_activity(RecordActivity(str(lead.id), "email_open"), ACTOR)

        assert (draft.version, draft.status, draft.note, draft.created_by) == (
            newest + 1,
            ModelStatus.DRAFT,
            "opens matter more",
            "marketing",
        )
        assert (lead.score, lead.scoring_model_version) == (1, 1)

    async def test_an_invalid_document_stores_nothing(self, models: ScoringModelUseCases, engine: AsyncEngine) -> None:
        before = await count_models(engine)
        document = opens_worth(1) | {"hotThreshold": 10}

        with pytest.raises(ModelRejected) as refused:
            await models.create_draft(document, None, "marketing")

        assert refused.value.field == "hotThreshold"
        assert await count_models(engine) == before


class TestActivation:
    async def test_the_active_model_scores_every_later_change(
        self, models: ScoringModelUseCases, lead_cases: LeadUseCases
    ) -> None:
        draft = await models.create_draft(opens_worth(7), None, "marketing")

        activated = await models.activate(draft.version, "marketing-lead")
        lead = await create_lead(lead_cases)
        lead = await lead_cases.record_activity(RecordActivity(str(lead.id), "email_open"), ACTOR)

        assert (activated.status, activated.activated_by) == (ModelStatus.ACTIVE, "marketing-lead")
        assert (lead.score, lead.scoring_model_version) == (7, draft.version)
        assert (await models.newest(200))[-1].status is ModelStatus.RETIRED  # version 1

    async def test_refuses_an_unknown_or_already_active_version(self, models: ScoringModelUseCases) -> None:
        with pytest.raises(InvalidInput) as unknown:
            await models.activate(999_999, ACTOR)
        with pytest.raises(InvalidInput) as active:
            await models.activate(1, ACTOR)

        assert (unknown.value.field, active.value.field) == ("version", "version")
        assert "already active" in active.value.message

    async def test_concurrent_activations_leave_exactly_one_model_active(
        self, models: ScoringModelUseCases, engine: AsyncEngine
    ) -> None:
        drafts = [await models.create_draft(opens_worth(points), None, "marketing") for points in (2, 3, 4, 5)]

        await asyncio.gather(*(models.activate(d.version, ACTOR) for d in drafts))

        async with engine.connect() as connection:
            query = select(scoring_models.c.version).where(scoring_models.c.status == "ACTIVE")
            active = (await connection.execute(query)).scalars().all()
        assert len(active) == 1
        assert active[0] in {d.version for d in drafts}


async def count_models(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return (await connection.execute(select(func.count()).select_from(scoring_models))).scalar_one()
