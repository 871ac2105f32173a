"""Webhooks without I/O: which changes an endpoint wants, what it is sent, how it is signed, when to retry.

The delivery worker (persistence/webhook_worker.py) does the posting; everything it decides is
here so it can be tested without a network or a database.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from leadcycle.domain.errors import InvalidInput
from leadcycle.domain.model import Lead
from leadcycle.domain.stages import ChangeKind, Stage

SIGNATURE_HEADER = "X-Leadcycle-Signature"
DELIVERY_HEADER = "X-Leadcycle-Delivery"
MAX_URL_LENGTH = 2000
SECRET_LENGTHS = range(16, 257)


class DeliveryStatus(enum.Enum):
    """PENDING waits for its turn or its next attempt; IN_FLIGHT is being posted; DEAD gave up."""

    PENDING = "PENDING"
    IN_FLIGHT = "IN_FLIGHT"
    DELIVERED = "DELIVERED"
    DEAD = "DEAD"


@dataclass(frozen=True)
class WebhookFilter:
    """The changes an endpoint wants: an empty set of kinds or stages means every one."""

    kinds: frozenset[ChangeKind] = frozenset()
    stages: frozenset[Stage] = frozenset()

    def matches(self, kind: ChangeKind, stage: Stage) -> bool:
        """Whether a change of this kind, leaving the lead in this stage, is sent to the endpoint."""
        return (not self.kinds or kind in self.kinds) and (not self.stages or stage in self.stages)


@dataclass(frozen=True)
class NewEndpoint:
    """A validated registration: where to post, what to send, the secret to sign with."""

    url: str
    filter: WebhookFilter
    secret: str


@dataclass(frozen=True)
class Endpoint:
    """A registered endpoint as stored; its secret never leaves the server after registration."""

    id: UUID
    url: str
    filter: WebhookFilter
    secret: str
    paused: bool
    created_by: str
    created_at: datetime
    previous_secret_expires_at: datetime | None = None
    """Until then the secret replaced by the last rotation also signs posts (it may be past)."""


@dataclass(frozen=True)
class Delivery:
    """One change owed to one endpoint, and how posting it has gone so far."""

    id: UUID
    seq: int
    endpoint_id: UUID
    lead_id: UUID
    kind: ChangeKind
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    last_status_code: int | None
    created_at: datetime
    delivered_at: datetime | None


def _valid_url(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("url", "The URL must be absolute and start with http:// or https://")
    if len(url) > MAX_URL_LENGTH:
        raise InvalidInput("url", f"The URL may be at most {MAX_URL_LENGTH} characters long")
    if parts.fragment:
        raise InvalidInput("url", "The URL must not have a #fragment: it is never sent")
    return url


def valid_secret(secret: str) -> str:
    """The secret, if its length is within bounds; else InvalidInput on `secret`."""
    if len(secret) not in SECRET_LENGTHS:
        raise InvalidInput(
            "secret", f"The secret must be {SECRET_LENGTHS.start} to {SECRET_LENGTHS.stop - 1} characters long"
        )
    return secret


def new_endpoint(url: str, kinds: Iterable[ChangeKind], stages: Iterable[Stage], secret: str) -> NewEndpoint:
    """A registration checked field by field; InvalidInput names the first field at fault."""
    valid_secret(secret)
    return NewEndpoint(_valid_url(url), WebhookFilter(frozenset(kinds), frozenset(stages)), secret)


def secret_hint(secret: str) -> str:
    """What queries show of a secret: its last four characters, enough to tell two apart."""
    return f"…{secret[-4:]}"


def sign(secret: str, body: bytes) -> str:
    """The signature header's value: HMAC-SHA256 of the raw body under the endpoint's secret, in hex."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signatures(secrets: Iterable[str], body: bytes) -> str:
    """The signature header's value under each secret, comma-separated: a receiver accepts if any matches.

    The current secret comes first, then, while a rotation overlaps, the previous one.
    """
    return ", ".join(sign(secret, body) for secret in secrets)


@dataclass(frozen=True)
class WebhookChange:
    """One committed change as webhooks see it; `cursor` is its place in the change log."""

    cursor: str
    kind: ChangeKind
    from_stage: Stage | None
    to_stage: Stage | None
    at: datetime
    actor: str
    lead: Lead


def _stage(stage: Stage | None) -> str | None:
    return stage.value if stage else None


def payload(delivery_id: UUID, change: WebhookChange) -> bytes:
    """The body posted for one change: the change, and a summary of the lead as of that change."""
    lead = change.lead
    document: dict[str, Any] = {
        "deliveryId": str(delivery_id),
        "cursor": change.cursor,
        "kind": change.kind.value,
        "fromStage": _stage(change.from_stage),
        "toStage": _stage(change.to_stage),
        "at": change.at.isoformat(),
        "actor": change.actor,
        "lead": {
            "id": str(lead.id),
            "version": lead.version,
            "stage": lead.stage.value,
            "temperature": lead.temperature.value,
            "score": lead.score,
            "ownerTeam": lead.owner_team,
            "owner": lead.owner,
            "companyName": lead.company.name,
            "contactName": lead.contact.name,
        },
    }
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, and when to give up (dead letter)."""

    max_attempts: int = 10
    base_seconds: float = 2.0
    max_delay_seconds: float = 900.0

    def delay(self, attempts: int, jitter: float) -> float:
        """Seconds before the next try after `attempts` failed ones; `jitter` in [0, 1) takes up to half off."""
        ceiling: float = min(self.max_delay_seconds, self.base_seconds * 2.0 ** min(attempts - 1, 64))
        return ceiling * (1 - jitter / 2)

    def gives_up(self, attempts: int) -> bool:
        """After this many failed attempts the delivery is dead-lettered."""
        return attempts >= self.max_attempts
