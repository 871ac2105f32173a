import strawberry

from leadcycle.domain.commands import AssignLead
from leadcycle.graph.context import Info
from leadcycle.graph.leads.inputs import given, present
from leadcycle.graph.problems import LeadResult, lead_result


@strawberry.input(description="Who works the lead: omitted fields stay, explicit null clears.")
class AssignLeadInput:
    lead_id: strawberry.ID = strawberry.field(description="The lead to assign.")
    owner_team: str | None = strawberry.field(default=strawberry.UNSET, description="The sales team, or null to clear.")
    owner: str | None = strawberry.field(default=strawberry.UNSET, description="The salesperson, or null to clear.")
    expected_version: int | None = strawberry.field(
        default=strawberry.UNSET, description="Refuse with VersionConflict unless the lead is at this version."
    )


async def assign_lead(info: Info, input: AssignLeadInput) -> LeadResult:
    assignment = {k: v for k, v in present(input).items() if k in ("owner_team", "owner")}
    command = AssignLead(input.lead_id, assignment, given(input.expected_version))
    return await lead_result(info, info.context.services.leads.assign(command, info.context.actor))
