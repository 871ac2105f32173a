"""What callers ask the use cases to do, as plain data.

Patches are mappings holding only the fields the caller sent: an absent key stays unchanged,
a key mapped to None clears the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from leadcycle.domain.model import Company, Contact
from leadcycle.domain.stages import LeadEvent, LossReason, SalesVerdict

Patch = Mapping[str, Any]


@dataclass(frozen=True)
class CreateLead:
    company: Company
    contact: Contact
    source: str
    idempotency_key: str | None = None


@dataclass(frozen=True)
class UpdateLead:
    lead_id: str
    company: Patch = field(default_factory=dict)
    contact: Patch = field(default_factory=dict)
    expected_version: int | None = None


@dataclass(frozen=True)
class AssignLead:
    lead_id: str
    assignment: Patch = field(default_factory=dict)
    expected_version: int | None = None


@dataclass(frozen=True)
class RecordActivity:
    lead_id: str
    kind: str
    occurred_at: datetime | None = None
    properties: Any = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class UpdateBant:
    """`criteria` maps budget/authority/need/timeframe to a BantCriterion or None (UNKNOWN)."""

    lead_id: str
    criteria: Patch = field(default_factory=dict)
    details: Patch = field(default_factory=dict)
    expected_version: int | None = None


@dataclass(frozen=True)
class TransitionLead:
    lead_id: str
    event: LeadEvent
    expected_version: int | None = None
    reason: str | None = None
    loss_reason: LossReason | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class RecordSalesFeedback:
    lead_id: str
    verdict: SalesVerdict
    reason: str | None = None
    expected_version: int | None = None
