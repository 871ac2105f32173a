import strawberry
from strawberry.scalars import JSON

from leadcycle.graph.context import Info
from leadcycle.graph.scoring.mutations.results import ScoringModelResult, scoring_model_result


@strawberry.input(description="A new scoring model version, stored as a draft.")
class ScoringModelDraftInput:
    definition: JSON = strawberry.field(description="The model as a JSON document (docs/semantics.md).")
    note: str | None = strawberry.field(
        default=strawberry.UNSET, description="What the version changes and why, up to 2,000 characters."
    )


async def create_scoring_model_draft(info: Info, input: ScoringModelDraftInput) -> ScoringModelResult:
    note = input.note if input.note is not strawberry.UNSET else None
    draft = info.context.services.scoring.create_draft(input.definition, note, info.context.actor)
    return await scoring_model_result(draft)
