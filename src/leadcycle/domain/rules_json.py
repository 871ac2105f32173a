"""Scoring models to and from JSON, validated with every problem named by its path.

The document a client sends (docs/semantics.md shows one):
`{"warmThreshold", "hotThreshold", "halfLifeDays", "rules": [...]}`, each rule either
`{"type": "activity", "name", "activity", "when", "points", "cap", "window", "immediateHot", "description"}`
or `{"type": "attribute", "name", "when", "points", "description"}`. `when` maps a subject (an
activity property, or a lead field path) to operators: `{"company.employeeCount": {"gte": 100, "lt": 1000}}`.
Problems name the path inside the document, e.g. `rules[2].when.page.in`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from leadcycle.domain.errors import InvalidInput, ModelRejected
from leadcycle.domain.rules import (
    DEFAULT_HALF_LIFE_DAYS,
    LEAD_FIELDS,
    OPERATORS,
    ActivityRule,
    AttributeRule,
    Condition,
    FieldType,
    Op,
    Rule,
    ScoringModel,
    Window,
)
from leadcycle.domain.stages import BantStatus

MAX_RULES = 200
MAX_POINTS = 10_000
MAX_THRESHOLD = 1_000_000
MAX_DAYS = 3_650
MAX_OPTIONS = 100
_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")
_SLUG = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_MODEL_KEYS = ("warmThreshold", "hotThreshold", "halfLifeDays", "rules")
_COMMON_KEYS = ("type", "name", "when", "points", "description")
_ACTIVITY_KEYS = (*_COMMON_KEYS, "activity", "cap", "window", "immediateHot")
_STATUSES = tuple(s.value for s in BantStatus)

Scalar = str | int | float | bool


class _Reader:
    """Collects every problem of one document instead of stopping at the first."""

    def __init__(self) -> None:
        self.problems: list[InvalidInput] = []

    def refuse(self, path: str, message: str) -> None:
        self.problems.append(InvalidInput(path, f"{path}: {message}"))

    def object(self, value: Any, path: str, allowed: tuple[str, ...]) -> Mapping[str, Any] | None:
        if not isinstance(value, Mapping):
            self.refuse(path or "definition", "must be a JSON object")
            return None
        for key in value:
            if key not in allowed:
                self.refuse(_join(path, key), f"unknown field; expected one of {', '.join(allowed)}")
        return value

    def integer(self, value: Any, path: str, low: int, high: int) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.refuse(path, "must be a whole number")
            return None
        if not low <= value <= high:
            self.refuse(path, f"must be between {low:,} and {high:,}")
            return None
        return value

    def text(self, value: Any, path: str, pattern: re.Pattern[str] | None = None, limit: int = 200) -> str | None:
        if not isinstance(value, str) or not value.strip() or len(value) > limit:
            self.refuse(path, f"must be text of 1 to {limit} characters")
            return None
        if pattern is not None and not pattern.match(value):
            self.refuse(path, f"{value!r} does not have the form {pattern.pattern}")
            return None
        return value.strip()


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def parse_model(document: Any, version: int = 0) -> ScoringModel:
    """The model a JSON document describes; raises ModelRejected listing every problem."""
    reader = _Reader()
    data = reader.object(document, "", _MODEL_KEYS) or {}
    warm = reader.integer(data.get("warmThreshold"), "warmThreshold", -MAX_THRESHOLD, MAX_THRESHOLD)
    hot = reader.integer(data.get("hotThreshold"), "hotThreshold", -MAX_THRESHOLD, MAX_THRESHOLD)
    if warm is not None and hot is not None and hot <= warm:
        reader.refuse("hotThreshold", f"must be above warmThreshold ({warm}): thresholds out of order")
    half_life = data.get("halfLifeDays", DEFAULT_HALF_LIFE_DAYS)
    if half_life is not None:
        half_life = reader.integer(half_life, "halfLifeDays", 1, MAX_DAYS)
    rules = _rules(reader, data.get("rules"))
    if reader.problems or warm is None or hot is None:
        raise ModelRejected(reader.problems)
    return ScoringModel(version, warm, hot, rules, half_life)


def _rules(reader: _Reader, value: Any) -> tuple[Rule, ...]:
    if not isinstance(value, list) or len(value) > MAX_RULES:
        reader.refuse("rules", f"must be a list of at most {MAX_RULES} rules")
        return ()
    rules = [_rule(reader, item, f"rules[{i}]") for i, item in enumerate(value)]
    seen: set[str] = set()
    for i, rule in enumerate(rules):
        if rule is not None and rule.name in seen:
            reader.refuse(f"rules[{i}].name", f"{rule.name!r} names an earlier rule too; names must be unique")
        seen.add(rule.name if rule else "")
    return tuple(r for r in rules if r is not None)


def _rule(reader: _Reader, value: Any, path: str) -> Rule | None:
    if not isinstance(value, Mapping):
        reader.refuse(path, "must be a JSON object")
        return None
    kind = value.get("type")
    if kind not in ("activity", "attribute"):
        reader.refuse(f"{path}.type", "must be 'activity' or 'attribute'")
        return None
    data = reader.object(value, path, _ACTIVITY_KEYS if kind == "activity" else _COMMON_KEYS) or {}
    problems_before = len(reader.problems)
    name = reader.text(data.get("name"), f"{path}.name", _NAME, limit=100)
    points = reader.integer(data.get("points"), f"{path}.points", -MAX_POINTS, MAX_POINTS)
    description = data.get("description")
    if description is not None:
        description = reader.text(description, f"{path}.description")
    rule = (_activity_rule if kind == "activity" else _attribute_rule)(reader, data, path)
    if len(reader.problems) > problems_before or name is None or points is None or rule is None:
        return None
    return rule(name, points, description)


RuleMaker = Callable[[str, int, str | None], Rule]


def _activity_rule(reader: _Reader, data: Mapping[str, Any], path: str) -> RuleMaker | None:
    kind = reader.text(data.get("activity"), f"{path}.activity", _SLUG, limit=64)
    when = _conditions(reader, data.get("when", {}), f"{path}.when", None)
    cap = data.get("cap")
    if cap is not None:
        cap = reader.integer(cap, f"{path}.cap", 1, MAX_POINTS * 1_000)
    window = _window(reader, data.get("window"), f"{path}.window")
    immediate_hot = data.get("immediateHot", False)
    if not isinstance(immediate_hot, bool):
        reader.refuse(f"{path}.immediateHot", "must be true or false")
    if kind is None:
        return None
    return lambda name, points, description: ActivityRule(
        name, kind, points, when, cap, window, immediate_hot is True, description
    )


def _attribute_rule(reader: _Reader, data: Mapping[str, Any], path: str) -> RuleMaker:
    when = _conditions(reader, data.get("when"), f"{path}.when", LEAD_FIELDS)
    if data.get("when") == {}:
        reader.refuse(f"{path}.when", "an attribute rule needs at least one condition")
    return lambda name, points, description: AttributeRule(name, points, when, description)


def _window(reader: _Reader, value: Any, path: str) -> Window | None:
    if value is None:
        return None
    data = reader.object(value, path, ("days", "atLeast"))
    if data is None:
        return None
    days = reader.integer(data.get("days"), f"{path}.days", 1, MAX_DAYS)
    at_least = reader.integer(data.get("atLeast", 1), f"{path}.atLeast", 1, 1_000)
    return Window(days, at_least) if days is not None and at_least is not None else None


def _conditions(
    reader: _Reader, value: Any, path: str, fields: Mapping[str, tuple[FieldType, Any]] | None
) -> tuple[Condition, ...]:
    """Conditions on lead `fields`, or on activity properties when `fields` is None."""
    if not isinstance(value, Mapping):
        reader.refuse(path, "must be a JSON object of subject -> {operator: value}")
        return ()
    conditions = []
    for subject, operators in value.items():
        subject_path = f"{path}.{subject}"
        if fields is None and not (isinstance(subject, str) and 0 < len(subject) <= 64):
            reader.refuse(subject_path, "a property name has 1 to 64 characters")
            continue
        if fields is not None and subject not in fields:
            reader.refuse(subject_path, f"unknown field; known fields: {', '.join(fields)}")
            continue
        field_type = fields[subject][0] if fields is not None else FieldType.PROPERTY
        conditions += _operators(reader, subject, operators, subject_path, field_type)
    return tuple(conditions)


def _operators(reader: _Reader, subject: str, value: Any, path: str, field_type: FieldType) -> list[Condition]:
    allowed = OPERATORS[field_type]
    if not isinstance(value, Mapping) or not value:
        reader.refuse(path, f"must be an object of operators, e.g. {{{allowed[0].value!r}: ...}}")
        return []
    conditions = []
    for name, operand in value.items():
        op = next((o for o in allowed if o.value == name), None)
        if op is None:
            choices = ", ".join(o.value for o in allowed)
            reader.refuse(
                f"{path}.{name}", f"{name!r} does not apply to {field_type.value} values; use one of {choices}"
            )
            continue
        parsed = _operand(reader, op, field_type, operand, f"{path}.{name}")
        if parsed is not None:
            conditions.append(Condition(subject, op, parsed))
    return conditions


def _operand(reader: _Reader, op: Op, field_type: FieldType, value: Any, path: str) -> Any:
    """The operand of `op` on a field of `field_type`, or None (and a problem) when it does not fit."""
    if op in (Op.MONTHS_AWAY_OVER, Op.MONTHS_AWAY_AT_MOST):
        return reader.integer(value, path, 0, 1_200)
    if op in (Op.IN, Op.ANY_WORD):
        if not isinstance(value, list) or not 0 < len(value) <= MAX_OPTIONS:
            reader.refuse(path, f"must be a list of 1 to {MAX_OPTIONS} values")
            return None
        options = [_scalar(reader, field_type, item, f"{path}[{i}]") for i, item in enumerate(value)]
        return tuple(options) if None not in options else None
    return _scalar(reader, field_type, value, path)


def _scalar(reader: _Reader, field_type: FieldType, value: Any, path: str) -> Scalar | Decimal | None:
    if field_type is FieldType.NUMBER:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            reader.refuse(path, "must be a number")
            return None
        return Decimal(str(value))
    if field_type is FieldType.BOOLEAN:
        if not isinstance(value, bool):
            reader.refuse(path, "must be true or false")
            return None
        return value
    if field_type is FieldType.STATUS and value not in _STATUSES:
        reader.refuse(path, f"must be one of {', '.join(_STATUSES)}")
        return None
    if field_type is FieldType.PROPERTY and isinstance(value, int | float | bool):
        return value
    return reader.text(value, path)


# -- to JSON --------------------------------------------------------------------------------------------


def model_to_json(model: ScoringModel) -> dict[str, Any]:
    """The document `parse_model` reads back into an equal model."""
    return {
        "warmThreshold": model.warm_threshold,
        "hotThreshold": model.hot_threshold,
        "halfLifeDays": model.half_life_days,
        "rules": [_rule_to_json(rule) for rule in model.rules],
    }


def _rule_to_json(rule: Rule) -> dict[str, Any]:
    common = {"name": rule.name, "points": rule.points, "when": _when_to_json(rule.when)}
    if rule.description is not None:
        common["description"] = rule.description
    if isinstance(rule, AttributeRule):
        return {"type": "attribute", **common}
    extra: dict[str, Any] = {"activity": rule.kind, "immediateHot": rule.immediate_hot}
    if rule.cap is not None:
        extra["cap"] = rule.cap
    if rule.window is not None:
        extra["window"] = {"days": rule.window.days, "atLeast": rule.window.at_least}
    return {"type": "activity", **common, **extra}


def _when_to_json(conditions: tuple[Condition, ...]) -> dict[str, dict[str, Any]]:
    when: dict[str, dict[str, Any]] = {}
    for condition in conditions:
        when.setdefault(condition.subject, {})[condition.op.value] = _operand_to_json(condition.value)
    return when


def _operand_to_json(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_operand_to_json(item) for item in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value
