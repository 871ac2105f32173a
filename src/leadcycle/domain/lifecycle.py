"""The lifecycle state machine: one table, from which everything else is derived.

`transitions` stops at the first false condition, so it cannot say every reason a transition
is refused; the domain evaluates every guard of the table itself (`blockers`) and uses the
machine only to apply a decision already made (`fire`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from transitions import EventData, Machine

from leadcycle.domain.bant import BantPolicy
from leadcycle.domain.errors import GuardFailure, TransitionRefused
from leadcycle.domain.model import Bant, HistoryEntry, Lead
from leadcycle.domain.rules import ScoringModel
from leadcycle.domain.scoring import DEFAULT_SCORING_MODEL, start_new_cycle
from leadcycle.domain.stages import LeadEvent, LossReason, Stage

SYSTEM_ACTOR = "system"


@dataclass(frozen=True)
class Transition:
    event: LeadEvent
    sources: tuple[Stage, ...]
    target: Stage
    guards: tuple[str, ...] = ()


E, S = LeadEvent, Stage
TRANSITIONS: tuple[Transition, ...] = (
    Transition(E.WARM, (S.COLD, S.RECYCLED), S.WARM, ("score.warm_threshold",)),
    Transition(E.MARK_HOT, (S.COLD, S.WARM, S.RECYCLED), S.MQL, ("score.hot_threshold",)),
    Transition(E.QUALIFY, (S.MQL,), S.SQL, ("bant",)),
    Transition(E.OPEN_OPPORTUNITY, (S.SQL,), S.OPPORTUNITY),
    Transition(E.WIN, (S.OPPORTUNITY,), S.WON),
    Transition(E.LOSE, (S.OPPORTUNITY,), S.LOST, ("loss_reason.required",)),
    Transition(E.RECYCLE, (S.MQL, S.SQL, S.OPPORTUNITY, S.LOST), S.RECYCLED, ("reason.required",)),
    Transition(E.COOL, (S.WARM,), S.COLD),
)
TRANSITION_OF = {t.event: t for t in TRANSITIONS}

# Events the score fires by itself after a change, in the order tried: those leaving only nurture
# stages for a later one. Cooling back to COLD is not among them: only time (decay) and a new model
# cool a lead (`cool_down`).
AUTOMATIC_EVENTS = tuple(
    t.event for t in TRANSITIONS if all(s.advances_automatically() for s in t.sources) and t.target is not S.COLD
)


@dataclass(frozen=True)
class Policy:
    """What the guards measure against: the scoring model and the qualification policy."""

    scoring: ScoringModel = DEFAULT_SCORING_MODEL
    bant: BantPolicy = field(default_factory=BantPolicy)


@dataclass(frozen=True)
class TransitionRequest:
    """What the caller supplies with a transition; guards on input read it."""

    reason: str | None = None
    loss_reason: LossReason | None = None


@dataclass(frozen=True)
class Guard:
    check: Callable[[Lead, Policy, TransitionRequest], list[GuardFailure]]
    on_input: bool = False  # judged on the request, so never a blocker in availableTransitions


def _warm(lead: Lead, policy: Policy, _request: TransitionRequest) -> list[GuardFailure]:
    threshold = policy.scoring.warm_threshold
    if lead.score >= threshold:
        return []
    message = (
        f"Score {lead.score} is below the warm threshold {threshold}: "
        f"{threshold - lead.score} more points of engagement needed"
    )
    return [GuardFailure("score.warm_threshold", message)]


def _hot(lead: Lead, policy: Policy, _request: TransitionRequest) -> list[GuardFailure]:
    threshold = policy.scoring.hot_threshold
    if lead.score >= threshold or lead.hot_signal is not None:
        return []
    message = (
        f"Score {lead.score} is below the hot threshold {threshold} and there was no quote, demo, "
        "trial or consultation request or 'buy now' survey answer in this nurture cycle"
    )
    return [GuardFailure("score.hot_threshold", message)]


def _bant(lead: Lead, policy: Policy, _request: TransitionRequest) -> list[GuardFailure]:
    return list(_bant_failures(policy.bant, lead.bant))


@functools.lru_cache(maxsize=256)
def _bant_failures(bant_policy: BantPolicy, bant: Bant) -> tuple[GuardFailure, ...]:
    """The failures of a BANT under a policy: most leads share a few BANTs (nothing confirmed yet, all of it)."""
    return tuple(GuardFailure(f"bant.{c}", message) for c, message in bant_policy.missing(bant))


def _loss_reason(_lead: Lead, _policy: Policy, request: TransitionRequest) -> list[GuardFailure]:
    if request.loss_reason is not None:
        return []
    options = ", ".join(r.value for r in LossReason)
    return [GuardFailure("loss_reason.required", f"Say why the deal was lost ({options})")]


def _reason(_lead: Lead, _policy: Policy, request: TransitionRequest) -> list[GuardFailure]:
    if request.reason:
        return []
    message = "Say why the lead goes back to nurturing, so marketing knows what to do with it"
    return [GuardFailure("reason.required", message)]


GUARDS: dict[str, Guard] = {
    "score.warm_threshold": Guard(_warm),
    "score.hot_threshold": Guard(_hot),
    "bant": Guard(_bant),
    "loss_reason.required": Guard(_loss_reason, on_input=True),
    "reason.required": Guard(_reason, on_input=True),
}


def blockers(
    lead: Lead,
    event: LeadEvent,
    policy: Policy,
    request: TransitionRequest | None = None,
) -> list[GuardFailure]:
    """Every guard failing for `event` now; input guards are judged only when a request is given."""
    failures = list(_STAGE_BLOCKERS[event, lead.stage])
    for guard in _GUARDS_OF[event] if request is not None else _STANDING_GUARDS_OF[event]:
        failures += guard.check(lead, policy, request or _NO_REQUEST)
    return failures


def _stage_blockers(transition: Transition, stage: Stage) -> tuple[GuardFailure, ...]:
    """The failure of a transition from a stage it does not start from; none from its sources."""
    if stage in transition.sources:
        return ()
    allowed_from = ", ".join(s.value for s in transition.sources)
    message = f"{transition.event.value} starts only from {allowed_from}; the lead is {stage.value}"
    return (GuardFailure("stage.not_allowed", message),)


# What `blockers` reads for every lead, derived once from the table.
_STAGE_BLOCKERS = {(t.event, stage): _stage_blockers(t, stage) for t in TRANSITIONS for stage in Stage}
_GUARDS_OF = {t.event: tuple(GUARDS[name] for name in t.guards) for t in TRANSITIONS}
_STANDING_GUARDS_OF = {event: tuple(g for g in guards if not g.on_input) for event, guards in _GUARDS_OF.items()}
_NO_REQUEST = TransitionRequest()


def _record_transition(event_data: EventData) -> None:
    """After-callback of the machine: the only thing it does is write the timeline entry."""
    lead: Lead = event_data.model  # type: ignore[assignment]
    kwargs: dict[str, Any] = event_data.kwargs
    transition = event_data.transition
    assert transition is not None
    summary = f"{transition.source} -> {transition.dest} ({event_data.event.name})"
    lead.record(HistoryEntry(kwargs["at"], "transition", kwargs["actor"], summary, kwargs["data"]))


MACHINE = Machine(
    model=None,
    states=Stage,
    transitions=[{"trigger": t.event.value, "source": list(t.sources), "dest": t.target} for t in TRANSITIONS],
    initial=None,
    auto_transitions=False,
    model_attribute="stage",
    send_event=True,
    after_state_change=[_record_transition],
)


def fire(
    lead: Lead,
    event: LeadEvent,
    policy: Policy,
    *,
    actor: str,
    now: datetime,
    request: TransitionRequest | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Apply `event` if every guard passes, else raise TransitionRefused naming them all."""
    request = request or TransitionRequest()
    failures = blockers(lead, event, policy, request)
    if failures:
        raise TransitionRefused(event, lead.stage, failures)
    from_stage = lead.stage
    target = TRANSITION_OF[event].target.value
    details: dict[str, Any] = {
        "event": event.value,
        "from": from_stage.value,
        "to": target,
        "score": score_snapshot(lead),
    }
    details |= {k: v for k, v in (("reason", request.reason), ("lossReason", _value(request.loss_reason))) if v}
    MACHINE.events[event.value].trigger(lead, actor=actor, at=now, data=details | (data or {}))
    _enter(lead, request, now)


def starts_new_cycle(event: LeadEvent) -> bool:
    """Whether `event` takes a lead into a new nurture cycle, where the current one's activities no longer count."""
    return TRANSITION_OF[event].target is Stage.RECYCLED  # entering RECYCLED starts one (`_enter`)


def score_snapshot(lead: Lead) -> dict[str, Any]:
    """The score as it stands and the rules that produced it, kept with a transition for later audits."""
    return {
        "value": lead.score,
        "temperature": lead.temperature.value,
        "modelVersion": lead.scoring_model_version,
        "breakdown": [{"rule": c.rule, "points": c.points, "reason": c.reason} for c in lead.breakdown],
    }


def _value(reason: LossReason | None) -> str | None:
    return reason.value if reason else None


def _enter(lead: Lead, request: TransitionRequest, now: datetime) -> None:
    """What entering a stage does to the lead besides the stage itself.

    Entering RECYCLED starts a new cycle but does not rescore: every transition is an action of a
    use case, which rescores once after it (`use_cases.settle`).
    """
    lead.stage_changed_at = now
    if lead.stage is Stage.MQL:
        lead.reached_mql_at = lead.reached_mql_at or now
    elif lead.stage is Stage.OPPORTUNITY:
        lead.reached_opportunity_at = lead.reached_opportunity_at or now
    elif lead.stage is Stage.LOST:
        lead.loss_reason = request.loss_reason
    elif lead.stage is Stage.RECYCLED:
        lead.loss_reason = None
        lead.feedback = None
        start_new_cycle(lead, now)


def advance_automatically(lead: Lead, policy: Policy, *, requested_by: str, now: datetime) -> None:
    """Move a nurture-stage lead as far as its score allows, one system transition per step."""
    while event := next((e for e in AUTOMATIC_EVENTS if _allowed_automatically(lead, e, policy)), None):
        cause = _cause(lead, event, policy)
        fire(
            lead,
            event,
            policy,
            actor=SYSTEM_ACTOR,
            now=now,
            data={"rule": cause, "requestedBy": requested_by, "modelVersion": policy.scoring.version},
        )


def _allowed_automatically(lead: Lead, event: LeadEvent, policy: Policy) -> bool:
    """Whether the score may fire `event` now; the stage is checked first, which settles most leads cheaply."""
    return lead.stage in TRANSITION_OF[event].sources and not blockers(lead, event, policy)


def cool_down(lead: Lead, policy: Policy, *, requested_by: str, now: datetime) -> None:
    """Move a WARM lead whose score fell below the warm threshold back to COLD (a system COOL).

    COOL itself has no guard (marketing may cool a lead by hand); this is the system's reason to
    fire it. MQL and later stages are never demoted: their temperature alone tells sales they cool.
    """
    cooled = lead.score < policy.scoring.warm_threshold and lead.hot_signal is None
    if lead.stage is Stage.WARM and cooled:
        data = {
            "rule": "score.below_warm_threshold",
            "requestedBy": requested_by,
            "modelVersion": policy.scoring.version,
        }
        fire(lead, LeadEvent.COOL, policy, actor=SYSTEM_ACTOR, now=now, data=data)


def _cause(lead: Lead, event: LeadEvent, policy: Policy) -> str:
    """The rule that allowed an automatic step, for the timeline."""
    hot_by_score = lead.score >= policy.scoring.hot_threshold
    if event is LeadEvent.MARK_HOT and not hot_by_score and lead.hot_signal:
        return lead.hot_signal
    return TRANSITION_OF[event].guards[0]


def mermaid_diagram() -> str:
    """The state diagram in Mermaid, as shown in the README."""
    lines = ["stateDiagram-v2", f"    [*] --> {Stage.COLD.value}"]
    for t in TRANSITIONS:
        guards = f" [{', '.join(t.guards)}]" if t.guards else ""
        lines += [f"    {s.value} --> {t.target.value}: {t.event.value}{guards}" for s in t.sources]
    lines += [f"    {s.value} --> [*]" for s in Stage if _is_final(s, TRANSITIONS)]
    return "\n".join(lines) + "\n"


def _is_final(stage: Stage, table: Iterable[Transition]) -> bool:
    return not any(stage in t.sources for t in table)
