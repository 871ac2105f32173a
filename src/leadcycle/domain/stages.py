"""The vocabulary of the lifecycle: stages, temperatures, events and the enums around them."""

import enum


class Stage(enum.Enum):
    """Lifecycle stage. MQL is the 'hot' stage: marketing-qualified, handed to sales."""

    COLD = "COLD"
    WARM = "WARM"
    MQL = "MQL"
    SQL = "SQL"
    OPPORTUNITY = "OPPORTUNITY"
    WON = "WON"
    LOST = "LOST"
    RECYCLED = "RECYCLED"

    def advances_automatically(self) -> bool:
        """Nurture stages, where the score moves a lead without a salesperson."""
        return self in (Stage.COLD, Stage.WARM, Stage.RECYCLED)


class Temperature(enum.Enum):
    """Marketing's signal, derived from the score and the current nurture cycle."""

    COLD = "COLD"
    WARM = "WARM"
    HOT = "HOT"


class LeadEvent(enum.Enum):
    """Triggers of the lifecycle state machine."""

    WARM = "WARM"
    MARK_HOT = "MARK_HOT"
    QUALIFY = "QUALIFY"
    OPEN_OPPORTUNITY = "OPEN_OPPORTUNITY"
    WIN = "WIN"
    LOSE = "LOSE"
    RECYCLE = "RECYCLE"
    COOL = "COOL"  # WARM -> COLD when decay or a new model takes the score below the warm threshold


class BantStatus(enum.Enum):
    UNKNOWN = "UNKNOWN"
    CONFIRMED = "CONFIRMED"
    NOT_MET = "NOT_MET"


class LossReason(enum.Enum):
    BUDGET = "BUDGET"
    COMPETITOR = "COMPETITOR"
    TIMING = "TIMING"
    NO_DECISION = "NO_DECISION"
    NO_NEED = "NO_NEED"
    OTHER = "OTHER"


class SalesVerdict(enum.Enum):
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"


class ChangeKind(enum.Enum):
    """What a committed mutation did to a lead, as published in the change log."""

    CREATED = "created"
    ACTIVITY = "activity"
    BANT = "bant"
    TRANSITION = "transition"
    FEEDBACK = "feedback"
    UPDATE = "update"
    ASSIGNMENT = "assignment"
    SCORE = "score"  # rescored by a newly activated model (or the periodic refresh), nothing else
