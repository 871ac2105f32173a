from leadcycle.graph.context import Info
from leadcycle.graph.scoring.mutations.results import ScoringModelResult, scoring_model_result


async def activate_scoring_model(info: Info, version: int) -> ScoringModelResult:
    return await scoring_model_result(info.context.services.scoring.activate(version, info.context.actor))
