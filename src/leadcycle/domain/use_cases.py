"""The use cases: one transaction each, written against the ports and an injected clock.

Every change follows one path (`_change`): validate, lock the lead, replay an idempotent
retry, check the expected version, let the domain decide, rescore, advance automatically where
the semantics say so, bump the version once, and save the lead with one change-log entry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid4

from leadcycle.domain import actions, validation
from leadcycle.domain.commands import (
    AssignLead,
    CreateLead,
    RecordActivity,
    RecordSalesFeedback,
    TransitionLead,
    UpdateBant,
    UpdateLead,
)
from leadcycle.domain.errors import InvalidInput, LeadNotFound, VersionConflict
from leadcycle.domain.fingerprint import fingerprint
from leadcycle.domain.lifecycle import Policy, advance_automatically
from leadcycle.domain.model import HistoryEntry, Lead
from leadcycle.domain.ports import LeadChange, UnitOfWork
from leadcycle.domain.scoring import rescore
from leadcycle.domain.stages import ChangeKind

Clock = Callable[[], datetime]
# Applies a validated request to a locked lead at `now`; returns the change, or None for no-op.
Action = Callable[[Lead, datetime], ChangeKind | None]


@dataclass(frozen=True)
class Idempotency:
    scope: str
    key: str
    fingerprint: str


def _idempotency(scope: str, command: CreateLead | RecordActivity | TransitionLead) -> Idempotency | None:
    key = validation.idempotency_key(command.idempotency_key)
    return Idempotency(scope, key, fingerprint(command)) if key is not None else None


class LeadUseCases:
    """Everything a client can do to a lead, each call in its own unit of work."""

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        clock: Clock,
        policy: Policy | None = None,
        new_id: Callable[[], UUID] = uuid4,
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self.policy = policy or Policy()
        self._new_id = new_id

    async def create(self, command: CreateLead, actor: str) -> Lead:
        actor = validation.actor(actor)
        company, contact, source = actions.validate_new_lead(command)
        idempotency = _idempotency("createLead", command)
        now = self._clock()
        lead = Lead(self._new_id(), company, contact, source, created_at=now, version=1)
        async with self._uow_factory() as uow:
            if idempotency and (replayed := await self._replay(uow, idempotency, lead.id)):
                existing = await uow.leads.get(replayed)
                assert existing is not None, "an idempotency key outlived its lead"
                return existing
            lead.record(HistoryEntry(now, "created", actor, f"Lead created from {source}", {"source": source}))
            self._settle(lead, actor, now, score_before=0, advance=True)
            await uow.leads.add(lead, LeadChange(ChangeKind.CREATED, now, actor, to_stage=lead.stage))
            await uow.commit()
        return lead

    async def update(self, command: UpdateLead, actor: str) -> Lead:
        patch = actions.validate_lead_patch(command)
        return await self._change(
            command.lead_id,
            command.expected_version,
            actor,
            lambda lead, now: actions.update(lead, patch, actor, now),
        )

    async def assign(self, command: AssignLead, actor: str) -> Lead:
        patch = actions.validate_assignment(command)
        return await self._change(
            command.lead_id,
            command.expected_version,
            actor,
            lambda lead, now: actions.assign(lead, patch, actor, now),
            advance=False,
        )

    async def record_activity(self, command: RecordActivity, actor: str) -> Lead:
        activity = actions.validate_activity(command, self._clock())
        model = self.policy.scoring
        return await self._change(
            command.lead_id,
            None,
            actor,
            lambda lead, now: actions.record_activity(lead, activity, model, actor, now),
            idempotency=_idempotency("recordActivity", command),
        )

    async def update_bant(self, command: UpdateBant, actor: str) -> Lead:
        patch = actions.validate_bant(command)
        return await self._change(
            command.lead_id,
            command.expected_version,
            actor,
            lambda lead, now: actions.update_bant(lead, patch, actor, now),
        )

    async def transition(self, command: TransitionLead, actor: str) -> Lead:
        request = actions.validate_transition(command)
        return await self._change(
            command.lead_id,
            command.expected_version,
            actor,
            lambda lead, now: actions.transition(lead, command.event, request, self.policy, actor, now),
            idempotency=_idempotency("transitionLead", command),
            advance=False,
        )

    async def record_sales_feedback(self, command: RecordSalesFeedback, actor: str) -> Lead:
        reason = actions.validate_feedback(command)
        return await self._change(
            command.lead_id,
            command.expected_version,
            actor,
            lambda lead, now: actions.sales_feedback(lead, command.verdict, reason, self.policy, actor, now),
            advance=False,
        )

    async def _change(
        self,
        raw_lead_id: str,
        expected_version: int | None,
        actor: str,
        action: Action,
        *,
        idempotency: Idempotency | None = None,
        advance: bool = True,
    ) -> Lead:
        """The one path every change to an existing lead takes (see the module docstring)."""
        actor = validation.actor(actor)
        lead_id = validation.lead_id(raw_lead_id)
        async with self._uow_factory() as uow:
            lead = await uow.leads.lock(lead_id)
            if lead is None:
                raise LeadNotFound(lead_id)
            if idempotency and await self._replay(uow, idempotency, lead_id):
                return lead
            if expected_version is not None and expected_version != lead.version:
                raise VersionConflict(expected_version, lead.version)
            now = self._clock()
            stage_before, score_before = lead.stage, lead.score
            kind = action(lead, now)
            if kind is None:
                return lead
            self._settle(lead, actor, now, score_before=score_before, advance=advance)
            lead.version += 1
            lead.touch(now)
            moved = lead.stage != stage_before
            change = LeadChange(kind, now, actor, stage_before if moved else None, lead.stage if moved else None)
            await uow.leads.save(lead, change)
            await uow.commit()
        return lead

    async def _replay(self, uow: UnitOfWork, request: Idempotency, lead_id: UUID) -> UUID | None:
        """The lead of an earlier success under this key, or None when this request owns the key."""
        stored = await uow.idempotency.claim(request.scope, request.key, request.fingerprint, lead_id)
        if stored is None:
            return None
        if stored.fingerprint != request.fingerprint:
            raise InvalidInput(
                "idempotencyKey",
                "This idempotency key was already used for a different request; use a new key",
            )
        return stored.lead_id

    def _settle(self, lead: Lead, actor: str, now: datetime, *, score_before: int, advance: bool) -> None:
        """Rescore, note a score change on the timeline, then let the score move the lead."""
        rescore(lead, self.policy.scoring, now)
        if lead.score != score_before:
            delta = lead.score - score_before
            data = {"from": score_before, "to": lead.score, "modelVersion": self.policy.scoring.version}
            lead.record(HistoryEntry(now, "score", actor, f"Score {score_before} -> {lead.score} ({delta:+d})", data))
        if advance:
            advance_automatically(lead, self.policy, requested_by=actor, now=now)
