"""Reading leads: one lead, or a filtered, ordered page of them."""

from __future__ import annotations

from uuid import UUID

import strawberry

from leadcycle.domain import validation
from leadcycle.domain.errors import InvalidInput
from leadcycle.graph.context import Info, Services
from leadcycle.graph.errors import ClientError
from leadcycle.graph.leads.connection import LeadConnection, LeadEdge, LeadFilter, PageInfo
from leadcycle.graph.leads.enums import LeadOrderField, OrderDirection
from leadcycle.graph.leads.inputs import given
from leadcycle.graph.leads.types import Lead
from leadcycle.persistence import queries

MAX_PAGE = 200
DEFAULT_PAGE = 50


@strawberry.input(description="How to order leads.")
class LeadOrder:
    field: LeadOrderField = strawberry.field(description="What to sort by.")
    direction: OrderDirection = strawberry.field(
        default=OrderDirection.DESC, description="Ascending or descending; ties are broken by id in the same direction."
    )


def _as_source(value: str) -> str | None:
    """A filter value as a stored source; None for a value no lead can have as its source."""
    try:
        return validation.source(value)
    except InvalidInput:
        return None


def to_filter(where: LeadFilter | None) -> queries.LeadFilter:
    """The filter as the read side takes it; source names are normalised like `source` itself."""
    if where is None:
        return queries.LeadFilter()
    sources = given(where.sources)
    stages, temperatures = given(where.stages), given(where.temperatures)
    return queries.LeadFilter(
        stages=tuple(stages) if stages is not None else None,
        temperatures=tuple(temperatures) if temperatures is not None else None,
        sources=tuple(filter(None, map(_as_source, sources))) if sources is not None else None,
        owner_team=given(where.owner_team),
        min_score=given(where.min_score),
        search=given(where.search),
        going_cold=given(where.going_cold),
    )


def _page_size(first: int | None) -> int:
    if first is None:
        return DEFAULT_PAGE
    if not 0 <= first <= MAX_PAGE:
        raise ClientError(f"first must be between 0 and {MAX_PAGE}")
    return first


@strawberry.type
class LeadQueries:
    @strawberry.field(description="One lead by id; null when no lead has it.")
    async def lead(self, info: Info, id: strawberry.ID) -> Lead | None:
        try:
            lead_id = UUID(id)
        except ValueError:
            return None
        found = await queries.lead(info.context.services.engine, lead_id)
        return Lead.from_domain(found, info.context.services.policy) if found else None

    @strawberry.field(
        description=f"Leads, newest first unless ordered otherwise; `first` is 0 to {MAX_PAGE} (null means "
        f"{DEFAULT_PAGE}); pass a page's endCursor as `after` for the next page."
    )
    async def leads(
        self,
        info: Info,
        filter: LeadFilter | None = None,
        order_by: LeadOrder | None = None,
        first: int | None = DEFAULT_PAGE,
        after: str | None = None,
    ) -> LeadConnection:
        where = to_filter(filter)
        order = (
            queries.LeadOrder(order_by.field.value, order_by.direction is OrderDirection.DESC)
            if order_by
            else queries.LeadOrder()
        )
        return await read_page(info.context.services, where, order, first, after)


async def read_page(
    services: Services, where: queries.LeadFilter, order: queries.LeadOrder, first: int | None, after: str | None
) -> LeadConnection:
    """A page of leads as `leads` answers it."""
    try:
        found, more = await queries.lead_page(services.engine, where, order, _page_size(first), after)
    except queries.InvalidCursor as error:
        raise ClientError(str(error)) from None
    edges = [LeadEdge(node=Lead.from_domain(lead, services.policy), order=order) for lead in found]
    page = PageInfo(
        has_next_page=more,
        has_previous_page=False,
        start_cursor=queries.encode_cursor(found[0], order) if found else None,
        end_cursor=queries.encode_cursor(found[-1], order) if found else None,
    )
    return LeadConnection(edges=edges, page_info=page, where=where)
