import strawberry

from leadcycle.domain.commands import RecordSalesFeedback
from leadcycle.graph.context import Info
from leadcycle.graph.leads.enums import SalesVerdict
from leadcycle.graph.leads.inputs import given
from leadcycle.graph.problems import LeadResult, lead_result


@strawberry.input
class SalesFeedbackInput:
    lead_id: strawberry.ID
    verdict: SalesVerdict
    reason: str | None = strawberry.UNSET
    expected_version: int | None = strawberry.UNSET


async def record_sales_feedback(info: Info, input: SalesFeedbackInput) -> LeadResult:
    command = RecordSalesFeedback(input.lead_id, input.verdict, given(input.reason), given(input.expected_version))
    return await lead_result(info, info.context.services.leads.record_sales_feedback(command, info.context.actor))
