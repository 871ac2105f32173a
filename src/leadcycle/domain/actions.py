"""What each use case does to a lead, and the validation of its request.

`validate_*` run before the lead is loaded (input errors come first); the actions run on the
locked lead and return the kind of change they made, or None when nothing changed.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from leadcycle.domain import validation as v
from leadcycle.domain.commands import (
    AssignLead,
    CreateLead,
    Patch,
    RecordActivity,
    RecordSalesFeedback,
    TransitionLead,
    UpdateBant,
    UpdateLead,
)
from leadcycle.domain.errors import InvalidInput
from leadcycle.domain.lifecycle import Policy, TransitionRequest, fire
from leadcycle.domain.model import BANT_CRITERIA, BantCriterion, Company, Contact, HistoryEntry, Lead
from leadcycle.domain.rules import ScoringModel
from leadcycle.domain.scoring import score_activity
from leadcycle.domain.stages import ChangeKind, LeadEvent, SalesVerdict, Stage

FUTURE_LEEWAY_SECONDS = 5 * 60
Check = Callable[[Any, str], Any]


def _decision_maker(value: bool | None, _field: str) -> bool:
    return bool(value)  # an explicit null means "no"


COMPANY_FIELDS: dict[str, Check] = {
    "name": v.required_text,
    "department": v.text,
    "employee_count": v.non_negative,
    "capital": v.non_negative,
    "industry": v.text,
}
CONTACT_FIELDS: dict[str, Check] = {
    "name": v.required_text,
    "email": v.email,
    "phone": v.phone,
    "title": v.text,
    "is_decision_maker": _decision_maker,
}
ASSIGNMENT_FIELDS: dict[str, Check] = {"owner_team": v.text, "owner": v.text}


def _checked(patch: Patch, checks: Mapping[str, Check], prefix: str = "") -> dict[str, Any]:
    """Validate each field present in `patch` with its check; unknown fields are refused."""
    checked = {}
    for name, value in patch.items():
        path = f"{prefix}{v.camel(name)}"
        if name not in checks:
            raise InvalidInput(path, f"{path} is not a field that can be set")
        checked[name] = checks[name](value, path)
    return checked


def _json(value: Any) -> Any:
    """Values as they appear in timeline data (JSON)."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal | date):
        return str(value) if isinstance(value, Decimal) else value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {v.camel(k): _json(x) for k, x in dataclasses.asdict(value).items()}
    return value


def _diff(prefix: str, before: Any, after: Any) -> dict[str, Any]:
    return {
        f"{prefix}{v.camel(f.name)}": {
            "from": _json(getattr(before, f.name)),
            "to": _json(getattr(after, f.name)),
        }
        for f in dataclasses.fields(before)
        if getattr(before, f.name) != getattr(after, f.name)
    }


# -- create, update, assign ---------------------------------------------------------------------


def validate_new_lead(command: CreateLead) -> tuple[Company, Contact, str]:
    company = Company(**_checked(dataclasses.asdict(command.company), COMPANY_FIELDS, "company."))
    contact = Contact(**_checked(dataclasses.asdict(command.contact), CONTACT_FIELDS, "contact."))
    return company, contact, v.source(command.source)


@dataclass(frozen=True)
class LeadPatch:
    company: dict[str, Any]
    contact: dict[str, Any]


def validate_lead_patch(command: UpdateLead) -> LeadPatch:
    return LeadPatch(
        _checked(command.company, COMPANY_FIELDS, "company."),
        _checked(command.contact, CONTACT_FIELDS, "contact."),
    )


def update(lead: Lead, patch: LeadPatch, actor: str, now: datetime) -> ChangeKind | None:
    company = dataclasses.replace(lead.company, **patch.company)
    contact = dataclasses.replace(lead.contact, **patch.contact)
    changes = _diff("company.", lead.company, company) | _diff("contact.", lead.contact, contact)
    if not changes:
        return None
    lead.company, lead.contact = company, contact
    lead.record(HistoryEntry(now, "update", actor, f"Updated {', '.join(changes)}", {"changes": changes}))
    return ChangeKind.UPDATE


def validate_assignment(command: AssignLead) -> dict[str, Any]:
    return _checked(command.assignment, ASSIGNMENT_FIELDS)


def assign(lead: Lead, patch: dict[str, Any], actor: str, now: datetime) -> ChangeKind | None:
    after = {"owner_team": lead.owner_team, "owner": lead.owner} | patch
    if after == {"owner_team": lead.owner_team, "owner": lead.owner}:
        return None
    lead.owner_team, lead.owner = after["owner_team"], after["owner"]
    summary = f"Assigned to team {lead.owner_team or '-'}, owner {lead.owner or '-'}"
    lead.record(HistoryEntry(now, "assignment", actor, summary, {"ownerTeam": lead.owner_team, "owner": lead.owner}))
    return ChangeKind.ASSIGNMENT


# -- activities -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewActivity:
    kind: str
    occurred_at: datetime
    properties: dict[str, Any]


def validate_activity(command: RecordActivity, now: datetime) -> NewActivity:
    return NewActivity(
        v.slug(command.kind, "kind"),
        v.now_or_past(command.occurred_at, "occurredAt", now, leeway_seconds=FUTURE_LEEWAY_SECONDS),
        v.properties(command.properties, "properties"),
    )


def record_activity(lead: Lead, new: NewActivity, model: ScoringModel, actor: str, now: datetime) -> ChangeKind:
    activity = score_activity(lead, model, new.kind, new.occurred_at, new.properties, now)
    data = {
        "kind": activity.kind,
        "occurredAt": activity.occurred_at.isoformat(),
        "points": activity.points,
        "rule": activity.rule,
        "properties": activity.properties,
    }
    lead.record(HistoryEntry(now, "activity", actor, f"{activity.kind} ({activity.points:+d})", data))
    return ChangeKind.ACTIVITY


# -- BANT -----------------------------------------------------------------------------------------


def _criterion(value: BantCriterion | None, field: str) -> BantCriterion:
    if value is None:
        return BantCriterion()  # cleared: back to UNKNOWN
    return BantCriterion(value.status, v.text(value.note, f"{field}.note", limit=v.LONG_TEXT))


BANT_FIELDS: dict[str, Check] = {c: _criterion for c in BANT_CRITERIA} | {
    "budget_amount": v.non_negative,
    "target_date": lambda value, _field: value,
}


def validate_bant(command: UpdateBant) -> dict[str, Any]:
    return _checked({**command.criteria, **command.details}, BANT_FIELDS)


def update_bant(lead: Lead, patch: dict[str, Any], actor: str, now: datetime) -> ChangeKind | None:
    bant = dataclasses.replace(lead.bant, **patch)
    changes = _diff("", lead.bant, bant)
    if not changes:
        return None
    lead.bant = bant
    lead.record(HistoryEntry(now, "bant", actor, f"BANT updated: {', '.join(changes)}", {"changes": changes}))
    return ChangeKind.BANT


# -- transitions and sales feedback ---------------------------------------------------------------


def validate_transition(command: TransitionLead) -> TransitionRequest:
    return TransitionRequest(v.text(command.reason, "reason", limit=v.LONG_TEXT), command.loss_reason)


def transition(
    lead: Lead, event: LeadEvent, request: TransitionRequest, policy: Policy, actor: str, now: datetime
) -> ChangeKind:
    fire(lead, event, policy, actor=actor, now=now, request=request)
    return ChangeKind.TRANSITION


def validate_feedback(command: RecordSalesFeedback) -> str | None:
    reason = v.text(command.reason, "reason", limit=v.LONG_TEXT)
    if command.verdict is SalesVerdict.REJECTED and reason is None:
        raise InvalidInput("reason", "Say why sales rejects the lead, so marketing can learn from it")
    return reason


def sales_feedback(
    lead: Lead, verdict: SalesVerdict, reason: str | None, policy: Policy, actor: str, now: datetime
) -> ChangeKind | None:
    if lead.stage is not Stage.MQL:
        raise InvalidInput("verdict", f"Sales feedback applies to MQL leads only; this lead is {lead.stage.value}")
    if verdict is SalesVerdict.ACCEPTED and lead.feedback is SalesVerdict.ACCEPTED:
        return None
    lead.feedback = verdict
    word = "accepted" if verdict is SalesVerdict.ACCEPTED else f"rejected: {reason}"
    lead.record(HistoryEntry(now, "feedback", actor, f"Sales {word}", {"verdict": verdict.value, "reason": reason}))
    if verdict is SalesVerdict.REJECTED:
        fire(lead, LeadEvent.RECYCLE, policy, actor=actor, now=now, request=TransitionRequest(reason=reason))
    return ChangeKind.FEEDBACK
