import strawberry

from leadcycle.domain.commands import TransitionLead
from leadcycle.graph.context import Info
from leadcycle.graph.leads.enums import LeadEvent, LossReason
from leadcycle.graph.leads.inputs import given
from leadcycle.graph.problems import LeadResult, lead_result


@strawberry.input
class TransitionInput:
    lead_id: strawberry.ID
    event: LeadEvent
    expected_version: int | None = strawberry.UNSET
    reason: str | None = strawberry.UNSET
    loss_reason: LossReason | None = strawberry.UNSET
    idempotency_key: str | None = strawberry.UNSET


async def transition_lead(info: Info, input: TransitionInput) -> LeadResult:
    command = TransitionLead(
        input.lead_id,
        input.event,
        given(input.expected_version),
        given(input.reason),
        given(input.loss_reason),
        given(input.idempotency_key),
    )
    return await lead_result(info, info.context.services.leads.transition(command, info.context.actor))
