"""In-memory fakes of the domain's ports, a settable clock and lead factories for the use-case tests.

Like the real unit of work, the fake works on a private copy of the stored state and writes it
back only on `commit()`: leaving the block without committing (an error, a refusal, a no-op)
leaves the store exactly as it was.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Self
from uuid import UUID

from leadcycle.domain.commands import CreateLead, RecordActivity
from leadcycle.domain.lifecycle import Policy
from leadcycle.domain.model import Activity, Bant, Company, Contact, HistoryEntry, Lead
from leadcycle.domain.ports import LeadChange, StoredKey
from leadcycle.domain.rules import ScoringModel
from leadcycle.domain.scoring import rescore
from leadcycle.domain.scoring_models import ModelStatus, StoredModel
from leadcycle.domain.stages import Stage
from leadcycle.domain.use_cases import LeadUseCases

NOTHING_KNOWN = Bant()
START = datetime(2025, 6, 2, 1, 0, tzinfo=UTC)


def active_model(model: ScoringModel) -> dict[int, StoredModel]:
    """The stored models of a database where `model` is the only one, and active."""
    return {model.version: StoredModel(model, ModelStatus.ACTIVE, None, START, "system", START, "system")}


@dataclass
class StoredState:
    leads: dict[UUID, Lead] = field(default_factory=dict)
    timelines: dict[UUID, list[HistoryEntry]] = field(default_factory=dict)
    activities: dict[UUID, list[Activity]] = field(default_factory=dict)
    changes: list[tuple[UUID, LeadChange, Lead]] = field(default_factory=list)
    keys: dict[tuple[str, str], StoredKey] = field(default_factory=dict)
    models: dict[int, StoredModel] = field(default_factory=lambda: active_model(Policy().scoring))

    def copy(self) -> StoredState:
        return StoredState(
            leads={i: lead.snapshot() for i, lead in self.leads.items()},
            timelines={i: list(entries) for i, entries in self.timelines.items()},
            activities={i: list(entries) for i, entries in self.activities.items()},
            changes=list(self.changes),
            keys=dict(self.keys),
            models=dict(self.models),
        )


@dataclass
class FakeDatabase:
    state: StoredState = field(default_factory=StoredState)
    commits: int = 0

    def lead(self, lead_id: UUID) -> Lead:
        return self.state.leads[lead_id].snapshot()

    def timeline(self, lead_id: UUID, kind: str | None = None) -> list[HistoryEntry]:
        return [e for e in self.state.timelines.get(lead_id, []) if kind is None or e.kind == kind]

    def changes(self, lead_id: UUID) -> list[LeadChange]:
        return [change for i, change, _lead in self.state.changes if i == lead_id]


class FakeLeadRepository:
    def __init__(self, work: StoredState) -> None:
        self._work = work

    async def add(self, lead: Lead, change: LeadChange) -> None:
        assert lead.id not in self._work.leads, "add() of a lead that exists"
        self._work.timelines[lead.id] = []
        self._work.activities[lead.id] = []
        self._write(lead, change)

    async def get(self, lead_id: UUID) -> Lead | None:
        lead = self._work.leads.get(lead_id)
        return lead.snapshot() if lead else None

    async def lock(self, lead_id: UUID, *, cycle_activities: bool = True) -> Lead | None:
        lead = await self.get(lead_id)
        if lead is not None and not cycle_activities:
            lead.cycle_activities = ()
        return lead

    async def save(self, lead: Lead, change: LeadChange) -> None:
        assert lead.id in self._work.leads, "save() of a lead never added"
        self._write(lead, change)

    async def save_all(self, steps: Sequence[tuple[Lead, LeadChange]]) -> None:
        for lead, change in steps:
            await self.save(lead, change)

    def _write(self, lead: Lead, change: LeadChange) -> None:
        self._work.leads[lead.id] = lead.snapshot()
        self._work.timelines[lead.id] += lead.new_history
        self._work.activities[lead.id] += lead.new_activities
        self._work.changes.append((lead.id, change, lead.snapshot()))


class FakeIdempotencyKeys:
    def __init__(self, work: StoredState) -> None:
        self._work = work

    async def claim(self, scope: str, key: str, fingerprint: str, lead_id: UUID) -> StoredKey | None:
        stored = self._work.keys.get((scope, key))
        if stored is None:
            self._work.keys[(scope, key)] = StoredKey(fingerprint, lead_id)
        return stored

    async def claim_many(self, scope: str, requests: Mapping[str, str], lead_id: UUID) -> dict[str, StoredKey]:
        stored = {key: await self.claim(scope, key, fingerprint, lead_id) for key, fingerprint in requests.items()}
        return {key: earlier for key, earlier in stored.items() if earlier is not None}


class FakeScoringModels:
    def __init__(self, work: StoredState) -> None:
        self._work = work

    async def active(self) -> ScoringModel:
        return next(m.model for m in self._work.models.values() if m.status is ModelStatus.ACTIVE)

    async def get(self, version: int) -> StoredModel | None:
        return self._work.models.get(version)

    async def lock(self, version: int) -> StoredModel | None:
        return await self.get(version)

    async def newest(self, first: int) -> list[StoredModel]:
        return sorted(self._work.models.values(), key=lambda m: -m.version)[:first]

    async def add_draft(self, model: ScoringModel, note: str | None, actor: str, at: datetime) -> StoredModel:
        version = max(self._work.models, default=0) + 1
        stored = StoredModel(dataclasses.replace(model, version=version), ModelStatus.DRAFT, note, at, actor)
        self._work.models[version] = stored
        return stored

    async def activate(self, version: int, actor: str, at: datetime) -> None:
        for number, stored in list(self._work.models.items()):
            if stored.status is ModelStatus.ACTIVE:
                self._work.models[number] = dataclasses.replace(stored, status=ModelStatus.RETIRED)
        activated = dataclasses.replace(self._work.models[version], status=ModelStatus.ACTIVE)
        self._work.models[version] = dataclasses.replace(activated, activated_at=at, activated_by=actor)


class FakeUnitOfWork:
    def __init__(self, database: FakeDatabase) -> None:
        self._database = database
        self._work = StoredState()
        self.leads = FakeLeadRepository(self._work)
        self.idempotency = FakeIdempotencyKeys(self._work)
        self.scoring_models = FakeScoringModels(self._work)

    async def __aenter__(self) -> Self:
        self._work = self._database.state.copy()
        self.leads = FakeLeadRepository(self._work)
        self.idempotency = FakeIdempotencyKeys(self._work)
        self.scoring_models = FakeScoringModels(self._work)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._work = StoredState()  # whatever was not committed is gone

    async def commit(self) -> None:
        self._database.state = self._work.copy()
        self._database.commits += 1


@dataclass
class FixedClock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@dataclass
class Harness:
    """The use cases wired to a fake database, a fixed clock and predictable lead ids."""

    cases: LeadUseCases
    db: FakeDatabase
    clock: FixedClock


def harness(policy: Policy | None = None) -> Harness:
    db, clock = FakeDatabase(), FixedClock()
    db.state.models = active_model((policy or Policy()).scoring)
    ids = (UUID(int=n) for n in itertools.count(1))
    cases = LeadUseCases(lambda: FakeUnitOfWork(db), clock, policy, new_id=lambda: next(ids))
    return Harness(cases, db, clock)


def new_lead(
    *,
    company: Company | None = None,
    contact: Contact | None = None,
    source: str = "web_ad",
    key: str | None = None,
) -> CreateLead:
    return CreateLead(
        company=company or Company("Example KK"),
        contact=contact or Contact("Sato Hanako", email="sato@example.co.jp"),
        source=source,
        idempotency_key=key,
    )


async def create_lead(
    h: Harness,
    *,
    decision_maker: bool = False,
    employees: int | None = None,
    actor: str = "marketing",
) -> Lead:
    """A lead created through the use case (so COLD, or WARM when its attributes earn 20)."""
    command = new_lead(
        company=Company("Example KK", employee_count=employees),
        contact=Contact("Sato Hanako", email="sato@example.co.jp", is_decision_maker=decision_maker),
    )
    return await h.cases.create(command, actor)


def seed_lead(
    h: Harness,
    *,
    stage: Stage,
    company: Company | None = None,
    contact: Contact | None = None,
    bant: Bant = NOTHING_KNOWN,
    version: int = 1,
) -> Lead:
    """A lead put straight into the store in `stage`, scored from its attributes."""
    lead = Lead(
        id=UUID(int=10_000 + len(h.db.state.leads)),
        company=company or Company("Seeded KK"),
        contact=contact or Contact("Suzuki Jiro"),
        source="seminar",
        created_at=h.clock.now - timedelta(days=30),
        stage=stage,
        version=version,
        bant=bant,
    )
    rescore(lead, h.cases.policy.scoring, h.clock.now)
    h.db.state.leads[lead.id] = lead.snapshot()
    h.db.state.timelines[lead.id] = []
    h.db.state.activities[lead.id] = []
    return lead


async def record(h: Harness, lead_id: UUID, kind: str, *, actor: str = "marketing", **fields: object) -> Lead:
    return await h.cases.record_activity(RecordActivity(str(lead_id), kind, **fields), actor)  # type: ignore[arg-type]
