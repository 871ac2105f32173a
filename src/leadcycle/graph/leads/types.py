"""The lead as clients see it."""

from __future__ import annotations

import functools
from datetime import date, datetime
from decimal import Decimal

import strawberry
from strawberry.scalars import JSON

from leadcycle.domain import errors, model
from leadcycle.domain.lifecycle import TRANSITION_OF, TRANSITIONS, Policy, blockers
from leadcycle.graph.context import Info
from leadcycle.graph.errors import ClientError
from leadcycle.graph.leads.enums import BantStatus, LeadEvent, LeadStage, LossReason, Temperature

MAX_CHILDREN = 200


@strawberry.type(description="The company a lead belongs to.")
class Company:
    name: str = strawberry.field(description="Company name as the lead gave it.")
    department: str | None = strawberry.field(description="Department the contact belongs to.")
    employee_count: int | None = strawberry.field(description="Number of employees.")
    capital: Decimal | None = strawberry.field(
        description="Paid-in capital in JPY; values beyond 32-bit integers are normal (50 billion JPY)."
    )
    industry: str | None = strawberry.field(description="Industry, free text.")


@strawberry.type(description="The person at the company we talk to.")
class Contact:
    name: str = strawberry.field(description="The person's name.")
    email: str | None = strawberry.field(description="Email address.")
    phone: str | None = strawberry.field(description="Phone number as given (Japanese formats welcome).")
    title: str | None = strawberry.field(description="Job title.")
    is_decision_maker: bool = strawberry.field(description="Whether this person decides on the purchase (+10 points).")


@strawberry.type(description="One BANT criterion: its status and a note from sales.")
class BantCriterion:
    status: BantStatus = strawberry.field(description="Confirmed, not met, or not known yet.")
    note: str | None = strawberry.field(description="What sales learned, in their words.")


@strawberry.type(description="Budget, Authority, Need, Timeframe: what sales has confirmed.")
class Bant:
    budget: BantCriterion = strawberry.field(description="Is there a budget for this purchase?")
    authority: BantCriterion = strawberry.field(description="Is the decision maker involved?")
    need: BantCriterion = strawberry.field(description="Does the customer have the problem we solve?")
    timeframe: BantCriterion = strawberry.field(description="When do they intend to buy?")
    budget_amount: Decimal | None = strawberry.field(description="The budget, in JPY, when known.")
    target_date: date | None = strawberry.field(description="When the customer intends to decide or buy.")
    satisfied: bool = strawberry.field(
        description="True when the active qualification policy accepts this BANT for QUALIFY."
    )


@strawberry.type(description="One guard that blocks a transition, in words a person can act on.")
class GuardFailure:
    guard: str = strawberry.field(
        description="Stable machine-readable name, e.g. 'score.hot_threshold' or 'bant.budget'."
    )
    message: str = strawberry.field(description="What blocks the transition and what to do about it.")


@strawberry.type(description="A lifecycle event and whether the lead can take it now.")
class TransitionOption:
    event: LeadEvent = strawberry.field(description="The lifecycle event.")
    to_stage: LeadStage = strawberry.field(description="The stage the event leads to.")
    allowed: bool = strawberry.field(
        description="Whether the lead can take this event now (input such as a reason aside)."
    )
    blockers: list[GuardFailure] = strawberry.field(
        description="Every guard that blocks the event now; empty when allowed."
    )


@strawberry.type(description="Why the score is what it is: one row per rule application.")
class ScoreContribution:
    rule: str = strawberry.field(description="Stable name of the scoring rule, e.g. 'activity.email_open'.")
    points: int = strawberry.field(description="The rule's total contribution to the score (may be negative).")
    reason: str = strawberry.field(description="Why, e.g. '3 x email_open at +1'.")
    at: datetime = strawberry.field(description="When the rule last applied.")


@strawberry.type(description="A behaviour of the lead and the points it earned.")
class Activity:
    id: strawberry.ID = strawberry.field(description="Stable id of the activity.")
    kind: str = strawberry.field(description="The behaviour, a slug such as 'pricing_page_view'.")
    occurred_at: datetime = strawberry.field(description="When it happened.")
    properties: JSON = strawberry.field(description="Details sent with it, e.g. the page or the survey intent.")
    points: int = strawberry.field(
        description="Points it earned when recorded (0 for unknown kinds or earlier cycles)."
    )

    @classmethod
    def from_domain(cls, activity: model.Activity) -> Activity:
        return cls(
            id=strawberry.ID(str(activity.id)),
            kind=activity.kind,
            occurred_at=activity.occurred_at,
            properties=JSON(activity.properties),
            points=activity.points,
        )


@strawberry.type(
    description="One entry of the lead's history: activities, score changes, transitions, BANT edits, "
    "feedback, assignment."
)
class TimelineEntry:
    at: datetime = strawberry.field(description="When it happened.")
    kind: str = strawberry.field(
        description="created, activity, score, transition, bant, update, assignment or feedback."
    )
    actor: str | None = strawberry.field(
        description="Who did it: the X-Actor of the request, or 'system' for automatic transitions."
    )
    summary: str = strawberry.field(description="One line for people.")
    data: JSON = strawberry.field(description="The details, for programs.")


def first_in_range(value: int | None, default: int) -> int:
    if value is None:
        return default
    if not 0 <= value <= MAX_CHILDREN:
        raise ClientError(f"first must be between 0 and {MAX_CHILDREN}")
    return value


# The lead's parts, made only when asked for (a page of leads shows few of them): resolvers of Lead.
def _company(self: Lead) -> Company:
    return Company(**vars(self.domain.company))


def _contact(self: Lead) -> Contact:
    return Contact(**vars(self.domain.contact))


def _lead_bant(self: Lead) -> Bant:
    return _bant(self.domain.bant, self.policy)


def _score_breakdown(self: Lead) -> list[ScoreContribution]:
    return [ScoreContribution(rule=c.rule, points=c.points, reason=c.reason, at=c.at) for c in self.domain.breakdown]


@strawberry.type(description="A B2B lead: who, where from, where it stands in the lifecycle and why.")
class Lead:
    id: strawberry.ID = strawberry.field(description="The lead's id (a UUID).")
    company: Company = strawberry.field(resolver=_company, description="The company the lead belongs to.")
    contact: Contact = strawberry.field(resolver=_contact, description="The person we talk to.")
    source: str = strawberry.field(description="Acquisition channel, e.g. web_ad, seo, webinar, exhibition, referral.")
    stage: LeadStage = strawberry.field(description="Where the lead stands in the lifecycle.")
    temperature: Temperature = strawberry.field(description="Marketing's signal from the score and the current cycle.")
    score: int = strawberry.field(
        description="Attribute points plus behaviour points of the current nurture cycle; may be negative."
    )
    version: int = strawberry.field(
        description="Incremented on every change; pass it back as expectedVersion for optimistic concurrency."
    )
    bant: Bant = strawberry.field(
        resolver=_lead_bant, description="What sales has confirmed: Budget, Authority, Need, Timeframe."
    )
    owner_team: str | None = strawberry.field(description="The sales team working the lead.")
    owner: str | None = strawberry.field(description="The salesperson working the lead.")
    loss_reason: LossReason | None = strawberry.field(description="Why the deal was lost, while the lead is LOST.")
    created_at: datetime = strawberry.field(description="When the lead was created.")
    updated_at: datetime = strawberry.field(description="When the lead last changed.")
    stage_changed_at: datetime = strawberry.field(description="When the lead entered its current stage.")
    score_breakdown: list[ScoreContribution] = strawberry.field(
        resolver=_score_breakdown,
        description="Why the score is what it is: one row per contributing rule; sums to score.",
    )
    domain: strawberry.Private[model.Lead]
    policy: strawberry.Private[Policy]

    @strawberry.field(description="Every lifecycle event with whether it is allowed now and, if not, what blocks it.")
    def available_transitions(self) -> list[TransitionOption]:
        return [_option(t.event, tuple(blockers(self.domain, t.event, self.policy))) for t in TRANSITIONS]

    @strawberry.field(
        description="True for an MQL whose temperature fell below HOT as its behaviour points faded (or a new model "
        "scored it lower): MQL and later leads are never demoted automatically, so this tells sales it is cooling."
    )
    def going_cold(self) -> bool:
        return self.domain.going_cold

    @strawberry.field(description="The scoring model version that produced score, temperature and scoreBreakdown.")
    def scoring_model_version(self) -> int:
        return self.domain.scoring_model_version

    @strawberry.field(description=f"The newest activities first (at most {MAX_CHILDREN}).")
    async def activities(self, info: Info, first: int | None = 50) -> list[Activity]:
        found = await info.context.loaders.activities.load((self.domain.id, first_in_range(first, 50)))
        return [Activity.from_domain(a) for a in found]

    @strawberry.field(description=f"The newest history entries first (at most {MAX_CHILDREN}).")
    async def timeline(self, info: Info, first: int | None = 100) -> list[TimelineEntry]:
        found = await info.context.loaders.timeline.load((self.domain.id, first_in_range(first, 100)))
        return [TimelineEntry(at=h.at, kind=h.kind, actor=h.actor, summary=h.summary, data=JSON(h.data)) for h in found]

    @classmethod
    def from_domain(cls, lead: model.Lead, policy: Policy) -> Lead:
        assert lead.updated_at is not None
        assert lead.stage_changed_at is not None
        return cls(
            id=strawberry.ID(str(lead.id)),
            source=lead.source,
            stage=lead.stage,
            temperature=lead.temperature,
            score=lead.score,
            version=lead.version,
            owner_team=lead.owner_team,
            owner=lead.owner,
            loss_reason=lead.loss_reason,
            created_at=lead.created_at,
            updated_at=lead.updated_at,
            stage_changed_at=lead.stage_changed_at,
            domain=lead,
            policy=policy,
        )


@functools.lru_cache(maxsize=1024)
def _option(event: LeadEvent, failures: tuple[errors.GuardFailure, ...]) -> TransitionOption:
    """The option for an event and what blocks it: made once, as most leads of a stage share it.

    The objects are shared by every lead and request that has the same failures: nothing changes them.
    """
    return TransitionOption(
        event=event,
        to_stage=TRANSITION_OF[event].target,
        allowed=not failures,
        blockers=[GuardFailure(guard=f.guard, message=f.message) for f in failures],
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
