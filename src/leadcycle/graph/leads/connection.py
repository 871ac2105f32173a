"""Pages of leads: keyset cursors, forward only, with the size of the whole filtered set."""

from __future__ import annotations

import strawberry

from leadcycle.graph.context import Info
from leadcycle.graph.leads.enums import LeadStage, Temperature
from leadcycle.graph.leads.types import Lead
from leadcycle.persistence import queries


@strawberry.type(description="Where a page stands in the whole set.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="Whether more leads follow this page.")
    has_previous_page: bool = strawberry.field(description="Always false: paging is forward only.")
    start_cursor: str | None = strawberry.field(description="Cursor of the first edge.")
    end_cursor: str | None = strawberry.field(
        description="Cursor of the last edge: pass it as `after` for the next page."
    )


def _cursor(self: LeadEdge) -> str:
    """Encoded only when asked for: a page's client mostly reads the end cursor of its page info."""
    return queries.encode_cursor(self.node.domain, self.order)


@strawberry.type(description="One lead of a page, with its cursor.")
class LeadEdge:
    cursor: str = strawberry.field(resolver=_cursor, description="Opaque position of this lead in the order asked for.")
    node: Lead = strawberry.field(description="The lead.")
    order: strawberry.Private[queries.LeadOrder]


@strawberry.type(description="A page of leads.")
class LeadConnection:
    edges: list[LeadEdge] = strawberry.field(description="The leads of this page, in order.")
    page_info: PageInfo = strawberry.field(description="Where this page stands.")
    where: strawberry.Private[queries.LeadFilter]

    @strawberry.field(description="Size of the whole filtered set, whatever the cursor; counted only when asked for.")
    async def total_count(self, info: Info) -> int:
        return await queries.lead_count(info.context.services.engine, self.where)


@strawberry.input(description="Conditions on leads; all given conditions must hold.")
class LeadFilter:
    stages: list[LeadStage] | None = strawberry.field(
        default=strawberry.UNSET, description="Leads in any of these stages (an empty list matches nothing)."
    )
    temperatures: list[Temperature] | None = strawberry.field(
        default=strawberry.UNSET, description="Leads of any of these temperatures (an empty list matches nothing)."
    )
    sources: list[str] | None = strawberry.field(
        default=strawberry.UNSET,
        description="Leads from any of these channels, normalised like `source` (an empty list matches nothing).",
    )
    owner_team: str | None = strawberry.field(default=strawberry.UNSET, description="Leads assigned to this team.")
    min_score: int | None = strawberry.field(default=strawberry.UNSET, description="Leads scoring at least this much.")
    search: str | None = strawberry.field(
        default=strawberry.UNSET, description="Case-insensitive match on company name, contact name or email."
    )
    going_cold: bool | None = strawberry.field(
        default=strawberry.UNSET,
        description="true: only MQL leads whose temperature fell below HOT (see Lead.goingCold); false: all others.",
    )
