"""When a lead left alone next changes temperature: the time the periodic refresh looks at it again.

Decay and windows make the score a function of time, but nothing is rewritten as time passes:
each scoring stores `review_at`, the first moment the temperature would differ from the one just
computed, and the refresh job picks only leads whose moment has come. Its cost follows the leads
that change, not the number of leads.

With no new activity the score is piecewise constant, so that moment is found exactly, without
sampling. Each behaviour line is `points * (steady + fading * 2^(-(t - since) / half-life))`,
capped, then rounded once, between its structural moments: an occurrence leaving the rule's
window (which may also take it below `atLeast`, or end an immediate-hot signal) or a future-dated
one starting to fade. In between, its rounded value steps toward zero one point at a time, at
moments with a closed form (where the exact total crosses a half). `next_review` walks the
structural moments and these steps in time order, whatever the rules' signs, leaping over steps
that cannot add up to a change (see `_Walk._plan`), and returns the first breakpoint at which the
temperature differs: a structural moment exactly, a step at the first whole second after it. A
line reaches its final value after finitely many steps, so None ("never") is exact too.

Attribute lines change only at midnights (UTC) where a calendar condition ("a year away") on the
lead's BANT target date stops or starts to hold. Each such day is found exactly (the condition
is monotone in the day), the temperature is checked there, and the walk goes on from it.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from leadcycle.domain.model import Activity, Lead
from leadcycle.domain.rules import ActivityRule, Condition, ScoringModel
from leadcycle.domain.scoring import (
    SECONDS_PER_DAY,
    Evaluation,
    by_kind,
    capped,
    counted_activities,
    evaluate,
    faded_total,
    faded_weight,
    round_points,
    temperature,
)
from leadcycle.domain.stages import Temperature

# Where the closed form puts a total this close to a half (relative to its size), rounding is
# decided by scoring's own sum instead: the two may differ in the last bits of a float.
AMBIGUOUS = 1e-9
NEAR = 1e-3  # seconds: a crossing this close after a whole second is checked against that second
STRUCTURAL = -1  # the round of a structural event: it applies whatever happened before it


def next_review(
    model: ScoringModel,
    lead: Lead,
    activities: Sequence[Activity],
    now: datetime,
    at_now: Evaluation | None = None,
) -> datetime | None:
    """The first moment after `now` the lead's temperature would change by time alone, or None if never.

    `at_now` is `evaluate(model, lead, activities, now)` when the caller has it already (a rescore).
    """
    evaluation = at_now or evaluate(model, lead, activities, now)
    current = _temperature_of(evaluation, model)
    while True:  # each condition flips once: few rounds
        flip = _next_calendar_flip(model, lead, now)
        change = _behaviour_change(model, activities, now, evaluation)
        if flip is None or (change is not None and change < flip):
            return change
        evaluation = evaluate(model, lead, activities, flip)
        if _temperature_of(evaluation, model) != current:
            return flip
        now = flip


def _behaviour_change(
    model: ScoringModel, activities: Sequence[Activity], now: datetime, evaluation: Evaluation
) -> datetime | None:
    """The first change of temperature by fading and windows, attribute points held at the `evaluation`'s."""
    if not model.behaviour_changes_with_time:
        return None  # behaviour does not depend on time (version 1): nothing to walk
    walk = _Walk(model, activities, now, evaluation.attribute_points)
    return walk.first_change(now)


def _next_calendar_flip(model: ScoringModel, lead: Lead, now: datetime) -> datetime | None:
    """The first midnight after `now` at which a date condition of an attribute rule changes for this lead."""
    days = [
        day
        for read, condition in model.date_conditions
        if (value := read(lead)) is not None
        if (day := _flip_day(condition, value, now)) is not None
    ]
    return datetime.combine(min(days), time.min, now.tzinfo) if days else None


def _flip_day(condition: Condition, value: date, now: datetime) -> date | None:
    """The first day after today on which `condition` on the date `value` holds otherwise than today.

    A date condition compares `value` with the day N months ahead, which only grows: the answer
    changes at most once, and by the day `value` itself it has changed if it ever will.
    """

    def holds_on(day: date) -> bool:
        return condition.holds(value, datetime.combine(day, time.min, now.tzinfo))

    today, answer = now.date(), condition.holds(value, now)
    if value <= today or holds_on(value) == answer:
        return None
    low, high = today, value  # the answer is today's on `low`, the other one on `high`
    while (high - low).days > 1:
        middle = low + timedelta(days=(high - low).days // 2)
        low, high = (middle, high) if holds_on(middle) == answer else (low, middle)
    return high


def _temperature_of(evaluation: Evaluation, model: ScoringModel) -> Temperature:
    return temperature(evaluation.score, evaluation.hot_signal is not None, model)


@dataclass
class _Line:
    """One behaviour rule's line between two of its structural moments.

    Its total is `rule.points * (steady + fading * 2^(-(t - since) / half-life))`: `steady` counts
    the counted occurrences still ahead (worth 1 until they happen), `fading` is what the others
    are worth at `since` (epoch seconds). `points` is the rounded, capped value at the last breakpoint.
    """

    rule: ActivityRule
    counted: list[Activity]
    points: int
    since: float
    steady: int
    fading: float


class _Walk:
    """The score and hot signal from `now` on, moved from breakpoint to breakpoint in time order."""

    def __init__(self, model: ScoringModel, activities: Sequence[Activity], now: datetime, attribute_points: int):
        self._model, self._timezone = model, now.tzinfo
        self._by_kind = by_kind(activities)
        self._lines = [self._derive(rule, now) for rule in model.activity_rules]
        self._events: list[tuple[datetime, int, int]] = []  # (moment, line index, round)
        for index, rule in enumerate(model.activity_rules):
            for moment in self._structural_moments(rule, now):
                heapq.heappush(self._events, (moment, index, STRUCTURAL))
        self._attribute_points, self._round = attribute_points, 0
        self._score, self._hot = self._totals()

    def first_change(self, now: datetime) -> datetime | None:
        """The first breakpoint at which the temperature differs from the one at `now`, if any."""
        current = self._temperature()
        self._plan(current, now)
        while self._events:
            moment, relevant, derived = self._events[0][0], False, set()
            while self._events and self._events[0][0] == moment:
                _, index, round_ = heapq.heappop(self._events)
                relevant |= round_ in (STRUCTURAL, self._round)
                if round_ == STRUCTURAL:
                    self._lines[index] = self._derive(self._lines[index].rule, moment)
                    derived.add(index)
            if not relevant:
                continue  # a leap planned before the last breakpoint
            self._catch_up(moment, derived)
            if self._temperature() != current:
                return moment
            self._plan(current, moment)
        return None

    def _plan(self, current: Temperature, moment: datetime) -> None:
        """Schedule, for each line, the first second it could have moved far enough to change `current`.

        To leave its band the score must fall (or rise) by `need`; with `n` lines falling (rising),
        none moving `ceil(need / n)` points means all together moved less than `need`: until the
        first of them does, the temperature cannot change. Near a threshold that is every step.
        """
        self._round += 1
        if self._hot or self._model.half_life_days is None:
            return  # the hot signal holds whatever the score; without decay lines only change structurally
        low, high = _band(current, self._model)
        if low is not None:
            self._plan_side(falling=True, need=self._score - low + 1, moment=moment)
        if high is not None:
            self._plan_side(falling=False, need=high - self._score, moment=moment)

    def _plan_side(self, *, falling: bool, need: int, moment: datetime) -> None:
        moving = [index for index, line in enumerate(self._lines) if (line.points > 0 if falling else line.points < 0)]
        for index in moving:
            second = self._first_second_moved(self._lines[index], math.ceil(need / len(moving)), moment)
            if second is not None:
                heapq.heappush(self._events, (self._at(second), index, self._round))

    def _catch_up(self, moment: datetime, derived: set[int]) -> None:
        """Every line's points at `moment` (those derived there already are), then the score and hot signal."""
        if self._model.half_life_days is not None:
            for index, line in enumerate(self._lines):
                if index not in derived:
                    line.points = self._rounded_at(line, moment)
        self._score, self._hot = self._totals()

    def _derive(self, rule: ActivityRule, moment: datetime) -> _Line:
        """The rule's line from `moment` on, computed as scoring does."""
        half_life = self._model.half_life_days
        counted = counted_activities(rule, self._by_kind.get(rule.kind, ()), moment)
        started = [a for a in counted if a.occurred_at <= moment]
        points = round_points(capped(rule, faded_total(rule, counted, half_life, moment)))
        fading = faded_weight(started, moment, half_life)
        return _Line(rule, counted, points, moment.timestamp(), len(counted) - len(started), fading)

    def _first_second_moved(self, line: _Line, steps: int, after: datetime) -> int | None:
        """The first whole second (epoch) after `after` at which the line's points moved `steps` toward zero."""
        half_life = self._model.half_life_days
        target = abs(line.points) - steps
        if half_life is None or target < 0 or line.fading == 0:
            return None
        # the size of the total falls below target + 1/2 when the fading weight falls below `level`
        level = (target + 0.5) / abs(line.rule.points) - line.steady
        if level <= 0:
            return None
        crossing = line.since + half_life * SECONDS_PER_DAY * math.log2(line.fading / level)
        second = max(math.ceil(crossing), math.ceil(after.timestamp()))
        # floating point may put the crossing a hair late: then the second before may already have it
        while crossing - (second - 1) < NEAR and second - 1 > after.timestamp():
            if abs(self._rounded_at(line, self._at(second - 1))) > target:
                break
            second -= 1
        while abs(self._rounded_at(line, self._at(second))) > target:
            second += 1
        return second

    def _rounded_at(self, line: _Line, moment: datetime) -> int:
        """The line's rounded points at `moment`: by the closed form, or scoring's sum when too close to call."""
        half_life_seconds = (self._model.half_life_days or 0) * SECONDS_PER_DAY
        weight = line.steady + line.fading * 2 ** ((line.since - moment.timestamp()) / half_life_seconds)
        total = capped(line.rule, line.rule.points * weight)
        if abs(abs(total) % 1 - 0.5) > AMBIGUOUS * max(1.0, abs(total)):
            return round(total)  # not near a half: every rounding agrees with round_points
        return round_points(capped(line.rule, faded_total(line.rule, line.counted, self._model.half_life_days, moment)))

    def _at(self, second: int) -> datetime:
        return datetime.fromtimestamp(second, self._timezone)

    def _structural_moments(self, rule: ActivityRule, now: datetime) -> Iterator[datetime]:
        """Where the rule's line changes form after `now`: window exits, future occurrences starting to fade."""
        for activity in self._by_kind.get(rule.kind, ()):
            if not rule.matches(activity.kind, activity.properties, now):
                continue
            if rule.window is not None and activity.occurred_at + timedelta(days=rule.window.days) > now:
                yield activity.occurred_at + timedelta(days=rule.window.days)
            if self._model.half_life_days is not None and activity.occurred_at > now:
                yield activity.occurred_at

    def _totals(self) -> tuple[int, bool]:
        score = self._attribute_points + sum(line.points for line in self._lines)
        return score, any(line.rule.immediate_hot and line.counted for line in self._lines)

    def _temperature(self) -> Temperature:
        return temperature(self._score, self._hot, self._model)


def _band(current: Temperature, model: ScoringModel) -> tuple[int | None, int | None]:
    """The scores [low, high) that keep `current` (None: unbounded)."""
    if current is Temperature.HOT:
        return model.hot_threshold, None
    if current is Temperature.WARM:
        return model.warm_threshold, model.hot_threshold
    return None, model.warm_threshold
