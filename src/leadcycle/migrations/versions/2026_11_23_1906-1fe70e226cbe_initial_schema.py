"""Initial schema: leads, activities, history, change log, idempotency keys.

Revision ID: 1fe70e226cbe
Revises:
Create Date: 2026-11-23 19:06:38.015213
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "1fe70e226cbe"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("lead_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_index(op.f("ix_idempotency_keys_created_at"), "idempotency_keys", ["created_at"], unique=False)
    op.create_table(
        "leads",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("company_name", sa.Text(), nullable=False),
        sa.Column("company_department", sa.Text(), nullable=True),
        sa.Column("company_employee_count", sa.Integer(), nullable=True),
        sa.Column("company_capital", sa.Numeric(), nullable=True),
        sa.Column("company_industry", sa.Text(), nullable=True),
        sa.Column("contact_name", sa.Text(), nullable=False),
        sa.Column("contact_email", sa.Text(), nullable=True),
        sa.Column("contact_phone", sa.Text(), nullable=True),
        sa.Column("contact_title", sa.Text(), nullable=True),
        sa.Column("contact_is_decision_maker", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("temperature", sa.String(length=8), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("bant", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("owner_team", sa.Text(), nullable=True),
        sa.Column("owner", sa.Text(), nullable=True),
        sa.Column("loss_reason", sa.String(length=16), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stage_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("cycle_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hot_signal", sa.Text(), nullable=True),
        sa.Column("feedback", sa.String(length=16), nullable=True),
        sa.Column("reached_mql_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reached_opportunity_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("score_breakdown", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.CheckConstraint("feedback IN ('ACCEPTED', 'REJECTED')", name=op.f("ck_leads_feedback_known")),
        sa.CheckConstraint(
            "loss_reason IN ('BUDGET', 'COMPETITOR', 'TIMING', 'NO_DECISION', 'NO_NEED', 'OTHER')",
            name=op.f("ck_leads_loss_reason_known"),
        ),
        sa.CheckConstraint(
            "stage IN ('COLD', 'WARM', 'MQL', 'SQL', 'OPPORTUNITY', 'WON', 'LOST', 'RECYCLED')",
            name=op.f("ck_leads_stage_known"),
        ),
        sa.CheckConstraint("temperature IN ('COLD', 'WARM', 'HOT')", name=op.f("ck_leads_temperature_known")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leads")),
    )
    op.create_index(op.f("ix_leads_created_at_id"), "leads", ["created_at", "id"], unique=False)
    op.create_index(op.f("ix_leads_owner_team"), "leads", ["owner_team"], unique=False)
    op.create_index(op.f("ix_leads_score_id"), "leads", ["score", "id"], unique=False)
    op.create_index(op.f("ix_leads_source_created_at"), "leads", ["source", "created_at"], unique=False)
    op.create_index(op.f("ix_leads_stage"), "leads", ["stage"], unique=False)
    op.create_index(op.f("ix_leads_temperature"), "leads", ["temperature"], unique=False)
    op.create_index(op.f("ix_leads_updated_at_id"), "leads", ["updated_at", "id"], unique=False)
    op.create_table(
        "activities",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("lead_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("properties", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("rule", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], name=op.f("fk_activities_lead_id_leads")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activities")),
    )
    op.create_index(
        op.f("ix_activities_lead_id_occurred_at_id"), "activities", ["lead_id", "occurred_at", "id"], unique=False
    )
    op.create_table(
        "lead_changes",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column(
            "xid", sa.BigInteger(), server_default=sa.text("(pg_current_xact_id()::text)::bigint"), nullable=False
        ),
        sa.Column("lead_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("from_stage", sa.String(length=16), nullable=True),
        sa.Column("to_stage", sa.String(length=16), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("snapshot", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], name=op.f("fk_lead_changes_lead_id_leads")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_changes")),
    )
    op.create_index(op.f("ix_lead_changes_lead_id_version"), "lead_changes", ["lead_id", "version"], unique=False)
    op.create_index(op.f("ix_lead_changes_xid_id"), "lead_changes", ["xid", "id"], unique=False)
    op.create_table(
        "lead_history",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("lead_id", sa.Uuid(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.Text(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], name=op.f("fk_lead_history_lead_id_leads")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_history")),
    )
    op.create_index(op.f("ix_lead_history_lead_id_at_id"), "lead_history", ["lead_id", "at", "id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_lead_history_lead_id_at_id"), table_name="lead_history")
    op.drop_table("lead_history")
    op.drop_index(op.f("ix_lead_changes_xid_id"), table_name="lead_changes")
    op.drop_index(op.f("ix_lead_changes_lead_id_version"), table_name="lead_changes")
    op.drop_table("lead_changes")
    op.drop_index(op.f("ix_activities_lead_id_occurred_at_id"), table_name="activities")
    op.drop_table("activities")
    op.drop_index(op.f("ix_leads_updated_at_id"), table_name="leads")
    op.drop_index(op.f("ix_leads_temperature"), table_name="leads")
    op.drop_index(op.f("ix_leads_stage"), table_name="leads")
    op.drop_index(op.f("ix_leads_source_created_at"), table_name="leads")
    op.drop_index(op.f("ix_leads_score_id"), table_name="leads")
    op.drop_index(op.f("ix_leads_owner_team"), table_name="leads")
    op.drop_index(op.f("ix_leads_created_at_id"), table_name="leads")
    op.drop_table("leads")
    op.drop_index(op.f("ix_idempotency_keys_created_at"), table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
