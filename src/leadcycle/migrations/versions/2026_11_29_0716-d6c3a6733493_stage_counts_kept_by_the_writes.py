"""Stage counts kept by the writes: folded totals per stage, and the deltas appended since.

The totals start as the leads counted under a SHARE lock on `leads`, which keeps writers out
until the migration commits, so they are exact.

Revision ID: d6c3a6733493
Revises: c4d8e2f1a7b3
Create Date: 2026-11-29 07:16:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d6c3a6733493"
down_revision: str | None = "c4d8e2f1a7b3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
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


def downgrade() -> None:
    op.drop_table("stage_count_deltas")
    op.drop_table("stage_counts")
