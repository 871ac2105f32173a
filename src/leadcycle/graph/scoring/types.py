"""Scoring models as marketing reads them: thresholds, rules, the document, and their history."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from leadcycle.domain import errors, scoring_models
from leadcycle.domain.rules import ActivityRule
from leadcycle.domain.rules import ScoringModel as DomainModel
from leadcycle.domain.rules_json import model_to_json
from leadcycle.domain.scoring_models import StoredModel
from leadcycle.graph.problems import ValidationProblem

strawberry.enum(
    scoring_models.ModelStatus,
    name="ScoringModelStatus",
    description="DRAFT: written, never in force. ACTIVE: the one model in force. RETIRED: was in force once.",
)
ScoringModelStatus = scoring_models.ModelStatus  # the domain's enum, registered above under its API name


@strawberry.type(description="One scoring rule.")
class ScoringRule:
    name: str = strawberry.field(description="Stable name of the rule.")
    description: str = strawberry.field(description="What the rule rewards or penalises.")
    points: int = strawberry.field(description="Points per application (negative penalises).")
    immediate_hot: bool = strawberry.field(description="An activity matching this rule moves the lead straight to MQL.")


@strawberry.type(description="A scoring model version: thresholds and rules.")
class ScoringModel:
    version: int = strawberry.field(description="Version of the model.")
    warm_threshold: int = strawberry.field(description="Score at which a lead is WARM.")
    hot_threshold: int = strawberry.field(description="Score at which a lead is HOT and moves to MQL.")
    rules: list[ScoringRule] = strawberry.field(description="Behaviour and attribute rules.")
    half_life_days: int | None = strawberry.field(
        description="Days after which behaviour points are worth half; null means they never fade."
    )
    definition: JSON = strawberry.field(
        description="The model as the JSON document createScoringModelDraft takes (docs/semantics.md)."
    )
    status: ScoringModelStatus = strawberry.field(description="Draft, active or retired.")
    note: str | None = strawberry.field(description="What its author said of it.")
    created_at: datetime = strawberry.field(description="When the version was stored.")
    created_by: str = strawberry.field(description="Who stored it (X-Actor).")
    activated_at: datetime | None = strawberry.field(description="When it was last put in force; null for drafts.")
    activated_by: str | None = strawberry.field(description="Who last put it in force.")

    @classmethod
    def from_domain(cls, stored: StoredModel) -> ScoringModel:
        model = stored.model
        return cls(
            version=model.version,
            warm_threshold=model.warm_threshold,
            hot_threshold=model.hot_threshold,
            rules=_rules(model),
            half_life_days=model.half_life_days,
            definition=JSON(model_to_json(model)),
            status=stored.status,
            note=stored.note,
            created_at=stored.created_at,
            created_by=stored.created_by,
            activated_at=stored.activated_at,
            activated_by=stored.activated_by,
        )


def _rules(model: DomainModel) -> list[ScoringRule]:
    return [
        ScoringRule(
            name=r.name,
            description=r.explanation,
            points=r.points,
            immediate_hot=isinstance(r, ActivityRule) and r.immediate_hot,
        )
        for r in model.rules
    ]


@strawberry.type(description="What validateScoringModel found: every problem of the document, or none.")
class ScoringModelValidation:
    valid: bool = strawberry.field(description="True when createScoringModelDraft would accept the document.")
    problems: list[ValidationProblem] = strawberry.field(
        description="Every problem, each naming its path in the document, e.g. 'rules[2].when.page'."
    )

    @classmethod
    def of(cls, problems: list[errors.InvalidInput]) -> ScoringModelValidation:
        return cls(valid=not problems, problems=[ValidationProblem(message=p.message, field=p.field) for p in problems])
