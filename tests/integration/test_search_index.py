"""`search`: the pages on leads' trigram index, the counts on `lead_search` and its own.

The trigram indexes exist where the server has pg_trgm (migrations e1f7a2b9c5d3 and a4c7e9b2d5f8).
The tests plan the read side's own conditions, so a change to a predicate that the index cannot
serve (lower() on the leads side, unaccent(), another column) fails here. The embedded Postgres has
no pg_trgm: there the migrations create no index, and these tests say so by skipping.

`lead_search` itself exists everywhere: one row per lead holding lower() of its searched columns and
its source and stage, kept by triggers on leads. The last test checks that after creations,
transitions (by an activity and by an event) and updates of every kind.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import Select, func, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncEngine

from leadcycle.domain.commands import CreateLead, RecordActivity, TransitionLead, UpdateLead
from leadcycle.domain.model import Company, Contact
from leadcycle.domain.stages import LeadEvent, Stage
from leadcycle.domain.use_cases import LeadUseCases
from leadcycle.persistence import driver
from leadcycle.persistence.queries import (
    LeadFilter,
    _count_statement,
    _stage_count_statement,
    search_match,
    search_on_leads,
)
from leadcycle.persistence.tables import lead_search, leads
from leadcycle.persistence.unit_of_work import unit_of_work_factory
from tests.api.operations import unique

TERMS = ["フーズ", "Tanaka", "example.co.jp", "100%_off"]


async def plan(engine: AsyncEngine, index: str, query: Select[tuple[int]]) -> str:
    """The plan of `query` with sequential scans priced out, as on a table too big to read whole."""
    compiled = query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    async with engine.connect() as connection:
        if not (await connection.execute(text(f"SELECT to_regclass('{index}')"))).scalar_one():
            pytest.skip("this server has no pg_trgm: the migrations created no trigram index")
        await connection.execute(text("SET LOCAL enable_seqscan = off"))
        rows = (await connection.execute(text(f"EXPLAIN {compiled}"))).scalars()
        return "\n".join(rows)


class TestSearchIndexes:
    @pytest.mark.parametrize("term", TERMS)
    async def test_the_page_reads_each_searched_column_through_leads_index(
        self, engine: AsyncEngine, term: str
    ) -> None:
        query = select(func.count()).select_from(leads).where(search_on_leads(term))

        planned = await plan(engine, "ix_leads_search_trgm", query)

        assert planned.count("Bitmap Index Scan on ix_leads_search_trgm") == 3, planned
        assert "Seq Scan" not in planned, planned

    @pytest.mark.parametrize("term", TERMS)
    async def test_the_count_reads_each_column_through_lead_search_index(self, engine: AsyncEngine, term: str) -> None:
        query = select(func.count()).select_from(lead_search).where(search_match(term))

        planned = await plan(engine, "ix_lead_search_trgm", query)

        assert planned.count("Bitmap Index Scan on ix_lead_search_trgm") == 3, planned
        assert "Seq Scan" not in planned, planned


class TestWhatCountsRead:
    @pytest.mark.parametrize(
        ("where", "read"),
        [
            (LeadFilter(search="tanaka"), {"lead_search"}),
            (LeadFilter(search="tanaka", sources=("web", "seo")), {"lead_search"}),
            (LeadFilter(search="tanaka", stages=(Stage.MQL, Stage.SQL), sources=("web",)), {"lead_search"}),
            (LeadFilter(search="tanaka", min_score=50), {"leads", "lead_search"}),
            (LeadFilter(search="tanaka", owner_team="east", stages=(Stage.MQL,)), {"leads", "lead_search"}),
            (LeadFilter(sources=("web",), stages=(Stage.MQL,)), {"leads"}),
        ],
    )
    async def test_counts_read_lead_search_alone_where_it_holds_every_field_of_a_search(
        self, engine: AsyncEngine, where: LeadFilter, read: set[str]
    ) -> None:
        for statement in (_count_statement(where), _stage_count_statement(where)):
            async with driver.connection(engine) as connection:
                rows = await connection.fetch(f"EXPLAIN {statement.sql}", *statement.arguments())
            planned = "\n".join(row[0] for row in rows)

            assert set(re.findall(r"\bon (leads|lead_search)\b", planned)) == read, planned


MISMATCHES = """
    SELECT count(*) FROM leads l FULL JOIN lead_search s ON s.lead_id = l.id
    WHERE l.id IS NULL OR s.lead_id IS NULL OR s.company IS DISTINCT FROM lower(l.company_name)
       OR s.contact IS DISTINCT FROM lower(l.contact_name) OR s.email IS DISTINCT FROM lower(l.contact_email)
       OR s.source IS DISTINCT FROM l.source OR s.stage IS DISTINCT FROM l.stage
"""


class TestLeadSearchRows:
    async def test_every_lead_has_one_row_of_its_lowered_columns_after_each_kind_of_write(
        self, engine: AsyncEngine
    ) -> None:
        cases = LeadUseCases(unit_of_work_factory(engine), lambda: datetime.now(UTC))
        created = await cases.create(
            CreateLead(Company(unique("Mixed ÄBC")), Contact(unique("Yamada"), email="Y.Mixed@Example.JP"), "web"),
            "test",
        )
        lead_id = str(created.id)
        await cases.update(UpdateLead(lead_id, company={"name": unique("Renamed İSTANBUL")}), "test")
        await cases.update(UpdateLead(lead_id, contact={"name": unique("SATO"), "email": None}), "test")
        await cases.update(UpdateLead(lead_id, company={"industry": "Retail"}), "test")
        await cases.record_activity(RecordActivity(lead_id, "demo_request"), "test")  # COLD to MQL
        await cases.update(UpdateLead(lead_id, company={"name": unique("After MQL")}), "test")
        await cases.transition(TransitionLead(lead_id, LeadEvent.RECYCLE, reason="Not now"), "test")
        async with engine.connect() as connection:
            row = (await connection.execute(select(lead_search).where(lead_search.c.lead_id == created.id))).one()
            mismatches = (await connection.execute(text(MISMATCHES))).scalar_one()

        assert (row.company.split()[:2], row.contact.split()[0], row.email) == (["after", "mql"], "sato", None)
        assert (row.source, row.stage) == ("web", "RECYCLED")
        assert mismatches == 0
