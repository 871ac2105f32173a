"""`totalCount` and `pipeline` with `search` count exactly the leads the pages find.

The pages filter leads with ILIKE; the counts read `lead_search`, lower()ed copies of the searched
columns with each lead's source and stage, kept by triggers on leads (migration a4c7e9b2d5f8).
Each check pages through every match and compares: this keeps the two definitions from drifting,
on servers with and without pg_trgm. Terms carry a token no other test uses, since other tests
commit leads too.
"""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import pytest

from tests.api.operations import UPDATE_LEAD, create_lead, lead_in_stage, leads, transition, unique_source
from tests.conftest import GraphQLClient

COUNTS = """
query($filter: LeadFilter) {
  leads(filter: $filter, first: 0) { totalCount }
  pipeline(filter: $filter) { total stages { stage count } }
}
"""


async def found(gql: GraphQLClient, **where: Any) -> dict[str, str]:
    """Every lead the pages list for `where`, with its stage, paging through all of them."""
    stages: dict[str, str] = {}
    after = None
    while True:
        page = await leads(gql, filter=where, first=2, after=after)
        stages |= {edge["node"]["id"]: edge["node"]["stage"] for edge in page["edges"]}
        if not page["pageInfo"]["hasNextPage"]:
            return stages
        after = page["pageInfo"]["endCursor"]


async def assert_counted(gql: GraphQLClient, expected: set[str], **where: Any) -> None:
    """The pages find exactly `expected`; totalCount and the pipeline count exactly what they find."""
    listed = await found(gql, **where)
    assert set(listed) == expected, where
    counted = await gql.data(COUNTS, filter=where)
    assert counted["leads"]["totalCount"] == len(expected), where
    board = {row["stage"]: row["count"] for row in counted["pipeline"]["stages"] if row["count"]}
    assert (board, counted["pipeline"]["total"]) == (dict(Counter(listed.values())), len(expected)), where


async def update(gql: GraphQLClient, lead_id: str, **patch: Any) -> None:
    result = (await gql.data(UPDATE_LEAD, input={"leadId": lead_id, **patch}))["updateLead"]
    assert result["__typename"] == "LeadPayload", result


def token() -> str:
    return uuid.uuid4().hex[:10]


def full_width(ascii_letters: str) -> str:
    """The full-width forms of ASCII letters, as Japanese text often writes Latin names."""
    return "".join(chr(ord(letter) + 0xFEE0) for letter in ascii_letters)


class TestSearchCounts:
    async def test_a_created_lead_is_counted_at_once(self, gql: GraphQLClient) -> None:
        mark = token()
        lead = await create_lead(gql, name=f"Fresh {mark} KK")
        await assert_counted(gql, {lead["id"]}, search=mark)

    async def test_counts_case_insensitive_matches_on_company_contact_and_email(self, gql: GraphQLClient) -> None:
        mark = token()
        company = await create_lead(gql, name=f"Sakura {mark} Systems")
        contact = await create_lead(gql, contact={"name": f"Yamada {mark}"})
        email = await create_lead(gql, contact={"name": "Suzuki", "email": f"suzuki.{mark}@example.jp"})
        await create_lead(gql, name=f"Sakura {mark[:-1]} Systems")  # a near miss
        everyone = {company["id"], contact["id"], email["id"]}
        for term in (mark, mark.upper(), f"{mark[:5]}{mark[5:].upper()}"):
            await assert_counted(gql, everyone, search=term)
        await assert_counted(gql, {company["id"]}, search=f"sAKURA {mark.upper()} sYSTEMS")
        await assert_counted(gql, {contact["id"]}, search=f"YAMADA {mark}")
        await assert_counted(gql, {email["id"]}, search=f"SUZUKI.{mark}@")

    async def test_counts_japanese_and_full_width_terms(self, gql: GraphQLClient) -> None:
        mark = token()
        lead = await create_lead(gql, name=f"株式会社{full_width('SAKURA')}{mark}システムズ")
        other = await create_lead(gql, name=f"さくら{mark}フーズ", contact={"name": "田中 太郎"})
        await assert_counted(gql, {lead["id"]}, search=f"{full_width('sakura')}{mark.upper()}シ")
        await assert_counted(gql, {lead["id"]}, search=f"{mark}システムズ")
        await assert_counted(gql, {other["id"]}, search=f"さくら{mark}")
        await assert_counted(gql, {lead["id"], other["id"]}, search=mark)
        await assert_counted(gql, set(), search=f"さくら{mark}システムズ")

    @pytest.mark.parametrize(
        ("term", "literal_only"),
        [
            ("{mark} Sale 50%_off", True),
            ("{mark} sale 50%", True),  # as a wildcard, `%` would match the decoy too
            ("{mark} SALE 50_", False),  # and `_` both
            ("{mark} sale 50%_off \\ deal", True),
        ],
    )
    async def test_counts_percent_underscore_and_backslash_literally(
        self, gql: GraphQLClient, term: str, literal_only: bool
    ) -> None:
        mark = token()
        literal = await create_lead(gql, name=f"{mark} Sale 50%_off \\ deal")
        await create_lead(gql, name=f"{mark} Sale 50xyoff  deal")
        await assert_counted(gql, {literal["id"]} if literal_only else set(), search=term.format(mark=mark))

    async def test_search_with_other_filters_counts_what_the_pages_find(self, gql: GraphQLClient) -> None:
        mark, source = token(), unique_source()
        inside = [await create_lead(gql, source=source, name=f"Kabu {mark} {n}") for n in range(3)]
        await create_lead(gql, name=f"Kabu {mark} elsewhere")
        await create_lead(gql, source=source, name="Kabu without the mark")
        await assert_counted(gql, {lead["id"] for lead in inside}, sources=[source], search=mark.upper())
        await assert_counted(gql, {lead["id"] for lead in inside}, sources=[source], stages=["COLD"], search=mark)
        await assert_counted(gql, set(), sources=[source], stages=["MQL"], search=mark)
        await assert_counted(gql, {inside[0]["id"]}, sources=[source], search=f"{mark} 0")


class TestSearchCountsWithSourcesAndStages:
    async def test_counts_search_with_sources_and_stages_per_stage(self, gql: GraphQLClient) -> None:
        mark, source = token(), unique_source()
        cold = await create_lead(gql, source=source, name=f"Kabu {mark} cold")
        mql = await lead_in_stage(gql, "MQL", source=source, name=f"Kabu {mark} mql")
        sql = await lead_in_stage(gql, "SQL", source=source, name=f"Kabu {mark} sql")
        elsewhere = await lead_in_stage(gql, "MQL", name=f"Kabu {mark} elsewhere")
        await lead_in_stage(gql, "MQL", source=source, name="Kabu without the mark")
        ours = {cold["id"], mql["id"], sql["id"]}
        await assert_counted(gql, ours, sources=[source.upper()], search=mark)
        await assert_counted(gql, {mql["id"], elsewhere["id"]}, stages=["MQL"], search=mark)
        await assert_counted(gql, {mql["id"], sql["id"]}, sources=[source], stages=["MQL", "SQL"], search=mark.upper())
        await assert_counted(gql, {*ours, elsewhere["id"]}, sources=[source, "web_ad"], search=mark)
        await assert_counted(gql, set(), sources=[source], stages=["WON"], search=mark)
        await assert_counted(gql, set(), sources=[], search=mark)
        await assert_counted(gql, set(), stages=[], search=mark)

    @pytest.mark.parametrize(
        ("stage", "event", "fields", "after"),
        [("MQL", "RECYCLE", {"reason": "Not now"}, "RECYCLED"), ("SQL", "OPEN_OPPORTUNITY", {}, "OPPORTUNITY")],
    )
    async def test_the_stage_counts_follow_a_transition(
        self, gql: GraphQLClient, stage: str, event: str, fields: dict[str, Any], after: str
    ) -> None:
        mark, source = token(), unique_source()
        moved = await lead_in_stage(gql, stage, source=source, name=f"Kabu {mark} moved")
        stays = await lead_in_stage(gql, stage, source=source, name=f"Kabu {mark} stays")
        await assert_counted(gql, {moved["id"], stays["id"]}, stages=[stage], search=mark)

        result = await transition(gql, moved["id"], event, **fields)

        assert result["__typename"] == "LeadPayload", result
        await assert_counted(gql, {stays["id"]}, stages=[stage], search=mark)
        await assert_counted(gql, {moved["id"]}, stages=[after], search=mark)
        await assert_counted(gql, {moved["id"], stays["id"]}, search=mark)
        await assert_counted(gql, {moved["id"], stays["id"]}, sources=[source], search=mark)
        pipeline = (await gql.data(COUNTS, filter={"search": mark}))["pipeline"]
        assert {row["stage"]: row["count"] for row in pipeline["stages"] if row["count"]} == {stage: 1, after: 1}


class TestSearchCountsFollowUpdates:
    @pytest.mark.parametrize(
        ("created", "patch", "old", "new"),
        [
            ({"name": "Old {mark} KK"}, {"company": {"name": "New {mark} KK"}}, "OLD {mark}", "new {MARK}"),
            ({"contact": {"name": "Old {mark}"}}, {"contact": {"name": "New {mark}"}}, "OLD {mark}", "new {MARK}"),
            (
                {"contact": {"name": "Sato", "email": "old.{mark}@example.jp"}},
                {"contact": {"email": "new.{mark}@example.jp"}},
                "OLD.{mark}",
                "new.{MARK}",
            ),
        ],
        ids=["company", "contact", "email"],
    )
    async def test_the_count_follows_update_lead(
        self, gql: GraphQLClient, created: dict[str, Any], patch: dict[str, Any], old: str, new: str
    ) -> None:
        mark = token()
        lead = await create_lead(gql, **marked(created, mark))
        await assert_counted(gql, {lead["id"]}, search=marked(old, mark))
        await update(gql, lead["id"], **marked(patch, mark))
        await assert_counted(gql, set(), search=marked(old, mark))
        await assert_counted(gql, {lead["id"]}, search=marked(new, mark))
        await assert_counted(gql, {lead["id"]}, search=mark)

    async def test_clearing_the_email_uncounts_it(self, gql: GraphQLClient) -> None:
        mark = token()
        lead = await create_lead(gql, contact={"name": "Ito", "email": f"ito.{mark}@example.jp"})
        await update(gql, lead["id"], contact={"email": None})
        await assert_counted(gql, set(), search=mark)


def marked(shape: Any, mark: str) -> Any:
    """`shape` with `{mark}` (and `{MARK}`, upper-cased) filled in its strings."""
    if isinstance(shape, dict):
        return {key: marked(value, mark) for key, value in shape.items()}
    return shape.format(mark=mark, MARK=mark.upper()) if isinstance(shape, str) else shape
