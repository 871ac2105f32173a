"""When a lead left alone next changes temperature: the time the periodic refresh looks at it again.

Decay and windows make the score a function of time, but nothing is rewritten as time passes:
each scoring stores `review_at`, the first moment the temperature would differ from the one just
computed, and the refresh job picks only leads whose moment has come. Its cost follows the leads
that change, not the number of leads.

With no new activity the score is piecewise constant, so that moment is found exactly, without
sampling. Each behaviour line is `points * (steady + fading * 2^(-(t - since) / half-life))`,
capped, then rounded once, between its structural moments: an occurrence leaving the rule's
window (which may also take it below `atLeast`) or a future-dated one starting to fade. Between
them its rounded value steps toward zero one whole point at a time, at moments with a closed form
(where the exact total crosses the next half). `next_review` walks every line's structural moments
and steps in time order, keeping the score and the immediate-hot signal up to date, and returns the
first at which the temperature differs. A step is reported at the first whole second at which it
has happened; a structural moment exactly. A line reaches its final value after finitely many
steps, so None ("never") is exact too. Attribute lines are held at their value at `now`: a
calendar condition ("a year away") is judged again at the lead's next change or review.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from leadcycle.domain.model import Activity, Lead
from leadcycle.domain.rules import ActivityRule, ScoringModel
from leadcycle.domain.scoring import (
    SECONDS_PER_DAY,
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
STRUCTURAL = -1  # the generation of a structural event: it applies to whatever line is current


def next_review(model: ScoringModel, lead: Lead, activities: Sequence[Activity], now: datetime) -> datetime | None:
    """The first moment after `now` the lead's temperature would change by time alone, or None if never."""
    if model.half_life_days is None and not any(rule.window for rule in model.activity_rules):
        return None  # the score does not depend on time (version 1): nothing to evaluate
    walk = _Walk(model, activities, now, attribute_points=evaluate(model, lead, (), now).score)
    return walk.first_change()


@dataclass
class _Line:
    """One behaviour rule's line between two of its structural moments.

    Its total is `rule.points * (steady + fading * 2^(-(t - since) / half-life))`: `steady` counts
    the counted occurrences still ahead (worth 1 until they happen), `fading` is what the others
    are worth at `since` (epoch seconds). `points` is the rounded, capped value now.
    """

    rule: ActivityRule
    counted: list[Activity]
    points: int
    since: float
    steady: int
    fading: float
    generation: int


class _Walk:
    """The score and hot signal from `now` on, moved from breakpoint to breakpoint in time order."""

    def __init__(self, model: ScoringModel, activities: Sequence[Activity], now: datetime, attribute_points: int):
        self._model, self._timezone = model, now.tzinfo
        self._by_kind: dict[str, list[Activity]] = {}
        for activity in activities:
            self._by_kind.setdefault(activity.kind, []).append(activity)
        # (moment, line index, generation, the line's points from then on: a step's outcome)
        self._events: list[tuple[datetime, int, int, int]] = []
        self._lines = [self._derive(index, rule, now, generation=0) for index, rule in enumerate(model.activity_rules)]
        for index, rule in enumerate(model.activity_rules):
            for moment in self._structural_moments(rule, now):
                heapq.heappush(self._events, (moment, index, STRUCTURAL, 0))
        self._score = attribute_points + sum(line.points for line in self._lines)
        self._hot = self._any_hot_line()
        self._stale: set[int] = set()  # lines whose steps were skipped while the hot signal held

    def first_change(self) -> datetime | None:
        """The first breakpoint at which the temperature differs from the one at `now`, if any."""
        current = self._temperature()
        while self._events:
            moment = self._events[0][0]
            while self._events and self._events[0][0] == moment:
                _, index, generation, points = heapq.heappop(self._events)
                self._apply(index, generation, points, moment)
            if not self._hot:
                self._rederive_stale(moment)
            if self._temperature() != current:
                return moment
        return None

    def _apply(self, index: int, generation: int, points: int, moment: datetime) -> None:
        line = self._lines[index]
        if generation == STRUCTURAL:
            self._replace(index, moment)
        elif generation == line.generation and self._hot:
            self._stale.add(index)  # the temperature is HOT whatever the score: catch up when it ends
        elif generation == line.generation:
            self._score += points - line.points
            line.points = points
            self._schedule_step(index, line)

    def _rederive_stale(self, moment: datetime) -> None:
        for index in self._stale:
            self._replace(index, moment)
        self._stale.clear()

    def _replace(self, index: int, moment: datetime) -> None:
        """Derive the line again at one of its structural moments; its scheduled step no longer applies."""
        old = self._lines[index]
        self._lines[index] = new = self._derive(index, old.rule, moment, old.generation + 1)
        self._score += new.points - old.points
        self._hot = self._any_hot_line()

    def _derive(self, index: int, rule: ActivityRule, moment: datetime, generation: int) -> _Line:
        """The rule's line from `moment` on, computed as scoring does, with its next step scheduled."""
        half_life = self._model.half_life_days
        counted = counted_activities(rule, self._by_kind.get(rule.kind, ()), moment)
        started = [a for a in counted if a.occurred_at <= moment]
        points = round_points(capped(rule, faded_total(rule, counted, half_life, moment)))
        fading = faded_weight(started, moment, half_life)
        line = _Line(rule, counted, points, moment.timestamp(), len(counted) - len(started), fading, generation)
        self._schedule_step(index, line)
        return line

    def _schedule_step(self, index: int, line: _Line) -> None:
        step = self._next_step(line)
        if step is not None:
            second, points = step
            moment = datetime.fromtimestamp(second, self._timezone)
            heapq.heappush(self._events, (moment, index, line.generation, points))

    def _next_step(self, line: _Line) -> tuple[int, int] | None:
        """The first whole second (epoch) at which the line's rounded points move toward zero, and to what."""
        half_life = self._model.half_life_days
        if half_life is None or line.points == 0 or line.fading == 0:
            return None
        # the size of the total falls below |points| - 1/2 when the fading weight falls below `level`
        level = (abs(line.points) - 0.5) / abs(line.rule.points) - line.steady
        if level <= 0:
            return None
        crossing = line.since + half_life * SECONDS_PER_DAY * math.log2(line.fading / level)
        second = max(math.ceil(crossing), math.ceil(line.since))
        # floating point may put the crossing a hair late: then the second before may already have it
        while crossing - (second - 1) < NEAR and second - 1 > line.since:
            if self._rounded_at(line, second - 1) == line.points:
                break
            second -= 1
        while (points := self._rounded_at(line, second)) == line.points:
            second += 1
        return second, points

    def _rounded_at(self, line: _Line, second: int) -> int:
        """The line's rounded points at epoch `second`: by the closed form, or scoring's sum when too close to call."""
        half_life_seconds = (self._model.half_life_days or 0) * SECONDS_PER_DAY
        weight = line.steady + line.fading * 2 ** ((line.since - second) / half_life_seconds)
        total = capped(line.rule, line.rule.points * weight)
        if abs(abs(total) % 1 - 0.5) > AMBIGUOUS * max(1.0, abs(total)):
            return round_points(total)
        moment = datetime.fromtimestamp(second, self._timezone)
        return round_points(capped(line.rule, faded_total(line.rule, line.counted, self._model.half_life_days, moment)))

    def _structural_moments(self, rule: ActivityRule, now: datetime) -> Iterator[datetime]:
        """Where the rule's line changes form after `now`: window exits, future occurrences starting to fade."""
        for activity in self._by_kind.get(rule.kind, ()):
            if not rule.matches(activity.kind, activity.properties, now):
                continue
            if rule.window is not None and activity.occurred_at + timedelta(days=rule.window.days) > now:
                yield activity.occurred_at + timedelta(days=rule.window.days)
            if self._model.half_life_days is not None and activity.occurred_at > now:
                yield activity.occurred_at

    def _any_hot_line(self) -> bool:
        return any(line.rule.immediate_hot and line.counted for line in self._lines)

    def _temperature(self) -> Temperature:
        return temperature(self._score, self._hot, self._model)
