import strawberry

from leadcycle.domain.commands import TransitionLead
from leadcycle.graph.context import Info
from leadcycle.graph.leads.enums import LeadEvent, LossReason
from leadcycle.graph.leads.inputs import given
from leadcycle.graph.problems import LeadResult, lead_result


@strawberry.input(description="A lifecycle event to fire.")
class TransitionInput:
    lead_id: strawberry.ID = strawberry.field(description="The lead.")
    event: LeadEvent = strawberry.field(description="The lifecycle event to fire.")
    expected_version: int | None = strawberry.field(
        default=strawberry.UNSET, description="Refuse with VersionConflict unless the lead is at this version."
    )
    reason: str | None = strawberry.field(
        default=strawberry.UNSET, description="Why; required for RECYCLE (up to 2,000 characters)."
    )
    loss_reason: LossReason | None = strawberry.field(
        default=strawberry.UNSET, description="Why the deal was lost; required for LOSE."
    )
    idempotency_key: str | None = strawberry.field(
        default=strawberry.UNSET, description="Same key and input again returns the first result and changes nothing."
    )


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
