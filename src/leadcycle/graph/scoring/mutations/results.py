"""The result union of the scoring-model mutations."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Annotated

import strawberry

from leadcycle.domain import errors
from leadcycle.domain.scoring_models import StoredModel
from leadcycle.graph.problems import ValidationProblem
from leadcycle.graph.scoring.types import ScoringModel


@strawberry.type(description="The scoring model version after a successful mutation.")
class ScoringModelPayload:
    model: ScoringModel = strawberry.field(description="The version as stored now.")


ScoringModelResult = Annotated[
    ScoringModelPayload | ValidationProblem,
    strawberry.union(
        "ScoringModelResult", description="The outcome of a scoring-model mutation: the version, or what was wrong."
    ),
]


async def scoring_model_result(change: Awaitable[StoredModel]) -> ScoringModelPayload | ValidationProblem:
    """Await a scoring-model use case; an invalid request becomes its ValidationProblem."""
    try:
        stored = await change
    except errors.InvalidInput as invalid:
        return ValidationProblem(message=invalid.message, field=invalid.field)
    return ScoringModelPayload(model=ScoringModel.from_domain(stored))
