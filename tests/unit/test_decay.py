"""Time and the score: when a lead left alone next changes temperature, and what the refresh then does."""

import math
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from leadcycle.domain.decay import next_review
from leadcycle.domain.lifecycle import Policy
from leadcycle.domain.model import Activity, Company, Contact, Lead
from leadcycle.domain.rescoring import rescore_lead
from leadcycle.domain.rules_json import parse_model
from leadcycle.domain.scoring import DEFAULT_SCORING_MODEL, evaluate, rescore
from leadcycle.domain.stages import ChangeKind, Stage, Temperature
from tests.unit.use_case_harness import create_lead, harness, record

NOW = datetime(2025, 6, 2, 10, 30, tzinfo=UTC)
WEBINAR = {"type": "activity", "name": "activity.webinar", "activity": "webinar_attended", "points": 30}


def model(*rules: dict[str, Any], half_life: int | None = 30) -> Any:
    document = {"warmThreshold": 20, "hotThreshold": 50, "halfLifeDays": half_life, "rules": list(rules)}
    return parse_model(document, version=3)


def lead_after(kinds: list[tuple[str, float]], scoring: Any, stage: Stage = Stage.COLD) -> Lead:
    """A lead with activities `days` ago, scored at NOW."""
    lead = Lead(UUID(int=5), Company("Example KK"), Contact("Abe"), "seo", created_at=NOW - timedelta(days=90))
    lead.stage = stage
    lead.cycle_activities = tuple(Activity(k, NOW - timedelta(days=d), {}, 0, 1) for k, d in kinds)
    rescore(lead, scoring, NOW)
    return lead


class TestNextReview:
    def test_is_the_second_decay_takes_the_score_below_the_warm_threshold(self) -> None:
        scoring = model(WEBINAR)
        lead = lead_after([("webinar_attended", 0)], scoring)
        # 30 points fade below 19.5 (which rounds to 20) after 30 * log2(30 / 19.5) days
        crossing = NOW + timedelta(seconds=math.ceil(30 * 86_400 * math.log2(30 / 19.5)))

        review = next_review(scoring, lead, lead.cycle_activities, NOW)

        assert review == crossing
        assert evaluate(scoring, lead, lead.cycle_activities, review - timedelta(seconds=1)).score == 20
        assert evaluate(scoring, lead, lead.cycle_activities, review).score == 19

    def test_is_when_a_window_lets_go_of_the_occurrence_that_kept_the_lead_warm(self) -> None:
        burst = WEBINAR | {"window": {"days": 30, "atLeast": 2}}
        scoring = model(burst, half_life=None)
        lead = lead_after([("webinar_attended", 10), ("webinar_attended", 4)], scoring)

        review = next_review(scoring, lead, lead.cycle_activities, NOW)

        assert lead.temperature is Temperature.HOT
        assert review == NOW + timedelta(days=20)

    def test_never_without_decay_or_windows(self) -> None:
        lead = lead_after([("webinar_attended", 0)], DEFAULT_SCORING_MODEL)

        assert next_review(DEFAULT_SCORING_MODEL, lead, lead.cycle_activities, NOW) is None

    def test_never_for_a_lead_without_behaviour_points(self) -> None:
        scoring = model(WEBINAR)
        lead = lead_after([], scoring)

        assert next_review(scoring, lead, (), NOW) is None


BIG_COMPANY = Company("Example KK", employee_count=1200, capital=60_000_000_000)


class TestCalendarConditions:
    """The default model's "target date more than a year away: -10" stops holding at a midnight of its own."""

    @staticmethod
    def lead_with_target(target: date, kinds: list[tuple[str, float]], company: Company = BIG_COMPANY) -> Lead:
        lead = Lead(UUID(int=6), company, Contact("Abe", is_decision_maker=True), "seo", created_at=NOW)
        lead.bant = replace(lead.bant, target_date=target)
        lead.cycle_activities = tuple(Activity(k, NOW - timedelta(days=d), {}, 0, 1) for k, d in kinds)
        rescore(lead, DEFAULT_SCORING_MODEL, NOW)
        return lead

    def test_is_the_midnight_the_target_date_comes_within_a_year_when_that_heats_the_lead(self) -> None:
        # 30 attribute points - 10 + inquiry 15 + webinar 10 = 45 (WARM); without the -10: 55 (HOT)
        lead = self.lead_with_target(date(2026, 6, 20), [("inquiry", 3), ("webinar_attended", 2)])

        review = next_review(DEFAULT_SCORING_MODEL, lead, lead.cycle_activities, NOW)

        assert (lead.score, lead.temperature) == (45, Temperature.WARM)
        assert review == datetime(2025, 6, 20, tzinfo=UTC)  # a year before the target: no longer "more than"
        before = evaluate(DEFAULT_SCORING_MODEL, lead, lead.cycle_activities, review - timedelta(seconds=1))
        assert (before.score, evaluate(DEFAULT_SCORING_MODEL, lead, lead.cycle_activities, review).score) == (45, 55)

    def test_never_when_the_flip_leaves_the_temperature_as_it_is(self) -> None:
        lead = self.lead_with_target(date(2026, 6, 20), [("webinar_attended", 2)])  # 30 -> 40: WARM either way

        assert next_review(DEFAULT_SCORING_MODEL, lead, lead.cycle_activities, NOW) is None

    def test_fading_is_walked_on_from_a_flip_that_changed_nothing(self) -> None:
        decaying = replace(DEFAULT_SCORING_MODEL, half_life_days=30)
        # decision maker 10 - 10 + three webinars' 30 fading: WARM. The -10 goes on 12 June (34, still WARM), so
        # the lead cools only when the webinars fall below 9.5 points, not below 19.5 as with the -10.
        lead = self.lead_with_target(date(2026, 6, 12), [("webinar_attended", 0)] * 3, Company("Example KK"))

        review = next_review(decaying, lead, lead.cycle_activities, NOW)

        assert review == NOW + timedelta(seconds=math.ceil(30 * 86_400 * math.log2(30 / 9.5)))
        assert evaluate(decaying, lead, lead.cycle_activities, review - timedelta(seconds=1)).score == 20
        assert evaluate(decaying, lead, lead.cycle_activities, review).score == 19

    def test_the_evaluation_a_rescore_hands_over_leads_to_the_same_review(self) -> None:
        decaying = replace(DEFAULT_SCORING_MODEL, half_life_days=30)
        lead = self.lead_with_target(date(2026, 6, 12), [("webinar_attended", 0)] * 3, Company("Example KK"))
        at_now = rescore(lead, decaying, NOW)

        handed_over = next_review(decaying, lead, lead.cycle_activities, NOW, at_now)

        assert handed_over == next_review(decaying, lead, lead.cycle_activities, NOW)
        assert handed_over == NOW + timedelta(seconds=math.ceil(30 * 86_400 * math.log2(30 / 9.5)))


class TestRefreshAtTheReview:
    def test_a_warm_lead_cools_with_a_system_cool_event(self) -> None:
        scoring = model(WEBINAR)
        lead = lead_after([("webinar_attended", 0)], scoring, Stage.WARM)
        later = NOW + timedelta(days=19)

        change = rescore_lead(lead, Policy(scoring=scoring), "system", later)

        assert change is not None
        assert (change.kind, change.from_stage, change.to_stage) == (ChangeKind.SCORE, Stage.WARM, Stage.COLD)
        assert (lead.stage, lead.temperature, lead.score) == (Stage.COLD, Temperature.COLD, 19)
        [cooled] = [h for h in lead.new_history if h.kind == "transition"]
        assert (cooled.actor, cooled.data["event"], cooled.data["modelVersion"]) == ("system", "COOL", 3)
        assert cooled.data["score"]["value"] == 19

    def test_an_mql_is_never_demoted_but_shows_it_is_going_cold(self) -> None:
        scoring = model(WEBINAR | {"points": 60})
        lead = lead_after([("webinar_attended", 0)], scoring, Stage.MQL)
        later = NOW + timedelta(days=10)

        rescore_lead(lead, Policy(scoring=scoring), "system", later)

        assert (lead.stage, lead.temperature, lead.going_cold) == (Stage.MQL, Temperature.WARM, True)

    def test_a_lead_rescored_at_its_review_gets_the_next_one(self) -> None:
        scoring = model(WEBINAR | {"points": 60})
        lead = lead_after([("webinar_attended", 0)], scoring, Stage.MQL)
        first = next_review(scoring, lead, lead.cycle_activities, NOW)
        assert first is not None

        rescore_lead(lead, Policy(scoring=scoring), "system", first)

        assert lead.review_at is not None
        assert lead.review_at > first
        assert lead.temperature is Temperature.WARM


class TestChangesScheduleTheReview:
    async def test_recording_an_activity_stores_when_decay_will_cool_the_lead(self) -> None:
        scoring = model(WEBINAR)
        h = harness(Policy(scoring=scoring))
        lead = await create_lead(h)

        lead = await record(h, lead.id, "webinar_attended")

        assert (lead.stage, lead.score) == (Stage.WARM, 30)
        assert lead.review_at == next_review(scoring, lead, lead.cycle_activities, h.clock.now)
        assert h.db.lead(lead.id).review_at is not None

    async def test_under_a_model_without_decay_no_review_is_ever_due(self) -> None:
        h = harness()
        lead = await create_lead(h)

        lead = await record(h, lead.id, "webinar_attended")

        assert (lead.score, lead.review_at) == (10, None)
