"""Idempotency fingerprints: a hash of the canonical request without its key."""

import dataclasses
import enum
import hashlib
import json
from typing import Any


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    return str(value)


def fingerprint(command: Any) -> str:
    """Same request, same fingerprint, whatever the key or the order of its fields."""
    fields = dataclasses.asdict(command)
    fields.pop("idempotency_key", None)
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=_plain)
    return hashlib.sha256(canonical.encode()).hexdigest()
