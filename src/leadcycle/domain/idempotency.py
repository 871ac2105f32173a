"""Idempotency keys: one outcome per key and scope, claimed inside the lead's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from leadcycle.domain import validation
from leadcycle.domain.commands import CreateLead, RecordActivity, TransitionLead
from leadcycle.domain.errors import KeyReused
from leadcycle.domain.fingerprint import fingerprint
from leadcycle.domain.ports import UnitOfWork


@dataclass(frozen=True)
class Idempotency:
    scope: str
    key: str
    fingerprint: str


def request(scope: str, command: CreateLead | RecordActivity | TransitionLead) -> Idempotency | None:
    """The command's key (validated) with its fingerprint, or None when it carries no key."""
    key = validation.idempotency_key(command.idempotency_key)
    return Idempotency(scope, key, fingerprint(command)) if key is not None else None


async def replay(uow: UnitOfWork, request: Idempotency, lead_id: UUID) -> UUID | None:
    """The lead of an earlier success under this key, or None when this request owns the key."""
    stored = await uow.idempotency.claim(request.scope, request.key, request.fingerprint, lead_id)
    if stored is None:
        return None
    if stored.fingerprint != request.fingerprint:
        raise KeyReused()
    return stored.lead_id


async def claim_in_order(
    uow: UnitOfWork, requests: Sequence[tuple[int, Idempotency]], lead_id: UUID
) -> dict[int, KeyReused | None]:
    """Claim the keys of several requests to one lead at once, as if they came one after another.

    `requests` are (position, key) in the order the requests are applied. The first request
    with a key owns it, unless an earlier call stored it; every other one is judged as a retry
    of the key's owner. Returns the positions that must not be applied: None to replay (the
    lead as it is then), KeyReused when the key came with a different request.
    """
    owners: dict[str, tuple[int, Idempotency]] = {}
    for position, keyed in requests:
        owners.setdefault(keyed.key, (position, keyed))
    if not owners:
        return {}
    (scope,) = {keyed.scope for _, keyed in requests}
    stored = await uow.idempotency.claim_many(scope, {k: r.fingerprint for k, (_, r) in owners.items()}, lead_id)
    answers: dict[int, KeyReused | None] = {}
    for position, keyed in requests:
        owner_position, owner = owners[keyed.key]
        earlier = stored.get(keyed.key)
        if earlier is None and owner_position == position:
            continue  # this request owns the key: apply it
        owning_fingerprint = earlier.fingerprint if earlier is not None else owner.fingerprint
        answers[position] = None if owning_fingerprint == keyed.fingerprint else KeyReused()
    return answers
