"""Expected failures of the use cases. The API turns each into a Problem for the client."""

from dataclasses import dataclass

from leadcycle.domain.stages import LeadEvent, Stage


@dataclass(frozen=True)
class GuardFailure:
    """One guard that blocks a transition, in words a salesperson can act on."""

    guard: str
    message: str


class DomainError(Exception):
    """Base of every expected failure; `message` is safe to show to a client."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(DomainError):
    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field


class ModelRejected(InvalidInput):
    """A scoring model document with problems: the first one as field and message, all in `problems`."""

    def __init__(self, problems: list[InvalidInput]) -> None:
        first = problems[0] if problems else InvalidInput("definition", "The scoring model is incomplete")
        others = len(problems) - 1
        more = f" (and {others} more problem{'s' if others > 1 else ''})" if others else ""
        super().__init__(first.field, first.message + more)
        self.problems = problems or [first]


class KeyReused(InvalidInput):
    def __init__(self) -> None:
        super().__init__(
            "idempotencyKey", "This idempotency key was already used for a different request; use a new key"
        )


class LeadNotFound(DomainError):
    def __init__(self, lead_id: object) -> None:
        super().__init__(f"No lead with id {lead_id!s}")


class VersionConflict(DomainError):
    def __init__(self, expected: int, current: int) -> None:
        super().__init__(
            f"The lead changed since you read it (you expected version {expected}, it is now "
            f"at {current}): reload it and try again"
        )
        self.current_version = current


class TransitionRefused(DomainError):
    def __init__(self, event: LeadEvent, from_stage: Stage, failures: list[GuardFailure]) -> None:
        reasons = "; ".join(f.message for f in failures)
        super().__init__(f"{event.value} is not possible from {from_stage.value}: {reasons}")
        self.event = event
        self.from_stage = from_stage
        self.failures = failures


class TooManyInputs(DomainError):
    """A batch larger than the use case takes: refused whole, before anything is applied."""

    def __init__(self, operation: str, size: int, limit: int) -> None:
        super().__init__(f"{operation} takes at most {limit:,} inputs per call; this call sent {size:,}: split it")
