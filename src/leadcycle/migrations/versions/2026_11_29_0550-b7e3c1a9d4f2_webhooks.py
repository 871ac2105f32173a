"""Webhooks: endpoints, their deliveries, and how far the change log has been dispatched.

The dispatch position starts at the oldest transaction in flight now: no endpoint exists yet, so
no change before it can be owed to one, and the first dispatcher need not scan the whole log.

Revision ID: b7e3c1a9d4f2
Revises: a9bcf66d9b44
Create Date: 2026-11-29 05:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "b7e3c1a9d4f2"
down_revision: str | None = "a9bcf66d9b44"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UNFINISHED = sa.text("status IN ('PENDING', 'IN_FLIGHT')")


def upgrade() -> None:
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("kinds", postgresql.ARRAY(sa.String(length=16)), nullable=False),
        sa.Column("stages", postgresql.ARRAY(sa.String(length=16)), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoints")),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("endpoint_id", sa.Uuid(), nullable=False),
        sa.Column("lead_id", sa.Uuid(), nullable=False),
        sa.Column("change_xid", sa.BigInteger(), nullable=False),
        sa.Column("change_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('PENDING', 'IN_FLIGHT', 'DELIVERED', 'DEAD')", name=op.f("ck_webhook_deliveries_status_known")
        ),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["webhook_endpoints.id"],
            name=op.f("fk_webhook_deliveries_endpoint_id_webhook_endpoints"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint("seq", name=op.f("uq_webhook_deliveries_seq")),
    )
    op.create_index(
        op.f("ix_webhook_deliveries_endpoint_id_change_xid_change_id"),
        "webhook_deliveries",
        ["endpoint_id", "change_xid", "change_id"],
        unique=True,
    )
    op.create_index(op.f("ix_webhook_deliveries_endpoint_id_seq"), "webhook_deliveries", ["endpoint_id", "seq"])
    op.create_index(
        op.f("ix_webhook_deliveries_next_attempt_at"),
        "webhook_deliveries",
        ["next_attempt_at"],
        postgresql_where=_UNFINISHED,
    )
    op.create_index(
        op.f("ix_webhook_deliveries_delivered_at"),
        "webhook_deliveries",
        ["delivered_at"],
        postgresql_where=sa.text("status = 'DELIVERED'"),
    )
    op.create_index(
        "ix_webhook_deliveries_unfinished_per_lead",
        "webhook_deliveries",
        ["endpoint_id", "lead_id", "change_xid", "change_id"],
        postgresql_where=_UNFINISHED,
    )
    op.create_table(
        "webhook_dispatch",
        sa.Column("id", sa.SmallInteger(), nullable=False),
        sa.Column("xid", sa.BigInteger(), nullable=False),
        sa.Column("change_id", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_webhook_dispatch_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_dispatch")),
    )
    op.execute(
        "INSERT INTO webhook_dispatch (id, xid, change_id) "
        "VALUES (1, (pg_snapshot_xmin(pg_current_snapshot())::text)::bigint, 0)"
    )


def downgrade() -> None:
    op.drop_table("webhook_dispatch")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_endpoints")
