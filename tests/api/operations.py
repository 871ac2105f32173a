"""GraphQL operations and factories shared by the API tests, written as a client would."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.conftest import GraphQLClient

PROBLEM = """
  __typename
  ... on Problem { message }
  ... on ValidationProblem { field }
  ... on VersionConflict { currentVersion }
  ... on TransitionRejected { event fromStage failedGuards { guard message } }
"""
LEAD = """
  id stage temperature score version source lossReason ownerTeam owner
  company { name department employeeCount capital industry }
  contact { name email phone title isDecisionMaker }
  bant { satisfied budget { status note } authority { status } need { status } timeframe { status }
         budgetAmount targetDate }
  scoreBreakdown { rule points reason }
  availableTransitions { event toStage allowed blockers { guard message } }
"""
RESULT = f"__typename ... on LeadPayload {{ lead {{ {LEAD} }} }} {PROBLEM}"

CREATE_LEAD = f"mutation($input: CreateLeadInput!) {{ createLead(input: $input) {{ {RESULT} }} }}"
UPDATE_LEAD = f"mutation($input: UpdateLeadInput!) {{ updateLead(input: $input) {{ {RESULT} }} }}"
ASSIGN_LEAD = f"mutation($input: AssignLeadInput!) {{ assignLead(input: $input) {{ {RESULT} }} }}"
RECORD_ACTIVITY = f"mutation($input: ActivityInput!) {{ recordActivity(input: $input) {{ {RESULT} }} }}"
UPDATE_BANT = f"mutation($input: UpdateBantInput!) {{ updateBant(input: $input) {{ {RESULT} }} }}"
TRANSITION = f"mutation($input: TransitionInput!) {{ transitionLead(input: $input) {{ {RESULT} }} }}"
FEEDBACK = f"mutation($input: SalesFeedbackInput!) {{ recordSalesFeedback(input: $input) {{ {RESULT} }} }}"
LEAD_QUERY = f"query($id: ID!) {{ lead(id: $id) {{ {LEAD} timeline {{ kind actor summary data }} }} }}"


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:10]}"


async def create_lead(gql: GraphQLClient, *, source: str = "web_ad", **company: Any) -> dict[str, Any]:
    """A new lead of a uniquely named company; returns the lead."""
    contact = company.pop("contact", {"name": unique("Contact"), "email": f"{uuid.uuid4().hex[:8]}@example.jp"})
    payload = {"company": {"name": unique("Company"), **company}, "contact": contact, "source": source}
    result = (await gql.data(CREATE_LEAD, input=payload))["createLead"]
    assert result["__typename"] == "LeadPayload", result
    lead: dict[str, Any] = result["lead"]
    return lead


async def record(gql: GraphQLClient, lead_id: str, kind: str, **fields: Any) -> dict[str, Any]:
    """Record an activity; returns the mutation's result."""
    result: dict[str, Any] = (await gql.data(RECORD_ACTIVITY, input={"leadId": lead_id, "kind": kind, **fields}))[
        "recordActivity"
    ]
    return result


async def transition(gql: GraphQLClient, lead_id: str, event: str, **fields: Any) -> dict[str, Any]:
    result: dict[str, Any] = (await gql.data(TRANSITION, input={"leadId": lead_id, "event": event, **fields}))[
        "transitionLead"
    ]
    return result


# -- added for the validation, idempotency, query and report tests --------------------------------

LEAD_STATE = """
query($id: ID!) {
  lead(id: $id) {
    id version stage score source ownerTeam owner createdAt updatedAt
    company { name department employeeCount capital industry }
    contact { name email phone title isDecisionMaker }
    bant { budget { status note } authority { status note } need { status } timeframe { status } budgetAmount }
    activities(first: 200) { id kind occurredAt properties points }
    timeline(first: 200) { at kind actor summary }
  }
}
"""
LEADS = """
query($filter: LeadFilter, $orderBy: LeadOrder, $first: Int, $after: String) {
  leads(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id score stage temperature source ownerTeam createdAt updatedAt company { name } } }
  }
}
"""


def unique_source() -> str:
    """A source slug no other test uses, to count leads exactly."""
    return f"src_{uuid.uuid4().hex[:8]}"


async def post(gql: GraphQLClient, query: str, actor: str | None = None, **variables: Any) -> httpx.Response:
    """The raw HTTP response, for requests that may be refused before GraphQL executes them."""
    headers = {"x-actor": actor} if actor else {}
    return await gql.http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)


async def lead_state(gql: GraphQLClient, lead_id: str) -> dict[str, Any]:
    """The lead as stored now, with its activities and timeline."""
    lead: dict[str, Any] = (await gql.data(LEAD_STATE, id=lead_id))["lead"]
    return lead


async def leads(gql: GraphQLClient, **arguments: Any) -> dict[str, Any]:
    """One page of `leads` (filter, orderBy, first, after as variables)."""
    connection: dict[str, Any] = (await gql.data(LEADS, **arguments))["leads"]
    return connection


async def count_matching(gql: GraphQLClient, search: str) -> int:
    """How many leads match `search` (company name, contact name or email)."""
    count: int = (await leads(gql, filter={"search": search}, first=0))["totalCount"]
    return count


async def lead_in_stage(gql: GraphQLClient, stage: str, *, source: str = "web_ad", **company: Any) -> dict[str, Any]:
    """A new lead (`company` as for `create_lead`) driven over the API into `stage`; returns the lead."""
    lead = await create_lead(gql, source=source, **company)
    if stage == "WARM":
        await record(gql, lead["id"], "webinar_attended")
        lead = (await record(gql, lead["id"], "webinar_attended"))["lead"]
    elif stage != "COLD":
        lead = (await record(gql, lead["id"], "demo_request"))["lead"]
        for event, fields in _ROUTE_FROM_MQL[stage]:
            if event == "QUALIFY":
                confirmed = {c: {"status": "CONFIRMED"} for c in ("budget", "authority", "need", "timeframe")}
                await gql.data(UPDATE_BANT, input={"leadId": lead["id"], **confirmed})
            result = await transition(gql, lead["id"], event, **fields)
            assert result["__typename"] == "LeadPayload", result
            lead = result["lead"]
    assert lead["stage"] == stage
    return lead


_TO_OPPORTUNITY: list[tuple[str, dict[str, str]]] = [("QUALIFY", {}), ("OPEN_OPPORTUNITY", {})]
_ROUTE_FROM_MQL: dict[str, list[tuple[str, dict[str, str]]]] = {
    "MQL": [],
    "RECYCLED": [("RECYCLE", {"reason": "Not now"})],
    "SQL": [("QUALIFY", {})],
    "OPPORTUNITY": _TO_OPPORTUNITY,
    "WON": [*_TO_OPPORTUNITY, ("WIN", {})],
    "LOST": [*_TO_OPPORTUNITY, ("LOSE", {"lossReason": "TIMING"})],
}
