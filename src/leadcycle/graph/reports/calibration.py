"""The calibration report: outcomes per score band and per rule, with suggested rule points."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from leadcycle.domain import calibration
from leadcycle.domain.rules import ScoringModel
from leadcycle.graph.context import Info
from leadcycle.graph.errors import ClientError
from leadcycle.graph.leads.connection import LeadFilter
from leadcycle.graph.leads.queries import to_filter
from leadcycle.graph.reports.queries import aware
from leadcycle.persistence.calibration import calibration_counts

MAX_BANDS = 50
BAND_WIDTH = (
    "Equal bands of this width aligned on 0 instead of bands at the active model's thresholds; "
    f"a width making more than {MAX_BANDS} bands is a GraphQL error."
)
MIN_EVIDENCE = "Leads needed with and without a rule before the fit suggests points for it."
MIN_EVIDENCE_ARGUMENT = f"{MIN_EVIDENCE} Default {calibration.DEFAULT_MIN_EVIDENCE}."


@strawberry.type(description="How many leads of a group reached each stage, and how sales judged them.")
class CalibrationOutcomes:
    leads: int = strawberry.field(description="Leads in the group.")
    reached_mql: int = strawberry.field(description="Of those, how many ever reached MQL.")
    reached_opportunity: int = strawberry.field(description="Of those, how many ever reached OPPORTUNITY.")
    won: int = strawberry.field(description="Of those, how many are WON.")
    sales_accepted: int = strawberry.field(description="Of those, how many sales accepted as MQL at least once.")
    sales_rejected: int = strawberry.field(description="Of those, how many sales rejected as MQL at least once.")
    opportunity_rate: float = strawberry.field(description="reachedOpportunity / leads (0.0 when none).")

    @classmethod
    def from_domain(cls, outcomes: calibration.Outcomes) -> CalibrationOutcomes:
        return cls(
            leads=outcomes.leads,
            reached_mql=outcomes.reached_mql,
            reached_opportunity=outcomes.reached_opportunity,
            won=outcomes.won,
            sales_accepted=outcomes.accepted,
            sales_rejected=outcomes.rejected,
            opportunity_rate=outcomes.reached_opportunity / outcomes.leads if outcomes.leads else 0.0,
        )


@strawberry.type(description="The leads whose peak score before OPPORTUNITY lies in one band.")
class ScoreBandCalibration:
    label: str = strawberry.field(description='The band as marketing reads it: "20-49", "80+", "below 20".')
    min_score: int | None = strawberry.field(description="Lowest score of the band (null: no lower end).")
    max_score: int | None = strawberry.field(description="Highest score of the band, included (null: no upper end).")
    outcomes: CalibrationOutcomes = strawberry.field(description="How the band's leads turned out.")


@strawberry.type(description="How the leads a rule fired for turned out, and the points the fit suggests for it.")
class RuleCalibration:
    rule: str = strawberry.field(description="Stable name of the rule.")
    current_points: int | None = strawberry.field(
        description="Points of the rule in the active model (null: the rule is not in it)."
    )
    suggested_points: int | None = strawberry.field(
        description="Points the fit suggests, on the active model's scale; null when the evidence is too thin "
        "(`note` says why). A suggestion changes nothing until a scoring model built from it is activated."
    )
    note: str | None = strawberry.field(description="Why there is no suggestion, when there is none.")
    outcomes: CalibrationOutcomes = strawberry.field(
        description="The leads the rule fired for (the evidence size) and how they turned out."
    )


@strawberry.type(description="Scoring calibrated against outcomes for the leads created in [from, to).")
class CalibrationReport:
    since: datetime = strawberry.field(name="from", description="Start of the window (included).")
    until: datetime = strawberry.field(name="to", description="End of the window (excluded).")
    model_version: int = strawberry.field(description="Version of the active model the suggestions are scaled to.")
    min_evidence: int = strawberry.field(description=MIN_EVIDENCE)
    total: CalibrationOutcomes = strawberry.field(description="All leads of the window.")
    bands: list[ScoreBandCalibration] = strawberry.field(
        description="Score bands from lowest to highest, zeros included."
    )
    rules: list[RuleCalibration] = strawberry.field(
        description="The active model's rules in its order, then other rules that fired, by name."
    )


def _window(since: datetime, until: datetime) -> None:
    aware(since, "from")
    aware(until, "to")
    if until < since:
        raise ClientError("to lies before from: give the window's start as from and its end as to")


def _at_least_one(value: int | None, name: str) -> int | None:
    if value is not None and value < 1:
        raise ClientError(f"{name} must be at least 1")
    return value


def _bands(model: ScoringModel, width: int | None, scores: list[int]) -> tuple[calibration.ScoreBand, ...]:
    if width is None:
        return calibration.threshold_bands(model.warm_threshold, model.hot_threshold)
    bands = calibration.uniform_bands(width, scores, model.hot_threshold)
    if len(bands) > MAX_BANDS:
        raise ClientError(f"bandWidth {width} makes {len(bands)} bands of these scores; at most {MAX_BANDS}")
    return bands


@strawberry.type
class CalibrationQueries:
    @strawberry.field(
        description="Outcomes per score band and per rule for the leads created in [from, to) matching the filter, "
        "with suggested rule points from a logistic regression on reaching OPPORTUNITY. Bands follow the "
        "active model's thresholds unless bandWidth is given. A reversed window is a GraphQL error."
    )
    async def calibration_report(
        self,
        info: Info,
        since: Annotated[datetime, strawberry.argument(name="from", description="Start of the window (included).")],
        until: Annotated[datetime, strawberry.argument(name="to", description="End of the window (excluded).")],
        filter: Annotated[LeadFilter | None, strawberry.argument(description="Only leads matching this.")] = None,
        band_width: Annotated[int | None, strawberry.argument(description=BAND_WIDTH)] = None,
        min_evidence: Annotated[int | None, strawberry.argument(description=MIN_EVIDENCE_ARGUMENT)] = None,
    ) -> CalibrationReport:
        _window(since, until)
        width = _at_least_one(band_width, "bandWidth")
        evidence = _at_least_one(min_evidence, "minEvidence") or calibration.DEFAULT_MIN_EVIDENCE
        counts = await calibration_counts(info.context.services.engine, to_filter(filter), since, until)
        model = (await info.context.services.leads.refresh_policy()).scoring
        bands = calibration.by_band(_bands(model, width, list(counts.by_peak)), counts.by_peak)
        current = {rule.name: rule.points for rule in model.rules}
        return CalibrationReport(
            since=since,
            until=until,
            model_version=model.version,
            min_evidence=evidence,
            total=CalibrationOutcomes.from_domain(sum((b.outcomes for b in bands), calibration.Outcomes())),
            bands=[_band(b) for b in bands],
            rules=[_rule(r) for r in calibration.by_rule(current, counts.by_rule, counts.patterns, evidence)],
        )


def _band(band: calibration.BandCalibration) -> ScoreBandCalibration:
    return ScoreBandCalibration(
        label=band.band.label,
        min_score=band.band.lowest,
        max_score=band.band.highest,
        outcomes=CalibrationOutcomes.from_domain(band.outcomes),
    )


def _rule(rule: calibration.RuleCalibration) -> RuleCalibration:
    return RuleCalibration(
        rule=rule.rule,
        current_points=rule.current_points,
        suggested_points=rule.suggested_points,
        note=rule.note,
        outcomes=CalibrationOutcomes.from_domain(rule.outcomes),
    )
