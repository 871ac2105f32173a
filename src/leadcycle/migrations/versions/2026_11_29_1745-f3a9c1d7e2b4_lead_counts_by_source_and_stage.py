"""Kept lead counts by (source, stage, reached MQL, reached opportunity), replacing the per-stage ones.

`pipeline` sums them by stage as before; `channelFunnel` over all time sums them by source
instead of reading one index entry per lead. Recounted under a SHARE lock on `leads`, which keeps
writers out until the migration commits, so the totals are exact.

Revision ID: f3a9c1d7e2b4
Revises: e1f7a2b9c5d3
Create Date: 2026-11-29 17:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f3a9c1d7e2b4"
down_revision: str | None = "e1f7a2b9c5d3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEY = ("source", "stage", "reached_mql", "reached_opportunity")


def _key_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("reached_mql", sa.Boolean(), nullable=False),
        sa.Column("reached_opportunity", sa.Boolean(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "lead_counts",
        *_key_columns(),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(*_KEY, name=op.f("pk_lead_counts")),
    )
    op.create_table(
        "lead_count_deltas",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        *_key_columns(),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_count_deltas")),
    )
    op.execute("LOCK TABLE leads IN SHARE MODE")
    op.execute(
        """INSERT INTO lead_counts (source, stage, reached_mql, reached_opportunity, count)
        SELECT source, stage, reached_mql_at IS NOT NULL, reached_opportunity_at IS NOT NULL, count(*)
        FROM leads GROUP BY 1, 2, 3, 4"""
    )
    op.drop_table("stage_count_deltas")
    op.drop_table("stage_counts")


def downgrade() -> None:
    op.create_table(
        "stage_counts",
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("stage", name=op.f("pk_stage_counts")),
    )
    op.create_table(
        "stage_count_deltas",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stage_count_deltas")),
    )
    op.execute("LOCK TABLE leads IN SHARE MODE")
    op.execute("INSERT INTO stage_counts (stage, count) SELECT stage, count(*) FROM leads GROUP BY stage")
    op.drop_table("lead_count_deltas")
    op.drop_table("lead_counts")
