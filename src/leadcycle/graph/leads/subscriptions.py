"""Live changes of leads, fed from the change log (persistence.change_feed)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from uuid import UUID

import strawberry

from leadcycle.domain.stages import Stage
from leadcycle.graph.context import Info
from leadcycle.graph.errors import ClientError
from leadcycle.graph.leads.enums import LeadStage
from leadcycle.graph.leads.types import Lead
from leadcycle.persistence.change_feed import ChangeRecord


@strawberry.type(description="A change to one lead, pushed after its transaction commits.")
class LeadChange:
    lead: Lead = strawberry.field(
        description="The lead as of this change (from the change's snapshot); "
        "only activities and timeline are read live."
    )
    kind: str = strawberry.field(description="created, activity, bant, transition, feedback, update or assignment")
    from_stage: LeadStage | None = strawberry.field(
        description="The stage before the mutation, when it changed; else null."
    )
    to_stage: LeadStage | None = strawberry.field(
        description="The stage after the mutation, when it changed; else null."
    )
    at: datetime = strawberry.field(description="When the change was committed.")


def _matcher(lead_id: UUID | None, stages: frozenset[Stage] | None):  # type: ignore[no-untyped-def]
    def wants(record: ChangeRecord) -> bool:
        return (lead_id is None or record.lead_id == lead_id) and (stages is None or record.lead.stage in stages)

    return wants


@strawberry.type
class LeadSubscriptions:
    @strawberry.subscription(
        description="All changes, or those of one lead, or those that leave a lead in one of the given stages."
    )
    async def lead_changed(
        self, info: Info, lead_id: strawberry.ID | None = None, stages: list[LeadStage] | None = None
    ) -> AsyncGenerator[LeadChange, None]:
        try:
            wanted_lead = UUID(lead_id) if lead_id is not None else None
        except ValueError:
            raise ClientError(f"No lead can have the id {lead_id!r}") from None
        wants = _matcher(wanted_lead, frozenset(stages) if stages is not None else None)
        services = info.context.services
        with services.feed.subscribe(wants) as changes:
            async for change in changes:
                yield LeadChange(
                    lead=Lead.from_domain(change.lead, services.policy),
                    kind=change.kind.value,
                    from_stage=change.from_stage,
                    to_stage=change.to_stage,
                    at=change.at,
                )
