"""A trigram index for `search`, where the server has pg_trgm.

`search` is `ILIKE '%term%'` on company name, contact name and email (SEMANTICS.md: a
case-insensitive substring, `%` and `_` literal), which no b-tree serves: without an index every
row is read. A GIN index with `gin_trgm_ops` on the three columns serves each `ILIKE` of a term of
three characters or more (Postgres rechecks the rows, so results are the same with or without it).

pg_trgm is a contrib extension: Debian's and most packaged servers have it, the embedded Postgres
of `pgserver` (tests without DATABASE_URL) does not. Where it is missing the migration creates
nothing and `search` reads every row as before; the schema is otherwise the same. The index is
not declared in `tables.py` for that reason. (pg_trgm is a trusted extension: the database owner
may create it.)

Revision ID: e1f7a2b9c5d3
Revises: d6c3a6733493
Create Date: 2026-11-29 08:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e1f7a2b9c5d3"
down_revision: str | None = "d6c3a6733493"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_leads_search_trgm"


def _trigrams_available() -> bool:
    query = sa.text("SELECT EXISTS (SELECT FROM pg_available_extensions WHERE name = 'pg_trgm')")
    return bool(op.get_bind().execute(query).scalar_one())


def upgrade() -> None:
    if not _trigrams_available():
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute(
        f"CREATE INDEX {INDEX} ON leads USING gin "
        "(company_name gin_trgm_ops, contact_name gin_trgm_ops, contact_email gin_trgm_ops)"
    )


def downgrade() -> None:
    op.execute(f"DROP INDEX IF EXISTS {INDEX}")
