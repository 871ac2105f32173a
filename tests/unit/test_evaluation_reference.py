"""`evaluate` against a plain reading of the scoring rules, on random models, leads and activities.

`evaluate` takes shortcuts (it reuses the lines of the lead's breakdown that did not change, it
looks up readers and tests once per rule); the reference takes none, rule by rule, occurrence
by occurrence, so any shortcut that changes a score, a line or the hot signal shows here.
"""

import math
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from uuid import UUID

from hypothesis import given, settings
from hypothesis import strategies as st

from leadcycle.domain.model import Activity, Bant, Company, Contact, Lead, ScoreContribution
from leadcycle.domain.rules import LEAD_FIELDS, ActivityRule, AttributeRule, Condition, Op, ScoringModel, Window
from leadcycle.domain.scoring import evaluate

NOW = datetime(2025, 6, 2, 10, 30, tzinfo=UTC)
KINDS = ("visit", "download", "demo")
PAGES = ("/pricing", "/blog")
ATTRIBUTE_CONDITIONS = (
    Condition("contact.isDecisionMaker", Op.EQ, True),
    Condition("company.employeeCount", Op.GTE, Decimal(1000)),
    Condition("bant.targetDate", Op.MONTHS_AWAY_OVER, 12),
    Condition("company.industry", Op.ANY_WORD, ("software", "cloud")),
)


def reference(model: ScoringModel, lead: Lead, activities: Sequence[Activity], now: datetime) -> tuple:
    """The score, the breakdown and the hot signal, straight from the rules."""
    since = {line.rule: line.at for line in lead.breakdown if not line.behaviour}
    lines, hot_signal = [], None
    for rule in model.activity_rules:
        counted = [a for a in activities if rule.matches(a.kind, a.properties, now) and _in_window(rule, a, now)]
        if not counted or len(counted) < (rule.window.at_least if rule.window else 1):
            continue
        hot_signal = hot_signal or (rule.name if rule.immediate_hot else None)
        line = _behaviour_line(rule, counted, model.half_life_days, now)
        if line.points:
            lines.append(line)
    for attribute in model.attribute_rules:
        if attribute.points and all(c.holds(LEAD_FIELDS[c.subject][1](lead), now) for c in attribute.when):
            at = since.get(attribute.name, now)
            lines.append(ScoreContribution(attribute.name, attribute.points, attribute.explanation, at))
    return sum(line.points for line in lines), tuple(lines), hot_signal


def _in_window(rule: ActivityRule, activity: Activity, now: datetime) -> bool:
    return rule.window is None or activity.occurred_at > now - timedelta(days=rule.window.days)


def _behaviour_line(
    rule: ActivityRule, counted: list[Activity], half_life: int | None, now: datetime
) -> ScoreContribution:
    ages = [max(0.0, (now - a.occurred_at).total_seconds() / 86_400) for a in counted]
    total = rule.points * (math.fsum(2 ** (-age / half_life) for age in ages) if half_life else len(counted))
    kept = total if rule.cap is None else max(-rule.cap, min(rule.cap, total))
    points = _rounded(kept)
    reason = f"{len(counted)} x {rule.label}"
    reason += f" in the last {rule.window.days} days" if rule.window else ""
    reason += f" at {rule.points:+d}"
    reason += f", faded to {_rounded(total):+d} (half-life {half_life} days)" if half_life else ""
    reason += f", capped at {points:+d}" if kept != total else ""
    at = max(a.occurred_at for a in counted)
    return ScoreContribution(rule.name, points, reason, at, count=len(counted), behaviour=True)


def _rounded(value: float) -> int:
    return int(Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@st.composite
def activity_rules(draw: st.DrawFn) -> ActivityRule:
    return ActivityRule(
        f"activity.{draw(st.integers(0, 10**6))}",
        draw(st.sampled_from(KINDS)),
        draw(st.integers(-30, 30)),
        when=draw(st.sampled_from([(), (Condition("page", Op.EQ, "/pricing"),), (Condition("page", Op.IN, PAGES),)])),
        cap=draw(st.one_of(st.none(), st.integers(0, 40))),
        window=draw(st.one_of(st.none(), st.builds(Window, st.integers(1, 60), st.integers(1, 3)))),
        immediate_hot=draw(st.booleans()),
    )


@st.composite
def scoring_models(draw: st.DrawFn) -> ScoringModel:
    conditions = draw(st.lists(st.sampled_from(ATTRIBUTE_CONDITIONS), min_size=1, max_size=2, unique=True))
    attributes = [
        AttributeRule(f"attribute.{i}", draw(st.integers(-20, 20)), (condition,))
        for i, condition in enumerate(conditions)
    ]
    activity = draw(st.lists(activity_rules(), min_size=1, max_size=5, unique_by=lambda rule: rule.name))
    rules = draw(st.permutations([*activity, *attributes]))
    return ScoringModel(2, 20, 50, tuple(rules), half_life_days=draw(st.one_of(st.none(), st.integers(1, 60))))


leads = st.builds(
    lambda decision_maker, employees, target, industry: Lead(
        UUID(int=7),
        Company("Example KK", employee_count=employees, industry=industry),
        Contact("Abe", is_decision_maker=decision_maker),
        "seo",
        created_at=NOW - timedelta(days=400),
        bant=Bant(target_date=target),
    ),
    st.booleans(),
    st.one_of(st.none(), st.integers(0, 3000)),
    st.one_of(st.none(), st.dates(date(2024, 1, 1), date(2028, 1, 1))),
    st.sampled_from([None, "Cloud software", "Retail"]),
)
activity_lists = st.lists(
    st.builds(
        lambda kind, seconds, page: Activity(kind, NOW + timedelta(seconds=seconds), {"page": page}, 0, 1),
        st.sampled_from(KINDS),
        st.integers(-90 * 86_400, 3_600),
        st.sampled_from(PAGES),
    ),
    max_size=10,
)


class TestEvaluateAgreesWithTheRules:
    @settings(max_examples=400)
    @given(scoring_models(), leads, activity_lists)
    def test_on_a_lead_scored_for_the_first_time(
        self, model: ScoringModel, lead: Lead, activities: list[Activity]
    ) -> None:
        result = evaluate(model, lead, activities, NOW)

        assert (result.score, result.breakdown, result.hot_signal) == reference(model, lead, activities, NOW)

    @settings(max_examples=600)
    @given(scoring_models(), leads, activity_lists, st.integers(0, 10), activity_lists, st.integers(0, 40 * 86_400))
    def test_after_an_earlier_scoring_whose_lines_it_may_reuse(
        self,
        model: ScoringModel,
        lead: Lead,
        activities: list[Activity],
        kept: int,
        gone: list[Activity],
        seconds_later: int,
    ) -> None:
        """The lead was scored with the first `kept` activities and others (`gone`), and time has passed since."""
        later = NOW + timedelta(seconds=seconds_later)
        lead.breakdown = evaluate(model, lead, activities[:kept] + gone, NOW).breakdown

        result = evaluate(model, lead, activities, later)

        assert (result.score, result.breakdown, result.hot_signal) == reference(model, lead, activities, later)
