"""Webhook secret rotation: the previous secret, which also signs posts until it expires.

Revision ID: c4d8e2f1a7b3
Revises: 53a960de0773
Create Date: 2026-11-29 06:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c4d8e2f1a7b3"
down_revision: str | None = "53a960de0773"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("webhook_endpoints", sa.Column("previous_secret", sa.Text(), nullable=True))
    op.add_column(
        "webhook_endpoints", sa.Column("previous_secret_expires_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_check_constraint(
        op.f("ck_webhook_endpoints_previous_secret_with_expiry"),
        "webhook_endpoints",
        "(previous_secret IS NULL) = (previous_secret_expires_at IS NULL)",
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_webhook_endpoints_previous_secret_with_expiry"), "webhook_endpoints", type_="check")
    op.drop_column("webhook_endpoints", "previous_secret_expires_at")
    op.drop_column("webhook_endpoints", "previous_secret")
