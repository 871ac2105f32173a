from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from leadcycle.domain.commands import RecordActivity
from leadcycle.graph.context import Info
from leadcycle.graph.leads.inputs import given
from leadcycle.graph.problems import LeadResult, lead_result


@strawberry.input(description="A behaviour of a lead.")
class ActivityInput:
    lead_id: strawberry.ID = strawberry.field(description="The lead that behaved.")
    kind: str = strawberry.field(
        description="e.g. email_open, web_visit, pricing_page_view, document_download, webinar_attended, inquiry, "
        "quote_request, demo_request, trial_signup, consultation_request, survey_answer"
    )
    occurred_at: datetime | None = strawberry.field(
        default=strawberry.UNSET,
        description="When it happened (with offset; at most 5 minutes ahead); omitted means now.",
    )
    properties: JSON | None = strawberry.field(
        default=strawberry.UNSET,
        description='Details as a JSON object of at most 16 KiB, e.g. {"intent": "buy_now"} for survey_answer.',
    )
    idempotency_key: str | None = strawberry.field(
        default=strawberry.UNSET, description="Same key twice records the activity once and returns the same result."
    )

    def to_command(self) -> RecordActivity:
        return RecordActivity(
            self.lead_id, self.kind, given(self.occurred_at), given(self.properties), given(self.idempotency_key)
        )


async def record_activity(info: Info, input: ActivityInput) -> LeadResult:
    return await lead_result(info, info.context.services.leads.record_activity(input.to_command(), info.context.actor))
