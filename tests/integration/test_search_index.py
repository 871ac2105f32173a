"""`search` is served by the trigram index where the server has pg_trgm (migration e1f7a2b9c5d3).

The test plans the read side's own statements, so a change to the predicate that the index cannot
serve (lower(), unaccent(), another column) fails here. The embedded Postgres has no pg_trgm: there
the migration creates nothing, and the test says so by skipping.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Select, func, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncEngine

from leadcycle.persistence.queries import LeadFilter, filter_conditions
from leadcycle.persistence.tables import leads

INDEX = "ix_leads_search_trgm"


async def plan(engine: AsyncEngine, query: Select[tuple[int]]) -> str:
    """The plan of `query` with sequential scans priced out, as on a table too big to read whole."""
    compiled = query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    async with engine.connect() as connection:
        if not (await connection.execute(text(f"SELECT to_regclass('{INDEX}')"))).scalar_one():
            pytest.skip("this server has no pg_trgm: the migration created no trigram index")
        await connection.execute(text("SET LOCAL enable_seqscan = off"))
        rows = (await connection.execute(text(f"EXPLAIN {compiled}"))).scalars()
        return "\n".join(rows)


class TestSearchIndex:
    @pytest.mark.parametrize("term", ["フーズ", "Tanaka", "example.co.jp", "100%_off"])
    async def test_each_searched_column_is_read_through_the_index(self, engine: AsyncEngine, term: str) -> None:
        query = select(func.count()).select_from(leads).where(*filter_conditions(LeadFilter(search=term)))

        planned = await plan(engine, query)

        assert planned.count(f"Bitmap Index Scan on {INDEX}") == 3, planned
        assert "Seq Scan" not in planned, planned
