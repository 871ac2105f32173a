"""Reading scoring models: the one in force, past versions, and checking a document."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON

from leadcycle.domain.dry_run import MAX_SAMPLE
from leadcycle.domain.errors import InvalidInput
from leadcycle.domain.scoring_models import problems_of
from leadcycle.graph.context import Info
from leadcycle.graph.errors import ClientError
from leadcycle.graph.scoring.types import ScoringDryRun, ScoringModel, ScoringModelValidation

DEFAULT_VERSIONS = 50
MAX_VERSIONS = 200


@strawberry.type
class ScoringQueries:
    @strawberry.field(description="The active scoring model.")
    async def scoring_model(self, info: Info) -> ScoringModel:
        return ScoringModel.from_domain(await info.context.services.scoring.active())

    @strawberry.field(
        description=f"Scoring model versions, newest first: drafts, the active one and retired ones; `first` is 0 "
        f"to {MAX_VERSIONS} (null means {DEFAULT_VERSIONS})."
    )
    async def scoring_models(self, info: Info, first: int | None = DEFAULT_VERSIONS) -> list[ScoringModel]:
        count = DEFAULT_VERSIONS if first is None else first
        if not 0 <= count <= MAX_VERSIONS:
            raise ClientError(f"first must be between 0 and {MAX_VERSIONS}")
        return [ScoringModel.from_domain(stored) for stored in await info.context.services.scoring.newest(count)]

    @strawberry.field(
        description="What activating a version (a draft, typically) now would do: how many leads would change "
        f"score, temperature and stage, and up to `sample` of them (0 to {MAX_SAMPLE}); writes nothing. An unknown "
        "version is an error."
    )
    async def scoring_model_dry_run(self, info: Info, version: int, sample: int | None = 10) -> ScoringDryRun:
        try:
            run = await info.context.services.scoring.dry_run(version, 10 if sample is None else sample)
        except InvalidInput as invalid:
            raise ClientError(invalid.message) from None
        return ScoringDryRun.from_domain(run, info.context.services.policy)

    @strawberry.field(
        description="Check a scoring model document without storing it: every problem, each with its path."
    )
    def validate_scoring_model(self, definition: JSON) -> ScoringModelValidation:
        return ScoringModelValidation.of(problems_of(definition))
