"""record_activities on the fakes: transactions per lead, changes per activity, failures kept apart."""

from __future__ import annotations

import itertools
from uuid import UUID

import pytest

from leadcycle.domain.commands import RecordActivity
from leadcycle.domain.errors import InvalidInput, LeadNotFound, TooManyInputs
from leadcycle.domain.model import Lead
from leadcycle.domain.use_cases import MAX_ACTIVITIES_PER_CALL, LeadUseCases
from tests.unit.use_case_harness import FakeDatabase, FakeUnitOfWork, FixedClock, create_lead, harness, new_lead


def activity(lead: Lead, kind: str, key: str | None = None) -> RecordActivity:
    return RecordActivity(str(lead.id), kind, idempotency_key=key)


def logged_versions(db: FakeDatabase, lead_id: UUID) -> list[int]:
    return [lead.version for changed, _change, lead in db.state.changes if changed == lead_id]


class TestRecordActivities:
    async def test_one_commit_per_lead_and_one_logged_change_per_activity(self) -> None:
        h = harness()
        a, b = await create_lead(h), await create_lead(h)
        commits = h.db.commits

        outcomes = await h.cases.record_activities(
            [activity(a, "email_open"), activity(b, "inquiry"), activity(a, "email_click")], "tracker"
        )

        assert [(o.id, o.version, o.score) for o in outcomes if isinstance(o, Lead)] == [
            (a.id, 2, 1),
            (b.id, 2, 15),
            (a.id, 3, 4),
        ]
        assert h.db.commits == commits + 2
        assert logged_versions(h.db, a.id) == [1, 2, 3]
        assert [e.summary for e in h.db.timeline(a.id, "activity")] == ["email_open (+1)", "email_click (+3)"]

    async def test_a_call_that_changes_nothing_commits_nothing(self) -> None:
        h = harness()
        lead = await create_lead(h)
        await h.cases.record_activities([activity(lead, "email_open", key="k-1")], "tracker")
        commits = h.db.commits

        outcomes = await h.cases.record_activities(
            [activity(lead, "email_open", key="k-1"), activity(lead, "Bad"), activity(lead, "web_visit", key="k-1")],
            "tracker",
        )

        replayed, invalid, reused = outcomes
        assert isinstance(replayed, Lead)
        assert replayed.version == 2
        assert isinstance(invalid, InvalidInput)
        assert invalid.field == "kind"
        assert isinstance(reused, InvalidInput)
        assert reused.field == "idempotencyKey"
        assert h.db.commits == commits

    async def test_an_unknown_lead_is_not_found_for_each_of_its_inputs(self) -> None:
        h = harness()
        lead = await create_lead(h)
        missing = RecordActivity(str(UUID(int=999)), "email_open")

        outcomes = await h.cases.record_activities([missing, activity(lead, "email_open"), missing], "tracker")

        assert [type(o) for o in outcomes] == [LeadNotFound, Lead, LeadNotFound]

    async def test_more_than_the_limit_is_refused_before_anything_is_done(self) -> None:
        h = harness()
        lead = await create_lead(h)
        commits = h.db.commits

        with pytest.raises(TooManyInputs):
            await h.cases.record_activities([activity(lead, "email_open")] * (MAX_ACTIVITIES_PER_CALL + 1), "t")

        assert h.db.commits == commits


class BrokenLock(FakeUnitOfWork):
    """A unit of work whose database fails when one of the `broken` leads is locked."""

    def __init__(self, database: FakeDatabase, broken: set[UUID]) -> None:
        super().__init__(database)
        self._broken = broken

    async def __aenter__(self) -> BrokenLock:
        await super().__aenter__()
        lock = self.leads.lock

        async def failing_lock(lead_id: UUID, *, cycle_activities: bool = True) -> Lead | None:
            if lead_id in self._broken:
                raise ConnectionError("the database went away")
            return await lock(lead_id, cycle_activities=cycle_activities)

        self.leads.lock = failing_lock  # type: ignore[method-assign]
        return self


class TestUnexpectedFailure:
    async def test_fails_the_call_after_the_other_leads_are_recorded(self) -> None:
        db, ids, broken = FakeDatabase(), (UUID(int=n) for n in itertools.count(1)), set[UUID]()
        cases = LeadUseCases(lambda: BrokenLock(db, broken), FixedClock(), new_id=lambda: next(ids))
        a, b = await create_lead_with(cases), await create_lead_with(cases)
        broken.add(b.id)

        with pytest.raises(ConnectionError):
            await cases.record_activities([activity(b, "email_open"), activity(a, "inquiry")], "tracker")

        assert (db.lead(a.id).version, db.lead(a.id).score) == (2, 15)
        assert db.lead(b.id).version == 1


async def create_lead_with(cases: LeadUseCases) -> Lead:
    return await cases.create(new_lead(), "marketing")
