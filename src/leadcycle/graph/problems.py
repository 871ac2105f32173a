"""Expected failures as data: the Problem members of mutation result unions."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Annotated

import strawberry

from leadcycle.domain import errors
from leadcycle.domain.lifecycle import Policy
from leadcycle.domain.model import Lead as DomainLead
from leadcycle.graph.context import Info
from leadcycle.graph.leads.enums import LeadEvent, LeadStage
from leadcycle.graph.leads.types import GuardFailure, Lead


@strawberry.interface(
    description="Expected failures are data, not GraphQL errors: every lead mutation returns LeadResult."
)
class Problem:
    message: str = strawberry.field(description="What went wrong, in words to show a person.")


@strawberry.type(description="The input was refused; nothing was written.")
class ValidationProblem(Problem):
    field: str | None = strawberry.field(description="Input path of the offending value, e.g. 'contact.email'.")


@strawberry.type(description="No lead has this id (a malformed id names no lead either).")
class NotFound(Problem):
    pass


@strawberry.type(description="The lead changed since the caller read it; reload and decide again.")
class VersionConflict(Problem):
    current_version: int = strawberry.field(description="The lead's version now.")


@strawberry.type(description="A guard refused the transition; every failing guard is listed.")
class TransitionRejected(Problem):
    event: LeadEvent = strawberry.field(description="The event that was refused.")
    from_stage: LeadStage = strawberry.field(description="The lead's stage, unchanged.")
    failed_guards: list[GuardFailure] = strawberry.field(description="Every guard that failed.")


@strawberry.type(description="The lead after a successful mutation (or as it is now, for a replayed retry).")
class LeadPayload:
    lead: Lead = strawberry.field(description="The lead after the mutation.")


LeadResult = Annotated[
    LeadPayload | ValidationProblem | NotFound | VersionConflict | TransitionRejected,
    strawberry.union("LeadResult", description="The outcome of a lead mutation: the lead, or what prevented it."),
]


def problem(error: errors.DomainError) -> ValidationProblem | NotFound | VersionConflict | TransitionRejected:
    """The Problem a client sees for an expected failure of the domain."""
    match error:
        case errors.InvalidInput():
            return ValidationProblem(message=error.message, field=error.field)
        case errors.LeadNotFound():
            return NotFound(message=error.message)
        case errors.VersionConflict():
            return VersionConflict(message=error.message, current_version=error.current_version)
        case errors.TransitionRefused():
            failures = [GuardFailure(guard=f.guard, message=f.message) for f in error.failures]
            return TransitionRejected(
                message=error.message, event=error.event, from_stage=error.from_stage, failed_guards=failures
            )
    raise TypeError(f"no Problem for {type(error).__name__}")


def result_of(
    outcome: DomainLead | errors.DomainError, policy: Policy
) -> LeadPayload | ValidationProblem | NotFound | VersionConflict | TransitionRejected:
    """The LeadResult member of a use case's outcome: the lead, or the Problem it ran into."""
    if isinstance(outcome, errors.DomainError):
        return problem(outcome)
    return LeadPayload(lead=Lead.from_domain(outcome, policy))


async def lead_result(
    info: Info, change: Awaitable[DomainLead]
) -> LeadPayload | ValidationProblem | NotFound | VersionConflict | TransitionRejected:
    """Await a use case and translate its outcome into a LeadResult member."""
    try:
        outcome: DomainLead | errors.DomainError = await change
    except errors.DomainError as error:
        outcome = error
    info.context.forget_loaded()
    return result_of(outcome, info.context.services.policy)
