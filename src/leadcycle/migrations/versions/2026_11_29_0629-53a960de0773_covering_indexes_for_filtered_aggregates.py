"""Covering indexes for filtered aggregates: counts by source or temperature, the funnel over a period.

Each lets Postgres answer from the index alone (index-only scans) instead of visiting the rows:
`pipeline(filter: {sources})` and `totalCount` by source read (source, stage); by temperature and
minimum score, (temperature, score) with the stage; `channelFunnel(since:, until:)` reads the
period's range of created_at with the funnel's columns. (temperature, score) replaces the index
on temperature alone, so writes maintain one index more than before, not two. At 1,000,000
leads, these aggregates went from 235-390 ms to 10-25 ms (bench/RESULTS.md).

Revision ID: 53a960de0773
Revises: b7e3c1a9d4f2
Create Date: 2026-11-29 06:29:47.120415
"""

from collections.abc import Sequence

from alembic import op

revision: str = "53a960de0773"
down_revision: str | None = "b7e3c1a9d4f2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNNEL = ["source", "stage", "reached_mql_at", "reached_opportunity_at"]


def upgrade() -> None:
    op.create_index(op.f("ix_leads_source_stage"), "leads", ["source", "stage"])
    op.create_index(op.f("ix_leads_temperature_score"), "leads", ["temperature", "score"], postgresql_include=["stage"])
    op.drop_index(op.f("ix_leads_temperature"), table_name="leads")
    op.create_index(op.f("ix_leads_created_at"), "leads", ["created_at"], postgresql_include=FUNNEL)


def downgrade() -> None:
    op.drop_index(op.f("ix_leads_created_at"), table_name="leads")
    op.create_index(op.f("ix_leads_temperature"), "leads", ["temperature"])
    op.drop_index(op.f("ix_leads_temperature_score"), table_name="leads")
    op.drop_index(op.f("ix_leads_source_stage"), table_name="leads")
