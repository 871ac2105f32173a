"""Between domain leads and rows of `leads`; the same row, as JSON, is a change's snapshot."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, TypeVar
from uuid import UUID

import orjson
from sqlalchemy import Date, DateTime, Numeric, Uuid

from leadcycle.domain.model import (
    BANT_CRITERIA,
    Activity,
    Bant,
    BantCriterion,
    Company,
    Contact,
    Lead,
    ScoreContribution,
)
from leadcycle.domain.stages import BantStatus, LossReason, SalesVerdict, Stage, Temperature
from leadcycle.persistence.tables import leads

E = TypeVar("E", bound=Enum)


def _enum_value(member: Any) -> Any:
    return member.value if member is not None else None


def _members(enum: type[E]) -> dict[str, E]:
    """Members by value: a dict lookup, where calling the enum costs a microsecond or two."""
    return {member.value: member for member in enum}


def _or_none(enum: type[E]) -> dict[str | None, E | None]:
    """The same, and None for None (an optional column)."""
    found: dict[str | None, E | None] = {member.value: member for member in enum}
    found[None] = None
    return found


_STAGES, _TEMPERATURES, _STATUSES = _members(Stage), _members(Temperature), _members(BantStatus)
_LOSS_REASONS, _VERDICTS = _or_none(LossReason), _or_none(SalesVerdict)


def bant_from_json(data: Mapping[str, Any]) -> Bant:
    criteria = {c: BantCriterion(_STATUSES[data[c]["status"]], data[c]["note"]) for c in BANT_CRITERIA}
    amount, target = data["budget_amount"], data["target_date"]
    return Bant(
        **criteria,
        budget_amount=Decimal(amount) if amount is not None else None,
        target_date=date.fromisoformat(target) if target else None,
    )


def breakdown_from_json(data: list[dict[str, Any]]) -> tuple[ScoreContribution, ...]:
    at = datetime.fromisoformat
    return tuple(
        ScoreContribution(
            i["rule"], i["points"], i["reason"], at(i["at"]), i.get("count", 1), i.get("behaviour", False)
        )
        for i in data
    )


def activity_from_row(row: Mapping[Any, Any]) -> Activity:
    return Activity(
        row["kind"], row["occurred_at"], row["properties"], row["points"], row["cycle"], row["rule"], row["id"]
    )


def lead_to_row(lead: Lead) -> dict[str, Any]:
    """The lead as a row for `dumps`, which writes its BANT and breakdown (dataclasses) as objects of their fields.

    orjson writes dataclasses, enums and timestamps itself, some ten times faster than building
    the dictionaries first; `bant_from_json` and `breakdown_from_json` read them back.
    """
    company, contact = lead.company, lead.contact
    return {
        "id": lead.id,
        "version": lead.version,
        "company_name": company.name,
        "company_department": company.department,
        "company_employee_count": company.employee_count,
        "company_capital": company.capital,
        "company_industry": company.industry,
        "contact_name": contact.name,
        "contact_email": contact.email,
        "contact_phone": contact.phone,
        "contact_title": contact.title,
        "contact_is_decision_maker": contact.is_decision_maker,
        "source": lead.source,
        "stage": lead.stage.value,
        "temperature": lead.temperature.value,
        "score": lead.score,
        "bant": lead.bant,
        "owner_team": lead.owner_team,
        "owner": lead.owner,
        "loss_reason": _enum_value(lead.loss_reason),
        "created_at": lead.created_at,
        "updated_at": lead.updated_at,
        "stage_changed_at": lead.stage_changed_at,
        "cycle": lead.cycle,
        "cycle_started_at": lead.cycle_started_at,
        "hot_signal": lead.hot_signal,
        "feedback": _enum_value(lead.feedback),
        "reached_mql_at": lead.reached_mql_at,
        "reached_opportunity_at": lead.reached_opportunity_at,
        "score_breakdown": lead.breakdown,
        "scoring_model_version": lead.scoring_model_version,
        "review_at": lead.review_at,
    }


def lead_from_row(row: Mapping[Any, Any]) -> Lead:
    return Lead(
        # The standard library's UUID (asyncpg's subclass is one): orjson writes only that one itself.
        id=UUID(bytes=row["id"].bytes),
        version=row["version"],
        company=Company(
            row["company_name"],
            row["company_department"],
            row["company_employee_count"],
            row["company_capital"],
            row["company_industry"],
        ),
        contact=Contact(
            row["contact_name"],
            row["contact_email"],
            row["contact_phone"],
            row["contact_title"],
            row["contact_is_decision_maker"],
        ),
        source=row["source"],
        stage=_STAGES[row["stage"]],
        temperature=_TEMPERATURES[row["temperature"]],
        score=row["score"],
        bant=bant_from_json(row["bant"]),
        owner_team=row["owner_team"],
        owner=row["owner"],
        loss_reason=_LOSS_REASONS[row["loss_reason"]],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        stage_changed_at=row["stage_changed_at"],
        cycle=row["cycle"],
        cycle_started_at=row["cycle_started_at"],
        hot_signal=row["hot_signal"],
        feedback=_VERDICTS[row["feedback"]],
        reached_mql_at=row["reached_mql_at"],
        reached_opportunity_at=row["reached_opportunity_at"],
        breakdown=breakdown_from_json(row["score_breakdown"]),
        # Both are absent from snapshots taken before they existed.
        scoring_model_version=row.get("scoring_model_version", 1),
        review_at=row.get("review_at"),
    )


def _json_default(value: Any) -> Any:
    """For the standard library: what orjson writes itself, and what neither does."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: getattr(value, field.name) for field in dataclasses.fields(value)}
    return str(value)  # Decimal, UUID


def _orjson_default(value: Any) -> Any:
    """For orjson: what it does not write itself."""
    return str(value)  # Decimal, asyncpg's UUID


def dumps(value: Any) -> str:
    """JSON for jsonb columns: timestamps as ISO 8601, decimals and ids as strings, enums as their values.

    Dataclasses are written as objects of their fields. orjson writes what the standard library
    would, several times faster; the standard library still answers what orjson refuses (integers
    beyond 64 bits).
    """
    return dumps_utf8(value).decode()


def dumps_utf8(value: Any) -> bytes:
    """`dumps` as UTF-8, as a jsonb parameter goes out (`jsonb_encoder`): no detour through str for a large one."""
    try:
        return orjson.dumps(value, default=_orjson_default)
    except TypeError:
        return json.dumps(value, default=_json_default, separators=(",", ":"), ensure_ascii=False).encode()


# orjson reads an integer beyond 64 bits as a float: text with a run of 19 ASCII digits goes to the
# standard library. A regular expression takes some 20 ns a character to find one; translating
# every digit to "0" and finding nineteen of them, 2.
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_DIGITS = b"0" * 19


def _loads(data: bytes) -> Any:
    if data.translate(_DIGITS_AS_ZERO).find(_LONG_DIGITS) < 0:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass  # numbers beyond a double, which the standard library reads as infinity
    return json.loads(data)


def loads(text: str) -> Any:
    """A jsonb value as Python, as the standard library reads it (exact integers), mostly through orjson."""
    return _loads(text.encode())


# asyncpg's binary format of jsonb: a version byte, then the text.
_JSONB_VERSION = b"\x01"


def jsonb_encoder(value: str | bytes) -> bytes:
    """A jsonb parameter, given serialized: as text by SQLAlchemy's bind processing, as UTF-8 by `dumps_utf8`."""
    return _JSONB_VERSION + (value if isinstance(value, bytes) else value.encode())


def jsonb_decoder(data: bytes) -> Any:
    """A jsonb value as `loads` reads it, without going through text."""
    return _loads(data[1:])


_DECODERS: dict[type, Callable[[str], Any]] = {
    DateTime: datetime.fromisoformat,
    Date: date.fromisoformat,
    Numeric: Decimal,
    Uuid: UUID,
}


def lead_from_snapshot(snapshot: Mapping[str, Any]) -> Lead:
    """The lead as of a change, decoding the JSON by the column types of `leads`."""
    row = dict(snapshot)
    for column in leads.columns:
        decode = _DECODERS.get(type(column.type))
        if decode is not None and row.get(column.name) is not None:
            row[column.name] = decode(str(row[column.name]))
    return lead_from_row(row)
