"""Change-log retention: when each change was logged, and how far pruning has gone.

`logged_at` takes the database's clock at the write (rows already there get the time of this
migration, so they are kept a full retention period). `change_log_horizon` holds one row: the
newest position retention has deleted, (0, 0) until the first pruning.

Revision ID: 6397d81edf33
Revises: 1fe70e226cbe
Create Date: 2026-11-23 19:59:37.399536
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "6397d81edf33"
down_revision: str | None = "1fe70e226cbe"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    horizon = op.create_table(
        "change_log_horizon",
        sa.Column("id", sa.SmallInteger(), nullable=False),
        sa.Column("xid", sa.BigInteger(), nullable=False),
        sa.Column("change_id", sa.BigInteger(), nullable=False),
        sa.Column("pruned_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("id = 1", name=op.f("ck_change_log_horizon_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_log_horizon")),
    )
    op.bulk_insert(horizon, [{"id": 1, "xid": 0, "change_id": 0, "pruned_at": None}])
    # now() is stable, so Postgres stores it once as the default of existing rows: no table rewrite.
    op.add_column(
        "lead_changes",
        sa.Column("logged_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    )
    op.create_index(op.f("ix_lead_changes_logged_at"), "lead_changes", ["logged_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_lead_changes_logged_at"), table_name="lead_changes")
    op.drop_column("lead_changes", "logged_at")
    op.drop_table("change_log_horizon")
