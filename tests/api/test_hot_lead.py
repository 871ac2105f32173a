"""hotLead over a real WebSocket: once per arrival in MQL, with what sales needs, per team, resumable."""

from __future__ import annotations

from typing import Any

from tests.api.live import Live, subscribed
from tests.api.operations import ASSIGN_LEAD, create_lead, record, transition, unique
from tests.conftest import GraphQLClient

HOT_LEAD = """
subscription($team: String, $after: String) {
  hotLead(team: $team, after: $after) {
    cursor fromStage cycle hotSignal at
    lead { id stage temperature score ownerTeam company { name } contact { name email } scoreBreakdown { rule points } }
    activities { kind points }
  }
}"""


async def hot_leads(connection: Live, count: int, of: set[str] | None = None) -> list[dict[str, Any]]:
    """The next `count` events; with `of`, of those leads only (a subscription to every team also hears the
    hot leads of tests before this one, which may arrive late)."""
    events: list[dict[str, Any]] = []
    while len(events) < count:
        event = await connection.data("hotLead")
        if of is None or event["lead"]["id"] in of:
            events.append(event)
    return events


async def heat(gql: GraphQLClient, lead_id: str) -> None:
    """An immediate-hot activity: the lead goes to MQL."""
    assert (await record(gql, lead_id, "demo_request"))["lead"]["stage"] == "MQL"


async def lead_of_team(gql: GraphQLClient, team: str | None) -> str:
    lead_id: str = (await create_lead(gql))["id"]
    if team is not None:
        await gql.data(ASSIGN_LEAD, input={"leadId": lead_id, "ownerTeam": team})
    return lead_id


def ids(events: list[dict[str, Any]]) -> list[str]:
    return [event["lead"]["id"] for event in events]


class TestHotLead:
    async def test_fires_once_on_reaching_mql_and_again_after_recycle_and_reheat(
        self, gql: GraphQLClient, api_url: str
    ) -> None:
        async with subscribed(api_url, HOT_LEAD) as sales:
            lead = await create_lead(gql, name=unique("Hot Co"))
            await record(gql, lead["id"], "email_open")
            for _ in range(5):  # 10 points each: WARM at 20, MQL at 50
                await record(gql, lead["id"], "webinar_attended")
            await record(gql, lead["id"], "pricing_page_view")  # still MQL: no second alarm
            await transition(gql, lead["id"], "RECYCLE", reason="Not this quarter")
            await record(gql, lead["id"], "trial_signup")  # immediate-hot in the new cycle
            first, again = await hot_leads(sales, 2, of={lead["id"]})
            sentinel = await create_lead(gql)
            await heat(gql, sentinel["id"])
            (next_one,) = await hot_leads(sales, 1, of={lead["id"], sentinel["id"]})

        assert (first["fromStage"], first["cycle"], first["hotSignal"]) == ("WARM", 1, None)
        assert first["lead"] | {"scoreBreakdown": None} == {
            "id": lead["id"],
            "stage": "MQL",
            "temperature": "HOT",
            "score": 51,
            "ownerTeam": None,
            "company": {"name": lead["company"]["name"]},
            "contact": {"name": lead["contact"]["name"], "email": lead["contact"]["email"]},
            "scoreBreakdown": None,
        }
        assert {c["rule"]: c["points"] for c in first["lead"]["scoreBreakdown"]} == {
            "activity.email_open": 1,
            "activity.webinar_attended": 50,
        }
        assert first["activities"] == [{"kind": "webinar_attended", "points": 10}] * 5 + [
            {"kind": "email_open", "points": 1}
        ]
        assert (again["fromStage"], again["cycle"], again["hotSignal"]) == ("RECYCLED", 2, "activity.trial_signup")
        assert (again["lead"]["id"], again["lead"]["score"]) == (lead["id"], 20)
        assert again["activities"] == [{"kind": "trial_signup", "points": 20}]
        assert next_one["lead"]["id"] == sentinel["id"], "the lead was announced more than twice"

    async def test_a_team_hears_only_of_its_own_leads(self, gql: GraphQLClient, api_url: str) -> None:
        team, other = unique("Enterprise"), unique("SMB")
        async with (
            subscribed(api_url, HOT_LEAD, team=team) as ours,
            subscribed(api_url, HOT_LEAD, team=other) as theirs,
            subscribed(api_url, HOT_LEAD) as everyone,
        ):
            mine, not_mine, unassigned, mine_too = [await lead_of_team(gql, t) for t in (team, other, None, team)]
            for lead_id in (mine, not_mine, unassigned, mine_too):
                await heat(gql, lead_id)
            heard = {"ours": await hot_leads(ours, 2), "theirs": await hot_leads(theirs, 1)}
            heard["everyone"] = await hot_leads(everyone, 4, of={mine, not_mine, unassigned, mine_too})

        assert ids(heard["ours"]) == [mine, mine_too]
        assert [e["lead"]["ownerTeam"] for e in heard["ours"]] == [team, team]
        assert ids(heard["theirs"]) == [not_mine]
        assert ids(heard["everyone"]) == [mine, not_mine, unassigned, mine_too]

    async def test_resumes_after_a_cursor_with_the_hot_leads_missed(self, gql: GraphQLClient, api_url: str) -> None:
        team = unique("Inside Sales")
        async with subscribed(api_url, HOT_LEAD, team=team) as before_the_drop:
            first = await lead_of_team(gql, team)
            await heat(gql, first)
            (seen,) = await hot_leads(before_the_drop, 1)
        missed, elsewhere = await lead_of_team(gql, team), await lead_of_team(gql, unique("Other"))
        await heat(gql, missed)
        await heat(gql, elsewhere)

        async with subscribed(api_url, HOT_LEAD, team=team, after=seen["cursor"]) as resumed:
            live = await lead_of_team(gql, team)
            await heat(gql, live)
            heard = await hot_leads(resumed, 2)

        assert ids(heard) == [missed, live]
