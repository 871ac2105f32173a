"""The domain's storage ports on one Postgres connection (SQLAlchemy Core)."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from leadcycle.domain.model import Lead
from leadcycle.domain.ports import LeadChange, StoredKey
from leadcycle.persistence.mapping import lead_from_row, lead_to_row
from leadcycle.persistence.tables import activities, idempotency_keys, lead_changes, lead_history, leads

# Writers of one lead queue on this advisory lock before locking the row. It assigns no
# transaction id, so a writer gets its id only after the previous writer of the lead has
# committed: change-log order by (xid, id) then matches version order (see change_log.py).
_LEAD_WRITER_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(CAST(:id AS text), 0))")


class SqlLeadRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, lead: Lead, change: LeadChange) -> None:
        """Insert a new lead with its pending activities, history and change-log entry."""
        await self._connection.execute(insert(leads).values(lead_to_row(lead)))
        await self._write_pending(lead, change)

    async def get(self, lead_id: UUID) -> Lead | None:
        """The lead as committed, without locking."""
        row = (await self._connection.execute(select(leads).where(leads.c.id == lead_id))).mappings().first()
        return lead_from_row(row) if row else None

    async def lock(self, lead_id: UUID) -> Lead | None:
        """The lead, locked against other writers until the transaction ends."""
        await self._connection.execute(_LEAD_WRITER_LOCK, {"id": str(lead_id)})
        query = select(leads).where(leads.c.id == lead_id).with_for_update()
        row = (await self._connection.execute(query)).mappings().first()
        return lead_from_row(row) if row else None

    async def save(self, lead: Lead, change: LeadChange) -> None:
        """Write a locked lead back, one version up, with its pending records."""
        row = lead_to_row(lead)
        del row["id"]
        written = await self._connection.execute(
            update(leads).where(leads.c.id == lead.id, leads.c.version == lead.version - 1).values(row)
        )
        if written.rowcount != 1:
            raise RuntimeError(f"lead {lead.id} was saved without holding its lock")
        await self._write_pending(lead, change)

    async def _write_pending(self, lead: Lead, change: LeadChange) -> None:
        if lead.new_activities:
            rows = [
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
                for a in lead.new_activities
            ]
            await self._connection.execute(insert(activities), rows)
        if lead.new_history:
            rows = [
                {"lead_id": lead.id, "at": h.at, "kind": h.kind, "actor": h.actor, "summary": h.summary, "data": h.data}
                for h in lead.new_history
            ]
            await self._connection.execute(insert(lead_history), rows)
        await self._connection.execute(
            insert(lead_changes).values(
                lead_id=lead.id,
                version=lead.version,
                kind=change.kind.value,
                actor=change.actor,
                at=change.at,
                from_stage=change.from_stage.value if change.from_stage else None,
                to_stage=change.to_stage.value if change.to_stage else None,
                snapshot=lead_to_row(lead),
            )
        )
        lead.new_activities.clear()
        lead.new_history.clear()


class SqlIdempotencyKeys:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def claim(self, scope: str, key: str, fingerprint: str, lead_id: UUID) -> StoredKey | None:
        """Take the key, or return what an earlier request stored; waits for a concurrent holder.

        The primary key makes a second INSERT wait for the first holder's transaction: if that
        commits, the insert does nothing and the stored outcome is replayed; if it rolls back,
        this request takes the key.
        """
        claimed = await self._connection.execute(
            pg_insert(idempotency_keys)
            .values(scope=scope, key=key, fingerprint=fingerprint, lead_id=lead_id, created_at=func.now())
            .on_conflict_do_nothing()
            .returning(idempotency_keys.c.key)
        )
        if claimed.first() is not None:
            return None
        stored = (
            await self._connection.execute(
                select(idempotency_keys.c.fingerprint, idempotency_keys.c.lead_id).where(
                    idempotency_keys.c.scope == scope, idempotency_keys.c.key == key
                )
            )
        ).one()
        return StoredKey(stored.fingerprint, stored.lead_id)
