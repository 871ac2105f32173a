"""Reading leads over HTTP: one lead, filtered and ordered pages, child lists and the scoring model.

Leads are counted within a unique source (or unique search terms), since other tests commit leads too.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from leadcycle.domain.commands import CreateLead
from leadcycle.domain.model import Company, Contact
from leadcycle.domain.use_cases import LeadUseCases
from leadcycle.persistence.unit_of_work import unit_of_work_factory
from tests.api.operations import (
    ASSIGN_LEAD,
    LEADS,
    create_lead,
    lead_in_stage,
    leads,
    post,
    record,
    unique,
    unique_source,
)
from tests.conftest import GraphQLClient


def ids(connection: dict[str, Any]) -> list[str]:
    return [edge["node"]["id"] for edge in connection["edges"]]


async def walk(gql: GraphQLClient, page_size: int, **arguments: Any) -> list[dict[str, Any]]:
    """Every page of a listing, first to last."""
    pages, after = [], None
    while True:
        page = await leads(gql, first=page_size, after=after, **arguments)
        pages.append(page)
        if not page["pageInfo"]["hasNextPage"]:
            return pages
        after = page["pageInfo"]["endCursor"]


async def graphql_error(gql: GraphQLClient, query: str, **variables: Any) -> str:
    """The message of the GraphQL error that the request must produce (and never a 500)."""
    response = await post(gql, query, **variables)
    assert response.status_code in (200, 400), response.text
    body = response.json()
    assert body.get("errors"), body
    message: str = body["errors"][0]["message"]
    return message


async def leads_created_at_one_instant(engine: AsyncEngine, source: str, count: int) -> list[str]:
    """Leads sharing one created_at, which only an injected clock can arrange."""
    clock = datetime(2025, 4, 1, 9, 0, tzinfo=UTC)
    use_cases = LeadUseCases(unit_of_work_factory(engine), lambda: clock)
    created = [
        await use_cases.create(CreateLead(Company(unique("Tied")), Contact(unique("Contact")), source), "test")
        for _ in range(count)
    ]
    return [str(lead.id) for lead in created]


async def leads_scoring(gql: GraphQLClient, source: str, scores: list[int]) -> list[str]:
    """One new lead per score (0, 10, 20 or 30 from its attributes), in the given order."""
    attributes = [{"contact": {"name": unique("Contact"), "isDecisionMaker": True}}, {"employeeCount": 1000}]
    attributes.append({"capital": "50000000000"})
    created = []
    for score in scores:
        fields: dict[str, Any] = {}
        for extra in attributes[: score // 10]:
            fields |= extra
        lead = await create_lead(gql, source=source, **fields)
        assert lead["score"] == score
        created.append(lead["id"])
    return created


class TestLeadById:
    async def test_returns_the_lead(self, gql: GraphQLClient) -> None:
        lead = await create_lead(gql)
        found = (await gql.data("query($id: ID!) { lead(id: $id) { id company { name } } }", id=lead["id"]))["lead"]
        assert found == {"id": lead["id"], "company": {"name": lead["company"]["name"]}}

    @pytest.mark.parametrize("lead_id", [str(uuid.uuid4()), "not-a-uuid", "", "42"])
    async def test_unknown_or_malformed_id_is_null(self, gql: GraphQLClient, lead_id: str) -> None:
        data = await gql.data("query($id: ID!) { lead(id: $id) { id } }", id=lead_id)
        assert data == {"lead": None}

    async def test_timestamps_are_iso_8601_in_utc_with_offset(self, gql: GraphQLClient) -> None:
        lead = await create_lead(gql)
        query = "query($id: ID!) { lead(id: $id) { createdAt updatedAt stageChangedAt } }"
        stamps = (await gql.data(query, id=lead["id"]))["lead"]
        for stamp in stamps.values():
            assert datetime.fromisoformat(stamp).utcoffset() == timedelta(0), stamp
            assert stamp.endswith("+00:00")


class TestDefaultOrder:
    async def test_newest_first(self, gql: GraphQLClient) -> None:
        source = unique_source()
        created = [(await create_lead(gql, source=source))["id"] for _ in range(3)]
        page = await leads(gql, filter={"sources": [source]})
        assert ids(page) == created[::-1]
        stamps = [edge["node"]["createdAt"] for edge in page["edges"]]
        assert stamps == sorted(stamps, reverse=True)

    async def test_ties_are_broken_by_id(self, gql: GraphQLClient, engine: AsyncEngine) -> None:
        source = unique_source()
        created = await leads_created_at_one_instant(engine, source, 4)
        by_id = sorted(created, key=UUID)
        assert ids(await leads(gql, filter={"sources": [source]})) == by_id[::-1]
        ascending = {"field": "CREATED_AT", "direction": "ASC"}
        assert ids(await leads(gql, filter={"sources": [source]}, orderBy=ascending)) == by_id

    async def test_paging_through_tied_leads_returns_each_once(self, gql: GraphQLClient, engine: AsyncEngine) -> None:
        source = unique_source()
        created = await leads_created_at_one_instant(engine, source, 5)
        pages = await walk(gql, 1, filter={"sources": [source]})
        assert [i for page in pages for i in ids(page)] == sorted(created, key=UUID, reverse=True)


class TestPagination:
    async def test_walking_all_pages_returns_each_lead_once_in_order(self, gql: GraphQLClient) -> None:
        source = unique_source()
        created = [(await create_lead(gql, source=source))["id"] for _ in range(5)]
        pages = await walk(gql, 2, filter={"sources": [source]})
        assert [len(page["edges"]) for page in pages] == [2, 2, 1]
        assert [i for page in pages for i in ids(page)] == created[::-1]
        assert [page["pageInfo"]["hasNextPage"] for page in pages] == [True, True, False]

    async def test_total_count_and_page_info_hold_on_every_page(self, gql: GraphQLClient) -> None:
        source = unique_source()
        for _ in range(5):
            await create_lead(gql, source=source)
        for page in await walk(gql, 2, filter={"sources": [source]}):
            assert page["totalCount"] == 5
            assert page["pageInfo"]["hasPreviousPage"] is False
            assert page["pageInfo"]["startCursor"] == page["edges"][0]["cursor"]
            assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]

    async def test_walking_score_order_with_ties_returns_each_lead_once(self, gql: GraphQLClient) -> None:
        source = unique_source()
        created = await leads_scoring(gql, source, [10, 0, 20, 10, 0, 10])
        pages = await walk(gql, 2, filter={"sources": [source]}, orderBy={"field": "SCORE"})
        walked = [edge["node"] for page in pages for edge in page["edges"]]
        assert sorted(node["id"] for node in walked) == sorted(created)
        assert [node["score"] for node in walked] == [20, 10, 10, 10, 0, 0]

    async def test_first_zero_returns_no_edges_but_counts(self, gql: GraphQLClient) -> None:
        source = unique_source()
        await create_lead(gql, source=source)
        page = await leads(gql, filter={"sources": [source]}, first=0)
        assert (page["edges"], page["totalCount"]) == ([], 1)
        assert (page["pageInfo"]["startCursor"], page["pageInfo"]["endCursor"]) == (None, None)

    async def test_first_null_or_omitted_means_50(self, gql: GraphQLClient, engine: AsyncEngine) -> None:
        source = unique_source()
        await leads_created_at_one_instant(engine, source, 51)
        for arguments in ({"first": None}, {}):
            page = await leads(gql, filter={"sources": [source]}, **arguments)
            assert (len(page["edges"]), page["pageInfo"]["hasNextPage"], page["totalCount"]) == (50, True, 51)

    async def test_first_200_is_allowed(self, gql: GraphQLClient) -> None:
        source = unique_source()
        await create_lead(gql, source=source)
        assert len((await leads(gql, filter={"sources": [source]}, first=200))["edges"]) == 1

    @pytest.mark.parametrize("first", [201, -1, 10_000])
    async def test_first_outside_0_to_200_is_a_graphql_error(self, gql: GraphQLClient, first: int) -> None:
        assert "first" in await graphql_error(gql, LEADS, first=first)

    @pytest.mark.parametrize(
        ("cursor_order", "order"),
        [
            ({"field": "CREATED_AT"}, {"field": "SCORE"}),
            ({"field": "CREATED_AT"}, {"field": "CREATED_AT", "direction": "ASC"}),
            ({"field": "SCORE", "direction": "ASC"}, {"field": "UPDATED_AT", "direction": "ASC"}),
        ],
        ids=["other field", "other direction", "score to updated"],
    )
    async def test_cursor_from_another_order_is_a_graphql_error(
        self, gql: GraphQLClient, cursor_order: dict[str, str], order: dict[str, str]
    ) -> None:
        source = unique_source()
        for _ in range(2):
            await create_lead(gql, source=source)
        cursor = (await leads(gql, filter={"sources": [source]}, orderBy=cursor_order, first=1))["pageInfo"][
            "endCursor"
        ]
        message = await graphql_error(gql, LEADS, filter={"sources": [source]}, orderBy=order, after=cursor)
        assert "cursor" in message

    @pytest.mark.parametrize(
        "cursor",
        [
            "garbage",
            "",
            "!!!",
            base64.urlsafe_b64encode(b"[]").decode(),
            base64.urlsafe_b64encode(b'{"a": 1}').decode(),
            base64.urlsafe_b64encode(json.dumps(["CREATED_AT:DESC", "yesterday", str(uuid.uuid4())]).encode()).decode(),
            base64.urlsafe_b64encode(
                json.dumps(["CREATED_AT:DESC", "2026-01-01T00:00:00+00:00", "x"]).encode()
            ).decode(),
        ],
        ids=["word", "empty", "punctuation", "empty list", "object", "bad time", "bad id"],
    )
    async def test_garbage_cursor_is_a_graphql_error(self, gql: GraphQLClient, cursor: str) -> None:
        assert "cursor" in await graphql_error(gql, LEADS, after=cursor)


class TestOrderBy:
    async def test_score_descending_and_ascending(self, gql: GraphQLClient) -> None:
        source = unique_source()
        created = dict(zip([30, 0, 20, 10], await leads_scoring(gql, source, [30, 0, 20, 10]), strict=True))
        where = {"sources": [source]}
        descending = await leads(gql, filter=where, orderBy={"field": "SCORE", "direction": "DESC"})
        ascending = await leads(gql, filter=where, orderBy={"field": "SCORE", "direction": "ASC"})
        assert ids(descending) == [created[s] for s in (30, 20, 10, 0)]
        assert ids(ascending) == [created[s] for s in (0, 10, 20, 30)]

    async def test_direction_defaults_to_descending(self, gql: GraphQLClient) -> None:
        source = unique_source()
        await leads_scoring(gql, source, [0, 20, 10])
        page = await leads(gql, filter={"sources": [source]}, orderBy={"field": "SCORE"})
        assert [edge["node"]["score"] for edge in page["edges"]] == [20, 10, 0]

    async def test_updated_at_puts_the_latest_change_first(self, gql: GraphQLClient) -> None:
        source = unique_source()
        first, second, third = [(await create_lead(gql, source=source))["id"] for _ in range(3)]
        await gql.data(ASSIGN_LEAD, input={"leadId": first, "ownerTeam": "Enterprise"})
        where = {"sources": [source]}
        descending = await leads(gql, filter=where, orderBy={"field": "UPDATED_AT", "direction": "DESC"})
        ascending = await leads(gql, filter=where, orderBy={"field": "UPDATED_AT", "direction": "ASC"})
        assert ids(descending) == [first, third, second]
        assert ids(ascending) == [second, third, first]


class TestFilters:
    async def test_stages(self, gql: GraphQLClient) -> None:
        source = unique_source()
        cold, warm, mql = [(await lead_in_stage(gql, stage, source=source))["id"] for stage in ("COLD", "WARM", "MQL")]
        hot_stages = await leads(gql, filter={"sources": [source], "stages": ["MQL", "WARM"]})
        assert (set(ids(hot_stages)), hot_stages["totalCount"]) == ({warm, mql}, 2)
        assert ids(await leads(gql, filter={"sources": [source], "stages": ["COLD"]})) == [cold]

    async def test_temperatures(self, gql: GraphQLClient) -> None:
        source = unique_source()
        cold, warm = await leads_scoring(gql, source, [0, 20])
        hot = (await lead_in_stage(gql, "MQL", source=source))["id"]  # 20 points, but HOT by a demo request
        for temperature, expected in (("COLD", [cold]), ("WARM", [warm]), ("HOT", [hot])):
            page = await leads(gql, filter={"sources": [source], "temperatures": [temperature]})
            assert ids(page) == expected, temperature

    async def test_sources_are_normalised(self, gql: GraphQLClient) -> None:
        source = unique_source()
        lead = await create_lead(gql, source=source)
        page = await leads(gql, filter={"sources": [f"  {source.upper()} "]})
        assert ids(page) == [lead["id"]]

    async def test_several_sources_match_any_of_them(self, gql: GraphQLClient) -> None:
        first, second, third = unique_source(), unique_source(), unique_source()
        wanted = {(await create_lead(gql, source=s))["id"] for s in (first, second)}
        await create_lead(gql, source=third)
        assert set(ids(await leads(gql, filter={"sources": [first, second]}))) == wanted

    async def test_a_source_that_is_no_slug_does_not_hide_the_others(self, gql: GraphQLClient) -> None:
        source = unique_source()
        lead = await create_lead(gql, source=source)
        assert ids(await leads(gql, filter={"sources": [source, "not a source!"]})) == [lead["id"]]

    async def test_a_source_that_is_no_slug_matches_nothing(self, gql: GraphQLClient) -> None:
        page = await leads(gql, filter={"sources": ["not a source!"]})
        assert (page["edges"], page["totalCount"]) == ([], 0)

    async def test_owner_team(self, gql: GraphQLClient) -> None:
        team = unique("Team")
        assigned, _other = await create_lead(gql), await create_lead(gql)
        await gql.data(ASSIGN_LEAD, input={"leadId": assigned["id"], "ownerTeam": team})
        page = await leads(gql, filter={"ownerTeam": team})
        assert [(e["node"]["id"], e["node"]["ownerTeam"]) for e in page["edges"]] == [(assigned["id"], team)]

    @pytest.mark.parametrize(("minimum", "expected"), [(10, [20, 10]), (11, [20]), (21, []), (-5, [20, 10, 0])])
    async def test_min_score_is_inclusive(self, gql: GraphQLClient, minimum: int, expected: list[int]) -> None:
        source = unique_source()
        await leads_scoring(gql, source, [0, 10, 20])
        page = await leads(gql, filter={"sources": [source], "minScore": minimum}, orderBy={"field": "SCORE"})
        assert [edge["node"]["score"] for edge in page["edges"]] == expected

    @pytest.mark.parametrize("where", ["company", "contact", "email"])
    async def test_search_is_case_insensitive_on_company_contact_and_email(
        self, gql: GraphQLClient, where: str
    ) -> None:
        token = uuid.uuid4().hex[:12]
        names = {
            "company": {"name": f"Kabushiki {token} Shoji"},
            "contact": {"contact": {"name": f"Yamada {token}"}},
            "email": {"contact": {"name": "Yamada", "email": f"yamada.{token}@example.jp"}},
        }[where]
        lead = await create_lead(gql, **names)
        for term in (token.upper(), token, f"{token[:4]}{token[4:].upper()}"):
            assert ids(await leads(gql, filter={"search": term})) == [lead["id"]], term

    @pytest.mark.parametrize("term", ["50%_off", "%", "_", "50%", "\\", "f \\ d"])
    async def test_search_takes_percent_and_underscore_literally(self, gql: GraphQLClient, term: str) -> None:
        source = unique_source()
        literal = await create_lead(gql, source=source, name=unique("Sale 50%_off \\ deal"))
        await create_lead(gql, source=source, name=unique("Sale 50xyoff  deal"))
        page = await leads(gql, filter={"sources": [source], "search": term})
        assert ids(page) == [literal["id"]]

    @pytest.mark.parametrize("field", ["stages", "temperatures", "sources"])
    async def test_an_empty_list_matches_nothing(self, gql: GraphQLClient, field: str) -> None:
        source = unique_source()
        await create_lead(gql, source=source)
        where = {"sources": [source], field: []} if field != "sources" else {"sources": []}
        page = await leads(gql, filter=where)
        assert (page["edges"], page["totalCount"]) == ([], 0)


CHILDREN = """
query($id: ID!) {
  lead(id: $id) {
    activities { kind occurredAt }
    newestTwo: activities(first: 2) { kind }
    none: activities(first: 0) { kind }
    timeline { at kind summary }
    newestOne: timeline(first: 1) { at kind summary }
  }
}
"""


class TestChildLists:
    async def test_activities_are_newest_first_by_when_they_occurred(self, gql: GraphQLClient) -> None:
        lead = await create_lead(gql)
        now = datetime.now(UTC)
        for kind, hours_ago in (("email_open", 3), ("web_visit", 1), ("document_download", 2)):
            await record(gql, lead["id"], kind, occurredAt=(now - timedelta(hours=hours_ago)).isoformat())
        found = (await gql.data(CHILDREN, id=lead["id"]))["lead"]
        assert [a["kind"] for a in found["activities"]] == ["web_visit", "document_download", "email_open"]
        assert [a["kind"] for a in found["newestTwo"]] == ["web_visit", "document_download"]
        assert found["none"] == []

    async def test_timeline_is_newest_first_and_first_limits_it(self, gql: GraphQLClient) -> None:
        lead = await create_lead(gql)
        await record(gql, lead["id"], "email_open")
        await gql.data(ASSIGN_LEAD, input={"leadId": lead["id"], "ownerTeam": "SMB"})
        found = (await gql.data(CHILDREN, id=lead["id"]))["lead"]
        stamps = [entry["at"] for entry in found["timeline"]]
        assert stamps == sorted(stamps, reverse=True)
        assert found["timeline"][0]["kind"] == "assignment"
        assert found["timeline"][-1]["kind"] == "created"
        assert found["newestOne"] == found["timeline"][:1]

    async def test_each_lead_of_a_page_gets_its_own_newest_activities(self, gql: GraphQLClient) -> None:
        source = unique_source()
        first, second = [(await create_lead(gql, source=source))["id"] for _ in range(2)]
        for kind in ("email_open", "web_visit"):
            await record(gql, first, kind)
        await record(gql, second, "inquiry")
        query = (
            "query($s: [String!]) { leads(filter: {sources: $s}) "
            "{ edges { node { id activities(first: 1) { kind } } } } }"
        )
        edges = (await gql.data(query, s=[source]))["leads"]["edges"]
        newest = {edge["node"]["id"]: [a["kind"] for a in edge["node"]["activities"]] for edge in edges}
        assert newest == {first: ["web_visit"], second: ["inquiry"]}

    async def test_each_of_several_mutations_in_one_request_answers_the_lead_as_it_left_it(
        self, gql: GraphQLClient
    ) -> None:
        lead = await create_lead(gql)
        answer = "... on LeadPayload { lead { version activities { kind } timeline(first: 1) { summary } } }"
        query = (
            "mutation($first: ActivityInput!, $second: ActivityInput!) { "
            f"first: recordActivity(input: $first) {{ {answer} }} "
            f"second: recordActivity(input: $second) {{ {answer} }} }}"
        )
        found = await gql.data(
            query,
            first={"leadId": lead["id"], "kind": "email_open"},
            second={"leadId": lead["id"], "kind": "web_visit"},
        )
        first, second = found["first"]["lead"], found["second"]["lead"]
        assert [a["kind"] for a in first["activities"]] == ["email_open"]
        assert [a["kind"] for a in second["activities"]] == ["web_visit", "email_open"]
        assert second["version"] == first["version"] + 1
        assert second["timeline"] != first["timeline"]


IMMEDIATE_HOT = {
    "activity.quote_request",
    "activity.demo_request",
    "activity.trial_signup",
    "activity.consultation_request",
    "activity.survey_answer.buy_now",
}


class TestScoringModel:
    async def test_serves_version_1_with_thresholds_20_and_50(self, gql: GraphQLClient) -> None:
        model = (await gql.data("{ scoringModel { version warmThreshold hotThreshold } }"))["scoringModel"]
        assert model == {"version": 1, "warmThreshold": 20, "hotThreshold": 50}

    async def test_lists_rules_with_points_and_immediate_hot_ones(self, gql: GraphQLClient) -> None:
        rules = (await gql.data("{ scoringModel { rules { name description points immediateHot } } }"))["scoringModel"][
            "rules"
        ]
        by_name = {rule["name"]: rule for rule in rules}
        assert {name for name, rule in by_name.items() if rule["immediateHot"]} == IMMEDIATE_HOT
        assert all(rule["description"] for rule in rules)
        assert by_name["activity.email_open"]["points"] == 1
        assert by_name["activity.demo_request"]["points"] == 20
        assert by_name["bant.target_date_over_a_year"]["points"] == -10

    @pytest.mark.parametrize(
        ("kind", "properties", "stage"),
        [
            ("quote_request", None, "MQL"),
            ("demo_request", None, "MQL"),
            ("trial_signup", None, "MQL"),
            ("consultation_request", None, "MQL"),
            ("survey_answer", {"intent": "buy_now"}, "MQL"),
            ("survey_answer", {"intent": "researching"}, "COLD"),
        ],
    )
    async def test_an_immediate_hot_activity_moves_a_lead_straight_to_mql(
        self, gql: GraphQLClient, kind: str, properties: dict[str, str] | None, stage: str
    ) -> None:
        lead = await create_lead(gql)
        result = (await record(gql, lead["id"], kind, properties=properties))["lead"]
        assert result["stage"] == stage
