import strawberry

from leadcycle.domain.commands import CreateLead
from leadcycle.graph.context import Info
from leadcycle.graph.leads.inputs import CompanyInput, ContactInput, given
from leadcycle.graph.problems import LeadResult, lead_result


@strawberry.input(description="A new lead.")
class CreateLeadInput:
    company: CompanyInput = strawberry.field(description="The company.")
    contact: ContactInput = strawberry.field(description="The person to talk to.")
    source: str = strawberry.field(
        description="Acquisition channel slug, e.g. web_ad, seo, webinar, exhibition, referral (trimmed, lower-cased)."
    )
    idempotency_key: str | None = strawberry.field(
        default=strawberry.UNSET, description="Same key and input again returns the first result and changes nothing."
    )


async def create_lead(info: Info, input: CreateLeadInput) -> LeadResult:
    command = CreateLead(
        input.company.to_domain(), input.contact.to_domain(), input.source, given(input.idempotency_key)
    )
    return await lead_result(info, info.context.services.leads.create(command, info.context.actor))
