"""The pipeline board and the channel funnel over HTTP.

Other tests commit leads too, so counts are taken within unique sources, and funnel windows start at a
moment just before this test's leads were created.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from tests.api.operations import create_lead, lead_in_stage, lead_state, unique_source
from tests.conftest import GraphQLClient

STAGES = ["COLD", "WARM", "MQL", "SQL", "OPPORTUNITY", "WON", "LOST", "RECYCLED"]
PIPELINE = "query($filter: LeadFilter) { pipeline(filter: $filter) { total stages { stage count } } }"
FUNNEL = """
query($since: DateTime, $until: DateTime) {
  channelFunnel(since: $since, until: $until) {
    source leads reachedMql reachedOpportunity won mqlRate opportunityRate winRate
  }
}
"""


async def pipeline(gql: GraphQLClient, **where: Any) -> dict[str, Any]:
    board: dict[str, Any] = (await gql.data(PIPELINE, filter=where))["pipeline"]
    return board


async def funnel(gql: GraphQLClient, since: datetime | str | None, until: datetime | str | None = None) -> list[Any]:
    def text(moment: datetime | str | None) -> str | None:
        return moment.isoformat() if isinstance(moment, datetime) else moment

    rows: list[Any] = (await gql.data(FUNNEL, since=text(since), until=text(until)))["channelFunnel"]
    return rows


def row_of(rows: list[dict[str, Any]], source: str) -> dict[str, Any] | None:
    return next((row for row in rows if row["source"] == source), None)


async def created_at(gql: GraphQLClient, lead: dict[str, Any]) -> str:
    stamp: str = (await lead_state(gql, lead["id"]))["createdAt"]
    return stamp


class TestPipeline:
    async def test_lists_all_eight_stages_in_order_with_zeros(self, gql: GraphQLClient) -> None:
        board = await pipeline(gql, sources=[unique_source()])
        assert board == {"total": 0, "stages": [{"stage": stage, "count": 0} for stage in STAGES]}

    async def test_counts_leads_per_stage_and_total_is_their_sum(self, gql: GraphQLClient) -> None:
        source = unique_source()
        wanted = {"COLD": 2, "WARM": 1, "MQL": 1, "SQL": 1, "OPPORTUNITY": 0, "WON": 1, "LOST": 1, "RECYCLED": 1}
        for stage, count in wanted.items():
            for _ in range(count):
                await lead_in_stage(gql, stage, source=source)
        board = await pipeline(gql, sources=[source])
        assert board["stages"] == [{"stage": stage, "count": wanted[stage]} for stage in STAGES]
        assert board["total"] == 8

    async def test_counts_only_the_filtered_leads(self, gql: GraphQLClient) -> None:
        source = unique_source()
        for stage in ("COLD", "MQL", "WON", "LOST"):
            await lead_in_stage(gql, stage, source=source)
        board = await pipeline(gql, sources=[source], stages=["WON", "LOST", "COLD"], temperatures=["HOT"])
        counts = {row["stage"]: row["count"] for row in board["stages"]}
        assert counts == {stage: int(stage in ("WON", "LOST")) for stage in STAGES}
        assert board["total"] == 2

    async def test_total_is_the_sum_of_stages_without_a_filter(self, gql: GraphQLClient) -> None:
        await create_lead(gql)
        board = (await gql.data("{ pipeline { total stages { stage count } } }"))["pipeline"]
        assert [row["stage"] for row in board["stages"]] == STAGES
        assert board["total"] == sum(row["count"] for row in board["stages"]) >= 1


class TestChannelFunnel:
    async def test_counts_conversion_per_source_over_the_window(self, gql: GraphQLClient) -> None:
        since = datetime.now(UTC) - timedelta(seconds=1)
        busy, quiet = unique_source(), unique_source()
        for stage in ("COLD", "MQL", "RECYCLED", "WON", "LOST"):
            await lead_in_stage(gql, stage, source=busy)
        for stage in ("COLD", "WARM"):
            await lead_in_stage(gql, stage, source=quiet)

        rows = await funnel(gql, since, datetime.now(UTC) + timedelta(minutes=1))
        assert row_of(rows, busy) == {
            "source": busy,
            "leads": 5,
            "reachedMql": 4,
            "reachedOpportunity": 2,
            "won": 1,
            "mqlRate": pytest.approx(0.8),
            "opportunityRate": pytest.approx(0.4),
            "winRate": pytest.approx(0.2),
        }
        assert row_of(rows, quiet) == {
            "source": quiet,
            "leads": 2,
            "reachedMql": 0,
            "reachedOpportunity": 0,
            "won": 0,
            "mqlRate": 0.0,
            "opportunityRate": 0.0,
            "winRate": 0.0,
        }

    async def test_lists_most_leads_first(self, gql: GraphQLClient) -> None:
        since = datetime.now(UTC) - timedelta(seconds=1)
        smaller, larger = unique_source(), unique_source()
        await create_lead(gql, source=smaller)
        for _ in range(3):
            await create_lead(gql, source=larger)
        rows = await funnel(gql, since)
        sources = [row["source"] for row in rows]
        assert sources.index(larger) < sources.index(smaller)
        assert [row["leads"] for row in rows] == sorted((row["leads"] for row in rows), reverse=True)

    async def test_a_recycled_former_mql_still_counts_as_reached(self, gql: GraphQLClient) -> None:
        since = datetime.now(UTC) - timedelta(seconds=1)
        source = unique_source()
        recycled = await lead_in_stage(gql, "RECYCLED", source=source)
        assert recycled["stage"] == "RECYCLED"
        row = row_of(await funnel(gql, since), source)
        assert row is not None
        assert (row["leads"], row["reachedMql"], row["mqlRate"]) == (1, 1, 1.0)

    async def test_a_lost_opportunity_still_counts_as_reached_but_not_won(self, gql: GraphQLClient) -> None:
        since = datetime.now(UTC) - timedelta(seconds=1)
        source = unique_source()
        await lead_in_stage(gql, "LOST", source=source)
        row = row_of(await funnel(gql, since), source)
        assert row is not None
        assert (row["reachedOpportunity"], row["opportunityRate"], row["won"], row["winRate"]) == (1, 1.0, 0, 0.0)

    async def test_window_includes_since_and_excludes_until(self, gql: GraphQLClient) -> None:
        source = unique_source()
        at = [await created_at(gql, await create_lead(gql, source=source)) for _ in range(3)]
        moments = [datetime.fromisoformat(stamp) for stamp in at]
        assert moments[0] < moments[1] < moments[2]

        def leads_in(rows: list[dict[str, Any]]) -> int:
            row = row_of(rows, source)
            return row["leads"] if row else 0

        assert leads_in(await funnel(gql, at[1], at[2])) == 1
        assert leads_in(await funnel(gql, at[0], at[2])) == 2
        assert leads_in(await funnel(gql, at[1])) == 2
        assert leads_in(await funnel(gql, None, at[1])) == 1
        assert leads_in(await funnel(gql, at[0], at[0])) == 0

    async def test_since_in_another_offset_is_the_same_instant(self, gql: GraphQLClient) -> None:
        source = unique_source()
        await create_lead(gql, source=source)  # before the window
        since = datetime.fromisoformat(await created_at(gql, await create_lead(gql, source=source)))
        tokyo = since.astimezone(timezone(timedelta(hours=9))).isoformat()
        assert tokyo.endswith("+09:00")
        row = row_of(await funnel(gql, tokyo), source)
        assert row is not None
        assert row["leads"] == 1

    async def test_leads_created_outside_the_window_are_not_listed(self, gql: GraphQLClient) -> None:
        source = unique_source()
        await create_lead(gql, source=source)
        future = datetime.now(UTC) + timedelta(hours=1)
        assert row_of(await funnel(gql, future), source) is None
        assert row_of(await funnel(gql, None, datetime(2020, 1, 1, tzinfo=UTC)), source) is None
