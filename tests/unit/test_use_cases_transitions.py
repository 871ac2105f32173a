"""Explicit sales actions: transitionLead and recordSalesFeedback, and the nurture cycle they restart."""

from datetime import timedelta

import pytest

from leadcycle.domain.commands import RecordSalesFeedback, TransitionLead
from leadcycle.domain.errors import InvalidInput, TransitionRefused
from leadcycle.domain.model import Bant, BantCriterion, Lead
from leadcycle.domain.stages import BantStatus, ChangeKind, LeadEvent, LossReason, SalesVerdict, Stage, Temperature
from tests.unit.use_case_harness import Harness, create_lead, harness, record, seed_lead

CONFIRMED = BantCriterion(BantStatus.CONFIRMED)
QUALIFIED = Bant(budget=CONFIRMED, authority=CONFIRMED, need=CONFIRMED, timeframe=CONFIRMED)


def assert_nothing_stored(h: Harness, before: Lead, commits: int) -> None:
    assert h.db.lead(before.id) == before
    assert h.db.timeline(before.id) == []
    assert h.db.changes(before.id) == []
    assert h.db.commits == commits


async def feedback(h: Harness, lead: Lead, verdict: SalesVerdict, reason: str | None = None) -> Lead:
    return await h.cases.record_sales_feedback(RecordSalesFeedback(str(lead.id), verdict, reason), "sales")


class TestTransitionLead:
    async def test_qualifies_an_mql_lead_with_confirmed_bant(self) -> None:
        h = harness()
        lead = seed_lead(h, stage=Stage.MQL, bant=QUALIFIED)

        sql = await h.cases.transition(TransitionLead(str(lead.id), LeadEvent.QUALIFY, expected_version=1), "kato")

        assert (sql.stage, sql.version, sql.stage_changed_at) == (Stage.SQL, 2, h.clock.now)
        [step] = h.db.timeline(lead.id)
        assert (step.kind, step.actor, step.data["event"]) == ("transition", "kato", "QUALIFY")
        [change] = h.db.changes(lead.id)
        assert (change.kind, change.from_stage, change.to_stage) == (ChangeKind.TRANSITION, Stage.MQL, Stage.SQL)

    async def test_a_refusal_lists_every_failing_guard_and_stores_nothing(self) -> None:
        h = harness()
        lead = seed_lead(h, stage=Stage.MQL, bant=Bant(need=CONFIRMED))
        commits = h.db.commits

        with pytest.raises(TransitionRefused) as refused:
            await h.cases.transition(TransitionLead(str(lead.id), LeadEvent.QUALIFY), "kato")

        assert [f.guard for f in refused.value.failures] == ["bant.budget", "bant.authority", "bant.timeframe"]
        assert_nothing_stored(h, lead, commits)

    async def test_a_transition_within_the_cycle_keeps_the_points_its_activities_earned(self) -> None:
        h = harness()
        lead = seed_lead(h, stage=Stage.MQL, bant=QUALIFIED)
        scored = await record(h, lead.id, "webinar_attended")
        assert scored.score > 0

        sql = await h.cases.transition(TransitionLead(str(lead.id), LeadEvent.QUALIFY), "kato")

        assert (sql.stage, sql.score, sql.breakdown) == (Stage.SQL, scored.score, scored.breakdown)

    async def test_walks_a_qualified_lead_to_won(self) -> None:
        h = harness()
        lead = seed_lead(h, stage=Stage.SQL)

        await h.cases.transition(TransitionLead(str(lead.id), LeadEvent.OPEN_OPPORTUNITY), "kato")
        won = await h.cases.transition(TransitionLead(str(lead.id), LeadEvent.WIN), "kato")

        assert (won.stage, won.version, won.reached_opportunity_at) == (Stage.WON, 3, h.clock.now)


class TestLose:
    async def test_needs_a_loss_reason(self) -> None:
        h = harness()
        lead = seed_lead(h, stage=Stage.OPPORTUNITY)
        commits = h.db.commits

        with pytest.raises(TransitionRefused) as refused:
            await h.cases.transition(TransitionLead(str(lead.id), LeadEvent.LOSE, reason="went quiet"), "kato")

        assert [f.guard for f in refused.value.failures] == ["loss_reason.required"]
        assert_nothing_stored(h, lead, commits)

    async def test_records_the_loss_reason(self) -> None:
        h = harness()
        lead = seed_lead(h, stage=Stage.OPPORTUNITY)

        lost = await h.cases.transition(
            TransitionLead(str(lead.id), LeadEvent.LOSE, loss_reason=LossReason.COMPETITOR), "kato"
        )

        assert (lost.stage, lost.loss_reason) == (Stage.LOST, LossReason.COMPETITOR)
        assert h.db.timeline(lead.id)[0].data["lossReason"] == "COMPETITOR"


class TestRecycle:
    @pytest.mark.parametrize("reason", [None, "", "   "])
    async def test_needs_a_reason(self, reason: str | None) -> None:
        h = harness()
        lead = seed_lead(h, stage=Stage.SQL)
        commits = h.db.commits

        with pytest.raises(TransitionRefused) as refused:
            await h.cases.transition(TransitionLead(str(lead.id), LeadEvent.RECYCLE, reason=reason), "kato")

        assert [f.guard for f in refused.value.failures] == ["reason.required"]
        assert_nothing_stored(h, lead, commits)

    async def test_old_behaviour_stops_counting_and_the_lead_heats_up_again(self) -> None:
        h = harness()
        lead = await create_lead(h)
        for _ in range(5):
            await record(h, lead.id, "webinar_attended")
        h.clock.advance(days=3)

        recycled = await h.cases.transition(TransitionLead(str(lead.id), LeadEvent.RECYCLE, reason="no budget"), "kato")
        h.clock.advance(days=30)
        once = await record(h, lead.id, "webinar_attended")
        twice = await record(h, lead.id, "webinar_attended")
        hot = await record(h, lead.id, "consultation_request")

        assert (recycled.stage, recycled.score, recycled.temperature, recycled.cycle) == (
            Stage.RECYCLED,
            0,
            Temperature.COLD,
            2,
        )
        assert (once.stage, once.score) == (Stage.RECYCLED, 10)
        assert [c.reason for c in once.breakdown] == ["1 x webinar_attended at +10"]
        assert (twice.stage, twice.score) == (Stage.WARM, 20)
        assert (hot.stage, hot.temperature) == (Stage.MQL, Temperature.HOT)

    async def test_an_activity_of_the_old_cycle_recorded_late_scores_nothing(self) -> None:
        h = harness()
        lead = seed_lead(h, stage=Stage.MQL)
        before_recycling = h.clock.now - timedelta(hours=1)
        await h.cases.transition(TransitionLead(str(lead.id), LeadEvent.RECYCLE, reason="not yet"), "kato")

        late = await record(h, lead.id, "demo_request", occurred_at=before_recycling)

        assert (late.stage, late.score, late.temperature) == (Stage.RECYCLED, 0, Temperature.COLD)
        [activity] = h.db.state.activities[lead.id]
        assert (activity.kind, activity.points, activity.cycle) == ("demo_request", 0, 2)

    async def test_recycling_a_lost_lead_clears_its_loss_reason(self) -> None:
        h = harness()
        lead = seed_lead(h, stage=Stage.OPPORTUNITY)
        await h.cases.transition(TransitionLead(str(lead.id), LeadEvent.LOSE, loss_reason=LossReason.TIMING), "k")

        recycled = await h.cases.transition(TransitionLead(str(lead.id), LeadEvent.RECYCLE, reason="next FY"), "k")

        assert (recycled.stage, recycled.loss_reason, recycled.cycle_started_at) == (
            Stage.RECYCLED,
            None,
            h.clock.now,
        )


class TestSalesFeedback:
    @pytest.mark.parametrize("stage", [s for s in Stage if s is not Stage.MQL])
    async def test_applies_to_mql_leads_only(self, stage: Stage) -> None:
        h = harness()
        lead = seed_lead(h, stage=stage)
        commits = h.db.commits

        with pytest.raises(InvalidInput) as invalid:
            await feedback(h, lead, SalesVerdict.ACCEPTED)

        assert invalid.value.field == "verdict"
        assert_nothing_stored(h, lead, commits)

    async def test_the_first_acceptance_is_recorded_and_bumps_the_version(self) -> None:
        h = harness()
        lead = seed_lead(h, stage=Stage.MQL)

        accepted = await feedback(h, lead, SalesVerdict.ACCEPTED)

        assert (accepted.feedback, accepted.stage, accepted.version) == (SalesVerdict.ACCEPTED, Stage.MQL, 2)
        [entry] = h.db.timeline(lead.id)
        assert (entry.kind, entry.actor, entry.data) == ("feedback", "sales", {"verdict": "ACCEPTED", "reason": None})
        [change] = h.db.changes(lead.id)
        assert (change.kind, change.from_stage, change.to_stage) == (ChangeKind.FEEDBACK, None, None)

    async def test_a_repeated_acceptance_succeeds_and_changes_nothing(self) -> None:
        h = harness()
        lead = seed_lead(h, stage=Stage.MQL)
        first = await feedback(h, lead, SalesVerdict.ACCEPTED)
        commits = h.db.commits

        again = await feedback(h, lead, SalesVerdict.ACCEPTED)

        assert (again.feedback, again.version) == (SalesVerdict.ACCEPTED, first.version)
        assert h.db.commits == commits
        assert len(h.db.timeline(lead.id)) == 1

    @pytest.mark.parametrize("reason", [None, "  "])
    async def test_a_rejection_needs_a_reason(self, reason: str | None) -> None:
        h = harness()
        lead = seed_lead(h, stage=Stage.MQL)

        with pytest.raises(InvalidInput) as invalid:
            await feedback(h, lead, SalesVerdict.REJECTED, reason)

        assert invalid.value.field == "reason"

    async def test_a_rejection_recycles_the_lead_in_one_version(self) -> None:
        h = harness()
        lead = seed_lead(h, stage=Stage.MQL)
        await feedback(h, lead, SalesVerdict.ACCEPTED)

        rejected = await feedback(h, lead, SalesVerdict.REJECTED, "student, not a buyer")

        assert (rejected.stage, rejected.cycle, rejected.version) == (Stage.RECYCLED, 2, 3)
        feedback_entry, step = h.db.timeline(lead.id)[-2:]
        assert feedback_entry.data == {"verdict": "REJECTED", "reason": "student, not a buyer"}
        assert (step.kind, step.actor, step.data["reason"]) == ("transition", "sales", "student, not a buyer")
        change = h.db.changes(lead.id)[-1]
        assert (change.kind, change.from_stage, change.to_stage) == (ChangeKind.FEEDBACK, Stage.MQL, Stage.RECYCLED)

    async def test_a_new_cycle_takes_a_new_first_acceptance(self) -> None:
        h = harness()
        lead = seed_lead(h, stage=Stage.MQL)
        await feedback(h, lead, SalesVerdict.ACCEPTED)
        await feedback(h, lead, SalesVerdict.REJECTED, "wrong department")
        await record(h, lead.id, "trial_signup")

        accepted = await feedback(h, lead, SalesVerdict.ACCEPTED)

        assert (accepted.stage, accepted.feedback, accepted.version) == (Stage.MQL, SalesVerdict.ACCEPTED, 5)

    async def test_recycling_an_accepted_lead_lets_the_next_cycle_be_accepted_afresh(self) -> None:
        h = harness()
        lead = seed_lead(h, stage=Stage.MQL)
        await feedback(h, lead, SalesVerdict.ACCEPTED)
        await h.cases.transition(TransitionLead(str(lead.id), LeadEvent.RECYCLE, reason="budget freeze"), "kato")
        back_in_mql = await record(h, lead.id, "quote_request")

        accepted = await feedback(h, lead, SalesVerdict.ACCEPTED)

        assert back_in_mql.feedback is None
        assert accepted.version == back_in_mql.version + 1
        assert len(h.db.timeline(lead.id, "feedback")) == 2
