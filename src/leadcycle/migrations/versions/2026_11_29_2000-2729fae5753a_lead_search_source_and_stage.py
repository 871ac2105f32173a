"""`lead_search` holds each lead's source and stage too, so counts filtered by them read it alone.

With `search` and `sources` or `stages` (`totalCount`), or a `pipeline` with `search`, the counts
of a4c7e9b2d5f8 took the leads whose `lead_search` row matches and then fetched those leads' wide
rows by primary key for their source or stage: about 50,000 fetches for `sakura` at 1,000,000
leads, 182 to 252 ms with pg_trgm (bench/RESULTS.md, session 7). With both columns here, such a
count is one pass over the matching rows of `lead_search`: at 1,000,000 leads `sakura` with a
source 285 to 35 ms, `pipeline` with it 200 to 49 ms with pg_trgm, 370 to 77 and 214 to 90 ms
without (bench/RESULTS.md, session 7). Other filters keep reading the leads whose row matches.

`source` never changes after a lead is created (UpdateLead has no source; the repositories'
updates write it back unchanged), so the insert trigger's function writes it and nothing else has
to. `stage` changes with every transition: a trigger of its own, after an update of stage that
changed it (the WHEN clause; the other writes cost only that test), sets it in the lead's row.
No index of `lead_search` covers stage or source, so that update can be HOT (no index entry
written) where the page has room; an index on either would cost every transition one.
The insert function's ON CONFLICT branch, which the update of a searched column takes, leaves
source and stage alone: the stage trigger keeps stage, and source does not move.

The table is emptied and refilled from leads rather than updated in place, which would leave a
dead version of every row behind; leads is locked against writers first (SHARE), so the rows are
exact when the migration commits. The trigram index, where there is one, is dropped for the fill
and built again after it.

Revision ID: 2729fae5753a
Revises: a4c7e9b2d5f8
Create Date: 2026-11-29 20:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2729fae5753a"
down_revision: str | None = "a4c7e9b2d5f8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_lead_search_trgm"
_TRIGRAMS = (
    f"CREATE INDEX {INDEX} ON lead_search USING gin (company gin_trgm_ops, contact gin_trgm_ops, email gin_trgm_ops)"
)


def _keep(columns: str, values: str) -> str:
    """lead_search_keep(): insert the new lead's row; on conflict (an update) set only the searched columns."""
    return f"""CREATE OR REPLACE FUNCTION lead_search_keep() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO lead_search ({columns}) VALUES ({values})
            ON CONFLICT (lead_id) DO UPDATE
            SET company = EXCLUDED.company, contact = EXCLUDED.contact, email = EXCLUDED.email;
            RETURN NULL;
        END $$"""


_SEARCHED = "lead_id, company, contact, email"
_SEARCHED_NEW = "NEW.id, lower(NEW.company_name), lower(NEW.contact_name), lower(NEW.contact_email)"


def upgrade() -> None:
    op.execute("LOCK TABLE leads IN SHARE MODE")
    indexed = op.get_bind().execute(sa.text(f"SELECT to_regclass('{INDEX}') IS NOT NULL")).scalar_one()
    op.execute(f"DROP INDEX IF EXISTS {INDEX}")
    op.execute("TRUNCATE lead_search")
    op.add_column("lead_search", sa.Column("source", sa.String(64), nullable=False))
    op.add_column("lead_search", sa.Column("stage", sa.String(16), nullable=False))
    op.execute(_keep(f"{_SEARCHED}, source, stage", f"{_SEARCHED_NEW}, NEW.source, NEW.stage"))
    op.execute(
        """CREATE FUNCTION lead_search_stage() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE lead_search SET stage = NEW.stage WHERE lead_id = NEW.id;
            RETURN NULL;
        END $$"""
    )
    op.execute(
        "CREATE TRIGGER lead_search_on_stage AFTER UPDATE OF stage ON leads FOR EACH ROW "
        "WHEN (OLD.stage IS DISTINCT FROM NEW.stage) EXECUTE FUNCTION lead_search_stage()"
    )
    op.execute(
        """INSERT INTO lead_search (lead_id, company, contact, email, source, stage)
        SELECT id, lower(company_name), lower(contact_name), lower(contact_email), source, stage FROM leads"""
    )
    if indexed:
        op.execute(_TRIGRAMS)
    op.execute("ANALYZE lead_search")


def downgrade() -> None:
    op.execute("DROP TRIGGER lead_search_on_stage ON leads")
    op.execute("DROP FUNCTION lead_search_stage()")
    op.execute(_keep(_SEARCHED, _SEARCHED_NEW))
    op.drop_column("lead_search", "stage")
    op.drop_column("lead_search", "source")
