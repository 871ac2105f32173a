"""The domain's storage ports for leads and idempotency keys, on the unit of work's asyncpg connection."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from leadcycle.domain.model import Activity, Lead
from leadcycle.domain.ports import LeadChange, StoredKey
from leadcycle.persistence import statements
from leadcycle.persistence.kept_counts import CountKey, key_of
from leadcycle.persistence.mapping import activity_from_row, lead_from_row, lead_to_row
from leadcycle.persistence.scoring_models import ACTIVE_VERSION
from leadcycle.persistence.tables import (
    activities,
    lead_changes,
    lead_count_deltas,
    lead_history,
    leads,
)
from leadcycle.persistence.transaction import Transaction

# Writers of one lead queue on this advisory lock before locking the row. It assigns no
# transaction id, so a writer gets its id only after the previous writer of the lead has
# committed: change-log order by (xid, id) then matches version order (see change_log.py).
# Without parameters (a UUID's text needs no quoting), so that BEGIN goes out with it (transaction.py).
_LEAD_WRITER_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('{lead_id}', 0))"
_LEAD = "SELECT * FROM leads WHERE id = $1"
# The activities scoring counts: those of the lead's current cycle, all of them in cycle 1.
_IN_CYCLE = "a.cycle = l.cycle AND (l.cycle = 1 OR a.occurred_at >= l.cycle_started_at)"
_CYCLE_ACTIVITIES = f"""
    SELECT a.* FROM activities a JOIN leads l ON l.id = a.lead_id WHERE a.lead_id = ANY($1::uuid[]) AND {_IN_CYCLE}
"""
# The row with its cycle's activities, and the active scoring model's version that the write
# scores by, in one round trip. The row lock does not wait (its writers hold the writer lock), so
# the snapshot this statement reads, taken once that lock was granted, already holds the previous
# writer's activities. Without them for a write that starts a new cycle.
_LOCKED_LEAD = {
    with_activities: f"""
        SELECT l.*, {activities}({ACTIVE_VERSION}) AS active_model_version FROM leads l WHERE l.id = $1 FOR UPDATE
    """
    for with_activities, activities in (
        (True, f"ARRAY(SELECT a FROM activities a WHERE a.lead_id = l.id AND {_IN_CYCLE}) AS cycle_activities, "),
        (False, ""),
    )
}
_FIRST_LEADS = "SELECT * FROM leads ORDER BY id LIMIT $1"
_LEADS_AFTER = "SELECT * FROM leads WHERE id > $1 ORDER BY id LIMIT $2"
_MARK_SCORED = "UPDATE leads SET scoring_model_version = $2, review_at = $3 WHERE id = $1"
_DUE_FOR_REVIEW = "SELECT id FROM leads WHERE review_at IS NOT NULL AND review_at <= $1 ORDER BY review_at LIMIT $2"
# A write is one statement: the lead's row, then its pending records in these tables.
_RECORDS = {
    activities: ["lead_id", "kind", "occurred_at", "recorded_at", "properties", "points", "cycle", "rule"],
    lead_history: ["lead_id", "at", "kind", "actor", "summary", "data"],
    lead_changes: ["lead_id", "version", "kind", "actor", "at", "from_stage", "to_stage", "snapshot"],
    lead_count_deltas: [*CountKey._fields, "delta"],
}
# A change's snapshot is the lead as of it. The last change's is the document's row, which its
# record leaves out (null) rather than carry a second copy for Postgres to parse.
_SNAPSHOTS = {"snapshot": f"coalesce(r.snapshot, {statements.ROW})"}
_WRITE_NEW = statements.together(statements.insert_one(leads), _RECORDS, _SNAPSHOTS)
_WRITE_CHANGED = statements.together(statements.update_versioned(leads), _RECORDS, _SNAPSHOTS)

# One statement for any number of keys.
_CLAIM_KEYS = """
    INSERT INTO idempotency_keys (scope, key, fingerprint, lead_id, created_at)
    SELECT $1, k.key, k.fingerprint, $2, now()
    FROM unnest($3::text[], $4::text[]) WITH ORDINALITY AS k(key, fingerprint, n)
    ORDER BY k.n
    ON CONFLICT DO NOTHING
    RETURNING key
"""
_STORED_KEYS = "SELECT key, fingerprint, lead_id FROM idempotency_keys WHERE scope = $1 AND key = ANY($2::text[])"


class SqlLeadRepository:
    """Leads on the unit of work's asyncpg connection, inside its transaction: the hottest path of every write."""

    def __init__(self, connection: Transaction) -> None:
        self._connection = connection
        # What each lead this unit of work wrote or locked is counted under (kept_counts.py), as stored.
        self._counted_as: dict[UUID, CountKey] = {}

    async def add(self, lead: Lead, change: LeadChange) -> None:
        """Insert a new lead with its pending activities, history, change-log entry and its count."""
        await self._write(_WRITE_NEW, [(lead, change)], None)

    async def get(self, lead_id: UUID) -> Lead | None:
        """The lead as committed, without locking."""
        row = await self._connection.fetchrow(_LEAD, lead_id)
        return lead_from_row(row) if row else None

    async def lock(self, lead_id: UUID, *, cycle_activities: bool = True) -> Lead | None:
        """The lead, locked against other writers until the transaction ends; with its cycle's activities if asked."""
        await self._connection.begin_with(_LEAD_WRITER_LOCK.format(lead_id=UUID(str(lead_id))))
        row = await self._connection.fetchrow(_LOCKED_LEAD[cycle_activities], lead_id)
        if row is None:
            return None
        self._connection.active_model_version = row["active_model_version"]
        lead = lead_from_row(row)
        if cycle_activities:
            lead.cycle_activities = tuple(map(activity_from_row, row["cycle_activities"]))
        self._counted_as[lead.id] = key_of(lead)
        return lead

    async def _cycle_activities_of(self, lead_ids: Sequence[UUID]) -> dict[UUID, tuple[Activity, ...]]:
        """The activities each lead's current cycle counts (see `counts_in_cycle`), by lead, in one query."""
        found: dict[UUID, list[Activity]] = {}
        for row in await self._connection.fetch(_CYCLE_ACTIVITIES, lead_ids):
            found.setdefault(row["lead_id"], []).append(activity_from_row(row))
        return {lead_id: tuple(items) for lead_id, items in found.items()}

    async def page_for_scoring(self, after: UUID | None, first: int) -> list[Lead]:
        """Up to `first` leads after `after` in id order, each with its current cycle's activities; no locks."""
        rows = await (
            self._connection.fetch(_FIRST_LEADS, first)
            if after is None
            else self._connection.fetch(_LEADS_AFTER, after, first)
        )
        page = [lead_from_row(row) for row in rows]
        counted = await self._cycle_activities_of([lead.id for lead in page])
        for lead in page:
            lead.cycle_activities = counted.get(lead.id, ())
        return page

    async def save(self, lead: Lead, change: LeadChange) -> None:
        """Write a locked lead back, one version up, with its pending records."""
        await self.save_all([(lead, change)])

    async def mark_scored(self, lead: Lead) -> None:
        """Record the version that scored a locked lead it left unchanged, and its next review: no new version."""
        await self._connection.execute(_MARK_SCORED, lead.id, lead.scoring_model_version, lead.review_at)

    async def due_for_review(self, now: datetime, first: int) -> list[UUID]:
        """Up to `first` leads whose review time has come, the longest overdue first (the partial index)."""
        return [row["id"] for row in await self._connection.fetch(_DUE_FOR_REVIEW, now, first)]

    async def save_all(self, steps: Sequence[tuple[Lead, LeadChange]]) -> None:
        """Write a locked lead back through successive changes, in one statement: one UPDATE, one insert per table.

        A change of what the lead is counted under also appends count deltas (kept_counts.py), in
        this transaction.

        The change-log rows are inserted in step order, so their ids (and thus the log order
        within this transaction) follow the versions.
        """
        first, last = steps[0][0], steps[-1][0]
        assert [lead.version for lead, _ in steps] == list(range(first.version, last.version + 1))
        counted_as = self._counted_as.get(first.id)
        if counted_as is None:
            raise RuntimeError(f"lead {first.id} was saved without being locked in this unit of work")
        await self._write(_WRITE_CHANGED, steps, counted_as, first.id, first.version - 1)

    async def _write(
        self,
        statement: statements.Write,
        steps: Sequence[tuple[Lead, LeadChange]],
        counted_as: CountKey | None,
        *own: Any,
    ) -> None:
        """The lead's row as of the last step, and every step's records; `own`: the statement's own parameters.

        `counted_as`: what the lead is counted under as stored (None: a new lead).
        """
        rows = [lead_to_row(lead) for lead, _ in steps]
        lead_id, now_counted_as = steps[-1][0].id, key_of(steps[-1][0])
        deltas = _count_delta_rows(counted_as, now_counted_as)
        document = statement.document(rows[-1], _pending(steps, [*rows[:-1], None], deltas))
        if await self._connection.fetchval(statement.sql, document, *own) != 1:
            raise RuntimeError(f"lead {steps[-1][0].id} was saved without holding its lock")
        self._counted_as[lead_id] = now_counted_as
        for lead, _change in steps:
            lead.new_activities.clear()
            lead.new_history.clear()


def _pending(
    steps: Sequence[tuple[Lead, LeadChange]],
    snapshots: Sequence[Mapping[str, Any] | None],
    count_deltas: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], ...]:
    """The rows the steps add to activities, history, the change log, and the count deltas given.

    `snapshots`: the lead's row as of each step; None for the last, whose snapshot is the document's row.
    """
    activity_rows = [
        {
            "lead_id": lead.id,
            "kind": a.kind,
            "occurred_at": a.occurred_at,
            "recorded_at": change.at,
            "properties": a.properties,
            "points": a.points,
            "cycle": a.cycle,
            "rule": a.rule,
        }
        for lead, change in steps
        for a in lead.new_activities
    ]
    history_rows = [
        {"lead_id": lead.id, "at": h.at, "kind": h.kind, "actor": h.actor, "summary": h.summary, "data": h.data}
        for lead, _change in steps
        for h in lead.new_history
    ]
    change_rows = [_change_row(lead, change, row) for (lead, change), row in zip(steps, snapshots, strict=True)]
    return activity_rows, history_rows, change_rows, count_deltas


def _count_delta_rows(counted_as: CountKey | None, now_counted_as: CountKey) -> list[dict[str, Any]]:
    """The count deltas of a lead counted under `counted_as` (None: not yet) that is now under the other key."""
    if counted_as == now_counted_as:
        return []  # most writes
    moves = [(now_counted_as, 1)] if counted_as is None else [(counted_as, -1), (now_counted_as, 1)]
    return [{**key._asdict(), "delta": delta} for key, delta in moves]


def _change_row(lead: Lead, change: LeadChange, row: Mapping[str, Any] | None) -> dict[str, Any]:
    """The change-log entry of `change`, with the lead as of it (`row`; None: the document's row) as the snapshot."""
    return {
        "lead_id": lead.id,
        "version": lead.version,
        "kind": change.kind.value,
        "actor": change.actor,
        "at": change.at,
        "from_stage": change.from_stage.value if change.from_stage else None,
        "to_stage": change.to_stage.value if change.to_stage else None,
        "snapshot": row,
    }


class SqlIdempotencyKeys:
    def __init__(self, connection: Transaction) -> None:
        self._connection = connection

    async def claim(self, scope: str, key: str, fingerprint: str, lead_id: UUID) -> StoredKey | None:
        """Take the key, or return what an earlier request stored; waits for a concurrent holder.

        The primary key makes a second INSERT wait for the first holder's transaction: if that
        commits, the insert does nothing and the stored outcome is replayed; if it rolls back,
        this request takes the key.
        """
        return (await self.claim_many(scope, {key: fingerprint}, lead_id)).get(key)

    async def claim_many(self, scope: str, requests: Mapping[str, str], lead_id: UUID) -> dict[str, StoredKey]:
        """Take every free key, as `claim` does and in one statement; return what is stored under the others.

        Keys are inserted in sorted order, so two transactions claiming overlapping keys wait for
        each other in one order and cannot deadlock.
        """
        keys = sorted(requests)
        claimed = await self._connection.fetch(_CLAIM_KEYS, scope, lead_id, keys, [requests[k] for k in keys])
        taken = set(keys) - {row["key"] for row in claimed}
        if not taken:
            return {}
        stored = await self._connection.fetch(_STORED_KEYS, scope, list(taken))
        return {row["key"]: StoredKey(row["fingerprint"], row["lead_id"]) for row in stored}
