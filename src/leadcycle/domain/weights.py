"""Suggested rule weights: L2-regularised logistic regression of reaching OPPORTUNITY on the rules that fired.

Leads arrive grouped by the set of rules that fired for them and whether they reached
OPPORTUNITY, so the fit is weighted by group size and its cost does not grow with the number
of leads. Newton's method from zero is deterministic: the same counts give the same weights.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

L2_STRENGTH = 1.0
_MAX_STEPS = 50
_TOLERANCE = 1e-9

Vector = npt.NDArray[np.float64]


@dataclass(frozen=True)
class RulePattern:
    """`leads` leads had exactly the rules `fired` fire, and did or did not reach OPPORTUNITY."""

    fired: frozenset[str]
    reached_opportunity: bool
    leads: int


def fit_rule_weights(
    patterns: Sequence[RulePattern], rules: Sequence[str], l2: float = L2_STRENGTH
) -> dict[str, float]:
    """The log-odds each rule adds to reaching OPPORTUNITY (the intercept is not penalised)."""
    if not rules:
        return {}
    # Storage returns groups in any order; a fixed order makes the floating-point sums repeatable.
    patterns = sorted(patterns, key=lambda p: (sorted(p.fired), p.reached_opportunity, p.leads))
    features = np.array([[1.0, *(rule in p.fired for rule in rules)] for p in patterns], dtype=np.float64)
    outcome = np.array([p.reached_opportunity for p in patterns], dtype=np.float64)
    counts = np.array([p.leads for p in patterns], dtype=np.float64)
    penalty = np.diag([0.0, *([l2] * len(rules))])
    beta = np.zeros(len(rules) + 1)
    for _ in range(_MAX_STEPS):
        step = _newton_step(features, outcome, counts, penalty, beta)
        beta -= step
        if np.max(np.abs(step)) < _TOLERANCE:
            break
    return {rule: float(weight) for rule, weight in zip(rules, beta[1:], strict=True)}


def _newton_step(features: Vector, outcome: Vector, counts: Vector, penalty: Vector, beta: Vector) -> Vector:
    probability = 1.0 / (1.0 + np.exp(-np.clip(features @ beta, -35.0, 35.0)))
    gradient = features.T @ (counts * (probability - outcome)) + penalty @ beta
    curvature = counts * probability * (1.0 - probability)
    hessian = features.T @ (features * curvature[:, None]) + penalty
    return np.asarray(np.linalg.solve(hessian, gradient), dtype=np.float64)


def points_on_scale(weights: Mapping[str, float], current_points: Mapping[str, int]) -> dict[str, int]:
    """Weights as whole points, scaled so their mean absolute value matches the current points'."""
    if not weights:
        return {}
    weight_size = float(np.mean([abs(w) for w in weights.values()]))
    points_size = float(np.mean([abs(current_points[rule]) for rule in weights]))
    scale = points_size / weight_size if weight_size > _TOLERANCE else 0.0
    return {rule: round(weight * scale) for rule, weight in weights.items()}
