"""The review is exact: the first second at which time alone changes the temperature, whatever the rules' signs."""

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from uuid import UUID

from hypothesis import given, settings
from hypothesis import strategies as st

from leadcycle.domain.decay import next_review
from leadcycle.domain.model import Activity, Company, Contact, Lead
from leadcycle.domain.rules import ActivityRule, AttributeRule, Condition, Op, ScoringModel, Window
from leadcycle.domain.scoring import evaluate, temperature
from leadcycle.domain.stages import Temperature

NOW = datetime(2025, 6, 2, 10, 30, tzinfo=UTC)
SECOND = timedelta(seconds=1)
DECISION_MAKER = (Condition("contact.isDecisionMaker", Op.EQ, True),)


def a_lead() -> Lead:
    contact = Contact("Abe", is_decision_maker=True)
    return Lead(UUID(int=7), Company("Example KK"), contact, "seo", created_at=NOW - timedelta(days=400))


def warm_at_20_hot_at_50(*rules: ActivityRule | AttributeRule, half_life_days: int = 30) -> ScoringModel:
    return ScoringModel(3, warm_threshold=20, hot_threshold=50, rules=rules, half_life_days=half_life_days)


def temperature_at(scoring: ScoringModel, lead: Lead, activities: Sequence[Activity], at: datetime) -> Temperature:
    evaluation = evaluate(scoring, lead, activities, at)
    return temperature(evaluation.score, evaluation.hot_signal is not None, scoring)


def bisected_review(scoring: ScoringModel, lead: Lead, activities: Sequence[Activity]) -> datetime | None:
    """The previous algorithm, kept as a yardstick: temperature checked at window exits and a horizon, then bisected."""
    current = temperature_at(scoring, lead, activities, NOW)
    exits = {
        a.occurred_at + timedelta(days=rule.window.days)
        for rule in scoring.activity_rules
        if rule.window is not None
        for a in activities
        if rule.matches(a.kind, a.properties, NOW)
    }
    checkpoints = sorted(t for t in exits if t > NOW)
    if scoring.half_life_days is not None:
        checkpoints.append(max([NOW, *checkpoints]) + timedelta(days=scoring.half_life_days * 12))
    low = NOW
    for end in checkpoints:
        if temperature_at(scoring, lead, activities, end) != current:
            high = end
            while scoring.half_life_days is not None and high - low > timedelta(minutes=1):
                middle = low + (high - low) / 2
                changed = temperature_at(scoring, lead, activities, middle) != current
                low, high = (low, middle) if changed else (middle, high)
            return high
        low = end
    return None


class TestRulesOfBothSigns:
    def test_finds_the_first_second_of_a_dip_the_bisection_missed(self) -> None:
        # +30 fading down; a -100 penalty capped at -25 (fading up only once it is below the cap); +30 attribute.
        # The score falls 35 -> 12 while the penalty is capped, then climbs back to 30: COLD in between.
        scoring = warm_at_20_hot_at_50(
            ActivityRule("activity.webinar", "webinar_attended", 30),
            ActivityRule("activity.unsubscribe", "unsubscribe", -100, cap=25),
            AttributeRule("contact.decision_maker", 30, DECISION_MAKER),
        )
        lead = a_lead()
        activities = (Activity("webinar_attended", NOW, {}, 0, 1), Activity("unsubscribe", NOW, {}, 0, 1))
        # the score drops below 20 when the webinar's line rounds to 14: below 14.5 of its 30 points
        dip = NOW + timedelta(seconds=math.ceil(30 * 86_400 * math.log2(30 / 14.5)))

        review = next_review(scoring, lead, activities, NOW)

        assert temperature_at(scoring, lead, activities, NOW) is Temperature.WARM
        assert review == dip
        assert temperature_at(scoring, lead, activities, dip - SECOND) is Temperature.WARM
        assert temperature_at(scoring, lead, activities, dip) is Temperature.COLD
        assert temperature_at(scoring, lead, activities, NOW + timedelta(days=400)) is Temperature.WARM
        assert bisected_review(scoring, lead, activities) is None


class TestImmediateHot:
    def test_ends_when_its_window_lets_go_and_the_faded_score_is_below_hot(self) -> None:
        scoring = warm_at_20_hot_at_50(
            ActivityRule("activity.demo", "demo_request", 20, window=Window(10), immediate_hot=True),
            ActivityRule("activity.webinar", "webinar_attended", 60),
        )
        activities = (Activity("demo_request", NOW, {}, 0, 1), Activity("webinar_attended", NOW, {}, 0, 1))

        review = next_review(scoring, a_lead(), activities, NOW)

        # the demo's 20 points have faded too, and the webinar's 60 are 48 after 10 of its 30 days' half-life
        assert review == NOW + timedelta(days=10)
        assert evaluate(scoring, a_lead(), activities, review).score == 48
        assert temperature_at(scoring, a_lead(), activities, review) is Temperature.WARM


class TestNeverWhenNothingCanChange:
    def test_a_penalty_fading_to_nothing_that_never_crosses_a_threshold(self) -> None:
        scoring = warm_at_20_hot_at_50(
            ActivityRule("activity.unsubscribe", "unsubscribe", -5),
            AttributeRule("contact.decision_maker", 30, DECISION_MAKER),
            half_life_days=1,
        )
        activities = (Activity("unsubscribe", NOW, {}, 0, 1),)

        assert next_review(scoring, a_lead(), activities, NOW) is None

    def test_an_immediate_hot_rule_without_window_keeps_the_lead_hot_for_good(self) -> None:
        scoring = warm_at_20_hot_at_50(ActivityRule("activity.demo", "demo_request", 90, immediate_hot=True))
        activities = (Activity("demo_request", NOW, {}, 0, 1),)

        assert next_review(scoring, a_lead(), activities, NOW) is None


KINDS = ("visit", "download")


@st.composite
def activity_rules(draw: st.DrawFn) -> ActivityRule:
    windowed = draw(st.booleans())
    return ActivityRule(
        f"rule.{draw(st.integers(0, 10**6))}",
        draw(st.sampled_from(KINDS)),
        draw(st.integers(-40, 40)),
        cap=draw(st.one_of(st.none(), st.integers(1, 60))),
        window=Window(draw(st.integers(1, 60)), draw(st.integers(1, 3))) if windowed else None,
        immediate_hot=draw(st.integers(0, 5)) == 0,
    )


@st.composite
def scoring_models(draw: st.DrawFn) -> ScoringModel:
    warm = draw(st.integers(-20, 40))
    attribute = AttributeRule("contact.decision_maker", draw(st.integers(-20, 40)), DECISION_MAKER)
    return ScoringModel(
        3,
        warm_threshold=warm,
        hot_threshold=warm + draw(st.integers(1, 40)),
        half_life_days=draw(st.one_of(st.none(), st.integers(1, 60))),
        rules=(*draw(st.lists(activity_rules(), min_size=1, max_size=4)), attribute),
    )


activity_sets = st.lists(
    st.builds(
        lambda kind, seconds: Activity(kind, NOW + timedelta(seconds=seconds), {}, 0, 1),
        st.sampled_from(KINDS),
        st.integers(-90 * 86_400, 3 * 86_400),  # mostly in the past, a few scheduled ahead
    ),
    max_size=8,
)


def whole_second_from(moment: datetime) -> datetime:
    return moment if moment.microsecond == 0 else moment.replace(microsecond=0) + SECOND


def horizon(scoring: ScoringModel) -> datetime:
    """Far enough that every window has let go and every line has faded to its last value."""
    return NOW + timedelta(days=70 + 40 * (scoring.half_life_days or 1))


class TestTheReviewIsExact:
    @settings(max_examples=150, deadline=None)
    @given(scoring_models(), activity_sets, st.lists(st.floats(0, 1), max_size=40))
    def test_the_temperature_holds_until_the_review_and_differs_at_it(
        self, scoring: ScoringModel, activities: list[Activity], probes: list[float]
    ) -> None:
        lead = a_lead()
        current = temperature_at(scoring, lead, activities, NOW)

        review = next_review(scoring, lead, activities, NOW)

        end = review - SECOND if review is not None else horizon(scoring)
        grid = [i / 400 for i in range(401)] + probes
        assert all(temperature_at(scoring, lead, activities, NOW + (end - NOW) * f) is current for f in grid)
        if review is not None:
            assert review > NOW
            assert temperature_at(scoring, lead, activities, review) is not current

    @settings(max_examples=100, deadline=None)
    @given(scoring_models(), activity_sets)
    def test_is_never_later_than_the_bisection_to_the_second_when_it_found_a_change(
        self, scoring: ScoringModel, activities: list[Activity]
    ) -> None:
        lead = a_lead()
        bisected = bisected_review(scoring, lead, activities)

        review = next_review(scoring, lead, activities, NOW)

        if bisected is not None:  # it answers some moment inside the first second that differs, or later
            assert review is not None
            assert review <= whole_second_from(bisected)
