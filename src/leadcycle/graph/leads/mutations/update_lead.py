import strawberry

from leadcycle.domain.commands import UpdateLead
from leadcycle.graph.context import Info
from leadcycle.graph.leads.inputs import CompanyPatch, ContactPatch, given, present
from leadcycle.graph.problems import LeadResult, lead_result


@strawberry.input(description="Changes to a lead's company and contact.")
class UpdateLeadInput:
    lead_id: strawberry.ID = strawberry.field(description="The lead to change.")
    company: CompanyPatch | None = strawberry.field(default=strawberry.UNSET, description="Company fields to change.")
    contact: ContactPatch | None = strawberry.field(default=strawberry.UNSET, description="Contact fields to change.")
    expected_version: int | None = strawberry.field(
        default=strawberry.UNSET, description="Refuse with VersionConflict unless the lead is at this version."
    )


async def update_lead(info: Info, input: UpdateLeadInput) -> LeadResult:
    command = UpdateLead(
        input.lead_id,
        company=present(input.company) if input.company else {},
        contact=present(input.contact) if input.contact else {},
        expected_version=given(input.expected_version),
    )
    return await lead_result(info, info.context.services.leads.update(command, info.context.actor))
