"""The pipeline board and conversion by acquisition channel: one aggregate query each."""

from __future__ import annotations

from datetime import datetime

import strawberry

from leadcycle.graph.context import Info
from leadcycle.graph.errors import ClientError
from leadcycle.graph.leads.connection import LeadFilter
from leadcycle.graph.leads.enums import LeadStage
from leadcycle.graph.leads.queries import to_filter
from leadcycle.persistence import queries


@strawberry.type(description="How many leads stand in one stage.")
class StageCount:
    stage: LeadStage = strawberry.field(description="The stage.")
    count: int = strawberry.field(description="How many leads stand in it.")


@strawberry.type(description="How many leads stand in each stage.")
class Pipeline:
    total: int = strawberry.field(description="All leads of the filtered set.")
    stages: list[StageCount] = strawberry.field(description="All eight stages in lifecycle order, zeros included.")


@strawberry.type(
    description="Conversion of the leads acquired through one channel (reached = ever entered that stage)."
)
class ChannelFunnel:
    source: str = strawberry.field(description="The acquisition channel.")
    leads: int = strawberry.field(description="Leads created in the window.")
    reached_mql: int = strawberry.field(description="Of those, how many ever reached MQL.")
    reached_opportunity: int = strawberry.field(description="Of those, how many ever reached OPPORTUNITY.")
    won: int = strawberry.field(description="Of those, how many are WON.")
    mql_rate: float = strawberry.field(description="reachedMql / leads (0.0 when none).")
    opportunity_rate: float = strawberry.field(description="reachedOpportunity / leads (0.0 when none).")
    win_rate: float = strawberry.field(description="won / leads (0.0 when none).")

    @classmethod
    def from_counts(cls, counts: queries.ChannelCounts) -> ChannelFunnel:
        def rate(part: int) -> float:
            return part / counts.leads if counts.leads else 0.0

        return cls(
            source=counts.source,
            leads=counts.leads,
            reached_mql=counts.reached_mql,
            reached_opportunity=counts.reached_opportunity,
            won=counts.won,
            mql_rate=rate(counts.reached_mql),
            opportunity_rate=rate(counts.reached_opportunity),
            win_rate=rate(counts.won),
        )


def aware(value: datetime | None, name: str) -> datetime | None:
    if value is not None and value.utcoffset() is None:
        raise ClientError(f"{name} needs a UTC offset, e.g. 2026-01-31T00:00:00+09:00")
    return value


@strawberry.type
class ReportQueries:
    @strawberry.field(description="Lead counts per stage for the filtered set.")
    async def pipeline(self, info: Info, filter: LeadFilter | None = None) -> Pipeline:
        counts = await queries.stage_counts(info.context.services.engine, to_filter(filter))
        stages = [StageCount(stage=stage, count=count) for stage, count in counts.items()]
        return Pipeline(total=sum(counts.values()), stages=stages)

    @strawberry.field(description="Leads created in [since, until) per source, most leads first.")
    async def channel_funnel(
        self, info: Info, since: datetime | None = None, until: datetime | None = None
    ) -> list[ChannelFunnel]:
        counted = await queries.channel_counts(
            info.context.services.engine, aware(since, "since"), aware(until, "until")
        )
        return [ChannelFunnel.from_counts(c) for c in counted]
