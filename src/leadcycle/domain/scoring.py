"""Scoring: a pure function of (model, the lead's attributes, the current cycle's activities, now).

`evaluate` is that function; it explains itself with one breakdown line per contributing rule.
The use cases keep the current cycle's activities on the locked lead (`Lead.cycle_activities`),
so recording an activity appends one and evaluates again. Score and temperature follow
SEMANTICS.md: attribute points are recomputed at every change, behaviour points count for the
activities of the current nurture cycle only. Rounding is described in docs/semantics.md.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from leadcycle.domain.model import Activity, Lead, ScoreContribution
from leadcycle.domain.rules import ActivityRule, AttributeRule, Condition, Op, ScoringModel
from leadcycle.domain.stages import Temperature

SECONDS_PER_DAY = 86_400
_OCCURRED_AT = operator.attrgetter("occurred_at")


def _activity(kind: str, points: int, *, immediate_hot: bool = False, **when: str) -> ActivityRule:
    qualifiers = "".join(f".{value}" for value in when.values())
    conditions = tuple(Condition(key, Op.EQ, value) for key, value in when.items())
    return ActivityRule(f"activity.{kind}{qualifiers}", kind, points, conditions, immediate_hot=immediate_hot)


def _attribute(name: str, description: str, points: int, subject: str, op: Op, value: Any) -> AttributeRule:
    return AttributeRule(name, points, (Condition(subject, op, value),), description)


_IMMEDIATE_HOT = ("quote_request", "demo_request", "trial_signup", "consultation_request")

DEFAULT_SCORING_MODEL = ScoringModel(
    version=1,
    warm_threshold=20,
    hot_threshold=50,
    half_life_days=None,
    rules=(
        _activity("email_open", 1),
        _activity("email_click", 3),
        _activity("web_visit", 1),
        _activity("pricing_page_view", 5),
        _activity("document_download", 5),
        _activity("webinar_attended", 10),
        _activity("inquiry", 15),
        *(_activity(kind, 20, immediate_hot=True) for kind in _IMMEDIATE_HOT),
        _activity("survey_answer", 20, immediate_hot=True, intent="buy_now"),
        _attribute(
            "contact.decision_maker",
            "The contact is a decision maker",
            10,
            "contact.isDecisionMaker",
            Op.EQ,
            True,
        ),
        _attribute(
            "company.employees_1000_plus",
            "The company has 1,000 employees or more",
            10,
            "company.employeeCount",
            Op.GTE,
            Decimal(1000),
        ),
        _attribute(
            "company.capital_50b_jpy_plus",
            "The company's capital is 50 billion JPY or more",
            10,
            "company.capital",
            Op.GTE,
            Decimal(50_000_000_000),
        ),
        _attribute(
            "bant.target_date_over_a_year",
            "The target date is more than a year away",
            -10,
            "bant.targetDate",
            Op.MONTHS_AWAY_OVER,
            12,
        ),
    ),
)


@dataclass(frozen=True)
class Evaluation:
    """What a model makes of a lead at one moment: the score, its explanation, the hot signal."""

    score: int
    breakdown: tuple[ScoreContribution, ...]
    hot_signal: str | None

    @property
    def attribute_points(self) -> int:
        """The share of the score the lead's attributes earn (what it would be without behaviour)."""
        return sum(line.points for line in self.breakdown if not line.behaviour)


def evaluate(model: ScoringModel, lead: Lead, activities: Sequence[Activity], now: datetime) -> Evaluation:
    """Score `lead` under `model` at `now`, from its attributes and the current cycle's `activities`.

    Pure and independent of the order of `activities`. `lead.breakdown` supplies when each
    attribute rule started to contribute (its line's `at`), and the lines that did not change,
    reused as they are. Lines keep the model's rule order.
    """
    earlier = {line.rule: line for line in lead.breakdown}
    hot_signal, lines = None, []
    for rule, occurrences in _candidates(model, by_kind(activities)):
        if line := _behaviour_line(rule, occurrences, model.half_life_days, now, earlier.get(rule.name)):
            if rule.immediate_hot and hot_signal is None:
                hot_signal = rule.name
            if line.points:
                lines.append(line)
    for attribute in model.attribute_rules:
        if attribute.points and attribute.holds(lead, now):
            lines.append(_attribute_line(attribute, earlier.get(attribute.name), now))
    return Evaluation(sum(line.points for line in lines), tuple(lines), hot_signal)


def _candidates(model: ScoringModel, grouped: dict[str, list[Activity]]) -> list[tuple[ActivityRule, list[Activity]]]:
    """The activity rules about the kinds in `grouped`, in the model's order, each with its kind's activities.

    Only they can contribute, so only they are looked at: a model may have many rules (rules_json.MAX_RULES).
    """
    numbered = [numbered for kind in grouped for numbered in model.activity_rules_of(kind)]
    numbered.sort()  # by position: no two rules share one
    return [(rule, grouped[rule.kind]) for _, rule in numbered]


def by_kind(activities: Sequence[Activity]) -> dict[str, list[Activity]]:
    """The activities grouped by kind, each group in the given order."""
    grouped: dict[str, list[Activity]] = {}
    for activity in activities:
        grouped.setdefault(activity.kind, []).append(activity)
    return grouped


def _behaviour_line(
    rule: ActivityRule,
    activities: Sequence[Activity],
    half_life_days: int | None,
    now: datetime,
    earlier: ScoreContribution | None,
) -> ScoreContribution | None:
    """The rule's line over the activities it counts (`earlier` if it is that), or None when it counts none."""
    counted = counted_activities(rule, activities, now)
    if not counted:
        return None
    total = faded_total(rule, counted, half_life_days, now)
    kept = capped(rule, total)
    points = round_points(kept)
    faded = f", faded to {round_points(total):+d} (half-life {half_life_days} days)" if half_life_days else ""
    capping = f", capped at {points:+d}" if kept != total else ""
    reason = f"{len(counted)} x {rule.label}{rule.window_phrase} at {rule.points:+d}{faded}{capping}"
    return _line(earlier, rule.name, points, reason, max(map(_OCCURRED_AT, counted)), len(counted), behaviour=True)


def _attribute_line(rule: AttributeRule, earlier: ScoreContribution | None, now: datetime) -> ScoreContribution:
    """The line of an attribute rule that holds: it contributes since its `earlier` line, or from `now` on."""
    since = earlier.at if earlier is not None and not earlier.behaviour else now
    return _line(earlier, rule.name, rule.points, rule.explanation, since, 1, behaviour=False)


def _line(
    earlier: ScoreContribution | None, rule: str, points: int, reason: str, at: datetime, count: int, *, behaviour: bool
) -> ScoreContribution:
    """The line with these values: `earlier` when it has them all (most lines at each write), else a new one.

    Comparing is cheaper than creating a frozen dataclass, and every write evaluates every line.
    """
    values = (points, reason, at, count, behaviour)
    if earlier is not None and (earlier.points, earlier.reason, earlier.at, earlier.count, earlier.behaviour) == values:
        return earlier
    return ScoreContribution(rule, points, reason, at, count, behaviour)


def counted_activities(rule: ActivityRule, activities: Sequence[Activity], now: datetime) -> list[Activity]:
    """The occurrences `rule` counts at `now` (matching, inside its window); none below its `atLeast`.

    `activities` are of the rule's kind (the callers group them by kind).
    """
    counted = [a for a in activities if rule.matches(a.kind, a.properties, now)] if rule.when else list(activities)
    if rule.window is not None:
        since = now - timedelta(days=rule.window.days)
        counted = [a for a in counted if a.occurred_at > since]
    return counted if len(counted) >= (rule.window.at_least if rule.window else 1) else []


def faded_total(rule: ActivityRule, counted: Sequence[Activity], half_life_days: int | None, now: datetime) -> float:
    """The rule's points for the `counted` occurrences at `now`, each faded, before the cap."""
    return rule.points * faded_weight(counted, now, half_life_days)


def faded_weight(occurrences: Sequence[Activity], now: datetime, half_life_days: int | None) -> float:
    """How many occurrences they are worth at `now`, each faded."""
    if half_life_days is None:
        return float(len(occurrences))  # what summing their fades (each exactly 1.0) gives
    return math.fsum(fade(a.occurred_at, now, half_life_days) for a in occurrences)


def capped(rule: ActivityRule, total: float) -> float:
    """`total` within the rule's cap (which bounds its size whatever the sign)."""
    return total if rule.cap is None else max(-rule.cap, min(rule.cap, total))


def fade(occurred_at: datetime, now: datetime, half_life_days: int | None) -> float:
    """What one point earned at `occurred_at` is worth at `now`: 2^(-age / half-life)."""
    if half_life_days is None:
        return 1.0
    age_days = max(0.0, (now - occurred_at).total_seconds() / SECONDS_PER_DAY)
    return float(2 ** (-age_days / half_life_days))


def round_points(value: float) -> int:
    """Points as clients see them: the nearest whole number, halves away from zero."""
    if (whole := int(value)) == value:
        return whole  # the common case without decay: nothing to round
    return int(Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def counts_in_cycle(lead: Lead, occurred_at: datetime) -> bool:
    """Whether an activity that occurred at `occurred_at` belongs to the lead's current cycle.

    The first cycle takes everything up to the first recycle, including what happened just
    before the lead was created; later cycles start when the lead entered RECYCLED.
    """
    assert lead.cycle_started_at is not None
    return lead.cycle == 1 or occurred_at >= lead.cycle_started_at


def score_activity(
    lead: Lead, model: ScoringModel, kind: str, occurred_at: datetime, properties: dict[str, Any], now: datetime
) -> Activity:
    """Record an activity on the lead, with the points it added to the score at `now`.

    An activity of an earlier cycle (back-dated before the current cycle began) earns nothing.
    """
    counts = counts_in_cycle(lead, occurred_at)
    rules = [r for _, r in model.activity_rules_of(kind) if r.matches(kind, properties, now)] if counts else []
    activity = Activity(
        kind, occurred_at, properties, points=0, cycle=lead.cycle, rule=rules[0].name if rules else None
    )
    if counts:
        same_kind = [a for a in lead.cycle_activities if a.kind == kind]
        before = _points(rules, same_kind, model.half_life_days, now)
        added = _points(rules, [*same_kind, activity], model.half_life_days, now) - before
        lead.cycle_activities = (*lead.cycle_activities, activity)
        activity = Activity(kind, occurred_at, properties, added, lead.cycle, activity.rule)
    lead.new_activities.append(activity)
    return activity


def _points(rules: Sequence[ActivityRule], activities: Sequence[Activity], half_life: int | None, now: datetime) -> int:
    """What `rules` make of `activities` (all of their kind) at `now`: only they change when one is added.

    The points of each rule's line (`_behaviour_line`), without the line's explanation.
    """
    points = 0
    for rule in rules:
        if counted := counted_activities(rule, activities, now):
            points += round_points(capped(rule, faded_total(rule, counted, half_life, now)))
    return points


def rescore(lead: Lead, model: ScoringModel, now: datetime) -> Evaluation:
    """Evaluate the lead at `now`, store the score, breakdown, hot signal and temperature; returns the evaluation."""
    evaluation = evaluate(model, lead, lead.cycle_activities, now)
    lead.breakdown, lead.score, lead.hot_signal = evaluation.breakdown, evaluation.score, evaluation.hot_signal
    lead.scoring_model_version = model.version
    lead.temperature = temperature(lead.score, lead.hot_signal is not None, model)
    return evaluation


def start_new_cycle(lead: Lead, now: datetime) -> None:
    """Forget the behaviour of earlier cycles; it stays in the history but no longer counts."""
    lead.cycle += 1
    lead.cycle_started_at = now
    lead.cycle_activities = ()
    lead.hot_signal = None
    lead.breakdown = tuple(c for c in lead.breakdown if not c.behaviour)


def temperature(score: int, hot_signal: bool, model: ScoringModel) -> Temperature:
    if hot_signal or score >= model.hot_threshold:
        return Temperature.HOT
    if score >= model.warm_threshold:
        return Temperature.WARM
    return Temperature.COLD
