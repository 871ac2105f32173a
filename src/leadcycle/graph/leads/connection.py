"""Pages of leads: keyset cursors, forward only, with the size of the whole filtered set."""

from __future__ import annotations

import strawberry

from leadcycle.graph.context import Info
from leadcycle.graph.leads.enums import LeadStage, Temperature
from leadcycle.graph.leads.types import Lead
from leadcycle.persistence import queries


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool = strawberry.field(description="Always false: paging is forward only.")
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class LeadEdge:
    cursor: str
    node: Lead


@strawberry.type
class LeadConnection:
    edges: list[LeadEdge]
    page_info: PageInfo
    where: strawberry.Private[queries.LeadFilter]

    @strawberry.field(description="Size of the whole filtered set, whatever the cursor; counted only when asked for.")
    async def total_count(self, info: Info) -> int:
        return await queries.lead_count(info.context.services.engine, self.where)


@strawberry.input
class LeadFilter:
    stages: list[LeadStage] | None = strawberry.UNSET
    temperatures: list[Temperature] | None = strawberry.UNSET
    sources: list[str] | None = strawberry.UNSET
    owner_team: str | None = strawberry.UNSET
    min_score: int | None = strawberry.UNSET
    search: str | None = strawberry.field(
        default=strawberry.UNSET, description="Case-insensitive match on company name, contact name or email."
    )
