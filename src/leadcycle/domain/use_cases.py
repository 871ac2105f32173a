"""The use cases: one transaction each, written against the ports and an injected clock.

Every change follows one path (`_change`): validate, lock the lead, replay an idempotent
retry, check the expected version, let the domain decide (`_apply`: act, rescore, advance
automatically where the semantics say so, bump the version once), and save the lead with one
change-log entry. `record_activities` takes the same steps for many activities of many leads.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid4

from leadcycle.domain import actions, idempotency, validation
from leadcycle.domain.commands import (
    AssignLead,
    CreateLead,
    RecordActivity,
    RecordSalesFeedback,
    TransitionLead,
    UpdateBant,
    UpdateLead,
)
from leadcycle.domain.decay import next_review
from leadcycle.domain.errors import DomainError, LeadNotFound, TooManyInputs, VersionConflict
from leadcycle.domain.idempotency import Idempotency
from leadcycle.domain.lifecycle import Policy, advance_automatically, starts_new_cycle
from leadcycle.domain.model import HistoryEntry, Lead
from leadcycle.domain.ports import LeadChange, UnitOfWork
from leadcycle.domain.scoring import rescore
from leadcycle.domain.stages import ChangeKind

MAX_ACTIVITIES_PER_CALL = 1_000
# Lead transactions of all recordActivities calls at once; below the pool, so that single
# mutations and reads keep connections while batches run.
PARALLEL_LEADS = 5
RECORD_ACTIVITY = "recordActivity"  # idempotency scope of recordActivity and recordActivities

Clock = Callable[[], datetime]
# Applies a validated request to a locked lead under the policy in force at `now`; returns the
# change, or None for no-op.
Action = Callable[[Lead, Policy, datetime], ChangeKind | None]
Outcome = Lead | DomainError


@dataclass(frozen=True)
class _BatchedActivity:
    """One valid input of recordActivities, with its position in the call."""

    position: int
    activity: actions.NewActivity
    idempotency: Idempotency | None


def _activity_request(command: RecordActivity, now: datetime) -> tuple[actions.NewActivity, Idempotency | None]:
    """A recordActivity request validated, its problems in the order they are reported."""
    return actions.validate_activity(command, now), idempotency.request(RECORD_ACTIVITY, command)


async def _locked(uow: UnitOfWork, lead_id: UUID, *, cycle_activities: bool = True) -> Lead:
    """The lead, locked for this unit of work; LeadNotFound when there is none."""
    lead = await uow.leads.lock(lead_id, cycle_activities=cycle_activities)
    if lead is None:
        raise LeadNotFound(lead_id)
    return lead


class LeadUseCases:
    """Everything a client can do to a lead, each call in its own unit of work."""

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        clock: Clock,
        policy: Policy | None = None,
        new_id: Callable[[], UUID] = uuid4,
        parallel_leads: int = PARALLEL_LEADS,
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self.policy = policy or Policy()
        self._new_id = new_id
        self._lead_slots = asyncio.Semaphore(parallel_leads)

    async def create(self, command: CreateLead, actor: str) -> Lead:
        actor = validation.actor(actor)
        company, contact, source = actions.validate_new_lead(command)
        keyed = idempotency.request("createLead", command)
        now = self._clock()
        lead = Lead(self._new_id(), company, contact, source, created_at=now, version=1)
        async with self._uow_factory() as uow:
            if keyed and (replayed := await idempotency.replay(uow, keyed, lead.id)):
                existing = await uow.leads.get(replayed)
                assert existing is not None, "an idempotency key outlived its lead"
                return existing
            lead.record(HistoryEntry(now, "created", actor, f"Lead created from {source}", {"source": source}))
            settle(lead, await self._policy_in_force(uow), actor, now, score_before=0, advance=True)
            await uow.leads.add(lead, LeadChange(ChangeKind.CREATED, now, actor, to_stage=lead.stage))
            await uow.commit()
        return lead

    async def update(self, command: UpdateLead, actor: str) -> Lead:
        patch = actions.validate_lead_patch(command)
        return await self._change(
            command.lead_id,
            command.expected_version,
            actor,
            lambda lead, _policy, now: actions.update(lead, patch, actor, now),
        )

    async def assign(self, command: AssignLead, actor: str) -> Lead:
        patch = actions.validate_assignment(command)
        return await self._change(
            command.lead_id,
            command.expected_version,
            actor,
            lambda lead, _policy, now: actions.assign(lead, patch, actor, now),
            advance=False,
        )

    async def record_activity(self, command: RecordActivity, actor: str) -> Lead:
        activity, keyed = _activity_request(command, self._clock())
        return await self._change(command.lead_id, None, actor, self._recording(activity, actor), keyed=keyed)

    async def record_activities(self, commands: Sequence[RecordActivity], actor: str) -> list[Outcome]:
        """Record many activities with `record_activity`'s guarantees; one outcome per command, in order.

        Each command is validated on its own: an invalid one gets its error at its position and
        the valid ones go on. They are grouped by lead, and each lead's group is one transaction:
        lock once, then each activity in call order as a change of its own (version, timeline,
        change-log entry), exactly what as many recordActivity calls in a row would write.
        Different leads run in parallel, at most `parallel_leads` transactions at a time across
        all calls.

        No savepoints: whatever can refuse one activity is decided before any of it is written.
        Validation is pure and runs before the transaction; a missing lead refuses its whole
        group; the group's idempotency keys are claimed first, in one statement, and a key reused
        for other input writes nothing; recording an activity on a locked lead cannot fail. So a
        refused activity never needs undoing, never rolls back its neighbours, and the group is
        written in one statement per table instead of a SAVEPOINT/RELEASE pair and a save per
        activity. Only unexpected failures (the database, a lock timeout) remain: they roll back
        their lead's group, the other groups still finish, then the call fails; a retry with the
        same keys replays what was committed.
        """
        if len(commands) > MAX_ACTIVITIES_PER_CALL:
            raise TooManyInputs("recordActivities", len(commands), MAX_ACTIVITIES_PER_CALL)
        now = self._clock()
        outcomes: dict[int, Outcome] = {}
        by_lead: dict[UUID, list[_BatchedActivity]] = {}
        for position, command in enumerate(commands):
            try:
                activity, keyed = _activity_request(command, now)
                validation.actor(actor)
                lead_id = validation.lead_id(command.lead_id)
            except DomainError as error:
                outcomes[position] = error
            else:
                by_lead.setdefault(lead_id, []).append(_BatchedActivity(position, activity, keyed))
        groups = await asyncio.gather(
            *(self._record_for_lead(lead_id, batch, actor) for lead_id, batch in by_lead.items()),
            return_exceptions=True,
        )
        for group in groups:
            if isinstance(group, BaseException):
                raise group
            outcomes |= group
        return [outcomes[position] for position in range(len(commands))]

    async def update_bant(self, command: UpdateBant, actor: str) -> Lead:
        patch = actions.validate_bant(command)
        return await self._change(
            command.lead_id,
            command.expected_version,
            actor,
            lambda lead, _policy, now: actions.update_bant(lead, patch, actor, now),
        )

    async def transition(self, command: TransitionLead, actor: str) -> Lead:
        request = actions.validate_transition(command)
        return await self._change(
            command.lead_id,
            command.expected_version,
            actor,
            lambda lead, policy, now: actions.transition(lead, command.event, request, policy, actor, now),
            keyed=idempotency.request("transitionLead", command),
            advance=False,
            cycle_activities=not starts_new_cycle(command.event),
        )

    async def record_sales_feedback(self, command: RecordSalesFeedback, actor: str) -> Lead:
        reason = actions.validate_feedback(command)
        return await self._change(
            command.lead_id,
            command.expected_version,
            actor,
            lambda lead, policy, now: actions.sales_feedback(lead, command.verdict, reason, policy, actor, now),
            advance=False,
        )

    async def _change(
        self,
        raw_lead_id: str,
        expected_version: int | None,
        actor: str,
        action: Action,
        *,
        keyed: Idempotency | None = None,
        advance: bool = True,
        cycle_activities: bool = True,
    ) -> Lead:
        """The one path every change to an existing lead takes (see the module docstring).

        `cycle_activities=False`: `action` starts a new cycle, so the lead is locked without the
        current one's activities (scoring would drop them).
        """
        actor = validation.actor(actor)
        lead_id = validation.lead_id(raw_lead_id)
        async with self._uow_factory() as uow:
            lead = await _locked(uow, lead_id, cycle_activities=cycle_activities)
            if keyed and await idempotency.replay(uow, keyed, lead_id):
                return lead
            if expected_version is not None and expected_version != lead.version:
                raise VersionConflict(expected_version, lead.version)
            change = self._apply(lead, await self._policy_in_force(uow), actor, action, advance=advance)
            if change is None:
                return lead
            await uow.leads.save(lead, change)
            await uow.commit()
        return lead

    async def _record_for_lead(self, lead_id: UUID, batch: list[_BatchedActivity], actor: str) -> dict[int, Outcome]:
        """One lead's activities of a recordActivities call: one transaction, one change each."""
        async with self._lead_slots, self._uow_factory() as uow:
            try:
                lead = await _locked(uow, lead_id)
            except LeadNotFound as missing:
                return {item.position: missing for item in batch}
            keyed = [(item.position, item.idempotency) for item in batch if item.idempotency]
            not_applied = await idempotency.claim_in_order(uow, keyed, lead_id)
            outcomes: dict[int, Outcome] = {}
            steps: list[tuple[Lead, LeadChange]] = []
            policy = await self._policy_in_force(uow)
            for item in batch:
                if item.position in not_applied:
                    refusal = not_applied[item.position]
                    outcomes[item.position] = refusal if refusal is not None else lead.snapshot()
                    continue
                change = self._apply(lead, policy, actor, self._recording(item.activity, actor))
                assert change is not None, "recording an activity always changes the lead"
                steps.append((lead.checkpoint(), change))
                outcomes[item.position] = steps[-1][0]
            if steps:
                await uow.leads.save_all(steps)
                await uow.commit()
        return outcomes

    @staticmethod
    def _recording(activity: actions.NewActivity, actor: str) -> Action:
        return lambda lead, policy, now: actions.record_activity(lead, activity, policy.scoring, actor, now)

    async def _policy_in_force(self, uow: UnitOfWork) -> Policy:
        """The policy with the active scoring model, which also becomes the one reads judge by."""
        model = await uow.scoring_models.active()
        if model is not self.policy.scoring:
            self.policy = dataclasses.replace(self.policy, scoring=model)
        return self.policy

    async def refresh_policy(self) -> Policy:
        """Read the active scoring model now (at start-up, and after another process activated one)."""
        async with self._uow_factory() as uow:
            return await self._policy_in_force(uow)

    def _apply(
        self, lead: Lead, policy: Policy, actor: str, action: Action, *, advance: bool = True
    ) -> LeadChange | None:
        """Let `action` change a locked lead, then rescore, advance and bump the version once.

        Returns the change to log with the lead, or None when the action changed nothing.
        """
        now = self._clock()
        stage_before, score_before = lead.stage, lead.score
        kind = action(lead, policy, now)
        if kind is None:
            return None
        settle(lead, policy, actor, now, score_before=score_before, advance=advance)
        lead.version += 1
        lead.touch(now)
        moved = lead.stage != stage_before
        return LeadChange(kind, now, actor, stage_before if moved else None, lead.stage if moved else None)


def settle(
    lead: Lead,
    policy: Policy,
    actor: str,
    now: datetime,
    *,
    score_before: int,
    advance: bool,
    requested_by: str | None = None,
) -> None:
    """Rescore, note a score change on the timeline, then let the score move the lead.

    `requested_by` (default: `actor`) is who asked for the change that caused automatic steps.
    """
    evaluation = rescore(lead, policy.scoring, now)
    lead.review_at = next_review(policy.scoring, lead, lead.cycle_activities, now, evaluation)
    if lead.score != score_before:
        delta = lead.score - score_before
        data = {"from": score_before, "to": lead.score, "modelVersion": policy.scoring.version}
        lead.record(HistoryEntry(now, "score", actor, f"Score {score_before} -> {lead.score} ({delta:+d})", data))
    if advance:
        advance_automatically(lead, policy, requested_by=requested_by or actor, now=now)
