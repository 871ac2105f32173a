"""Rescoring in the background: every lead after a model is activated, and leads whose time has come.

Activating a model starts a run (one RUNNING at a time; a newer activation supersedes it). The
work left is a fact of the data, not of the worker: the leads whose `scoring_model_version` is
not the run's version. So a restarted worker simply continues with the leads still pending,
and two workers at once only waste effort (a lead already on the version is skipped).

Each lead is rescored in a transaction of its own, locked like any other change, so a user's
mutation never waits for more than one lead's rescore and the change log stays in version order.
A lead whose score, breakdown, temperature or stage changes gets a new version, its timeline
entries (score, automatic transitions with the model version) and a `score` change; one that
does not only records the version that scored it.

The same worker refreshes leads whose `review_at` has passed (decay.py): the moment time alone
changes their temperature. A WARM lead decay takes below the warm threshold cools to COLD (COOL);
MQL and later leads keep their stage, and their temperature tells sales they are going cold.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from leadcycle.domain.lifecycle import SYSTEM_ACTOR, Policy, cool_down
from leadcycle.domain.model import Lead
from leadcycle.domain.ports import LeadChange, UnitOfWork
from leadcycle.domain.rules import ScoringModel
from leadcycle.domain.scoring_models import RescoringRun
from leadcycle.domain.stages import ChangeKind
from leadcycle.domain.use_cases import settle

DEFAULT_BATCH = 100


def rescore_lead(lead: Lead, policy: Policy, requested_by: str, now: datetime) -> LeadChange | None:
    """Score a locked lead under `policy` and let it move as automatic progress allows.

    Returns the change to log, or None when nothing a client sees changed but the model version.
    """
    seen = (lead.score, lead.breakdown, lead.temperature, lead.stage)
    stage_before = lead.stage
    settle(lead, policy, SYSTEM_ACTOR, now, score_before=lead.score, advance=True, requested_by=requested_by)
    cool_down(lead, policy, requested_by=requested_by, now=now)
    if (lead.score, lead.breakdown, lead.temperature, lead.stage) == seen:
        return None
    lead.version += 1
    lead.touch(now)
    moved = lead.stage != stage_before
    return LeadChange(
        ChangeKind.SCORE, now, SYSTEM_ACTOR, stage_before if moved else None, lead.stage if moved else None
    )


class Rescoring:
    """The background side of scoring: the rescoring run in progress, batch by batch, and leads due for review."""

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        clock: Callable[[], datetime],
        batch: int = DEFAULT_BATCH,
        policy: Policy | None = None,
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._batch = batch
        self._policy = policy or Policy()

    async def run_batch(self) -> bool:
        """Rescore the next batch of the running run; False once there is nothing (left) to do."""
        async with self._uow_factory() as uow:
            run = await uow.rescoring.running()
            if run is None:
                return False
            pending = await uow.rescoring.pending(run.model_version, self._batch)
            if not pending:
                await uow.rescoring.finish(run.id, self._clock())
                await uow.commit()
                return False
        for lead_id in pending:
            await self._rescore(run, lead_id)
        return True

    async def run_until_done(self, stopping: Callable[[], bool] = lambda: False) -> None:
        """Work batch after batch until the run is done (or `stopping` says so between batches)."""
        while not stopping() and await self.run_batch():
            pass

    async def refresh_due(self, stopping: Callable[[], bool] = lambda: False) -> int:
        """Rescore every lead whose review time has come (decay, windows); returns how many were looked at.

        The cost is the number of due leads: a lead is due only when time alone changes its
        temperature (decay.py). Each is rescored at now, may warm, cool (WARM -> COLD) or move on to
        MQL, and gets its next review time.
        """
        looked_at = 0
        while not stopping():
            async with self._uow_factory() as uow:
                due = await uow.leads.due_for_review(self._clock(), self._batch)
            for lead_id in due:
                await self._refresh(lead_id)
            looked_at += len(due)
            if len(due) < self._batch:
                return looked_at
        return looked_at

    async def _rescore(self, run: RescoringRun, lead_id: UUID) -> None:
        async with self._uow_factory() as uow:
            lead = await uow.leads.lock(lead_id)
            if lead is None or lead.scoring_model_version == run.model_version:
                return  # gone, or rescored meanwhile (by a change, or another worker)
            model = await uow.scoring_models.active()
            if model.version != run.model_version:
                return  # superseded by a newer activation: its own run takes over
            changed = await self._apply(uow, lead, model, run.started_by)
            await uow.rescoring.count(run.id, changed=changed)
            await uow.commit()

    async def _refresh(self, lead_id: UUID) -> None:
        async with self._uow_factory() as uow:
            lead = await uow.leads.lock(lead_id)
            if lead is None or lead.review_at is None or lead.review_at > self._clock():
                return  # gone, or changed meanwhile (which set a new review time)
            await self._apply(uow, lead, await uow.scoring_models.active(), SYSTEM_ACTOR)
            await uow.commit()

    async def _apply(self, uow: UnitOfWork, lead: Lead, model: ScoringModel, requested_by: str) -> bool:
        """Rescore a locked lead with `model` and write the outcome; True when it changed."""
        change = rescore_lead(lead, dataclasses.replace(self._policy, scoring=model), requested_by, self._clock())
        if change is None:
            await uow.leads.mark_scored(lead)
        else:
            await uow.leads.save(lead, change)
        return change is not None
