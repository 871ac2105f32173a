"""`leadcycle demo`: a realistic sample pipeline, written through the real use cases.

Each lead follows a story (the stage it should end in): marketing touches that heat it up by
the scoring model's own rules, then sales actions. All steps of all leads run in time order
under a clock the demo sets, back-dated over the last six months, so created_at, activities,
timelines and the change log read like half a year of work. The same seed gives the same
leads, stories and stages; eight leads or more give every stage.
"""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from leadcycle.domain.commands import (
    AssignLead,
    CreateLead,
    RecordActivity,
    RecordSalesFeedback,
    TransitionLead,
    UpdateBant,
)
from leadcycle.domain.model import BantCriterion, Company, Contact, Lead
from leadcycle.domain.stages import BantStatus, LeadEvent, LossReason, SalesVerdict, Stage
from leadcycle.domain.use_cases import LeadUseCases
from leadcycle.graph.demo_data import (
    AUTHORITY_NOTES,
    BUDGET_NOTES,
    DEPARTMENTS,
    ENGAGEMENT,
    ENTERPRISE_TEAM,
    GIVEN_NAMES,
    HISTORY_DAYS,
    HOT_SIGNALS,
    INTEREST,
    LIGHT,
    LOSSES,
    MARKETING,
    NEED_NOTES,
    PHONE_AREAS,
    RECYCLE_REASONS,
    REJECT_REASONS,
    SALES_OPS,
    SIZES,
    SOURCES,
    STEMS,
    SURNAMES,
    TEAMS,
    TIMEFRAME_NOTES,
    TITLES,
    TRADES,
    Touch,
)
from leadcycle.persistence.database import create_engine, migrate
from leadcycle.persistence.unit_of_work import unit_of_work_factory

Seat = tuple[str, str]  # (team, owner)


@dataclass(frozen=True)
class Step:
    kind: str  # counted in the summary
    run: Callable[[LeadUseCases, str, datetime], Awaitable[Lead]]


def touch(touch: Touch) -> Step:
    kind, properties = touch

    async def run(cases: LeadUseCases, lead_id: str, _now: datetime) -> Lead:
        return await cases.record_activity(RecordActivity(lead_id, kind, properties=dict(properties)), MARKETING)

    return Step("activities", run)


def assign(seat: Seat) -> Step:
    async def run(cases: LeadUseCases, lead_id: str, _now: datetime) -> Lead:
        return await cases.assign(AssignLead(lead_id, {"owner_team": seat[0], "owner": seat[1]}), SALES_OPS)

    return Step("assignments", run)


def feedback(seat: Seat, verdict: SalesVerdict, reason: str | None = None) -> Step:
    async def run(cases: LeadUseCases, lead_id: str, _now: datetime) -> Lead:
        return await cases.record_sales_feedback(RecordSalesFeedback(lead_id, verdict, reason), seat[1])

    return Step("sales feedbacks", run)


def transition(seat: Seat, event: LeadEvent, reason: str | None = None, loss: LossReason | None = None) -> Step:
    async def run(cases: LeadUseCases, lead_id: str, _now: datetime) -> Lead:
        command = TransitionLead(lead_id, event, reason=reason, loss_reason=loss)
        return await cases.transition(command, seat[1])

    return Step("sales transitions", run)


def bant(seat: Seat, criteria: dict[str, BantCriterion], budget: Decimal | None = None, months: int = 0) -> Step:
    async def run(cases: LeadUseCases, lead_id: str, now: datetime) -> Lead:
        details: dict[str, Decimal | date] = {"budget_amount": budget} if budget else {}
        if months:
            details |= {"target_date": (now + timedelta(days=30 * months)).date()}
        return await cases.update_bant(UpdateBant(lead_id, criteria, details), seat[1])

    return Step("BANT updates", run)


# -- stories: the steps that bring a lead to the stage it should end in ---------------------------


def confirmed(rng: random.Random, notes: tuple[str, ...]) -> BantCriterion:
    return BantCriterion(BantStatus.CONFIRMED, rng.choice(notes))


def cold(rng: random.Random, _seat: Seat) -> list[Step]:
    """A few light touches, under the warm threshold (the lead scores no attribute points)."""
    steps = [touch(rng.choice(LIGHT)) for _ in range(rng.randint(0, 4))]
    return [*steps, touch(INTEREST[1])] if rng.random() < 0.4 else steps


def warm(rng: random.Random, _seat: Seat) -> list[Step]:
    """Interest worth 20 to 29 points: WARM, far from the hot threshold."""
    steps = [touch(t) for t in INTEREST] + [touch(rng.choice(LIGHT)) for _ in range(rng.randint(0, 3))]
    rng.shuffle(steps)
    return steps


def heat_up(rng: random.Random) -> list[Step]:
    """To MQL: mostly by a hot signal (a quote, demo, trial...), else by 60 points of engagement."""
    steps = [touch(rng.choice(LIGHT)) for _ in range(rng.randint(1, 3))]
    if rng.random() < 0.7:
        return [*steps, touch(rng.choice(INTEREST)), touch(rng.choice(HOT_SIGNALS))]
    return [*steps, *(touch(t) for t in ENGAGEMENT)]


def accepted(rng: random.Random, seat: Seat) -> list[Step]:
    """Handed to sales, who accept it and confirm budget and need."""
    first = {"budget": confirmed(rng, BUDGET_NOTES), "need": confirmed(rng, NEED_NOTES)}
    if rng.random() < 0.4:
        first["authority"] = BantCriterion(BantStatus.NOT_MET, "決裁者にまだ会えていない")
    budget = Decimal(rng.randrange(3, 80) * 1_000_000)
    return [*heat_up(rng), assign(seat), feedback(seat, SalesVerdict.ACCEPTED), bant(seat, first, budget)]


def rejected(rng: random.Random, seat: Seat) -> list[Step]:
    return [*heat_up(rng), assign(seat), feedback(seat, SalesVerdict.REJECTED, rng.choice(REJECT_REASONS))]


def mql(rng: random.Random, seat: Seat) -> list[Step]:
    """Waiting for sales, accepted without full BANT yet, or back in a second cycle after a rejection."""
    variant = rng.random()
    if variant < 0.4:
        return heat_up(rng)
    if variant < 0.75:
        return accepted(rng, seat)
    return [*rejected(rng, seat), touch(rng.choice(LIGHT)), touch(rng.choice(HOT_SIGNALS))]


def sql(rng: random.Random, seat: Seat) -> list[Step]:
    rest = {"authority": confirmed(rng, AUTHORITY_NOTES), "timeframe": confirmed(rng, TIMEFRAME_NOTES)}
    return [*accepted(rng, seat), bant(seat, rest, months=rng.randint(2, 9)), transition(seat, LeadEvent.QUALIFY)]


def opportunity(rng: random.Random, seat: Seat) -> list[Step]:
    return [*sql(rng, seat), transition(seat, LeadEvent.OPEN_OPPORTUNITY), touch(INTEREST[0])]


def won(rng: random.Random, seat: Seat) -> list[Step]:
    return [*opportunity(rng, seat), transition(seat, LeadEvent.WIN)]


def lost(rng: random.Random, seat: Seat) -> list[Step]:
    loss, reason = rng.choice(LOSSES)
    return [*opportunity(rng, seat), transition(seat, LeadEvent.LOSE, reason, loss)]


def recycled(rng: random.Random, seat: Seat) -> list[Step]:
    """Rejected by sales, or qualified or lost and put back to nurturing."""
    variant = rng.random()
    if variant < 0.4:
        return rejected(rng, seat)
    before = sql(rng, seat) if variant < 0.7 else lost(rng, seat)
    return [*before, transition(seat, LeadEvent.RECYCLE, rng.choice(RECYCLE_REASONS))]


@dataclass(frozen=True)
class Story:
    stage: Stage
    weight: int
    days: int  # how long it takes at most
    steps: Callable[[random.Random, Seat], list[Step]]
    modest: bool = False  # a lead with no attribute points (small company, no decision maker)


STORIES = (
    Story(Stage.COLD, 24, 45, cold, modest=True),
    Story(Stage.WARM, 20, 75, warm, modest=True),
    Story(Stage.MQL, 14, 60, mql),
    Story(Stage.SQL, 9, 75, sql),
    Story(Stage.OPPORTUNITY, 9, 100, opportunity),
    Story(Stage.WON, 8, 130, won),
    Story(Stage.LOST, 7, 120, lost),
    Story(Stage.RECYCLED, 9, 120, recycled),
)


# -- who the leads are -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Firm:
    company: Company
    domain: str

    @property
    def enterprise(self) -> bool:
        return (self.company.employee_count or 0) >= 1_000


def new_firm(rng: random.Random, stem: tuple[str, str], trade: tuple[str, str, str]) -> Firm:
    name = f"株式会社{stem[0]}{trade[0]}" if rng.random() < 0.5 else f"{stem[0]}{trade[0]}株式会社"
    _, employees, capital = rng.choices(SIZES, weights=[s[0] for s in SIZES])[0]
    capital_jpy = Decimal(rng.randrange(capital[0], capital[1], 10_000_000))
    company = Company(name, employee_count=rng.randint(*employees), capital=capital_jpy, industry=trade[2])
    return Firm(company, f"{stem[1]}-{trade[1]}.co.jp")


def firms(rng: random.Random) -> list[Firm]:
    """The companies leads come from, each with its figures: several leads may share one."""
    return [new_firm(rng, stem, trade) for stem in STEMS for trade in TRADES]


def contact_at(rng: random.Random, firm: Firm, modest: bool) -> Contact:
    (surname, surname_romaji), (given, given_romaji) = rng.choice(SURNAMES), rng.choice(GIVEN_NAMES)
    title, decides = rng.choice([t for t in TITLES if not (modest and t[1])])
    area = rng.choice(PHONE_AREAS)
    local = rng.randint(1000, 9999) if len(area) == 2 else rng.randint(100, 999)
    return Contact(
        name=f"{surname} {given}",
        email=f"{surname_romaji}.{given_romaji}@{firm.domain}",
        phone=f"{area}-{local}-{rng.randint(1000, 9999)}" if rng.random() < 0.8 else None,
        title=title,
        is_decision_maker=decides,
    )


def seat_for(rng: random.Random, firm: Firm) -> Seat:
    team, owners = ENTERPRISE_TEAM if firm.enterprise else rng.choice(TEAMS)
    return team, rng.choice(owners)


# -- plan and play ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LeadPlan:
    create: CreateLead
    steps: tuple[Step, ...]
    times: tuple[datetime, ...]  # the creation's, then one per step, ascending


def plan_lead(rng: random.Random, story: Story, companies: list[Firm], until: datetime) -> LeadPlan:
    firm = rng.choice([f for f in companies if not (story.modest and f.enterprise)])
    company = dataclasses.replace(firm.company, department=rng.choice(DEPARTMENTS))
    source = rng.choices(list(SOURCES), weights=list(SOURCES.values()))[0]
    create = CreateLead(company, contact_at(rng, firm, story.modest), source)
    steps = story.steps(rng, seat_for(rng, firm))
    created = until - timedelta(seconds=rng.uniform(3600, HISTORY_DAYS * 86400))
    span = min(timedelta(days=story.days), until - created).total_seconds()
    offsets = sorted(rng.uniform(60, span) for _ in steps)
    return LeadPlan(create, tuple(steps), (created, *(created + timedelta(seconds=s) for s in offsets)))


def plan(rng: random.Random, leads: int, until: datetime) -> list[LeadPlan]:
    """One story per lead: each stage at least once, the rest by weight, in random order."""
    stories = [*STORIES, *rng.choices(STORIES, weights=[s.weight for s in STORIES], k=max(0, leads - len(STORIES)))]
    rng.shuffle(stories)
    companies = firms(rng)
    return [plan_lead(rng, story, companies, until) for story in stories[:leads]]


class DemoClock:
    """The use cases' clock, set by the demo to each step's back-dated time."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass(frozen=True)
class DemoSummary:
    leads: int
    stages: dict[Stage, int]  # every stage, in lifecycle order
    steps: dict[str, int]  # what was recorded after the creations, by kind


async def play(cases: LeadUseCases, clock: DemoClock, plans: list[LeadPlan]) -> dict[int, Lead]:
    """Run every lead's creation and steps in time order; the leads as they end."""
    schedule = sorted((at, n, i) for n, p in enumerate(plans) for i, at in enumerate(p.times))
    leads: dict[int, Lead] = {}
    for at, n, i in schedule:
        clock.now = at
        if i == 0:
            leads[n] = await cases.create(plans[n].create, MARKETING)
        else:
            leads[n] = await plans[n].steps[i - 1].run(cases, str(leads[n].id), at)
    return leads


async def fill_demo(database_url: str, *, leads: int, seed: int, until: datetime | None = None) -> DemoSummary:
    """Migrate, then create `leads` sample leads over the HISTORY_DAYS before `until` (default now)."""
    until = until or datetime.now(UTC)
    plans = plan(random.Random(seed), leads, until)
    engine = create_engine(database_url)
    try:
        await migrate(engine)
        clock = DemoClock(until)
        final = await play(LeadUseCases(unit_of_work_factory(engine), clock), clock, plans)
    finally:
        await engine.dispose()
    stages = Counter(lead.stage for lead in final.values())
    steps = Counter(step.kind for p in plans for step in p.steps)
    return DemoSummary(len(final), {stage: stages[stage] for stage in Stage}, dict(steps))
