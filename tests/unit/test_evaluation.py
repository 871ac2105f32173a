"""Evaluating a scoring model: conditions, caps, windows, decay, and independence of arrival order."""

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadcycle.domain.model import Activity, Bant, BantCriterion, Company, Contact, Lead
from leadcycle.domain.rules_json import parse_model
from leadcycle.domain.scoring import evaluate, rescore, round_points, score_activity
from leadcycle.domain.stages import BantStatus, Temperature

NOW = datetime(2025, 6, 2, 10, 30, tzinfo=UTC)
CREATED = NOW - timedelta(days=400)


def a_lead(*, company: Company | None = None, contact: Contact | None = None, bant: Bant | None = None) -> Lead:
    return Lead(
        UUID(int=7),
        company or Company("Example KK"),
        contact or Contact("Tanaka"),
        "seminar",
        created_at=CREATED,
        bant=bant or Bant(),
    )


def activity(kind: str, days_ago: float = 0, **properties: Any) -> Activity:
    return Activity(kind, NOW - timedelta(days=days_ago), properties, points=0, cycle=1)


def model(*rules: dict[str, Any], half_life: int | None = None, warm: int = 20, hot: int = 50) -> Any:
    document = {"warmThreshold": warm, "hotThreshold": hot, "halfLifeDays": half_life, "rules": list(rules)}
    return parse_model(document, version=2)


def activity_rule(name: str, kind: str, points: int, **extra: Any) -> dict[str, Any]:
    return {"type": "activity", "name": name, "activity": kind, "points": points, **extra}


def attribute_rule(name: str, points: int, when: dict[str, Any]) -> dict[str, Any]:
    return {"type": "attribute", "name": name, "points": points, "when": when}


def lines(result: Any) -> dict[str, tuple[int, str]]:
    return {line.rule: (line.points, line.reason) for line in result.breakdown}


PRICING = activity_rule("activity.pricing", "web_visit", 5, when={"page": {"in": ["/pricing", "/plans"]}})
BURST = activity_rule(
    "activity.pricing_burst",
    "web_visit",
    5,
    when={"page": {"eq": "/pricing"}},
    cap=15,
    window={"days": 30, "atLeast": 3},
)


class TestActivityConditions:
    def test_counts_only_activities_whose_properties_match(self) -> None:
        visits = [activity("web_visit", page="/pricing"), activity("web_visit", page="/blog"), activity("web_visit")]

        result = evaluate(model(PRICING), a_lead(), visits, NOW)

        assert lines(result) == {"activity.pricing": (5, "1 x web_visit (page in /pricing, /plans) at +5")}

    def test_every_matching_rule_applies(self) -> None:
        visits = [activity("web_visit", days_ago=d, page="/pricing") for d in (1, 2, 3)]

        result = evaluate(model(PRICING, BURST), a_lead(), visits, NOW)

        assert {rule: points for rule, (points, _) in lines(result).items()} == {
            "activity.pricing": 15,
            "activity.pricing_burst": 15,
        }


class TestCapsAndWindows:
    def test_cap_bounds_the_rules_total(self) -> None:
        opens = [activity("email_open", days_ago=d) for d in range(8)]

        result = evaluate(model(activity_rule("activity.email_open", "email_open", 1, cap=5)), a_lead(), opens, NOW)

        assert lines(result) == {"activity.email_open": (5, "8 x email_open at +1, capped at +5")}

    def test_cap_of_a_negative_rule_bounds_how_far_it_subtracts(self) -> None:
        bounces = [activity("email_bounce") for _ in range(4)]
        rule = activity_rule("activity.email_bounce", "email_bounce", -3, cap=5)

        assert evaluate(model(rule), a_lead(), bounces, NOW).score == -5

    def test_window_rule_applies_once_enough_occurrences_fall_inside_it(self) -> None:
        two = [activity("web_visit", days_ago=d, page="/pricing") for d in (1, 29)]
        three = [*two, activity("web_visit", days_ago=10, page="/pricing")]

        assert evaluate(model(BURST), a_lead(), two, NOW).score == 0
        assert lines(evaluate(model(BURST), a_lead(), three, NOW)) == {
            "activity.pricing_burst": (15, "3 x web_visit (page /pricing) in the last 30 days at +5")
        }

    def test_occurrences_older_than_the_window_do_not_count(self) -> None:
        visits = [activity("web_visit", days_ago=d, page="/pricing") for d in (1, 2, 30)]

        assert evaluate(model(BURST), a_lead(), visits, NOW).score == 0

    def test_an_immediate_hot_rule_makes_the_lead_hot_only_while_it_contributes(self) -> None:
        rule = activity_rule("activity.demo", "demo_request", 0, immediateHot=True, window={"days": 7})

        recent = evaluate(model(rule), a_lead(), [activity("demo_request", days_ago=6)], NOW)
        stale = evaluate(model(rule), a_lead(), [activity("demo_request", days_ago=8)], NOW)

        assert (recent.hot_signal, recent.breakdown, stale.hot_signal) == ("activity.demo", (), None)


class TestDecay:
    RULE = activity_rule("activity.webinar", "webinar_attended", 10)

    def test_points_halve_every_half_life(self) -> None:
        assert evaluate(model(self.RULE, half_life=10), a_lead(), [activity("webinar_attended", 10)], NOW).score == 5
        assert evaluate(model(self.RULE, half_life=10), a_lead(), [activity("webinar_attended", 30)], NOW).score == 1

    def test_halves_round_away_from_zero(self) -> None:
        penalty = activity_rule("activity.unsubscribe", "unsubscribe", -5)
        two_ago = [activity("webinar_attended", 20), activity("unsubscribe", 10)]

        result = evaluate(model(self.RULE, penalty, half_life=10), a_lead(), two_ago, NOW)

        assert {rule: points for rule, (points, _) in lines(result).items()} == {
            "activity.webinar": 3,  # 2.5
            "activity.unsubscribe": -3,  # -2.5
        }

    @pytest.mark.parametrize(
        ("value", "points"),
        [(2.5, 3), (-2.5, -3), (2.4999, 2), (-0.5, -1), (3.0, 3), (-4.0, -4), (15, 15), (0.0, 0)],
    )
    def test_points_are_the_nearest_whole_number_halves_away_from_zero(self, value: float, points: int) -> None:
        assert round_points(value) == points

    def test_reason_says_how_far_points_faded(self) -> None:
        result = evaluate(model(self.RULE, half_life=10), a_lead(), [activity("webinar_attended", 10)], NOW)

        assert lines(result)["activity.webinar"][1] == "1 x webinar_attended at +10, faded to +5 (half-life 10 days)"

    def test_a_rule_faded_to_zero_leaves_the_breakdown(self) -> None:
        result = evaluate(model(self.RULE, half_life=10), a_lead(), [activity("webinar_attended", 100)], NOW)

        assert (result.score, result.breakdown) == (0, ())


class TestAttributeRules:
    def test_title_matches_any_word_case_insensitively(self) -> None:
        rule = attribute_rule("contact.executive", 8, {"contact.title": {"anyWord": ["director", "cto"]}})

        assert evaluate(model(rule), a_lead(contact=Contact("Tanaka", title="IT Director")), [], NOW).score == 8
        assert evaluate(model(rule), a_lead(contact=Contact("Tanaka", title="Directory admin")), [], NOW).score == 0
        assert evaluate(model(rule), a_lead(), [], NOW).score == 0

    def test_industry_in_a_set_and_employee_range(self) -> None:
        rule = attribute_rule(
            "company.fit",
            7,
            {"company.industry": {"in": ["Manufacturing", "Logistics"]}, "company.employeeCount": {"gte": 100}},
        )

        fit = Company("Example KK", employee_count=300, industry="manufacturing")
        small = Company("Example KK", employee_count=99, industry="Manufacturing")

        assert evaluate(model(rule), a_lead(company=fit), [], NOW).score == 7
        assert evaluate(model(rule), a_lead(company=small), [], NOW).score == 0

    def test_budget_confirmed_and_far_target_date(self) -> None:
        budget = attribute_rule("bant.budget_confirmed", 10, {"bant.budget": {"eq": "CONFIRMED"}})
        far = attribute_rule("bant.target_far", -10, {"bant.targetDate": {"monthsAwayOver": 12}})
        bant = Bant(budget=BantCriterion(BantStatus.CONFIRMED), target_date=date(2026, 6, 3))

        result = evaluate(model(budget, far), a_lead(bant=bant), [], NOW)

        assert {rule: points for rule, (points, _) in lines(result).items()} == {
            "bant.budget_confirmed": 10,
            "bant.target_far": -10,
        }


class TestRecording:
    def test_an_activity_earns_what_it_added_to_the_score(self) -> None:
        scoring = model(activity_rule("activity.email_open", "email_open", 2, cap=5))
        lead = a_lead()

        earned = [score_activity(lead, scoring, "email_open", NOW, {}, NOW).points for _ in range(4)]
        rescore(lead, scoring, NOW)

        assert (earned, lead.score) == ([2, 2, 1, 0], 5)

    def test_rescoring_later_lets_the_lead_cool(self) -> None:
        scoring = model(activity_rule("activity.webinar", "webinar_attended", 30), half_life=30)
        lead = a_lead()
        score_activity(lead, scoring, "webinar_attended", NOW, {}, NOW)
        rescore(lead, scoring, NOW)
        warm = lead.temperature

        rescore(lead, scoring, NOW + timedelta(days=30))

        assert (warm, lead.score, lead.temperature) == (Temperature.WARM, 15, Temperature.COLD)


KINDS = ("email_open", "web_visit", "demo_request", "unsubscribe")
PROPERTY_MODEL = model(
    activity_rule("activity.email_open", "email_open", 1, cap=7),
    activity_rule("activity.pricing", "web_visit", 4, when={"page": {"in": ["/pricing"]}}, window={"days": 20}),
    activity_rule("activity.visits", "web_visit", 1, window={"days": 45, "atLeast": 3}),
    activity_rule("activity.demo", "demo_request", 20, immediateHot=True),
    activity_rule("activity.unsubscribe", "unsubscribe", -15),
    half_life=14,
)
activities = st.lists(
    st.builds(
        activity,
        st.sampled_from(KINDS),
        st.floats(min_value=0, max_value=120, allow_nan=False),
        page=st.sampled_from(["/pricing", "/blog"]),
    ),
    max_size=30,
)


class TestProperties:
    @given(activities, st.randoms(use_true_random=False))
    def test_the_score_does_not_depend_on_the_order_activities_arrive_in(
        self, recorded: list[Activity], rng: Any
    ) -> None:
        shuffled = list(recorded)
        rng.shuffle(shuffled)

        first = evaluate(PROPERTY_MODEL, a_lead(), recorded, NOW)
        second = evaluate(PROPERTY_MODEL, a_lead(), shuffled, NOW)

        assert (first.score, first.breakdown, first.hot_signal) == (
            second.score,
            second.breakdown,
            second.hot_signal,
        )

    @given(activities, st.randoms(use_true_random=False))
    def test_behaviour_lines_follow_the_models_rule_order_whatever_the_arrival_order(
        self, recorded: list[Activity], rng: Any
    ) -> None:
        shuffled = list(recorded)
        rng.shuffle(shuffled)
        order = [rule.name for rule in PROPERTY_MODEL.activity_rules]

        result = evaluate(PROPERTY_MODEL, a_lead(), shuffled, NOW)

        named = [line.rule for line in result.breakdown if line.behaviour]
        assert named == sorted(named, key=order.index)

    @given(activities)
    def test_the_breakdown_sums_to_the_score(self, recorded: list[Activity]) -> None:
        result = evaluate(PROPERTY_MODEL, a_lead(), recorded, NOW)

        assert sum(line.points for line in result.breakdown) == result.score

    @given(activities, st.integers(min_value=0, max_value=60))
    def test_recording_one_by_one_ends_where_evaluating_all_at_once_does(
        self, recorded: list[Activity], later_days: int
    ) -> None:
        lead, later = a_lead(), NOW + timedelta(days=later_days)
        for a in recorded:
            score_activity(lead, PROPERTY_MODEL, a.kind, a.occurred_at, a.properties, NOW)
        rescore(lead, PROPERTY_MODEL, later)

        assert lead.score == evaluate(PROPERTY_MODEL, a_lead(), recorded, later).score
