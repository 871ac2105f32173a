"""`lead_search`: each lead's searched columns, lower-cased, with its source and stage, in a narrow table.

A count with `search` (`totalCount`, a filtered `pipeline`) must visit every row whose match the
index cannot decide alone: the trigram index on leads (e1f7a2b9c5d3) finds the candidates in some
10 ms, then Postgres fetches and rechecks them in the wide leads rows (1.2 KB a row). At 1,000,000
leads, `sakura` (about 50,000 matches) rechecks some 44,000 pages of the 1.2 GB table: 250 to
310 ms with pg_trgm, 1.9 to 2.8 s without it (a sequential scan of leads). The same count on
`lead_search` takes 33 to 50 ms with its own trigram index and 137 to 159 ms without one; with
`sources` or `stages` besides, 31 to 49 ms and 52 to 90 ms, where a fetch of each matching lead's
wide row for its source or stage took 200 to 380 ms (bench/RESULTS.md, session 7).

The searched columns hold `lower()` of company_name, contact_name and contact_email. In a UTF8
database `x ILIKE p` is `lower(x) LIKE lower(p)` (Postgres' Generic_Text_IC_like lowercases both),
so the counts match `lower(column) LIKE lower(:pattern)` here and mean what the page's `ILIKE` on
leads means. Three columns, not one joined text, so that a term never matches across two fields.

Triggers on leads keep the table in step in the writer's transaction:
- after an insert, the lead's row (`lead_search_keep`);
- after an update that changes a searched column, those columns (the same function: its ON
  CONFLICT branch sets only them);
- after an update that changes the stage, the stage (`lead_search_stage`). No index of
  `lead_search` covers stage, so that update can be HOT; an index on it would cost every
  transition an index entry.
Each update trigger has a WHEN clause: the repositories' updates set every column, and cost only
that test when nothing it watches changed. `source` never changes after a lead is created.
CREATE TRIGGER locks leads against writers until the migration commits, so the rows copied here
are exact. The pages keep filtering leads itself (its index serves `ORDER BY ... LIMIT` with the
search as a filter); only counts read `lead_search`. Where the server has pg_trgm (the same test
as e1f7a2b9c5d3), a GIN trigram index on the searched columns; like leads' own, it is not declared
in `tables.py`.

Revision ID: a4c7e9b2d5f8
Revises: f3a9c1d7e2b4
Create Date: 2026-11-29 19:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a4c7e9b2d5f8"
down_revision: str | None = "f3a9c1d7e2b4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_lead_search_trgm"
_SEARCHED = "company_name, contact_name, contact_email"


def _trigrams_available() -> bool:
    query = sa.text("SELECT EXISTS (SELECT FROM pg_available_extensions WHERE name = 'pg_trgm')")
    return bool(op.get_bind().execute(query).scalar_one())


def _after_update_of(columns: str, trigger: str, function: str) -> str:
    """The trigger `trigger`, running `function` after an update of leads that changed one of `columns`."""
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in columns.split(", "))
    return (
        f"CREATE TRIGGER {trigger} AFTER UPDATE OF {columns} ON leads FOR EACH ROW "
        f"WHEN ({changed}) EXECUTE FUNCTION {function}()"
    )


def upgrade() -> None:
    op.create_table(
        "lead_search",
        sa.Column("lead_id", sa.Uuid(), nullable=False),
        sa.Column("company", sa.Text(), nullable=False),
        sa.Column("contact", sa.Text(), nullable=False),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name=op.f("fk_lead_search_lead_id_leads"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("lead_id", name=op.f("pk_lead_search")),
    )
    op.execute(
        """CREATE FUNCTION lead_search_keep() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO lead_search (lead_id, company, contact, email, source, stage)
            VALUES (NEW.id, lower(NEW.company_name), lower(NEW.contact_name), lower(NEW.contact_email),
                    NEW.source, NEW.stage)
            ON CONFLICT (lead_id) DO UPDATE
            SET company = EXCLUDED.company, contact = EXCLUDED.contact, email = EXCLUDED.email;
            RETURN NULL;
        END $$"""
    )
    op.execute(
        """CREATE FUNCTION lead_search_stage() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE lead_search SET stage = NEW.stage WHERE lead_id = NEW.id;
            RETURN NULL;
        END $$"""
    )
    op.execute(
        "CREATE TRIGGER lead_search_on_insert AFTER INSERT ON leads FOR EACH ROW EXECUTE FUNCTION lead_search_keep()"
    )
    op.execute(_after_update_of(_SEARCHED, "lead_search_on_update", "lead_search_keep"))
    op.execute(_after_update_of("stage", "lead_search_on_stage", "lead_search_stage"))
    op.execute(
        """INSERT INTO lead_search (lead_id, company, contact, email, source, stage)
        SELECT id, lower(company_name), lower(contact_name), lower(contact_email), source, stage FROM leads"""
    )
    if _trigrams_available():
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(
            f"CREATE INDEX {INDEX} ON lead_search USING gin "
            "(company gin_trgm_ops, contact gin_trgm_ops, email gin_trgm_ops)"
        )
    op.execute("ANALYZE lead_search")


def downgrade() -> None:
    op.execute("DROP TRIGGER lead_search_on_stage ON leads")
    op.execute("DROP TRIGGER lead_search_on_update ON leads")
    op.execute("DROP TRIGGER lead_search_on_insert ON leads")
    op.execute("DROP FUNCTION lead_search_stage()")
    op.execute("DROP FUNCTION lead_search_keep()")
    op.drop_table("lead_search")  # and its trigram index, if any
