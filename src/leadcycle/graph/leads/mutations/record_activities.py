from typing import Annotated

import strawberry

from leadcycle.domain.errors import TooManyInputs
from leadcycle.graph.context import Info
from leadcycle.graph.errors import ClientError
from leadcycle.graph.leads.mutations.record_activity import ActivityInput
from leadcycle.graph.problems import LeadResult, result_of

Inputs = Annotated[
    list[ActivityInput],
    strawberry.argument(description="Up to 1,000 activities of any leads; more is a GraphQL error, recording nothing."),
]


async def record_activities(info: Info, inputs: Inputs) -> list[LeadResult]:
    commands = [activity.to_command() for activity in inputs]
    try:
        outcomes = await info.context.services.leads.record_activities(commands, info.context.actor)
    except TooManyInputs as error:
        raise ClientError(error.message) from None
    info.context.forget_loaded()
    return [result_of(outcome, info.context.services.policy) for outcome in outcomes]
