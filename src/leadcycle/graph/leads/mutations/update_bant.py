from datetime import date
from decimal import Decimal

import strawberry

from leadcycle.domain.commands import UpdateBant
from leadcycle.domain.model import BANT_CRITERIA
from leadcycle.graph.context import Info
from leadcycle.graph.leads.inputs import BantCriterionInput, given, present
from leadcycle.graph.problems import LeadResult, lead_result


@strawberry.input(
    description="Patch of the lead's BANT: omitted fields stay; a criterion set to null goes back to UNKNOWN."
)
class UpdateBantInput:
    lead_id: strawberry.ID = strawberry.field(description="The lead.")
    budget: BantCriterionInput | None = strawberry.field(
        default=strawberry.UNSET, description="Budget; null goes back to UNKNOWN."
    )
    authority: BantCriterionInput | None = strawberry.field(
        default=strawberry.UNSET, description="Authority; null goes back to UNKNOWN."
    )
    need: BantCriterionInput | None = strawberry.field(
        default=strawberry.UNSET, description="Need; null goes back to UNKNOWN."
    )
    timeframe: BantCriterionInput | None = strawberry.field(
        default=strawberry.UNSET, description="Timeframe; null goes back to UNKNOWN."
    )
    budget_amount: Decimal | None = strawberry.field(
        default=strawberry.UNSET, description="The budget in JPY, or null to clear."
    )
    target_date: date | None = strawberry.field(
        default=strawberry.UNSET, description="When the customer intends to buy, or null to clear."
    )
    expected_version: int | None = strawberry.field(
        default=strawberry.UNSET, description="Refuse with VersionConflict unless the lead is at this version."
    )


async def update_bant(info: Info, input: UpdateBantInput) -> LeadResult:
    sent = present(input)
    criteria = {c: sent[c].to_domain() if sent[c] else None for c in BANT_CRITERIA if c in sent}
    details: dict[str, object] = {k: sent[k] for k in ("budget_amount", "target_date") if k in sent}
    command = UpdateBant(input.lead_id, criteria, details, given(input.expected_version))
    return await lead_result(info, info.context.services.leads.update_bant(command, info.context.actor))
