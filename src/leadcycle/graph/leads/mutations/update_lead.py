import strawberry

from leadcycle.domain.commands import UpdateLead
from leadcycle.graph.context import Info
from leadcycle.graph.leads.inputs import CompanyPatch, ContactPatch, given, present
from leadcycle.graph.problems import LeadResult, lead_result


@strawberry.input
class UpdateLeadInput:
    lead_id: strawberry.ID
    company: CompanyPatch | None = strawberry.UNSET
    contact: ContactPatch | None = strawberry.UNSET
    expected_version: int | None = strawberry.UNSET


async def update_lead(info: Info, input: UpdateLeadInput) -> LeadResult:
    command = UpdateLead(
        input.lead_id,
        company=present(input.company) if input.company else {},
        contact=present(input.contact) if input.contact else {},
        expected_version=given(input.expected_version),
    )
    return await lead_result(info, info.context.services.leads.update(command, info.context.actor))
