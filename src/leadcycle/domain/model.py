"""The lead aggregate and its value objects."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from leadcycle.domain.stages import BantStatus, LossReason, SalesVerdict, Stage, Temperature

BANT_CRITERIA = ("budget", "authority", "need", "timeframe")


@dataclass(frozen=True)
class Company:
    name: str
    department: str | None = None
    employee_count: int | None = None
    capital: Decimal | None = None
    industry: str | None = None


@dataclass(frozen=True)
class Contact:
    name: str
    email: str | None = None
    phone: str | None = None
    title: str | None = None
    is_decision_maker: bool = False


@dataclass(frozen=True)
class BantCriterion:
    status: BantStatus = BantStatus.UNKNOWN
    note: str | None = None


@dataclass(frozen=True)
class Bant:
    budget: BantCriterion = BantCriterion()
    authority: BantCriterion = BantCriterion()
    need: BantCriterion = BantCriterion()
    timeframe: BantCriterion = BantCriterion()
    budget_amount: Decimal | None = None
    target_date: date | None = None

    def criterion(self, name: str) -> BantCriterion:
        """The criterion called `name` (one of BANT_CRITERIA)."""
        criterion: BantCriterion = getattr(self, name)
        return criterion


@dataclass(frozen=True)
class ScoreContribution:
    """One rule's share of the score: `points` is the rule's total over `count` applications."""

    rule: str
    points: int
    reason: str
    at: datetime
    count: int = 1
    behaviour: bool = False


@dataclass(frozen=True)
class Activity:
    """A behaviour of the lead, with the points it earned when it was recorded."""

    kind: str
    occurred_at: datetime
    properties: dict[str, Any]
    points: int
    cycle: int
    rule: str | None = None
    id: int | None = None  # assigned by storage


@dataclass(frozen=True)
class HistoryEntry:
    """One line of the lead's timeline."""

    at: datetime
    kind: str
    actor: str | None
    summary: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Lead:
    """A B2B lead: who it is, where it stands in the lifecycle and why.

    Mutated only through the use cases, which record what they did in `new_activities` and
    `new_history` for the unit of work to persist with the lead.
    """

    id: UUID
    company: Company
    contact: Contact
    source: str
    created_at: datetime
    stage: Stage = Stage.COLD
    temperature: Temperature = Temperature.COLD
    score: int = 0
    version: int = 0
    bant: Bant = Bant()
    owner_team: str | None = None
    owner: str | None = None
    loss_reason: LossReason | None = None
    updated_at: datetime | None = None
    stage_changed_at: datetime | None = None
    cycle: int = 1
    cycle_started_at: datetime | None = None
    hot_signal: str | None = None
    feedback: SalesVerdict | None = None
    reached_mql_at: datetime | None = None
    reached_opportunity_at: datetime | None = None
    breakdown: tuple[ScoreContribution, ...] = ()
    scoring_model_version: int = 1  # the model version that produced score, breakdown and temperature
    review_at: datetime | None = None  # when time alone would next change the temperature (decay.py)
    # The current cycle's activities that scoring reads; loaded only with a lead locked for writing.
    cycle_activities: tuple[Activity, ...] = field(default=(), compare=False)
    new_activities: list[Activity] = field(default_factory=list, compare=False)
    new_history: list[HistoryEntry] = field(default_factory=list, compare=False)

    def __post_init__(self) -> None:
        self.updated_at = self.updated_at or self.created_at
        self.stage_changed_at = self.stage_changed_at or self.created_at
        self.cycle_started_at = self.cycle_started_at or self.created_at

    @property
    def going_cold(self) -> bool:
        """An MQL whose temperature fell below HOT (decay, a new model): it is never demoted, so sales should know."""
        return self.stage is Stage.MQL and self.temperature is not Temperature.HOT

    def record(self, entry: HistoryEntry) -> None:
        """Add a line to the timeline, written with the lead's next save."""
        self.new_history.append(entry)

    def touch(self, at: datetime) -> None:
        """Mark the lead as changed at `at`; the version is bumped once per mutation."""
        self.updated_at = at

    def snapshot(self) -> Lead:
        """A copy without pending records, e.g. to publish with a change."""
        return dataclasses.replace(self, new_activities=[], new_history=[])

    def checkpoint(self) -> Lead:
        """A copy of the lead as it is now that takes over its pending records: one of several changes."""
        copy = dataclasses.replace(self)
        self.new_activities, self.new_history = [], []
        return copy
