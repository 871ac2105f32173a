"""The scoring model in force, as marketing reads it."""

from __future__ import annotations

import strawberry

from leadcycle.domain.rules import ActivityRule
from leadcycle.domain.rules import ScoringModel as DomainModel
from leadcycle.graph.context import Info


@strawberry.type(description="One scoring rule.")
class ScoringRule:
    name: str = strawberry.field(description="Stable name of the rule.")
    description: str = strawberry.field(description="What the rule rewards or penalises.")
    points: int = strawberry.field(description="Points per application (negative penalises).")
    immediate_hot: bool = strawberry.field(description="An activity matching this rule moves the lead straight to MQL.")


@strawberry.type(description="The scoring model in force: thresholds and rules.")
class ScoringModel:
    version: int = strawberry.field(description="Version of the model.")
    warm_threshold: int = strawberry.field(description="Score at which a lead is WARM.")
    hot_threshold: int = strawberry.field(description="Score at which a lead is HOT and moves to MQL.")
    rules: list[ScoringRule] = strawberry.field(description="Behaviour and attribute rules.")

    @classmethod
    def from_domain(cls, model: DomainModel) -> ScoringModel:
        rules = [
            ScoringRule(
                name=r.name,
                description=r.explanation,
                points=r.points,
                immediate_hot=isinstance(r, ActivityRule) and r.immediate_hot,
            )
            for r in model.rules
        ]
        return cls(
            version=model.version, warm_threshold=model.warm_threshold, hot_threshold=model.hot_threshold, rules=rules
        )


@strawberry.type
class ScoringQueries:
    @strawberry.field(description="The active scoring model.")
    def scoring_model(self, info: Info) -> ScoringModel:
        return ScoringModel.from_domain(info.context.services.policy.scoring)
