"""GraphQL operations and factories shared by the API tests, written as a client would."""

from __future__ import annotations

import uuid
from typing import Any

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
