"""Calibration: how leads of each score band and each rule turned out, and what the rules should weigh.

The counts arrive aggregated from storage (by peak score, by rule, by the set of rules that fired);
this module bands them, lines them up with the active model's rules and asks the fit in
`weights.py` for suggested points. Which leads count, which score bands them and what "a rule
fired" means is written down in docs/semantics.md.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields

from leadcycle.domain.weights import RulePattern, fit_rule_weights, points_on_scale

DEFAULT_MIN_EVIDENCE = 30


@dataclass(frozen=True)
class Outcomes:
    """How many leads of a group reached each stage, and how sales judged them."""

    leads: int = 0
    reached_mql: int = 0
    reached_opportunity: int = 0
    won: int = 0
    accepted: int = 0
    rejected: int = 0

    def __add__(self, other: Outcomes) -> Outcomes:
        return Outcomes(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


@dataclass(frozen=True)
class ScoreBand:
    """Scores from `lowest` to `highest`, both included; None leaves that end open."""

    lowest: int | None
    highest: int | None

    def holds(self, score: int) -> bool:
        return (self.lowest is None or score >= self.lowest) and (self.highest is None or score <= self.highest)

    @property
    def label(self) -> str:
        if self.lowest is None:
            return f"below {self.highest + 1}" if self.highest is not None else "any"
        return f"{self.lowest}+" if self.highest is None else f"{self.lowest}-{self.highest}"


def threshold_bands(warm_threshold: int, hot_threshold: int) -> tuple[ScoreBand, ...]:
    """Below warm, warm to hot, hot to one more warm-to-hot step, and above (0-19, 20-49, 50-79, 80+).

    Equal thresholds give fewer bands, never an empty one.
    """
    edges = sorted({warm_threshold, hot_threshold, hot_threshold + abs(hot_threshold - warm_threshold)})
    return (
        ScoreBand(None, edges[0] - 1),
        *(ScoreBand(low, high - 1) for low, high in itertools.pairwise(edges)),
        ScoreBand(edges[-1], None),
    )


def uniform_bands(width: int, scores: Iterable[int], hot_threshold: int) -> tuple[ScoreBand, ...]:
    """Bands of `width` aligned on 0, from the lowest score seen (or 0) to the highest (or the hot threshold)."""
    seen = list(scores)
    first = min([0, *seen]) // width
    last = max([hot_threshold, *seen]) // width
    return tuple(ScoreBand(n * width, (n + 1) * width - 1) for n in range(first, last + 1))


@dataclass(frozen=True)
class BandCalibration:
    band: ScoreBand
    outcomes: Outcomes


def by_band(bands: Sequence[ScoreBand], by_peak: Mapping[int, Outcomes]) -> list[BandCalibration]:
    """The outcomes of each band, zeros included; `bands` must cover every score in `by_peak`."""
    return [
        BandCalibration(band, sum((o for score, o in by_peak.items() if band.holds(score)), Outcomes()))
        for band in bands
    ]


@dataclass(frozen=True)
class RuleCalibration:
    """A rule's outcomes and, when the evidence allows, the points the fit suggests for it."""

    rule: str
    current_points: int | None
    outcomes: Outcomes
    suggested_points: int | None
    note: str | None


def by_rule(
    current_points: Mapping[str, int],
    by_fired_rule: Mapping[str, Outcomes],
    patterns: Sequence[RulePattern],
    min_evidence: int = DEFAULT_MIN_EVIDENCE,
) -> list[RuleCalibration]:
    """Every rule of the active model (in its order), then others that fired, with suggested points.

    A rule is fitted when at least `min_evidence` leads had it fire and as many did not; the
    fit needs leads that reached OPPORTUNITY and leads that did not.
    """
    total = sum(p.leads for p in patterns)
    converted = sum(p.leads for p in patterns if p.reached_opportunity)
    evidence = {rule: by_fired_rule.get(rule, Outcomes()).leads for rule in current_points}
    fitted = [r for r, n in evidence.items() if n >= min_evidence and total - n >= min_evidence]
    no_contrast = converted == 0 or converted == total
    suggested = {} if no_contrast else _suggested(fitted, current_points, patterns)
    rules = [*current_points, *sorted(set(by_fired_rule) - set(current_points))]
    return [
        RuleCalibration(
            rule,
            current_points.get(rule),
            by_fired_rule.get(rule, Outcomes()),
            suggested.get(rule),
            _note(rule, current_points, suggested, no_contrast, min_evidence),
        )
        for rule in rules
    ]


def _suggested(
    fitted: Sequence[str], current_points: Mapping[str, int], patterns: Sequence[RulePattern]
) -> dict[str, int]:
    coefficients = fit_rule_weights(patterns, fitted)
    return points_on_scale(coefficients, {rule: current_points[rule] for rule in fitted})


def _note(
    rule: str, current_points: Mapping[str, int], suggested: Mapping[str, int], no_contrast: bool, min_evidence: int
) -> str | None:
    if rule not in current_points:
        return "Not a rule of the active model: no suggestion."
    if rule in suggested:
        return None
    if no_contrast:
        return "No suggestion: the fit needs leads that reached OPPORTUNITY and leads that did not."
    return (
        f"Too little evidence: the fit needs at least {min_evidence} leads with this rule and {min_evidence} without."
    )
