"""Scoring: rules over behaviour and attributes, explainable line by line.

The default model is data; a later version stores models in the database. Score and
temperature follow SEMANTICS.md: attribute points are recomputed at every change, behaviour
points count for the activities of the current nurture cycle only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from leadcycle.domain.model import Activity, Lead, ScoreContribution
from leadcycle.domain.stages import Temperature


@dataclass(frozen=True)
class ActivityRule:
    """Points for each activity of `kind` whose properties include every pair in `when`."""

    kind: str
    points: int
    immediate_hot: bool = False
    when: Mapping[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        qualifiers = "".join(f".{value}" for value in self.when.values())
        return f"activity.{self.kind}{qualifiers}"

    @property
    def label(self) -> str:
        qualifiers = ", ".join(f"{key} {value}" for key, value in self.when.items())
        return f"{self.kind} ({qualifiers})" if qualifiers else self.kind

    @property
    def description(self) -> str:
        return f"Each {self.label}"

    def matches(self, kind: str, properties: Mapping[str, Any]) -> bool:
        return kind == self.kind and all(properties.get(k) == v for k, v in self.when.items())


@dataclass(frozen=True)
class AttributeRule:
    """Points while `holds(lead, now)` is true of the lead's company, contact or BANT."""

    name: str
    description: str
    points: int
    holds: Callable[[Lead, datetime], bool]


@dataclass(frozen=True)
class ScoringModel:
    version: int
    warm_threshold: int
    hot_threshold: int
    activity_rules: tuple[ActivityRule, ...]
    attribute_rules: tuple[AttributeRule, ...]

    def rule_for(self, kind: str, properties: Mapping[str, Any]) -> ActivityRule | None:
        """The first activity rule matching, or None for kinds that score nothing."""
        return next((r for r in self.activity_rules if r.matches(kind, properties)), None)


def _a_year_after(day: date) -> date:
    """The same calendar date next year (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return day.replace(year=day.year + 1, day=28)


def _target_date_over_a_year_away(lead: Lead, now: datetime) -> bool:
    target = lead.bant.target_date
    return target is not None and target > _a_year_after(now.date())


def _at_least(value: int | Decimal | None, minimum: int) -> bool:
    return value is not None and value >= minimum


_IMMEDIATE_HOT = ("quote_request", "demo_request", "trial_signup", "consultation_request")

DEFAULT_SCORING_MODEL = ScoringModel(
    version=1,
    warm_threshold=20,
    hot_threshold=50,
    activity_rules=(
        ActivityRule("email_open", 1),
        ActivityRule("email_click", 3),
        ActivityRule("web_visit", 1),
        ActivityRule("pricing_page_view", 5),
        ActivityRule("document_download", 5),
        ActivityRule("webinar_attended", 10),
        ActivityRule("inquiry", 15),
        *(ActivityRule(kind, 20, immediate_hot=True) for kind in _IMMEDIATE_HOT),
        ActivityRule("survey_answer", 20, immediate_hot=True, when={"intent": "buy_now"}),
    ),
    attribute_rules=(
        AttributeRule(
            "contact.decision_maker",
            "The contact is a decision maker",
            10,
            lambda lead, _now: lead.contact.is_decision_maker,
        ),
        AttributeRule(
            "company.employees_1000_plus",
            "The company has 1,000 employees or more",
            10,
            lambda lead, _now: _at_least(lead.company.employee_count, 1000),
        ),
        AttributeRule(
            "company.capital_50b_jpy_plus",
            "The company's capital is 50 billion JPY or more",
            10,
            lambda lead, _now: _at_least(lead.company.capital, 50_000_000_000),
        ),
        AttributeRule(
            "bant.target_date_over_a_year",
            "The target date is more than a year away",
            -10,
            _target_date_over_a_year_away,
        ),
    ),
)


def score_activity(
    lead: Lead, model: ScoringModel, kind: str, occurred_at: datetime, properties: dict[str, Any]
) -> Activity:
    """Record an activity's behaviour points on the lead.

    An activity that occurred before the current cycle began (after a RECYCLE) belongs to an
    earlier cycle and earns nothing; the first cycle takes everything up to the first recycle,
    including what happened just before the lead was created.
    """
    assert lead.cycle_started_at is not None
    rule = model.rule_for(kind, properties)
    counts = rule is not None and (lead.cycle == 1 or occurred_at >= lead.cycle_started_at)
    activity = Activity(
        kind=kind,
        occurred_at=occurred_at,
        properties=properties,
        points=rule.points if rule is not None and counts else 0,
        cycle=lead.cycle,
        rule=rule.name if rule is not None and counts else None,
    )
    if rule is not None and counts:
        lead.breakdown = _tally(lead.breakdown, rule, occurred_at)
        if rule.immediate_hot:
            lead.hot_signal = rule.name
    lead.new_activities.append(activity)
    return activity


def _tally(breakdown: tuple[ScoreContribution, ...], rule: ActivityRule, at: datetime) -> tuple[ScoreContribution, ...]:
    previous = next((c for c in breakdown if c.rule == rule.name), None)
    count = previous.count + 1 if previous else 1
    updated = ScoreContribution(
        rule=rule.name,
        points=rule.points * count,
        reason=f"{count} x {rule.label} at {rule.points:+d}",
        at=max(at, previous.at) if previous else at,
        count=count,
        behaviour=True,
    )
    return (*(c for c in breakdown if c.rule != rule.name), updated)


def rescore(lead: Lead, model: ScoringModel, now: datetime) -> None:
    """Recompute attribute points, the score and the temperature from what the lead holds now."""
    lead.breakdown = _behaviour(lead.breakdown) + _attributes(lead, model, now)
    lead.score = sum(c.points for c in lead.breakdown)
    lead.temperature = temperature(lead.score, lead.hot_signal is not None, model)


def start_new_cycle(lead: Lead, now: datetime) -> None:
    """Forget the behaviour of earlier cycles; it stays in the history but no longer counts."""
    lead.cycle += 1
    lead.cycle_started_at = now
    lead.hot_signal = None
    lead.breakdown = tuple(c for c in lead.breakdown if not c.behaviour)


def temperature(score: int, hot_signal: bool, model: ScoringModel) -> Temperature:
    if hot_signal or score >= model.hot_threshold:
        return Temperature.HOT
    if score >= model.warm_threshold:
        return Temperature.WARM
    return Temperature.COLD


def _behaviour(breakdown: tuple[ScoreContribution, ...]) -> tuple[ScoreContribution, ...]:
    return tuple(c for c in breakdown if c.behaviour)


def _attributes(lead: Lead, model: ScoringModel, now: datetime) -> tuple[ScoreContribution, ...]:
    since = {c.rule: c.at for c in lead.breakdown if not c.behaviour}
    return tuple(
        ScoreContribution(rule.name, rule.points, rule.description, since.get(rule.name, now))
        for rule in model.attribute_rules
        if rule.holds(lead, now)
    )
