"""Live changes of leads, fed from the change log (persistence.change_feed), resumable by cursor."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from datetime import datetime
from typing import Annotated
from uuid import UUID

import strawberry

from leadcycle.domain.stages import Stage
from leadcycle.graph.context import Info
from leadcycle.graph.errors import ClientError, fell_behind
from leadcycle.graph.leads.enums import LeadStage
from leadcycle.graph.leads.types import Activity, Lead, first_in_range
from leadcycle.persistence import queries
from leadcycle.persistence.change_feed import ChangeRecord, Position, SubscriberTooSlow
from leadcycle.persistence.change_log import (
    CursorTooOld,
    InvalidChangeCursor,
    LogFilter,
    decode_cursor,
    encode_cursor,
    follow,
)

CURSOR = "Where this change sits in the change log: pass it as `after` to resume right after it."
AFTER = (
    "Resume after this cursor (the `cursor` of the last change received): the changes missed since "
    "come first, in order, then live ones, none twice. Omit it to receive live changes only."
)

TEAM = "Only leads whose ownerTeam is this team as they become hot (unassigned leads never match); omit for all."


@strawberry.type(description="A change to one lead, pushed after its transaction commits.")
class LeadChange:
    lead: Lead = strawberry.field(
        description="The lead as of this change (from the change's snapshot); "
        "only activities and timeline are read live."
    )
    kind: str = strawberry.field(
        description="created, activity, bant, transition, feedback, update, assignment or score (rescored by a new "
        "scoring model or as behaviour points faded); more may come"
    )
    from_stage: LeadStage | None = strawberry.field(
        description="The stage before the mutation, when it changed; else null."
    )
    to_stage: LeadStage | None = strawberry.field(
        description="The stage after the mutation, when it changed; else null."
    )
    at: datetime = strawberry.field(description="When the change was committed.")
    cursor: str = strawberry.field(description=CURSOR)


@strawberry.type(
    description="A lead that has just become marketing-qualified (entered MQL): what sales needs to call now."
)
class HotLead:
    lead: Lead = strawberry.field(
        description="The lead as it became hot: who, company, score and its breakdown, owner. "
        "Only activities and timeline are read live."
    )
    from_stage: LeadStage | None = strawberry.field(
        description="The stage it came from (COLD, WARM or RECYCLED); null when it was created hot."
    )
    at: datetime = strawberry.field(description="When it became hot.")
    cycle: int = strawberry.field(
        description="Its nurture cycle: 1 the first time it became hot, 2 or more after being recycled."
    )
    hot_signal: str | None = strawberry.field(
        description="The immediate-hot rule that made it hot, e.g. 'activity.demo_request'; null when the "
        "score alone did."
    )
    cursor: str = strawberry.field(description=CURSOR)
    record: strawberry.Private[ChangeRecord]

    @strawberry.field(
        description="What made it hot: the activities of this cycle that earned points, up to this moment, "
        "newest first."
    )
    async def activities(self, info: Info, first: int | None = 20) -> list[Activity]:
        lead = self.record.lead
        found = await queries.scoring_activities(
            info.context.services.engine, lead.id, lead.cycle, self.record.at, first_in_range(first, 20)
        )
        return [Activity.from_domain(a) for a in found]


def _changes_of(lead_id: UUID | None, stages: frozenset[Stage] | None) -> Callable[[ChangeRecord], bool]:
    def wants(record: ChangeRecord) -> bool:
        return (lead_id is None or record.lead_id == lead_id) and (stages is None or record.lead.stage in stages)

    return wants


def _hot_leads_of(team: str | None) -> Callable[[ChangeRecord], bool]:
    def wants(record: ChangeRecord) -> bool:
        return record.to_stage is Stage.MQL and (team is None or record.lead.owner_team == team)

    return wants


def _position(after: str | None) -> Position | None:
    try:
        return decode_cursor(after) if after is not None else None
    except InvalidChangeCursor as error:
        raise ClientError(str(error), code="INVALID_CURSOR") from None


async def _resumable(
    info: Info, wants: Callable[[ChangeRecord], bool], after: str | None, where: LogFilter
) -> AsyncIterator[ChangeRecord]:
    """The changes `wants` after the cursor, then live; what goes wrong is said in words a client acts on."""
    services = info.context.services
    position = _position(after)
    last = after
    try:
        async with contextlib.aclosing(follow(services.feed, services.engine, wants, position, where)) as changes:
            async for record in changes:
                last = encode_cursor(record.position)
                info.context.answer_change(record.position)
                yield record
    except InvalidChangeCursor as error:
        raise ClientError(str(error), code="INVALID_CURSOR") from None
    except CursorTooOld:
        raise ClientError(
            "This cursor is older than the change log keeps: changes after it were deleted. Refetch what you "
            "show (query the leads again), then subscribe without after.",
            code="CURSOR_EXPIRED",
        ) from None
    except SubscriberTooSlow as error:
        raise fell_behind(str(error), last) from None


@strawberry.type
class LeadSubscriptions:
    @strawberry.subscription(
        description="All changes, or those of one lead, or those that leave a lead in one of the given stages."
    )
    async def lead_changed(
        self,
        info: Info,
        lead_id: strawberry.ID | None = None,
        stages: list[LeadStage] | None = None,
        after: Annotated[str | None, strawberry.argument(description=AFTER)] = None,
    ) -> AsyncGenerator[LeadChange, None]:
        try:
            wanted_lead = UUID(lead_id) if lead_id is not None else None
        except ValueError:
            raise ClientError(f"No lead can have the id {lead_id!r}") from None
        wants = _changes_of(wanted_lead, frozenset(stages) if stages is not None else None)
        policy = info.context.services.policy
        async for change in _resumable(info, wants, after, LogFilter(lead_id=wanted_lead)):
            yield LeadChange(
                lead=Lead.from_domain(change.lead, policy),
                kind=change.kind.value,
                from_stage=change.from_stage,
                to_stage=change.to_stage,
                at=change.at,
                cursor=encode_cursor(change.position),
            )

    @strawberry.subscription(
        description="Fires once each time a lead reaches MQL (again after it was recycled and heats up anew), "
        "with what sales needs to call now."
    )
    async def hot_lead(
        self,
        info: Info,
        team: Annotated[str | None, strawberry.argument(description=TEAM)] = None,
        after: Annotated[str | None, strawberry.argument(description=AFTER)] = None,
    ) -> AsyncGenerator[HotLead, None]:
        policy = info.context.services.policy
        async for change in _resumable(info, _hot_leads_of(team), after, LogFilter(to_stage=Stage.MQL)):
            yield HotLead(
                lead=Lead.from_domain(change.lead, policy),
                from_stage=change.from_stage,
                at=change.at,
                cycle=change.lead.cycle,
                hot_signal=change.lead.hot_signal,
                cursor=encode_cursor(change.position),
                record=change,
            )
