"""What the use cases need from storage. persistence/ implements these; tests may fake them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self
from uuid import UUID

from leadcycle.domain.model import Lead
from leadcycle.domain.rules import ScoringModel
from leadcycle.domain.scoring_models import RescoringRun, StoredModel
from leadcycle.domain.stages import ChangeKind, Stage


@dataclass(frozen=True)
class LeadChange:
    """One committed change, appended to the change log with a snapshot of the lead."""

    kind: ChangeKind
    at: datetime
    actor: str
    from_stage: Stage | None = None
    to_stage: Stage | None = None


@dataclass(frozen=True)
class StoredKey:
    fingerprint: str
    lead_id: UUID


class LeadRepository(Protocol):
    async def add(self, lead: Lead, change: LeadChange) -> None:
        """Insert a new lead with its pending activities and history."""

    async def get(self, lead_id: UUID) -> Lead | None:
        """The lead as committed, without locking."""

    async def lock(self, lead_id: UUID, *, cycle_activities: bool = True) -> Lead | None:
        """The lead, locked against other writers until the unit of work ends.

        With its current cycle's activities, which scoring reads, unless `cycle_activities` is
        False: the caller starts a new cycle, where they no longer count.
        """

    async def save(self, lead: Lead, change: LeadChange) -> None:
        """Write a locked lead back with its pending activities and history."""

    async def page_for_scoring(self, after: UUID | None, first: int) -> list[Lead]:
        """Up to `first` leads after `after` in id order, with their current cycle's activities; no locks."""

    async def mark_scored(self, lead: Lead) -> None:
        """Record the model version and review time of a locked lead rescoring left unchanged (no new version)."""

    async def due_for_review(self, now: datetime, first: int) -> list[UUID]:
        """Up to `first` leads whose `review_at` is at or before `now`, longest overdue first."""

    async def save_all(self, steps: Sequence[tuple[Lead, LeadChange]]) -> None:
        """Write a locked lead back through successive changes, one version apart.

        Each step is the lead as of one change, holding that change's pending records (see
        `Lead.checkpoint`); every step gets its own change-log entry, in order.
        """


class IdempotencyKeys(Protocol):
    async def claim(self, scope: str, key: str, fingerprint: str, lead_id: UUID) -> StoredKey | None:
        """Take the key for this request, or return what an earlier request stored under it.

        A request holding the same key in another open transaction makes this wait for it.
        """

    async def claim_many(self, scope: str, requests: Mapping[str, str], lead_id: UUID) -> dict[str, StoredKey]:
        """Take each key of `requests` (key -> fingerprint) like `claim`, all at once.

        Returns what earlier requests stored under the keys that were taken already; the keys
        missing from the answer now belong to this transaction.
        """


class ScoringModels(Protocol):
    """Storage of scoring model versions."""

    async def active(self) -> ScoringModel:
        """The model in force."""

    async def get(self, version: int) -> StoredModel | None:
        """One version, or None."""

    async def lock(self, version: int) -> StoredModel | None:
        """One version, with activations serialised until the unit of work ends."""

    async def newest(self, first: int) -> list[StoredModel]:
        """The `first` newest versions, newest first."""

    async def add_draft(self, model: ScoringModel, note: str | None, actor: str, at: datetime) -> StoredModel:
        """Store `model` as a draft under the next version number (its own `version` is ignored)."""

    async def activate(self, version: int, actor: str, at: datetime) -> None:
        """Make `version` the one active model and retire the one in force (under `lock`)."""


class RescoringRuns(Protocol):
    """Progress of rescoring after activations."""

    async def start(self, model_version: int, actor: str, at: datetime) -> RescoringRun:
        """Begin a run for the just activated version; a run still going is superseded."""

    async def running(self) -> RescoringRun | None:
        """The run in progress, if any."""

    async def pending(self, model_version: int, first: int) -> list[UUID]:
        """Up to `first` leads not yet scored by `model_version`."""

    async def count(self, run_id: int, *, changed: bool) -> None:
        """Count one more lead rescored (and changed) by the run."""

    async def finish(self, run_id: int, at: datetime) -> None:
        """Mark the run done."""

    async def latest_of(self, model_versions: Sequence[int]) -> dict[int, RescoringRun]:
        """The newest run of each of these versions that has one."""


class UnitOfWork(Protocol):
    """One transaction: leaving the block without `commit()` rolls everything back."""

    @property
    def leads(self) -> LeadRepository: ...

    @property
    def idempotency(self) -> IdempotencyKeys: ...

    @property
    def scoring_models(self) -> ScoringModels: ...

    @property
    def rescoring(self) -> RescoringRuns: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...
