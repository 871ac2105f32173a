"""Rescoring every lead after an activation, on real Postgres: batches, a crash in the middle, a restart.

The run covers every lead of the test database, so the test puts version 1 back in force and
lets that rescoring finish too before it ends.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from leadcycle.domain.commands import CreateLead, RecordActivity
from leadcycle.domain.errors import InvalidInput
from leadcycle.domain.model import Company, Contact, HistoryEntry, Lead
from leadcycle.domain.model_use_cases import ScoringModelUseCases
from leadcycle.domain.rescoring import Rescoring
from leadcycle.domain.scoring_models import RunState
from leadcycle.domain.stages import Stage, Temperature
from leadcycle.domain.use_cases import LeadUseCases
from leadcycle.persistence.mapping import lead_from_row
from leadcycle.persistence.tables import lead_changes, lead_history, leads
from leadcycle.persistence.unit_of_work import SqlUnitOfWork, unit_of_work_factory
from tests.model_documents import opens_worth

ACTOR = "rescoring-test"


def utc_now() -> datetime:
    return datetime.now(UTC)


class CrashAfter:
    """A unit-of-work factory whose process 'dies' (raises) when it goes to lock its `limit`-th lead."""

    def __init__(self, engine: AsyncEngine, limit: int) -> None:
        self._engine = engine
        self._limit = limit
        self.locks = 0

    def __call__(self) -> SqlUnitOfWork:
        crash = self

        class Dying(SqlUnitOfWork):
            async def __aenter__(self) -> Dying:
                await super().__aenter__()
                lock = self.leads.lock

                async def counted_lock(lead_id: uuid.UUID, *, cycle_activities: bool = True) -> Lead | None:
                    crash.locks += 1
                    if crash.locks >= crash._limit:
                        raise ConnectionError("the process died")
                    return await lock(lead_id, cycle_activities=cycle_activities)

                self.leads.lock = counted_lock  # type: ignore[method-assign]
                return self

        return Dying(self._engine)


async def lead_with(cases: LeadUseCases, *kinds: str) -> Lead:
    suffix = uuid.uuid4().hex[:10]
    lead = await cases.create(CreateLead(Company(f"Rescored {suffix}"), Contact(f"C {suffix}"), "seo"), ACTOR)
    for kind in kinds:
        lead = await cases.record_activity(RecordActivity(str(lead.id), kind), ACTOR)
    return lead


async def reload(engine: AsyncEngine, lead: Lead) -> tuple[Lead, list[HistoryEntry]]:
    async with engine.connect() as connection:
        row = (await connection.execute(select(leads).where(leads.c.id == lead.id))).mappings().one()
        query = select(lead_history).where(lead_history.c.lead_id == lead.id).order_by(lead_history.c.id)
        history = [
            HistoryEntry(h["at"], h["kind"], h["actor"], h["summary"], h["data"])
            for h in (await connection.execute(query)).mappings()
        ]
    return lead_from_row(row), history


class TestRescoringAfterActivation:
    async def test_a_restart_in_the_middle_finishes_the_run_with_every_lead_rescored_once(
        self, engine: AsyncEngine, models: ScoringModelUseCases
    ) -> None:
        cases = LeadUseCases(unit_of_work_factory(engine), utc_now)
        opened = [await lead_with(cases, "email_open") for _ in range(4)]
        handed_over = await lead_with(cases, "email_open", "demo_request")
        draft = await models.create_draft(opens_worth(25), "opens count for a lot", "marketing")
        await models.activate(draft.version, "marketing-lead")

        crashing = Rescoring(CrashAfter(engine, limit=3), utc_now, batch=2)
        with pytest.raises(ConnectionError):
            await crashing.run_until_done()
        middle = (await models.rescorings_of([draft.version])).get(draft.version)
        await Rescoring(unit_of_work_factory(engine), utc_now, batch=50).run_until_done()
        done = (await models.rescorings_of([draft.version])).get(draft.version)

        assert middle is not None
        assert middle.rescored >= 2  # the served app's own worker (api tests) may share the work
        assert done is not None
        assert done.state is RunState.DONE
        assert done.rescored == done.total >= 5
        for before in opened:
            after, history = await reload(engine, before)
            assert (after.score, after.temperature, after.stage) == (25, Temperature.WARM, Stage.WARM)
            assert (after.version, after.scoring_model_version) == (before.version + 1, draft.version)
            [score] = [h for h in history if h.kind == "score" and h.data["modelVersion"] == draft.version]
            [warmed] = [h for h in history if h.kind == "transition"]
            assert (score.actor, score.data["from"], score.data["to"]) == ("system", 1, 25)
            assert warmed.data["requestedBy"] == "marketing-lead"
            assert warmed.data["score"]["value"] == 25
            assert warmed.data["score"]["modelVersion"] == draft.version
        mql, _ = await reload(engine, handed_over)
        assert (mql.stage, mql.score, mql.scoring_model_version) == (Stage.MQL, 45, draft.version)

    async def test_a_lead_the_new_model_leaves_unchanged_gets_no_new_version(
        self, engine: AsyncEngine, models: ScoringModelUseCases
    ) -> None:
        cases = LeadUseCases(unit_of_work_factory(engine), utc_now)
        lead = await lead_with(cases, "webinar_attended")
        draft = await models.create_draft(opens_worth(2), None, "marketing")
        await models.activate(draft.version, ACTOR)

        await Rescoring(unit_of_work_factory(engine), utc_now, batch=500).run_until_done()

        after, _ = await reload(engine, lead)
        assert (after.version, after.score, after.scoring_model_version) == (lead.version, 10, draft.version)


class TestProgressOfVersions:
    async def test_each_version_reads_its_own_newest_run_in_one_call(self, models: ScoringModelUseCases) -> None:
        first = await models.create_draft(opens_worth(2), None, "marketing")
        second = await models.create_draft(opens_worth(3), None, "marketing")
        for version in (first.version, second.version, first.version):
            await models.activate(version, ACTOR)

        runs = await models.rescorings_of([first.version, second.version, second.version + 1])

        assert runs.keys() == {first.version, second.version}
        assert runs[first.version].model_version == first.version
        assert runs[second.version].model_version == second.version
        assert runs[first.version].id > runs[second.version].id  # the reactivation's run, not the first one


class TestRescoringAlongsideChanges:
    async def test_activities_recorded_while_the_run_goes_are_neither_lost_nor_scored_twice(
        self, engine: AsyncEngine, models: ScoringModelUseCases
    ) -> None:
        cases = LeadUseCases(unit_of_work_factory(engine), utc_now)
        targets = [await lead_with(cases, "email_open") for _ in range(6)]
        draft = await models.create_draft(opens_worth(25), None, "marketing")
        await models.activate(draft.version, ACTOR)

        async def record_again() -> None:
            for lead in targets:
                await cases.record_activity(RecordActivity(str(lead.id), "email_open"), ACTOR)

        await asyncio.gather(Rescoring(unit_of_work_factory(engine), utc_now, batch=2).run_until_done(), record_again())

        for lead in targets:
            after, _ = await reload(engine, lead)
            assert (after.score, after.stage, after.scoring_model_version) == (50, Stage.MQL, draft.version)
            assert await logged_versions(engine, lead) == list(range(1, after.version + 1))


async def logged_versions(engine: AsyncEngine, lead: Lead) -> list[int]:
    """The versions of the lead's change-log entries, in log order."""
    async with engine.connect() as connection:
        query = select(lead_changes.c.version).where(lead_changes.c.lead_id == lead.id)
        return list((await connection.execute(query.order_by(lead_changes.c.xid, lead_changes.c.id))).scalars())


class TestDryRun:
    async def test_predicts_what_activation_then_does_and_writes_nothing(
        self, engine: AsyncEngine, models: ScoringModelUseCases
    ) -> None:
        cases = LeadUseCases(unit_of_work_factory(engine), utc_now)
        warming = await lead_with(cases, "email_open")
        draft = await models.create_draft(opens_worth(25), None, "marketing")
        before = await log_size(engine)

        predicted = await models.dry_run(draft.version, sample=100)
        written = await log_size(engine)
        await models.activate(draft.version, ACTOR)
        await Rescoring(unit_of_work_factory(engine), utc_now, batch=500).run_until_done()
        done = (await models.rescorings_of([draft.version])).get(draft.version)

        assert written == before
        assert done is not None
        assert predicted.leads == done.total
        assert predicted.score_changes == done.changed
        assert min(predicted.stage_changes, predicted.temperature_changes) >= 1  # at least `warming`
        assert predicted.sample
        assert all(o.after.score != o.before.score for o in predicted.sample)
        assert (await reload(engine, warming))[0].stage is Stage.WARM  # as predicted, once activated

    async def test_an_unknown_version_or_sample_is_refused(self, models: ScoringModelUseCases) -> None:
        with pytest.raises(InvalidInput) as unknown:
            await models.dry_run(999_999, sample=5)
        with pytest.raises(InvalidInput) as too_many:
            await models.dry_run(1, sample=101)

        assert (unknown.value.field, too_many.value.field) == ("version", "sample")


async def log_size(engine: AsyncEngine) -> tuple[int, int]:
    """How many changes were logged, and the sum of lead versions: both grow with any write to a lead."""
    async with engine.connect() as connection:
        changes = (await connection.execute(select(func.count()).select_from(lead_changes))).scalar_one()
        versions = (await connection.execute(select(func.coalesce(func.sum(leads.c.version), 0)))).scalar_one()
    return changes, versions
