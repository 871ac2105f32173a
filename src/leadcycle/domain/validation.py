"""Input rules from SEMANTICS.md. Each check raises InvalidInput naming the offending field.

Field paths use the API's names (`contact.email`, `occurredAt`), since that is what the caller
sent and what a ValidationProblem must point at.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from leadcycle.domain.errors import InvalidInput, LeadNotFound

SHORT_TEXT = 200
LONG_TEXT = 2000
MAX_PROPERTIES_BYTES = 16 * 1024
SLUG = re.compile(r"[a-z][a-z0-9_]{0,63}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
_PHONE = re.compile(r"[0-9+\-() ]+")


def camel(name: str) -> str:
    """`employee_count` -> `employeeCount`, the field's name in the API."""
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def text(value: str | None, field: str, *, required: bool = False, limit: int = SHORT_TEXT) -> str | None:
    """Trimmed text of 1..limit characters; empty optional text becomes None."""
    trimmed = value.strip() if value is not None else ""
    if not trimmed:
        if required:
            raise InvalidInput(field, f"{field} must not be empty")
        return None
    if len(trimmed) > limit:
        raise InvalidInput(field, f"{field} is {len(trimmed)} characters long; at most {limit} are allowed")
    return trimmed


def required_text(value: str | None, field: str) -> str:
    """Like `text`, for a field that must be present."""
    result = text(value, field, required=True)
    assert result is not None
    return result


def email(value: str | None, field: str) -> str | None:
    address = text(value, field)
    if address is not None and not _EMAIL.fullmatch(address):
        raise InvalidInput(field, f"{field} must look like name@example.com")
    return address


def phone(value: str | None, field: str) -> str | None:
    number = text(value, field)
    if number is None:
        return None
    digits = sum(ch.isdigit() for ch in number)
    if not _PHONE.fullmatch(number) or not 6 <= digits <= 20:
        raise InvalidInput(field, f"{field} must be 6 to 20 digits, optionally with spaces, +, -, ( and )")
    return number


def slug(value: str, field: str) -> str:
    if not SLUG.fullmatch(value):
        raise InvalidInput(
            field,
            f"{field} must start with a lower-case letter and contain only a-z, 0-9 and _ (at most 64 characters)",
        )
    return value


def source(value: str, field: str = "source") -> str:
    """Acquisition channels are compared lower-cased and trimmed."""
    return slug(value.strip().lower(), field)


def non_negative(value: int | Decimal | None, field: str) -> Any:
    if value is None:
        return None
    if isinstance(value, Decimal) and not value.is_finite():
        raise InvalidInput(field, f"{field} must be a finite number")
    if value < 0:
        raise InvalidInput(field, f"{field} must not be negative")
    return value


def aware(value: datetime, field: str) -> datetime:
    """Timestamps need an offset; they are kept in UTC."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(field, f"{field} needs a UTC offset, e.g. 2026-01-31T09:00:00+09:00")
    return value.astimezone(UTC)


def properties(value: Any, field: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInput(field, f"{field} must be a JSON object")
    try:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except ValueError:  # NaN or Infinity, which Python's JSON reader accepts but JSON (and jsonb) has no such number
        raise InvalidInput(field, f"{field} may hold only finite numbers (no NaN or Infinity)") from None
    size = len(text.encode())
    if size > MAX_PROPERTIES_BYTES:
        raise InvalidInput(field, f"{field} is {size} bytes; at most {MAX_PROPERTIES_BYTES} are allowed")
    return dict(value)


def idempotency_key(value: str | None, field: str = "idempotencyKey") -> str | None:
    if value is None:
        return None
    if not 1 <= len(value) <= SHORT_TEXT:
        raise InvalidInput(field, f"{field} must be 1 to {SHORT_TEXT} characters long")
    return value


def actor(value: str) -> str:
    if len(value) > SHORT_TEXT:
        raise InvalidInput("X-Actor", f"The X-Actor header is longer than {SHORT_TEXT} characters")
    return value


def lead_id(value: str | UUID) -> UUID:
    """A malformed id names no lead, so it is NotFound rather than a validation error."""
    if isinstance(value, UUID):
        return value
    try:
        return UUID(value)
    except ValueError:
        raise LeadNotFound(value) from None


def now_or_past(value: datetime | None, field: str, now: datetime, *, leeway_seconds: int) -> datetime:
    """A time of something that happened: at most `leeway_seconds` ahead of `now`."""
    if value is None:
        return now
    moment = aware(value, field)
    if (moment - now).total_seconds() > leeway_seconds:
        raise InvalidInput(field, f"{field} lies more than {leeway_seconds // 60} minutes in the future")
    return moment
