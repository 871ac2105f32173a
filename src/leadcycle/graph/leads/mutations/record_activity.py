from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from leadcycle.domain.commands import RecordActivity
from leadcycle.graph.context import Info
from leadcycle.graph.leads.inputs import given
from leadcycle.graph.problems import LeadResult, lead_result


@strawberry.input
class ActivityInput:
    lead_id: strawberry.ID
    kind: str = strawberry.field(
        description="e.g. email_open, web_visit, pricing_page_view, document_download, webinar_attended, inquiry, "
        "quote_request, demo_request, trial_signup, consultation_request, survey_answer"
    )
    occurred_at: datetime | None = strawberry.UNSET
    properties: JSON | None = strawberry.UNSET
    idempotency_key: str | None = strawberry.field(
        default=strawberry.UNSET, description="Same key twice records the activity once and returns the same result."
    )


async def record_activity(info: Info, input: ActivityInput) -> LeadResult:
    command = RecordActivity(
        input.lead_id, input.kind, given(input.occurred_at), given(input.properties), given(input.idempotency_key)
    )
    return await lead_result(info, info.context.services.leads.record_activity(command, info.context.actor))
