"""Calibration: score bands, outcomes per band and rule, and suggested points from the fit."""

from __future__ import annotations

import pytest

from leadcycle.domain.calibration import (
    Outcomes,
    ScoreBand,
    by_band,
    by_rule,
    threshold_bands,
    uniform_bands,
)
from leadcycle.domain.weights import RulePattern, fit_rule_weights, points_on_scale

PERFECT, NOISE, HELPFUL = "activity.demo_request", "activity.email_open", "activity.webinar_attended"
CURRENT_POINTS = {PERFECT: 20, NOISE: 1, HELPFUL: 10}


def pattern(*fired: str, converted: bool, leads: int) -> RulePattern:
    return RulePattern(frozenset(fired), converted, leads)


def known_answer_patterns() -> list[RulePattern]:
    """400 leads. PERFECT fired for exactly the 100 that reached OPPORTUNITY. NOISE fired for half of
    each group, so it tells nothing. HELPFUL fired for 60 of the converted and 100 of the 300 others."""
    return [
        pattern(PERFECT, NOISE, HELPFUL, converted=True, leads=30),
        pattern(PERFECT, HELPFUL, converted=True, leads=30),
        pattern(PERFECT, NOISE, converted=True, leads=20),
        pattern(PERFECT, converted=True, leads=20),
        pattern(NOISE, HELPFUL, converted=False, leads=50),
        pattern(HELPFUL, converted=False, leads=50),
        pattern(NOISE, converted=False, leads=100),
        pattern(converted=False, leads=100),
    ]


class TestFitRuleWeights:
    def test_a_rule_that_perfectly_predicts_opportunity_weighs_most(self) -> None:
        weights = fit_rule_weights(known_answer_patterns(), [PERFECT, NOISE, HELPFUL])
        assert max(weights, key=weights.__getitem__) == PERFECT
        assert weights[PERFECT] > 3

    def test_a_rule_that_predicts_nothing_weighs_about_zero(self) -> None:
        weights = fit_rule_weights(known_answer_patterns(), [PERFECT, NOISE, HELPFUL])
        assert abs(weights[NOISE]) < 0.05

    def test_is_deterministic(self) -> None:
        patterns = known_answer_patterns()
        assert fit_rule_weights(patterns, [PERFECT, NOISE]) == fit_rule_weights(
            list(reversed(patterns)), [PERFECT, NOISE]
        )

    def test_regularisation_keeps_a_perfect_predictor_finite(self) -> None:
        weights = fit_rule_weights(
            [pattern(PERFECT, converted=True, leads=50), pattern(converted=False, leads=50)], [PERFECT]
        )
        assert 0 < weights[PERFECT] < 20


class TestPointsOnScale:
    def test_mean_absolute_points_match_the_current_ones(self) -> None:
        points = points_on_scale({PERFECT: 3.0, NOISE: -1.0, HELPFUL: 2.0}, {PERFECT: 20, NOISE: 5, HELPFUL: 5})
        assert points == {PERFECT: 15, NOISE: -5, HELPFUL: 10}

    def test_weights_of_zero_suggest_zero_points(self) -> None:
        assert points_on_scale({PERFECT: 0.0, NOISE: 0.0}, CURRENT_POINTS) == {PERFECT: 0, NOISE: 0}


class TestBands:
    def test_threshold_bands_follow_warm_and_hot(self) -> None:
        bands = threshold_bands(warm_threshold=20, hot_threshold=50)
        assert [b.label for b in bands] == ["below 20", "20-49", "50-79", "80+"]
        assert bands[0].holds(-15)
        assert bands[3].holds(500)

    def test_equal_thresholds_give_no_empty_band(self) -> None:
        assert [b.label for b in threshold_bands(warm_threshold=40, hot_threshold=40)] == ["below 40", "40+"]

    def test_uniform_bands_reach_from_the_lowest_to_the_highest_score(self) -> None:
        bands = uniform_bands(25, [-3, 120], hot_threshold=50)
        assert [b.label for b in bands] == ["-25--1", "0-24", "25-49", "50-74", "75-99", "100-124"]

    def test_uniform_bands_without_scores_reach_the_hot_threshold(self) -> None:
        assert [b.label for b in uniform_bands(30, [], hot_threshold=50)] == ["0-29", "30-59"]

    def test_outcomes_of_scores_add_up_per_band_with_empty_bands_kept(self) -> None:
        bands = (ScoreBand(None, 19), ScoreBand(20, 49), ScoreBand(50, None))
        by_peak = {0: Outcomes(leads=3), 19: Outcomes(leads=1), 60: Outcomes(leads=2, reached_mql=2, won=1)}
        assert [b.outcomes for b in by_band(bands, by_peak)] == [
            Outcomes(leads=4),
            Outcomes(),
            Outcomes(leads=2, reached_mql=2, won=1),
        ]


class TestByRule:
    def rule_outcomes(self) -> dict[str, Outcomes]:
        return {
            PERFECT: Outcomes(leads=100, reached_opportunity=100),
            NOISE: Outcomes(leads=200, reached_opportunity=50),
            HELPFUL: Outcomes(leads=160, reached_opportunity=60),
            "activity.retired_rule": Outcomes(leads=7),
        }

    def test_suggests_points_on_the_current_scale(self) -> None:
        rows = {r.rule: r for r in by_rule(CURRENT_POINTS, self.rule_outcomes(), known_answer_patterns())}
        assert rows[PERFECT].suggested_points == max(r.suggested_points or 0 for r in rows.values())
        assert rows[NOISE].suggested_points == 0
        assert rows[HELPFUL].suggested_points is not None
        assert rows[HELPFUL].suggested_points > 0

    def test_lists_model_rules_first_then_others_that_fired(self) -> None:
        rows = by_rule(CURRENT_POINTS, self.rule_outcomes(), known_answer_patterns())
        assert [r.rule for r in rows] == [PERFECT, NOISE, HELPFUL, "activity.retired_rule"]
        assert rows[3].current_points is None
        assert rows[3].suggested_points is None
        assert rows[3].note == "Not a rule of the active model: no suggestion."

    @pytest.mark.parametrize("min_evidence", [101, 301])
    def test_a_rule_with_too_few_leads_with_or_without_it_gets_no_number(self, min_evidence: int) -> None:
        rows = {r.rule: r for r in by_rule(CURRENT_POINTS, self.rule_outcomes(), known_answer_patterns(), min_evidence)}
        assert rows[PERFECT].suggested_points is None
        assert rows[PERFECT].note is not None
        assert rows[PERFECT].note.startswith("Too little evidence")

    def test_no_suggestion_when_no_lead_reached_opportunity(self) -> None:
        patterns = [pattern(PERFECT, converted=False, leads=50), pattern(converted=False, leads=50)]
        rows = by_rule({PERFECT: 20}, {PERFECT: Outcomes(leads=50)}, patterns, min_evidence=10)
        assert rows[0].suggested_points is None
        assert rows[0].note is not None
        assert "leads that reached OPPORTUNITY" in rows[0].note
