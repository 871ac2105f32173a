"""The domain's enums as GraphQL enums: one definition each, shared by domain, database and API."""

import enum

import strawberry

from leadcycle.domain import stages

strawberry.enum(
    stages.Stage,
    name="LeadStage",
    description="Lifecycle stage. MQL is the 'hot' stage: marketing-qualified, handed to sales.",
)
strawberry.enum(
    stages.Temperature,
    description=(
        "Marketing's signal, from the score and the current nurture cycle: HOT at or above the hot threshold "
        "or after an immediate-hot activity in the current cycle, WARM at or above the warm threshold, else COLD."
    ),
)
strawberry.enum(
    stages.LeadEvent,
    description="""Triggers of the lifecycle state machine.
WARM: COLD|RECYCLED -> WARM (score >= warm threshold)
MARK_HOT: COLD|WARM|RECYCLED -> MQL (score >= hot threshold, or an immediate-hot activity)
QUALIFY: MQL -> SQL (BANT policy satisfied)
OPEN_OPPORTUNITY: SQL -> OPPORTUNITY
WIN: OPPORTUNITY -> WON
LOSE: OPPORTUNITY -> LOST (loss reason required)
RECYCLE: MQL|SQL|OPPORTUNITY|LOST -> RECYCLED (reason required)
COOL: WARM -> COLD (the system fires it when decay or a new model takes the score below the warm threshold)""",
)
strawberry.enum(stages.BantStatus, description="Where one BANT criterion stands.")
strawberry.enum(stages.LossReason, description="Why a deal was lost.")
strawberry.enum(stages.SalesVerdict, description="Sales' judgement of an MQL handed over.")

# The domain's classes, registered above, under their API names.
LeadStage = stages.Stage
Temperature = stages.Temperature
LeadEvent = stages.LeadEvent
BantStatus = stages.BantStatus
LossReason = stages.LossReason
SalesVerdict = stages.SalesVerdict


@strawberry.enum(description="Sort direction.")
class OrderDirection(enum.Enum):
    ASC = "ASC"
    DESC = "DESC"


@strawberry.enum(description="What leads can be sorted by; ties are broken by id.")
class LeadOrderField(enum.Enum):
    CREATED_AT = "CREATED_AT"
    UPDATED_AT = "UPDATED_AT"
    SCORE = "SCORE"
