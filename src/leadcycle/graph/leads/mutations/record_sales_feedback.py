import strawberry

from leadcycle.domain.commands import RecordSalesFeedback
from leadcycle.graph.context import Info
from leadcycle.graph.leads.enums import SalesVerdict
from leadcycle.graph.leads.inputs import given
from leadcycle.graph.problems import LeadResult, lead_result


@strawberry.input(description="Sales' verdict on an MQL.")
class SalesFeedbackInput:
    lead_id: strawberry.ID = strawberry.field(description="The MQL lead.")
    verdict: SalesVerdict = strawberry.field(description="Accepted, or rejected back to nurturing.")
    reason: str | None = strawberry.field(default=strawberry.UNSET, description="Why; required when REJECTED.")
    expected_version: int | None = strawberry.field(
        default=strawberry.UNSET, description="Refuse with VersionConflict unless the lead is at this version."
    )


async def record_sales_feedback(info: Info, input: SalesFeedbackInput) -> LeadResult:
    command = RecordSalesFeedback(input.lead_id, input.verdict, given(input.reason), given(input.expected_version))
    return await lead_result(info, info.context.services.leads.record_sales_feedback(command, info.context.actor))
