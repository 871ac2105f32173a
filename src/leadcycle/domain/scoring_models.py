"""Versioned scoring models: drafts marketing writes, exactly one active, the rest retired.

A version's definition never changes once stored, so "which model produced this score" always
has one answer. Activating a version retires the one in force; leads keep the score of the
version that produced it until they are rescored.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from leadcycle.domain.errors import InvalidInput, ModelRejected
from leadcycle.domain.rules import ScoringModel
from leadcycle.domain.rules_json import parse_model


class ModelStatus(enum.Enum):
    DRAFT = "DRAFT"
    ACTIVE = "ACTIVE"
    RETIRED = "RETIRED"


@dataclass(frozen=True)
class StoredModel:
    """A scoring model version as stored, with who wrote and who activated it."""

    model: ScoringModel
    status: ModelStatus
    note: str | None
    created_at: datetime
    created_by: str
    activated_at: datetime | None = None
    activated_by: str | None = None

    @property
    def version(self) -> int:
        return self.model.version


def problems_of(document: Any) -> list[InvalidInput]:
    """Every problem of a model document; empty when it would be accepted as a draft."""
    try:
        parse_model(document)
    except ModelRejected as rejected:
        return rejected.problems
    return []


class RunState(enum.Enum):
    RUNNING = "RUNNING"
    DONE = "DONE"
    SUPERSEDED = "SUPERSEDED"


@dataclass(frozen=True)
class RescoringRun:
    """One pass over the leads for a model version, and how far it got."""

    id: int
    model_version: int
    state: RunState
    total: int  # leads not on the version when the run started
    rescored: int
    changed: int
    started_at: datetime
    started_by: str
    finished_at: datetime | None = None
