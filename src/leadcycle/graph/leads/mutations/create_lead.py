import strawberry

from leadcycle.domain.commands import CreateLead
from leadcycle.graph.context import Info
from leadcycle.graph.leads.inputs import CompanyInput, ContactInput, given
from leadcycle.graph.problems import LeadResult, lead_result


@strawberry.input
class CreateLeadInput:
    company: CompanyInput
    contact: ContactInput
    source: str
    idempotency_key: str | None = strawberry.UNSET


async def create_lead(info: Info, input: CreateLeadInput) -> LeadResult:
    command = CreateLead(
        input.company.to_domain(), input.contact.to_domain(), input.source, given(input.idempotency_key)
    )
    return await lead_result(info, info.context.services.leads.create(command, info.context.actor))
