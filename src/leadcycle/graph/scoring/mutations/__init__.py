"""The scoring-model mutations, one module each."""

import strawberry

from leadcycle.graph.scoring.mutations.activate_scoring_model import activate_scoring_model
from leadcycle.graph.scoring.mutations.create_scoring_model_draft import create_scoring_model_draft


@strawberry.type
class ScoringMutations:
    create_scoring_model_draft = strawberry.mutation(
        resolver=create_scoring_model_draft,
        description="Store a scoring model document as a new draft version; refused with the first problem named "
        "(validateScoringModel lists them all).",
    )
    activate_scoring_model = strawberry.mutation(
        resolver=activate_scoring_model,
        description="Put a draft or retired version in force; the version active until now is retired.",
    )
