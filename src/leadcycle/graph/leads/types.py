"""The lead as clients see it."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import strawberry
from strawberry.scalars import JSON

from leadcycle.domain import model
from leadcycle.domain.lifecycle import TRANSITIONS, Policy, blockers
from leadcycle.graph.context import Info
from leadcycle.graph.errors import ClientError
from leadcycle.graph.leads.enums import BantStatus, LeadEvent, LeadStage, LossReason, Temperature

MAX_CHILDREN = 200


@strawberry.type
class Company:
    name: str
    department: str | None
    employee_count: int | None
    capital: Decimal | None = strawberry.field(
        description="Paid-in capital in JPY; values beyond 32-bit integers are normal (50 billion JPY)."
    )
    industry: str | None


@strawberry.type
class Contact:
    name: str
    email: str | None
    phone: str | None
    title: str | None
    is_decision_maker: bool


@strawberry.type(description="One BANT criterion: its status and a note from sales.")
class BantCriterion:
    status: BantStatus
    note: str | None


@strawberry.type(description="Budget, Authority, Need, Timeframe: what sales has confirmed.")
class Bant:
    budget: BantCriterion
    authority: BantCriterion
    need: BantCriterion
    timeframe: BantCriterion
    budget_amount: Decimal | None
    target_date: date | None
    satisfied: bool = strawberry.field(
        description="True when the active qualification policy accepts this BANT for QUALIFY."
    )


@strawberry.type(description="One guard that blocks a transition, in words a person can act on.")
class GuardFailure:
    guard: str = strawberry.field(
        description="Stable machine-readable name, e.g. 'score.hot_threshold' or 'bant.budget'."
    )
    message: str


@strawberry.type(description="A lifecycle event and whether the lead can take it now.")
class TransitionOption:
    event: LeadEvent
    to_stage: LeadStage
    allowed: bool
    blockers: list[GuardFailure]


@strawberry.type(description="Why the score is what it is: one row per rule application.")
class ScoreContribution:
    rule: str
    points: int
    reason: str
    at: datetime


@strawberry.type(description="A behaviour of the lead and the points it earned.")
class Activity:
    id: strawberry.ID
    kind: str
    occurred_at: datetime
    properties: JSON
    points: int


@strawberry.type(
    description="One entry of the lead's history: activities, score changes, transitions, BANT edits, "
    "feedback, assignment."
)
class TimelineEntry:
    at: datetime
    kind: str
    actor: str | None
    summary: str
    data: JSON


def _first(value: int | None, default: int) -> int:
    if value is None:
        return default
    if not 0 <= value <= MAX_CHILDREN:
        raise ClientError(f"first must be between 0 and {MAX_CHILDREN}")
    return value


@strawberry.type(description="A B2B lead: who, where from, where it stands in the lifecycle and why.")
class Lead:
    id: strawberry.ID
    company: Company
    contact: Contact
    source: str = strawberry.field(description="Acquisition channel, e.g. web_ad, seo, webinar, exhibition, referral.")
    stage: LeadStage
    temperature: Temperature
    score: int
    version: int = strawberry.field(
        description="Incremented on every change; pass it back as expectedVersion for optimistic concurrency."
    )
    bant: Bant
    owner_team: str | None
    owner: str | None
    loss_reason: LossReason | None
    created_at: datetime
    updated_at: datetime
    stage_changed_at: datetime
    score_breakdown: list[ScoreContribution]
    domain: strawberry.Private[model.Lead]
    policy: strawberry.Private[Policy]

    @strawberry.field(description="Every lifecycle event with whether it is allowed now and, if not, what blocks it.")
    def available_transitions(self) -> list[TransitionOption]:
        options = []
        for transition in TRANSITIONS:
            failures = [
                GuardFailure(guard=f.guard, message=f.message)
                for f in blockers(self.domain, transition.event, self.policy)
            ]
            options.append(
                TransitionOption(
                    event=transition.event, to_stage=transition.target, allowed=not failures, blockers=failures
                )
            )
        return options

    @strawberry.field(description=f"The newest activities first (at most {MAX_CHILDREN}).")
    async def activities(self, info: Info, first: int | None = 50) -> list[Activity]:
        found = await info.context.loaders.activities.load((self.domain.id, _first(first, 50)))
        return [
            Activity(
                id=strawberry.ID(str(a.id)),
                kind=a.kind,
                occurred_at=a.occurred_at,
                properties=JSON(a.properties),
                points=a.points,
            )
            for a in found
        ]

    @strawberry.field(description=f"The newest history entries first (at most {MAX_CHILDREN}).")
    async def timeline(self, info: Info, first: int | None = 100) -> list[TimelineEntry]:
        found = await info.context.loaders.timeline.load((self.domain.id, _first(first, 100)))
        return [TimelineEntry(at=h.at, kind=h.kind, actor=h.actor, summary=h.summary, data=JSON(h.data)) for h in found]

    @classmethod
    def from_domain(cls, lead: model.Lead, policy: Policy) -> Lead:
        assert lead.updated_at is not None
        assert lead.stage_changed_at is not None
        return cls(
            id=strawberry.ID(str(lead.id)),
            company=Company(**vars(lead.company)),
            contact=Contact(**vars(lead.contact)),
            source=lead.source,
            stage=lead.stage,
            temperature=lead.temperature,
            score=lead.score,
            version=lead.version,
            bant=_bant(lead.bant, policy),
            owner_team=lead.owner_team,
            owner=lead.owner,
            loss_reason=lead.loss_reason,
            created_at=lead.created_at,
            updated_at=lead.updated_at,
            stage_changed_at=lead.stage_changed_at,
            score_breakdown=[
                ScoreContribution(rule=c.rule, points=c.points, reason=c.reason, at=c.at) for c in lead.breakdown
            ],
            domain=lead,
            policy=policy,
        )


def _bant(bant: model.Bant, policy: Policy) -> Bant:
    def criterion(c: model.BantCriterion) -> BantCriterion:
        return BantCriterion(status=c.status, note=c.note)

    return Bant(
        budget=criterion(bant.budget),
        authority=criterion(bant.authority),
        need=criterion(bant.need),
        timeframe=criterion(bant.timeframe),
        budget_amount=bant.budget_amount,
        target_date=bant.target_date,
        satisfied=policy.bant.satisfied(bant),
    )
