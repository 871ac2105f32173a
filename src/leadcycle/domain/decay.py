"""When a lead left alone next changes temperature: the time the periodic refresh looks at it again.

Decay and windows make the score a function of time, but nothing is rewritten as time passes:
each scoring stores `review_at`, the first moment the temperature would differ from the one just
computed, and the refresh job picks only leads whose moment has come. Its cost follows the leads
that change, not the number of leads.

Between two window expiries a decaying score moves monotonically as long as the behaviour rules
that count have one sign (positive points fade down, penalties fade up), so the crossing is
found by bisection to the minute. With rules of both signs a brief excursion across a threshold
can be missed; the temperature is then exact again at the next review or change.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from leadcycle.domain.model import Activity, Lead
from leadcycle.domain.rules import ScoringModel
from leadcycle.domain.scoring import evaluate, temperature
from leadcycle.domain.stages import Temperature

HORIZON_HALF_LIVES = 12  # after 12 half-lives a point is worth less than 1/4000: nothing left to cross
PRECISION = timedelta(minutes=1)


def next_review(model: ScoringModel, lead: Lead, activities: Sequence[Activity], now: datetime) -> datetime | None:
    """The first moment after `now` the lead's temperature would change by time alone, or None if never."""
    if model.half_life_days is None and not any(rule.window for rule in model.activity_rules):
        return None  # the score does not depend on time (version 1): nothing to evaluate
    current = _temperature_at(model, lead, activities, now)
    start = now
    for end in _checkpoints(model, activities, now):
        if _temperature_at(model, lead, activities, end) != current:
            return end if model.half_life_days is None else _crossing(model, lead, activities, current, start, end)
        start = end
    return None


def _checkpoints(model: ScoringModel, activities: Sequence[Activity], now: datetime) -> list[datetime]:
    """Window expiries after `now` in order, then the decay horizon: where the score may jump or settle."""
    expiries = {
        a.occurred_at + timedelta(days=rule.window.days)
        for rule in model.activity_rules
        if rule.window is not None
        for a in activities
        if rule.matches(a.kind, a.properties, now)
    }
    points = sorted(t for t in expiries if t > now)
    if model.half_life_days is not None:
        horizon = max([now, *points]) + timedelta(days=model.half_life_days * HORIZON_HALF_LIVES)
        points.append(horizon)
    return points


def _crossing(
    model: ScoringModel,
    lead: Lead,
    activities: Sequence[Activity],
    current: Temperature,
    start: datetime,
    end: datetime,
) -> datetime:
    """The first minute in (start, end] whose temperature differs from `current` (it does at `end`)."""
    low, high = start, end
    while high - low > PRECISION:
        middle = low + (high - low) / 2
        if _temperature_at(model, lead, activities, middle) != current:
            high = middle
        else:
            low = middle
    return high


def _temperature_at(model: ScoringModel, lead: Lead, activities: Sequence[Activity], at: datetime) -> Temperature:
    evaluation = evaluate(model, lead, activities, at)
    return temperature(evaluation.score, evaluation.hot_signal is not None, model)
