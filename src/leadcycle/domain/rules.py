"""The rule language of scoring models: conditions, activity rules, attribute rules, the model.

Everything is frozen data that a JSON document describes (rules_json.py reads and writes it);
scoring.py evaluates it. A condition compares one subject (an activity property, or a lead field
such as `company.employeeCount`) with an operator; a rule holds when all its conditions hold.
"""

from __future__ import annotations

import calendar
import enum
import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from operator import attrgetter
from typing import Any

from leadcycle.domain.model import Lead

DEFAULT_HALF_LIFE_DAYS = 90


class FieldType(enum.Enum):
    """What kind of value a lead field holds, which decides the operators that apply to it."""

    NUMBER = "number"
    TEXT = "text"
    BOOLEAN = "boolean"
    STATUS = "BANT status"
    DATE = "date"
    PROPERTY = "activity property"


class Op(enum.Enum):
    """Comparison operators, by their JSON names."""

    EQ = "eq"
    IN = "in"
    GTE = "gte"
    GT = "gt"
    LTE = "lte"
    LT = "lt"
    ANY_WORD = "anyWord"
    MONTHS_AWAY_OVER = "monthsAwayOver"
    MONTHS_AWAY_AT_MOST = "monthsAwayAtMost"


OPERATORS: dict[FieldType, tuple[Op, ...]] = {
    FieldType.NUMBER: (Op.EQ, Op.GTE, Op.GT, Op.LTE, Op.LT),
    FieldType.TEXT: (Op.EQ, Op.IN, Op.ANY_WORD),
    FieldType.BOOLEAN: (Op.EQ,),
    FieldType.STATUS: (Op.EQ, Op.IN),
    FieldType.DATE: (Op.MONTHS_AWAY_OVER, Op.MONTHS_AWAY_AT_MOST),
    FieldType.PROPERTY: (Op.EQ, Op.IN),
}

# The lead fields attribute rules may test, by API path, with how to read each from a lead
# (attrgetter: rules keep their readers, and stay picklable).
LEAD_FIELDS: dict[str, tuple[FieldType, Callable[[Lead], Any]]] = {
    "source": (FieldType.TEXT, attrgetter("source")),
    "company.employeeCount": (FieldType.NUMBER, attrgetter("company.employee_count")),
    "company.capital": (FieldType.NUMBER, attrgetter("company.capital")),
    "company.industry": (FieldType.TEXT, attrgetter("company.industry")),
    "company.department": (FieldType.TEXT, attrgetter("company.department")),
    "contact.title": (FieldType.TEXT, attrgetter("contact.title")),
    "contact.isDecisionMaker": (FieldType.BOOLEAN, attrgetter("contact.is_decision_maker")),
    "bant.budget": (FieldType.STATUS, attrgetter("bant.budget.status.value")),
    "bant.authority": (FieldType.STATUS, attrgetter("bant.authority.status.value")),
    "bant.need": (FieldType.STATUS, attrgetter("bant.need.status.value")),
    "bant.timeframe": (FieldType.STATUS, attrgetter("bant.timeframe.status.value")),
    "bant.budgetAmount": (FieldType.NUMBER, attrgetter("bant.budget_amount")),
    "bant.targetDate": (FieldType.DATE, attrgetter("bant.target_date")),
}

_SYMBOLS = {Op.EQ: "=", Op.GTE: ">=", Op.GT: ">", Op.LTE: "<=", Op.LT: "<", Op.IN: "in", Op.ANY_WORD: "has any of"}


@dataclass(frozen=True)
class Condition:
    """`subject op value`; `value` is a tuple for `in` and `anyWord`, else one scalar."""

    subject: str
    op: Op
    value: Any

    def holds(self, actual: Any, now: datetime) -> bool:
        """Whether `actual` (the subject's value; None when unknown) satisfies the condition."""
        if actual is None:
            return False
        return _TESTS[self.op](actual, self.value, now)

    def describe(self) -> str:
        if self.op in (Op.MONTHS_AWAY_OVER, Op.MONTHS_AWAY_AT_MOST):
            relation = "more than" if self.op is Op.MONTHS_AWAY_OVER else "at most"
            return f"{self.subject} {relation} {self.value} months away"
        shown = ", ".join(map(str, self.value)) if isinstance(self.value, tuple) else str(self.value)
        return f"{self.subject} {_SYMBOLS[self.op]} {shown}"


@functools.lru_cache(maxsize=64)  # scoring asks about a few days (today, its review's search), again and again
def months_after(day: date, months: int) -> date:
    """The same day of the month `months` later, or that month's last day (29 February -> 28)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.casefold()))


def _same(actual: Any, expected: Any) -> bool:
    if isinstance(actual, str) and isinstance(expected, str):
        return actual.strip().casefold() == expected.strip().casefold()
    if isinstance(actual, bool) or isinstance(expected, bool):
        return actual is expected
    return bool(actual == expected)


_TESTS: dict[Op, Callable[[Any, Any, datetime], bool]] = {
    Op.EQ: lambda actual, expected, _now: _same(actual, expected),
    Op.IN: lambda actual, expected, _now: any(_same(actual, option) for option in expected),
    Op.GTE: lambda actual, expected, _now: Decimal(actual) >= expected,
    Op.GT: lambda actual, expected, _now: Decimal(actual) > expected,
    Op.LTE: lambda actual, expected, _now: Decimal(actual) <= expected,
    Op.LT: lambda actual, expected, _now: Decimal(actual) < expected,
    Op.ANY_WORD: lambda actual, expected, _now: bool(_words(str(actual)) & {w.casefold() for w in expected}),
    Op.MONTHS_AWAY_OVER: lambda actual, months, now: actual > months_after(now.date(), months),
    Op.MONTHS_AWAY_AT_MOST: lambda actual, months, now: actual <= months_after(now.date(), months),
}


@dataclass(frozen=True)
class Window:
    """Only occurrences of the last `days` count, and only once there are `at_least` of them."""

    days: int
    at_least: int = 1


@dataclass(frozen=True)
class ActivityRule:
    """Points per activity of `kind` whose properties meet every condition of `when`.

    `cap` bounds the size of the rule's total (its sign follows `points`); `window` limits which
    occurrences count. An immediate-hot rule makes the lead HOT as soon as it contributes.
    """

    name: str
    kind: str
    points: int
    when: tuple[Condition, ...] = ()
    cap: int | None = None
    window: Window | None = None
    immediate_hot: bool = False
    description: str | None = None

    @functools.cached_property
    def label(self) -> str:
        """The activity as a reason names it, e.g. 'survey_answer (intent buy_now)'."""
        qualifiers = ", ".join(_qualifier(c) for c in self.when)
        return f"{self.kind} ({qualifiers})" if qualifiers else self.kind

    @functools.cached_property
    def window_phrase(self) -> str:
        """How a reason names the window, e.g. ' in the last 30 days'; empty without one."""
        return f" in the last {self.window.days} days" if self.window else ""

    @property
    def explanation(self) -> str:
        return self.description or f"Each {self.label}"

    def matches(self, kind: str, properties: Mapping[str, Any], now: datetime) -> bool:
        # Most rules have no condition: no generator for them, it would cost more than the test.
        return kind == self.kind and (not self.when or all(c.holds(properties.get(c.subject), now) for c in self.when))


def _qualifier(condition: Condition) -> str:
    if condition.op is Op.EQ:
        return f"{condition.subject} {condition.value}"
    return condition.describe()


@dataclass(frozen=True)
class AttributeRule:
    """Points while every condition of `when` holds of the lead's fields (see LEAD_FIELDS)."""

    name: str
    points: int
    when: tuple[Condition, ...]
    description: str | None = None

    @functools.cached_property
    def explanation(self) -> str:
        """The reason of the rule's line, which every write's evaluation reads."""
        return self.description or " and ".join(c.describe() for c in self.when)

    def holds(self, lead: Lead, now: datetime) -> bool:
        for read, condition in self._readers:  # noqa: SIM110 (all() over a generator costs twice as much)
            if not condition.holds(read(lead), now):
                return False
        return True

    @functools.cached_property
    def _readers(self) -> tuple[tuple[Callable[[Lead], Any], Condition], ...]:
        """Each condition with the reader of its field, looked up once: every write evaluates every rule."""
        return tuple((LEAD_FIELDS[c.subject][1], c) for c in self.when)


Rule = ActivityRule | AttributeRule


@dataclass(frozen=True)
class ScoringModel:
    """Thresholds, the half-life of behaviour points (None: they never fade) and the rules, in order."""

    version: int
    warm_threshold: int
    hot_threshold: int
    rules: tuple[Rule, ...]
    half_life_days: int | None = None

    @functools.cached_property
    def activity_rules(self) -> tuple[ActivityRule, ...]:
        return tuple(r for r in self.rules if isinstance(r, ActivityRule))

    @functools.cached_property
    def attribute_rules(self) -> tuple[AttributeRule, ...]:
        return tuple(r for r in self.rules if isinstance(r, AttributeRule))

    @functools.cached_property
    def _activity_rules_by_kind(self) -> dict[str, tuple[tuple[int, ActivityRule], ...]]:
        by_kind: dict[str, list[tuple[int, ActivityRule]]] = {}
        for position, rule in enumerate(self.activity_rules):
            by_kind.setdefault(rule.kind, []).append((position, rule))
        return {kind: tuple(rules) for kind, rules in by_kind.items()}

    @functools.cached_property
    def date_conditions(self) -> tuple[tuple[Callable[[Lead], Any], Condition], ...]:
        """The conditions of attribute rules on a date field, each with its field's reader: they change with time."""
        return tuple(
            (LEAD_FIELDS[c.subject][1], c)
            for rule in self.attribute_rules
            for c in rule.when
            if LEAD_FIELDS[c.subject][0] is FieldType.DATE
        )

    @functools.cached_property
    def behaviour_changes_with_time(self) -> bool:
        """Whether behaviour points change as time passes: they fade, or a rule counts within a window."""
        return self.half_life_days is not None or any(rule.window for rule in self.activity_rules)

    def activity_rules_of(self, kind: str) -> tuple[tuple[int, ActivityRule], ...]:
        """The activity rules about `kind`, each with its position among `activity_rules` (indexed once per model)."""
        return self._activity_rules_by_kind.get(kind, ())
